//! The on-disk index of a KB: built once, then refreshed incrementally.
//!
//! Each KB folder gets its own index directory under `<data>/index/`, next to a `manifest.json`
//! that records the schema version and each article's content hash and file stamp (size, mtime).
//! Opening an unchanged KB compares stamps only, without reading the articles. A changed article
//! is re-indexed by deleting its passages (by slug) and adding the new ones; removed articles
//! are deleted. An index that fails to open, fails its checks, or has another schema version is
//! rebuilt from scratch, with a log line saying why. The checks run on every open, unchanged KB
//! or not: every segment file's checksum, then each segment's field norms, postings and store
//! opened, with a panic inside tantivy caught and counted as damage.
//!
//! Several processes may share one index (a console, `index`, `search`, `draft`). Writers are
//! serialised by `<index>.writer.lock` beside the index folder: whoever holds it may refresh or
//! rebuild; `index` waits for it, and a reader that finds it taken searches the last committed
//! index instead of waiting (tantivy's own meta lock keeps committed files alive while a reader
//! opens them). Only a rebuild from scratch, which removes the folder, also takes
//! `<index>.open.lock` exclusively; readers take that one shared while they open.

use super::analyzers;
use super::schema::{self, Fields, SCHEMA_VERSION};
use crate::knowledge::{Chunk, ChunkOptions, Issue, chunk_article, load_kb};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};
use tantivy::schema::TantivyDocument;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

const MANIFEST: &str = "manifest.json";
/// Indexing memory budget: shared by the writer threads.
const WRITER_MEMORY: usize = 384 * 1024 * 1024;

/// Why an index could not be opened, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{0}: knowledge-base folder not found (give an existing folder with --kb or `[kb] dir`)")]
    KbMissing(PathBuf),
    #[error("{0}: not a folder (the knowledge base is a folder of .md files)")]
    KbNotAFolder(PathBuf),
    #[error("{path}: cannot lock the index: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir}: the index is damaged ({detail})")]
    Damaged { dir: PathBuf, detail: String },
    #[error("{dir}: {action} failed: {detail}")]
    Tantivy { dir: PathBuf, action: &'static str, detail: String },
}

/// Which lock of an index (see the module documentation).
#[derive(Debug, Clone, Copy)]
enum LockKind {
    Writer,
    Open,
}

/// A held lock file; released when dropped (the lock goes with the file handle).
struct HeldLock {
    _file: File,
}

fn lock_path(dir: &Path, kind: LockKind) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "index".into());
    let suffix = match kind {
        LockKind::Writer => "writer.lock",
        LockKind::Open => "open.lock",
    };
    dir.with_file_name(format!("{name}.{suffix}"))
}

fn open_lock_file(dir: &Path, kind: LockKind) -> std::result::Result<(File, PathBuf), IndexError> {
    let path = lock_path(dir, kind);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| IndexError::Lock { path: parent.to_owned(), source })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| IndexError::Lock { path: path.clone(), source })?;
    Ok((file, path))
}

/// Takes a lock, waiting for it (with a log line saying who is waited for) when it is held.
fn lock(dir: &Path, kind: LockKind, shared: bool) -> std::result::Result<HeldLock, IndexError> {
    let (file, path) = open_lock_file(dir, kind)?;
    let tried = if shared { file.try_lock_shared() } else { file.try_lock() };
    match tried {
        Ok(()) => return Ok(HeldLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::warn!(lock = %path.display(), "another Deskpilot is updating this index; waiting for it");
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(IndexError::Lock { path, source }),
    }
    let locked = if shared { file.lock_shared() } else { file.lock() };
    locked.map_err(|source| IndexError::Lock { path, source })?;
    Ok(HeldLock { _file: file })
}

/// Takes the writer lock if it is free; `None` when another process holds it.
fn try_lock_writer(dir: &Path) -> std::result::Result<Option<HeldLock>, IndexError> {
    let (file, path) = open_lock_file(dir, LockKind::Writer)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(HeldLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(IndexError::Lock { path, source }),
    }
}

/// What to do when another process is updating the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Wait for it, then refresh (`deskpilot index`).
    Wait,
    /// Search the last committed index if it is sound; wait only when there is none.
    UseCommitted,
}

