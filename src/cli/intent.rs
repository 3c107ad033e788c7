//! `deskpilot understand train-intent` and `understand intent`: fitting a KB's intent classifier
//! (the vector head, then the evidence scorer over the head and the hybrid retrieval), and its
//! top-1 on labelled conversations.

use crate::config::Settings;
use crate::desk::ports::RetrievalQuery;
use crate::knowledge::{Chunk, ChunkOptions, chunk_article, load_kb};
use crate::retrieval::hybrid::intent_candidates;
use crate::retrieval::{DenseChoice, RetrievalMode, Retriever, SearchResult, index_dir_for, load_for_chunks};
use crate::understand::evidence::{self, Example, FEATURES};
use crate::understand::intent::{self, HeldOut, Intent, IntentFile};
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Questions the evidence scorer is fitted on, and held-out questions it is scored on, at most
/// (each costs a search).
const SCORER_QUESTIONS: usize = 2500;
const SCORED_QUESTIONS: usize = 1000;

/// A KB's articles, passages and hybrid retriever (passage vectors cached under the data dir).
fn hybrid_retriever(settings: &Settings, kb_dir: &Path) -> Result<(crate::knowledge::Kb, Vec<Chunk>, Retriever)> {
    let kb = load_kb(kb_dir);
    for issue in &kb.issues {
        tracing::warn!("{issue}");
    }
    let chunks: Vec<Chunk> = kb.articles.iter().flat_map(|a| chunk_article(a, &ChunkOptions::default())).collect();
    let mut retriever = Retriever::in_ram(&chunks)?;
    let choice = DenseChoice::from_config(&settings.config, Some(RetrievalMode::Hybrid))?;
    retriever.mode = choice.mode;
    retriever.fusion.dense = choice.dense_weight;
    let cache = index_dir_for(kb_dir, &settings.paths.data_dir.join("eval-vectors"));
    let bar = super::progress_bar("passage vectors");
    let (dense, _) = load_for_chunks(&chunks, Some(&cache), &choice.encoder_dir, &|i, n| {
        bar.set_length(n as u64);
        bar.set_position(i as u64);
    })?;
    bar.finish_and_clear();
    let _ = retriever.dense_slot().set(dense);
    Ok((kb, chunks, retriever))
}

/// The conversation vector the intent head reads from a fused result (`None`: Chinese, which
/// has none or the multilingual encoder's).
fn vector_of(result: &SearchResult) -> Option<Vec<f32>> {
    let q = result.vectors.as_ref()?.english()?;
    Some(intent::conversation_vector(&q.latest, q.earlier.as_deref()))
}

/// Whether the head, the retrieval's first article and the combination name a gold article.
fn judge(head: &Intent, result: &SearchResult, gold: &[String]) -> [bool; 3] {
    let v = vector_of(result);
    let cands = intent_candidates(result);
    let by_head = v.as_ref().and_then(|v| head.classify(v, 1).into_iter().next());
    let combined = head.topics(v.as_deref(), &cands, 1).into_iter().next();
    [
        by_head.is_some_and(|t| gold.contains(&t.slug)),
        cands.first().is_some_and(|c| gold.contains(&c.slug)),
        combined.is_some_and(|t| gold.contains(&t.slug)),
    ]
}

/// Sorts by a hash of the text (a fixed, unbiased sample) and keeps `n`.
fn sample<T>(mut items: Vec<(String, T)>, n: usize) -> Vec<(String, T)> {
    items.sort_by_key(|(t, _)| crate::semantic::vectors::key_of(t));
    items.truncate(n);
    items
}

/// How `train-intent` fits the evidence scorer.
pub struct TrainArgs<'a> {
    pub kb: Option<&'a PathBuf>,
    pub out: &'a Path,
    pub steps: usize,
    pub per_passage: usize,
    /// Labelled conversations for the evidence scorer (the questions generated from the KB are
    /// used when there are none, or with `with_generated`).
    pub cases: &'a [PathBuf],
    /// Only the odd (1) or even (2) lines of `cases`, as `eval --half`.
    pub half: Option<u8>,
    pub with_generated: bool,
}

