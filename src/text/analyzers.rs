//! Every analyzer is built here and registered on every index open (tantivy does not persist
//! custom tokenizers), and queries are analyzed with the same code.

use tantivy::Index;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, Token, TokenStream,
    Tokenizer,
};

/// English: split on non-alphanumerics, lower-case, drop stop words, Snowball stem.
pub const EN: &str = "dp_en";
/// Chinese: jieba (search mode), punctuation and particles dropped, lower-cased.
pub const ZH: &str = "dp_zh";
/// Identifiers (order numbers, model numbers): whole, lower-cased, exact.
pub const KEY: &str = "dp_key";
/// CJK character unigrams and bigrams (other words whole): the fallback for segmentation misses.
pub const GRAM: &str = "dp_gram";
/// English word pairs (stemmed, stop words dropped): rewards passages that share phrases.
pub const PAIR: &str = "dp_pair";

pub fn register(index: &Index) {
    let m = index.tokenizers();
    m.register(EN, english());
    m.register(ZH, chinese());
    m.register(KEY, TextAnalyzer::from(IdentifierTokenizer));
    m.register(GRAM, cjk_grams());
    m.register(PAIR, word_pairs());
}

pub fn word_pairs() -> TextAnalyzer {
    // Unstemmed: stemming is the costliest step of English analysis, and exact word pairs are
    // what this field is for.
    let stop = StopWordFilter::remove(EN_STOP.iter().map(|w| (*w).to_owned()));
    let inner = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(stop)
        .build();
    TextAnalyzer::from(PairTokenizer { inner })
}

/// Consecutive pairs of English terms, joined with `_`.
#[derive(Clone)]
pub struct PairTokenizer {
    inner: TextAnalyzer,
}

impl Tokenizer for PairTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let terms = analyze(&mut self.inner, text);
        let tokens = terms
            .windows(2)
            .enumerate()
            .map(|(i, w)| Token {
                offset_from: w[0].1.start,
                offset_to: w[1].1.end,
                position: i,
                text: format!("{}_{}", w[0].0, w[1].0),
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

/// The query-side analyzers, cloned per query (analysis needs `&mut`).
#[derive(Clone)]
pub struct Analyzers {
    pub en: TextAnalyzer,
    pub zh: TextAnalyzer,
    pub grams: TextAnalyzer,
    pub keys: TextAnalyzer,
    pub pairs: TextAnalyzer,
}

impl Default for Analyzers {
    fn default() -> Self {
        Self {
            en: english(),
            zh: chinese(),
            grams: cjk_grams(),
            keys: TextAnalyzer::from(IdentifierTokenizer),
            pairs: word_pairs(),
        }
    }
}

pub fn cjk_grams() -> TextAnalyzer {
    TextAnalyzer::from(CjkGramTokenizer)
}

/// English function words: Lucene's list plus the pronouns, auxiliaries and question words that
/// fill customer messages ("how do I", "can you", "my order") and carry no topic.
pub const EN_STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "im",
    "ive",
    "dont",
    "doesnt",
    "didnt",
    "cant",
    "wont",
    "don",
    "doesn",
    "didn",
    "isn",
    "aren",
    "wasn",
    "haven",
    "hasn",
    "couldn",
    "wouldn",
    "shouldn",
    "won",
    "s",
    "t",
    "ll",
    "ve",
    "re",
    "m",
    "d",
];

pub fn english() -> TextAnalyzer {
    let stop = StopWordFilter::remove(EN_STOP.iter().map(|w| (*w).to_owned()));
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(stop)
        .filter(Stemmer::new(Language::English))
        .build()
}

pub fn chinese() -> TextAnalyzer {
    TextAnalyzer::from(ChineseTokenizer { inner: tantivy_jieba::JiebaTokenizer::new() })
}

/// Analyzes `text` with `analyzer`, returning (term, byte range) pairs.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = stream.token();
        out.push((t.text.clone(), t.offset_from..t.offset_to));
    }
    out
}

/// True when the text has characters of a script written without spaces.
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF))
}

/// A token stream over tokens computed up front.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// Function words of Chinese customer messages that carry no topic.
const ZH_STOP: &[&str] = &[
    "的", "了", "吗", "呢", "吧", "啊", "我", "你", "您", "是", "在", "有", "和", "就", "都", "也", "要", "会", "能",
    "被", "可以", "怎么", "什么", "请问", "你好", "您好", "谢谢", "一下", "这个", "那个", "我们", "我的",
];

#[derive(Clone)]
struct ChineseTokenizer {
    inner: tantivy_jieba::JiebaTokenizer,
}

