//! Training data, built by the project: synthetic grounded dialogues from any knowledge base,
//! plus cleaned, de-duplicated and PII-scrubbed transcripts.
//!
//! Synthetic dialogues: for each passage, customer questions about its sentences in many
//! phrasings (casual, terse, typos, upset, multi-question, follow-ups that refer back; Chinese for
//! Chinese articles), each answered in an agent's voice: a greeting by name, the passage's own
//! sentences with their exact facts, and a next step. The prompt holds the passage that answers
//! and the best other passage retrieval finds for the question, so the model learns to choose.
//! Questions the knowledge base cannot answer teach abstention.

use super::prompt::{Profile, PromptInput, PromptPassage};
use super::rng::Rng;
use crate::desk::{Author, Tier};
use crate::eval::Case;
use crate::knowledge::Chunk;
use crate::retrieval::Retriever;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Grounded,
    MultiQuestion,
    FollowUp,
    Abstain,
    Transcript,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub input: PromptInput,
    pub reply: String,
    pub kind: Kind,
}

impl Example {
    /// Identity for de-duplication and the train/validation split.
    pub fn key(&self) -> String {
        let last = self.input.turns.last().map(|t| t.1.as_str()).unwrap_or("");
        format!("{}\u{1}{}", normalise(last).to_lowercase(), normalise(&self.reply).to_lowercase())
    }
}

/// What the transcripts contributed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TranscriptReport {
    pub path: String,
    pub sha256: String,
    pub cases: usize,
    pub kept: usize,
    pub duplicates: usize,
    pub no_reference: usize,
    pub scrubbed: usize,
}

// ---------------------------------------------------------------------------------------------
// Cleaning

static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\w.+-]+@[\w-]+(\.[\w-]+)+").expect("regex"));
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(?:\d[ -]?){13,19}\b").expect("regex"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?\b").expect("regex")
});

