//! Getting a retriever its dense evidence: the encoder from `assets/encoder` (or the configured
//! folder) and the passage vectors kept beside the index (`passages.vec`, `sentences.vec`),
//! re-embedding only what changed. Any failure leaves the retriever lexical, with a warning.

use super::hybrid::{Chinese, Dense, RetrievalMode};
use super::index::index_dir_for;
use super::{IndexReport, Retriever};
use crate::knowledge::{Chunk, ChunkOptions, chunk_article, load_kb};
use crate::semantic::vectors::sha_bytes;
use crate::semantic::{DenseIndex, DenseReport, Encoder};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What retrieval mode to run and where the encoder lives.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseChoice {
    pub mode: RetrievalMode,
    pub encoder_dir: PathBuf,
    /// Weight of the dense ranking in hybrid fusion.
    pub dense_weight: f32,
    /// The intent classifier to load with the encoder (`None`: none).
    pub intent_dir: Option<PathBuf>,
}

impl DenseChoice {
    /// From the config (`[retrieval] mode`, `encoder`), a command-line `--retrieval` winning.
    pub fn from_config(config: &crate::config::Config, flag: Option<RetrievalMode>) -> Result<Self> {
        let mode = match flag {
            Some(m) => m,
            None => config.retrieval.mode.parse().map_err(|e: String| anyhow::anyhow!("[retrieval] mode: {e}"))?,
        };
        Ok(Self {
            mode,
            encoder_dir: config.encoder_dir(),
            dense_weight: config.retrieval.dense_weight,
            intent_dir: config.intent_dir(),
        })
    }

    /// Lexical retrieval: no encoder is loaded.
    pub fn lexical() -> Self {
        Self { mode: RetrievalMode::Lexical, encoder_dir: PathBuf::new(), dense_weight: 1.0, intent_dir: None }
    }
}

/// The encoder and the vectors of the KB indexed at `kb_dir` (whose index reported `report`).
pub fn load_for_kb(
    kb_dir: &Path,
    data_dir: &Path,
    encoder_dir: &Path,
    report: &IndexReport,
    passages: usize,
    progress: &dyn Fn(usize, usize),
) -> Result<(Dense, DenseReport)> {
    let encoder = Arc::new(Encoder::load(encoder_dir)?);
    let dir = index_dir_for(kb_dir, data_dir);
    let source = sha_bytes(&report.kb_hash);
    match DenseIndex::open(&dir, &encoder, passages, &source) {
        Ok(index) => {
            let r = DenseReport {
                passages,
                sentences: index.sentences.as_ref().map_or(0, |s| s.len()),
                ..Default::default()
            };
            let chinese = chinese_reopened(encoder_dir, kb_dir, &dir, source, &index);
            return Ok((Dense { encoder, index, chinese }, r));
        }
        Err(why) if dir.join("passages.vec").exists() => {
            tracing::warn!(dir = %dir.display(), reason = %why, "passage vectors out of date; refreshing");
        }
        Err(_) => {}
    }
    let chunks = load_chunks(kb_dir);
    let (index, r) = DenseIndex::build(&encoder, &chunks, Some(&dir), source, true, progress)?;
    let chinese = chinese_for(encoder_dir, &chunks, Some(&dir), source, &index);
    Ok((Dense { encoder, index, chinese }, r))
}

fn load_chunks(kb_dir: &Path) -> Vec<Chunk> {
    let kb = load_kb(kb_dir);
    let opts = ChunkOptions::default();
    kb.articles.iter().flat_map(|a| chunk_article(a, &opts)).collect()
}

/// The multilingual encoder's folder: `encoder-zh` beside the encoder's.
fn chinese_encoder_dir(encoder_dir: &Path) -> PathBuf {
    encoder_dir.with_file_name("encoder-zh")
}

/// The multilingual encoder (beside the encoder in `encoder_dir`) and the vectors of the
/// Chinese sentences of `chunks`, reusing and writing those in `dir`, with the map that puts its
/// cosines on the scale of `english`'s. `None` when the KB has no Chinese passages or the
/// encoder is not there (logged).
fn chinese_for(
    encoder_dir: &Path,
    chunks: &[Chunk],
    dir: Option<&Path>,
    source: [u8; 32],
    english: &DenseIndex,
) -> Option<Chinese> {
    if !chunks.iter().any(|c| c.lang.starts_with("zh")) {
        return None;
    }
    chinese_with(encoder_dir, english, |encoder| {
        let (index, embedded) = DenseIndex::build_chinese(encoder, chunks, dir, source, &|_, _| {})?;
        tracing::debug!(embedded, "Chinese sentence vectors ready");
        Ok(index)
    })
}

/// [`chinese_for`] when the index of the KB at `kb_dir` is up to date: the Chinese vectors are
/// read back from `dir` as they are, and the KB is read again only when they are not usable.
fn chinese_reopened(
    encoder_dir: &Path,
    kb_dir: &Path,
    dir: &Path,
    source: [u8; 32],
    english: &DenseIndex,
) -> Option<Chinese> {
    let count = english.passages.labels.iter().filter(|(_, _, lang)| lang.starts_with("zh")).count();
    if count == 0 {
        return None;
    }
    chinese_with(encoder_dir, english, |encoder| match DenseIndex::open_chinese(dir, encoder, count, &source) {
        Ok(index) => Ok(index),
        Err(why) => {
            tracing::info!(reason = %why, "Chinese vectors out of date; refreshing");
            let (index, _) = DenseIndex::build_chinese(encoder, &load_chunks(kb_dir), Some(dir), source, &|_, _| {})?;
            Ok(index)
        }
    })
}

