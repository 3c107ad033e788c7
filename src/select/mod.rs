//! The answer selector: which sentences of the retrieved passages answer the customer, and
//! whether any does.
//!
//! - [`draft`]: a draft request's chosen sentences (what both drafters call).
//! - [`features`]: the candidates (sentences of the top passages) and what the selector reads of
//!   each; [`net`]: the network (burn) that scores them; [`train`]: training pairs generated from
//!   any KB and labelled cases, fitting, calibration on dev data, and the decision thresholds.
//!
//! A trained selector is a folder (`assets/selector/`): `selector.json` (shape, calibration,
//! thresholds, provenance and the weights' sha256) and `selector.bpk` (the weights).

pub mod cross;
pub mod draft;
pub mod features;
pub mod net;
pub mod train;

pub use draft::{question_parts, selected_sentences, with_list_context};
pub use features::{Candidate, Question, candidates};
pub use net::{Ensemble, NetConfig, SelectorNet};

use anyhow::{Context, Result, bail};
use burn::store::{BurnpackStore, ModuleSnapshot};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `p = sigmoid(a * logit + b)`: Platt scaling fitted on dev data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f32,
    pub b: f32,
}

impl Default for Platt {
    fn default() -> Self {
        Self { a: 1.0, b: 0.0 }
    }
}

impl Platt {
    pub fn apply(&self, logit: f32) -> f32 {
        1.0 / (1.0 + (-(self.a * logit + self.b)).exp())
    }
}

/// How likely a question is answerable from its candidates: logistic regression over
/// [`question_features`], fitted on the training questions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answerability {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Answerability {
    pub fn apply(&self, x: &[f32]) -> f32 {
        if self.weights.len() != x.len() {
            return 1.0;
        }
        let z: f32 = self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + self.bias;
        1.0 / (1.0 + (-z).exp())
    }
}

/// Number of [`question_features`].
pub const QUESTION_FEATURES: usize = 10;

/// What says whether a question is answerable at all, from its candidates' features and logits:
/// the best logit, the margin over the second, retrieval confidence, the best cosine and word
/// overlap, whether vectors were there, how many words the question has, the topic-word gate,
/// and whether the question is Chinese (alone and with the gate: Chinese is read without vectors).
pub fn question_features(cands: &[(&[f32], f32)]) -> Vec<f32> {
    if cands.is_empty() {
        return vec![-8.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    }
    let mut z: Vec<f32> = cands.iter().map(|c| c.1).collect();
    z.sort_by(|a, b| b.total_cmp(a));
    let best = z[0];
    let margin = z.get(1).map_or(1.0, |s| (best - s).min(4.0));
    use features::{CONFIDENCE, COSINE, HAS_VECTOR, QUESTION_WORDS, QUESTION_ZH, TOPIC_GATE, WORD_SHARE};
    let max = |i: usize| cands.iter().map(|c| c.0[i]).fold(f32::MIN, f32::max);
    let (zh, gate) = (max(QUESTION_ZH), max(TOPIC_GATE));
    vec![
        best.clamp(-8.0, 8.0),
        margin,
        max(CONFIDENCE),
        max(COSINE),
        max(WORD_SHARE),
        max(HAS_VECTOR),
        max(QUESTION_WORDS),
        gate,
        zh,
        zh * gate,
    ]
}

/// When the drafter answers, and with what (fitted on dev data by [`train::fit_decision`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Answer when the question's answerability is at least this.
    pub answer: f32,
    /// Further sentences are quoted when at least this probable...
    pub pick: f32,
    /// ... and at least this share of the best one's probability.
    pub relative: f32,
    /// At most this many sentences...
    pub max_sentences: usize,
    /// ... and one more when it is at least this probable (above 1: never). Not fitted: facts
    /// stated only grows with more sentences, so this bar is where the trade against the
    /// sentences an agent deletes was set (docs/quality.md, "A fourth sentence, behind its own bar").
    #[serde(default = "further")]
    pub further: f32,
}

/// The default bar for a sentence beyond [`Decision::max_sentences`].
fn further() -> f32 {
    0.2
}

impl Default for Decision {
    fn default() -> Self {
        Self { answer: 0.3, pick: 0.5, relative: 0.6, max_sentences: 3, further: further() }
    }
}

/// `selector.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectorFile {
    /// `selector-` and a short hash of the weights.
    pub version: String,
    pub net: NetConfig,
    /// Networks in the ensemble (`selector.bpk` holds them all).
    #[serde(default = "one")]
    pub members: usize,
    pub calibration: Platt,
    #[serde(default)]
    pub answerability: Answerability,
    pub decision: Decision,
    pub weights_sha256: String,
    /// How it was trained: data counts, dev figures, the command.
    #[serde(default)]
    pub provenance: serde_json::Value,
}

