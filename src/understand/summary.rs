//! A conversation's summary for handoffs and escalations, extracted from what was written (no
//! model): the situation (the customer's first request and its key details), what was done
//! (the agent's sentences that report an action), and what is open (an unanswered customer
//! message, or nothing once resolved).

use super::{Detail, DetailKind, conversation_details};
use crate::desk::{Author, Message, Status};
use crate::text::{has_cjk, sentences};
use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

/// Situation, what was done, what is open; each one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub situation: String,
    pub done: String,
    pub open: String,
}

impl Summary {
    /// One line (the gap finder's and the supervisor's listing).
    pub fn one_line(&self) -> String {
        format!("{} Done: {} Open: {}", self.situation, self.done, self.open)
    }

    /// The internal note added on resolve and escalate.
    pub fn note(&self, status: Status) -> String {
        format!("Summary ({}): Situation: {} Done: {} Open: {}", status.as_str(), self.situation, self.done, self.open)
    }
}

const MAX_CHARS: usize = 160;

fn action() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::expect_used)]
        Regex::new(
            r"(?i)\b(i(['’]ve| have| will|['’]ll| am|['’]m)|we(['’]ve| have| will|['’]ll| are|['’]re)|has been|have been|is on its way)\b|(refund(ed)?|issued|arranged|cancell?ed|replacement|credited|sent|booked|reset|escalat)|(已|我们会|我会|为您|帮您)",
        )
        .expect("valid action pattern")
    })
}

fn greeting() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::expect_used)]
        Regex::new(r"(?i)^\s*((hi|hello|hey|dear|good (morning|afternoon|evening))\b[^,.!?\n]{0,30}[,.!]?|您好[，,！!]?|你好[，,！!]?)\s*")
            .expect("valid greeting pattern")
    })
}

/// `text` without a leading greeting ("Hi Ana," "您好，").
pub fn without_greeting(text: &str) -> &str {
    greeting().find(text).map_or(text, |m| &text[m.end()..])
}

fn clip(text: &str) -> String {
    let t = text.trim();
    let capital: String;
    let t = match t.chars().next() {
        Some(c) if c.is_lowercase() => {
            capital = c.to_uppercase().collect::<String>() + &t[c.len_utf8()..];
            capital.as_str()
        }
        _ => t,
    };
    if t.chars().count() <= MAX_CHARS {
        return t.to_owned();
    }
    let cut: String = t.chars().take(MAX_CHARS - 1).collect();
    // At a word boundary when there is one.
    let cut = match cut.rfind(' ') {
        Some(i) if i > MAX_CHARS / 2 => cut[..i].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end())
}

/// The first sentences of a message up to about a line, greeting dropped.
fn lead(text: &str) -> String {
    let body = without_greeting(text);
    let mut out = String::new();
    for s in sentences(body) {
        if !out.is_empty() && out.chars().count() + s.chars().count() > MAX_CHARS {
            break;
        }
        if !out.is_empty() && !has_cjk(s) {
            out.push(' ');
        }
        out.push_str(s);
        if out.split_whitespace().count() >= 8 || has_cjk(&out) && out.chars().count() >= 12 {
            break;
        }
    }
    clip(if out.is_empty() { body } else { &out })
}

fn detail_note(details: &[Detail]) -> String {
    let shown: Vec<String> = details
        .iter()
        .filter(|d| matches!(d.kind, DetailKind::Order | DetailKind::Tracking | DetailKind::Amount | DetailKind::Model))
        .take(3)
        .map(|d| format!("{} {}", d.kind.as_str(), d.value))
        .collect();
    if shown.is_empty() { String::new() } else { format!(" ({})", shown.join(", ")) }
}

