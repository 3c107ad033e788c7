//! Training: data → tokenizer → batches → AdamW on the flex CPU backend, with validation, sample
//! drafts, a loss curve, resumable state and a half-precision checkpoint at the end.

use super::checkpoint::{self, CheckpointConfig, Provenance};
use super::data::{self, Example, Kind, Synthesizer, TranscriptReport};
use super::generate::{Sampling, generate};
use super::net::{Batch, Drafter, ModelConfig};
use super::prompt::{self, Limits};
use super::rng::Rng;
use super::tokenizer::{self as tok, Tokenizer};
use crate::desk::ports::Flow;
use crate::knowledge::{ChunkOptions, chunk_article, load_kb};
use crate::retrieval::Retriever;
use anyhow::{Context, Result, bail};
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub kb: PathBuf,
    pub transcripts: Vec<PathBuf>,
    /// Use only half 1 (odd lines) or half 2 (even lines) of the transcripts, as `eval --half`.
    pub half: Option<u8>,
    pub out: PathBuf,
    pub size: String,
    pub steps: usize,
    pub seed: u64,
    /// Fine-tune from this checkpoint (its tokenizer and shape are kept).
    pub from: Option<PathBuf>,
    /// Tokens per batch (padded rows × length).
    pub batch_tokens: usize,
    pub lr: f64,
    pub vocab: usize,
    /// Synthetic dialogues per passage.
    pub per_passage: usize,
    pub eval_every: usize,
    /// Stop (and save) after this many minutes.
    pub max_minutes: Option<f64>,
    pub val_fraction: f32,
    pub command: String, // the command line, recorded in the checkpoint
    /// Also write the training examples here (JSONL), to read what the model learns from.
    pub data_out: Option<PathBuf>,
    /// More eval case files whose questions must not appear in training (bundled sets always are).
    pub exclude: Vec<PathBuf>,
    pub member_terms: Vec<String>, // `[model] member_terms`: the synthetic members' replies
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            kb: PathBuf::from("kb"),
            transcripts: Vec::new(),
            half: None,
            out: PathBuf::from("model"),
            size: "small".into(),
            steps: 1000,
            seed: 7,
            from: None,
            batch_tokens: 3072,
            lr: 2e-3,
            vocab: 6000,
            per_passage: 24,
            eval_every: 100,
            max_minutes: None,
            val_fraction: 0.05,
            command: String::new(),
            data_out: None,
            exclude: Vec::new(),
            member_terms: Vec::new(),
        }
    }
}

/// What training reports as it goes.
pub trait Progress {
    fn start(&mut self, total_steps: usize, done: usize);
    fn step(&mut self, step: usize, loss: f32, tokens_per_s: f64);
    fn message(&mut self, text: &str);
    fn finish(&mut self);
}

/// Progress that prints nothing (tests).
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _: usize, _: usize) {}
    fn step(&mut self, _: usize, _: f32, _: f64) {}
    fn message(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Point {
    pub step: usize,
    pub train: f32,
    pub val: Option<f32>,
}

/// Saved after every validation, so `train` can pick up where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
struct State {
    step: usize,
    tokens: u64,
    seconds: f64,
    history: Vec<Point>,
    seed: u64,
    size: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct KbSource {
    pub dir: String,
    pub articles: usize,
    pub passages: usize,
    pub sha256: String,
}

/// The data manifest saved with the model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Manifest {
    pub kb: KbSource,
    pub transcripts: Vec<TranscriptReport>,
    pub synthetic_per_passage: usize,
    /// How many times each transcript is repeated in the training data.
    #[serde(default)]
    pub transcript_repeat: usize,
    /// Examples dropped for repeating an eval question (nearly or exactly); questions checked.
    #[serde(default)]
    pub eval_duplicates_removed: usize,
    #[serde(default)]
    pub eval_questions_excluded: usize,
    pub train_examples: BTreeMap<String, usize>,
    pub validation_examples: BTreeMap<String, usize>,
    pub train_tokens: u64,
    pub tokenizer_vocab: usize,
    pub tokenizer_sha256: String,
    pub seed: u64,
    /// SHA-256 of `model.bpk`, checked on every load (written once the weights are saved).
    #[serde(default)]
    pub weights_sha256: String,
}

/// A summary of a finished run.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub out: PathBuf,
    pub steps: usize,
    pub tokens: u64,
    pub seconds: f64,
    pub train_loss: f32,
    pub val_loss: f32,
    pub first_loss: f32,
    pub parameters: usize,
    pub history: Vec<Point>,
}