/// Collapses whitespace runs and removes control characters.
pub fn normalise(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces email addresses, card numbers and phone numbers with placeholders; returns the text
/// and whether anything was replaced. Order numbers (`HP-…`) are kept: replies refer to them.
pub fn scrub_pii(text: &str) -> (String, bool) {
    let a = EMAIL.replace_all(text, "[email]");
    let b = CARD.replace_all(&a, "[card number]");
    let c = PHONE.replace_all(&b, "[phone]");
    let changed = c != text;
    (c.into_owned(), changed)
}

// ---------------------------------------------------------------------------------------------
// Transcripts

/// The first `n` evidence passages of a search (none when it failed).
fn top_passages(result: anyhow::Result<crate::retrieval::SearchResult>, n: usize) -> Vec<PromptPassage> {
    match result {
        Ok(r) => r
            .passages
            .into_iter()
            .take(n)
            .map(|h| PromptPassage { slug: h.slug, title: h.title, text: h.text })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Turns evaluation-format cases (turns + reference reply) into examples, with passages from
/// `retriever`: cleaned, scrubbed and de-duplicated.
pub fn from_cases(cases: &[Case], retriever: &Retriever, report: &mut TranscriptReport) -> Vec<Example> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    report.cases += cases.len();
    for case in cases {
        let Some(reference) =
            case.reference.as_deref().map(normalise).filter(|r: &String| r.split_whitespace().count() >= 2)
        else {
            report.no_reference += 1;
            continue;
        };
        let mut scrubbed = false;
        let mut turns = Vec::new();
        for t in &case.turns {
            let (text, s) = scrub_pii(&normalise(&t.text));
            scrubbed |= s;
            if text.is_empty() {
                continue;
            }
            turns.push((if t.role == "agent" { Author::Agent } else { Author::Customer }, text));
        }
        let (reply, s) = scrub_pii(&reference);
        scrubbed |= s;
        if turns.is_empty() {
            report.no_reference += 1;
            continue;
        }
        let query = crate::desk::ports::RetrievalQuery { turns: turns.clone(), tags: Vec::new(), k: 4, language: None };
        let mut passages = top_passages(retriever.search(&query), 2);
        // Teach grounding: when retrieval missed the gold knowledge, the gold passage leads.
        if let Some(gold) = case.gold_passages.first()
            && !passages.iter().any(|p| case.gold_passages.iter().any(|g| p.text.contains(g.as_str())))
        {
            let slug = case.gold.first().cloned().unwrap_or_default();
            passages.insert(0, PromptPassage { title: slug.replace('-', " "), slug, text: gold.clone() });
            passages.truncate(2);
        }
        let example = Example {
            input: PromptInput { passages, profile: Profile::default(), turns },
            reply,
            kind: Kind::Transcript,
        };
        if !seen.insert(example.key()) {
            report.duplicates += 1;
            continue;
        }
        report.scrubbed += usize::from(scrubbed);
        report.kept += 1;
        out.push(example);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Synthesis

const EN_NAMES: [&str; 24] = [
    "Maya Chen",
    "Liam O'Brien",
    "Sofia Rossi",
    "Noah Williams",
    "Aisha Khan",
    "Lucas Martin",
    "Emma Johnson",
    "Mateo Garcia",
    "Olivia Brown",
    "Ethan Nguyen",
    "Zara Ahmed",
    "Jonas Becker",
    "Priya Patel",
    "Daniel Kim",
    "Chloe Dubois",
    "Samuel Okafor",
    "Hannah Schmidt",
    "Diego Fernandez",
    "Grace Lee",
    "Omar Haddad",
    "Ava Wilson",
    "Ivan Petrov",
    "Leila Rahimi",
    "Tom Baker",
];
const ZH_NAMES: [&str; 10] = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴婷"];

const STOP: [&str; 64] = [
    "the", "and", "for", "are", "you", "your", "with", "from", "that", "this", "have", "has", "can", "will", "not",
    "all", "any", "our", "its", "into", "when", "within", "after", "before", "they", "them", "their", "there", "then",
    "than", "was", "were", "been", "being", "also", "only", "each", "every", "per", "via", "who", "what", "which",
    "how", "unless", "until", "more", "most", "other", "such", "may", "might", "must", "should", "would", "could",
    "does", "did", "done", "just", "yes", "one", "get", "gets",
];

fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

fn sentences(text: &str) -> Vec<String> {
    text.split_sentence_bounds()
        .map(|s| s.trim().trim_start_matches(['-', '*', ' ']).trim().to_owned())
        .filter(|s| s.chars().count() >= 20 && !s.ends_with(':'))
        .collect()
}

fn has_fact(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit()) || s.contains(" > ") || s.contains('$') || s.contains('%')
}

/// Ends a sentence with a stop.
fn finish(s: &str, zh: bool) -> String {
    let t = s.trim().trim_end_matches([':', ';', ',', '；', '：', '，']);
    match t.chars().last() {
        Some(c) if c.is_alphanumeric() || c == ')' => format!("{t}{}", if zh { "。" } else { "." }),
        _ => t.to_owned(),
    }
}

/// Inverse document frequency of words over all sentences.
struct Idf(HashMap<String, f32>, f32);

impl Idf {
    fn new(chunks: &[Chunk]) -> Self {
        let mut df: HashMap<String, f32> = HashMap::new();
        let mut n = 0.0;
        for c in chunks {
            for s in sentences(&c.text) {
                n += 1.0;
                let ws: HashSet<String> = s.unicode_words().map(str::to_lowercase).collect();
                for w in ws {
                    *df.entry(w).or_default() += 1.0;
                }
            }
        }
        Self(df, n)
    }

    fn get(&self, w: &str) -> f32 {
        ((self.1 + 1.0) / (self.0.get(w).copied().unwrap_or(0.0) + 1.0)).ln()
    }
}

/// The most informative run of 1-3 content words in a sentence ("restocking fee").
fn key_phrase(sentence: &str, idf: &Idf) -> Option<String> {
    let words: Vec<String> = sentence.unicode_words().map(str::to_lowercase).collect();
    let mut best: Option<(f32, String)> = None;
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, best: &mut Option<(f32, String)>| {
        for len in 1..=run.len().min(3) {
            for w in run.windows(len) {
                // Topics are nouns more often than participles and adverbs.
                let weight = |x: &str| if x.ends_with("ed") || x.ends_with("ly") { 0.4 } else { 1.0 };
                let score = w.iter().map(|x| idf.get(x) * weight(x)).sum::<f32>() / (len as f32).sqrt();
                if best.as_ref().is_none_or(|b| score > b.0) {
                    *best = Some((score, w.join(" ")));
                }
            }
        }
        run.clear();
    };
    for w in &words {
        let content = w.chars().count() >= 3 && w.chars().all(char::is_alphabetic) && !is_stop(w);
        if content {
            run.push(w);
        } else {
            flush(&mut run, &mut best);
        }
    }
    flush(&mut run, &mut best);
    best.map(|b| b.1)
}

const DURATION: [&str; 10] = ["day", "days", "hour", "hours", "week", "weeks", "month", "months", "minutes", "year"];

fn en_question(sentence: &str, heading: Option<&str>, title: &str, idf: &Idf, rng: &mut Rng) -> String {
    let kp = key_phrase(sentence, idf).unwrap_or_else(|| title.to_lowercase());
    let lower = sentence.to_lowercase();
    let words: Vec<&str> = lower.unicode_words().collect();
    let duration = words.iter().any(|w| DURATION.contains(w)) && sentence.chars().any(|c| c.is_ascii_digit());
    let money = sentence.contains('$') || sentence.contains('%') || lower.contains(" fee") || lower.contains("cost");
    let menu = sentence.contains(" > ");
    let topic = title.to_lowercase();
    let mut frames: Vec<String> = vec![
        format!("what about {kp}?"),
        format!("can you explain {kp}?"),
        format!("how does {kp} work?"),
        format!("{kp}?"),
        format!("tell me about {kp}"),
        format!("I have a question about {kp}"),
        format!("what's the rule on {kp}?"),
        format!("question about {topic}: {kp}?"),
        format!("do you know anything about {kp} for {topic}?"),
        format!("I need help with {topic}, specifically {kp}"),
    ];
    if duration {
        frames.extend([
            format!("how long does {kp} take?"),
            format!("how many days for {kp}?"),
            format!("how long do I have for {kp}?"),
            format!("{kp} - how long?"),
            format!("when does {kp} happen?"),
        ]);
    }
    if money {
        frames.extend([
            format!("how much is {kp}?"),
            format!("is there a fee for {kp}?"),
            format!("what does {kp} cost?"),
            format!("do I have to pay for {kp}?"),
        ]);
    }
    if menu {
        frames.extend([
            format!("where do I find {kp}?"),
            format!("where is {kp} in my account?"),
            format!("how do I get to {kp} on the website?"),
        ]);
    }
    if let Some(h) =
        heading.filter(|h| !h.to_lowercase().contains("exception") && !h.to_lowercase().contains("related"))
    {
        let hl = h.to_lowercase();
        if let Some(rest) = hl.strip_prefix("how to ") {
            frames.push(format!("how do I {rest}?"));
            frames.push(format!("how can I {rest}"));
        } else if hl.ends_with('?') {
            frames.push(hl.clone());
        } else {
            frames.push(format!("{hl}?"));
            frames.push(format!("info on {hl} please"));
        }
    }
    rng.pick(&frames).clone()
}

fn typo(word: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 5 || !chars.iter().all(|c| c.is_alphabetic()) {
        return word.to_owned();
    }
    let i = 1 + rng.below(chars.len() - 3);
    let mut c = chars;
    match rng.below(3) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        _ => c.insert(i, c[i]),
    }
    c.into_iter().collect()
}

struct Styled {
    text: String,
    upset: bool,
}

/// Puts a bare question into a customer's voice.
fn en_voice(question: &str, tier: Tier, rng: &mut Rng) -> Styled {
    let order = format!("HP-{}", 100_000 + rng.below(899_999));
    let prefixes: Vec<String> = vec![
        String::new(),
        String::new(),
        "hi, ".into(),
        "Hello! ".into(),
        "hey ".into(),
        "Hi there. ".into(),
        "Good morning, ".into(),
        "quick question: ".into(),
        "Sorry to bother you, ".into(),
        "ok so ".into(),
        format!("I ordered something last week (order {order}). "),
        format!("About my order {order}: "),
        "I bought a lamp from you recently. ".into(),
        if tier == Tier::Plus { "I'm a Harbor+ member. ".into() } else { "Hi, first time buying from you. ".into() },
    ];
    let suffixes = ["", "", "", " thanks", " thx", " please", " ??", "!", " Thank you.", " asap"];
    let upset = rng.chance(0.1);
    let mut q = question.to_owned();
    if rng.chance(0.2) {
        q = q.trim_end_matches('?').to_owned();
    }
    let mut text = if upset {
        let angry = [
            "This is ridiculous!! ",
            "I've been waiting forever and nobody answers! ",
            "Really not happy right now. ",
            "Third time asking!!! ",
        ];
        format!("{}{}", rng.pick(&angry), q)
    } else {
        format!("{}{}{}", rng.pick(&prefixes), q, rng.pick(&suffixes))
    };
    if rng.chance(0.4) {
        text = text.to_lowercase();
    }
    if rng.chance(0.3) {
        let words: Vec<String> = text.split(' ').map(str::to_owned).collect();
        let k = rng.below(words.len().max(1));
        text = words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == k { typo(w, rng) } else { w.clone() })
            .collect::<Vec<_>>()
            .join(" ");
    }
    if rng.chance(0.15) {
        text = text.replace(" you ", " u ").replace(" your ", " ur ").replace("please", "pls");
    }
    // Capitalise the first letter half of the time (customers do both).
    if rng.chance(0.5) {
        let mut c = text.chars();
        if let Some(f) = c.next() {
            text = f.to_uppercase().collect::<String>() + c.as_str();
        }
    }
    Styled { text, upset }
}

fn zh_question(sentence: &str, heading: Option<&str>, title: &str, rng: &mut Rng) -> String {
    let kp = heading.filter(|h| !h.contains("例外") && !h.contains("相关")).unwrap_or(title);
    let mut frames = vec![
        format!("请问{kp}？"),
        format!("{kp}怎么办？"),
        format!("我想问一下{kp}"),
        format!("关于{kp}，能说明一下吗？"),
        format!("你好，{kp}是怎样的？"),
        format!("{title}，{kp}？"),
    ];
    if sentence.contains('天') || sentence.contains("小时") || sentence.contains('周') {
        frames.push(format!("{kp}需要多久？"));
        frames.push(format!("{title}要几天？"));
    }
    if sentence.contains('元') || sentence.contains('%') || sentence.contains("费") {
        frames.push(format!("{kp}要多少钱？"));
        frames.push(format!("{title}收费吗？"));
    }
    let prefixes = ["", "", "你好，", "您好，", "请问一下，", "麻烦问下，"];
    let q = rng.pick(&frames).clone();
    if q.starts_with("你好") { q } else { format!("{}{}", rng.pick(&prefixes), q) }
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or("")
}

fn greeting(name: &str, zh: bool, follow_up: bool, rng: &mut Rng) -> String {
    if zh {
        return if follow_up { "好的，".into() } else { format!("{name}您好！") };
    }
    let f = first_name(name);
    if follow_up {
        return rng.pick(&["Sure!", "Of course.", "Good question.", "Sure thing,"]).to_string();
    }
    if f.is_empty() {
        return rng.pick(&["Hi there,", "Hello,", "Hi, thanks for reaching out."]).to_string();
    }
    let options = [
        format!("Hi {f},"),
        format!("Hello {f},"),
        format!("Hi {f}, thanks for reaching out."),
        format!("Thanks for getting in touch, {f}."),
    ];
    rng.pick(&options).clone()
}

fn closing(title: &str, zh: bool, rng: &mut Rng) -> String {
    if zh {
        return rng.pick(&["还有什么可以帮您的吗？", "如有其他问题，欢迎随时联系我们。"]).to_string();
    }
    let options = [
        "Is there anything else I can help you with?".to_owned(),
        "Let me know if you have any other questions.".to_owned(),
        "Happy to help with anything else!".to_owned(),
        "If you need anything else, just reply here.".to_owned(),
        format!("You can find more details in our \"{title}\" article."),
    ];
    rng.pick(&options).clone()
}

const EMPATHY_EN: &str = "I'm really sorry about the trouble, and I'll help you sort this out now.";
const EMPATHY_ZH: &str = "非常抱歉给您带来不便，我们来尽快解决。";

/// Abstention replies: what an honest agent says when the knowledge base has no answer.
pub const ABSTAIN_EN: &str = "I want to make sure I give you the right answer, and I don't have that information in front of me. Could you tell me a bit more about what you need? I can also check with the team and get back to you.";
pub const ABSTAIN_ZH: &str =
    "为了给您准确的答复，我需要再确认一下。能否再详细说明一下您的问题？我也可以和团队核实后回复您。";

const OFF_TOPIC: [&str; 28] = [
    "do you sell car tyres?",
    "can I pay with bitcoin?",
    "what's the wifi password in your store?",
    "can you recommend a good restaurant nearby?",
    "do you ship to Antarctica?",
    "who is your CEO?",
    "can I bring my dog to the warehouse?",
    "what is the meaning of life",
    "do you have a job opening for a designer?",
    "can you fix my laptop's screen?",
    "will you sponsor our football club?",
    "is your company on the stock market?",
    "can you translate this letter to French?",
    "what time is the match tonight?",
    "do you price match with other shops on groceries?",
    "can I rent furniture by the hour?",
    "my neighbour's cat keeps coming over, what do I do",
    "do you sell concert tickets?",
    "what's the weather going to be tomorrow?",
    "can you book me a taxi?",
    "do you offer cooking classes?",
    "can I get a mortgage through you?",
    "how do I file my taxes?",
    "is there a discount for astronauts?",
    "can you delete my neighbour's account?",
    "what's your opinion on the election?",
    "can I order a custom-built boat?",
    "do you buy used cars?",
];
const OFF_TOPIC_ZH: [&str; 8] = [
    "你们卖汽车轮胎吗？",
    "可以用比特币付款吗？",
    "附近有什么好吃的餐厅？",
    "你们招聘设计师吗？",
    "明天天气怎么样？",
    "能帮我订一辆出租车吗？",
    "你们提供烹饪课程吗？",
    "可以帮我报税吗？",
];

struct Persona {
    name: String,
    tier: Tier,
    zh: bool,
}

impl Persona {
    fn random(zh: bool, rng: &mut Rng) -> Self {
        // Some conversations come without a known name (web chat, command line).
        let name = if rng.chance(0.15) {
            String::new()
        } else if zh {
            rng.pick(&ZH_NAMES).to_string()
        } else {
            rng.pick(&EN_NAMES).to_string()
        };
        let tier = match rng.below(10) {
            0..=5 => Tier::Standard,
            6..=8 => Tier::Plus,
            _ => Tier::Business,
        };
        Self { name, tier, zh }
    }

    fn profile(&self) -> Profile {
        Profile {
            name: self.name.clone(),
            tier: Some(self.tier),
            language: if self.zh { "zh".into() } else { "en".into() },
        }
    }
}

fn to_prompt(c: &Chunk) -> PromptPassage {
    PromptPassage { slug: c.slug.clone(), title: c.title.clone(), text: c.text.clone() }
}

/// Synthesises dialogues from a knowledge base's passages.
pub struct Synthesizer<'a> {
    chunks: Vec<&'a Chunk>,
    retriever: &'a Retriever,
    idf: Idf,
}

