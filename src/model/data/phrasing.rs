//! Customer phrasing for synthetic dialogues: key phrases, question frames, voices and typos, in
//! English and Chinese; and the sentence helpers the replies use.

use crate::desk::Tier;
use crate::knowledge::Chunk;
use crate::model::rng::Rng;
use std::collections::{HashMap, HashSet};
use unicode_segmentation::UnicodeSegmentation;

const STOP: [&str; 64] = [
    "the", "and", "for", "are", "you", "your", "with", "from", "that", "this", "have", "has", "can", "will", "not",
    "all", "any", "our", "its", "into", "when", "within", "after", "before", "they", "them", "their", "there", "then",
    "than", "was", "were", "been", "being", "also", "only", "each", "every", "per", "via", "who", "what", "which",
    "how", "unless", "until", "more", "most", "other", "such", "may", "might", "must", "should", "would", "could",
    "does", "did", "done", "just", "yes", "one", "get", "gets",
];

pub(super) fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

pub(super) fn sentences(text: &str) -> Vec<String> {
    text.split_sentence_bounds()
        .map(|s| s.trim().trim_start_matches(['-', '*', ' ']).trim().to_owned())
        .filter(|s| s.chars().count() >= 20 && !s.ends_with(':'))
        .collect()
}

pub(super) fn has_fact(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit()) || s.contains(" > ") || s.contains('$') || s.contains('%')
}

/// Ends a sentence with a stop.
pub(super) fn finish(s: &str, zh: bool) -> String {
    let t = s.trim().trim_end_matches([':', ';', ',', '；', '：', '，']);
    match t.chars().last() {
        Some(c) if c.is_alphanumeric() || c == ')' => format!("{t}{}", if zh { "。" } else { "." }),
        _ => t.to_owned(),
    }
}

/// Inverse document frequency of words over all sentences.
pub(super) struct Idf(HashMap<String, f32>, f32);

impl Idf {
    pub(super) fn new(chunks: &[Chunk]) -> Self {
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

    pub(super) fn get(&self, w: &str) -> f32 {
        ((self.1 + 1.0) / (self.0.get(w).copied().unwrap_or(0.0) + 1.0)).ln()
    }
}

/// The most informative run of 1-3 content words in a sentence ("restocking fee").
pub(super) fn key_phrase(sentence: &str, idf: &Idf) -> Option<String> {
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

pub(super) fn en_question(sentence: &str, heading: Option<&str>, title: &str, idf: &Idf, rng: &mut Rng) -> String {
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

pub(super) fn typo(word: &str, rng: &mut Rng) -> String {
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

pub(super) struct Styled {
    pub(super) text: String,
    pub(super) upset: bool,
}

/// Puts a bare question into a customer's voice. `member`: the members' tier name, if any.
pub(super) fn en_voice(question: &str, tier: Tier, member: Option<&str>, rng: &mut Rng) -> Styled {
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
        match member.filter(|_| tier == Tier::Plus) {
            Some(m) => format!("I'm a {m} member. "),
            None => "Hi, first time buying from you. ".into(),
        },
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

pub(super) fn zh_question(sentence: &str, heading: Option<&str>, title: &str, rng: &mut Rng) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
