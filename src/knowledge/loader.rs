//! Loading a KB folder: every `.md` file below it, recursively. A bad file becomes an [`Issue`]
//! naming the file and line, and never stops the others from loading.
//!
//! Only regular files are read: a FIFO, socket or device named `*.md` is skipped with an error
//! (opening a FIFO would wait for a writer forever; `/dev/zero` never ends), and the size limit
//! is enforced on the bytes actually read, not on what `stat` claims. Symbolic links are followed
//! only when they resolve to a regular file inside the KB folder: a link that leaves the folder is
//! skipped with an error naming its target, so the KB is exactly what lives in its folder (a stray
//! link to a home directory or `/dev` never reaches a draft). Linked folders are not descended.

use super::{Article, FrontMatter, parse_body};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Articles larger than this are refused (a KB article is a page, not a book).
pub const MAX_ARTICLE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A problem found in a KB file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: PathBuf,
    /// 1-based line, where one applies.
    pub line: Option<usize>,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match self.line {
            Some(line) => write!(f, "{}:{line}: {sev}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {sev}: {}", self.path.display(), self.message),
        }
    }
}

/// A loaded knowledge base.
#[derive(Debug, Clone, Default)]
pub struct Kb {
    pub root: PathBuf,
    /// Articles sorted by slug.
    pub articles: Vec<Article>,
    pub issues: Vec<Issue>,
}

impl Kb {
    pub fn errors(&self) -> usize {
        self.issues.iter().filter(|i| i.severity == Severity::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.issues.iter().filter(|i| i.severity == Severity::Warning).count()
    }

    pub fn article(&self, slug: &str) -> Option<&Article> {
        self.articles.iter().find(|a| a.slug == slug)
    }
}

/// The slug of a file: its path under the root, without `.md`, with `/` separators.
pub fn slug_for(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    s.join("/").trim_end_matches(".md").to_owned()
}

fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"))
}

fn is_asset(path: &Path) -> bool {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    matches!(ext.as_str(), "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "pdf")
}

/// Lists files below `root`, sorted, skipping hidden entries.
fn walk(root: &Path, issues: &mut Vec<Issue>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                issues.push(Issue {
                    path: dir,
                    line: None,
                    severity: Severity::Error,
                    message: format!("cannot read folder: {e}"),
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_symlink() && path.is_dir() => issues.push(warn(
                    &path,
                    None,
                    "symbolic link to a folder; linked folders are not followed (put the articles in the KB folder)",
                )),
                Ok(_) => files.push(path),
                Err(e) => issues.push(error(&path, None, format!("cannot read: {e}"))),
            }
        }
    }
    files.sort();
    files
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Splits `---\n yaml \n---\n body`; returns (yaml, yaml's first line, body offset).
fn split_front_matter(text: &str) -> Option<(&str, usize)> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let start = text.len() - rest.len();
    let mut pos = start;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&text[start..pos], pos + line.len()));
        }
        pos += line.len();
    }
    None
}

/// Loads every article below `root`. Problems become issues; good articles always load.
pub fn load_kb(root: &Path) -> Kb {
    let mut kb = Kb { root: root.to_owned(), ..Kb::default() };
    if !root.is_dir() {
        kb.issues.push(Issue {
            path: root.to_owned(),
            line: None,
            severity: Severity::Error,
            message: "not a folder".into(),
        });
        return kb;
    }
    let mut links: Vec<(usize, PathBuf, usize, String)> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in walk(root, &mut kb.issues) {
        if !is_markdown(&path) {
            if !is_asset(&path) {
                kb.issues.push(warn(&path, None, "not a Markdown (.md) file; ignored"));
            }
            continue;
        }
        let Some(article) = load_article(root, &path, &mut kb.issues) else { continue };
        let key = article.meta.id.clone().unwrap_or_else(|| article.slug.clone()).to_lowercase();
        if let Some(first) = seen.get(&key) {
            kb.issues.push(error(
                &path,
                Some(1),
                format!("duplicate slug `{key}` (already used by {}); this article is skipped", first.display()),
            ));
            continue;
        }
        seen.insert(key, path.clone());
        let (_, body_links) = parse_body(&article.body, &article.meta.title);
        // Newline offsets once, so a paragraph of 50,000 links is not 50,000 scans of the body.
        let newlines: Vec<usize> =
            article.body.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect();
        for l in body_links {
            let line = article.body_line + newlines.partition_point(|&nl| nl < l.offset);
            links.push((kb.articles.len(), path.clone(), line, l.dest));
        }
        kb.articles.push(article);
    }
    check_links(root, &kb.articles, &links, &mut kb.issues);
    kb.articles.sort_by(|a, b| a.slug.cmp(&b.slug));
    kb
}

