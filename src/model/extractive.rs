//! The extractive drafter: a reply built from the knowledge base's own sentences.
//!
//! It greets the customer by name, acknowledges frustration when the message shows it, quotes
//! the sentences of the top passages that best match the customer's latest message (facts such
//! as numbers, amounts and menu paths are preferred), and closes with an offer of further help.
//! When retrieval is not confident it abstains: it asks a clarifying question instead of
//! guessing. It is honest about what it is: the console labels its drafts "extractive".

use crate::desk::ports::{DraftRequest, DraftResult, Drafter, Flow, PortError};
use crate::desk::{Author, DetailKind, DraftTimings, Passage, Source};
pub use crate::text::{AnswerType, content_terms, sounds_upset};
use std::collections::HashSet;
use std::time::Instant;
use tantivy::tokenizer::TextAnalyzer;
use unicode_segmentation::UnicodeSegmentation;

pub const MODEL_VERSION: &str = "extractive-1";

#[derive(Debug, Clone)]
pub struct ExtractiveDrafter {
    /// Below this retrieval confidence the draft is a clarifying question (without a selector).
    pub min_confidence: f32,
    /// A non-answer below this confidence hands off instead of asking (see [`super::abstain`]).
    pub handoff_below: f32,
    /// At most this many sentences are quoted (without a selector).
    pub max_sentences: usize,
    /// The learned answer selector: what to quote, and whether to answer at all. Without one,
    /// the hand-written heuristics below choose (the ablation baseline).
    pub selector: Option<std::sync::Arc<crate::select::Selector>>,
    /// Words that mark a sentence as a members' rule.
    pub member_terms: Vec<String>,
}

impl Default for ExtractiveDrafter {
    fn default() -> Self {
        Self { min_confidence: 0.2, handoff_below: 0.13, max_sentences: 3, selector: None, member_terms: Vec::new() }
    }
}

/// The drafter's version: `extractive-1`, plus `+` and the first six hex digits of the
/// selector's weights hash when one chooses (short: the editor's title shows it).
pub fn version(selector: Option<&crate::select::Selector>) -> String {
    match selector {
        Some(s) => format!("{MODEL_VERSION}+{}", s.file.weights_sha256.get(..6).unwrap_or("")),
        None => MODEL_VERSION.to_owned(),
    }
}

/// The picked sentences as the reply says them: a lead-in and the items of its list that follow
/// it read as one sentence ("It does not cover: drops, cracked screens; lost or stolen items").
fn list_sentences(picked: &[Candidate], zh: bool) -> Vec<String> {
    use crate::text::{list_item, list_lead};
    let mut out = Vec::new();
    let mut i = 0;
    while i < picked.len() {
        let lead = &picked[i];
        let mut j = i + 1;
        if list_lead(&lead.text) {
            while j < picked.len() && picked[j].passage == lead.passage && list_item(&picked[j].text) {
                j += 1;
            }
        }
        if j > i + 1 {
            let stops = [';', ',', '.', '；', '，', '。'];
            let items: Vec<&str> = picked[i + 1..j].iter().map(|c| c.text.trim().trim_end_matches(stops)).collect();
            let (gap, sep) = if zh { ("", "；") } else { (" ", "; ") };
            out.push(format!("{}{gap}{}", lead.text.trim(), items.join(sep)));
        } else {
            out.push(lead.text.clone());
        }
        i = j;
    }
    out
}

/// How a reply opens: in the customer's language, with a greeting by name, and an apology when
/// the customer sounds upset.
pub(crate) struct Opening {
    pub zh: bool,
    /// Empty on a later reply: agents greet once in a conversation.
    pub greeting: String,
    /// An apology when the customer sounds upset, then a thank-you for the order number they
    /// just gave (either may be empty).
    pub empathy: String,
}

/// Whether a reply to `request` is written in Chinese: the customer's language, or a latest
/// message in Chinese.
pub(crate) fn replies_in_chinese(request: &DraftRequest) -> bool {
    let latest =
        request.messages.iter().rev().find(|m| m.author == Author::Customer).map(|m| m.text.as_str()).unwrap_or("");
    request.customer.as_ref().is_some_and(|c| c.language.starts_with("zh")) || is_cjk(latest)
}

