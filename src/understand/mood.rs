//! Sentiment and urgency: a per-turn score from weighted cue phrases (negation and contrast
//! aware, English and Chinese), flags for threats to cancel, legal words, repeated contacts and
//! time pressure, and the conversation's trend, which yields an escalation hint and a priority.
//!
//! Cues, not a model: there is no labelled sentiment data for this company to train one on.
//! Tuned on `assets/eval/sentiment-dev.jsonl`; measured on the frozen `assets/eval/sentiment.jsonl`.

use crate::desk::Priority;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A turn's (or conversation's) sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }
}

/// One customer turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnMood {
    /// Below 0: displeased; above 0: pleased (sum of cue weights).
    pub score: f32,
    pub sentiment: Sentiment,
    pub cancel: bool,
    pub legal: bool,
    pub repeat: bool,
    pub urgent: bool,
}

struct Cues {
    negative: Vec<(Regex, f32)>,
    positive: Regex,
    negation: Regex,
    cancel: Regex,
    legal: Regex,
    repeat: Regex,
    urgent: Regex,
}

fn cues() -> &'static Cues {
    static C: OnceLock<Cues> = OnceLock::new();
    C.get_or_init(|| {
        // Literal patterns, checked by the tests: a failure here is a programming error.
        #[allow(clippy::expect_used)]
        let re = |p: &str| Regex::new(p).expect("valid mood pattern");
        Cues {
            negative: vec![
                (
                    re(r"(?i)\b(ridiculous|unacceptable|furious|worst|useless|terrible|horrible|awful|disgusting|scam|pathetic|appalling|outrageous|fed up|sick of|had enough|thanks for nothing|just wow|oh great|great, another|just what i needed)\b|太差|垃圾|骗子|气死|生气|离谱|无语|差评"),
                    2.0,
                ),
                (
                    re(r"(?i)\b(disappointed|disappointing|frustrated|frustrating|annoyed|annoying|upset|unhappy|broken|broke|damaged|scratch(ed)?|soaked|wrong|confusing|can'?t|cannot|doesn'?t (work|solve|help)|stopped working|not working|unfortunately|so long|takes forever|nobody|no one|anyone there|whatever|charged twice|still no|still nothing|hasn'?t (moved|arrived)|manager)\b|失望|坏了|碎了|不满意|投诉|一直不|还没|怎么办|还是坏"),
                    1.0,
                ),
            ],
            positive: re(r"(?i)\b(thanks|thank you|thank|great|perfect|appreciate|awesome|love|happy|brilliant|cheers|excellent|wonderful|friendly|nice|helpful|patient|no problem|works for me|sure|bad|satisf(ied|actory)|on time|exactly what)\b|谢谢|感谢|满意|很好|好看|没问题|好的|太好了"),
            negation: re(r"(?i)\b(not|never|no|don'?t|isn'?t|wasn'?t|hardly)\s+(\w+\s+)?(at all\s+)?$|不太?$|没有?$"),
            cancel: re(r"(?i)\b(cancel(l?ing)?|end|close|terminate)\s+my\s+(account|membership|subscription|harbor\+)|\bclose my account|take my business elsewhere|never (ordering|order|buying|buy|shopping|shop) (from|with|here)|\b(i'?m|i am) done with|取消会员|注销账|再也不买|退会"),
            legal: re(r"(?i)\b(lawyer|attorney|solicitor|sue|suing|legal action|court|small claims|chargeback|dispute (the|this) charge|consumer protection|trading standards|ombudsman|bbb)\b|律师|起诉|法院|消协|12315"),
            repeat: re(r"(?i)\b(third|second|fourth|fifth|\d+(st|nd|rd|th)) time\b|\bagain\b|\balready (told|asked|contacted|called|wrote|written|explained)\b|\b(asked|called|written|wrote) (twice|three times)|\btwice already\b|\bstill (no|nothing|waiting|not|hasn'?t|haven'?t)\b|\bnobody (answers|replies|picked|responds)|\bon hold\b|\b(been )?wait(ed|ing) (for )?(\d+|two|three|four|an?) (minutes|hours?|days|weeks)|第[二三四五六]次|又坏|一直不|还没"),
            urgent: re(r"(?i)\b(asap|urgent|urgently|immediately|right now|right away)\b|\b(need|needs|want|resolved|fixed|sorted|arrive|by)\b[^.!?]{0,30}\b(today|tonight|tomorrow|friday|monday|tuesday|wednesday|thursday|saturday|sunday|this week)\b|尽快|马上|立刻|急|明天就|今天就"),
        }
    })
}