fn warn(path: &Path, line: Option<usize>, message: impl Into<String>) -> Issue {
    Issue { path: path.to_owned(), line, severity: Severity::Warning, message: message.into() }
}

fn error(path: &Path, line: Option<usize>, message: impl Into<String>) -> Issue {
    Issue { path: path.to_owned(), line, severity: Severity::Error, message: message.into() }
}

/// Reads one article by slug with the loader's own checks (for showing it whole); `None` when it
/// is missing or would be skipped by `load_kb`.
pub fn read_article(root: &Path, slug: &str) -> Option<Article> {
    load_article(root, &root.join(format!("{slug}.md")), &mut Vec::new())
}

/// What kind of file system entry a path is, in words, for "skipped" messages.
fn kind_of(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if t.is_dir() { "a folder" } else { "an unusual file" }
}

/// Checks that `path` may be read as an article: a regular file, or a symbolic link to a regular
/// file inside `root`. The error is the reason it is skipped.
fn check_readable(root: &Path, path: &Path) -> Result<(), String> {
    let lmeta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if lmeta.file_type().is_symlink() {
        let target =
            std::fs::canonicalize(path).map_err(|e| format!("symbolic link that cannot be resolved ({e}); skipped"))?;
        let inside = std::fs::canonicalize(root).is_ok_and(|r| target.starts_with(&r));
        if !inside {
            return Err(format!(
                "symbolic link to {}, outside the KB folder; links that leave the KB are not followed; skipped",
                target.display()
            ));
        }
        let meta = std::fs::metadata(&target).map_err(|e| format!("cannot read: {e}"))?;
        if !meta.is_file() {
            return Err(format!("symbolic link to {}, {}; skipped", target.display(), kind_of(meta.file_type())));
        }
        return Ok(());
    }
    if !lmeta.is_file() {
        return Err(format!("{}, not a regular file; skipped", kind_of(lmeta.file_type())));
    }
    Ok(())
}

/// Reads at most `limit` bytes of a regular file. Opened non-blocking, so a file swapped for a
/// FIFO after [`check_readable`] cannot hang the load; the limit holds whatever `stat` said.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{}, not a regular file; skipped", kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(format!("file is {} bytes, over the {limit}-byte limit; skipped", meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("file grew past the {limit}-byte limit while being read; skipped"));
    }
    Ok(bytes)
}

fn load_article(root: &Path, path: &Path, issues: &mut Vec<Issue>) -> Option<Article> {
    let read = check_readable(root, path).and_then(|()| read_limited(path, MAX_ARTICLE_BYTES));
    let bytes = match read {
        Ok(b) => b,
        Err(why) => {
            issues.push(error(path, None, why));
            return None;
        }
    };
    let hash = crate::util::hex(&Sha256::digest(&bytes));
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            issues.push(error(path, Some(line), format!("not UTF-8 text (invalid byte at offset {at}); skipped")));
            return None;
        }
    };
    if text.trim().is_empty() {
        issues.push(error(path, None, "empty file; skipped"));
        return None;
    }
    let Some((yaml, body_offset)) = split_front_matter(&text) else {
        issues.push(error(
            path,
            Some(1),
            "missing front matter: the file must start with a `---` line, then YAML, then `---`; skipped",
        ));
        return None;
    };
    let meta = parse_front_matter(path, yaml, issues)?;
    let body = text[body_offset..].to_owned();
    let body_line = line_of(&text, body_offset);
    if body.trim().is_empty() {
        issues.push(error(path, Some(body_line), "article has no text after the front matter; skipped"));
        return None;
    }
    Some(Article { slug: slug_for(root, path), path: path.to_owned(), meta, body, body_offset, body_line, hash })
}

