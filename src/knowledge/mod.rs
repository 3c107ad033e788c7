//! The knowledge base: Markdown articles with YAML front matter, loaded from a folder, checked,
//! and cut into passages ([`Chunk`]s) for retrieval and drafting.

mod article;
pub mod cases;
mod chunk;
mod loader;
mod markdown;
pub mod products;

pub use article::{Article, Audience, FrontMatter};
pub use chunk::{ChunkOptions, approx_tokens, chunk_article, chunk_blocks};
pub use loader::{Issue, Kb, MAX_ARTICLE_BYTES, Severity, load_kb, read_article, slug_for};

/// The largest input file (conversation, scenarios, evaluation set) read whole.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a whole UTF-8 input file of at most [`MAX_INPUT_BYTES`], refusing FIFOs and devices
/// (which would hang or never end); the error names the file.
pub fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    let bytes =
        loader::read_limited(path, MAX_INPUT_BYTES).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        anyhow::anyhow!("{}:{line}: not UTF-8 text (invalid byte at offset {at})", path.display())
    })
}
pub use markdown::{Block, Link, parse_body};
pub use products::{Product, products};

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
