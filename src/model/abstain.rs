//! A draft that does not answer: a clarifying question when the message is about what the
//! knowledge base covers but which answer fits is unclear, a handoff when the knowledge base does
//! not cover it at all. Which one follows the retrieval confidence (`[retrieval] handoff_below`).

use super::extractive::{Opening, opening};
use crate::desk::ports::DraftRequest;

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
    let Opening { zh, greeting, empathy } = opening(request);
    let ask = Abstain::for_confidence(request.retrieval.confidence, handoff_below).text(zh);
    let parts: Vec<&str> = [greeting.as_str(), empathy.as_str(), ask].into_iter().filter(|s| !s.is_empty()).collect();
    parts.join(if zh { "" } else { " " })
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
