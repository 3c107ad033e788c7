//! Key bindings: defaults embedded from `assets/keys.toml`, patched per mode by the user's
//! config. The help overlay is generated from the same table.

use anyhow::{Result, bail};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const DEFAULT_KEYS: &str = include_str!("../../assets/keys.toml");

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Send,
    Quit,
    Help,
    NextPane,
    PrevPane,
    NextConversation,
    PrevConversation,
    OldestWaiting,
    Regenerate,
    Cancel,
    DiscardDraft,
    AcceptDraft,
    CompareDraft,
    ToggleNote,
    Resolve,
    Escalate,
    ToggleTheme,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    InsertPassage,
    InsertSentence,
    /// Cut the draft's sentence under the cursor.
    DeleteSentence,
    FocusEditor,
    Close,
    /// The supervisor's Review tab (role = "supervisor").
    Review,
    /// The customer's profile panel.
    Profile,
}

impl Action {
    /// One line for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Send => "send the reply (or the note, in note mode)",
            Action::Quit => "quit (drafts are saved)",
            Action::Help => "this help",
            Action::NextPane => "focus the next pane",
            Action::PrevPane => "focus the previous pane",
            Action::NextConversation => "next conversation",
            Action::PrevConversation => "previous conversation",
            Action::OldestWaiting => "jump to the customer waiting longest",
            Action::Regenerate => "draft again",
            Action::Cancel => "stop drafting / close",
            Action::DiscardDraft => "discard the draft",
            Action::AcceptDraft => "swap the offered new draft into the editor",
            Action::CompareDraft => "compare the offered new draft with your text",
            Action::ToggleNote => "toggle internal-note mode",
            Action::Resolve => "mark the conversation resolved",
            Action::Escalate => "escalate to a supervisor",
            Action::ToggleTheme => "switch dark/light theme",
            Action::Up => "move up / scroll up",
            Action::Down => "move down / scroll down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "to the top",
            Action::Bottom => "to the latest",
            Action::Open => "open (article overlay, or reply to the conversation)",
            Action::InsertPassage => "insert the selected passage into the draft",
            Action::InsertSentence => "insert the passage's best sentence into the draft",
            Action::DeleteSentence => "delete the sentence under the cursor (Ctrl-Y puts it back)",
            Action::FocusEditor => "focus the reply editor",
            Action::Close => "close the overlay",
            Action::Review => "Review tab: drafts vs sent replies, stats, approval queue (supervisors)",
            Action::Profile => "the customer's profile: tier, language, orders, earlier conversations",
        }
    }
}

/// The binding tables: mode -> key -> action.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub modes: BTreeMap<String, BTreeMap<Key, Action>>,
}

/// A normalised key chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// KeyCode with an order (for stable help listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(u8),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("space", KeyCode::Char(' ')),
];

impl Key {
    /// Parses "ctrl-s", "alt-enter", "f5", "?", "shift-tab".
    pub fn parse(s: &str) -> Result<Self> {
        let mut key = Key { code: KeyCodeOrd::Char(' '), ctrl: false, alt: false, shift: false };
        let mut rest = s.trim().to_ascii_lowercase();
        if s.trim().chars().count() == 1 {
            key.code = KeyCodeOrd::Char(s.trim().chars().next().unwrap_or(' '));
            return Ok(key);
        }
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                key.ctrl = true;
                rest = r.to_owned();
            } else if let Some(r) = rest.strip_prefix("alt-") {
                key.alt = true;
                rest = r.to_owned();
            } else if let Some(r) = rest.strip_prefix("shift-") {
                key.shift = true;
                rest = r.to_owned();
            } else {
                break;
            }
        }
        if key.shift && rest == "tab" {
            key.shift = false;
            rest = "backtab".into();
        }
        key.code = if rest.chars().count() == 1 {
            KeyCodeOrd::Char(rest.chars().next().unwrap_or(' '))
        } else if let Some(n) = rest.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            KeyCodeOrd::F(n)
        } else if let Some(i) = NAMED.iter().position(|(name, _)| *name == rest) {
            KeyCodeOrd::Named(i as u8)
        } else {
            bail!("unknown key `{s}`");
        };
        Ok(key)
    }

    pub fn from_event(ev: &KeyEvent) -> Option<Self> {
        let m = ev.modifiers;
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c.to_ascii_lowercase()),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().position(|(_, k)| *k == other)? as u8),
        };
        // Shift is part of the character itself ("?", "A"); only track it for named keys.
        let shift = m.contains(KeyModifiers::SHIFT) && !matches!(ev.code, KeyCode::Char(_) | KeyCode::BackTab);
        Some(Key { code, ctrl: m.contains(KeyModifiers::CONTROL), alt: m.contains(KeyModifiers::ALT), shift })
    }

    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.ctrl {
            s.push_str("Ctrl-");
        }
        if self.alt {
            s.push_str("Alt-");
        }
        if self.shift {
            s.push_str("Shift-");
        }
        match self.code {
            KeyCodeOrd::Char(c) => s.push(if self.ctrl || self.alt { c.to_ascii_uppercase() } else { c }),
            KeyCodeOrd::F(n) => s.push_str(&format!("F{n}")),
            KeyCodeOrd::Named(i) => {
                let name = NAMED.get(i as usize).map(|n| n.0).unwrap_or("?");
                let pretty = match name {
                    "backtab" => "Shift-Tab".to_owned(),
                    "pageup" => "PgUp".to_owned(),
                    "pagedown" => "PgDn".to_owned(),
                    n => {
                        let mut c = n.chars();
                        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
                    }
                };
                s.push_str(&pretty);
            }
        }
        s
    }
}

