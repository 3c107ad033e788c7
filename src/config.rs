//! Configuration and paths.
//!
//! Precedence, lowest first: the defaults embedded from `assets/config.toml`, the user's file
//! (`--config FILE`, else `$XDG_CONFIG_HOME/deskpilot/config.toml` when it exists), then
//! `DESKPILOT_<SECTION>_<KEY>` environment variables.
//!
//! Every value is range-checked once merged, and an error names where the bad value came from
//! (the file, or the environment variable). A `DESKPILOT_*` variable that names no setting is an
//! error too, with the closest known name: a typo must not be ignored without a word.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The embedded defaults; also documentation of every key.
pub const DEFAULT_CONFIG: &str = include_str!("../assets/config.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub kb: KbConfig,
    pub retrieval: RetrievalConfig,
    pub model: ModelConfig,
    pub ui: UiConfig,
    pub log: LogConfig,
    /// Who is at the console: name, role, whether replies need a supervisor's approval.
    #[serde(default)]
    pub agent: AgentConfig,
    /// What is masked before text leaves the live store; retention; where gap drafts go.
    #[serde(default)]
    pub privacy: crate::privacy::PrivacyConfig,
    /// Key-binding overrides per mode (`[keys.editor]` ...), checked when the console starts.
    #[serde(default)]
    pub keys: toml::Table,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KbConfig {
    pub dir: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The generator's folder; empty: the bundled model.
    pub dir: String,
    /// `neural` (the burn generator) or `extractive` (quotes passages; no model needed).
    pub drafter: String,
    /// 0 is greedy decoding; above 0, top-p sampling at this temperature.
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: usize,
    /// Share of the copy attention that follows a quoted span (0 turns it off).
    pub copy_continuation: f32,
    /// Content plan: the share of the copy attention steered to the sentences that answer the
    /// question when a quote starts (0 turns it off).
    pub plan: f32,
    /// Sentences kept per passage in the prompt (0: whole passages).
    pub focus_sentences: usize,
    /// The answer selector's folder; empty: the bundled `assets/selector`; `none`: the
    /// hand-written heuristics instead.
    #[serde(default)]
    pub selector: String,
    /// Words that mark a passage sentence as a members' rule (the members' tier names).
    #[serde(default)]
    pub member_terms: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalConfig {
    pub top_k: usize,
    pub min_confidence: f32,
    /// `hybrid`, `lexical` or `dense`.
    pub mode: String,
    /// The sentence encoder's folder; empty: the bundled `assets/encoder`.
    pub encoder: String,
    /// Weight of the dense ranking in hybrid fusion (BM25 has 1).
    pub dense_weight: f32,
    /// The intent classifier's folder (`understand train-intent --out`); empty: the bundled
    /// `assets/understand/intent`; `none`: no intent. Used only with the KB and encoder it was
    /// trained for.
    #[serde(default)]
    pub intent: String,
    /// A draft that does not answer hands off below this confidence (nothing found is about the
    /// question) and asks a clarifying question above it.
    #[serde(default = "default_handoff_below")]
    pub handoff_below: f32,
}

fn default_handoff_below() -> f32 {
    0.13
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub theme: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
}

/// Environment variables read elsewhere (command-line flags, benchmarks, tests).
const OTHER_ENV: [&str; 5] = [
    "DESKPILOT_CONFIG",
    "DESKPILOT_DATA_DIR",
    "DESKPILOT_BENCH_KEEP",
    "DESKPILOT_TEST_WRITER_DB",
    // The web chat's agent API key (a secret: never in a config file).
    "DESKPILOT_API_KEY",
];

/// A configuration value that cannot be used, named by where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: [{section}] {key} = {value}: {expected}")]
    Invalid { origin: String, section: String, key: String, value: String, expected: String },
    #[error("{name}: no such setting{hint} (settings are DESKPILOT_<SECTION>_<KEY>, e.g. DESKPILOT_RETRIEVAL_TOP_K)")]
    UnknownEnv { name: String, hint: String },
    #[error("{name}={raw}: [{section}] {key} must be {expected}")]
    EnvType { name: String, raw: String, section: String, key: String, expected: &'static str },
}

/// The person using the console.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Recorded with every draft, message and event (what supervisors see in the review list).
    pub name: String,
    /// `agent`, or `supervisor` (adds the Review tab and may approve queued replies).
    pub role: Role,
    /// Replies go to the approval queue and reach the customer only once a supervisor approves.
    pub requires_approval: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self { name: "agent".into(), role: Role::Agent, requires_approval: false }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
}

/// Where things live on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct Paths {
    /// The config file that was read, or where one would be read from.
    pub config_file: PathBuf,
    pub config_file_exists: bool,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub log_file: PathBuf,
}

