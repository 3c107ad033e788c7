//! Retrieval on tantivy: schema, analyzers (English, Chinese, identifiers), the on-disk index
//! with incremental refresh, conversation-to-query building, and search with snippets.
//!
//! Tantivy types stay inside this module; [`Retriever`] takes and returns domain types.

pub mod analyzers;
pub mod bench;
mod index;
pub mod query;
pub(crate) mod schema;
mod search;

pub use index::{IndexReport, KbIndex, index_dir_for};
pub use query::{QueryOptions, QueryTerms, conversation_terms};
pub use schema::SCHEMA_VERSION;
pub use search::{Boosts, Hit, SearchOptions, SearchResult, calibrate};

use crate::desk::ports::{PortError, RetrievalQuery};
use crate::desk::{Passage, Retrieval};
use crate::knowledge::{Chunk, ChunkOptions};
use anyhow::Result;
use std::path::Path;
use tantivy::tokenizer::TextAnalyzer;

/// The retrieval engine over one KB.
pub struct Retriever {
    index: KbIndex,
    en: TextAnalyzer,
    zh: TextAnalyzer,
    pub query_options: QueryOptions,
    pub search_options: SearchOptions,
}

impl Retriever {
    fn with_index(index: KbIndex) -> Self {
        Self {
            index,
            en: analyzers::english(),
            zh: analyzers::chinese(),
            query_options: QueryOptions::default(),
            search_options: SearchOptions::default(),
        }
    }

    /// Opens (building or refreshing as needed) the index of `kb_dir` in `data_dir`.
    pub fn open(kb_dir: &Path, data_dir: &Path, progress: &dyn Fn(usize, usize)) -> Result<(Self, IndexReport)> {
        let (index, report) = KbIndex::open_or_build(kb_dir, data_dir, &ChunkOptions::default(), progress)?;
        Ok((Self::with_index(index), report))
    }

    /// An in-memory retriever over the given passages (tests, benchmarks).
    pub fn in_ram(chunks: &[Chunk]) -> Result<Self> {
        let index = KbIndex::in_ram()?;
        let mut writer = index.writer()?;
        index.add_chunks(&writer, chunks)?;
        writer.commit()?;
        drop(writer);
        index.reload()?;
        Ok(Self::with_index(index))
    }

    pub fn num_passages(&self) -> u64 {
        self.index.num_passages()
    }

    /// Terms for a conversation, weighted.
    pub fn terms(&self, query: &RetrievalQuery) -> QueryTerms {
        let (mut en, mut zh) = (self.en.clone(), self.zh.clone());
        conversation_terms(&query.turns, &query.tags, &self.query_options, &mut en, &mut zh)
    }

    /// Searches with a conversation; `k` comes from the query.
    pub fn search(&self, query: &RetrievalQuery) -> Result<SearchResult> {
        let terms = self.terms(query);
        let opts = SearchOptions { k: query.k.max(1), ..self.search_options };
        Ok(search::search(&self.index, &terms, &opts)?)
    }

    /// Searches with free text, as typed on the command line.
    pub fn search_text(&self, text: &str, k: usize) -> Result<SearchResult> {
        self.search(&RetrievalQuery::from_text(text, k))
    }
}

impl From<Hit> for Passage {
    fn from(h: Hit) -> Self {
        Passage { slug: h.slug, title: h.title, section: h.section, text: h.text, score: h.score, highlights: h.highlights }
    }
}

impl crate::desk::ports::Retriever for Retriever {
    fn retrieve(&self, query: &RetrievalQuery) -> std::result::Result<Retrieval, PortError> {
        let result = self.search(query).map_err(|e| -> PortError { e.into() })?;
        Ok(Retrieval { confidence: result.confidence, passages: result.hits.into_iter().map(Passage::from).collect() })
    }
}