/// An encoded example.
#[derive(Debug, Clone)]
struct Encoded {
    ids: Vec<u32>,
    prompt_len: usize,
}

fn encode(tk: &Tokenizer, e: &Example, limits: &Limits) -> Encoded {
    let p = prompt::build(tk, &e.input, limits);
    let mut reply = tk.encode(e.reply.trim());
    reply.truncate(limits.max_reply);
    reply.push(tok::END);
    let prompt_len = p.ids.len();
    let mut ids = p.ids;
    ids.extend(reply);
    Encoded { ids, prompt_len }
}

fn is_fact_token(tk: &Tokenizer, id: u32) -> bool {
    let s = tk.decode(&[id]);
    s.chars().any(|c| c.is_ascii_digit() || c == '>' || c == '$' || c == '%' || c.is_uppercase())
}

fn make_batch(rows: &[&Encoded], fact: &[bool]) -> Batch {
    let len = rows.iter().map(|r| r.ids.len()).max().unwrap_or(1);
    let mut b = Batch {
        tokens: vec![tok::PAD; rows.len() * len],
        batch: rows.len(),
        len,
        prompt_lens: Vec::new(),
        scored: Vec::new(),
        targets: Vec::new(),
        weights: Vec::new(),
        facts: Vec::new(),
    };
    for (r, e) in rows.iter().enumerate() {
        b.tokens[r * len..r * len + e.ids.len()].copy_from_slice(&e.ids);
        b.prompt_lens.push(e.prompt_len);
        for t in e.prompt_len - 1..e.ids.len() - 1 {
            let target = e.ids[t + 1];
            b.scored.push(r * len + t);
            b.targets.push(target);
            b.weights.push(1.0);
            let in_prompt = e.ids[..e.prompt_len].contains(&target);
            b.facts.push(in_prompt && fact.get(target as usize).copied().unwrap_or(false));
        }
    }
    b
}

/// Groups examples into batches of about `budget` padded tokens, similar lengths together; the
/// order is a function of (seed, epoch) so a resumed run sees the same batches.
fn schedule(lens: &[usize], budget: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(epoch));
    let mut idx: Vec<usize> = (0..lens.len()).collect();
    rng.shuffle(&mut idx);
    let mut batches = Vec::new();
    for group in idx.chunks(256) {
        let mut g = group.to_vec();
        g.sort_by_key(|&i| lens[i]);
        let mut cur: Vec<usize> = Vec::new();
        let mut max = 0;
        for i in g {
            let m = max.max(lens[i]);
            if !cur.is_empty() && m * (cur.len() + 1) > budget {
                batches.push(std::mem::take(&mut cur));
                max = 0;
            }
            max = max.max(lens[i]);
            cur.push(i);
        }
        if !cur.is_empty() {
            batches.push(cur);
        }
    }
    rng.shuffle(&mut batches);
    batches
}

/// Linear warm-up, then cosine decay to a tenth of the peak. `progress` (0..1) is how far the
/// run is: by steps, or by the clock when a time limit ends it sooner.
fn lr_at(step: usize, total: usize, progress: f64, peak: f64) -> f64 {
    let warm = (total / 20).clamp(1, 100);
    if step < warm {
        return peak * (step + 1) as f64 / warm as f64;
    }
    peak * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos()))
}

fn sha_hex(bytes: &[u8]) -> String {
    crate::util::hex(&Sha256::digest(bytes))
}