/// Scores one customer turn.
pub fn assess_turn(text: &str) -> TurnMood {
    let c = cues();
    // After "but" what follows carries the turn: "thanks, but this does not solve it".
    let lower = text.to_lowercase();
    let (before, after) = match lower.find(" but ").or_else(|| lower.find("但是")) {
        Some(i) => (&lower[..i], &lower[i..]),
        None => ("", lower.as_str()),
    };
    let mut score = 0.0;
    let mut negatives = 0.0;
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    for (re, w) in &c.negative {
        for m in re.find_iter(after) {
            spans.push(m.range());
            // "not bad", "not unhappy": a negated complaint is mild praise.
            if c.negation.is_match(&after[..m.start()]) {
                score += 0.5;
            } else {
                score -= w;
                negatives += w;
            }
        }
    }
    for m in c.positive.find_iter(after) {
        if m.as_str() == "bad" {
            // Only "not bad" praises; "bad" alone is a complaint.
            if c.negation.is_match(&after[..m.start()]) {
                score += 1.0;
            } else {
                score -= 1.0;
            }
            continue;
        }
        // Inside a complaint ("great, another", "thanks for nothing"): counted there already.
        if spans.iter().any(|n| n.start <= m.start() && m.end() <= n.end) {
            continue;
        }
        if c.negation.is_match(&after[..m.start()]) {
            score -= 1.0;
            negatives += 1.0;
        } else {
            score += 1.0;
        }
    }
    if !before.is_empty() && score > -0.5 && c.positive.is_match(before) {
        score += 0.5;
    }
    let shouting = text
        .split_whitespace()
        .filter(|w| {
            w.chars().filter(|c| c.is_alphabetic()).count() >= 3
                && w.chars().all(|c| !c.is_lowercase())
                && w.chars().any(char::is_uppercase)
        })
        .count();
    let marks = text.matches("!!").count() + text.matches("??").count() + text.matches("！！").count();
    if negatives > 0.0 || shouting >= 2 {
        score -= shouting.min(2) as f32 * 0.5 + marks.min(2) as f32 * 0.5;
    }
    let (cancel, legal, repeat, urgent) =
        (c.cancel.is_match(&lower), c.legal.is_match(&lower), c.repeat.is_match(&lower), c.urgent.is_match(&lower));
    if cancel || legal {
        score -= 1.0;
    }
    if repeat && score <= 0.0 {
        score -= 1.0;
    }
    let sentiment = if score <= -1.0 {
        Sentiment::Negative
    } else if score >= 1.0 {
        Sentiment::Positive
    } else {
        Sentiment::Neutral
    };
    TurnMood { score, sentiment, cancel, legal, repeat, urgent }
}

/// Where the customer's mood is heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    Rising,
    Easing,
    Steady,
}

/// A conversation's mood: the latest turn, the trend of frustration, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mood {
    pub latest: Sentiment,
    pub score: f32,
    /// Rising: frustration growing over the last turns.
    pub trend: Trend,
    pub cancel: bool,
    pub legal: bool,
    /// Turns that said they had asked before, plus earlier conversations of this customer.
    pub repeats: usize,
    pub urgent: bool,
    /// Why a supervisor should take over, if one should.
    pub escalate: Option<&'static str>,
    /// The priority this mood calls for.
    pub priority: Priority,
}