/// Whether the agent has already replied in this conversation: a later reply goes straight to
/// the point (agents greet once).
pub(crate) fn later_reply(request: &DraftRequest) -> bool {
    request.messages.iter().any(|m| m.author == Author::Agent && !m.internal)
}

pub(crate) fn opening(request: &DraftRequest) -> Opening {
    let latest =
        request.messages.iter().rev().find(|m| m.author == Author::Customer).map(|m| m.text.as_str()).unwrap_or("");
    let zh = replies_in_chinese(request);
    // A Chinese reply to a name in Latin letters ("Wang Fang") uses the whole name, surname first.
    let name = request
        .customer
        .as_ref()
        .map(|c| if zh && !crate::text::has_cjk(&c.name) { c.name.trim().to_owned() } else { address_name(&c.name) })
        .unwrap_or_default();
    let greeting = match (zh, name.is_empty()) {
        _ if later_reply(request) => String::new(),
        (true, false) => format!("{name}您好！"),
        (true, true) => "您好！".to_owned(),
        (false, false) => format!("Hi {name},"),
        (false, true) => "Hi there,".to_owned(),
    };
    let sorry = match (sounds_upset(latest), zh) {
        (true, true) => "非常抱歉给您带来不便，我们来尽快解决。",
        (true, false) => "I'm really sorry about the trouble, and I'll help you sort this out now.",
        _ => "",
    };
    // The order number the latest message gave, so the agent sees it was read.
    let order = request.details.iter().rev().find(|d| d.kind == DetailKind::Order && latest.contains(&d.text));
    let thanks = match (order, zh) {
        (Some(o), true) => format!("感谢您提供订单号 {}。", o.value),
        (Some(o), false) => format!("Thanks for including your order number, {}.", o.value),
        (None, _) => String::new(),
    };
    let empathy = match (sorry.is_empty(), thanks.is_empty(), zh) {
        (false, false, false) => format!("{sorry} {thanks}"),
        _ => format!("{sorry}{thanks}"),
    };
    Opening { zh, greeting, empathy }
}

/// How a reply addresses the customer: the first name, unless that is only an initial ("M." or
/// "M"), then the whole name; Chinese names whole.
pub fn address_name(name: &str) -> String {
    let name = name.trim();
    if crate::text::has_cjk(name) {
        return name.chars().filter(|c| !c.is_whitespace()).collect();
    }
    let first = name.split_whitespace().next().unwrap_or("");
    if first.trim_end_matches('.').chars().count() <= 1 { name.to_owned() } else { first.to_owned() }
}

fn is_cjk(text: &str) -> bool {
    crate::retrieval::analyzers::has_cjk(text)
}

/// A customer's message with the help-centre words for its phrasing ("smashed" -> "damaged"),
/// as retrieval expands it.
pub(crate) fn with_synonyms(message: &str) -> String {
    format!("{message} {}", crate::retrieval::query::synonyms(message))
}

pub use crate::select::features::answerable;

/// The customer's last two messages, oldest first: what [`answerable`] judges (a follow-up such
/// as "how about one in the centre?" leans on the message before it).
pub fn recent_customer_text(request: &DraftRequest) -> String {
    let mut recent: Vec<&str> = request
        .messages
        .iter()
        .rev()
        .filter(|m| m.author == Author::Customer)
        .take(2)
        .map(|m| m.text.as_str())
        .collect();
    recent.reverse();
    recent.join("\n")
}

/// What a sentence holding the kind of answer asked for adds to its score.
pub const ANSWER_TYPE_BONUS: f32 = 2.0;

/// A sentence with its score.
struct Candidate {
    passage: usize,
    order: usize,
    text: String,
    score: f32,
}

/// Profile-based preference: members' rules (sentences naming one of `member_terms`, the
/// members' tier names from the config) matter to members and are noise to everyone else.
pub(crate) fn profile_bonus(sentence: &str, tier: Option<crate::desk::Tier>, member_terms: &[String]) -> f32 {
    let about_members = member_terms.iter().any(|t| !t.is_empty() && sentence.contains(t.as_str()));
    match (tier, about_members) {
        (Some(crate::desk::Tier::Plus), true) => 1.0,
        (Some(_), true) => -0.5,
        _ => 0.0,
    }
}