/// Loads a KB folder's passages (malformed articles skipped, as everywhere).
fn kb_chunks(dir: &Path) -> Result<(Vec<crate::knowledge::Chunk>, usize)> {
    if !dir.is_dir() {
        bail!("{}: no such KB folder", dir.display());
    }
    let kb = load_kb(dir);
    let opts = ChunkOptions::default();
    let chunks: Vec<_> = kb.articles.iter().flat_map(|a| chunk_article(a, &opts)).collect();
    if chunks.is_empty() {
        bail!("{}: no articles with text (run `deskpilot kb check --kb {}`)", dir.display(), dir.display());
    }
    Ok((chunks, kb.articles.len()))
}

/// Builds the training data: synthetic dialogues from the KB plus the transcripts.
pub fn build_data(opts: &TrainOptions, rng: &mut Rng) -> Result<(Vec<Example>, Manifest)> {
    let (chunks, articles) = kb_chunks(&opts.kb)?;
    let retriever = Retriever::in_ram(&chunks)?;
    let mut manifest = Manifest {
        kb: KbSource {
            dir: opts.kb.display().to_string(),
            articles,
            passages: chunks.len(),
            sha256: sha_hex(
                chunks.iter().map(|c| format!("{}\u{0}{}\u{0}", c.id, c.text)).collect::<String>().as_bytes(),
            ),
        },
        synthetic_per_passage: opts.per_passage,
        seed: opts.seed,
        ..Manifest::default()
    };
    let synth = Synthesizer::new(&chunks, &retriever).with_member_terms(&opts.member_terms);
    let mut examples = synth.generate(opts.per_passage, rng);
    let synthetic = examples.len();
    let mut transcripts = Vec::new();
    for path in &opts.transcripts {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let mut cases = crate::knowledge::cases::load_cases(path)?;
        if let Some(h) = opts.half {
            cases = cases.into_iter().enumerate().filter(|(i, _)| (i % 2) + 1 == h as usize).map(|(_, c)| c).collect();
        }
        let mut report =
            TranscriptReport { path: path.display().to_string(), sha256: sha_hex(&bytes), ..Default::default() };
        transcripts.extend(data::from_cases(&cases, &retriever, &mut report));
        manifest.transcripts.push(report);
    }
    // Transcripts are the company's real voice: they are repeated until they make up about 40%
    // of the examples (at most 8 times).
    if !transcripts.is_empty() {
        let repeat = ((0.4 * synthetic as f64) / (0.6 * transcripts.len() as f64)).ceil().clamp(1.0, 8.0) as usize;
        manifest.transcript_repeat = repeat;
        for _ in 0..repeat {
            examples.extend(transcripts.iter().cloned());
        }
    }
    let (checked, dropped) = data::exclude_eval_questions(&mut examples, &opts.exclude)?;
    (manifest.eval_questions_excluded, manifest.eval_duplicates_removed) = (checked, dropped);
    Ok((examples, manifest))
}

fn corpus_for_tokenizer(examples: &[Example]) -> Vec<String> {
    let mut texts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in examples {
        for p in &e.input.passages {
            if seen.insert(p.text.clone()) {
                texts.push(format!("{}: {}", p.title, p.text));
            }
        }
        texts.push(e.reply.clone());
        for (_, t) in &e.input.turns {
            texts.push(t.clone());
        }
        texts.push(e.input.profile.render());
    }
    texts
}

