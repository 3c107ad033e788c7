//! Understanding the customer: the key details of what they wrote ([`details`]), and a
//! conversation's summary for handoffs ([`summary`]).

mod amount;
mod calendar;
pub mod details;
pub mod eval;
pub mod evidence;
pub mod head;
pub mod intent;
pub mod mood;
pub mod summary;

pub use details::{Detail, DetailKind, details, load_products};
pub use summary::{Summary, summarize};

/// Details of a conversation's customer messages, oldest first, each (kind, value) once.
pub fn conversation_details<'a>(texts: impl IntoIterator<Item = (&'a str, i64)>, into: &mut Vec<Detail>) {
    for (text, at) in texts {
        for d in details(text, at) {
            if !into.iter().any(|x| x.kind == d.kind && x.value == d.value) {
                into.push(d);
            }
        }
    }
}