/// The summary of a conversation's messages (internal notes are skipped; `status` is the one
/// it is being given).
pub fn summarize(messages: &[Message], status: Status) -> Summary {
    let public: Vec<&Message> = messages.iter().filter(|m| !m.internal && m.author != Author::System).collect();
    let customer: Vec<&Message> = public.iter().copied().filter(|m| m.author == Author::Customer).collect();
    let mut details = Vec::new();
    conversation_details(customer.iter().map(|m| (m.text.as_str(), m.at)), &mut details);
    let situation = match customer.first() {
        Some(first) => {
            let mut s = lead(&first.text);
            // "Hi" alone says nothing: take the next message too.
            if s.split_whitespace().count() < 3
                && !has_cjk(&s)
                && let Some(next) = customer.get(1)
            {
                s = clip(&format!("{s} {}", lead(&next.text)));
            }
            format!("{s}{}", detail_note(&details))
        }
        None => "No message from the customer.".into(),
    };
    let agent: Vec<&Message> = public.iter().copied().filter(|m| m.author == Author::Agent).collect();
    let mut actions: Vec<&str> = agent
        .iter()
        .flat_map(|m| sentences(without_greeting(&m.text)))
        .filter(|s| action().is_match(s) && !s.trim_end().ends_with('?'))
        .collect();
    actions.dedup();
    let done = match (actions.len(), agent.last()) {
        (0, None) => "Nothing yet.".into(),
        (0, Some(last)) => lead(&last.text),
        (n, _) => clip(&actions[n.saturating_sub(2)..].join(" ")),
    };
    let open = match public.last() {
        // Their only message is the situation already: no need to say it twice.
        Some(last) if last.author == Author::Customer && customer.len() == 1 => {
            "The customer's message has no reply yet.".into()
        }
        Some(last) if last.author == Author::Customer => {
            format!("The customer's last message has no reply: {}", lead(&last.text))
        }
        _ if status == Status::Resolved => "Nothing.".into(),
        _ if status == Status::Escalated => "Escalated for a specialist to follow up.".into(),
        _ => "Waiting on the customer.".into(),
    };
    Summary { situation, done, open }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(author: Author, text: &str) -> Message {
        Message { author, internal: false, text: text.into(), at: 1_764_633_600_000 }
    }

    #[test]
    fn situation_done_and_open() {
        let s = summarize(
            &[
                m(Author::Customer, "Hi, my lamp from order HP-20417 arrived broken. What can you do?"),
                m(
                    Author::Agent,
                    "Hi Ana, sorry about that! I've arranged a replacement, it ships today. Anything else?",
                ),
                m(Author::Customer, "Thanks, that's all."),
                m(Author::Agent, "Have a great day."),
            ],
            Status::Resolved,
        );
        assert!(s.situation.starts_with("My lamp from order HP-20417 arrived broken."), "{s:?}");
        assert!(s.situation.ends_with("(order HP-20417)"), "{s:?}");
        assert_eq!(s.done, "I've arranged a replacement, it ships today.");
        assert_eq!(s.open, "Nothing.");
    }

    #[test]
    fn an_unanswered_customer_message_is_open() {
        let s = summarize(
            &[m(Author::Customer, "Where is my refund?"), m(Author::Customer, "It has been two weeks!")],
            Status::Escalated,
        );
        assert_eq!(s.done, "Nothing yet.");
        assert!(s.open.starts_with("The customer's last message has no reply: It has been two weeks!"), "{s:?}");
        // One message: it is the situation, and is not repeated as what is open.
        let s = summarize(&[m(Author::Customer, "Where is my refund for order HP-20417?")], Status::Open);
        assert!(s.situation.starts_with("Where is my refund"), "{s:?}");
        assert_eq!(s.open, "The customer's message has no reply yet.");
    }

    #[test]
    fn chinese() {
        let s = summarize(
            &[
                m(Author::Customer, "您好，我的订单 HP-1042 还没到。"),
                m(Author::Agent, "您好，我已为您联系快递公司，预计明天送达。"),
            ],
            Status::Escalated,
        );
        assert!(s.situation.starts_with("我的订单 HP-1042 还没到。"), "{s:?}");
        assert!(s.done.contains("我已为您联系快递公司"), "{s:?}");
        assert_eq!(s.open, "Escalated for a specialist to follow up.");
    }
}