fn one() -> usize {
    1
}

/// What the drafter should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Quote these candidates (indices into the candidate list, best first).
    Answer(Vec<usize>),
    /// No sentence answers well enough.
    Abstain,
}

/// A loaded selector.
pub struct Selector {
    pub file: SelectorFile,
    pub dir: PathBuf,
    net: Ensemble,
}

impl std::fmt::Debug for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Selector({}, {})", self.dir.display(), self.file.version)
    }
}

/// Where the bundled selector lives.
pub fn bundled_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/selector")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Selector {
    /// Loads `dir`; the weights must match the recorded hash and shape.
    pub fn load(dir: &Path) -> Result<Self> {
        let json = dir.join("selector.json");
        let text = std::fs::read_to_string(&json).with_context(|| format!("{}: cannot read", json.display()))?;
        let file: SelectorFile =
            serde_json::from_str(&text).with_context(|| format!("{}: not a selector description", json.display()))?;
        if file.net.scalars != features::SCALARS {
            bail!(
                "{}: field net.scalars is {}, this build computes {} features (retrain with `deskpilot train-selector`)",
                json.display(),
                file.net.scalars,
                features::SCALARS
            );
        }
        if file.net.hidden == 0 || file.net.hidden > 4096 || file.net.dim > 4096 {
            bail!("{}: field net: implausible shape {:?}", json.display(), file.net);
        }
        if !(1..=64).contains(&file.members) {
            bail!("{}: field members is {}, expected 1 to 64 networks", json.display(), file.members);
        }
        let weights = dir.join("selector.bpk");
        let bytes = std::fs::read(&weights).with_context(|| format!("{}: cannot read", weights.display()))?;
        let sha = sha256_hex(&bytes);
        if sha != file.weights_sha256 {
            bail!("{}: sha256 {sha} does not match selector.json's weights_sha256", weights.display());
        }
        let device = crate::util::device();
        let mut net = Ensemble { members: (0..file.members).map(|i| file.net.init(&device, i as u64)).collect() };
        let loaded = net.load_from(&mut BurnpackStore::from_file(&weights).auto_extension(false));
        if let Err(e) = loaded {
            // A one-network file written before ensembles holds the network at the top level.
            let mut single = file.net.init(&device, 0);
            let plain = (file.members == 1)
                .then(|| single.load_from(&mut BurnpackStore::from_file(&weights).auto_extension(false)).ok())
                .flatten();
            if plain.is_none() {
                bail!("{}: cannot load weights: {e}", weights.display());
            }
            net = Ensemble { members: vec![single] };
        }
        Ok(Self { file, dir: dir.to_path_buf(), net })
    }

    /// Writes `net` with `file` into `dir` (the weights' hash and version are filled in).
    pub fn save(net: &Ensemble, mut file: SelectorFile, dir: &Path) -> Result<SelectorFile> {
        file.members = net.members.len();
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let weights = dir.join("selector.bpk");
        let mut store = BurnpackStore::from_file(&weights).auto_extension(false).overwrite(true);
        net.save_into(&mut store).map_err(|e| anyhow::anyhow!("{}: cannot save: {e}", weights.display()))?;
        let bytes = std::fs::read(&weights)?;
        file.weights_sha256 = sha256_hex(&bytes);
        file.version = format!("selector-{}", &file.weights_sha256[..8]);
        let json = dir.join("selector.json");
        std::fs::write(&json, serde_json::to_string_pretty(&file)? + "\n")
            .with_context(|| format!("{}: cannot write", json.display()))?;
        Ok(file)
    }

    /// Calibrated probability, per candidate, that it answers the question.
    pub fn score(&self, cands: &[Candidate]) -> Vec<f32> {
        self.logits(cands).into_iter().map(|z| self.file.calibration.apply(z)).collect()
    }

    /// Raw logits per candidate.
    pub fn logits(&self, cands: &[Candidate]) -> Vec<f32> {
        let cfg = &self.file.net;
        let n = cands.len();
        let mut scalars = Vec::with_capacity(n * cfg.scalars);
        let mut meaning = Vec::with_capacity(n * cfg.dim.max(1));
        for c in cands {
            scalars.extend(&c.scalars);
            if c.meaning.len() == cfg.dim {
                meaning.extend(&c.meaning);
            } else {
                meaning.extend(std::iter::repeat_n(0.0, cfg.dim.max(1)));
            }
        }
        self.net.logits(scalars, meaning, n, cfg)
    }

    /// Answer with the best candidates, or abstain: (choice, calibrated probabilities,
    /// answerability).
    pub fn decide(&self, cands: &[Candidate]) -> (Choice, Vec<f32>, f32) {
        let z = self.logits(cands);
        let rows: Vec<(&[f32], f32)> = cands.iter().map(|c| c.scalars.as_slice()).zip(z.iter().copied()).collect();
        let a = self.file.answerability.apply(&question_features(&rows));
        let probs: Vec<f32> = z.iter().map(|&x| self.file.calibration.apply(x)).collect();
        let texts: Vec<&str> = cands.iter().map(|c| c.text.as_str()).collect();
        (choose(&probs, a, &self.file.decision, &texts), probs, a)
    }
}

