//! Replays cases through retrieval and aggregates the metrics.

use super::Case;
use super::metrics::{contains_evidence, first_relevant_rank};
use crate::desk::Author;
use crate::desk::ports::RetrievalQuery;
use crate::retrieval::Retriever;
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

/// One case's outcome, as written by `eval --out`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub gold: Vec<String>,
    /// Retrieved articles, best first (up to 10).
    pub retrieved: Vec<(String, f32)>,
    /// 1-based rank of the first gold article.
    pub rank: Option<usize>,
    /// A top-5 passage contains a gold passage.
    pub evidence: Option<bool>,
    pub confidence: f32,
    pub coverage: f32,
    pub ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetrievalMetrics {
    #[serde(rename = "hit@1")]
    pub hit1: f64,
    #[serde(rename = "hit@3")]
    pub hit3: f64,
    #[serde(rename = "hit@5")]
    pub hit5: f64,
    #[serde(rename = "hit@10")]
    pub hit10: f64,
    pub mrr: f64,
    /// Cases naming gold articles (the hit rates' and MRR's denominator).
    pub gold_cases: usize,
    #[serde(rename = "evidence_recall@5")]
    pub evidence_recall5: f64,
    /// Cases with gold passages (the evidence recall's denominator).
    pub evidence_cases: usize,
    /// Mean |confidence - correct@1|: how far confidence is from the truth (lower is better).
    pub calibration_error: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrievalReport {
    pub metrics: RetrievalMetrics,
    pub cases: Vec<CaseResult>,
    pub query_p50_ms: f64,
    pub query_p99_ms: f64,
}

/// The retrieval query of a case: its turns, customer and agent.
pub fn query_for(case: &Case, k: usize) -> RetrievalQuery {
    let turns = case
        .turns
        .iter()
        .map(|t| (if t.role == "agent" { Author::Agent } else { Author::Customer }, t.text.clone()))
        .collect();
    RetrievalQuery { turns, tags: Vec::new(), k, language: None }
}

/// Runs every case through `retriever` (top 10 articles, top 5 passages for evidence).
pub fn replay_retrieval(retriever: &Retriever, cases: &[Case], progress: &dyn Fn(usize)) -> Result<RetrievalReport> {
    let mut results = Vec::with_capacity(cases.len());
    let mut times = Vec::with_capacity(cases.len());
    let mut m = RetrievalMetrics::default();
    for (i, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let result = retriever.search(&query_for(case, 5))?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        times.push(ms);
        let ranked: Vec<String> = result.articles.iter().take(10).map(|(s, _)| s.clone()).collect();
        let rank = first_relevant_rank(&ranked, &case.gold);
        let evidence = (!case.gold_passages.is_empty()).then(|| {
            result.passages.iter().take(5).any(|h| case.gold_passages.iter().any(|g| contains_evidence(&h.text, g)))
        });
        m.gold_cases += usize::from(!case.gold.is_empty());
        if let Some(r) = rank {
            m.mrr += 1.0 / r as f64;
            m.hit1 += f64::from(r <= 1);
            m.hit3 += f64::from(r <= 3);
            m.hit5 += f64::from(r <= 5);
            m.hit10 += f64::from(r <= 10);
        }
        if let Some(e) = evidence {
            m.evidence_cases += 1;
            m.evidence_recall5 += f64::from(e);
        }
        m.calibration_error += (f64::from(result.confidence) - f64::from(rank == Some(1))).abs();
        results.push(CaseResult {
            id: case.id.clone(),
            gold: case.gold.clone(),
            retrieved: result.articles.iter().take(10).cloned().collect(),
            rank,
            evidence,
            confidence: result.confidence,
            coverage: result.coverage,
            ms,
        });
        progress(i + 1);
    }
    let n = m.gold_cases.max(1) as f64;
    for v in [&mut m.hit1, &mut m.hit3, &mut m.hit5, &mut m.hit10, &mut m.mrr] {
        *v /= n;
    }
    m.calibration_error /= cases.len().max(1) as f64;
    m.evidence_recall5 /= m.evidence_cases.max(1) as f64;
    let (p50, p99) = crate::util::p50_p99(&mut times);
    Ok(RetrievalReport { metrics: m, cases: results, query_p50_ms: p50, query_p99_ms: p99 })
}