fn candidates(
    passages: &[Passage],
    question: &HashSet<String>,
    answer: Option<AnswerType>,
    tier: Option<crate::desk::Tier>,
    member_terms: &[String],
    en: &mut TextAnalyzer,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (pi, p) in passages.iter().take(3).enumerate() {
        for (si, s) in p.text.split_sentence_bounds().enumerate() {
            let s = s.trim();
            if s.chars().count() < 12 || crate::text::is_question(s) {
                continue;
            }
            let terms = content_terms(s, en);
            let overlap = terms.intersection(question).count() as f32;
            // Later passages must share at least two words with the question to be quoted: a
            // single shared word ("coffee" table / "coffee" spilled) is a coincidence.
            if pi > 0 && overlap < 2.0 {
                continue;
            }
            let facts = s.chars().filter(char::is_ascii_digit).count().min(4) as f32 * 0.15
                + if s.contains(" > ") { 0.5 } else { 0.0 };
            // The top passage is the best evidence; later ones must earn their place.
            let rank = [1.0, 0.4, 0.25][pi];
            let typed = if answer.is_some_and(|a| a.found_in(s)) { ANSWER_TYPE_BONUS } else { 0.0 };
            let score = (overlap + facts + typed + profile_bonus(s, tier, member_terms)) * rank;
            out.push(Candidate { passage: pi, order: si, text: s.to_owned(), score });
        }
    }
    out
}

impl ExtractiveDrafter {
    /// The hand-written choice (no selector): stemmed words shared with the question, facts,
    /// the kind of answer asked for, the customer's tier, the passage's rank.
    fn heuristic_pick(&self, passages: &[Passage], latest: &str, request: &DraftRequest) -> Vec<Candidate> {
        let mut en = crate::retrieval::analyzers::english();
        let question = content_terms(&with_synonyms(latest), &mut en);
        let tier = request.customer.as_ref().map(|c| c.tier);
        let mut picked = candidates(passages, &question, AnswerType::of(latest), tier, &self.member_terms, &mut en);
        picked.sort_by(|a, b| b.score.total_cmp(&a.score));
        picked.truncate(self.max_sentences);
        if picked.iter().all(|c| c.score <= 0.0) {
            picked.truncate(1);
        }
        // Keep the passage's own order so the facts read naturally.
        picked.sort_by_key(|c| (c.passage, c.order));
        picked
    }

    /// Composes the reply text (no streaming): (text, sources, abstained).
    pub fn compose(&self, request: &DraftRequest) -> (String, Vec<Source>, bool) {
        let Opening { zh, greeting, empathy } = opening(request);
        let latest =
            request.messages.iter().rev().find(|m| m.author == Author::Customer).map(|m| m.text.as_str()).unwrap_or("");
        let r = &request.retrieval;
        let passages = r.drafter_passages();
        let selected =
            self.selector.as_ref().map(|sel| crate::select::selected_sentences(sel, request, &self.member_terms));
        let confident = match &selected {
            Some(picked) => picked.is_some(),
            None => {
                r.confidence >= self.min_confidence
                    && !passages.is_empty()
                    && answerable(&recent_customer_text(request), passages)
            }
        };
        if !confident {
            return (super::abstain::draft(request, self.handoff_below), Vec::new(), true);
        }

        let picked = match selected.flatten() {
            Some(mut chosen) => {
                crate::select::with_list_context(&mut chosen, passages);
                chosen
                    .into_iter()
                    .map(|(passage, order, text)| Candidate { passage, order, text, score: 1.0 })
                    .collect()
            }
            None => self.heuristic_pick(passages, latest, request),
        };
        let mut sources: Vec<Source> = Vec::new();
        for c in &picked {
            let p = &passages[c.passage];
            if !sources.iter().any(|s| s.slug == p.slug) {
                sources.push(Source { slug: p.slug.clone(), title: p.title.clone() });
            }
        }
        // List items and headings-as-sentences have no final stop; a reply's sentences do.
        let finish = |t: &str| {
            let t = t.trim_end_matches([':', ';', ',', '；', '：', '，']);
            // A list item quoted as a sentence starts with a capital ("returned within 30 days").
            let capital;
            let t = match t.chars().next() {
                Some(c) if c.is_ascii_lowercase() => {
                    capital = format!("{}{}", c.to_ascii_uppercase(), &t[1..]);
                    capital.as_str()
                }
                _ => t,
            };
            match t.chars().last() {
                Some(c) if c.is_alphanumeric() || c == ')' || c == '）' => {
                    format!("{t}{}", if zh { "。" } else { "." })
                }
                _ => t.to_owned(),
            }
        };
        let body =
            list_sentences(&picked, zh).iter().map(|t| finish(t)).collect::<Vec<_>>().join(if zh { "" } else { " " });
        let closing = if zh { super::layout::ZH_CLOSING } else { super::layout::EN_CLOSING };
        let text = if zh {
            format!("{greeting}{empathy}{body}{closing}")
        } else {
            let body = if empathy.is_empty() { body } else { format!("{empathy} {body}") };
            let opened = if greeting.is_empty() { String::new() } else { format!("{greeting}\n\n") };
            format!("{opened}{body}\n\n{closing}")
        };
        (text, sources, false)
    }
}

