//! The project's byte-level BPE tokenizer (the `tokenizers` crate, trained here, offline).
//!
//! Byte-level means every string has an encoding: any language, emoji, stray control bytes.
//! The special tokens mark the parts of a prompt; they are never produced by encoding user text
//! (their spelling cannot survive [`Tokenizer::encode`], which escapes `<|`).

use anyhow::{Context, Result, anyhow};
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, TokenizerBuilder};

/// Special tokens, in id order (ids 0..).
pub const SPECIALS: [&str; 9] =
    ["<|pad|>", "<|kb|>", "<|profile|>", "<|customer|>", "<|agent|>", "<|reply|>", "<|end|>", "<|sep|>", "<|note|>"];
pub const PAD: u32 = 0;
pub const KB: u32 = 1;
pub const PROFILE: u32 = 2;
pub const CUSTOMER: u32 = 3;
pub const AGENT: u32 = 4;
pub const REPLY: u32 = 5;
pub const END: u32 = 6;
pub const SEP: u32 = 7;

type Inner = tokenizers::Tokenizer;

#[derive(Clone)]
pub struct Tokenizer {
    inner: Inner,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab {})", self.vocab_size())
    }
}

/// User text must not spell a special token.
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("<|") {
        std::borrow::Cow::Owned(text.replace("<|", "< |"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

impl Tokenizer {
    /// Trains a byte-level BPE of `vocab_size` tokens (specials included) on `texts`.
    pub fn train<I, S>(texts: I, vocab_size: usize) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let specials: Vec<AddedToken> = SPECIALS.iter().map(|s| AddedToken::from((*s).to_owned(), true)).collect();
        let mut trainer = BpeTrainerBuilder::new()
            .show_progress(false)
            .vocab_size(vocab_size)
            .min_frequency(2)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .special_tokens(specials)
            .max_token_length(Some(16))
            .build();
        let mut tk = TokenizerBuilder::new()
            .with_model(BPE::default())
            .with_normalizer(None::<tokenizers::NormalizerWrapper>)
            .with_pre_tokenizer(Some(ByteLevel::new(false, true, true)))
            .with_post_processor(None::<tokenizers::PostProcessorWrapper>)
            .with_decoder(Some(ByteLevelDecoder::default()))
            .build()
            .map_err(|e| anyhow!("tokenizer: {e}"))?;
        tk.train(&mut trainer, texts.map(|t| escape(t.as_ref()).into_owned()))
            .map_err(|e| anyhow!("tokenizer training: {e}"))?;
        let inner: Inner = tk.into();
        let me = Self { inner };
        me.check()?;
        Ok(me)
    }

    fn check(&self) -> Result<()> {
        for (i, s) in SPECIALS.iter().enumerate() {
            let id = self.inner.token_to_id(s).ok_or_else(|| anyhow!("tokenizer has no special token {s}"))?;
            if id as usize != i {
                return Err(anyhow!("tokenizer: special token {s} has id {id}, expected {i}"));
            }
        }
        Ok(())
    }

    pub fn from_json(json: &str) -> Result<Self> {
        let inner: Inner = json.parse().map_err(|e| anyhow!("tokenizer.json: {e}"))?;
        let me = Self { inner };
        me.check()?;
        Ok(me)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let json = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::from_json(&json).with_context(|| format!("{}: not a Deskpilot tokenizer", path.display()))
    }

    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(false).map_err(|e| anyhow!("tokenizer: {e}"))
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of plain text (no special tokens can come out of it).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        if text.is_empty() {
            return Vec::new();
        }
        match self.inner.encode(escape(text).as_ref(), false) {
            Ok(enc) => enc.get_ids().to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// Text of token ids; special tokens are dropped; invalid UTF-8 shows as U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let plain: Vec<u32> = ids.iter().copied().filter(|&i| i as usize >= SPECIALS.len()).collect();
        self.inner.decode(&plain, true).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        let mut v = Vec::new();
        for i in 0..50 {
            v.push(format!(
                "Returns are accepted within {i} days of delivery. 退货须在收货后30天内申请。 Order HP-{i}00 🚚"
            ));
        }
        v
    }

    #[test]
    fn round_trips_chinese_emoji_and_specials_text() {
        let tk = Tokenizer::train(corpus().into_iter(), 400).expect("train");
        for text in
            ["Returns within 30 days 🚚", "退货须在收货后30天内申请", "zebra ünïcødé \u{7} tab\tend", "<|end|> is text"]
        {
            let ids = tk.encode(text);
            assert!(ids.iter().all(|&i| i as usize >= SPECIALS.len()), "{text}: a special id came out of plain text");
            let back = tk.decode(&ids);
            assert_eq!(back, text.replace("<|", "< |"));
        }
        let json = tk.to_json().expect("json");
        let again = Tokenizer::from_json(&json).expect("parse");
        assert_eq!(again.encode("退货 🚚 days"), tk.encode("退货 🚚 days"));
        assert_eq!(again.vocab_size(), tk.vocab_size());
    }
}
