//! Acceptance analytics over review rows: the outcome mix, median edit distance and median time
//! to send, overall, per agent, per cited article and per day; plus the knowledge gaps. Drawn
//! as text (bars and sparklines) for the terminal, or serialised as JSON.

use crate::desk::DraftOutcome;
use crate::store::ReviewRow;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many drafts ended each way (`pending`: not sent or discarded yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Mix {
    pub sent_as_is: u64,
    pub edited: u64,
    pub rewritten: u64,
    pub discarded: u64,
    pub pending: u64,
}

impl Mix {
    fn add(&mut self, o: Option<DraftOutcome>) {
        match o {
            Some(DraftOutcome::SentAsIs) => self.sent_as_is += 1,
            Some(DraftOutcome::Edited) => self.edited += 1,
            Some(DraftOutcome::Rewritten) => self.rewritten += 1,
            Some(DraftOutcome::Discarded) => self.discarded += 1,
            None => self.pending += 1,
        }
    }

    /// Drafts with an outcome.
    pub fn decided(&self) -> u64 {
        self.sent_as_is + self.edited + self.rewritten + self.discarded
    }

    /// Share sent as-is or edited (the draft was used), of the decided ones.
    pub fn acceptance(&self) -> Option<f64> {
        let n = self.decided();
        (n > 0).then(|| (self.sent_as_is + self.edited) as f64 / n as f64)
    }
}

/// Figures for one slice of the drafts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Group {
    pub key: String,
    pub drafts: u64,
    pub mix: Mix,
    pub acceptance: Option<f64>,
    pub median_edit_distance: Option<f64>,
    pub median_time_to_send_ms: Option<f64>,
}

#[derive(Default)]
struct Acc {
    mix: Mix,
    edits: Vec<f64>,
    sends: Vec<f64>,
}

impl Acc {
    fn add(&mut self, r: &ReviewRow) {
        self.mix.add(r.outcome);
        if let Some(e) = r.edit_distance {
            self.edits.push(e);
        }
        if let Some(t) = r.time_to_send() {
            self.sends.push(t as f64);
        }
    }

    fn finish(mut self, key: String) -> Group {
        Group {
            key,
            drafts: self.mix.decided() + self.mix.pending,
            acceptance: self.mix.acceptance(),
            mix: self.mix,
            median_edit_distance: median(&mut self.edits),
            median_time_to_send_ms: median(&mut self.sends),
        }
    }
}

/// The median (mean of the middle two for even counts); None when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if !v.len().is_multiple_of(2) {
        return Some(m);
    }
    let below = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((below + m) / 2.0)
}

/// A question asked that no passage answered confidently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub question: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub overall: Group,
    pub per_agent: Vec<Group>,
    /// By cited article, most cited first.
    pub per_article: Vec<Group>,
    /// By UTC day, oldest first.
    pub per_day: Vec<Group>,
    pub kb_gaps: Vec<Gap>,
}

impl Stats {
    pub fn compute(rows: &[ReviewRow], gaps: Vec<(String, u64)>) -> Self {
        let mut overall = Acc::default();
        let mut agents: BTreeMap<&str, Acc> = BTreeMap::new();
        let mut articles: BTreeMap<&str, Acc> = BTreeMap::new();
        let mut days: BTreeMap<i64, Acc> = BTreeMap::new();
        for r in rows {
            overall.add(r);
            agents.entry(if r.agent.is_empty() { "(unnamed)" } else { &r.agent }).or_default().add(r);
            for s in &r.sources {
                articles.entry(&s.slug).or_default().add(r);
            }
            days.entry(r.created.div_euclid(86_400_000)).or_default().add(r);
        }
        let mut per_article: Vec<Group> = articles.into_iter().map(|(k, a)| a.finish(k.to_owned())).collect();
        per_article.sort_by(|a, b| b.drafts.cmp(&a.drafts).then_with(|| a.key.cmp(&b.key)));
        Stats {
            overall: overall.finish("all".into()),
            per_agent: agents.into_iter().map(|(k, a)| a.finish(k.to_owned())).collect(),
            per_article,
            per_day: days.into_iter().map(|(d, a)| a.finish(super::day_of(d * 86_400_000))).collect(),
            kb_gaps: gaps.into_iter().map(|(question, count)| Gap { question, count }).collect(),
        }
    }

    /// The report as terminal text: bars for the mix, sparklines over time.
    pub fn table(&self) -> String {
        self.lines(60).join("\n") + "\n"
    }

