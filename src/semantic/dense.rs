//! Dense retrieval: passage (and sentence) vectors of a KB, built with the [`Encoder`], kept in
//! [`VectorFile`]s keyed by content so only changed passages are re-embedded, and searched by
//! brute-force cosine.

use super::multilingual::{Multilingual, Role};
use super::vectors::{Key, VectorFile, key_of, sha_bytes};
use super::{Encoder, EncoderError};
use crate::knowledge::Chunk;
use std::collections::HashMap;
use std::path::Path;

/// The multilingual encoder's files: Chinese passages, Chinese sentences.
const CHINESE_FILES: [&str; 2] = ["passages-zh.vec", "sentences-zh.vec"];

/// Passages embedded per encoder call (progress is reported between calls).
const STEP: usize = 256;

/// The text a passage is embedded as: where it sits, then what it says.
pub fn passage_text(c: &Chunk) -> String {
    let mut s = c.title.clone();
    for h in &c.section {
        s.push_str(" > ");
        s.push_str(h);
    }
    s.push_str(": ");
    s.push_str(&c.text);
    s
}

pub use crate::text::sentences;

/// One text to embed, with its row label.
struct Item {
    id: String,
    slug: String,
    lang: String,
    text: String,
}

impl Item {
    fn of(c: &Chunk, id: String, text: String) -> Self {
        Self { id, slug: c.slug.clone(), lang: c.lang.clone(), text }
    }
}

