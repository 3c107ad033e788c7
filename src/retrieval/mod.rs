//! Retrieval on tantivy: schema, analyzers (English, Chinese, identifiers), the on-disk index
//! with incremental refresh, conversation-to-query building, and search with snippets.
//!
//! Tantivy types stay inside this module; [`Retriever`] takes and returns domain types.

pub use crate::text::analyzers;
pub mod bench;
pub mod bench_dense;
mod dense;
pub mod hybrid;
mod index;
pub mod query;
pub(crate) mod schema;
mod search;

pub use dense::{DenseChoice, load_for_chunks, load_for_kb, load_intent};
pub use hybrid::{Components, Dense, FusionOptions, RetrievalMode};
pub use index::{IndexError, IndexReport, KbIndex, WhenBusy, check_index, index_dir_for, kb_changed};
pub use query::{QTerm, QueryOptions, QueryTerms, conversation_terms};
pub use schema::SCHEMA_VERSION;
pub use search::{Boosts, Hit, SearchOptions, SearchResult, calibrate};

use crate::desk::ports::{PortError, RetrievalQuery};
use crate::desk::{Passage, Retrieval};
use crate::knowledge::{Chunk, ChunkOptions};
use anyhow::Result;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The most passages one search returns (`search -k`, `[retrieval] top_k`): a pane, not a dump.
pub const MAX_K: usize = 1000;

/// The retrieval engine over one KB.
pub struct Retriever {
    index: KbIndex,
    analyzers: analyzers::Analyzers,
    pub query_options: QueryOptions,
    pub search_options: SearchOptions,
    /// Lexical, dense or hybrid; dense evidence is used only once [`Retriever::dense`] is set.
    pub mode: RetrievalMode,
    pub fusion: FusionOptions,
    /// The encoder and passage vectors, filled once (possibly by a background thread).
    dense: Arc<OnceLock<Dense>>,
    /// The intent classifier for this KB, filled with the dense evidence when one fits.
    intent: Arc<OnceLock<crate::understand::intent::Intent>>,
}

impl Retriever {
    fn with_index(index: KbIndex) -> Self {
        Self {
            index,
            analyzers: analyzers::Analyzers::default(),
            query_options: QueryOptions::default(),
            search_options: SearchOptions::default(),
            mode: RetrievalMode::Lexical,
            fusion: FusionOptions::default(),
            dense: Arc::new(OnceLock::new()),
            intent: Arc::new(OnceLock::new()),
        }
    }

    /// The slot the dense evidence goes into: set it (once) from any thread; searches use it
    /// from then on.
    pub fn dense_slot(&self) -> Arc<OnceLock<Dense>> {
        Arc::clone(&self.dense)
    }

    /// The slot the intent classifier goes into (set once, like the dense evidence).
    pub fn intent_slot(&self) -> Arc<OnceLock<crate::understand::intent::Intent>> {
        Arc::clone(&self.intent)
    }

    /// The intent of a search's result, when a classifier is loaded.
    pub fn intent_of(&self, result: &SearchResult) -> Option<crate::desk::Intent> {
        let head = self.intent.get()?;
        // The head was fitted on the English encoder's vectors.
        let q = result.vectors.as_ref().and_then(hybrid::QueryVectors::english);
        let v = q.map(|q| crate::understand::intent::conversation_vector(&q.latest, q.earlier.as_deref()));
        let t = head.topics(v.as_deref(), &hybrid::intent_candidates(result), 1).into_iter().next()?;
        Some(crate::desk::Intent { topic: t.slug, category: t.category, p: t.p })
    }

    /// The dense evidence, once loaded.
    pub fn dense(&self) -> Option<&Dense> {
        self.dense.get()
    }

    /// The mode searches actually run in: lexical until the dense evidence is there.
    pub fn effective_mode(&self) -> RetrievalMode {
        if self.dense.get().is_some() { self.mode } else { RetrievalMode::Lexical }
    }

