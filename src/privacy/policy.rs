//! What is masked: the `[privacy]` section's kinds, plus the company's own order and tracking
//! number patterns. One policy per process, installed when the settings load, so exports,
//! training data, eval outputs and the log file all mask the same things.

use super::detect::{Finding, Kind, find};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::OnceLock;

/// The `[privacy]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The kinds masked before text leaves the live store.
    pub mask: Vec<String>,
    /// The company's order numbers (a regular expression), besides the built-in shapes.
    pub order_pattern: String,
    /// The company's tracking numbers (a regular expression), besides the built-in shapes.
    pub tracking_pattern: String,
    /// Resolved conversations older than this many days are anonymised or purged (0: kept).
    pub retention_days: u32,
    /// `anonymise` (personal data masked, customer unlinked) or `purge` (deleted).
    pub retention: String,
    /// Where `kb gaps` writes article drafts (empty: `kb-gaps` in the data directory).
    pub gaps_dir: String,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            mask: Kind::ALL.iter().map(|k| k.as_str().to_owned()).collect(),
            order_pattern: String::new(),
            tracking_pattern: String::new(),
            retention_days: 0,
            retention: "anonymise".into(),
            gaps_dir: String::new(),
        }
    }
}

/// A bad `[privacy]` value: the key, the value and what was expected.
#[derive(Debug)]
pub struct BadValue {
    pub key: &'static str,
    pub value: String,
    pub expected: String,
}

impl PrivacyConfig {
    /// The policy these settings describe, or the first bad value.
    pub fn policy(&self) -> Result<Policy, BadValue> {
        let mut kinds = Vec::new();
        for name in &self.mask {
            let kind = Kind::ALL.into_iter().find(|k| k.as_str() == name.trim()).ok_or_else(|| BadValue {
                key: "mask",
                value: format!("{name:?}"),
                expected: format!(
                    "unknown kind (known: {})",
                    Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })?;
            kinds.push(kind);
        }
        let pattern = |key: &'static str, p: &str| -> Result<Option<Regex>, BadValue> {
            if p.trim().is_empty() {
                return Ok(None);
            }
            let re = Regex::new(p).map_err(|e| BadValue {
                key,
                value: format!("{p:?}"),
                expected: format!("not a regular expression: {}", e.to_string().lines().last().unwrap_or("")),
            })?;
            if re.is_match("") {
                return Err(BadValue { key, value: format!("{p:?}"), expected: "must not match empty text".into() });
            }
            Ok(Some(re))
        };
        let order = pattern("order_pattern", &self.order_pattern)?;
        let tracking = pattern("tracking_pattern", &self.tracking_pattern)?;
        if !["anonymise", "purge"].contains(&self.retention.as_str()) {
            return Err(BadValue {
                key: "retention",
                value: format!("{:?}", self.retention),
                expected: "must be \"anonymise\" or \"purge\"".into(),
            });
        }
        if self.retention_days > 36_500 {
            return Err(BadValue {
                key: "retention_days",
                value: self.retention_days.to_string(),
                expected: "out of range (must be from 0, keep, to 36500)".into(),
            });
        }
        Ok(Policy { kinds, order, tracking })
    }
}

/// What is masked.
#[derive(Debug, Clone)]
pub struct Policy {
    kinds: Vec<Kind>,
    order: Option<Regex>,
    tracking: Option<Regex>,
}

impl Default for Policy {
    fn default() -> Self {
        Self { kinds: Kind::ALL.to_vec(), order: None, tracking: None }
    }
}

impl Policy {
    /// The same policy restricted to `kinds` (what `privacy scan --kinds` asks for).
    pub fn only(&self, kinds: &[Kind]) -> Self {
        Self { kinds: self.kinds.iter().copied().filter(|k| kinds.contains(k)).collect(), ..self.clone() }
    }

    /// The same patterns with every kind on (what anonymising uses).
    pub fn with_all_kinds(&self) -> Self {
        Self { kinds: Kind::ALL.to_vec(), ..self.clone() }
    }

    /// The findings, in text order, without overlaps: the built-in detector's first, then the
    /// company's patterns where they do not overlap one.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut found = find(text, &self.kinds);
        let extra = [(Kind::Tracking, &self.tracking), (Kind::Order, &self.order)];
        for (kind, re) in extra {
            let Some(re) = re.as_ref().filter(|_| self.kinds.contains(&kind)) else { continue };
            for m in re.find_iter(text) {
                let r = m.range();
                if !r.is_empty() && !found.iter().any(|f| f.range.start < r.end && r.start < f.range.end) {
                    found.push(Finding { kind, range: r });
                }
            }
        }
        found.sort_by_key(|f| f.range.start);
        found
    }

    /// The text with each finding replaced by its label (`[email]` ...).
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let found = self.find(text);
        if found.is_empty() { Cow::Borrowed(text) } else { Cow::Owned(super::detect::replace(text, &found)) }
    }
}

static POLICY: OnceLock<Policy> = OnceLock::new();

/// Installs the process's policy (once, when the settings load; later calls are ignored).
pub fn install(policy: Policy) {
    let _ = POLICY.set(policy);
}

/// The process's policy: the installed one, else every kind with the built-in shapes.
pub fn current() -> &'static Policy {
    POLICY.get_or_init(Policy::default)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg(mask: &[&str], order: &str) -> PrivacyConfig {
        PrivacyConfig {
            mask: mask.iter().map(|s| (*s).to_owned()).collect(),
            order_pattern: order.into(),
            ..PrivacyConfig::default()
        }
    }

    #[test]
    fn masks_only_the_configured_kinds() {
        let p = cfg(&["email"], "").policy().unwrap();
        assert_eq!(p.mask("mail a@b.co or call +1 415 555 0100"), "mail [email] or call +1 415 555 0100");
    }

    #[test]
    fn the_companys_order_pattern_is_masked_too() {
        let p = cfg(&["order", "email"], r"\bSO\d{7}\b").policy().unwrap();
        assert_eq!(p.mask("my order SO1234567 and HP-20417"), "my order [order] and [order]");
        let without = cfg(&["email"], r"\bSO\d{7}\b").policy().unwrap();
        assert_eq!(without.mask("my order SO1234567"), "my order SO1234567");
    }

    #[test]
    fn bad_values_name_their_key() {
        assert_eq!(cfg(&["emails"], "").policy().unwrap_err().key, "mask");
        assert_eq!(cfg(&["email"], "SO(").policy().unwrap_err().key, "order_pattern");
        assert_eq!(cfg(&["email"], "x*").policy().unwrap_err().key, "order_pattern");
        let mut c = cfg(&["email"], "");
        c.retention = "delete".into();
        assert_eq!(c.policy().unwrap_err().key, "retention");
    }
}
