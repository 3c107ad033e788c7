//! The index schema, owned in one place; `Field` handles are resolved once.
//!
//! English text goes into `title`/`section`/`body` (stemmed, stop words removed), Chinese text
//! into the `*_zh` twins (jieba-segmented), and identifier-like tokens (order numbers, model
//! numbers such as AH-200) into `keys`, matched exactly.

use super::analyzers::{EN, GRAM, KEY, PAIR, ZH};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// Bumped whenever the schema, analyzers or chunking change: an index of another version is
/// rebuilt.
pub const SCHEMA_VERSION: u32 = 9;

#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub slug: Field,
    pub title: Field,
    pub title_zh: Field,
    pub section: Field,
    pub section_zh: Field,
    pub body: Field,
    pub body_zh: Field,
    pub keys: Field,
    /// CJK n-grams of title, headings and body (Chinese passages only).
    pub zh_grams: Field,
    /// English word pairs of the body.
    pub pairs: Field,
    pub tags: Field,
    pub lang: Field,
    pub category: Field,
    pub audience: Field,
    pub start: Field,
    pub end: Field,
    /// Section path as stored (JSON array).
    pub section_path: Field,
    /// A 64-bit hash of the slug as a fast field: groups candidates by article without loading
    /// their documents.
    pub article: Field,
}

/// Name of the [`Fields::article`] fast field.
pub const ARTICLE: &str = "article";

/// The article key stored in [`Fields::article`].
pub fn article_key(slug: &str) -> u64 {
    // FNV-1a: stable across builds and platforms (std's hasher is not).
    slug.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn text(analyzer: &str, stored: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default().set_tokenizer(analyzer).set_index_option(IndexRecordOption::WithFreqs);
    let opts = TextOptions::default().set_indexing_options(indexing);
    if stored { opts.set_stored() } else { opts }
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        slug: b.add_text_field("slug", STRING | STORED),
        title: b.add_text_field("title", text(EN, true)),
        title_zh: b.add_text_field("title_zh", text(ZH, false)),
        section: b.add_text_field("section", text(EN, false)),
        section_zh: b.add_text_field("section_zh", text(ZH, false)),
        body: b.add_text_field("body", text(EN, true)),
        body_zh: b.add_text_field("body_zh", text(ZH, true)),
        keys: b.add_text_field("keys", text(KEY, false)),
        zh_grams: b.add_text_field("zh_grams", text(GRAM, false)),
        pairs: b.add_text_field("pairs", text(PAIR, false)),
        tags: b.add_text_field("tags", text(EN, false)),
        lang: b.add_text_field("lang", STRING | STORED),
        category: b.add_text_field("category", STRING | STORED),
        audience: b.add_text_field("audience", STRING | STORED),
        start: b.add_u64_field("start", STORED),
        end: b.add_u64_field("end", STORED | INDEXED),
        section_path: b.add_text_field("section_path", STORED),
        article: b.add_u64_field(ARTICLE, FAST),
    };
    (b.build(), fields)
}

impl Fields {
    /// Resolves the handles of an opened index, failing if its schema is not ours.
    pub fn resolve(schema: &Schema) -> tantivy::Result<Self> {
        let f = |name: &str| schema.get_field(name);
        Ok(Self {
            id: f("id")?,
            slug: f("slug")?,
            title: f("title")?,
            title_zh: f("title_zh")?,
            section: f("section")?,
            section_zh: f("section_zh")?,
            body: f("body")?,
            body_zh: f("body_zh")?,
            keys: f("keys")?,
            zh_grams: f("zh_grams")?,
            pairs: f("pairs")?,
            tags: f("tags")?,
            lang: f("lang")?,
            category: f("category")?,
            audience: f("audience")?,
            start: f("start")?,
            end: f("end")?,
            section_path: f("section_path")?,
            article: f(ARTICLE)?,
        })
    }
}
