//! The on-disk index of a KB: built once, then refreshed incrementally.
//!
//! Each KB folder gets its own index directory under `<data>/index/`, next to a `manifest.json`
//! that records the schema version and each article's content hash and file stamp (size, mtime).
//! Opening an unchanged KB compares stamps only, without reading the articles. A changed article
//! is re-indexed by deleting its passages (by slug) and adding the new ones; removed articles
//! are deleted. An index that fails to open, fails its checks, or has another schema version is
//! rebuilt from scratch, with a log line saying why.

use super::analyzers;
use super::schema::{self, Fields, SCHEMA_VERSION};
use crate::knowledge::{Chunk, ChunkOptions, Issue, chunk_article, load_kb};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};
use tantivy::schema::TantivyDocument;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

const MANIFEST: &str = "manifest.json";
/// Indexing memory budget: shared by the writer threads.
const WRITER_MEMORY: usize = 384 * 1024 * 1024;

/// A file's identity as the file system reports it; equal stamps mean unchanged content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: u128,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleEntry {
    pub hash: String,
    pub stamp: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    schema_version: u32,
    kb_root: String,
    /// Slug -> entry, for every indexed article.
    articles: BTreeMap<String, ArticleEntry>,
    /// Files that failed to load, with their stamps, so an unchanged broken file does not force
    /// a full reload on every open.
    #[serde(default)]
    skipped: BTreeMap<String, Stamp>,
    /// Hash over all article hashes: the KB's content identity.
    kb_hash: String,
}

/// What opening or refreshing an index did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    pub index_dir: PathBuf,
    pub articles: usize,
    pub passages: usize,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    /// Why the index was rebuilt from scratch, if it was.
    pub rebuilt: Option<String>,
    pub elapsed_ms: f64,
    pub kb_hash: String,
    /// Problems found in the KB (bad articles are skipped, never fatal).
    #[serde(skip)]
    pub issues: Vec<Issue>,
}

/// An open index with its reader.
pub struct KbIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
}

/// The index directory for a KB folder: keyed by the folder's canonical path.
pub fn index_dir_for(kb_dir: &Path, data_dir: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(kb_dir).unwrap_or_else(|_| kb_dir.to_owned());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let name = canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "kb".into());
    data_dir.join("index").join(format!("{name}-{}", &crate::util::hex(&digest)[..12]))
}

fn stamp_of(m: &std::fs::Metadata) -> Option<Stamp> {
    let mtime_ns = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some(Stamp { size: m.len(), mtime_ns })
}

/// Lists the `.md` files of a KB with their slugs and stamps, without reading them (one `stat`
/// per file: the directory listing already says what is a folder).
fn scan(kb_dir: &Path) -> BTreeMap<String, (PathBuf, Option<Stamp>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![kb_dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let Ok(kind) = e.file_type() else { continue };
            let p = e.path();
            if kind.is_dir() {
                stack.push(p);
            } else if name.len() > 3 && name[name.len() - 3..].eq_ignore_ascii_case(".md") {
                let st = e.metadata().ok().as_ref().and_then(stamp_of);
                out.insert(crate::knowledge::slug_for(kb_dir, &p), (p, st));
            }
        }
    }
    out
}

fn kb_hash(articles: &BTreeMap<String, ArticleEntry>) -> String {
    let mut h = Sha256::new();
    for (slug, e) in articles {
        h.update(slug.as_bytes());
        h.update([0]);
        h.update(e.hash.as_bytes());
    }
    crate::util::hex(&h.finalize())
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(m)?).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(MANIFEST)).with_context(|| format!("{}: cannot write", dir.display()))?;
    Ok(())
}

/// True when every file has the stamp the manifest recorded, and no file came or went.
fn stamps_match(m: &Manifest, files: &BTreeMap<String, (PathBuf, Option<Stamp>)>) -> bool {
    m.articles.len() + m.skipped.len() == files.len()
        && files.iter().all(|(slug, (_, st))| {
            let known = m.articles.get(slug).map(|e| e.stamp).or_else(|| m.skipped.get(slug).copied());
            known.is_some() && known == *st
        })
}