/// One answerable question about a passage.
struct Qa {
    question: String,
    answer: Vec<String>,
    chunk: usize,
    upset: bool,
}

impl<'a> Synthesizer<'a> {
    pub fn new(chunks: &'a [Chunk], retriever: &'a Retriever) -> Self {
        let chunks: Vec<&Chunk> = chunks.iter().filter(|c| !sentences(&c.text).is_empty()).collect();
        let all: Vec<Chunk> = chunks.iter().map(|c| (*c).clone()).collect();
        Self { idf: Idf::new(&all), chunks, retriever }
    }

    pub fn passages(&self) -> usize {
        self.chunks.len()
    }

    fn qa(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Qa {
        let c = self.chunks[ci];
        let sents = sentences(&c.text);
        let weights: Vec<usize> = sents.iter().map(|s| if has_fact(s) { 3 } else { 1 }).collect();
        let total: usize = weights.iter().sum();
        let mut r = rng.below(total);
        let mut si = 0;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                si = i;
                break;
            }
            r -= w;
        }
        let target = &sents[si];
        let heading = c.section.last().map(String::as_str);
        let (question, upset) = if persona.zh {
            (zh_question(target, heading, &c.title, rng), false)
        } else {
            let q = en_question(target, heading, &c.title, &self.idf, rng);
            let s = en_voice(&q, persona.tier, rng);
            (s.text, s.upset)
        };
        let mut answer = vec![finish(target, persona.zh)];
        if si + 1 < sents.len() && rng.chance(0.35) {
            answer.push(finish(&sents[si + 1], persona.zh));
        }
        // Members hear their own rule.
        if persona.tier == Tier::Plus
            && let Some(plus) =
                sents.iter().find(|s| s.contains("Harbor+") && !answer.iter().any(|a| a.starts_with(s.as_str())))
            && rng.chance(0.6)
        {
            answer.push(finish(plus, persona.zh));
        }
        Qa { question, answer, chunk: ci, upset }
    }

    /// The best passage retrieval finds for `question` other than the answering one.
    fn distractor(&self, question: &str, gold: &Chunk) -> Option<PromptPassage> {
        let r = self.retriever.search_text(question, 4).ok()?;
        r.passages.into_iter().find(|h| h.text != gold.text).map(|h| PromptPassage {
            slug: h.slug,
            title: h.title,
            text: h.text,
        })
    }

    fn reply(
        &self,
        persona: &Persona,
        body: &[String],
        title: &str,
        upset: bool,
        follow_up: bool,
        rng: &mut Rng,
    ) -> String {
        let zh = persona.zh;
        let greet = greeting(&persona.name, zh, follow_up, rng);
        let empathy = match (upset, zh) {
            (true, true) => EMPATHY_ZH,
            (true, false) => EMPATHY_EN,
            _ => "",
        };
        let close = closing(title, zh, rng);
        if zh {
            return format!("{greet}{empathy}{}{close}", body.concat());
        }
        let body = body.join(" ");
        let lead = if empathy.is_empty() { body } else { format!("{empathy} {body}") };
        if follow_up { format!("{greet} {lead}\n\n{close}") } else { format!("{greet}\n\n{lead}\n\n{close}") }
    }

    /// `per_passage` examples for every passage, plus multi-question, follow-up and abstention
    /// cases in fixed proportions.
    pub fn generate(&self, per_passage: usize, rng: &mut Rng) -> Vec<Example> {
        let mut out = Vec::new();
        if self.chunks.is_empty() {
            return out;
        }
        for ci in 0..self.chunks.len() {
            let zh = self.chunks[ci].lang.starts_with("zh");
            for _ in 0..per_passage {
                let persona = Persona::random(zh, rng);
                let roll = rng.f32();
                if roll < 0.12 {
                    out.push(self.multi(ci, &persona, rng));
                } else if roll < 0.3 {
                    out.push(self.follow_up(ci, &persona, rng));
                } else {
                    out.push(self.single(ci, &persona, rng));
                }
            }
        }
        let abstentions = (out.len() / 14).max(4);
        for _ in 0..abstentions {
            let zh = rng.chance(0.15);
            out.push(self.abstain(&Persona::random(zh, rng), rng));
        }
        out
    }

    fn passages_for(&self, gold: &Chunk, question: &str, rng: &mut Rng) -> Vec<PromptPassage> {
        let mut passages = vec![to_prompt(gold)];
        if let Some(d) = self.distractor(question, gold) {
            passages.push(d);
            if rng.chance(0.2) {
                passages.swap(0, 1);
            }
        }
        passages
    }

    fn single(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Example {
        let qa = self.qa(ci, persona, rng);
        let gold = self.chunks[ci];
        let passages = self.passages_for(gold, &qa.question, rng);
        let reply = self.reply(persona, &qa.answer, &gold.title, qa.upset, false, rng);
        Example {
            input: PromptInput { passages, profile: persona.profile(), turns: vec![(Author::Customer, qa.question)] },
            reply,
            kind: Kind::Grounded,
        }
    }

    fn multi(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Example {
        let a = self.qa(ci, persona, rng);
        let same_lang: Vec<usize> =
            (0..self.chunks.len()).filter(|&j| j != ci && self.chunks[j].lang == self.chunks[ci].lang).collect();
        if same_lang.is_empty() {
            return self.single(ci, persona, rng);
        }
        let cj = *rng.pick(&same_lang);
        let mut b = self.qa(cj, persona, rng);
        // The second question is asked plainly (no second greeting).
        if !persona.zh {
            let q = en_question(
                &b.answer[0],
                self.chunks[cj].section.last().map(String::as_str),
                &self.chunks[cj].title,
                &self.idf,
                rng,
            );
            b.question = q;
        }
        let joiner = if persona.zh { "另外，" } else { *rng.pick(&[" Also, ", " And ", " Oh and ", ". Also "]) };
        let question = format!("{}{}{}", a.question.trim_end(), joiner, b.question);
        let passages = vec![to_prompt(self.chunks[a.chunk]), to_prompt(self.chunks[b.chunk])];
        let mut body = a.answer.clone();
        body.truncate(1);
        body.push(b.answer[0].clone());
        let reply = self.reply(persona, &body, &self.chunks[ci].title, a.upset, false, rng);
        Example {
            input: PromptInput { passages, profile: persona.profile(), turns: vec![(Author::Customer, question)] },
            reply,
            kind: Kind::MultiQuestion,
        }
    }

    fn follow_up(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Example {
        let first = self.qa(ci, persona, rng);
        let gold = self.chunks[ci];
        let first_reply = self.reply(persona, &first.answer, &gold.title, first.upset, false, rng);
        let sents = sentences(&gold.text);
        // A second sentence of the same passage, asked about with a reference back.
        let others: Vec<&String> = sents.iter().filter(|s| !first.answer[0].starts_with(s.as_str())).collect();
        let Some(second) = (if others.is_empty() { None } else { Some(rng.pick(&others).to_string()) }) else {
            return self.single(ci, persona, rng);
        };
        let question = if persona.zh {
            let kp = gold.section.last().map(String::as_str).unwrap_or(&gold.title);
            format!("{}那{kp}呢？", rng.pick(&["", "好的，", "明白了，"]))
        } else {
            let kp = key_phrase(&second, &self.idf).unwrap_or_else(|| "that".into());
            let opts = [
                format!("and what about {kp}?"),
                format!("ok thanks. and {kp}?"),
                format!("got it. what about {kp} then?"),
                format!("Thanks! Does that also cover {kp}?"),
                format!("and how does that work for {kp}?"),
            ];
            rng.pick(&opts).clone()
        };
        let passages = self.passages_for(gold, &format!("{} {question}", first.question), rng);
        let reply = self.reply(persona, &[finish(&second, persona.zh)], &gold.title, false, true, rng);
        Example {
            input: PromptInput {
                passages,
                profile: persona.profile(),
                turns: vec![
                    (Author::Customer, first.question),
                    (Author::Agent, first_reply),
                    (Author::Customer, question),
                ],
            },
            reply,
            kind: Kind::FollowUp,
        }
    }

    fn abstain(&self, persona: &Persona, rng: &mut Rng) -> Example {
        let question = if persona.zh {
            rng.pick(&OFF_TOPIC_ZH).to_string()
        } else {
            {
                let q: &str = OFF_TOPIC[rng.below(OFF_TOPIC.len())];
                en_voice(q, persona.tier, rng).text
            }
        };
        let passages = top_passages(self.retriever.search_text(&question, 2), 2);
        let greet = greeting(&persona.name, persona.zh, false, rng);
        let reply = if persona.zh { format!("{greet}{ABSTAIN_ZH}") } else { format!("{greet} {ABSTAIN_EN}") };
        Example {
            input: PromptInput { passages, profile: persona.profile(), turns: vec![(Author::Customer, question)] },
            reply,
            kind: Kind::Abstain,
        }
    }
}

/// Splits examples into training and validation sets by a hash of their key (stable across
/// runs and independent of order), about `val_fraction` held out.
pub fn split(examples: Vec<Example>, val_fraction: f32) -> (Vec<Example>, Vec<Example>) {
    use sha2::{Digest, Sha256};
    let mut train = Vec::new();
    let mut val = Vec::new();
    let cut = (val_fraction.clamp(0.0, 1.0) * 65536.0) as u32;
    for e in examples {
        let h = Sha256::digest(e.key().as_bytes());
        let v = u32::from(h[0]) << 8 | u32::from(h[1]);
        if v < cut { val.push(e) } else { train.push(e) }
    }
    // A small KB still gets a validation set.
    if val.is_empty() && cut > 0 && train.len() >= 20 {
        let n = (train.len() / 20).max(1);
        val = train.split_off(train.len() - n);
    }
    (train, val)
}

/// Counts per kind, for the manifest.
pub fn counts(examples: &[Example]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for e in examples {
        let k = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        *m.entry(k).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_emails_cards_and_phones_but_keeps_order_numbers() {
        let (t, changed) = scrub_pii(
            "mail me at jo.doe+x@example.co.uk or call +1 415-555-0100, card 4111 1111 1111 1111, order HP-204518",
        );
        assert!(changed);
        assert!(t.contains("[email]") && t.contains("[phone]") && t.contains("[card number]"), "{t}");
        assert!(t.contains("HP-204518"), "{t}");
        assert!(!scrub_pii("returns within 30 days").1);
    }

    #[test]
    fn key_phrase_prefers_rare_content_words() {
        let chunk = Chunk {
            id: "a#0".into(),
            slug: "a".into(),
            title: "A".into(),
            section: vec![],
            text: "Opened electronics carry a 15% restocking fee unless defective. Returns are easy. Returns are free."
                .into(),
            range: 0..1,
            lang: "en".into(),
            category: String::new(),
            tags: vec![],
            audience: crate::knowledge::Audience::Public,
        };
        let idf = Idf::new(&[chunk]);
        let kp = key_phrase("Opened electronics carry a 15% restocking fee unless defective.", &idf).expect("a phrase");
        assert!(!kp.contains("unless") && !kp.is_empty(), "{kp}");
    }

    #[test]
    fn normalise_collapses_space_and_controls() {
        assert_eq!(normalise(" a\t\u{1b}[31m b \n\n c "), "a [31m b c");
    }
}