/// One item per sentence of each chunk, labelled `<passage id>/<n>`.
fn sentence_items<'a>(chunks: impl Iterator<Item = &'a Chunk>) -> Vec<Item> {
    chunks
        .flat_map(|c| {
            sentences(&c.text)
                .into_iter()
                .enumerate()
                .map(|(i, s)| Item::of(c, format!("{}/{i}", c.id), s.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What building the vectors did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DenseReport {
    pub passages: usize,
    /// Passage rows embedded now (the rest came from the file).
    pub embedded: usize,
    pub sentences: usize,
    pub sentences_embedded: usize,
    /// Why the stored file was not used, if it existed and was not.
    pub rebuilt: Option<String>,
}

/// Passage vectors (one row per passage, in the order given) and optional sentence vectors.
#[derive(Debug, Clone, Default)]
pub struct DenseIndex {
    pub passages: VectorFile,
    pub sentences: Option<VectorFile>,
    /// Sentence key -> row of `sentences`, built on first use.
    lookup: std::sync::OnceLock<HashMap<Key, usize>>,
    /// Which article each passage row belongs to, built on first use.
    articles: std::sync::OnceLock<Articles>,
}

/// Passage rows grouped by article, so ranking 100k passages needs no string hashing.
#[derive(Debug, Clone, Default)]
struct Articles {
    slugs: Vec<String>,
    by_slug: HashMap<String, u32>,
    /// Article of each row.
    of_row: Vec<u32>,
    /// Rows of each article.
    rows: Vec<Vec<u32>>,
    /// Whether each row is a Chinese passage.
    zh: Vec<bool>,
}

impl Articles {
    fn of(file: &VectorFile) -> Self {
        let mut a = Self::default();
        for (row, (_, slug, lang)) in file.labels.iter().enumerate() {
            let next = a.slugs.len() as u32;
            let id = *a.by_slug.entry(slug.clone()).or_insert(next);
            if id == next {
                a.slugs.push(slug.clone());
                a.rows.push(Vec::new());
            }
            a.of_row.push(id);
            a.rows[id as usize].push(row as u32);
            a.zh.push(lang.starts_with("zh"));
        }
        a
    }
}

/// What fills vector files: an encoder, and the sha256 its vectors are keyed by.
trait Embed: Sync {
    fn dim(&self) -> usize;
    fn model_sha256(&self) -> &str;
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError>;
}

impl Embed for Encoder {
    fn dim(&self) -> usize {
        Encoder::dim(self)
    }
    fn model_sha256(&self) -> &str {
        Encoder::model_sha256(self)
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        self.encode(texts)
    }
}

/// The multilingual encoder reading KB text (its `passage: ` side).
struct AsPassages<'a>(&'a Multilingual);

impl Embed for AsPassages<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn model_sha256(&self) -> &str {
        self.0.model_sha256()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        self.0.encode(texts, Role::Passage)
    }
}

/// Loads `path` if it is a valid file for this encoder; the reason it is not, otherwise (a missing
/// file has no reason worth a warning).
fn load_old(path: Option<&Path>, encoder: &dyn Embed) -> (Option<VectorFile>, Option<String>) {
    let Some(path) = path.filter(|p| p.exists()) else { return (None, None) };
    match VectorFile::read(path, &sha_bytes(encoder.model_sha256()), encoder.dim()) {
        Ok(f) => (Some(f), None),
        Err(e) => {
            tracing::warn!(file = %path.display(), reason = %e, "vector file unusable; re-embedding");
            (None, Some(e.to_string()))
        }
    }
}

/// How often a long embedding run saves what it has, so an interrupted run resumes from there.
const CHECKPOINT: std::time::Duration = std::time::Duration::from_secs(30);

/// The rows of `items` marked in `have`, as a file of their own (`source` unset, so it is only
/// ever reused row by row, never taken for a finished index).
fn partial(encoder: &dyn Embed, items: &[Item], keys: &[Key], rows: &[f32], have: &[bool]) -> VectorFile {
    let dim = encoder.dim();
    let picked: Vec<usize> = (0..items.len()).filter(|&i| have[i]).collect();
    VectorFile {
        dim,
        model_sha: sha_bytes(encoder.model_sha256()),
        source: [0; 32],
        labels: picked.iter().map(|&i| (items[i].id.clone(), items[i].slug.clone(), items[i].lang.clone())).collect(),
        keys: picked.iter().map(|&i| keys[i]).collect(),
        rows: picked.iter().flat_map(|&i| rows[i * dim..(i + 1) * dim].iter().copied()).collect(),
    }
}

/// Rows for `items`, reusing `old` rows with the same key and embedding the
/// rest. `progress(done, total)` counts embedded rows. `save`: where to checkpoint a long run.
fn fill(
    encoder: &dyn Embed,
    items: &[Item],
    old: Option<&VectorFile>,
    save: Option<&Path>,
    progress: &dyn Fn(usize, usize),
) -> Result<(VectorFile, usize), EncoderError> {
    let dim = encoder.dim();
    let known: HashMap<Key, usize> =
        old.map(|f| f.keys.iter().enumerate().map(|(i, k)| (*k, i)).collect()).unwrap_or_default();
    let keys: Vec<Key> = items.iter().map(|i| key_of(&i.text)).collect();
    let mut rows = vec![0f32; items.len() * dim];
    let mut todo: Vec<usize> = (0..items.len()).filter(|i| !known.contains_key(&keys[*i])).collect();
    // Longest first across all steps (not just inside one), so each batch pads little.
    todo.sort_by_key(|&i| std::cmp::Reverse(items[i].text.len()));
    let mut have = vec![false; items.len()];
    for (i, k) in keys.iter().enumerate() {
        if let (Some(&j), Some(f)) = (known.get(k), old) {
            rows[i * dim..(i + 1) * dim].copy_from_slice(f.row(j));
            have[i] = true;
        }
    }
    let mut saved = std::time::Instant::now();
    for (n, step) in todo.chunks(STEP).enumerate() {
        let texts: Vec<&str> = step.iter().map(|&i| items[i].text.as_str()).collect();
        for (&i, v) in step.iter().zip(encoder.embed(&texts)?) {
            rows[i * dim..(i + 1) * dim].copy_from_slice(&v);
            have[i] = true;
        }
        progress((n * STEP + step.len()).min(todo.len()), todo.len());
        if let Some(path) = save.filter(|_| saved.elapsed() >= CHECKPOINT) {
            if let Err(e) = partial(encoder, items, &keys, &rows, &have).write(path) {
                tracing::warn!(file = %path.display(), error = %e, "cannot checkpoint vectors");
            }
            saved = std::time::Instant::now();
        }
    }
    let file = VectorFile {
        dim,
        model_sha: sha_bytes(encoder.model_sha256()),
        source: [0; 32],
        labels: items.iter().map(|i| (i.id.clone(), i.slug.clone(), i.lang.clone())).collect(),
        keys,
        rows,
    };
    Ok((file, todo.len()))
}

impl DenseIndex {
    /// Vectors for `chunks` (rows in their order), reusing what `dir/passages.vec` (and
    /// `sentences.vec` when `with_sentences`) already hold and writing the result back, marked
    /// with `source` (the KB hash). `dir` `None`: nothing is read or written.
    pub fn build(
        encoder: &Encoder,
        chunks: &[Chunk],
        dir: Option<&Path>,
        source: [u8; 32],
        with_sentences: bool,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Self, DenseReport), EncoderError> {
        let mut report = DenseReport { passages: chunks.len(), ..DenseReport::default() };
        let path = dir.map(|d| d.join("passages.vec"));
        let (old, why) = load_old(path.as_deref(), encoder);
        report.rebuilt = why;
        let items: Vec<Item> = chunks.iter().map(|c| Item::of(c, c.id.clone(), passage_text(c))).collect();
        let (passages, embedded) = fill(encoder, &items, old.as_ref(), path.as_deref(), progress)?;
        report.embedded = embedded;
        let sentences = if with_sentences {
            let path = dir.map(|d| d.join("sentences.vec"));
            let (old, _) = load_old(path.as_deref(), encoder);
            let items = sentence_items(chunks.iter());
            let (file, embedded) = fill(encoder, &items, old.as_ref(), path.as_deref(), progress)?;
            report.sentences = file.len();
            report.sentences_embedded = embedded;
            Some(file)
        } else {
            None
        };
        let mut me = Self { passages, sentences, lookup: Default::default(), articles: Default::default() };
        me.passages.source = source;
        if let Some(s) = me.sentences.as_mut() {
            s.source = source;
        }
        if let Some(dir) = dir {
            me.write(dir);
        }
        Ok((me, report))
    }

    /// Vectors of the Chinese passages and sentences of `chunks` (those whose language is `zh`),
    /// by the multilingual encoder: what a Chinese question is ranked against and what the answer
    /// selector compares it with. Reuses and writes `dir/passages-zh.vec` and
    /// `dir/sentences-zh.vec`, marked with `source` (the KB hash) as [`DenseIndex::build`] marks
    /// its files. Returns how many rows it embedded.
    pub fn build_chinese(
        encoder: &Multilingual,
        chunks: &[Chunk],
        dir: Option<&Path>,
        source: [u8; 32],
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Self, usize), EncoderError> {
        let e = AsPassages(encoder);
        let zh: Vec<&Chunk> = chunks.iter().filter(|c| c.lang.starts_with("zh")).collect();
        let passages: Vec<Item> = zh.iter().map(|c| Item::of(c, c.id.clone(), passage_text(c))).collect();
        let sentences = sentence_items(zh.iter().copied());
        let mut files = Vec::new();
        let mut embedded = 0;
        for (name, items) in [(CHINESE_FILES[0], passages), (CHINESE_FILES[1], sentences)] {
            let path = dir.map(|d| d.join(name));
            let (old, _) = load_old(path.as_deref(), &e);
            let (mut file, n) = fill(&e, &items, old.as_ref(), path.as_deref(), progress)?;
            file.source = source;
            if let Some(path) = path.as_deref()
                && (n > 0 || old.is_none_or(|o| o.source != source || o.len() != file.len()))
                && let Err(err) = file.write(path)
            {
                tracing::warn!(file = %path.display(), error = %err, "cannot save vectors");
            }
            embedded += n;
            files.push(file);
        }
        let sentences = files.pop();
        let passages = files.pop().unwrap_or_default();
        Ok((Self { passages, sentences, ..Self::default() }, embedded))
    }

    /// Loads what [`DenseIndex::build_chinese`] wrote in `dir`, when both files were made by
    /// `encoder` from `source` and hold `count` Chinese passages: no need to read the KB again.
    pub fn open_chinese(dir: &Path, encoder: &Multilingual, count: usize, source: &[u8; 32]) -> Result<Self, String> {
        let sha = sha_bytes(encoder.model_sha256());
        let read = |name: &str| {
            let f = VectorFile::read(&dir.join(name), &sha, encoder.dim()).map_err(|e| format!("{name}: {e}"))?;
            if &f.source != source || *source == [0; 32] {
                return Err(format!("{name}: made from another version of the KB"));
            }
            Ok(f)
        };
        let passages = read(CHINESE_FILES[0])?;
        if passages.len() != count {
            return Err(format!("{} rows for {count} Chinese passages", passages.len()));
        }
        Ok(Self { passages, sentences: Some(read(CHINESE_FILES[1])?), ..Self::default() })
    }

    /// Loads `dir/passages.vec` (and `sentences.vec` if present) when it holds exactly `count`
    /// rows made by this encoder from `source`.
    pub fn open(dir: &Path, encoder: &Encoder, count: usize, source: &[u8; 32]) -> Result<Self, String> {
        let sha = sha_bytes(encoder.model_sha256());
        let passages = VectorFile::read(&dir.join("passages.vec"), &sha, encoder.dim()).map_err(|e| e.to_string())?;
        if passages.len() != count {
            return Err(format!("{} rows for {count} passages", passages.len()));
        }
        if &passages.source != source {
            return Err("made from another version of the KB".into());
        }
        let sentences = VectorFile::read(&dir.join("sentences.vec"), &sha, encoder.dim()).ok();
        Ok(Self { passages, sentences, lookup: Default::default(), articles: Default::default() })
    }

    fn write(&self, dir: &Path) {
        let files = std::iter::once(("passages.vec", &self.passages))
            .chain(self.sentences.as_ref().map(|s| ("sentences.vec", s)));
        for (name, file) in files {
            if let Err(e) = file.write(&dir.join(name)) {
                tracing::warn!(file = %dir.join(name).display(), error = %e, "cannot save vectors");
            }
        }
    }

    /// The stored vector of a sentence (as [`sentences`] splits a passage), if it was embedded.
    pub fn sentence_vector(&self, text: &str) -> Option<&[f32]> {
        let file = self.sentences.as_ref()?;
        let lookup = self.lookup.get_or_init(|| file.keys.iter().enumerate().map(|(i, k)| (*k, i)).collect());
        lookup.get(&key_of(text)).map(|&i| file.row(i))
    }

    /// Cosine of `query` (unit, `dim` floats) with every passage, in row order.
    pub fn scores(&self, query: &[f32]) -> Vec<f32> {
        let f = &self.passages;
        if query.len() != f.dim || f.dim == 0 {
            return vec![0.0; f.len()];
        }
        f.rows.chunks_exact(f.dim).map(|row| super::dot(row, query)).collect()
    }

    /// Articles by their best passage's cosine, best first: `(slug, cosine, row)`. `skip_zh`:
    /// leave out Chinese passages (the English encoder cannot read them).
    pub fn rank_articles(&self, query: &[f32], depth: usize, skip_zh: bool) -> Vec<(String, f32, usize)> {
        let scores = self.scores(query);
        let articles = self.articles.get_or_init(|| Articles::of(&self.passages));
        let mut best = vec![(f32::NEG_INFINITY, usize::MAX); articles.slugs.len()];
        for (row, &s) in scores.iter().enumerate() {
            if skip_zh && articles.zh[row] {
                continue;
            }
            let b = &mut best[articles.of_row[row] as usize];
            if s > b.0 {
                *b = (s, row);
            }
        }
        let mut ranked: Vec<(u32, f32, usize)> = best
            .into_iter()
            .enumerate()
            .filter(|(_, (_, row))| *row != usize::MAX)
            .map(|(a, (s, row))| (a as u32, s, row))
            .collect();
        let order = |x: &(u32, f32, usize), y: &(u32, f32, usize)| {
            y.1.total_cmp(&x.1).then_with(|| articles.slugs[x.0 as usize].cmp(&articles.slugs[y.0 as usize]))
        };
        if ranked.len() > depth && depth > 0 {
            ranked.select_nth_unstable_by(depth - 1, order);
        }
        ranked.truncate(depth);
        ranked.sort_by(order);
        ranked.into_iter().map(|(a, s, row)| (articles.slugs[a as usize].clone(), s, row)).collect()
    }

    /// Rows of article `slug`'s passages with their cosine, best first.
    pub fn article_passages(&self, query: &[f32], slug: &str) -> Vec<(usize, f32)> {
        let articles = self.articles.get_or_init(|| Articles::of(&self.passages));
        let rows = articles.by_slug.get(slug).map_or(&[][..], |&a| articles.rows[a as usize].as_slice());
        let mut out: Vec<(usize, f32)> =
            rows.iter().map(|&r| (r as usize, super::dot(self.passages.row(r as usize), query))).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}
