//! The vector file kept beside an index: one row of f32 per passage (or sentence), contiguous, so
//! brute-force cosine is one pass over memory.
//!
//! Layout (little-endian):
//! ```text
//! magic  b"DPVECS\0\0"        8 bytes
//! version u32, dim u32, count u32, reserved u32
//! model sha256                 32 bytes  (the weights the rows came from)
//! set hash                     32 bytes  (hash over every row's key: the content identity)
//! source hash                  32 bytes  (the caller's identity of the source, e.g. the KB hash)
//! labels length u64, labels    JSON: [[id, slug], ...], count entries
//! keys                         count x 16 bytes (sha256 prefix of the embedded text)
//! rows                         count x dim x f32
//! ```
//! A file with another magic, version, model or a short body is rejected; the caller rebuilds it.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"DPVECS\0\0";
/// Bumped whenever the layout or the embedded text changes.
pub const VERSION: u32 = 1;
const HEADER: usize = 8 + 16 + 32 + 32 + 32 + 8;

/// A row's content key: what was embedded, hashed.
pub type Key = [u8; 16];

/// Key of an embedded text.
pub fn key_of(text: &str) -> Key {
    let digest = Sha256::digest(text.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

/// Hash over a list of keys (order matters).
pub fn set_hash(keys: &[Key]) -> [u8; 32] {
    let mut h = Sha256::new();
    for k in keys {
        h.update(k);
    }
    h.finalize().into()
}

/// Rows of vectors with their labels and content keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorFile {
    pub dim: usize,
    pub model_sha: [u8; 32],
    /// What the rows were made from, as the caller identifies it (zeros: unspecified).
    pub source: [u8; 32],
    /// `(id, slug, lang)` of each row.
    pub labels: Vec<(String, String, String)>,
    pub keys: Vec<Key>,
    /// `labels.len() x dim` floats, row-major.
    pub rows: Vec<f32>,
}

/// Why a vector file was not usable.
#[derive(Debug, thiserror::Error)]
pub enum VectorFileError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The model hash as raw bytes (from its hex form); zeros when it is not hex.
pub fn sha_bytes(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = hex.get(2 * i..2 * i + 2).and_then(|s| u8::from_str_radix(s, 16).ok()).unwrap_or(0);
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

impl VectorFile {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Row `i`, `dim` floats.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.dim..(i + 1) * self.dim]
    }

    /// Mean and standard deviation of the cosine between rows whose language `keep` accepts,
    /// over a fixed sample of pairs: how this encoder's cosines spread, to put another encoder's
    /// on the same scale. `None` with fewer than 10 such rows.
    pub fn cosine_spread(&self, keep: impl Fn(&str) -> bool) -> Option<(f32, f32)> {
        let rows: Vec<usize> = (0..self.len()).filter(|&i| keep(&self.labels[i].2)).collect();
        let n = rows.len();
        if n < 10 {
            return None;
        }
        let cos: Vec<f32> = (0..n.min(4000))
            .flat_map(|i| [1, 7, 31].map(|step| (i, (i * 7919 + step * 104_729) % n)))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| super::dot(self.row(rows[a]), self.row(rows[b])))
            .collect();
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        let var = cos.iter().map(|c| (c - mean) * (c - mean)).sum::<f32>() / cos.len() as f32;
        Some((mean, var.sqrt().max(1e-6)))
    }

    /// Content identity of the rows.
    pub fn set_hash(&self) -> [u8; 32] {
        set_hash(&self.keys)
    }

    /// Reads and checks a file: magic, version, model and sizes.
    pub fn read(path: &Path, model_sha: &[u8; 32], dim: usize) -> Result<Self, VectorFileError> {
        let bad = |why: &str| VectorFileError::Invalid(why.to_owned());
        let b = std::fs::read(path)?;
        if b.len() < HEADER || &b[..8] != MAGIC {
            return Err(bad("bad magic"));
        }
        if u32_at(&b, 8) != VERSION {
            return Err(bad("another format version"));
        }
        if u32_at(&b, 12) as usize != dim {
            return Err(bad("another vector width"));
        }
        let count = u32_at(&b, 16) as usize;
        if &b[24..56] != model_sha {
            return Err(bad("made by another model"));
        }
        let stored_set = &b[56..88];
        let mut source = [0u8; 32];
        source.copy_from_slice(&b[88..120]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&b[120..128]);
        let labels_len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| bad("bad labels length"))?;
        let keys_at = HEADER.checked_add(labels_len).ok_or_else(|| bad("bad labels length"))?;
        let rows_at = keys_at + count * 16;
        if b.len() != rows_at + count * dim * 4 {
            return Err(bad("wrong size for its row count"));
        }
        let labels: Vec<(String, String, String)> =
            serde_json::from_slice(&b[HEADER..keys_at]).map_err(|e| VectorFileError::Invalid(e.to_string()))?;
        if labels.len() != count {
            return Err(bad("label count differs from the row count"));
        }
        let keys: Vec<Key> = b[keys_at..rows_at]
            .chunks_exact(16)
            .map(|c| {
                let mut k = [0u8; 16];
                k.copy_from_slice(c);
                k
            })
            .collect();
        if set_hash(&keys) != stored_set {
            return Err(bad("keys do not match their hash"));
        }
        let rows = b[rows_at..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(Self { dim, model_sha: *model_sha, source, labels, keys, rows })
    }

    /// Writes atomically (a temporary file, then a rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let labels = serde_json::to_vec(&self.labels).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            f.write_all(MAGIC)?;
            for x in [VERSION, self.dim as u32, self.len() as u32, 0] {
                f.write_all(&x.to_le_bytes())?;
            }
            f.write_all(&self.model_sha)?;
            f.write_all(&self.set_hash())?;
            f.write_all(&self.source)?;
            f.write_all(&(labels.len() as u64).to_le_bytes())?;
            f.write_all(&labels)?;
            for k in &self.keys {
                f.write_all(k)?;
            }
            for x in &self.rows {
                f.write_all(&x.to_le_bytes())?;
            }
            f.flush()?;
        }
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_spread_reads_only_the_rows_asked_for() {
        let dim = 4;
        let mut f = VectorFile { dim, ..VectorFile::default() };
        for i in 0..40 {
            let mut v = vec![1.0, (i % 5) as f32 * 0.1, 0.0, 0.0];
            crate::semantic::normalize(&mut v);
            f.rows.extend(v);
            let lang = if i < 20 { "en" } else { "zh" };
            f.labels.push((format!("p{i}"), "a".into(), lang.into()));
            f.keys.push(key_of(&format!("p{i}")));
        }
        let (mean, sd) = f.cosine_spread(|l| l == "en").expect("20 rows");
        assert!(mean > 0.95 && mean <= 1.0 && sd < 0.05, "{mean} {sd}");
        assert!(f.cosine_spread(|l| l == "fr").is_none());
    }

    #[test]
    fn round_trip_and_rejections() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.vec");
        let sha = sha_bytes(&"ab".repeat(32));
        let file = VectorFile {
            dim: 2,
            model_sha: sha,
            source: [7; 32],
            labels: vec![("a#0".into(), "a".into(), "en".into()), ("b#0".into(), "b".into(), "zh".into())],
            keys: vec![key_of("x"), key_of("y")],
            rows: vec![1.0, 0.0, 0.0, 1.0],
        };
        file.write(&path).expect("write");
        assert_eq!(VectorFile::read(&path, &sha, 2).expect("read"), file);
        assert!(VectorFile::read(&path, &[0; 32], 2).is_err(), "other model");
        assert!(VectorFile::read(&path, &sha, 3).is_err(), "other width");
        let mut bytes = std::fs::read(&path).expect("bytes");
        bytes.truncate(bytes.len() - 4);
        std::fs::write(&path, &bytes).expect("truncate");
        assert!(VectorFile::read(&path, &sha, 2).is_err(), "short");
        std::fs::write(&path, b"garbage").expect("garbage");
        assert!(VectorFile::read(&path, &sha, 2).is_err(), "magic");
    }
}
