//! The knowledge base: Markdown articles with YAML front matter, loaded from a folder, checked,
//! and cut into passages ([`Chunk`]s) for retrieval and drafting.

mod article;
mod chunk;
mod loader;
mod markdown;

pub use article::{Article, Audience, FrontMatter};
pub use chunk::{ChunkOptions, approx_tokens, chunk_article, chunk_blocks};
pub use loader::{Issue, Kb, Severity, load_kb, read_article, slug_for};
pub use markdown::{Block, Link, parse_body};

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A passage of an article: the unit that is indexed, retrieved and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// `slug#n`, stable while the article's text is unchanged.
    pub id: String,
    pub slug: String,
    pub title: String,
    /// Heading path, outermost first (the article title is not repeated here).
    pub section: Vec<String>,
    pub text: String,
    /// Byte range of the passage's blocks in the source file.
    pub range: Range<usize>,
    pub lang: String,
    pub category: String,
    pub tags: Vec<String>,
    pub audience: Audience,
}