    /// The report as lines fitted to `width` columns (the console's Stats view uses the same).
    pub fn lines(&self, width: usize) -> Vec<String> {
        let mut out = Vec::new();
        let o = &self.overall;
        out.push(format!(
            "Drafts: {}   acceptance {}   median edit distance {}   median time to send {}",
            o.drafts,
            pct(o.acceptance),
            num(o.median_edit_distance),
            secs(o.median_time_to_send_ms)
        ));
        out.push(String::new());
        out.push("Outcome mix".into());
        let bar_w = width.saturating_sub(28).clamp(10, 60);
        let decided = o.mix.decided() + o.mix.pending;
        for (label, n) in [
            ("sent as-is", o.mix.sent_as_is),
            ("edited", o.mix.edited),
            ("rewritten", o.mix.rewritten),
            ("discarded", o.mix.discarded),
            ("pending", o.mix.pending),
        ] {
            out.push(format!("  {label:<11}{} {n:>6} {:>4}", bar(n, decided, bar_w), pct(ratio(n, decided))));
        }
        out.push(String::new());
        out.push(format!(
            "Over time ({} days, {} → {})",
            self.per_day.len(),
            first_key(&self.per_day),
            last_key(&self.per_day)
        ));
        let recent: Vec<&Group> = self.per_day.iter().rev().take(bar_w).rev().collect();
        let acc: Vec<Option<f64>> = recent.iter().map(|g| g.acceptance).collect();
        let edit: Vec<Option<f64>> = recent.iter().map(|g| g.median_edit_distance).collect();
        let vol: Vec<Option<f64>> = recent.iter().map(|g| Some(g.drafts as f64)).collect();
        out.push(format!("  acceptance  {}", sparkline(&acc)));
        out.push(format!("  edit dist.  {}", sparkline(&edit)));
        out.push(format!("  drafts      {}", sparkline(&vol)));
        out.push(String::new());
        out.push(format!(
            "{:<16}{:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8}",
            "Agent", "drafts", "accept", "as-is", "edit", "rewr.", "disc.", "edit d.", "to send"
        ));
        for g in &self.per_agent {
            out.push(group_row(g, 16));
        }
        out.push(String::new());
        out.push(format!(
            "{:<28}{:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8}",
            "Article (top 10)", "drafts", "accept", "as-is", "edit", "rewr.", "disc.", "edit d.", "to send"
        ));
        for g in self.per_article.iter().take(10) {
            out.push(group_row(g, 28));
        }
        out.push(String::new());
        out.push("Knowledge gaps: questions with no confident passage".into());
        if self.kb_gaps.is_empty() {
            out.push("  none recorded".into());
        }
        let top = self.kb_gaps.first().map_or(1, |g| g.count);
        for g in self.kb_gaps.iter().take(10) {
            let q: String = g.question.chars().take(width.saturating_sub(22).max(20)).collect();
            out.push(format!("  {:>5} {} {q}", g.count, bar(g.count, top, 12)));
        }
        out
    }
}

fn first_key(v: &[Group]) -> &str {
    v.first().map_or("-", |g| g.key.as_str())
}

fn last_key(v: &[Group]) -> &str {
    v.last().map_or("-", |g| g.key.as_str())
}

fn group_row(g: &Group, key_w: usize) -> String {
    let key: String = g.key.chars().take(key_w - 1).collect();
    format!(
        "{key:<key_w$}{:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8}",
        g.drafts,
        pct(g.acceptance),
        g.mix.sent_as_is,
        g.mix.edited,
        g.mix.rewritten,
        g.mix.discarded,
        num(g.median_edit_distance),
        secs(g.median_time_to_send_ms)
    )
}

fn ratio(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

fn secs(ms: Option<f64>) -> String {
    ms.map_or(
        "-".into(),
        |ms| if ms < 60_000.0 { format!("{:.0}s", ms / 1000.0) } else { format!("{:.1}m", ms / 60_000.0) },
    )
}

/// A horizontal bar of `width` cells, `n/of` of it filled (eighths for the last cell).
pub fn bar(n: u64, of: u64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = if of == 0 { 0 } else { (n as u128 * width as u128 * 8 / of as u128) as usize };
    let mut s = "█".repeat(eighths / 8);
    if eighths / 8 < width {
        s.push(PARTS[eighths % 8]);
        s.push_str(&" ".repeat(width - eighths / 8 - 1));
    }
    s
}

/// A sparkline scaled to the values' own range; gaps (no data) are spaces.
pub fn sparkline(values: &[Option<f64>]) -> String {
    const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let known = values.iter().flatten();
    let lo = known.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = known.copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if hi <= lo => TICKS[3],
            Some(v) => TICKS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn bars_and_sparklines() {
        assert_eq!(bar(1, 2, 4), "██  ");
        assert_eq!(bar(0, 0, 3), "   ");
        assert_eq!(bar(5, 5, 3), "███");
        assert_eq!(sparkline(&[Some(0.0), None, Some(1.0), Some(0.5)]), "▁ █▅");
    }
}