/// The configuration plus the paths it was resolved with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    pub paths: Paths,
    /// Environment variables that overrode a value.
    pub env_overrides: Vec<String>,
}

/// Resolves paths and loads the configuration.
///
/// `config_flag` and `data_dir_flag` come from the command line and win over everything else.
pub fn load(config_flag: Option<&Path>, data_dir_flag: Option<&Path>) -> Result<Settings> {
    let dirs = directories::ProjectDirs::from("", "", "deskpilot");
    let config_file = match config_flag {
        Some(p) => p.to_owned(),
        None => {
            dirs.as_ref().map(|d| d.config_dir().join("config.toml")).unwrap_or_else(|| PathBuf::from("deskpilot.toml"))
        }
    };
    let config_file_exists = config_file.is_file();
    if config_flag.is_some() && !config_file_exists {
        bail!("{}: config file not found (given with --config)", config_file.display());
    }
    let user = if config_file_exists {
        Some(std::fs::read_to_string(&config_file).with_context(|| format!("{}: cannot read", config_file.display()))?)
    } else {
        None
    };
    let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("DESKPILOT_")).collect();
    let (config, env_overrides) = resolve(user.as_deref().map(|u| (config_file.as_path(), u)), &env)?;

    let data_dir = match data_dir_flag {
        Some(p) => p.to_owned(),
        None => dirs.as_ref().map(|d| d.data_dir().to_owned()).unwrap_or_else(|| PathBuf::from(".deskpilot")),
    };
    let state_dir = match (data_dir_flag, dirs.as_ref().and_then(|d| d.state_dir())) {
        (None, Some(s)) => s.to_owned(),
        _ => data_dir.join("state"),
    };
    let log_file = state_dir.join("deskpilot.log");
    Ok(Settings {
        config,
        paths: Paths { config_file, config_file_exists, data_dir, state_dir, log_file },
        env_overrides,
    })
}

/// Merges defaults, an optional user file and environment overrides (pure, for tests).
pub fn resolve(user: Option<(&Path, &str)>, env: &[(String, String)]) -> Result<(Config, Vec<String>)> {
    let mut table: toml::Table = DEFAULT_CONFIG.parse().context("embedded assets/config.toml is invalid")?;
    if let Some((path, text)) = user {
        let user: toml::Table = text.parse().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        merge(&mut table, user, path)?;
    }
    // Where each value came from, for error messages.
    let mut origins: std::collections::HashMap<(String, String), String> = std::collections::HashMap::new();
    if let Some((path, text)) = user
        && let Ok(user) = text.parse::<toml::Table>()
    {
        for (section, keys) in user.iter().filter(|(s, _)| s.as_str() != "keys") {
            for key in keys.as_table().map(|t| t.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                origins.insert((section.clone(), key), path.display().to_string());
            }
        }
    }
    let mut applied = Vec::new();
    let mut known: Vec<String> = OTHER_ENV.iter().map(|s| (*s).to_owned()).collect();
    for (section, keys) in table.iter_mut().filter(|(s, _)| s.as_str() != "keys") {
        let Some(keys) = keys.as_table_mut() else { continue };
        for (key, value) in keys.iter_mut() {
            let name = format!("DESKPILOT_{}_{}", section.to_uppercase(), key.to_uppercase());
            if let Some((_, raw)) = env.iter().find(|(k, _)| *k == name) {
                *value = parse_env_value(raw, value).map_err(|expected| ConfigError::EnvType {
                    name: name.clone(),
                    raw: raw.clone(),
                    section: section.clone(),
                    key: key.clone(),
                    expected,
                })?;
                origins.insert((section.clone(), key.clone()), name.clone());
                applied.push(name.clone());
            }
            known.push(name);
        }
    }
    if let Some((name, _)) = env.iter().find(|(k, _)| k.starts_with("DESKPILOT_") && !known.contains(k)) {
        let hint = closest(name, &known).map(|k| format!("; did you mean {k}?")).unwrap_or_default();
        return Err(ConfigError::UnknownEnv { name: name.clone(), hint }.into());
    }
    let source = user.map_or_else(|| "configuration".to_owned(), |(p, _)| p.display().to_string());
    let config: Config = toml::Value::Table(table).try_into().map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let origin = |section: &str, key: &str| {
        origins
            .get(&(section.to_owned(), key.to_owned()))
            .cloned()
            .unwrap_or_else(|| "assets/config.toml (defaults)".to_owned())
    };
    config.validate(&origin)?;
    Ok((config, applied))
}

