//! A deterministic synthetic review store: conversations, customer questions, drafts with a
//! realistic outcome mix and send times, flags and knowledge gaps. Used by the stats tests,
//! `deskpilot bench review` and the render bench.

use crate::desk::{
    Conversation, ConversationId, Customer, Draft, DraftOutcome, DraftTimings, Message, Millis, Priority, RequestId,
    Source, Status, SuggestionEvent, Tier,
};
use crate::store::{Review, SqliteStore};

/// Where seeded time starts: 2026-01-01T00:00:00Z.
pub const SEED_T0: Millis = 1_767_225_600_000;

/// The seeded agents.
pub const AGENTS: [&str; 5] = ["ana", "ben", "chen", "dara", "eli"];

const ARTICLES: [(&str, &str); 8] = [
    ("refund-timeline", "Refund timeline"),
    ("return-policy", "Return policy"),
    ("shipping-options", "Shipping options"),
    ("order-tracking", "Tracking an order"),
    ("damaged-items", "Damaged or faulty items"),
    ("harbor-plus", "Harbor+ membership"),
    ("payment-methods", "Payment methods"),
    ("zh/return-policy", "退货政策"),
];

const QUESTIONS: [&str; 8] = [
    "When will my refund arrive?",
    "Can I return a lamp I bought last month?",
    "How much is express shipping?",
    "My parcel says label created for a week, order HP-20417.",
    "The vase arrived broken, what now?",
    "Does Harbor+ include free returns?",
    "Can I pay with PayPal? My email is sam@example.com",
    "退货需要多久才能退款？",
];

const DRAFTS: [&str; 8] = [
    "Hi, card refunds take 5-7 business days to appear once we receive your return.",
    "Hi, you can return most items within 30 days of delivery for a full refund.",
    "Hi, express shipping takes 1-2 business days and costs $12.99.",
    "Hi, I am sorry for the wait. Labels can take 24 hours to update; I have asked the carrier to check.",
    "Hi, I am sorry it arrived damaged. Send us a photo and we will send a replacement right away.",
    "Hi, Harbor+ members get free returns and free express shipping on every order.",
    "Hi, we accept cards, PayPal and Apple Pay at checkout.",
    "您好，我们收到退货后会在2个工作日内退款，银行卡退款需要5-7个工作日到账。",
];

const GAPS: [&str; 5] = [
    "Do you ship to Iceland?",
    "Can I change the colour after ordering?",
    "Do you ship to iceland?",
    "Is the sofa fabric vegan?",
    "Can I get an invoice with my VAT number?",
];

/// A small deterministic generator (SplitMix64): the same seed, the same store.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Writes `drafts` drafts (two per conversation) spread over 30 days, in one transaction.
pub fn seed(store: &mut SqliteStore, drafts: usize, seed: u64) -> crate::store::Result<()> {
    let mut rng = Rng(seed);
    store.in_transaction(|s| {
        let span = 30 * 86_400_000u64;
        for i in 0..drafts {
            let conv = ConversationId(format!("R-{:05}", i / 2));
            let at = SEED_T0 + (i as u64 * span / drafts.max(1) as u64) as Millis;
            let agent = AGENTS[rng.below(AGENTS.len() as u64) as usize];
            let topic = rng.below(ARTICLES.len() as u64) as usize;
            if i % 2 == 0 {
                s.put_customer(&Customer {
                    id: format!("cus-{:05}", i / 2).as_str().into(),
                    name: format!("Customer {}", i / 2),
                    email: format!("c{}@example.com", i / 2),
                    language: if topic == 7 { "zh" } else { "en" }.into(),
                    tier: Tier::Standard,
                    notes: String::new(),
                })?;
                s.put_conversation(&Conversation {
                    id: conv.clone(),
                    customer: format!("cus-{:05}", i / 2).as_str().into(),
                    channel: "seed".into(),
                    status: Status::Resolved,
                    priority: Priority::Normal,
                    tags: vec![],
                    assignee: Some(agent.into()),
                    created: at,
                    updated: at,
                })?;
            }
            s.add_message(&conv, &Message::customer(QUESTIONS[topic], at - 20_000))?;
            let generated = DRAFTS[topic].to_owned();
            let roll = rng.below(100);
            let (outcome, final_text) = match roll {
                0..45 => (DraftOutcome::SentAsIs, Some(generated.clone())),
                45..75 => (DraftOutcome::Edited, Some(format!("{generated} Anything else I can help with?"))),
                75..90 => (
                    DraftOutcome::Rewritten,
                    Some("Let me check this with the team and get back to you today.".to_owned()),
                ),
                _ => (DraftOutcome::Discarded, None),
            };
            let request = RequestId(i as u64 + 1);
            let draft = Draft {
                conversation: conv.clone(),
                request,
                generated,
                sources: vec![Source { slug: ARTICLES[topic].0.into(), title: ARTICLES[topic].1.into() }],
                model_version: "seed".into(),
                timings: DraftTimings { retrieval_ms: 1.0, first_token_ms: 40.0, total_ms: 400.0, tokens: 30 },
                final_text: final_text.clone(),
                outcome: Some(outcome),
            };
            let id = s.put_draft(&draft)?;
            let sent = final_text.as_ref().map(|_| at + 5_000 + rng.below(120_000) as Millis);
            s.set_draft_times(id, agent, at, sent)?;
            if let (Some(text), Some(t)) = (&final_text, sent) {
                let mut m = Message::agent(text.clone(), t);
                m.internal = false;
                s.add_message(&conv, &m)?;
            }
            if roll.is_multiple_of(37) {
                s.add_review(&Review {
                    draft_id: id,
                    reviewer: "sup".into(),
                    verdict: "flag".into(),
                    comment: "promised a date we cannot keep".into(),
                    at,
                })?;
            }
            if rng.below(10) == 0 {
                let q = GAPS[rng.below(GAPS.len() as u64) as usize];
                s.add_event_detail(&conv, Some(request), SuggestionEvent::KbGap, q, at)?;
            }
        }
        Ok(())
    })
}