impl Tokenizer for ChineseTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut inner = self.inner.token_stream(text);
        while inner.advance() {
            let t = inner.token();
            if !t.text.chars().any(char::is_alphanumeric) || t.text.len() > 60 {
                continue;
            }
            let lower = t.text.to_lowercase();
            if ZH_STOP.contains(&lower.as_str()) {
                continue;
            }
            let mut t = t.clone();
            t.text = lower;
            t.position = tokens.len();
            tokens.push(t);
        }
        VecTokenStream { tokens, next: 0 }
    }
}

/// CJK runs become character unigrams and bigrams; other alphanumeric runs become lower-cased words.
#[derive(Clone, Copy, Debug, Default)]
pub struct CjkGramTokenizer;

fn is_cjk_char(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

impl Tokenizer for CjkGramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let end_of = |i: usize| chars.get(i + 1).map_or(text.len(), |(o, _)| *o);
        let mut i = 0;
        while i < chars.len() {
            let (start, c) = chars[i];
            if is_cjk_char(c) {
                let single = ZH_STOP.contains(&&text[start..end_of(i)]);
                if !single {
                    tokens.push(Token {
                        offset_from: start,
                        offset_to: end_of(i),
                        position: tokens.len(),
                        text: c.to_string(),
                        position_length: 1,
                    });
                }
                if let Some(&(_, d)) = chars.get(i + 1).filter(|(_, d)| is_cjk_char(*d)) {
                    let to = end_of(i + 1);
                    tokens.push(Token {
                        offset_from: start,
                        offset_to: to,
                        position: tokens.len(),
                        text: format!("{c}{d}"),
                        position_length: 1,
                    });
                }
                i += 1;
            } else if c.is_alphanumeric() {
                let mut j = i;
                while j < chars.len() && chars[j].1.is_alphanumeric() && !is_cjk_char(chars[j].1) {
                    j += 1;
                }
                let to = end_of(j - 1);
                tokens.push(Token {
                    offset_from: start,
                    offset_to: to,
                    position: tokens.len(),
                    text: text[start..to].to_lowercase(),
                    position_length: 1,
                });
                i = j;
            } else {
                i += 1;
            }
        }
        VecTokenStream { tokens, next: 0 }
    }
}

/// Emits identifier-like words: containing a digit and at least 3 characters, or letters and
/// digits joined by `-`/`_` (`AH-200`, `HP10234`, `#10234` gives `10234`). Each is emitted whole and,
/// when it has separators, also without them, so `AH-200` matches `ah200`.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdentifierTokenizer;

/// The identifiers in `text`, lower-cased, with byte ranges.
pub fn identifiers(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric()
                || ((bytes[i] == b'-' || bytes[i] == b'_')
                    && i + 1 < bytes.len()
                    && bytes[i + 1].is_ascii_alphanumeric()))
        {
            i += 1;
        }
        let word = &text[start..i];
        let digits = word.bytes().filter(u8::is_ascii_digit).count();
        let letters = word.bytes().filter(u8::is_ascii_alphabetic).count();
        let is_id = digits > 0 && (word.len() >= 4 || (letters > 0 && word.len() >= 3)) && !word.contains('.');
        if is_id {
            out.push((word.to_ascii_lowercase(), start..i));
        }
    }
    out
}

impl Tokenizer for IdentifierTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        for (word, range) in identifiers(text) {
            let compact: String = word.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            let mut variants = vec![word];
            if compact != variants[0] {
                variants.push(compact);
            }
            for v in variants {
                let position = tokens.len();
                tokens.push(Token {
                    offset_from: range.start,
                    offset_to: range.end,
                    position,
                    text: v,
                    position_length: 1,
                });
            }
        }
        VecTokenStream { tokens, next: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_stems_and_drops_stop_words() {
        let terms: Vec<String> =
            analyze(&mut english(), "The refunds are shipping to my card").into_iter().map(|t| t.0).collect();
        assert_eq!(terms, ["refund", "ship", "card"]);
    }

    #[test]
    fn chinese_is_segmented() {
        let terms: Vec<String> = analyze(&mut chinese(), "我的退款什么时候到账？").into_iter().map(|t| t.0).collect();
        assert!(terms.contains(&"退款".to_owned()), "{terms:?}");
        assert!(!terms.iter().any(|t| t == "的" || t == "？"), "{terms:?}");
    }

    #[test]
    fn identifiers_are_kept_whole() {
        let ids: Vec<String> = identifiers("Is my AH-200 heater (order #HP-10234, 3 items, $4.99) recalled?")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(ids, ["ah-200", "hp-10234"]);
        let mut key = TextAnalyzer::from(IdentifierTokenizer);
        let terms: Vec<String> = analyze(&mut key, "model AH-200").into_iter().map(|t| t.0).collect();
        assert_eq!(terms, ["ah-200", "ah200"]);
    }
}
