//! Checks every field a customer sends, naming the field in the error.

use serde_json::{Map, Value};

/// The longest message a customer may send, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
const MAX_NAME_CHARS: usize = 100;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_CLIENT_ID: usize = 64;

/// A field that failed its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_owned(), message: format!("{field}: {}", message.into()) }
}

/// Parses a JSON object body.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, FieldError> {
    let text = std::str::from_utf8(body).map_err(|e| bad("body", format!("not valid UTF-8 ({e})")))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("body", "expected a JSON object")),
        Err(e) => Err(bad("body", format!("malformed JSON: {e}"))),
    }
}

/// Refuses fields this endpoint does not know (a typo should not pass silently).
pub fn only(map: &Map<String, Value>, known: &[&str]) -> Result<(), FieldError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(k, format!("unknown field (expected one of: {})", known.join(", ")))),
        None => Ok(()),
    }
}

fn string<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, FieldError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(field, "expected a string")),
    }
}

fn required<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, FieldError> {
    string(map, field)?.ok_or_else(|| bad(field, "missing"))
}

/// Text the agent will read: non-empty, at most `max` characters, no control characters but
/// line breaks and tabs (nothing that could drive a terminal).
fn clean(field: &str, s: &str, max: usize, multiline: bool) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    let chars = s.chars().count();
    if chars > max {
        return Err(bad(field, format!("too long ({chars} characters; at most {max})")));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    if let Some((i, c)) = s.chars().enumerate().find(|&(_, c)| c.is_control() && !allowed(c)) {
        return Err(bad(field, format!("control character U+{:04X} at character {} is not allowed", c as u32, i + 1)));
    }
    if let Some(c) = s.chars().find(|&c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
        return Err(bad(field, format!("bidirectional control U+{:04X} is not allowed", c as u32)));
    }
    Ok(s.replace("\r\n", "\n").replace('\r', "\n"))
}

/// A message's text.
pub fn text(map: &Map<String, Value>, field: &str) -> Result<String, FieldError> {
    clean(field, required(map, field)?, MAX_TEXT_CHARS, true)
}

pub fn name(map: &Map<String, Value>) -> Result<String, FieldError> {
    clean("name", required(map, "name")?, MAX_NAME_CHARS, false)
}

pub fn email(map: &Map<String, Value>) -> Result<String, FieldError> {
    let e = clean("email", required(map, "email")?, MAX_EMAIL_CHARS, false)?;
    let ok = e.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.') && !host.contains('@')
    }) && !e.chars().any(char::is_whitespace);
    if ok { Ok(e) } else { Err(bad("email", "not an email address (name@example.com)")) }
}

/// `en` or `zh` (default `en`).
pub fn language(map: &Map<String, Value>) -> Result<String, FieldError> {
    match string(map, "language")? {
        None => Ok("en".into()),
        Some(l) if l == "en" || l == "zh" => Ok(l.to_owned()),
        Some(l) => Err(bad("language", format!("{l:?} is not supported (en or zh)"))),
    }
}

/// The page's own id for a message, so a retried post is stored once.
pub fn client_id(map: &Map<String, Value>) -> Result<Option<String>, FieldError> {
    let Some(id) = string(map, "client_id")? else { return Ok(None) };
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(Some(id.to_owned()))
    } else {
        Err(bad("client_id", format!("1 to {MAX_CLIENT_ID} letters, digits, '-' or '_'")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(json: &str) -> Map<String, Value> {
        object(json.as_bytes()).expect("object")
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(object(b"{").unwrap_err().field, "body");
        assert_eq!(object(b"[1]").unwrap_err().field, "body");
        assert_eq!(object(b"\xff").unwrap_err().field, "body");
        assert_eq!(text(&map(r#"{}"#), "text").unwrap_err().field, "text");
        assert_eq!(text(&map(r#"{"text": 3}"#), "text").unwrap_err().message, "text: expected a string");
        assert!(text(&map(r#"{"text": "  "}"#), "text").unwrap_err().message.contains("empty"));
        let long = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_TEXT_CHARS + 1));
        assert!(text(&map(&long), "text").unwrap_err().message.contains("too long"));
        let esc = text(&map(r#"{"text": "red \u001b[31m"}"#), "text").unwrap_err();
        assert!(esc.message.contains("U+001B"), "{esc:?}");
        assert!(text(&map(r#"{"text": "a\u202eb"}"#), "text").is_err());
        assert_eq!(email(&map(r#"{"email": "nope"}"#)).unwrap_err().field, "email");
        assert_eq!(language(&map(r#"{"language": "fr"}"#)).unwrap_err().field, "language");
        assert_eq!(client_id(&map(r#"{"client_id": "a b"}"#)).unwrap_err().field, "client_id");
        assert_eq!(only(&map(r#"{"txt": "x"}"#), &["text"]).unwrap_err().field, "txt");
    }

    #[test]
    fn good_fields_pass_trimmed() {
        assert_eq!(text(&map(r#"{"text": " where is my order?\r\nA1 "}"#), "text").unwrap(), "where is my order?\nA1");
        assert_eq!(text(&map(r#"{"text": "我的订单在哪里？"}"#), "text").unwrap(), "我的订单在哪里？");
        assert_eq!(email(&map(r#"{"email": "li.wei@example.cn"}"#)).unwrap(), "li.wei@example.cn");
        assert_eq!(language(&map(r#"{}"#)).unwrap(), "en");
        assert_eq!(client_id(&map(r#"{"client_id": "m-1_a"}"#)).unwrap().as_deref(), Some("m-1_a"));
    }
}