fn parse_table(text: &str, source: &str) -> Result<BTreeMap<String, BTreeMap<Key, Action>>> {
    let raw: BTreeMap<String, BTreeMap<String, Action>> =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let mut out = BTreeMap::new();
    for (mode, keys) in raw {
        if !["global", "navigate", "editor", "overlay"].contains(&mode.as_str()) {
            bail!("{source}: unknown key mode [{mode}] (global, navigate, editor, overlay)");
        }
        let mut table = BTreeMap::new();
        for (k, action) in keys {
            let key = Key::parse(&k).map_err(|e| anyhow::anyhow!("{source}: [{mode}] {e}"))?;
            table.insert(key, action);
        }
        out.insert(mode, table);
    }
    Ok(out)
}

impl Keymap {
    pub fn defaults() -> Self {
        let modes = parse_table(DEFAULT_KEYS, "assets/keys.toml").unwrap_or_default();
        Self { modes }
    }

    /// Defaults patched by a user table (`[keys.<mode>]` of the config, as TOML text).
    pub fn with_overrides(user: Option<&toml::Table>, source: &str) -> Result<Self> {
        let mut me = Self::defaults();
        if let Some(user) = user {
            let text = toml::to_string(user)?;
            for (mode, keys) in parse_table(&text, source)? {
                me.modes.entry(mode).or_default().extend(keys);
            }
        }
        Ok(me)
    }

    /// The action for a key in `mode`, falling back to the global table.
    pub fn action(&self, mode: &str, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev)?;
        self.modes
            .get(mode)
            .and_then(|m| m.get(&key))
            .or_else(|| self.modes.get("global").and_then(|m| m.get(&key)))
            .copied()
    }

    /// (mode, key label, action) for the help overlay, grouped by mode: everywhere first, then
    /// the editor's own keys.
    pub fn rows(&self) -> Vec<(String, String, Action)> {
        let mut rows = Vec::new();
        let rank = |m: &str| ["global", "editor", "navigate", "overlay"].iter().position(|x| *x == m);
        let mut modes: Vec<(&String, &BTreeMap<Key, Action>)> = self.modes.iter().collect();
        modes.sort_by_key(|(m, _)| rank(m));
        for (mode, keys) in modes {
            let mut by_action: BTreeMap<Action, Vec<String>> = BTreeMap::new();
            for (k, a) in keys {
                by_action.entry(*a).or_default().push(k.label());
            }
            for (a, labels) in by_action {
                rows.push((mode.clone(), labels.join(" / "), a));
            }
        }
        rows
    }

    /// The first key bound to an action (for hints), as a label.
    pub fn hint(&self, action: Action) -> String {
        for mode in ["global", "navigate", "overlay"] {
            if let Some((k, _)) = self.modes.get(mode).and_then(|m| m.iter().find(|(_, a)| **a == action)) {
                return k.label();
            }
        }
        String::from("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent { code, modifiers: m, kind: KeyEventKind::Press, state: crossterm::event::KeyEventState::NONE }
    }

    #[test]
    fn defaults_resolve() {
        let k = Keymap::defaults();
        assert_eq!(k.action("editor", &ev(KeyCode::Char('s'), KeyModifiers::CONTROL)), Some(Action::Send));
        assert_eq!(k.action("editor", &ev(KeyCode::Enter, KeyModifiers::ALT)), Some(Action::Send));
        assert_eq!(k.action("editor", &ev(KeyCode::Char('q'), KeyModifiers::NONE)), None, "typing q in the editor");
        assert_eq!(k.action("navigate", &ev(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(k.action("navigate", &ev(KeyCode::Char('?'), KeyModifiers::SHIFT)), Some(Action::Help));
        assert_eq!(k.action("navigate", &ev(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Action::PrevPane));
        assert_eq!(k.hint(Action::Send), "Ctrl-S");
    }

    #[test]
    fn user_overrides_patch_a_mode() {
        let user: toml::Table = "[editor]\n\"ctrl-j\" = \"send\"\n".parse().expect("toml");
        let k = Keymap::with_overrides(Some(&user), "config.toml").expect("keys");
        assert_eq!(k.action("editor", &ev(KeyCode::Char('j'), KeyModifiers::CONTROL)), Some(Action::Send));
        assert_eq!(k.action("editor", &ev(KeyCode::Char('s'), KeyModifiers::CONTROL)), Some(Action::Send));
        let bad: toml::Table = "[editor]\n\"ctrl-j\" = \"fly\"\n".parse().expect("toml");
        let err = Keymap::with_overrides(Some(&bad), "config.toml").expect_err("unknown action");
        assert!(err.to_string().contains("config.toml"), "{err}");
    }
}