fn parse_front_matter(path: &Path, yaml: &str, issues: &mut Vec<Issue>) -> Option<FrontMatter> {
    const KNOWN: [&str; 8] = ["title", "category", "lang", "tags", "id", "updated", "audience", "sources"];
    // Line 1 is the opening `---`; YAML line n is file line n + 1.
    let raw: BTreeMap<String, serde_norway::Value> = match serde_norway::from_str(yaml) {
        Ok(v) => v,
        Err(e) => {
            let line = e.location().map(|l| l.line() + 1).unwrap_or(2);
            let detail = strip_yaml_positions(&e.to_string());
            issues.push(error(path, Some(line), format!("invalid front matter: {detail}; skipped")));
            return None;
        }
    };
    let key_line = |key: &str| {
        yaml.lines().position(|l| l.trim_start().starts_with(&format!("{key}:"))).map(|i| i + 2).or(Some(2))
    };
    for key in raw.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        issues.push(warn(
            path,
            key_line(key),
            format!("unknown front-matter key `{key}` (known: {})", KNOWN.join(", ")),
        ));
    }
    let mut value = serde_norway::Mapping::new();
    for (k, v) in raw.into_iter().filter(|(k, _)| KNOWN.contains(&k.as_str())) {
        value.insert(serde_norway::Value::String(k), v);
    }
    let mut meta: FrontMatter = match serde_norway::from_value(serde_norway::Value::Mapping(value)) {
        Ok(m) => m,
        Err(e) => {
            let msg = e.to_string();
            let key = KNOWN.iter().find(|k| msg.contains(&format!("`{k}`")) || msg.contains(*k));
            issues.push(error(path, key.and_then(|k| key_line(k)), format!("invalid front matter: {msg}; skipped")));
            return None;
        }
    };
    if meta.title.trim().is_empty() {
        issues.push(error(path, key_line("title"), "front matter `title` is empty; skipped"));
        return None;
    }
    if meta.lang.is_empty() {
        issues.push(warn(path, Some(2), "front matter has no `lang`; assuming `en`"));
        meta.lang = "en".into();
    }
    if meta.category.is_empty() {
        issues.push(warn(path, Some(2), "front matter has no `category`"));
    }
    Some(meta)
}

/// Removes the parser's " at line N column M" (YAML-relative, so misleading next to our
/// file-relative line number).
fn strip_yaml_positions(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
        rest = match after.strip_prefix(" column ") {
            Some(col) => col.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => after,
        };
    }
    out.push_str(rest);
    out
}

/// Relative `.md` links must point at an article of this KB.
fn check_links(root: &Path, articles: &[Article], links: &[(usize, PathBuf, usize, String)], issues: &mut Vec<Issue>) {
    let slugs: std::collections::HashSet<&str> = articles.iter().map(|a| a.slug.as_str()).collect();
    for (idx, path, line, dest) in links {
        if dest.contains("://") || dest.starts_with("mailto:") || dest.starts_with('#') {
            continue;
        }
        let target = dest.split('#').next().unwrap_or("");
        if !target.ends_with(".md") {
            continue;
        }
        let base = articles[*idx].path.parent().unwrap_or(root);
        let joined = normalize(&base.join(target));
        let slug = slug_for(root, &joined);
        if !slugs.contains(slug.as_str()) {
            issues.push(error(path, Some(*line), format!("broken link to `{dest}`: no such article in the KB")));
        }
    }
}

/// Resolves `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
