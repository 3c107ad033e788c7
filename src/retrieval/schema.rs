//! The index schema, owned in one place; `Field` handles are resolved once.
//!
//! English text goes into `title`/`section`/`body` (stemmed, stop words removed), Chinese text
//! into the `*_zh` twins (jieba-segmented), and identifier-like tokens (order numbers, model
//! numbers such as AH-200) into `keys`, matched exactly.

use super::analyzers::{EN, KEY, ZH};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// Bumped whenever the schema, analyzers or chunking change: an index of another version is
/// rebuilt.
pub const SCHEMA_VERSION: u32 = 3;

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
    pub tags: Field,
    pub lang: Field,
    pub category: Field,
    pub audience: Field,
    pub start: Field,
    pub end: Field,
    /// Section path as stored (JSON array).
    pub section_path: Field,
}

fn text(analyzer: &str, stored: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(analyzer)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
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
        tags: b.add_text_field("tags", text(EN, false)),
        lang: b.add_text_field("lang", STRING | STORED),
        category: b.add_text_field("category", STRING | STORED),
        audience: b.add_text_field("audience", STRING | STORED),
        start: b.add_u64_field("start", STORED),
        end: b.add_u64_field("end", STORED | INDEXED),
        section_path: b.add_text_field("section_path", STORED),
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
            tags: f("tags")?,
            lang: f("lang")?,
            category: f("category")?,
            audience: f("audience")?,
            start: f("start")?,
            end: f("end")?,
            section_path: f("section_path")?,
        })
    }
}