/// The known name nearest to `name` by edit distance, if it is near enough to be a typo.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    known
        .iter()
        .map(|k| (distance(name, k), k))
        .filter(|(d, _)| *d <= 4)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

impl Config {
    /// Range-checks every value; `origin` names where a (section, key) came from.
    pub fn validate(&self, origin: &dyn Fn(&str, &str) -> String) -> std::result::Result<(), ConfigError> {
        let fail = |section: &str, key: &str, value: String, expected: String| ConfigError::Invalid {
            origin: origin(section, key),
            section: section.to_owned(),
            key: key.to_owned(),
            value,
            expected,
        };
        let fraction = |section: &str, key: &str, v: f32, lo_open: bool| {
            let ok = v.is_finite() && v <= 1.0 && if lo_open { v > 0.0 } else { v >= 0.0 };
            let range = if lo_open { "above 0 and at most 1" } else { "from 0 to 1" };
            if ok { Ok(()) } else { Err(fail(section, key, v.to_string(), format!("must be a number {range}"))) }
        };
        let count = |section: &str, key: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(fail(section, key, v.to_string(), format!("out of range (must be from {lo} to {hi})")))
            }
        };
        let r = &self.retrieval;
        count("retrieval", "top_k", r.top_k, 1, crate::retrieval::MAX_K)?;
        fraction("retrieval", "min_confidence", r.min_confidence, false)?;
        fraction("retrieval", "handoff_below", r.handoff_below, false)?;
        let m = &self.model;
        if !["neural", "extractive"].contains(&m.drafter.as_str()) {
            return Err(fail(
                "model",
                "drafter",
                format!("{:?}", m.drafter),
                "must be \"neural\" or \"extractive\"".into(),
            ));
        }
        if !(m.temperature.is_finite() && (0.0..=MAX_TEMPERATURE).contains(&m.temperature)) {
            return Err(fail(
                "model",
                "temperature",
                m.temperature.to_string(),
                format!("must be a number from 0 (greedy) to {MAX_TEMPERATURE}"),
            ));
        }
        fraction("model", "top_p", m.top_p, true)?;
        count("model", "max_tokens", m.max_tokens, 1, MAX_TOKENS)?;
        fraction("model", "copy_continuation", m.copy_continuation, false)?;
        fraction("model", "plan", m.plan, false)?;
        count("model", "focus_sentences", m.focus_sentences, 0, 100)?;
        if !["dark", "light"].iter().any(|t| t.eq_ignore_ascii_case(&self.ui.theme)) {
            return Err(fail(
                "ui",
                "theme",
                format!("{:?}", self.ui.theme),
                "unknown theme (\"dark\" or \"light\")".into(),
            ));
        }
        if let Err(bad) = self.privacy.policy() {
            return Err(fail("privacy", bad.key, bad.value, bad.expected));
        }
        if let Err(why) = check_log_filter(&self.log.level) {
            return Err(fail(
                "log",
                "level",
                format!("{:?}", self.log.level),
                format!("{why}; e.g. \"info\", \"debug\" or \"deskpilot=debug\""),
            ));
        }
        Ok(())
    }
}

/// Checks a log filter: comma-separated `level` or `target=level` directives. A bare word must
/// be a level (tracing would read `inof` as a target, and log nothing useful without a word).
fn check_log_filter(filter: &str) -> std::result::Result<(), String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    if filter.trim().is_empty() {
        return Err("empty log filter".into());
    }
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level.trim())) {
            return Err(format!("unknown log level `{}` (trace, debug, info, warn, error or off)", level.trim()));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter).map(|_| ()).map_err(|e| format!("not a log filter ({e})"))
}

