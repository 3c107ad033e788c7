//! One article: front matter + Markdown body.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Who may see an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    #[default]
    Public,
    /// Agents only: may inform a draft but is never quoted to a customer as a link.
    Internal,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Internal => "internal",
        }
    }
}

/// The YAML header of an article.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FrontMatter {
    pub title: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub lang: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub audience: Audience,
    /// The conversations an article was drafted from (`kb gaps`), so erasing a customer finds it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// A loaded article.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Path relative to the KB root without `.md`, `/`-separated: `return-policy`, `zh/return-policy`.
    pub slug: String,
    pub path: PathBuf,
    pub meta: FrontMatter,
    /// The Markdown after the front matter.
    pub body: String,
    /// Byte offset of `body` in the file.
    pub body_offset: usize,
    /// 1-based line of the file where `body` starts.
    pub body_line: usize,
    /// SHA-256 of the file's bytes, hex.
    pub hash: String,
}
