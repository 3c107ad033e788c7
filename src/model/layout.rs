//! How a streamed reply is laid out for the agent.

/// Layout of a reply as the agent sees it: no spaces at the start of a line, at most one blank
/// line in a row, and a space between two sentences quoted back to back ("2FA.An" becomes
/// "2FA. An"). Applied to every prefix while streaming: it never changes what it already
/// returned for a shorter prefix.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let line_start = out.is_empty() || out.ends_with('\n');
        if (c == ' ' && line_start) || (c == '\n' && (out.is_empty() || out.ends_with("\n\n"))) {
            continue;
        }
        if c.is_ascii_uppercase() && sentence_just_ended(&out) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Does `out` end with a word and a full stop (or ! or ?) with no space after it?
fn sentence_just_ended(out: &str) -> bool {
    let mut tail = out.chars().rev();
    matches!(tail.next(), Some('.' | '!' | '?'))
        && tail.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && tail.next().is_some_and(|c| c.is_ascii_alphanumeric())
}
