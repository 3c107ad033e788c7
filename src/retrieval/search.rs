//! Executing a query: BM25 over the passage fields with field boosts, per-article de-duplication,
//! snippets with highlight ranges, and a calibrated confidence.

use super::analyzers::{Analyzers, analyze, has_cjk};
use super::index::KbIndex;
use super::query::{QTerm, QueryTerms};
use super::schema::Fields;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, TantivyDocument, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, Term};

/// Field boosts: a match in a title or heading says more than one in running text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boosts {
    pub body: f32,
    pub title: f32,
    pub section: f32,
    pub tags: f32,
    pub keys: f32,
    /// CJK n-gram fallback.
    pub grams: f32,
    /// English word pairs.
    pub pairs: f32,
}

impl Default for Boosts {
    fn default() -> Self {
        Self { body: 1.0, title: 1.1, section: 0.7, tags: 1.0, keys: 3.0, grams: 0.3, pairs: 0.6 }
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
    /// The top k passages as ranked, several per article allowed (what a drafter reads; no
    /// highlights).
    pub passages: Vec<Hit>,
    /// Article ranking (slug, score), best first, up to the candidate depth.
    pub articles: Vec<(String, f32)>,
    /// Calibrated probability that the top hit answers the query.
    pub confidence: f32,
    /// Idf-weighted share of the query found in the top passage: the calibration's input.
    pub coverage: f32,
    /// Lexical and dense component scores of each hit's article (fused rankings only).
    pub components: Vec<super::hybrid::Components>,
    /// Component scores of the fused ranking's first articles, in its order (what the intent
    /// scorer reads; fused rankings only).
    #[serde(skip)]
    pub candidates: Vec<super::hybrid::Components>,
    /// The question's meaning vectors (fused rankings only).
    #[serde(skip)]
    pub vectors: Option<super::hybrid::QueryVectors>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOptions {
    pub k: usize,
    /// Passages fetched before de-duplication per article.
    pub candidates: usize,
    pub snippets: bool,
    pub max_terms: usize,
    pub boosts: Boosts,
    /// Article score = best passage + `second` x the 2nd best + `third` x the 3rd (long articles
    /// that match in several places are more likely the topic).
    pub second: f32,
    pub third: f32,
    /// How many articles of the ranking get their slug resolved (`articles` in the result).
    pub rank_depth: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            k: 5,
            candidates: 60,
            snippets: true,
            max_terms: 32,
            boosts: Boosts::default(),
            second: 0.3,
            third: 0.15,
            rank_depth: 10,
        }
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

/// Logistic calibration: the probability that the top article is the right one, from two
/// signals: `coverage` (the idf-weighted share of the query found in the top passage) and
/// `ratio` (second article's score over the first's: near 1 means no clear winner).
///
/// Fitted by logistic regression on the tuning halves of `shared/eval` (dstc11 and doc2dial,
/// 1,464 conversations, label = top-1 correct), 800 cross-domain conversations (each set's cases
/// against the other set's KB, label = 0), and 46 in-domain plus 40 off-topic questions on the
/// bundled KB (weighted x10): at fitting time, mean |confidence - outcome| 0.27 in-domain, 0.23
/// cross-domain, 0.30 on the bundled KB (`deskpilot eval` reports the in-domain figure).
/// Lexical evidence only: treat it as a ranking of certainty.
pub fn calibrate(coverage: f32, ratio: f32) -> f32 {
    const BIAS: f32 = 4.15;
    const COVERAGE: f32 = 3.01;
    const RATIO: f32 = -7.14;
    1.0 / (1.0 + (-(BIAS + COVERAGE * coverage + RATIO * ratio)).exp())
}

/// Which analyzer a term came from.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    En,
    Zh,
}

struct Built {
    query: BooleanQuery,
}

fn build(index: &KbIndex, searcher: &Searcher, terms: &QueryTerms, opts: &SearchOptions) -> Built {
    let f = &index.fields;
    let b = &opts.boosts;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut push = |field: Field, term: &str, boost: f32| {
        if boost > 0.0 {
            let q = TermQuery::new(Term::from_field_text(field, term), IndexRecordOption::WithFreqs);
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
        }
    };
    let mut family = |list: &[QTerm], body: Field, title: Field, section: Field, fam: Family| {
        // Keep the most informative terms: weight x idf in the body field.
        let mut scored: Vec<(&QTerm, f32)> =
            list.iter().map(|q| (q, idf(searcher, &Term::from_field_text(body, &q.term)))).collect();
        scored.sort_by(|a, b| {
            (b.0.weight.max(b.0.title_weight * 0.5) * b.1).total_cmp(&(a.0.weight.max(a.0.title_weight * 0.5) * a.1))
        });
        scored.truncate(opts.max_terms);
        for (q, idf) in scored {
            if idf == 0.0 {
                // Unknown to the KB's text; may still name a title or tag.
                push(title, &q.term, q.title_weight * b.title);
                if fam == Family::En {
                    push(f.tags, &q.term, q.weight * b.tags);
                }
                continue;
            }
            push(body, &q.term, q.weight * b.body);
            push(title, &q.term, q.title_weight * b.title);
            push(section, &q.term, q.title_weight * b.section);
            if fam == Family::En {
                push(f.tags, &q.term, q.weight * b.tags);
            }
        }
    };
    family(&terms.en, f.body, f.title, f.section, Family::En);
    family(&terms.zh, f.body_zh, f.title_zh, f.section_zh, Family::Zh);
    let mut pairs: Vec<(&QTerm, f32)> = terms
        .pairs
        .iter()
        .map(|q| (q, idf(searcher, &Term::from_field_text(f.pairs, &q.term))))
        .filter(|p| p.1 > 0.0)
        .collect();
    pairs.sort_by(|a, b| (b.0.weight * b.1).total_cmp(&(a.0.weight * a.1)));
    for (q, _) in pairs.into_iter().take(opts.max_terms / 2) {
        push(f.pairs, &q.term, q.weight * b.pairs);
    }
    for q in terms.zh_grams.iter().take(opts.max_terms * 2) {
        push(f.zh_grams, &q.term, q.weight * b.grams);
    }
    for q in terms.keys.iter().take(8) {
        push(f.keys, &q.term, q.weight * b.keys);
    }
    Built { query: BooleanQuery::new(clauses) }
}

/// Idf-weighted share of the current question's terms (the latest customer turn) that occur in
/// the top article's retrieved passages, title and headings included. Terms the KB never uses
/// count fully against it.
fn coverage(index: &KbIndex, searcher: &Searcher, focus: &[String], top: &[&Hit], analyzers: &mut Analyzers) -> f32 {
    if focus.is_empty() || top.is_empty() {
        return 0.0;
    }
    let f = &index.fields;
    let mut text = String::new();
    for h in top {
        text.push_str(&h.title);
        text.push('\n');
        text.push_str(&h.section.join("\n"));
        text.push('\n');
        text.push_str(&h.text);
        text.push('\n');
    }
    // English terms are compared after analysis (stemming); Chinese terms by substring, which
    // needs no segmentation of the passages (jieba is the slow part of a Chinese query).
    let present: HashSet<String> = analyze(&mut analyzers.en, &text).into_iter().map(|t| t.0).collect();
    let lower = text.to_lowercase();
    let unknown_idf = (1.0 + searcher.num_docs() as f32).ln();
    let (mut found, mut total) = (0.0, 0.0);
    for term in focus {
        let field = if has_cjk(term) { f.body_zh } else { f.body };
        let w = match idf(searcher, &Term::from_field_text(field, term)) {
            0.0 => unknown_idf,
            x => x,
        };
        total += w;
        if present.contains(term) || (has_cjk(term) && lower.contains(term.as_str())) {
            found += w;
        }
    }
    if total > 0.0 { found / total } else { 0.0 }
}

fn text_of(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned).unwrap_or_default()
}

