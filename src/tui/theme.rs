//! Colours. Dark and light palettes; `NO_COLOR` gives a monochrome one that relies on
//! bold/italic/reverse alone.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeName {
    Dark,
    Light,
    Mono,
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub name: ThemeName,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub border_focus: Style,
    pub customer: Style,
    pub agent: Style,
    pub system: Style,
    pub note: Style,
    pub highlight: Style,
    pub selected: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub marker: Style,
    pub status: Style,
}

impl Theme {
    pub fn new(name: ThemeName) -> Self {
        let s = Style::default();
        match name {
            ThemeName::Mono => Theme {
                name,
                text: s,
                dim: s.add_modifier(Modifier::DIM),
                title: s.add_modifier(Modifier::BOLD),
                border: s,
                border_focus: s.add_modifier(Modifier::BOLD),
                customer: s.add_modifier(Modifier::BOLD),
                agent: s.add_modifier(Modifier::BOLD),
                system: s.add_modifier(Modifier::ITALIC),
                note: s.add_modifier(Modifier::ITALIC),
                highlight: s.add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
                selected: s.add_modifier(Modifier::REVERSED),
                ok: s.add_modifier(Modifier::BOLD),
                warn: s.add_modifier(Modifier::BOLD),
                error: s.add_modifier(Modifier::BOLD | Modifier::REVERSED),
                marker: s.add_modifier(Modifier::BOLD),
                status: s.add_modifier(Modifier::REVERSED),
            },
            ThemeName::Dark => Theme {
                name,
                text: s.fg(Color::Gray),
                dim: s.fg(Color::DarkGray),
                title: s.fg(Color::White).add_modifier(Modifier::BOLD),
                border: s.fg(Color::DarkGray),
                border_focus: s.fg(Color::Cyan),
                customer: s.fg(Color::LightBlue).add_modifier(Modifier::BOLD),
                agent: s.fg(Color::LightGreen).add_modifier(Modifier::BOLD),
                system: s.fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
                note: s.fg(Color::Yellow).add_modifier(Modifier::ITALIC),
                highlight: s.fg(Color::Black).bg(Color::Yellow),
                selected: s.bg(Color::Rgb(40, 48, 64)).add_modifier(Modifier::BOLD),
                ok: s.fg(Color::Green),
                warn: s.fg(Color::Yellow),
                error: s.fg(Color::LightRed).add_modifier(Modifier::BOLD),
                marker: s.fg(Color::LightMagenta).add_modifier(Modifier::BOLD),
                status: s.fg(Color::Black).bg(Color::Cyan),
            },
            ThemeName::Light => Theme {
                name,
                text: s.fg(Color::Black),
                dim: s.fg(Color::Gray),
                title: s.fg(Color::Black).add_modifier(Modifier::BOLD),
                border: s.fg(Color::Gray),
                border_focus: s.fg(Color::Blue),
                customer: s.fg(Color::Blue).add_modifier(Modifier::BOLD),
                agent: s.fg(Color::Green).add_modifier(Modifier::BOLD),
                system: s.fg(Color::Gray).add_modifier(Modifier::ITALIC),
                note: s.fg(Color::Rgb(150, 100, 0)).add_modifier(Modifier::ITALIC),
                highlight: s.fg(Color::Black).bg(Color::LightYellow),
                selected: s.bg(Color::Rgb(220, 230, 245)).add_modifier(Modifier::BOLD),
                ok: s.fg(Color::Green),
                warn: s.fg(Color::Rgb(150, 100, 0)),
                error: s.fg(Color::Red).add_modifier(Modifier::BOLD),
                marker: s.fg(Color::Magenta).add_modifier(Modifier::BOLD),
                status: s.fg(Color::White).bg(Color::Blue),
            },
        }
    }

    /// The configured theme, unless NO_COLOR is set (https://no-color.org).
    pub fn from_config(name: &str, no_color: bool) -> Self {
        if no_color {
            return Self::new(ThemeName::Mono);
        }
        Self::new(if name.eq_ignore_ascii_case("light") { ThemeName::Light } else { ThemeName::Dark })
    }

    pub fn toggled(&self) -> Self {
        match self.name {
            ThemeName::Dark => Self::new(ThemeName::Light),
            ThemeName::Light => Self::new(ThemeName::Dark),
            ThemeName::Mono => *self,
        }
    }
}
