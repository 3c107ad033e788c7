//! Configuration and paths.
//!
//! Precedence, lowest first: the defaults embedded from `assets/config.toml`, the user's file
//! (`--config FILE`, else `$XDG_CONFIG_HOME/deskpilot/config.toml` when it exists), then
//! `DESKPILOT_<SECTION>_<KEY>` environment variables.

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
    let mut applied = Vec::new();
    for (section, keys) in table.iter_mut().filter(|(s, _)| s.as_str() != "keys") {
        let Some(keys) = keys.as_table_mut() else { continue };
        for (key, value) in keys.iter_mut() {
            let name = format!("DESKPILOT_{}_{}", section.to_uppercase(), key.to_uppercase());
            if let Some((_, raw)) = env.iter().find(|(k, _)| *k == name) {
                *value = parse_env_value(raw, value);
                applied.push(name);
            }
        }
    }
    let config: Config = toml::Value::Table(table).try_into().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    Ok((config, applied))
}

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

/// Reads an environment value as the same TOML type as the default it replaces.
fn parse_env_value(raw: &str, default: &toml::Value) -> toml::Value {
    if default.is_str() {
        return toml::Value::String(raw.to_owned());
    }
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
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

    pub fn model_dir(&self) -> PathBuf {
        if !self.model.dir.is_empty() {
            return PathBuf::from(&self.model.dir);
        }
        bundled_model_dir()
    }
}

/// The bundled sentence encoder: `./assets/encoder` when run from a checkout, else the crate's own.
pub fn bundled_encoder_dir() -> PathBuf {
    let local = PathBuf::from("assets/encoder");
    if local.join("config.json").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/encoder")
}

/// The bundled model: `./assets/model` when run from a checkout, else the crate's own.
pub fn bundled_model_dir() -> PathBuf {
    let local = PathBuf::from("assets/model");
    if local.join("config.json").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/model")
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
    fn errors_name_the_file_and_key() {
        let err = resolve(Some((Path::new("/x/c.toml"), "[retrieval]\ntopk = 3\n")), &[]).expect_err("typo");
        assert!(err.to_string().contains("/x/c.toml: unknown key `topk` in [retrieval]"), "{err}");
        let err = resolve(Some((Path::new("/x/c.toml"), "[retrieval\n")), &[]).expect_err("syntax");
        assert!(err.to_string().contains("/x/c.toml"), "{err}");
        let env = vec![("DESKPILOT_RETRIEVAL_TOP_K".to_owned(), "many".to_owned())];
        let err = resolve(None, &env).expect_err("bad env");
        assert!(err.to_string().contains("top_k"), "{err}");
    }
}
