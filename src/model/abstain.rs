//! A draft that does not answer: a clarifying question when the message is about what the
//! knowledge base covers but which answer fits is unclear, a handoff when the knowledge base does
//! not cover it at all. Which one follows the retrieval confidence (`[retrieval] handoff_below`).

use super::extractive::address_name;
use crate::desk::Author;
use crate::desk::ports::DraftRequest;
use crate::text::{has_cjk, sounds_upset};

/// Why a draft does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abstain {
    /// The knowledge base covers the subject: ask for the detail that picks the answer.
    Clarify,
    /// The knowledge base does not cover it: say so and bring in the team.
    Handoff,
}

impl Abstain {
    /// From the retrieval confidence: below `handoff_below`, nothing found is about the question.
    pub fn for_confidence(confidence: f32, handoff_below: f32) -> Self {
        if confidence < handoff_below { Self::Handoff } else { Self::Clarify }
    }

    fn text(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Self::Clarify, false) => {
                "I want to make sure I give you the right answer. Could you tell me a bit more about what you need? If it's about an order, the order number helps."
            }
            (Self::Clarify, true) => "为了给您准确的答复，能否再详细说明一下您的问题？如果与订单有关，请提供订单号。",
            (Self::Handoff, false) => {
                "I don't have an answer to that in our help centre, so I'll check with the team and get back to you here."
            }
            (Self::Handoff, true) => "这个问题我们的帮助中心暂时没有答案，我会和团队确认后在这里回复您。",
        }
    }
}

/// The whole non-answer for `request`: greeting, an apology when the customer sounds upset, then
/// the clarifying question or the handoff, in the customer's language.
pub fn draft(request: &DraftRequest, handoff_below: f32) -> String {
    let latest =
        request.messages.iter().rev().find(|m| m.author == Author::Customer).map(|m| m.text.as_str()).unwrap_or("");
    let zh = request.customer.as_ref().is_some_and(|c| c.language.starts_with("zh")) || has_cjk(latest);
    let name = request.customer.as_ref().map(|c| address_name(&c.name)).unwrap_or_default();
    let greeting = match (zh, name.is_empty()) {
        (true, false) => format!("{name}您好！"),
        (true, true) => "您好！".to_owned(),
        (false, false) => format!("Hi {name},"),
        (false, true) => "Hi there,".to_owned(),
    };
    let empathy = match (sounds_upset(latest), zh) {
        (true, true) => "非常抱歉给您带来不便，我们来尽快解决。",
        (true, false) => "I'm really sorry about the trouble, and I'll help you sort this out now.",
        _ => "",
    };
    let ask = Abstain::for_confidence(request.retrieval.confidence, handoff_below).text(zh);
    [greeting.as_str(), empathy, ask].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(if zh {
        ""
    } else {
        " "
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_topic_hands_off_and_unclear_asks() {
        assert_eq!(Abstain::for_confidence(0.05, 0.13), Abstain::Handoff);
        assert_eq!(Abstain::for_confidence(0.4, 0.13), Abstain::Clarify);
        assert!(Abstain::Handoff.text(true).contains("团队"));
        assert!(Abstain::Clarify.text(false).contains("tell me a bit more"));
    }
}
