//! Precision and recall of the detector on a labelled set: one JSON object per line,
//! `{"text": ..., "pii": [{"kind": "phone", "text": "+1 415 555 0100"}]}`.
//!
//! A finding counts as right when a labelled item of the same kind overlaps it (labels are
//! located by their first occurrence in the text); each labelled item is matched at most once.

use super::detect::{Kind, find};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    text: String,
    pii: Vec<Label>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    kind: Kind,
    text: String,
}

/// Precision and recall counts (the PII set's, and the understanding sets').
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Counts {
    pub labelled: usize,
    pub found: usize,
    pub right: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        if self.found == 0 { 1.0 } else { self.right as f64 / self.found as f64 }
    }
    pub fn recall(&self) -> f64 {
        if self.labelled == 0 { 1.0 } else { self.right as f64 / self.labelled as f64 }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub cases: usize,
    pub all: Counts,
    pub by_kind: BTreeMap<&'static str, Counts>,
    /// Each miss and false alarm, for reading: `line: kind "text"`.
    pub misses: Vec<String>,
    pub false_alarms: Vec<String>,
}

/// The bundled hand-labelled set.
pub const BUNDLED: &str = include_str!("../../assets/eval/pii.jsonl");

pub fn run(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    run_text(&text, path)
}

/// Scores the labelled cases in `text` (`path` names them in errors).
pub fn run_text(text: &str, path: &Path) -> Result<Report> {
    let mut report = Report {
        cases: 0,
        all: Counts::default(),
        by_kind: BTreeMap::new(),
        misses: Vec::new(),
        false_alarms: Vec::new(),
    };
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let case: Case =
            serde_json::from_str(line).with_context(|| format!("{}:{}: not a labelled case", path.display(), i + 1))?;
        report.cases += 1;
        let mut gold = Vec::new();
        for l in &case.pii {
            let Some(start) = case.text.find(&l.text) else {
                bail!("{}:{}: label {:?} is not in the text", path.display(), i + 1, l.text);
            };
            gold.push((l.kind, start..start + l.text.len(), false));
        }
        for (kind, _, _) in &gold {
            report.all.labelled += 1;
            report.by_kind.entry(kind.as_str()).or_default().labelled += 1;
        }
        for f in find(&case.text, &Kind::ALL) {
            report.all.found += 1;
            let c = report.by_kind.entry(f.kind.as_str()).or_default();
            c.found += 1;
            let hit = gold
                .iter_mut()
                .find(|(k, r, used)| !*used && *k == f.kind && r.start < f.range.end && f.range.start < r.end);
            match hit {
                Some(g) => {
                    g.2 = true;
                    c.right += 1;
                    report.all.right += 1;
                }
                None => report.false_alarms.push(format!("{}: {} {:?}", i + 1, f.kind.as_str(), &case.text[f.range])),
            }
        }
        for (kind, r, used) in gold {
            if !used {
                report.misses.push(format!("{}: {} {:?}", i + 1, kind.as_str(), &case.text[r]));
            }
        }
    }
    Ok(report)
}