/// Runs a query and returns the top passages (one per article) with snippets.
pub fn search(
    index: &KbIndex,
    terms: &QueryTerms,
    opts: &SearchOptions,
    analyzers: &mut Analyzers,
) -> tantivy::Result<SearchResult> {
    let searcher = index.reader.searcher();
    if terms.is_empty() || searcher.num_docs() == 0 {
        return Ok(SearchResult::default());
    }
    let built = build(index, &searcher, terms, opts);
    let depth = opts.candidates.max(opts.k);
    let top = searcher.search(&built.query, &TopDocs::with_limit(depth).order_by_score())?;
    let f = &index.fields;

    // Group candidates by article through the `article` fast field: documents are loaded only
    // for the passages that are shown.
    let mut columns = Vec::new();
    for segment in searcher.segment_readers() {
        columns.push(segment.fast_fields().u64(super::schema::ARTICLE)?);
    }
    let mut order: Vec<u64> = Vec::new();
    let mut per_article: HashMap<u64, (DocAddress, f32, Vec<f32>)> = HashMap::new();
    for (score, addr) in &top {
        let key = columns[addr.segment_ord as usize].first(addr.doc_id).unwrap_or(0);
        match per_article.get_mut(&key) {
            Some(entry) => entry.2.push(*score),
            None => {
                order.push(key);
                per_article.insert(key, (*addr, *score, vec![*score]));
            }
        }
    }
    let mut ranked: Vec<(u64, f32)> = order
        .iter()
        .map(|key| {
            let s = &per_article[key].2;
            let agg =
                s[0] + opts.second * s.get(1).copied().unwrap_or(0.0) + opts.third * s.get(2).copied().unwrap_or(0.0);
            (*key, agg)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut docs: HashMap<DocAddress, TantivyDocument> = HashMap::new();
    let mut load = |addr: DocAddress| -> tantivy::Result<TantivyDocument> {
        if let Some(d) = docs.get(&addr) {
            return Ok(d.clone());
        }
        let d: TantivyDocument = searcher.doc(addr)?;
        docs.insert(addr, d.clone());
        Ok(d)
    };
    let mut passages: Vec<Hit> = Vec::new();
    for (score, addr) in top.iter().take(opts.k) {
        passages.push(hit_of(&load(*addr)?, f, *score, Vec::new()));
    }
    // Article slugs for the ranking: loaded for the first few (eval reads 10), cheap after that.
    let mut articles: Vec<(String, f32)> = Vec::new();
    let mut best: Vec<(f32, TantivyDocument)> = Vec::new();
    for (i, (key, agg)) in ranked.iter().enumerate() {
        let (addr, score, _) = per_article[key];
        if i < opts.k.max(opts.rank_depth) {
            let doc = load(addr)?;
            articles.push((text_of(&doc, f.slug), *agg));
            if i < opts.k {
                best.push((score, doc));
            }
        }
    }
    // Inside the top articles, the passage that answers the current question wins over the one
    // that merely names the topic most often.
    let mut focused: Vec<(f32, TantivyDocument)> = Vec::new();
    let mut top_unfocused = None;
    for (i, (slug, _)) in articles.iter().take(opts.k.min(3)).enumerate() {
        let found =
            focus_passages(index, &searcher, slug, &terms.focus, &best[i].1, if i == 0 { 4 } else { 1 }, analyzers)?;
        match found.first() {
            Some(first) => best[i] = (best[i].0, first.1.clone()),
            // No passage of the top article matches the question's own words beyond its title,
            // but another article's does: the top article's best passage goes second, within the
            // two a drafter reads (on doc2dial the answer is then more often in the other one).
            None if i == 0 => top_unfocused = Some(best[0].clone()),
            None => {}
        }
        focused.extend(found);
    }
    if let Some(top) = top_unfocused.filter(|_| !focused.is_empty()) {
        focused.insert(1, top);
    }
    if !focused.is_empty() {
        // The drafter's passages: the top article's focused passages, then the other articles' best.
        let mut seen_ids = HashSet::new();
        passages = focused
            .iter()
            .chain(best.iter())
            .map(|(s, d)| hit_of(d, f, *s, Vec::new()))
            .filter(|h| seen_ids.insert(h.id.clone()))
            .take(opts.k)
            .collect();
    }

    let needs = |zh: bool| opts.snippets && best.iter().any(|(_, d)| text_of(d, f.body_zh).is_empty() != zh);
    let generator = |field: Field| -> tantivy::Result<SnippetGenerator> {
        let mut g = SnippetGenerator::create(&searcher, &built.query, field)?;
        g.set_max_num_chars(4000);
        Ok(g)
    };
    let body_gen = if needs(false) { Some(generator(f.body)?) } else { None };
    let zh_gen = if needs(true) { Some(generator(f.body_zh)?) } else { None };
    let hits: Vec<Hit> = best
        .into_iter()
        .map(|(score, doc)| {
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
            hit_of(&doc, f, score, highlights)
        })
        .collect();
    let top_article: Vec<&Hit> = match hits.first() {
        Some(h) => std::iter::once(h).chain(passages.iter().filter(|p| p.slug == h.slug)).collect(),
        None => Vec::new(),
    };
    let coverage = coverage(index, &searcher, &terms.focus, &top_article, analyzers);
    // A lone match has no runner-up: count it as a middling margin, not a decisive one.
    let ratio = match articles.as_slice() {
        [(_, a), (_, b), ..] if *a > 0.0 => b / a,
        _ => 0.75,
    };
    let confidence = if hits.is_empty() { 0.0 } else { calibrate(coverage, ratio) };
    Ok(SearchResult {
        hits,
        passages,
        articles,
        confidence,
        coverage,
        components: Vec::new(),
        candidates: Vec::new(),
        vectors: None,
    })
}

/// The passages with these ids (`None` for an id the index does not have), without highlights.
pub(crate) fn hits_by_id(index: &KbIndex, ids: &[&str]) -> tantivy::Result<Vec<Option<Hit>>> {
    let searcher = index.reader.searcher();
    let f = &index.fields;
    ids.iter()
        .map(|id| {
            let q = TermQuery::new(Term::from_field_text(f.id, id), IndexRecordOption::Basic);
            let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
            match top.first() {
                Some((score, addr)) => Ok(Some(hit_of(&searcher.doc(*addr)?, f, *score, Vec::new()))),
                None => Ok(None),
            }
        })
        .collect()
}

/// The passages of article `slug` that best match the focus terms (the latest question), leaving
/// out terms of the article's title: they match every passage of the article alike.
fn focus_passages(
    index: &KbIndex,
    searcher: &Searcher,
    slug: &str,
    focus: &[String],
    any_doc: &TantivyDocument,
    n: usize,
    analyzers: &mut Analyzers,
) -> tantivy::Result<Vec<(f32, TantivyDocument)>> {
    let f = &index.fields;
    let title = text_of(any_doc, f.title);
    let title_terms: HashSet<String> = analyze(&mut analyzers.en, &title).into_iter().map(|t| t.0).collect();
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for t in focus.iter().filter(|t| !title_terms.contains(*t)) {
        for (field, boost) in [(f.body, 1.0), (f.section, 0.8), (f.body_zh, 1.0), (f.section_zh, 0.8)] {
            let q = TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs);
            should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
        }
    }
    if should.is_empty() {
        return Ok(Vec::new());
    }
    let in_article = TermQuery::new(Term::from_field_text(f.slug, slug), IndexRecordOption::Basic);
    let query = BooleanQuery::new(vec![
        (Occur::Must, Box::new(BoostQuery::new(Box::new(in_article), 0.0)) as Box<dyn Query>),
        (Occur::Must, Box::new(BooleanQuery::new(should))),
    ]);
    let top = searcher.search(&query, &TopDocs::with_limit(n).order_by_score())?;
    top.into_iter().map(|(s, addr)| Ok((s, searcher.doc(addr)?))).collect()
}

fn hit_of(doc: &TantivyDocument, f: &Fields, score: f32, highlights: Vec<Range<usize>>) -> Hit {
    let zh = text_of(doc, f.body_zh);
    Hit {
        id: text_of(doc, f.id),
        slug: text_of(doc, f.slug),
        title: text_of(doc, f.title),
        section: serde_json::from_str(&text_of(doc, f.section_path)).unwrap_or_default(),
        text: if zh.is_empty() { text_of(doc, f.body) } else { zh },
        lang: text_of(doc, f.lang),
        score,
        highlights,
    }
}