/// The text of a caught panic.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

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
    /// Another process was updating the index, so the last committed one was opened as it was.
    pub used_committed: bool,
}

/// An open index with its reader.
pub struct KbIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    /// The folder of an on-disk index (none in RAM).
    pub(crate) dir: Option<PathBuf>,
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
                // A link's stamp is its target's: editing the target must refresh the index.
                let meta = if kind.is_symlink() { std::fs::metadata(&p) } else { e.metadata() };
                let st = meta.ok().as_ref().and_then(stamp_of);
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

/// Checks the index of `kb_dir` as an open would (checksums, segments), without building or
/// changing it: the number of passages, `None` when there is no index yet.
pub fn check_index(kb_dir: &Path, data_dir: &Path) -> std::result::Result<Option<u64>, IndexError> {
    let dir = index_dir_for(kb_dir, data_dir);
    if read_manifest(&dir).is_none() {
        return Ok(None);
    }
    let _open = lock(&dir, LockKind::Open, true)?;
    Ok(Some(KbIndex::open_checked(&dir)?.num_passages()))
}

impl KbIndex {
    fn from_index(index: Index) -> Result<Self> {
        analyzers::register(&index);
        let fields = Fields::resolve(&index.schema())?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, fields, dir: None })
    }

    /// Forgets the manifest of a damaged on-disk index, so the next open rebuilds it.
    pub(crate) fn mark_damaged(&self, why: &str) {
        if let Some(dir) = &self.dir {
            tracing::error!(dir = %dir.display(), why, "index damaged; it will be rebuilt on the next open");
            let _ = std::fs::remove_file(dir.join(MANIFEST));
        }
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
        let mut me = Self::from_index(Index::create_in_dir(dir, schema)?)?;
        me.dir = Some(dir.to_owned());
        Ok(me)
    }

    /// Opens an existing index and checks it can serve a search; a panic inside tantivy (which
    /// some damaged files cause) is caught and reported as damage.
    fn open_checked(dir: &Path) -> std::result::Result<Self, IndexError> {
        let damaged = |detail: String| IndexError::Damaged { dir: dir.to_owned(), detail };
        match std::panic::catch_unwind(|| Self::open_checked_inner(dir)) {
            Ok(result) => result.map_err(|e| damaged(format!("{e:#}"))),
            Err(payload) => Err(damaged(format!("tantivy panicked: {}", panic_text(&*payload)))),
        }
    }

    fn open_checked_inner(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir)?;
        let (expected, _) = schema::build();
        if index.schema() != expected {
            anyhow::bail!("schema differs from this build's");
        }
        // Every file of the committed segments against its footer checksum: random bytes
        // anywhere are found here, before a search trips on them.
        let bad = index.validate_checksum()?;
        if !bad.is_empty() {
            let mut names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
            names.sort();
            anyhow::bail!("checksum mismatch in {}", names.join(", "));
        }
        let mut me = Self::from_index(index)?;
        me.dir = Some(dir.to_owned());
        let searcher = me.reader.searcher();
        for segment in searcher.segment_readers() {
            // Touch every field's inverted index, field norms and the doc store so truncated
            // files fail here.
            for field in [me.fields.body, me.fields.body_zh, me.fields.title, me.fields.keys] {
                segment.inverted_index(field)?;
                let norms = segment.get_fieldnorms_reader(field)?;
                for doc in 0..segment.max_doc() {
                    norms.fieldnorm(doc);
                }
            }
            segment.get_store_reader(0)?;
        }
        Ok(me)
    }

    pub fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
        self.index.writer_with_num_threads(threads, WRITER_MEMORY).map_err(|e| self.explain("opening a writer", e))
    }

    /// A tantivy error as a user-readable one naming the index folder.
    fn explain(&self, action: &'static str, e: tantivy::TantivyError) -> anyhow::Error {
        let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from("(in memory)"));
        let detail = match &e {
            tantivy::TantivyError::LockFailure(..) => {
                "another program holds the index's writer lock (if no Deskpilot is running, remove the \
                 `.tantivy-writer.lock` file there)"
                    .to_owned()
            }
            other => other.to_string(),
        };
        IndexError::Tantivy { dir, action, detail }.into()
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

    /// Opens the index of `kb_dir` under `data_dir`, building or refreshing it as needed; when
    /// another process is updating it, opens the last committed index if it is sound.
    pub fn open_or_build(
        kb_dir: &Path,
        data_dir: &Path,
        opts: &ChunkOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Self, IndexReport)> {
        Self::open_or_build_with(kb_dir, data_dir, opts, progress, WhenBusy::UseCommitted)
    }

    /// [`Self::open_or_build`], choosing what to do while another process updates the index.
    pub fn open_or_build_with(
        kb_dir: &Path,
        data_dir: &Path,
        opts: &ChunkOptions,
        progress: &dyn Fn(usize, usize),
        busy: WhenBusy,
    ) -> Result<(Self, IndexReport)> {
        let started = Instant::now();
        match std::fs::metadata(kb_dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(IndexError::KbNotAFolder(kb_dir.to_owned()).into()),
            Err(_) => return Err(IndexError::KbMissing(kb_dir.to_owned()).into()),
        }
        let dir = index_dir_for(kb_dir, data_dir);
        let writer_lock = match try_lock_writer(&dir)? {
            Some(held) => held,
            None => {
                if busy == WhenBusy::UseCommitted {
                    let opened = {
                        let _open = lock(&dir, LockKind::Open, true)?;
                        read_manifest(&dir)
                            .filter(|m| m.schema_version == SCHEMA_VERSION)
                            .map(|m| (m, Self::open_checked(&dir)))
                    };
                    if let Some((m, Ok(me))) = opened {
                        tracing::info!(dir = %dir.display(), "another Deskpilot is updating the index; using the last committed one");
                        let report = IndexReport {
                            index_dir: dir.clone(),
                            articles: m.articles.len(),
                            passages: me.num_passages() as usize,
                            kb_hash: m.kb_hash,
                            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
                            used_committed: true,
                            ..IndexReport::default()
                        };
                        return Ok((me, report));
                    }
                }
                lock(&dir, LockKind::Writer, false)?
            }
        };
        let result = Self::refresh(kb_dir, &dir, opts, progress, started);
        drop(writer_lock);
        result
    }

    /// The body of [`Self::open_or_build_with`], run holding the writer lock.
    fn refresh(
        kb_dir: &Path,
        dir: &Path,
        opts: &ChunkOptions,
        progress: &dyn Fn(usize, usize),
        started: Instant,
    ) -> Result<(Self, IndexReport)> {
        let dir = dir.to_owned();
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
                    tracing::warn!(error = %e, "rebuilding the index");
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
            Some(_) => Self::open_checked(&dir).map_err(|e| match e {
                IndexError::Damaged { detail, .. } => format!("index is unreadable: {detail}"),
                other => format!("index is unreadable: {other}"),
            }),
        };
        // A rebuild removes the folder: readers must not be opening it meanwhile.
        let mut _rebuilding = None;
        let (me, old) = match reusable {
            Ok(me) => (me, manifest.map(|m| m.articles).unwrap_or_default()),
            Err(why) => {
                if manifest.is_some() || dir.exists() {
                    tracing::warn!(dir = %dir.display(), reason = %why, "rebuilding index");
                }
                report.rebuilt = Some(why);
                _rebuilding = Some(lock(&dir, LockKind::Open, false)?);
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
            writer.commit().map_err(|e| me.explain("committing the index", e))?;
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