/// Splits text into streaming pieces: words with their trailing whitespace, CJK by character.
pub fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, w) in text.split_word_bound_indices() {
        let next = i + w.len();
        let ends_word = w.chars().all(char::is_whitespace) || is_cjk(w);
        if ends_word || next == text.len() {
            out.push(&text[start..next]);
            start = next;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

impl Drafter for ExtractiveDrafter {
    fn draft(&mut self, request: &DraftRequest, sink: &mut dyn FnMut(&str) -> Flow) -> Result<DraftResult, PortError> {
        let started = Instant::now();
        let (text, sources, abstained) = self.compose(request);
        let mut sent = String::new();
        let mut first_token_ms = 0.0;
        let mut tokens = 0;
        let mut cancelled = false;
        for piece in pieces(&text) {
            if tokens == 0 {
                first_token_ms = started.elapsed().as_secs_f64() * 1e3;
            }
            tokens += 1;
            sent.push_str(piece);
            if sink(piece) == Flow::Stop {
                cancelled = true;
                break;
            }
        }
        Ok(DraftResult {
            text: sent,
            sources,
            model_version: version(self.selector.as_deref()),
            timings: DraftTimings {
                retrieval_ms: 0.0,
                first_token_ms,
                total_ms: started.elapsed().as_secs_f64() * 1e3,
                tokens,
            },
            abstained,
            cancelled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{Customer, Message, RequestId, Retrieval, Tier};

    #[test]
    fn a_lead_in_and_its_items_read_as_one_sentence() {
        let c = |order: usize, text: &str| Candidate { passage: 0, order, text: text.into(), score: 1.0 };
        let picked = [
            c(1, "It does not cover:"),
            c(2, "drops, cracked screens or other accidental damage"),
            c(5, "lost or stolen items;"),
            c(7, "Keep your receipt."),
        ];
        assert_eq!(
            list_sentences(&picked, false),
            [
                "It does not cover: drops, cracked screens or other accidental damage; lost or stolen items",
                "Keep your receipt."
            ]
        );
        assert_eq!(list_sentences(&picked[3..], false), ["Keep your receipt."]);
    }

    fn request(text: &str, passages: Vec<Passage>, confidence: f32, lang: &str) -> DraftRequest {
        DraftRequest {
            request: RequestId(1),
            conversation: "T-1".into(),
            customer: Some(Customer {
                id: "c".into(),
                name: "Ana Souza".into(),
                email: "a@example.com".into(),
                language: lang.into(),
                tier: Tier::Standard,
                notes: String::new(),
            }),
            messages: vec![Message::customer(text, 1)],
            retrieval: Retrieval { passages, evidence: vec![], confidence, vectors: None, intent: None },
            details: vec![],
        }
    }

    fn passage(slug: &str, text: &str) -> Passage {
        Passage {
            slug: slug.into(),
            title: slug.into(),
            section: vec![],
            text: text.into(),
            score: 1.0,
            highlights: vec![],
        }
    }

    #[test]
    fn quotes_the_matching_facts() {
        let p = passage(
            "refund-timeline",
            "We issue the refund within 2 business days of receiving your return. Card refunds take 5-7 business days to appear on your statement. Our warehouse is large.",
        );
        let (text, sources, abstained) =
            ExtractiveDrafter::default().compose(&request("when will my card refund show up?", vec![p], 0.9, "en"));
        assert!(!abstained);
        assert!(text.starts_with("Hi Ana,"));
        assert!(text.contains("5-7 business days"), "{text}");
        assert_eq!(sources[0].slug, "refund-timeline");

        // A later reply in the same conversation does not greet again, and never quotes a
        // knowledge base's own question.
        let p = passage(
            "refund-timeline",
            "When will my card refund show up? Card refunds take 5-7 business days to appear on your statement.",
        );
        let mut later = request("and to my card?", vec![p], 0.9, "en");
        later.messages.insert(0, Message::agent("Refunds are issued within 2 business days.", 1));
        later.messages.insert(0, Message::customer("when do refunds come?", 0));
        let (text, _, _) = ExtractiveDrafter::default().compose(&later);
        assert!(text.starts_with("Card refunds take 5-7 business days"), "{text}");
    }

    #[test]
    fn abstains_without_knowledge() {
        let (text, sources, abstained) =
            ExtractiveDrafter::default().compose(&request("do you sell boats?", vec![], 0.0, "en"));
        assert!(abstained && sources.is_empty());
        assert!(text.contains("check with the team"), "nothing found: a handoff: {text}");
        // Something related found, but not confidently: a clarifying question instead.
        let p = passage("refund-timeline", "Card refunds take 5-7 business days to appear on your statement.");
        let (text, _, abstained) =
            ExtractiveDrafter::default().compose(&request("what about the thing?", vec![p], 0.15, "en"));
        assert!(abstained);
        assert!(text.contains("tell me a bit more"), "{text}");
    }

    #[test]
    fn chinese_customers_get_chinese() {
        let p = passage("zh/refund-timeline", "仓库收到退货后 2 个工作日内办理退款。退回银行卡需要 5-7 个工作日。");
        let (text, _, _) = ExtractiveDrafter::default().compose(&request("退款多久到账", vec![p], 0.9, "zh"));
        // A name in Latin letters is used whole ("Wang Fang" is surname first; a first name alone
        // could be either).
        assert!(text.starts_with("Ana Souza您好！") && text.contains("5-7 个工作日"), "{text}");
    }

    #[test]
    fn streams_and_cancels() {
        let p = passage("a", "Standard shipping takes 3-5 business days and costs $4.99.");
        let req = request("how long is shipping", vec![p], 0.9, "en");
        let mut got = String::new();
        let r = ExtractiveDrafter::default()
            .draft(&req, &mut |s| {
                got.push_str(s);
                Flow::Continue
            })
            .expect("draft");
        assert_eq!(got, r.text);
        assert!(r.timings.tokens > 5);
        let mut n = 0;
        let r = ExtractiveDrafter::default()
            .draft(&req, &mut |_| {
                n += 1;
                if n == 3 { Flow::Stop } else { Flow::Continue }
            })
            .expect("draft");
        assert!(r.cancelled && n == 3);
    }

    #[test]
    fn members_get_member_rules() {
        let p = passage(
            "return-policy",
            "Returns are accepted within 30 days of delivery for unused items. Harbor+ members get 60 days to return items. Opened electronics carry a 15% restocking fee.",
        );
        let mut req = request("how long do I have to return my lamp", vec![p], 0.9, "en");
        let (plus, _, _) = ExtractiveDrafter {
            max_sentences: 1,
            member_terms: vec!["Harbor+".into()],
            ..ExtractiveDrafter::default()
        }
        .compose(&{
            if let Some(c) = req.customer.as_mut() {
                c.tier = Tier::Plus;
            }
            req.clone()
        });
        assert!(plus.contains("60 days"), "{plus}");
        let (standard, _, _) = ExtractiveDrafter {
            max_sentences: 1,
            member_terms: vec!["Harbor+".into()],
            ..ExtractiveDrafter::default()
        }
        .compose(&{
            if let Some(c) = req.customer.as_mut() {
                c.tier = Tier::Standard;
            }
            req
        });
        assert!(standard.contains("30 days") && !standard.contains("60 days"), "{standard}");
    }

    #[test]
    fn answerable_needs_shared_words_and_knows_customer_phrasing() {
        let damaged = passage(
            "damaged-item",
            "If your order arrived damaged, report it within 14 days of delivery with photos of the item and the box.",
        );
        // Shares "arrived" only, which is not enough for three words of its own: "smashed" means
        // damaged.
        assert!(answerable("my vase arrived smashed", std::slice::from_ref(&damaged)), "smashed means damaged");
        assert!(!answerable("who won the football game last night", std::slice::from_ref(&damaged)));
        assert!(answerable("how long?", std::slice::from_ref(&damaged)), "too short to judge");
        let refunds = passage("refund-timeline", "Card refunds take 5-7 business days to appear on your statement.");
        assert!(answerable("when do I get my money back on my card", &[refunds]));
        // Chinese by words, not characters: "怎么" and "多少" say how, not what.
        let zh = passage("zh/return-policy", "在商品送达后 30 天内提出退货申请。退货期限从送达之日起计算。");
        assert!(answerable("退货期限是多久？", std::slice::from_ref(&zh)));
        assert!(!answerable("北京到上海的火车票多少钱", std::slice::from_ref(&zh)));
        assert!(!answerable("今天天气怎么样？", &[zh]));
    }

    #[test]
    fn the_kind_of_answer_asked_for_is_preferred() {
        assert_eq!(AnswerType::of("how long does a refund take"), Some(AnswerType::Time));
        assert_eq!(AnswerType::of("what does express cost?"), Some(AnswerType::Amount));
        assert_eq!(AnswerType::of("how many points per dollar"), Some(AnswerType::Count));
        assert_eq!(AnswerType::of("where do I find my invoice"), Some(AnswerType::Place));
        assert_eq!(AnswerType::of("退款什么时候到账"), Some(AnswerType::Time));
        // Colloquial Chinese: 啥时候 (什么时候), 最快, 多少刀 (dollars), 罚 (a fee), 哪里.
        let colloquial = [
            ("退款啥时候到账", AnswerType::Time),
            ("急用 最快几天能到", AnswerType::Time),
            ("分期最少要买多少刀", AnswerType::Amount),
            ("逾期会罚多少", AnswerType::Amount),
            ("在哪里申请保修", AnswerType::Place),
        ];
        for (q, t) in colloquial {
            assert_eq!(AnswerType::of(q), Some(t), "{q}");
        }
        assert_eq!(AnswerType::of("my card was declined"), None);
        assert!(AnswerType::Time.found_in("Closure completes within 30 days of your request."));
        assert!(AnswerType::Time.found_in("退回银行卡需要 5-7 个工作日。"));
        assert!(!AnswerType::Time.found_in("Select Close my account."));
        assert!(AnswerType::Amount.found_in("Express costs $12.99."));
        assert!(AnswerType::Place.found_in("Download it from Account > Orders > Invoice."));
        let p = passage(
            "close-account",
            "Select Close my account to close your account. Closure and data deletion complete within 30 days.",
        );
        let (text, _, _) = ExtractiveDrafter { max_sentences: 1, ..ExtractiveDrafter::default() }.compose(&request(
            "please close my account, how long does it take",
            vec![p],
            0.9,
            "en",
        ));
        assert!(text.contains("30 days"), "{text}");
    }

    #[test]
    fn upset_customers_are_acknowledged() {
        assert!(sounds_upset("This is RIDICULOUS, I have waited TWO WEEKS!!"));
        assert!(!sounds_upset("hi, where is my parcel?"));
    }
}
