//! Hybrid retrieval: the BM25 ranking fused with a dense (sentence-encoder) ranking by weighted
//! reciprocal-rank fusion, and the confidence re-calibrated with the dense evidence.
//!
//! The English encoder reads English only: Chinese passages take no part in the dense ranking of
//! an English query. A Chinese query is ranked by the multilingual encoder (`assets/encoder-zh`)
//! over the Chinese passages alone, its cosines mapped onto the English encoder's scale before
//! they move the confidence; without it, a Chinese query keeps the lexical (jieba) path.

use super::analyzers::has_cjk;
use super::index::KbIndex;
use super::search::{Hit, SearchResult, hits_by_id};
use crate::desk::Author;
use crate::semantic::{DenseIndex, Encoder, EncoderError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Turns before the latest customer turn that go into the context vector.
const CONTEXT_TURNS: usize = 4;

/// Which evidence ranks passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalMode {
    /// BM25 only.
    Lexical,
    /// Sentence-encoder cosine only (Chinese queries need the multilingual encoder, else they
    /// stay lexical).
    Dense,
    /// Both, fused.
    #[default]
    Hybrid,
}

impl std::str::FromStr for RetrievalMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lexical" => Ok(Self::Lexical),
            "dense" => Ok(Self::Dense),
            "hybrid" => Ok(Self::Hybrid),
            other => Err(format!("unknown retrieval mode `{other}` (expected lexical, dense or hybrid)")),
        }
    }
}

impl std::fmt::Display for RetrievalMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Lexical => "lexical",
            Self::Dense => "dense",
            Self::Hybrid => "hybrid",
        })
    }
}

/// The encoder with the vectors of the index's passages.
pub struct Dense {
    pub encoder: Arc<Encoder>,
    pub index: DenseIndex,
    /// The multilingual encoder with the vectors of the Chinese sentences (`None`: Chinese
    /// questions get no meaning vectors).
    pub chinese: Option<Chinese>,
}

/// What a Chinese question is read with: the multilingual encoder and the KB's Chinese
/// sentence vectors ([`DenseIndex::build_chinese`]).
pub struct Chinese {
    pub encoder: Arc<crate::semantic::Multilingual>,
    pub index: DenseIndex,
    /// `[a, b]`: its cosine `c` reads as the English encoder's `a * c + b`, from how the two
    /// encoders' cosines spread between the KB's sentences (mean and deviation matched).
    pub cosine_map: [f32; 2],
}

/// Fusion parameters (tuned on the tuning halves of `shared/eval` only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionOptions {
    /// Reciprocal-rank constant: larger flattens the rank curve.
    pub rrf_k: f32,
    /// Weight of the lexical ranking.
    pub lexical: f32,
    /// Weight of the dense ranking.
    pub dense: f32,
    /// Weight of the earlier customer turns' vector next to the latest turn's.
    pub context: f32,
    /// Articles taken from each ranking.
    pub depth: usize,
    /// 0: reciprocal-rank fusion; 1: a weighted sum of the scores, each scaled to 0..1 over
    /// the articles of its ranking (BM25 by the best score, cosine min-max).
    pub convex: f32,
}

impl Default for FusionOptions {
    fn default() -> Self {
        Self { rrf_k: 10.0, lexical: 1.0, dense: 1.0, context: 0.3, depth: 30, convex: 0.0 }
    }
}

/// Component scores of one article in a fused ranking.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Components {
    pub slug: String,
    /// BM25 article score, when the lexical ranking has the article.
    pub lexical: Option<f32>,
    pub lexical_rank: Option<usize>,
    /// Best passage cosine, when the dense ranking has the article.
    pub dense: Option<f32>,
    pub dense_rank: Option<usize>,
}

/// The meaning vectors of a conversation's question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryVectors {
    /// The latest customer turn.
    pub latest: Vec<f32>,
    /// The turns before it, when there are any (and they are not Chinese).
    pub earlier: Option<Vec<f32>>,
    /// What dense retrieval searches with: `latest` plus `earlier` at the context weight.
    pub mixed: Vec<f32>,
    /// `[a, b]` for a Chinese question read by the multilingual encoder: its cosine `c` reads as
    /// the English encoder's `a * c + b` ([`Chinese::cosine_map`]). `None`: the English encoder.
    pub multilingual: Option<[f32; 2]>,
}