/// The content of a sentence for spotting repeats: English content stems (no stop words) and
/// numbers, and Chinese as character pairs.
fn gist(text: &str, en: &mut tantivy::tokenizer::TextAnalyzer) -> std::collections::HashSet<String> {
    let is_cjk = |c: char| crate::text::has_cjk(c.encode_utf8(&mut [0; 4]));
    let mut out: std::collections::HashSet<String> =
        crate::text::content_terms(text, en).into_iter().filter(|t| !t.chars().any(is_cjk)).collect();
    let chars: Vec<char> = text.chars().collect();
    out.extend(chars.windows(2).filter(|w| is_cjk(w[0]) && is_cjk(w[1])).map(|w| w.iter().collect::<String>()));
    out
}

/// A sentence lower-cased, its words single-spaced and its final punctuation gone: what
/// containment of one sentence in another is checked on.
fn flat(text: &str) -> String {
    let t = text.trim().trim_end_matches(['.', '。', '!', '！', '?', '？', ';', '；']);
    t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The choice for calibrated `probs` and answerability `a` under thresholds `d`; `texts` are the
/// candidates' sentences: one that mostly repeats what is already picked (knowledge bases state
/// their key facts more than once) is left out.
pub fn choose(probs: &[f32], a: f32, d: &Decision, texts: &[&str]) -> Choice {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    let Some(&best) = order.first() else { return Choice::Abstain };
    if a < d.answer {
        return Choice::Abstain;
    }
    let top = probs[best];
    let mut picked = vec![best];
    // Built only when a second sentence qualifies (most questions pick one): the analyzer and
    // each picked sentence's gist.
    let mut seen: Option<(tantivy::tokenizer::TextAnalyzer, Vec<std::collections::HashSet<String>>)> = None;
    // A repeat takes no place in the count: the cap is on what the reply says, and a left-out
    // repeat says nothing (tuning set 48.8% -> 49.8% facts stated; docs/quality.md).
    for &j in order.iter().skip(1) {
        let cap = d.max_sentences.max(1);
        if picked.len() > cap || (picked.len() == cap && probs[j] < d.further) {
            break;
        }
        if probs[j] < d.pick || probs[j] < d.relative * top {
            break;
        }
        let (en, gists) = seen.get_or_insert_with(|| {
            let mut en = crate::text::analyzers::english();
            let first = texts.get(best).map(|t| gist(t, &mut en)).unwrap_or_default();
            (en, vec![first])
        });
        let words = texts.get(j).map(|t| gist(t, en)).unwrap_or_default();
        if words.is_empty() {
            picked.push(j);
            gists.push(words);
            continue;
        }
        let said: std::collections::HashSet<&String> = gists.iter().flatten().collect();
        if words.iter().filter(|w| said.contains(w)).count() * 10 >= words.len() * 7 {
            continue;
        }
        // A picked sentence that this one contains word for word gives way to it ("Report damage
        // within 14 days of delivery." before "Please report damage within 14 days of delivery,
        // with photos."). Shared words alone are not enough: "A tracking number is emailed when
        // the order ships." says something "No shipping email yet: ... no tracking number yet."
        // does not.
        let later_text = texts.get(j).copied().unwrap_or("");
        let later = flat(later_text);
        // Chinese is compared by character pairs, and a list item restates its lead sentence in
        // other characters ("退回银行卡：需要 5-7 个工作日" after "退回银行卡的款项需要 5-7 个工作日
        // ...；退为商店余额则即时到账"): there, a picked sentence whose pairs this one nearly all
        // holds gives way to it too.
        if let Some(k) = picked.iter().enumerate().position(|(i, &p)| {
            let text = texts.get(p).copied().unwrap_or("");
            let earlier = flat(text);
            let held = |g: &std::collections::HashSet<String>| {
                !g.is_empty() && g.iter().filter(|w| words.contains(*w)).count() * 10 >= g.len() * 8
            };
            (earlier.len() >= 12 && later.contains(&earlier))
                || (crate::text::has_cjk(text) && crate::text::has_cjk(later_text) && held(&gists[i]))
        }) {
            picked[k] = j;
            gists[k] = words;
            continue;
        }
        gists.push(words);
        picked.push(j);
    }
    Choice::Answer(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_takes_the_best_and_what_is_nearly_as_good() {
        let d = Decision { answer: 0.3, pick: 0.5, relative: 0.6, max_sentences: 2, further: 2.0 };
        let texts = ["a", "b", "c", "d"];
        assert_eq!(choose(&[0.1, 0.9, 0.7, 0.8], 0.9, &d, &texts), Choice::Answer(vec![1, 3]));
        assert_eq!(choose(&[0.35, 0.1], 0.9, &d, &texts), Choice::Answer(vec![0]));
        assert_eq!(choose(&[0.9, 0.1], 0.2, &d, &texts), Choice::Abstain);
        assert_eq!(choose(&[], 1.0, &d, &[]), Choice::Abstain);
    }

    #[test]
    fn a_chinese_list_item_gives_way_to_the_sentence_that_restates_it() {
        let d = Decision { answer: 0.3, pick: 0.1, relative: 0.1, max_sentences: 3, further: 2.0 };
        let texts = [
            "退回银行卡：需要 5-7 个工作日才会显示在账单上。",
            "退回银行卡的款项需要 5-7 个工作日才会显示在账单上；退为商店余额则即时到账。",
            "仓库收到退货后 2 个工作日内办理退款。",
        ];
        assert_eq!(choose(&[0.9, 0.8, 0.7], 0.9, &d, &texts), Choice::Answer(vec![1, 2]));
    }

    #[test]
    fn one_sentence_beyond_the_cap_only_when_it_clears_the_further_bar() {
        let d = Decision { answer: 0.3, pick: 0.1, relative: 0.1, max_sentences: 2, further: 0.5 };
        let texts = ["a", "b", "c", "d"];
        assert_eq!(choose(&[0.9, 0.8, 0.4, 0.3], 0.9, &d, &texts), Choice::Answer(vec![0, 1]));
        assert_eq!(choose(&[0.9, 0.8, 0.6, 0.55], 0.9, &d, &texts), Choice::Answer(vec![0, 1, 2]));
        // The bar never lowers the pick threshold.
        let d = Decision { pick: 0.7, further: 0.1, ..d };
        assert_eq!(choose(&[0.9, 0.8, 0.6], 0.9, &d, &texts), Choice::Answer(vec![0, 1]));
    }

    #[test]
    fn a_sentence_that_repeats_a_picked_one_is_left_out() {
        let d = Decision { answer: 0.3, pick: 0.5, relative: 0.5, max_sentences: 2, further: 2.0 };
        let texts = [
            "Claims have a $29 service fee.",
            "Pay the $29 service fee for claims.",
            "HarborCare covers accidental damage such as drops and spills.",
        ];
        assert_eq!(choose(&[0.9, 0.8, 0.7], 0.9, &d, &texts), Choice::Answer(vec![0, 2]));
        let d = Decision { max_sentences: 1, ..d };
        assert_eq!(choose(&[0.9, 0.8, 0.7], 0.9, &d, &texts), Choice::Answer(vec![0]));
        let d = Decision { max_sentences: 3, ..d };
        assert_eq!(choose(&[0.9, 0.8, 0.7], 0.9, &d, &texts), Choice::Answer(vec![0, 2]));
        let zh = ["退款会在 5 个工作日内到账。", "退款在 5 个工作日内到账。", "运费不退。"];
        assert_eq!(choose(&[0.9, 0.8, 0.7], 0.9, &d, &zh), Choice::Answer(vec![0, 2]));
    }

    #[test]
    fn a_sentence_that_restates_a_picked_one_whole_takes_its_place() {
        let d = Decision { answer: 0.3, pick: 0.5, relative: 0.5, max_sentences: 3, further: 2.0 };
        let texts = [
            "Report damage within 14 days of delivery.",
            "Please report damage within 14 days of delivery, with photos of the item and the box.",
            "Report damage within 30 days of delivery, with photos of the item and the box.",
            "Standard shipping is free on orders over $50.",
            "Standard shipping takes 3-5 business days, and standard shipping is free on orders over $50 in the US.",
        ];
        assert_eq!(choose(&[0.9, 0.8, 0.1, 0.0, 0.0], 0.9, &d, &texts), Choice::Answer(vec![1]));
        // Not when the words differ (a number).
        assert_eq!(choose(&[0.9, 0.1, 0.8, 0.0, 0.0], 0.9, &d, &texts), Choice::Answer(vec![0, 2]));
        assert_eq!(choose(&[0.0, 0.0, 0.0, 0.9, 0.8], 0.9, &d, &texts), Choice::Answer(vec![4]));
    }
}