/// Writes the loss curve (train and validation) as an SVG next to the checkpoint.
pub fn loss_svg(history: &[Point]) -> String {
    let (w, h, pad) = (640.0f32, 360.0f32, 48.0f32);
    let max_step = history.iter().map(|p| p.step).max().unwrap_or(1).max(1) as f32;
    let max_loss = history.iter().flat_map(|p| [Some(p.train), p.val]).flatten().fold(0.1f32, f32::max);
    let x = |s: usize| pad + (s as f32 / max_step) * (w - 2.0 * pad);
    let y = |l: f32| h - pad - (l / max_loss) * (h - 2.0 * pad);
    let line = |pts: Vec<(usize, f32)>| {
        pts.iter().map(|(s, l)| format!("{:.1},{:.1}", x(*s), y(*l))).collect::<Vec<_>>().join(" ")
    };
    let train = line(history.iter().map(|p| (p.step, p.train)).collect());
    let val = line(history.iter().filter_map(|p| p.val.map(|v| (p.step, v))).collect());
    let mut ticks = String::new();
    for i in 0..=4 {
        let l = max_loss * i as f32 / 4.0;
        ticks.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{l:.2}</text>",
            pad - 6.0,
            y(l) + 4.0
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\">\
<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
<text x=\"{pad}\" y=\"24\" font-size=\"14\">Deskpilot generator: loss per step (blue: train, orange: validation)</text>\
<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#888\"/>{ticks}\
<text x=\"{r}\" y=\"{lb}\" font-size=\"11\" text-anchor=\"end\">step {ms}</text>\
<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{train}\"/>\
<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" points=\"{val}\"/></svg>\n",
        b = h - pad,
        r = w - pad,
        lb = h - pad + 18.0,
        ms = max_step as usize,
    )
}

fn validation_loss(model: &Drafter, val: &[Encoded], fact: &[bool], budget: usize) -> f32 {
    if val.is_empty() {
        return f32::NAN;
    }
    let model = model.valid();
    let lens: Vec<usize> = val.iter().map(|e| e.ids.len()).collect();
    let mut total = 0.0;
    let mut n = 0usize;
    for b in schedule(&lens, budget, 0, 0) {
        let rows: Vec<&Encoded> = b.iter().map(|&i| &val[i]).collect();
        let batch = make_batch(&rows, fact);
        let l = model.loss(&batch);
        total += l.nll * l.scored as f32;
        n += l.scored;
    }
    total / n.max(1) as f32
}