/// The query vector of a conversation: the latest customer turn, plus the turns before it (the
/// agent's too: they often name the product or place the question is about) at `context`
/// weight. `None` for a Chinese (or empty) question: the encoder reads English
/// ([`chinese_query_vector`] reads Chinese).
pub fn query_vector(
    encoder: &Encoder,
    turns: &[(Author, String)],
    context: f32,
) -> Result<Option<QueryVectors>, EncoderError> {
    let Some(at) = turns
        .iter()
        .rposition(|(a, t)| *a == Author::Customer && !t.trim().is_empty())
        .or_else(|| turns.iter().rposition(|(_, t)| !t.trim().is_empty()))
    else {
        return Ok(None);
    };
    let latest = turns[at].1.as_str();
    if has_cjk(latest) {
        return Ok(None);
    }
    let latest = &*without_identifiers(latest);
    let earlier: Vec<&str> = turns[at.saturating_sub(CONTEXT_TURNS)..at].iter().map(|(_, t)| t.as_str()).collect();
    let earlier = without_identifiers(&earlier.join(" ")).into_owned();
    let with_context = !earlier.trim().is_empty() && !has_cjk(&earlier);
    let texts: Vec<&str> = if with_context { vec![latest, earlier.as_str()] } else { vec![latest] };
    let mut vs = encoder.encode(&texts)?.into_iter();
    let latest = vs.next().unwrap_or_default();
    let earlier = vs.next();
    let mut mixed = latest.clone();
    if let Some(c) = earlier.as_ref().filter(|_| context > 0.0) {
        mixed.iter_mut().zip(c).for_each(|(x, y)| *x += context * y);
    }
    crate::semantic::normalize(&mut mixed);
    Ok(Some(QueryVectors { latest, earlier, mixed, multilingual: None }))
}

impl QueryVectors {
    /// These vectors when they are the English encoder's: what the heads fitted on its vectors
    /// (intent, sentiment) may read.
    pub fn english(&self) -> Option<&Self> {
        self.multilingual.is_none().then_some(self)
    }
}

/// The latest customer turn, when it is Chinese.
pub fn latest_chinese(turns: &[(Author, String)]) -> Option<&str> {
    let (_, latest) = turns.iter().rev().find(|(a, t)| *a == Author::Customer && !t.trim().is_empty())?;
    has_cjk(latest).then_some(latest.as_str())
}

/// The multilingual encoder's vector of a Chinese question: its latest customer turn
/// ([`latest_chinese`]); earlier turns are left out.
pub fn chinese_query_vector(zh: &Chinese, latest: &str) -> Result<QueryVectors, EncoderError> {
    let v = zh.encoder.encode(&[&*without_identifiers(latest)], crate::semantic::multilingual::Role::Query)?;
    let latest = v.into_iter().next().unwrap_or_default();
    Ok(QueryVectors { mixed: latest.clone(), latest, earlier: None, multilingual: Some(zh.cosine_map) })
}

/// `text` without the identifiers in it (order and tracking numbers, phone numbers, e-mail
/// addresses): what the sentence encoders read. To an encoder "HP-20549" is noise that pulls a
/// question towards whatever passages hold numbers (a Chinese refund question with its order
/// number ranked the change-or-cancel article first); BM25 still matches identifiers whole.
/// Model codes (`AH-200`), durations, years and amounts are kept (a run of five digits or more
/// goes, so "15000 yuan" reaches the encoder as "yuan").
pub fn without_identifiers(text: &str) -> std::borrow::Cow<'_, str> {
    static ID: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let id = ID.get_or_init(|| {
        regex::Regex::new(r"(?i)\S+@\S+\.\w+|(?:\b[a-z0-9]{1,8}[-–]?)?#?\d{5,}[a-z0-9]*").expect("identifier pattern")
    });
    id.replace_all(text, "")
}

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

/// Confidence of a fused ranking: the lexical calibration (weighed down when BM25 ranked another
/// article first) moved by the dense evidence: the top article's cosine and its margin over the
/// runner-up's. Hand-set on the tuning halves; like the lexical one, a ranking of certainty.
pub fn recalibrate(lexical: f32, lexical_agrees: bool, cosine: f32, margin: f32) -> f32 {
    let lex = if lexical_agrees { logit(lexical) } else { logit(lexical) - 1.5 };
    1.0 / (1.0 + (-(0.7 * lex + 6.0 * (cosine - 0.45) + 4.0 * margin)).exp())
}