/// The highest sampling temperature accepted (beyond it a draft is noise).
pub const MAX_TEMPERATURE: f32 = 5.0;
/// The longest draft accepted, in tokens.
pub const MAX_TOKENS: usize = 4096;

/// Overlays `user` onto `base`, refusing keys the defaults do not have (typos would otherwise be
/// silently ignored).
fn merge(base: &mut toml::Table, user: toml::Table, path: &Path) -> Result<()> {
    for (section, value) in user {
        if section == "keys" {
            // Free-form: validated against the key map when the console starts.
            base.insert(section, value);
            continue;
        }
        let Some(base_section) = base.get_mut(&section).and_then(|v| v.as_table_mut()) else {
            bail!("{}: unknown section [{section}]", path.display());
        };
        let Some(keys) = value.as_table() else {
            bail!("{}: [{section}] must be a table", path.display());
        };
        for (key, v) in keys {
            if !base_section.contains_key(key) {
                bail!("{}: unknown key `{key}` in [{section}]", path.display());
            }
            base_section.insert(key.clone(), v.clone());
        }
    }
    Ok(())
}

/// Reads an environment value as the same TOML type as the default it replaces; the error says
/// what was expected.
fn parse_env_value(raw: &str, default: &toml::Value) -> std::result::Result<toml::Value, &'static str> {
    if default.is_str() {
        return Ok(toml::Value::String(raw.to_owned()));
    }
    let parsed = format!("v = {raw}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v"));
    match (default, parsed) {
        (toml::Value::Integer(_), Some(v @ toml::Value::Integer(_))) => Ok(v),
        (toml::Value::Integer(_), _) => Err("a whole number"),
        (toml::Value::Float(_), Some(v @ toml::Value::Float(_))) => Ok(v),
        (toml::Value::Float(_), Some(toml::Value::Integer(i))) => Ok(toml::Value::Float(i as f64)),
        (toml::Value::Float(_), _) => Err("a number"),
        (toml::Value::Boolean(_), Some(v @ toml::Value::Boolean(_))) => Ok(v),
        (toml::Value::Boolean(_), _) => Err("true or false"),
        (_, Some(v)) => Ok(v),
        (_, None) => Err("a TOML value"),
    }
}

impl Config {
    /// The knowledge-base folder: the configured one, else the bundled demo KB.
    pub fn kb_dir(&self) -> PathBuf {
        if !self.kb.dir.is_empty() {
            return PathBuf::from(&self.kb.dir);
        }
        bundled_kb_dir()
    }
}

impl Config {
    /// The model folder: the configured one, else the bundled model.
    /// The sentence encoder's folder: the configured one, else the bundled one.
    pub fn encoder_dir(&self) -> PathBuf {
        if !self.retrieval.encoder.is_empty() {
            return PathBuf::from(&self.retrieval.encoder);
        }
        bundled_encoder_dir()
    }

    /// The intent classifier's folder (`None`: no intent).
    pub fn intent_dir(&self) -> Option<PathBuf> {
        match self.retrieval.intent.as_str() {
            "none" => None,
            "" => Some(bundled_asset_dir("understand/intent", "intent.json")),
            dir => Some(PathBuf::from(dir)),
        }
    }

    /// The answer selector's folder (`None`: no selector).
    pub fn selector_dir(&self) -> Option<PathBuf> {
        match self.model.selector.as_str() {
            "none" => None,
            "" => Some(bundled_asset_dir("selector", "selector.json")),
            dir => Some(PathBuf::from(dir)),
        }
    }

    pub fn model_dir(&self) -> PathBuf {
        if !self.model.dir.is_empty() {
            return PathBuf::from(&self.model.dir);
        }
        bundled_model_dir()
    }
}

/// A bundled asset folder: `./assets/NAME` when run from a checkout, else the crate's own.
pub fn bundled_asset_dir(name: &str, marker: &str) -> PathBuf {
    let local = Path::new("assets").join(name);
    if local.join(marker).is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets").join(name)
}

/// The bundled sentence encoder: `./assets/encoder` when run from a checkout, else the crate's own.
pub fn bundled_encoder_dir() -> PathBuf {
    bundled_asset_dir("encoder", "config.json")
}