/// Trains (or fine-tunes, or resumes) and writes the checkpoint to `opts.out`.
pub fn train(opts: &TrainOptions, progress: &mut dyn Progress) -> Result<TrainReport> {
    let started = Instant::now();
    let mut rng = Rng::new(opts.seed);
    std::fs::create_dir_all(&opts.out).with_context(|| format!("{}: cannot create", opts.out.display()))?;
    let state_dir = opts.out.join("train-state");
    let resume: Option<State> = std::fs::read_to_string(state_dir.join("state.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(|s: &State| s.seed == opts.seed && s.size == opts.size);

    progress.message(&format!("reading {} and building training data", opts.kb.display()));
    let (examples, mut manifest) = build_data(opts, &mut rng)?;
    if let Some(path) = &opts.data_out {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?,
        );
        for e in &examples {
            use std::io::Write;
            let turns: Vec<_> =
                e.input.turns.iter().map(|(a, t)| serde_json::json!({"role": a.as_str(), "text": t})).collect();
            let passages: Vec<_> =
                e.input.passages.iter().map(|p| serde_json::json!({"slug": p.slug, "text": p.text})).collect();
            let line = serde_json::json!({"kind": e.kind, "profile": e.input.profile.render(), "passages": passages, "turns": turns, "reply": e.reply});
            writeln!(f, "{line}")?;
        }
        if opts.steps == 0 {
            progress.message(&format!("wrote {} examples to {}", examples.len(), path.display()));
            return Ok(TrainReport {
                out: opts.out.clone(),
                steps: 0,
                tokens: 0,
                seconds: started.elapsed().as_secs_f64(),
                train_loss: f32::NAN,
                val_loss: f32::NAN,
                first_loss: f32::NAN,
                parameters: 0,
                history: Vec::new(),
            });
        }
    }
    let (train_set, val_set) = data::split(examples, opts.val_fraction);
    if train_set.is_empty() {
        bail!("no training examples (is the KB empty?)");
    }
    manifest.train_examples = data::counts(&train_set);
    manifest.validation_examples = data::counts(&val_set);

    let device = super::device();
    device.seed(opts.seed);
    let ad = device.clone().autodiff();
    ad.seed(opts.seed);
    let (tokenizer, base_config, base_name) = if let Some(from) = &opts.from {
        let cfg = checkpoint::read_config(from)?;
        (Tokenizer::load(&from.join("tokenizer.json"))?, Some(cfg.model), Some(from.display().to_string()))
    } else if resume.is_some() && opts.out.join("tokenizer.json").is_file() {
        (Tokenizer::load(&opts.out.join("tokenizer.json"))?, None, None)
    } else {
        progress.message(&format!("training a {}-token byte-level BPE tokenizer", opts.vocab));
        let corpus = corpus_for_tokenizer(&train_set);
        (Tokenizer::train(corpus.iter(), opts.vocab)?, None, None)
    };
    let tk_json = tokenizer.to_json()?;
    std::fs::write(opts.out.join("tokenizer.json"), &tk_json)?;
    manifest.tokenizer_vocab = tokenizer.vocab_size();
    manifest.tokenizer_sha256 = sha_hex(tk_json.as_bytes());

    let config = match base_config {
        Some(c) => c,
        None => ModelConfig::sized(&opts.size, tokenizer.vocab_size())
            .with_context(|| format!("unknown --size `{}` (tiny, small or base)", opts.size))?,
    };
    let limits = Limits::default();
    let fact: Vec<bool> = (0..tokenizer.vocab_size() as u32).map(|i| is_fact_token(&tokenizer, i)).collect();
    let train_enc: Vec<Encoded> = train_set.iter().map(|e| encode(&tokenizer, e, &limits)).collect();
    let val_enc: Vec<Encoded> = val_set.iter().take(64).map(|e| encode(&tokenizer, e, &limits)).collect();
    manifest.train_tokens = train_enc.iter().map(|e| e.ids.len() as u64).sum();
    std::fs::write(opts.out.join("manifest.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    progress.message(&format!(
        "data: {} training / {} validation examples ({} tokens); model: {:.2}M parameters",
        train_enc.len(),
        val_set.len(),
        manifest.train_tokens,
        config.parameters() as f64 / 1e6
    ));

    let mut state = resume.clone().unwrap_or(State { seed: opts.seed, size: opts.size.clone(), ..State::default() });
    let mut model = if resume.is_some() {
        progress.message(&format!("resuming from step {}", state.step));
        checkpoint::load_weights(&config, &state_dir.join("weights.bpk"), &ad, false)?
    } else if let Some(from) = &opts.from {
        checkpoint::load_weights(&config, &from.join("model.bpk"), &ad, true)?
    } else {
        config.init_seeded(&ad, opts.seed)
    };
    let mut optim = AdamWConfig::new()
        .with_weight_decay(0.01)
        .with_beta_2(0.98)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    if resume.is_some() && state_dir.join("optim.bpk").is_file() {
        optim = optim.load(state_dir.join("optim.bpk")).map_err(|e| anyhow::anyhow!("optimizer state: {e:?}"))?;
    }

    let lens: Vec<usize> = train_enc.iter().map(|e| e.ids.len()).collect();
    let per_epoch = schedule(&lens, opts.batch_tokens, opts.seed, 0).len().max(1);
    let mut first_loss = f32::NAN;
    let mut recent: Vec<f32> = Vec::new();
    let mut window_tokens = 0u64;
    let mut window_start = Instant::now();
    let samples: Vec<&Example> = val_set.iter().filter(|e| e.kind != Kind::Transcript).take(2).collect();
    let deadline = opts.max_minutes.map(|m| started + std::time::Duration::from_secs_f64(m * 60.0));
    progress.start(opts.steps, state.step);
    let mut last_train = f32::NAN;
    let mut last_val = f32::NAN;
    let mut cached_epoch = u64::MAX;
    let mut epoch_batches: Vec<Vec<usize>> = Vec::new();
    let session_start_seconds = state.seconds;
    while state.step < opts.steps {
        let epoch = (state.step / per_epoch) as u64;
        if epoch != cached_epoch {
            epoch_batches = schedule(&lens, opts.batch_tokens, opts.seed, epoch);
            cached_epoch = epoch;
        }
        let rows: Vec<&Encoded> =
            epoch_batches[state.step % epoch_batches.len()].iter().map(|&i| &train_enc[i]).collect();
        let batch = make_batch(&rows, &fact);
        let tokens = (batch.batch * batch.len) as u64;
        let losses = model.loss(&batch);
        let grads = GradientsParams::from_grads(losses.loss.backward(), &model);
        let by_steps = state.step as f64 / opts.steps.max(1) as f64;
        let by_clock = opts.max_minutes.map_or(0.0, |m| started.elapsed().as_secs_f64() / (m * 60.0));
        model = optim.step(lr_at(state.step, opts.steps, by_steps.max(by_clock), opts.lr), model, grads);
        state.step += 1;
        state.tokens += tokens;
        window_tokens += tokens;
        if first_loss.is_nan() {
            first_loss = losses.nll;
        }
        recent.push(losses.nll);
        let tps = window_tokens as f64 / window_start.elapsed().as_secs_f64().max(1e-3);
        progress.step(state.step, losses.nll, tps);
        let out_of_time = deadline.is_some_and(|d| Instant::now() >= d);
        if state.step.is_multiple_of(opts.eval_every) || state.step == opts.steps || out_of_time {
            last_train = recent.iter().sum::<f32>() / recent.len().max(1) as f32;
            recent.clear();
            last_val = validation_loss(&model, &val_enc, &fact, opts.batch_tokens);
            state.history.push(Point { step: state.step, train: last_train, val: Some(last_val) });
            state.seconds = session_start_seconds + started.elapsed().as_secs_f64();
            progress.message(&format!(
                "step {}: train loss {last_train:.3}, validation loss {last_val:.3}, {tps:.0} tokens/s",
                state.step
            ));
            let inference = model.valid();
            for e in &samples {
                let p = prompt::build(&tokenizer, &e.input, &limits);
                let s = Sampling { max_tokens: 60, ..Sampling::default() };
                let g = generate(&inference, &tokenizer, &p.ids, &s, &mut |_| Flow::Continue);
                let q = e.input.turns.last().map(|t| t.1.as_str()).unwrap_or("");
                progress.message(&format!("  Q: {q}\n  A: {}", g.text.replace('\n', " ")));
            }
            std::fs::create_dir_all(&state_dir)?;
            checkpoint::save_weights(&model, &state_dir.join("weights.bpk"), false)?;
            optim.save(state_dir.join("optim.bpk")).map_err(|e| anyhow::anyhow!("optimizer state: {e:?}"))?;
            std::fs::write(state_dir.join("state.json"), serde_json::to_string(&state)?)?;
            std::fs::write(opts.out.join("loss.svg"), loss_svg(&state.history))?;
            window_tokens = 0;
            window_start = Instant::now();
        }
        if out_of_time {
            progress.message(&format!("time limit reached at step {}", state.step));
            break;
        }
    }
    progress.finish();
    state.seconds = session_start_seconds + started.elapsed().as_secs_f64();

    // The shipped form: half-precision weights and the config.
    let final_model = model.valid();
    let weights = opts.out.join("model.bpk");
    checkpoint::save_weights(&final_model, &weights, true)?;
    manifest.weights_sha256 = checkpoint::sha256_file(&weights)?;
    std::fs::write(opts.out.join("manifest.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    let cfg = CheckpointConfig {
        format: checkpoint::FORMAT.into(),
        version: format!("neural-{}", &manifest.weights_sha256[..8]),
        model: config.clone(),
        limits,
        provenance: Provenance {
            command: opts.command.clone(),
            steps: state.step,
            tokens: state.tokens,
            seconds: state.seconds,
            seed: opts.seed,
            final_train_loss: Some(last_train).filter(|v| v.is_finite()),
            final_val_loss: Some(last_val).filter(|v| v.is_finite()),
            base: base_name,
        },
    };
    checkpoint::write_config(&opts.out, &cfg)?;
    std::fs::write(opts.out.join("loss.svg"), loss_svg(&state.history))?;
    Ok(TrainReport {
        out: opts.out.clone(),
        steps: state.step,
        tokens: state.tokens,
        seconds: state.seconds,
        train_loss: last_train,
        val_loss: last_val,
        first_loss,
        parameters: config.parameters(),
        history: state.history,
    })
}
