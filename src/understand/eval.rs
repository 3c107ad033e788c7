//! Scoring the understanding on labelled sets: sentiment agreement and flag precision/recall
//! (`assets/eval/sentiment.jsonl`), and key-detail precision/recall
//! (`assets/eval/details.jsonl`).

use super::mood::{Sentiment, assess_turn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The frozen sentiment set (written before the scorer; never tuned on).
pub const SENTIMENT: &str = include_str!("../../assets/eval/sentiment.jsonl");
/// The sentiment set the cues were tuned on.
pub const SENTIMENT_DEV: &str = include_str!("../../assets/eval/sentiment-dev.jsonl");
/// The frozen key-details set.
pub const DETAILS: &str = include_str!("../../assets/eval/details.jsonl");

/// The texts and sentiment labels of a labelled set (for training the head).
pub fn sentiment_labels(text: &str, origin: &Path) -> anyhow::Result<Vec<(String, Sentiment)>> {
    lines(text)
        .map(|(n, line)| {
            let c: SentimentCase =
                serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{}:{n}: {e}", origin.display()))?;
            Ok((c.text, c.sentiment))
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SentimentCase {
    text: String,
    sentiment: Sentiment,
    #[serde(default)]
    cancel: bool,
    #[serde(default)]
    legal: bool,
    #[serde(default)]
    repeat: bool,
    #[serde(default)]
    urgent: bool,
}

pub use crate::privacy::eval::Counts;

#[derive(Debug, Clone, Serialize)]
pub struct SentimentReport {
    pub cases: usize,
    pub agreement: f64,
    pub flags: BTreeMap<&'static str, Counts>,
    pub disagreements: Vec<String>,
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with("//"))
}

/// Sentiment agreement and flag precision/recall on a labelled JSONL set.
pub fn sentiment(text: &str, origin: &Path) -> anyhow::Result<SentimentReport> {
    sentiment_with(text, origin, &|_| None)
}

/// [`sentiment`], with a classifier that may overrule the cue scorer's label of a text (the
/// encoder's head, as the console uses it).
pub fn sentiment_with(
    text: &str,
    origin: &Path,
    classify: &dyn Fn(&str) -> Option<Sentiment>,
) -> anyhow::Result<SentimentReport> {
    let mut flags: BTreeMap<&'static str, Counts> = BTreeMap::new();
    let (mut cases, mut agree, mut disagreements) = (0, 0, Vec::new());
    for (n, line) in lines(text) {
        let c: SentimentCase =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{}:{n}: {e}", origin.display()))?;
        let mut m = assess_turn(&c.text);
        if let Some(s) = classify(&c.text) {
            m.sentiment = s;
        }
        cases += 1;
        if m.sentiment == c.sentiment {
            agree += 1;
        } else {
            disagreements.push(format!(
                "{}:{n}: {:?} labelled {}, scored {} ({:.1})",
                origin.display(),
                c.text,
                c.sentiment.as_str(),
                m.sentiment.as_str(),
                m.score
            ));
        }
        for (name, labelled, found) in [
            ("cancel", c.cancel, m.cancel),
            ("legal", c.legal, m.legal),
            ("repeat", c.repeat, m.repeat),
            ("urgent", c.urgent, m.urgent),
        ] {
            let e = flags.entry(name).or_default();
            e.labelled += usize::from(labelled);
            e.found += usize::from(found);
            e.right += usize::from(labelled && found);
        }
    }
    anyhow::ensure!(cases > 0, "{}: no cases", origin.display());
    Ok(SentimentReport { cases, agreement: agree as f64 / cases as f64, flags, disagreements })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailCase {
    text: String,
    /// When the message was written (the anchor for relative dates), `YYYY-MM-DD`.
    #[serde(default)]
    at: Option<String>,
    /// `kind: value` pairs, values normalised as `details` writes them.
    details: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DetailsReport {
    pub cases: usize,
    pub all: Counts,
    pub by_kind: BTreeMap<String, Counts>,
    pub misses: Vec<String>,
    pub false_alarms: Vec<String>,
}

/// Key-detail precision and recall on a labelled JSONL set: a detail is right when its kind and
/// normalised value match a label.
pub fn details(text: &str, origin: &Path) -> anyhow::Result<DetailsReport> {
    let mut r = DetailsReport {
        cases: 0,
        all: Counts::default(),
        by_kind: BTreeMap::new(),
        misses: vec![],
        false_alarms: vec![],
    };
    for (n, line) in lines(text) {
        let c: DetailCase = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{}:{n}: {e}", origin.display()))?;
        let at = match &c.at {
            Some(d) => {
                crate::review::parse_date(d).map_err(|e| anyhow::anyhow!("{}:{n}: at: {e}", origin.display()))?
            }
            None => crate::review::parse_date("2026-12-02").unwrap_or(0),
        };
        r.cases += 1;
        let found: Vec<String> =
            super::details(&c.text, at).iter().map(|d| format!("{}: {}", d.kind.as_str(), d.value)).collect();
        let kind_of = |s: &str| s.split(':').next().unwrap_or("").trim().to_owned();
        for l in &c.details {
            let k = r.by_kind.entry(kind_of(l)).or_default();
            k.labelled += 1;
            r.all.labelled += 1;
            if found.contains(l) {
                k.right += 1;
                r.all.right += 1;
            } else {
                r.misses.push(format!("{}:{n}: {l} in {:?}", origin.display(), c.text));
            }
        }
        for f in &found {
            r.by_kind.entry(kind_of(f)).or_default().found += 1;
            r.all.found += 1;
            if !c.details.contains(f) {
                r.false_alarms.push(format!("{}:{n}: {f} in {:?}", origin.display(), c.text));
            }
        }
    }
    Ok(r)
}