/// Fuses the lexical result `lex` with the dense ranking for `query` (`mode` Dense: the dense
/// ranking alone). Hits of articles BM25 did not return are read from the index by passage id.
pub fn fuse(
    index: &KbIndex,
    lex: SearchResult,
    dense: &DenseIndex,
    vectors: QueryVectors,
    mode: RetrievalMode,
    opts: &FusionOptions,
    k: usize,
) -> tantivy::Result<SearchResult> {
    let query = vectors.mixed.as_slice();
    // The English encoder's index holds Chinese passages too, which it cannot read; the
    // multilingual one's holds only Chinese passages.
    let [a, b] = vectors.multilingual.unwrap_or([1.0, 0.0]);
    let ranked = dense.rank_articles(query, opts.depth.max(k), vectors.multilingual.is_none());
    let mut comps: HashMap<String, Components> = HashMap::new();
    let mut fused: HashMap<String, f32> = HashMap::new();
    let convex = opts.convex > 0.0;
    let lex_max = lex.articles.first().map_or(1.0, |a| a.1.max(1e-6));
    let (cos_max, cos_min) = (ranked.first().map_or(1.0, |r| r.1), ranked.last().map_or(0.0, |r| r.1));
    let cos_span = (cos_max - cos_min).max(1e-6);
    if mode == RetrievalMode::Hybrid {
        for (r, (slug, score)) in lex.articles.iter().enumerate() {
            let v = if convex { score / lex_max } else { 1.0 / (opts.rrf_k + r as f32 + 1.0) };
            *fused.entry(slug.clone()).or_default() += opts.lexical * v;
            let c =
                comps.entry(slug.clone()).or_insert_with(|| Components { slug: slug.clone(), ..Components::default() });
            (c.lexical, c.lexical_rank) = (Some(*score), Some(r + 1));
        }
    }
    for (r, (slug, cos, _)) in ranked.iter().enumerate() {
        let v = if convex { (cos - cos_min) / cos_span } else { 1.0 / (opts.rrf_k + r as f32 + 1.0) };
        *fused.entry(slug.clone()).or_default() += opts.dense * v;
        let c = comps.entry(slug.clone()).or_insert_with(|| Components { slug: slug.clone(), ..Components::default() });
        (c.dense, c.dense_rank) = (Some(*cos), Some(r + 1));
    }
    let mut order: Vec<(String, f32)> = fused.into_iter().collect();
    let lex_rank = |s: &str| comps.get(s).and_then(|c| c.lexical_rank).unwrap_or(usize::MAX);
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| lex_rank(&a.0).cmp(&lex_rank(&b.0))).then(a.0.cmp(&b.0)));
    if order.is_empty() {
        return Ok(lex);
    }

    // Hits: BM25's (with highlights) where it has the article, else the best dense passage.
    let top: Vec<&(String, f32)> = order.iter().take(k).collect();
    let dense_best: HashMap<&str, usize> = ranked.iter().map(|(s, _, row)| (s.as_str(), *row)).collect();
    let need: Vec<&str> = top
        .iter()
        .filter(|(s, _)| !lex.hits.iter().any(|h| h.slug == *s))
        .filter_map(|(s, _)| dense_best.get(s.as_str()).map(|&row| dense.passages.labels[row].0.as_str()))
        .collect();
    let mut fetched: HashMap<String, Hit> =
        hits_by_id(index, &need)?.into_iter().flatten().map(|h| (h.slug.clone(), h)).collect();
    let hits: Vec<Hit> = top
        .iter()
        .filter_map(|(slug, score)| {
            let h = lex.hits.iter().find(|h| h.slug == *slug).cloned().or_else(|| fetched.remove(slug.as_str()));
            h.map(|h| Hit { score: *score, ..h })
        })
        .collect();

    // The drafter's passages: the top article's lexical and dense passages alternately, then the
    // other articles' best.
    let top_slug = order[0].0.as_str();
    let lex_top: Vec<&Hit> = lex.passages.iter().filter(|p| p.slug == top_slug).collect();
    let dense_rows: Vec<usize> = dense.article_passages(query, top_slug).into_iter().take(3).map(|(r, _)| r).collect();
    let dense_ids: Vec<&str> = dense_rows.iter().map(|&r| dense.passages.labels[r].0.as_str()).collect();
    let dense_top: Vec<Hit> = hits_by_id(index, &dense_ids)?.into_iter().flatten().collect();
    let mut seen = HashSet::new();
    let mut passages = Vec::new();
    let (mut l, mut d) = (lex_top.into_iter(), dense_top.into_iter());
    loop {
        let (a, b) = (if mode == RetrievalMode::Hybrid { l.next().cloned() } else { None }, d.next());
        if a.is_none() && b.is_none() {
            break;
        }
        for h in [b, a].into_iter().flatten() {
            if seen.insert(h.id.clone()) {
                passages.push(Hit { highlights: Vec::new(), ..h });
            }
        }
    }
    passages.truncate(3.min(k));
    for h in hits.iter().skip(1) {
        let lexical = lex.passages.iter().find(|p| p.slug == h.slug);
        let best = lexical.cloned().unwrap_or_else(|| Hit { highlights: Vec::new(), ..h.clone() });
        if seen.insert(best.id.clone()) {
            passages.push(best);
        }
    }
    passages.truncate(k);

    let components: Vec<Components> = hits.iter().filter_map(|h| comps.get(&h.slug).cloned()).collect();
    let cos = |s: &str| comps.get(s).and_then(|c| c.dense).map_or(0.0, |c| a * c + b);
    let top_cos = cos(top_slug);
    let runner_up = ranked.iter().find(|(s, _, _)| s != top_slug).map_or(0.0, |r| a * r.1 + b);
    let agrees = lex.articles.first().is_some_and(|(s, _)| s == top_slug);
    let lexical = if mode == RetrievalMode::Hybrid { lex.confidence } else { 0.5 };
    let confidence = recalibrate(lexical, agrees || mode == RetrievalMode::Dense, top_cos, top_cos - runner_up);
    // The intent scorer was fitted on the English encoder's cosines: a Chinese question keeps
    // its lexical candidates.
    let candidates = if vectors.multilingual.is_some() {
        Vec::new()
    } else {
        order.iter().take(10).filter_map(|(s, _)| comps.get(s).cloned()).collect()
    };
    let articles = order.into_iter().take(lex.articles.len().max(10)).collect();
    Ok(SearchResult {
        hits,
        passages,
        articles,
        confidence,
        coverage: lex.coverage,
        components,
        candidates,
        vectors: Some(vectors),
    })
}