/// The bundled model: `./assets/model` when run from a checkout, else the crate's own.
pub fn bundled_model_dir() -> PathBuf {
    bundled_asset_dir("model", "config.json")
}

/// The bundled demo KB: `./kb` when run from a checkout, else the one in the crate's sources.
pub fn bundled_kb_dir() -> PathBuf {
    let local = PathBuf::from("kb");
    if local.join("shipping-options.md").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let (c, env) = resolve(None, &[]).expect("defaults");
        assert_eq!(c.retrieval.top_k, 5);
        assert!(env.is_empty());
    }

    #[test]
    fn user_file_and_env_override() {
        let user = "[retrieval]\ntop_k = 8\n";
        let env = vec![
            ("DESKPILOT_UI_THEME".to_owned(), "light".to_owned()),
            ("DESKPILOT_RETRIEVAL_MIN_CONFIDENCE".into(), "0.5".into()),
        ];
        let (c, applied) = resolve(Some((Path::new("u.toml"), user)), &env).expect("config");
        assert_eq!(c.retrieval.top_k, 8);
        assert_eq!(c.ui.theme, "light");
        assert!((c.retrieval.min_confidence - 0.5).abs() < 1e-6);
        assert_eq!(applied.len(), 2);
    }

    #[test]
    fn agent_section() {
        let user = "[agent]\nname = \"kim\"\nrole = \"supervisor\"\nrequires_approval = true\n";
        let (c, _) = resolve(Some((Path::new("u.toml"), user)), &[]).expect("config");
        assert_eq!((c.agent.name.as_str(), c.agent.role, c.agent.requires_approval), ("kim", Role::Supervisor, true));
        let err = resolve(Some((Path::new("u.toml"), "[agent]\nrole = \"boss\"\n")), &[]).expect_err("bad role");
        assert!(err.to_string().contains("boss") && err.to_string().contains("agent.role"), "{err}");
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let err = resolve(Some((Path::new("/x/c.toml"), "[retrieval]\ntopk = 3\n")), &[]).expect_err("typo");
        assert!(err.to_string().contains("/x/c.toml: unknown key `topk` in [retrieval]"), "{err}");
        let err = resolve(Some((Path::new("/x/c.toml"), "[retrieval\n")), &[]).expect_err("syntax");
        assert!(err.to_string().contains("/x/c.toml"), "{err}");
        let env = vec![("DESKPILOT_RETRIEVAL_TOP_K".to_owned(), "many".to_owned())];
        let err = resolve(None, &env).expect_err("bad env");
        assert!(err.to_string().contains("top_k"), "{err}");
    }

    #[test]
    fn ranges_name_where_the_value_came_from() {
        let err = resolve(
            Some((
                Path::new("/x/c.toml"),
                "[retrieval]
min_confidence = 7.5
",
            )),
            &[],
        )
        .expect_err("range");
        assert!(err.to_string().starts_with("/x/c.toml: [retrieval] min_confidence = 7.5"), "{err}");
        let env = vec![("DESKPILOT_MODEL_TOP_P".to_owned(), "0".to_owned())];
        let err = resolve(None, &env).expect_err("range");
        assert!(err.to_string().starts_with("DESKPILOT_MODEL_TOP_P: [model] top_p = 0"), "{err}");
        let env = vec![("DESKPILOT_MODEL_TEMPERATURE".to_owned(), "1".to_owned())];
        let (c, _) = resolve(None, &env).expect("an integer is a float");
        assert!((c.model.temperature - 1.0).abs() < 1e-6);
        let err = resolve(
            Some((
                Path::new("/x/c.toml"),
                "[log]
level = \"inof\"
",
            )),
            &[],
        )
        .expect_err("level");
        assert!(err.to_string().contains("unknown log level `inof`"), "{err}");
    }

    #[test]
    fn unknown_environment_variables_are_errors_with_the_closest_name() {
        let env = vec![("DESKPILOT_UI_THEM".to_owned(), "light".to_owned())];
        let err = resolve(None, &env).expect_err("typo");
        assert!(
            err.to_string().contains("DESKPILOT_UI_THEM: no such setting; did you mean DESKPILOT_UI_THEME?"),
            "{err}"
        );
        let env = vec![("DESKPILOT_DATA_DIR".to_owned(), "/tmp".to_owned())];
        resolve(None, &env).expect("a flag's variable");
    }
}