/// The cases of a file, or one half of them (odd lines: 1, even: 2).
fn cases_of(path: &Path, half: Option<u8>) -> Result<Vec<crate::eval::Case>> {
    let all = crate::eval::load_cases(path)?;
    Ok(match half {
        Some(h) => all.into_iter().enumerate().filter(|(i, _)| (i % 2 == 0) == (h == 1)).map(|(_, c)| c).collect(),
        None => all,
    })
}

/// The evidence examples of labelled conversations (those whose gold article is a candidate;
/// `None` for the others, which count as misses).
fn case_examples(head: &Intent, retriever: &Retriever, cases: &[crate::eval::Case]) -> Result<Vec<Option<Example>>> {
    let mut out = Vec::new();
    for c in cases.iter().filter(|c| !c.gold.is_empty()) {
        let result = retriever.search(&crate::eval::query_for(c, 10))?;
        let (cands, feats) = head.prepare(vector_of(&result).as_deref(), &intent_candidates(&result));
        out.push(cands.iter().position(|x| c.gold.contains(&x.slug)).map(|g| (feats, g)));
    }
    Ok(out)
}

/// Top-1 of scorer weights on examples (a missing candidate counts as a miss).
fn scorer_top1(weights: &[f32], examples: &[Option<Example>]) -> f32 {
    let right = examples
        .iter()
        .flatten()
        .filter(|(f, g)| {
            let p = evidence::probabilities(weights, f);
            (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])) == Some(*g)
        })
        .count();
    right as f32 / examples.len().max(1) as f32
}