/// The intent scorer's candidates of a result: the fused ranking's first articles with their
/// component scores, or (a lexical result) BM25's.
pub fn intent_candidates(result: &SearchResult) -> Vec<crate::understand::evidence::Candidate> {
    use crate::understand::evidence::Candidate;
    if result.candidates.is_empty() {
        return result
            .articles
            .iter()
            .take(10)
            .enumerate()
            .map(|(r, (slug, score))| Candidate {
                slug: slug.clone(),
                fused_rank: Some(r + 1),
                lexical: Some(*score),
                lexical_rank: Some(r + 1),
                ..Candidate::default()
            })
            .collect();
    }
    result
        .candidates
        .iter()
        .enumerate()
        .map(|(r, c)| Candidate {
            slug: c.slug.clone(),
            fused_rank: Some(r + 1),
            lexical: c.lexical,
            lexical_rank: c.lexical_rank,
            dense: c.dense,
            dense_rank: c.dense_rank,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encoders_read_questions_without_their_identifiers() {
        let read = |t: &str| super::without_identifiers(t).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(read("order HP-20549 never came, mail me at ana@example.com"), "order never came, mail me at");
        assert_eq!(read("我把订单 HP-20549 里的毯子退了"), "我把订单 里的毯子退了");
        assert_eq!(
            read("is my AH-200 from 2026 covered for $1299 after 30 days?"),
            "is my AH-200 from 2026 covered for $1299 after 30 days?"
        );
        assert_eq!(read("tracking 1Z999AA10123456784 and #88231"), "tracking and");
    }
}