/// The mood of a conversation's customer turns, oldest first; `earlier_contacts` counts the
/// customer's earlier conversations.
pub fn assess(turns: &[&str], earlier_contacts: usize) -> Mood {
    assess_with(turns, earlier_contacts, None)
}

/// [`assess`], with the latest turn's sentiment from the sentence encoder's head when there is
/// one (the cues still give the scores, the trend and the flags).
pub fn assess_with(turns: &[&str], earlier_contacts: usize, latest: Option<Sentiment>) -> Mood {
    let moods: Vec<TurnMood> = turns.iter().map(|t| assess_turn(t)).collect();
    let latest = latest.or_else(|| moods.last().map(|m| m.sentiment)).unwrap_or(Sentiment::Neutral);
    let score = moods.last().map_or(0.0, |m| m.score);
    // Frustration is a running sum, so one calm turn does not erase three angry ones.
    let recent: Vec<f32> = moods.iter().rev().take(3).map(|m| m.score).collect();
    let trend = match recent.as_slice() {
        [last, prev, ..] if *last <= prev - 1.0 && *last < 0.0 => Trend::Rising,
        [last, prev, ..] if *last >= prev + 1.0 && *prev < 0.0 => Trend::Easing,
        _ => Trend::Steady,
    };
    let cancel = moods.iter().any(|m| m.cancel);
    let legal = moods.iter().any(|m| m.legal);
    let urgent = moods.iter().rev().take(2).any(|m| m.urgent);
    let repeats = moods.iter().filter(|m| m.repeat).count() + earlier_contacts;
    let negative = latest == Sentiment::Negative;
    let escalate = if legal {
        Some("legal words: hand over to a supervisor")
    } else if cancel {
        Some("threatens to cancel: offer a supervisor")
    } else if negative && trend == Trend::Rising && repeats > 0 && (repeats >= 2 || score <= -3.0) {
        Some("frustration rising on a repeated contact")
    } else if negative && score <= -4.0 {
        Some("very upset")
    } else {
        None
    };
    let priority = if legal || cancel || escalate.is_some() {
        Priority::Urgent
    } else if urgent || negative && repeats > 0 {
        Priority::High
    } else {
        Priority::Normal
    };
    Mood { latest, score, trend, cancel, legal, repeats, urgent, escalate, priority }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Sentiment {
        assess_turn(t).sentiment
    }

    #[test]
    fn negation_contrast_and_sarcasm() {
        assert_eq!(s("Not bad, the sofa looks nice."), Sentiment::Positive);
        assert_eq!(s("I am not happy at all."), Sentiment::Negative);
        assert_eq!(s("Thank you, but this doesn't solve my problem."), Sentiment::Negative);
        assert_eq!(s("Great, another week of waiting."), Sentiment::Negative);
        assert_eq!(s("Where is my parcel?"), Sentiment::Neutral);
    }

    #[test]
    fn flags() {
        let m = assess_turn("If this isn't fixed by Friday I'm cancelling my membership.");
        assert!(m.cancel && m.urgent && !m.legal);
        assert!(assess_turn("我要找律师起诉你们").legal);
        assert!(assess_turn("This is the third time I'm writing.").repeat);
        assert!(!assess_turn("Can I cancel my order?").cancel, "cancelling an order is a request, not a threat");
    }

    #[test]
    fn a_conversation_getting_worse_is_escalated() {
        let m = assess(&["Where is my refund?", "It's been two weeks, still nothing.", "This is RIDICULOUS!!"], 0);
        assert_eq!(m.trend, Trend::Rising);
        assert_eq!(m.escalate, Some("frustration rising on a repeated contact"));
        assert_eq!(m.priority, Priority::Urgent);
        let calm = assess(&["Do you ship to Iceland?"], 0);
        assert_eq!((calm.escalate, calm.priority), (None, Priority::Normal));
        assert_eq!(assess(&["Where is my parcel?"], 2).priority, Priority::Normal);
        assert_eq!(assess(&["I'll talk to my lawyer."], 0).priority, Priority::Urgent);
    }
}