pub fn train(settings: &Settings, args: &TrainArgs) -> Result<()> {
    let TrainArgs { kb, out, steps, per_passage, .. } = *args;
    let o = &mut std::io::stdout().lock();
    let dir = super::kb_dir(settings, kb);
    let (kb, chunks, retriever) = hybrid_retriever(settings, &dir)?;
    let (kb_texts, classes) = intent::kb_texts(&kb);
    anyhow::ensure!(classes.len() >= 2, "{}: fewer than two English articles", dir.display());
    // Questions written from the passages, as the generator's training data is (never one of
    // the bundled eval sets' questions).
    let mut rng = crate::model::rng::Rng::new(7);
    let eval = crate::model::data::EvalQuestions::bundled();
    let mut questions = Vec::new();
    for (q, slug) in crate::model::data::Synthesizer::new(&chunks, &retriever).questions(per_passage, &mut rng) {
        if let Some(class) = classes.iter().position(|c| c.0 == slug)
            && !eval.contains(&q)
        {
            questions.push((q, class));
        }
    }
    let dense = retriever.dense().ok_or_else(|| anyhow::anyhow!("the sentence encoder did not load"))?;
    let encoder = std::sync::Arc::clone(&dense.encoder);
    let texts: Vec<(String, usize)> = kb_texts.iter().chain(&questions).cloned().collect();
    let bar = super::progress_bar("embedding");
    bar.set_length(texts.len() as u64);
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(256) {
        let t: Vec<&str> = chunk.iter().map(|x| x.0.as_str()).collect();
        vectors.extend(encoder.encode(&t)?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let slugs: Vec<String> = classes.iter().map(|c| c.0.clone()).collect();
    let mut file = IntentFile {
        dim: encoder.dim(),
        kb_articles_sha256: intent::articles_hash(&slugs),
        categories: classes.iter().map(|c| c.1.clone()).collect(),
        slugs,
        encoder_sha256: encoder.model_sha256().to_owned(),
        training_texts: texts.len(),
        heldout_texts: 0,
        heldout_top1: 0.0,
        evidence: vec![],
        heldout_questions: None,
        article_categories: kb.articles.iter().map(|a| (a.slug.clone(), a.meta.category.clone())).collect(),
    };
    // A head fitted on the texts `keep` admits.
    let head_on = |keep: &dyn Fn(&str) -> bool, file: &IntentFile| {
        let (mut v, mut l) = (vec![], vec![]);
        for ((t, c), x) in texts.iter().zip(&vectors) {
            if keep(t) {
                v.push(x.clone());
                l.push(*c);
            }
        }
        (Intent::new(intent::fit(&v, &l, classes.len(), steps), file.clone()), v.len())
    };
    let is_question: std::collections::HashSet<&str> = questions.iter().map(|q| q.0.as_str()).collect();
    let fold = |t: &str| crate::semantic::vectors::key_of(t)[1] % 2;

    // The head on four fifths; its top-1 on the fifth held out.
    let (mut head, _) = head_on(&|t| !intent::held_out(t), &file);
    let (hv, hl): (Vec<Vec<f32>>, Vec<usize>) =
        texts.iter().zip(&vectors).filter(|((t, _), _)| intent::held_out(t)).map(|((_, c), v)| (v.clone(), *c)).unzip();
    file.heldout_texts = hv.len();
    file.heldout_top1 = head_top1(&head, &hv, &hl);

    // The evidence scorer, fitted on questions each scored by a head that did not see them.
    let fold_heads =
        [0u8, 1].map(|f| head_on(&|t| !(intent::held_out(t) || is_question.contains(t) && fold(t) == f), &file).0);
    let train_q = sample(questions.iter().filter(|q| !intent::held_out(&q.0)).cloned().collect(), SCORER_QUESTIONS);
    let bar = super::progress_bar("scorer questions");
    bar.set_length(train_q.len() as u64);
    let mut examples = Vec::new();
    for (q, class) in &train_q {
        bar.inc(1);
        let result = retriever.search(&RetrievalQuery::from_text(q, 10))?;
        let h = &fold_heads[usize::from(fold(q))];
        let (cands, feats) = h.prepare(vector_of(&result).as_deref(), &intent_candidates(&result));
        if let Some(gold) = cands.iter().position(|c| c.slug == classes[*class].0) {
            examples.push((feats, gold));
        }
    }
    bar.finish_and_clear();
    // Hand-labelled cases that repeat a frozen held-out question are not fitted on.
    let guard = crate::model::data::held_out_questions(&[])?;
    let mut labelled = Vec::new();
    for p in args.cases {
        let mut cases = cases_of(p, args.half)?;
        cases.retain(|c| !c.turns.iter().any(|t| t.role != "agent" && guard.contains(&t.text)));
        labelled.extend(case_examples(&head, &retriever, &cases)?);
    }
    if labelled.is_empty() {
        file.evidence = evidence::fit(&examples, 400);
    } else {
        // Two-fold cross-validation on the labelled conversations first (what to expect).
        let mut cv = 0.0;
        for f in 0..2 {
            let mut fit_on: Vec<_> =
                labelled.iter().enumerate().filter(|(i, _)| i % 2 != f).filter_map(|(_, e)| e.clone()).collect();
            if args.with_generated {
                fit_on.extend(examples.iter().cloned());
            }
            let held: Vec<_> =
                labelled.iter().enumerate().filter(|(i, _)| i % 2 == f).map(|(_, e)| e.clone()).collect();
            cv += scorer_top1(&evidence::fit(&fit_on, 400), &held) * held.len() as f32;
        }
        let first = labelled.iter().flatten().filter(|(_, g)| *g == 0).count();
        writeln!(
            o,
            "labelled conversations ({}): 2-fold cross-validated top-1 {:.3} (retrieval's first article {:.3})",
            labelled.len(),
            cv / labelled.len() as f32,
            first as f32 / labelled.len() as f32
        )?;
        let mut fit_on: Vec<_> = labelled.iter().flatten().cloned().collect();
        if args.with_generated {
            fit_on.extend(examples.iter().cloned());
        }
        file.evidence = evidence::fit(&fit_on, 400);
    }
    head.file.evidence = file.evidence.clone();

    // The three stages on held-out questions.
    let test_q = sample(questions.iter().filter(|q| intent::held_out(&q.0)).cloned().collect(), SCORED_QUESTIONS);
    let mut right = [0usize; 3];
    for (q, class) in &test_q {
        let result = retriever.search(&RetrievalQuery::from_text(q, 10))?;
        for (r, ok) in right.iter_mut().zip(judge(&head, &result, std::slice::from_ref(&classes[*class].0))) {
            *r += usize::from(ok);
        }
    }
    let n = test_q.len().max(1) as f32;
    let held = HeldOut {
        questions: test_q.len(),
        head: right[0] as f32 / n,
        retrieval: right[1] as f32 / n,
        combined: right[2] as f32 / n,
    };
    file.heldout_questions = Some(held);
    writeln!(
        o,
        "{} articles, {} texts ({} questions); held-out texts: head top-1 {:.3} on {}",
        classes.len(),
        texts.len(),
        questions.len(),
        file.heldout_top1,
        file.heldout_texts
    )?;
    writeln!(
        o,
        "held-out questions ({}): head {:.3}, retrieval {:.3}, head + retrieval evidence {:.3}",
        held.questions, held.head, held.retrieval, held.combined
    )?;
    let weights: Vec<String> = file.evidence.iter().map(|w| format!("{w:.2}")).collect();
    writeln!(o, "evidence weights ({FEATURES}): {}", weights.join(" "))?;

    // The shipped head sees every text.
    let (last, _) = head_on(&|_| true, &file);
    last.save(out)?;
    writeln!(o, "-> {}", out.display())?;
    Ok(())
}

fn head_top1(head: &Intent, vectors: &[Vec<f32>], labels: &[usize]) -> f32 {
    let right = vectors
        .iter()
        .zip(labels)
        .filter(|(v, l)| head.classify(v, 1).first().is_some_and(|t| t.slug == head.file.slugs[**l]))
        .count();
    right as f32 / labels.len().max(1) as f32
}

/// Top-1 of the head, the retrieval and the two combined on labelled conversations.
pub fn evaluate(
    settings: &Settings,
    cases: &Path,
    head: &Path,
    kb: Option<&PathBuf>,
    half: Option<u8>,
    json: bool,
) -> Result<()> {
    let o = &mut std::io::stdout().lock();
    let head = Intent::load(head)?;
    let dir = super::kb_dir(settings, kb);
    let (_, _, retriever) = hybrid_retriever(settings, &dir)?;
    let encoder_sha = retriever.dense().map(|d| d.encoder.model_sha256().to_owned()).unwrap_or_default();
    anyhow::ensure!(head.file.encoder_sha256 == encoder_sha, "the intent head was trained on another encoder");
    let all = cases_of(cases, half)?;
    let (mut n, mut right, mut chinese) = (0usize, [0usize; 3], 0usize);
    let mut ms = Vec::new();
    for c in all.iter().filter(|c| !c.gold.is_empty()) {
        let result = retriever.search(&crate::eval::query_for(c, 10))?;
        chinese += usize::from(result.vectors.as_ref().and_then(|v| v.english()).is_none());
        // What the classifier adds to a search (the console's path).
        let started = std::time::Instant::now();
        let v = vector_of(&result);
        std::hint::black_box(head.topics(v.as_deref(), &intent_candidates(&result), 1));
        ms.push(started.elapsed().as_secs_f64() * 1e3);
        n += 1;
        for (r, ok) in right.iter_mut().zip(judge(&head, &result, &c.gold)) {
            *r += usize::from(ok);
        }
    }
    let [h, r, b] = right.map(|x| x as f64 / n.max(1) as f64);
    let (p50, p99) = crate::util::p50_p99(&mut ms);
    if json {
        let v = serde_json::json!({ "cases": n, "chinese": chinese, "head": h, "retrieval": r, "top1": b, "classify_p50_ms": p50, "classify_p99_ms": p99 });
        writeln!(o, "{v}")?;
    } else {
        writeln!(
            o,
            "{n} cases with gold articles ({chinese} Chinese): intent top-1 {b:.3} (head alone {h:.3}, retrieval's first article {r:.3}); classifying adds p50 {p50:.2} ms, p99 {p99:.2} ms to a search"
        )?;
    }
    Ok(())
}