    /// Opens (building or refreshing as needed) the index of `kb_dir` in `data_dir`.
    pub fn open(kb_dir: &Path, data_dir: &Path, progress: &dyn Fn(usize, usize)) -> Result<(Self, IndexReport)> {
        let (index, report) = KbIndex::open_or_build(kb_dir, data_dir, &ChunkOptions::default(), progress)?;
        Ok((Self::with_index(index), report))
    }

    /// [`Self::open`] for `deskpilot index`: waits for another process that is updating the
    /// index, then refreshes it itself.
    pub fn open_for_indexing(
        kb_dir: &Path,
        data_dir: &Path,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Self, IndexReport)> {
        let (index, report) =
            KbIndex::open_or_build_with(kb_dir, data_dir, &ChunkOptions::default(), progress, WhenBusy::Wait)?;
        Ok((Self::with_index(index), report))
    }

    /// An in-memory retriever over the given passages (tests, benchmarks, evaluation), built
    /// deterministically.
    pub fn in_ram(chunks: &[Chunk]) -> Result<Self> {
        let index = KbIndex::in_ram()?;
        let mut writer = index.deterministic_writer()?;
        index.add_chunks(&writer, chunks)?;
        writer.commit()?;
        drop(writer);
        index.reload()?;
        Ok(Self::with_index(index))
    }

    pub fn num_passages(&self) -> u64 {
        self.index.num_passages()
    }

    /// Overrides ranking parameters from `key=value,...` (for tuning experiments with
    /// `deskpilot eval --tune`). Keys: decay, agent, tag, title_decay, max_terms, max_turns,
    /// candidates, second, third, body, title, section, tags, keys, grams, pairs, rrf_k, lexical_w,
    /// dense_w, context, depth, convex (1: fuse scaled scores instead of ranks).
    pub fn tune(&mut self, spec: &str) -> Result<()> {
        for pair in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--tune: `{pair}` is not key=value"))?;
            let x: f32 = v.trim().parse().map_err(|_| anyhow::anyhow!("--tune: `{v}` is not a number"))?;
            let (q, s) = (&mut self.query_options, &mut self.search_options);
            match k.trim() {
                "decay" => q.decay = x,
                "agent" => q.agent_weight = x,
                "tag" => q.tag_weight = x,
                "title_decay" => q.title_decay = x,
                "max_terms" => s.max_terms = x as usize,
                "max_turns" => q.max_turns = x as usize,
                "candidates" => s.candidates = x as usize,
                "second" => s.second = x,
                "third" => s.third = x,
                "body" => s.boosts.body = x,
                "title" => s.boosts.title = x,
                "section" => s.boosts.section = x,
                "tags" => s.boosts.tags = x,
                "keys" => s.boosts.keys = x,
                "grams" => s.boosts.grams = x,
                "pairs" => s.boosts.pairs = x,
                "rrf_k" => self.fusion.rrf_k = x,
                "lexical_w" => self.fusion.lexical = x,
                "dense_w" => self.fusion.dense = x,
                "context" => self.fusion.context = x,
                "depth" => self.fusion.depth = x as usize,
                "convex" => self.fusion.convex = x,
                other => anyhow::bail!("--tune: unknown key `{other}`"),
            }
        }
        Ok(())
    }

    /// Searches with a conversation; `k` comes from the query (1 to [`MAX_K`]). Dense evidence
    /// joins in when the mode asks for it and it is loaded; a Chinese question is read by the
    /// multilingual encoder when it is there, else it stays lexical. A
    /// panic inside tantivy (a file damaged after the index was opened) becomes an error, and the
    /// index is marked for a rebuild on its next open.
    pub fn search(&self, query: &RetrievalQuery) -> Result<SearchResult> {
        let mut a = self.analyzers.clone();
        let terms = conversation_terms(&query.turns, &query.tags, &self.query_options, &mut a);
        let mut opts = SearchOptions { k: query.k.clamp(1, MAX_K), ..self.search_options };
        let dense = self.dense.get().filter(|_| self.mode != RetrievalMode::Lexical);
        if dense.is_some() {
            opts.rank_depth = opts.rank_depth.max(self.fusion.depth);
        }
        let run = std::panic::AssertUnwindSafe(|| {
            let lex = search::search(&self.index, &terms, &opts, &mut a)?;
            let Some(dense) = dense else { return Ok(lex) };
            if let (Some(zh), Some(latest)) = (dense.chinese.as_ref(), hybrid::latest_chinese(&query.turns)) {
                return match hybrid::chinese_query_vector(zh, latest) {
                    Ok(v) => hybrid::fuse(&self.index, lex, &zh.index, v, self.mode, &self.fusion, opts.k),
                    Err(e) => {
                        tracing::warn!("Chinese query embedding failed, lexical results only: {e}");
                        Ok(lex)
                    }
                };
            }
            let vector = match hybrid::query_vector(&dense.encoder, &query.turns, self.fusion.context) {
                Ok(Some(v)) => v,
                Ok(None) => return Ok(lex),
                Err(e) => {
                    tracing::warn!("query embedding failed, lexical results only: {e}");
                    return Ok(lex);
                }
            };
            hybrid::fuse(&self.index, lex, &dense.index, vector, self.mode, &self.fusion, opts.k)
        });
        match std::panic::catch_unwind(run) {
            Ok(result) => Ok(result?),
            Err(payload) => {
                let why = index::panic_text(&*payload);
                self.index.mark_damaged(&why);
                anyhow::bail!("the search index is damaged (a search failed: {why}); the next run rebuilds it")
            }
        }
    }

    /// Searches with free text, as typed on the command line.
    pub fn search_text(&self, text: &str, k: usize) -> Result<SearchResult> {
        self.search(&RetrievalQuery::from_text(text, k))
    }
}