/// True when the KB folder no longer matches its index's manifest (a file added, removed or
/// touched, or no index yet): stamps only, no article is read and no index opened.
pub fn kb_changed(kb_dir: &Path, data_dir: &Path) -> bool {
    match read_manifest(&index_dir_for(kb_dir, data_dir)) {
        Some(m) => m.schema_version != SCHEMA_VERSION || !stamps_match(&m, &scan(kb_dir)),
        None => true,
    }
}

impl KbIndex {
    fn from_index(index: Index) -> Result<Self> {
        analyzers::register(&index);
        let fields = Fields::resolve(&index.schema())?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, fields })
    }

    /// A fresh in-memory index (tests, benchmarks, eval runs that should not touch the disk).
    pub fn in_ram() -> Result<Self> {
        let (schema, _) = schema::build();
        Self::from_index(Index::create_in_ram(schema))
    }

    /// A new, empty index in `dir` (whatever was there is removed).
    pub fn create(dir: &Path) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("{}: cannot clear old index", dir.display()))?;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let (schema, _) = schema::build();
        Self::from_index(Index::create_in_dir(dir, schema)?)
    }

    /// Opens an existing index and checks it can serve a search.
    fn open_checked(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir)?;
        let (expected, _) = schema::build();
        if index.schema() != expected {
            anyhow::bail!("schema differs from this build's");
        }
        let me = Self::from_index(index)?;
        let searcher = me.reader.searcher();
        for segment in searcher.segment_readers() {
            // Touch every field's inverted index and the doc store so truncated files fail here.
            for field in [me.fields.body, me.fields.body_zh, me.fields.title, me.fields.keys] {
                segment.inverted_index(field)?;
            }
            segment.get_store_reader(0)?;
        }
        Ok(me)
    }

    pub fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
        Ok(self.index.writer_with_num_threads(threads, WRITER_MEMORY)?)
    }

    /// A single-threaded writer: documents land in one segment in insertion order, so ties
    /// between equal scores break the same way on every run (evaluation must be reproducible).
    pub fn deterministic_writer(&self) -> Result<IndexWriter> {
        Ok(self.index.writer_with_num_threads(1, WRITER_MEMORY)?)
    }

    /// Adds passages through `writer` (the caller commits).
    pub fn add_chunks(&self, writer: &IndexWriter, chunks: &[Chunk]) -> Result<()> {
        for c in chunks {
            writer.add_document(self.document(c))?;
        }
        Ok(())
    }

    fn document(&self, c: &Chunk) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, &c.id);
        d.add_text(f.slug, &c.slug);
        d.add_u64(f.article, schema::article_key(&c.slug));
        d.add_text(f.lang, &c.lang);
        d.add_text(f.category, &c.category);
        d.add_text(f.audience, c.audience.as_str());
        d.add_u64(f.start, c.range.start as u64);
        d.add_u64(f.end, c.range.end as u64);
        d.add_text(f.section_path, serde_json::to_string(&c.section).unwrap_or_default());
        let section = c.section.join(" > ");
        let zh = c.lang.starts_with("zh") || analyzers::has_cjk(&c.text);
        // Titles are stored once (in `title`); Chinese analysis of them goes to `title_zh`.
        d.add_text(f.title, &c.title);
        if zh {
            d.add_text(f.title_zh, &c.title);
            d.add_text(f.section_zh, &section);
            d.add_text(f.body_zh, &c.text);
            d.add_text(f.zh_grams, format!("{}\n{section}\n{}", c.title, c.text));
        } else {
            d.add_text(f.section, &section);
            d.add_text(f.body, &c.text);
            d.add_text(f.pairs, &c.text);
        }
        d.add_text(f.keys, format!("{} {}", c.title, c.text));
        for t in &c.tags {
            d.add_text(f.tags, t);
        }
        d
    }

    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of passages in the index.
    pub fn num_passages(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Opens the index of `kb_dir` under `data_dir`, building or refreshing it as needed.
    pub fn open_or_build(
        kb_dir: &Path,
        data_dir: &Path,
        opts: &ChunkOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Self, IndexReport)> {
        let started = Instant::now();
        let dir = index_dir_for(kb_dir, data_dir);
        let mut report = IndexReport { index_dir: dir.clone(), ..IndexReport::default() };
        let files = scan(kb_dir);
        tracing::debug!(files = files.len(), ms = started.elapsed().as_secs_f64() * 1e3, "scanned KB");
        let manifest = read_manifest(&dir);
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "read manifest");

        // Fast path: same schema, same files with the same stamps.
        if let Some(m) = manifest.as_ref().filter(|m| m.schema_version == SCHEMA_VERSION && stamps_match(m, &files)) {
            match Self::open_checked(&dir) {
                Ok(me) => {
                    tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "opened unchanged index");
                    report.articles = m.articles.len();
                    report.passages = me.num_passages() as usize;
                    report.kb_hash = m.kb_hash.clone();
                    report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
                    return Ok((me, report));
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "index is unreadable; rebuilding");
                }
            }
        }

        let kb = load_kb(kb_dir);
        report.issues = kb.issues.clone();
        let mut entries: BTreeMap<String, ArticleEntry> = BTreeMap::new();
        for a in &kb.articles {
            let st = files.get(&a.slug).and_then(|(_, s)| *s).unwrap_or(Stamp { size: 0, mtime_ns: 0 });
            entries.insert(a.slug.clone(), ArticleEntry { hash: a.hash.clone(), stamp: st });
        }

        let reusable = match &manifest {
            None => Err("no index yet".to_owned()),
            Some(m) if m.schema_version != SCHEMA_VERSION => {
                Err(format!("index schema version {} differs from {SCHEMA_VERSION}", m.schema_version))
            }
            Some(_) => Self::open_checked(&dir).map_err(|e| format!("index is unreadable: {e}")),
        };
        let (me, old) = match reusable {
            Ok(me) => (me, manifest.map(|m| m.articles).unwrap_or_default()),
            Err(why) => {
                if manifest.is_some() || dir.exists() {
                    tracing::warn!(dir = %dir.display(), reason = %why, "rebuilding index");
                }
                report.rebuilt = Some(why);
                (Self::create(&dir)?, BTreeMap::new())
            }
        };

        let mut writer = me.writer()?;
        let changed: Vec<&crate::knowledge::Article> =
            kb.articles.iter().filter(|a| old.get(&a.slug).is_none_or(|e| e.hash != a.hash)).collect();
        let total = changed.len();
        for (i, a) in changed.iter().enumerate() {
            if old.contains_key(&a.slug) {
                writer.delete_term(Term::from_field_text(me.fields.slug, &a.slug));
                report.updated += 1;
            } else {
                report.added += 1;
            }
            me.add_chunks(&writer, &chunk_article(a, opts))?;
            progress(i + 1, total);
        }
        for slug in old.keys().filter(|s| !entries.contains_key(*s)) {
            writer.delete_term(Term::from_field_text(me.fields.slug, slug));
            report.removed += 1;
        }
        if report.added + report.updated + report.removed > 0 || report.rebuilt.is_some() {
            writer.commit()?;
        }
        drop(writer);
        me.reload()?;
        let kb_hash = kb_hash(&entries);
        let skipped = files
            .iter()
            .filter(|(slug, _)| !entries.contains_key(*slug))
            .filter_map(|(slug, (_, st))| st.map(|st| (slug.clone(), st)))
            .collect();
        let m = Manifest {
            schema_version: SCHEMA_VERSION,
            kb_root: kb_dir.to_string_lossy().into_owned(),
            articles: entries,
            skipped,
            kb_hash: kb_hash.clone(),
        };
        write_manifest(&dir, &m)?;
        report.articles = m.articles.len();
        report.passages = me.num_passages() as usize;
        report.kb_hash = kb_hash;
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok((me, report))
    }
}