/// The multilingual encoder loaded, its vectors from `vectors`, and its cosine map onto the
/// scale of `english`'s. `None` when the encoder is not there (logged).
fn chinese_with(
    encoder_dir: &Path,
    english: &DenseIndex,
    vectors: impl FnOnce(&crate::semantic::Multilingual) -> Result<DenseIndex, crate::semantic::EncoderError>,
) -> Option<Chinese> {
    let loaded = crate::semantic::Multilingual::load(&chinese_encoder_dir(encoder_dir)).and_then(|encoder| {
        let index = vectors(&encoder)?;
        let spread = |i: &DenseIndex, zh: bool| {
            i.sentences.as_ref().and_then(|f| f.cosine_spread(|lang| lang.starts_with("zh") == zh))
        };
        let cosine_map = match (spread(english, false), spread(&index, true)) {
            (Some((m_en, s_en)), Some((m_zh, s_zh))) => [s_en / s_zh, m_en - s_en / s_zh * m_zh],
            _ => [1.0, 0.0],
        };
        tracing::debug!(?cosine_map, "Chinese cosines mapped onto the English scale");
        Ok(Chinese { encoder: Arc::new(encoder), index, cosine_map })
    });
    match loaded {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::info!("no multilingual encoder, Chinese questions are read by their words: {e}");
            None
        }
    }
}

/// The encoder and vectors of in-memory passages (evaluation), cached by content in `cache_dir`.
pub fn load_for_chunks(
    chunks: &[Chunk],
    cache_dir: Option<&Path>,
    encoder_dir: &Path,
    progress: &dyn Fn(usize, usize),
) -> Result<(Dense, DenseReport)> {
    let encoder = Arc::new(Encoder::load(encoder_dir)?);
    if let Some(dir) = cache_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let (index, r) = DenseIndex::build(&encoder, chunks, cache_dir, [0; 32], true, progress)?;
    let chinese = chinese_for(encoder_dir, chunks, cache_dir, [0; 32], &index);
    Ok((Dense { encoder, index, chinese }, r))
}

impl Retriever {
    /// [`Retriever::open`], then the dense evidence `choice` asks for, loaded now; if the encoder
    /// is missing or broken the retriever stays lexical (logged).
    pub fn open_with(
        kb_dir: &Path,
        data_dir: &Path,
        choice: &DenseChoice,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Self, IndexReport)> {
        let (mut me, report) = Self::open(kb_dir, data_dir, progress)?;
        me.mode = choice.mode;
        me.fusion.dense = choice.dense_weight;
        if choice.mode != RetrievalMode::Lexical {
            match load_for_kb(kb_dir, data_dir, &choice.encoder_dir, &report, me.num_passages() as usize, progress) {
                Ok((dense, _)) => {
                    if let Some(intent) = choice.intent_dir.as_deref().and_then(|d| load_intent(d, &dense)) {
                        let _ = me.intent_slot().set(intent);
                    }
                    let _ = me.dense_slot().set(dense);
                }
                Err(e) => tracing::warn!("sentence encoder unavailable, retrieval stays lexical: {e:#}"),
            }
        }
        Ok((me, report))
    }

    /// Loads the dense evidence on a background thread; searches are lexical until it is in.
    pub fn load_dense_in_background(
        &mut self,
        kb_dir: &Path,
        data_dir: &Path,
        choice: &DenseChoice,
        report: &IndexReport,
    ) {
        self.mode = choice.mode;
        self.fusion.dense = choice.dense_weight;
        if choice.mode == RetrievalMode::Lexical {
            return;
        }
        let (slot, intent_slot) = (self.dense_slot(), self.intent_slot());
        let intent_dir = choice.intent_dir.clone();
        let (kb, data, enc, report) =
            (kb_dir.to_path_buf(), data_dir.to_path_buf(), choice.encoder_dir.clone(), report.clone());
        let passages = self.num_passages() as usize;
        let spawned = std::thread::Builder::new().name("encoder".into()).spawn(move || {
            let started = std::time::Instant::now();
            match load_for_kb(&kb, &data, &enc, &report, passages, &|_, _| {}) {
                Ok((dense, r)) => {
                    tracing::info!(
                        embedded = r.embedded,
                        ms = started.elapsed().as_secs_f64() * 1e3,
                        "dense retrieval ready"
                    );
                    if let Some(intent) = intent_dir.as_deref().and_then(|d| load_intent(d, &dense)) {
                        let _ = intent_slot.set(intent);
                    }
                    let _ = slot.set(dense);
                }
                Err(e) => tracing::warn!("sentence encoder unavailable, retrieval stays lexical: {e:#}"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the encoder thread, retrieval stays lexical: {e}");
        }
    }
}

/// The intent classifier in `dir`, when it was trained for these passages' English articles
/// and this encoder (else `None`, logged: the console shows no intent).
pub fn load_intent(dir: &Path, dense: &Dense) -> Option<crate::understand::intent::Intent> {
    use crate::understand::intent::{Intent, articles_hash};
    let intent = match Intent::load(dir) {
        Ok(i) => i,
        Err(e) => {
            tracing::info!("no intent classifier: {e:#}");
            return None;
        }
    };
    let mut slugs: Vec<String> = dense
        .index
        .passages
        .labels
        .iter()
        .filter(|(_, _, lang)| !lang.starts_with("zh"))
        .map(|(_, slug, _)| slug.clone())
        .collect();
    slugs.sort();
    slugs.dedup();
    if intent.fits(&articles_hash(&slugs), dense.encoder.model_sha256()) {
        Some(intent)
    } else {
        tracing::info!("{}: the intent classifier was trained for another KB or encoder; no intent", dir.display());
        None
    }
}