impl From<Hit> for Passage {
    fn from(h: Hit) -> Self {
        Passage {
            slug: h.slug,
            title: h.title,
            section: h.section,
            text: h.text,
            score: h.score,
            highlights: h.highlights,
        }
    }
}

/// The question's vectors with the stored vectors of every sentence the result's passages hold.
fn meaning_vectors(
    q: &hybrid::QueryVectors,
    dense: &hybrid::Dense,
    result: &SearchResult,
) -> Option<crate::desk::MeaningVectors> {
    // A Chinese question's vector is the multilingual encoder's, and so must the sentences' be.
    let index = match q.multilingual {
        Some(_) => &dense.chinese.as_ref()?.index,
        None => &dense.index,
    };
    let mut sentences = std::collections::HashMap::new();
    for hit in result.passages.iter().chain(&result.hits) {
        for s in crate::semantic::dense::sentences(&hit.text) {
            if let Some(v) = index.sentence_vector(s) {
                sentences.entry(s.to_owned()).or_insert_with(|| v.to_vec());
            }
        }
    }
    Some(crate::desk::MeaningVectors {
        latest: q.latest.clone(),
        earlier: q.earlier.clone(),
        sentences,
        multilingual: q.multilingual,
    })
}

impl crate::desk::ports::Retriever for Retriever {
    fn retrieve(&self, query: &RetrievalQuery) -> std::result::Result<Retrieval, PortError> {
        let result = self.search(query).map_err(|e| -> PortError { e.into() })?;
        let intent = self.intent_of(&result);
        let vectors = match (&result.vectors, self.dense()) {
            (Some(q), Some(dense)) => meaning_vectors(q, dense, &result).map(Arc::new),
            _ => None,
        };
        Ok(Retrieval {
            confidence: result.confidence,
            passages: result.hits.into_iter().map(Passage::from).collect(),
            evidence: result.passages.into_iter().map(Passage::from).collect(),
            vectors,
            intent,
        })
    }
}
