//! Executing a query: BM25 over the passage fields with field boosts, per-article de-duplication,
//! snippets with highlight ranges, and a calibrated confidence.

use super::index::KbIndex;
use super::query::QueryTerms;
use serde::Serialize;
use std::collections::HashMap;
use std::ops::Range;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, TantivyDocument, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, Term};

/// Field boosts: a match in a title or heading says more than one in running text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boosts {
    pub body: f32,
    pub title: f32,
    pub section: f32,
    pub tags: f32,
    pub keys: f32,
}

impl Default for Boosts {
    fn default() -> Self {
        Self { body: 1.0, title: 1.6, section: 1.2, tags: 0.6, keys: 3.0 }
    }
}

/// A retrieved passage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub section: Vec<String>,
    pub text: String,
    pub lang: String,
    pub score: f32,
    /// Byte ranges of `text` that matched.
    pub highlights: Vec<Range<usize>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchResult {
    /// Best passage per article, best first, at most k.
    pub hits: Vec<Hit>,
    /// Article ranking (slug, score), best first, up to the candidate depth.
    pub articles: Vec<(String, f32)>,
    /// Calibrated probability that the top hit answers the query.
    pub confidence: f32,
    /// Top score over the query's own maximum attainable weight: the calibration's input.
    pub normalized_score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOptions {
    pub k: usize,
    /// Passages fetched before de-duplication per article.
    pub candidates: usize,
    pub snippets: bool,
    pub max_terms: usize,
    pub boosts: Boosts,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self { k: 5, candidates: 60, snippets: true, max_terms: 24, boosts: Boosts::default() }
    }
}

fn idf(searcher: &Searcher, term: &Term) -> f32 {
    let n = searcher.num_docs() as f32;
    let df = searcher.doc_freq(term).unwrap_or(0) as f32;
    if df == 0.0 {
        return 0.0;
    }
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// Logistic calibration of the normalized top score, fitted on held-out conversations (see the
/// README's retrieval section): maps to the probability that the top article is relevant.
pub fn calibrate(normalized: f32) -> f32 {
    const A: f32 = 6.0;
    const B: f32 = 0.45;
    1.0 / (1.0 + (-A * (normalized - B)).exp())
}

struct Built {
    query: BooleanQuery,
    /// Sum of weight x idf of the kept terms: what a perfect match would roughly score.
    mass: f32,
}

fn build(index: &KbIndex, searcher: &Searcher, terms: &QueryTerms, opts: &SearchOptions) -> Built {
    let f = &index.fields;
    let b = &opts.boosts;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut mass = 0.0;
    let mut family = |list: &[(String, f32)], body: Field, fields: &[(Field, f32)]| {
        // Keep the most informative terms: weight x idf in the body field.
        let mut scored: Vec<(&str, f32, f32)> = list
            .iter()
            .map(|(t, w)| (t.as_str(), *w, idf(searcher, &Term::from_field_text(body, t))))
            .collect();
        scored.sort_by(|a, b| (b.1 * b.2).total_cmp(&(a.1 * a.2)));
        scored.truncate(opts.max_terms);
        for (t, w, idf) in scored {
            mass += w * idf.max(0.5);
            for (field, boost) in fields {
                let q = TermQuery::new(Term::from_field_text(*field, t), IndexRecordOption::WithFreqs);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), w * boost))));
            }
        }
    };
    family(&terms.en, f.body, &[(f.body, b.body), (f.title, b.title), (f.section, b.section), (f.tags, b.tags)]);
    family(&terms.zh, f.body_zh, &[(f.body_zh, b.body), (f.title_zh, b.title), (f.section_zh, b.section)]);
    for (t, w) in terms.keys.iter().take(8) {
        let q = TermQuery::new(Term::from_field_text(f.keys, t), IndexRecordOption::WithFreqs);
        clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), w * b.keys))));
        mass += w * 2.0;
    }
    Built { query: BooleanQuery::new(clauses), mass }
}

fn text_of(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned).unwrap_or_default()
}

/// Runs a query and returns the top passages (one per article) with snippets.
pub fn search(index: &KbIndex, terms: &QueryTerms, opts: &SearchOptions) -> tantivy::Result<SearchResult> {
    let searcher = index.reader.searcher();
    if terms.is_empty() || searcher.num_docs() == 0 {
        return Ok(SearchResult::default());
    }
    let built = build(index, &searcher, terms, opts);
    let depth = opts.candidates.max(opts.k);
    let top = searcher.search(&built.query, &TopDocs::with_limit(depth).order_by_score())?;
    let f = &index.fields;

    let mut articles: Vec<(String, f32)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut best = Vec::new();
    for (score, addr) in &top {
        let doc: TantivyDocument = searcher.doc(*addr)?;
        let slug = text_of(&doc, f.slug);
        if seen.contains_key(&slug) {
            continue;
        }
        seen.insert(slug.clone(), articles.len());
        articles.push((slug, *score));
        if best.len() < opts.k {
            best.push((*score, doc));
        }
    }

    let (body_gen, zh_gen) = if opts.snippets {
        let mut g = SnippetGenerator::create(&searcher, &built.query, f.body)?;
        g.set_max_num_chars(4000);
        let mut z = SnippetGenerator::create(&searcher, &built.query, f.body_zh)?;
        z.set_max_num_chars(4000);
        (Some(g), Some(z))
    } else {
        (None, None)
    };
    let hits = best
        .into_iter()
        .map(|(score, doc)| {
            let lang = text_of(&doc, f.lang);
            let zh_text = text_of(&doc, f.body_zh);
            let (text, generator) = if zh_text.is_empty() {
                (text_of(&doc, f.body), body_gen.as_ref())
            } else {
                (zh_text, zh_gen.as_ref())
            };
            let highlights = generator
                .map(|g| {
                    let snippet = g.snippet(&text);
                    let base = snippet.fragment_range().start;
                    snippet.highlighted().iter().map(|r| r.start + base..r.end + base).collect()
                })
                .unwrap_or_default();
            Hit {
                id: text_of(&doc, f.id),
                slug: text_of(&doc, f.slug),
                title: text_of(&doc, f.title),
                section: serde_json::from_str(&text_of(&doc, f.section_path)).unwrap_or_default(),
                text,
                lang,
                score,
                highlights,
            }
        })
        .collect();
    let normalized = match top.first() {
        Some((s, _)) if built.mass > 0.0 => s / built.mass,
        _ => 0.0,
    };
    Ok(SearchResult { hits, articles, confidence: calibrate(normalized), normalized_score: normalized })
}
