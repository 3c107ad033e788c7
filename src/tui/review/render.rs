//! Drawing the review console: a pure function of [`ReviewApp`]. The list lays out only the
//! rows on screen, so ten thousand drafts scroll as fast as ten.

use super::state::{Detail, Prompt, ReviewApp, View, outcome_label};
use crate::desk::Author;
use crate::review::diff::{Change, diff, needs_space};
use crate::store::ReviewRow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

/// Rows of the list that fit in a terminal of `height` lines (tabs, borders, header, status).
pub fn list_page(height: u16) -> usize {
    height.saturating_sub(5).max(1) as usize
}

pub fn render(app: &ReviewApp, frame: &mut Frame) {
    let area = frame.area();
    let [tabs, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    render_tabs(app, frame, tabs);
    match app.view {
        View::List => render_list(app, frame, body),
        View::Detail => render_detail(app, frame, body),
        View::Stats => render_stats(app, frame, body),
        View::Queue => render_queue(app, frame, body),
        View::Help => render_help(app, frame, body),
    }
    render_status(app, frame, status);
}

fn block<'a>(app: &ReviewApp, title: impl Into<Line<'a>>) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(app.theme.border_focus)
        .title(title)
}

fn render_tabs(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let active = match app.view {
        View::List | View::Detail | View::Help => 0,
        View::Stats => 1,
        View::Queue => 2,
    };
    let labels = [
        format!(" Drafts ({}/{}) ", app.visible.len(), app.rows.len()),
        " Stats ".to_owned(),
        format!(" Approval queue ({}) ", app.queue.len()),
    ];
    let mut spans = vec![Span::styled(" Review ", app.theme.title)];
    for (i, label) in labels.into_iter().enumerate() {
        spans.push(Span::styled(label, if i == active { app.theme.selected } else { app.theme.dim }));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("Tab: switch", app.theme.dim));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// "01-05 14:03", UTC.
fn when(ms: i64) -> String {
    let iso = crate::review::iso_time(ms);
    format!("{} {}", &iso[5..10], &iso[11..16])
}

fn secs(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 60_000 => format!("{}s", ms / 1000),
        Some(ms) => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

fn fit(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            if out.pop().is_some() {
                out.push('…');
            }
            break;
        }
        out.push(c);
        used += cw;
    }
    let pad = w.saturating_sub(unicode_width::UnicodeWidthStr::width(out.as_str()));
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

const COLS: [(&str, usize); 7] = [
    ("When (UTC)", 12),
    ("Agent", 8),
    ("Conversation", 13),
    ("Outcome", 10),
    ("Edit", 5),
    ("To send", 8),
    ("Flags", 6),
];

fn row_line(app: &ReviewApp, r: &ReviewRow, selected: bool, width: usize) -> Line<'static> {
    let base = if selected { app.theme.selected } else { Style::default() };
    let outcome_style = match r.outcome {
        Some(crate::desk::DraftOutcome::SentAsIs) => app.theme.ok,
        Some(crate::desk::DraftOutcome::Edited) => app.theme.text,
        Some(crate::desk::DraftOutcome::Rewritten) => app.theme.warn,
        Some(crate::desk::DraftOutcome::Discarded) => app.theme.error,
        None => app.theme.dim,
    };
    let mut flags = String::new();
    if !r.flags.is_empty() {
        flags.push_str(&format!("⚑{}", r.flags.len()));
    }
    if !r.warnings.is_empty() {
        flags.push('⚠');
    }
    if r.approved {
        flags.push('✓');
    }
    let edit = r.edit_distance.map_or("-".to_owned(), |d| format!("{d:.2}"));
    let fixed: usize = COLS.iter().map(|c| c.1 + 1).sum::<usize>() + 2;
    let articles: Vec<&str> = r.sources.iter().map(|s| s.slug.as_str()).collect();
    let cells = [
        (when(r.created), COLS[0].1, app.theme.dim),
        (r.agent.clone(), COLS[1].1, app.theme.agent),
        (r.conversation.0.clone(), COLS[2].1, app.theme.text),
        (outcome_label(r.outcome).to_owned(), COLS[3].1, outcome_style),
        (edit, COLS[4].1, app.theme.text),
        (secs(r.time_to_send()), COLS[5].1, app.theme.text),
        (flags, COLS[6].1, app.theme.marker),
    ];
    let mut spans = vec![Span::styled(if selected { "▶ " } else { "  " }, base)];
    for (text, w, style) in cells {
        spans.push(Span::styled(fit(&text, w) + " ", base.patch(style)));
    }
    spans.push(Span::styled(fit(&articles.join(", "), width.saturating_sub(fixed)), base.patch(app.theme.dim)));
    Line::from(spans)
}

fn render_list(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let mut title = vec![Span::styled(" Drafts ", app.theme.title)];
    let sort = format!("· sort: {} {} ", app.sort.label(), if app.descending { "↓" } else { "↑" });
    title.push(Span::styled(sort, app.theme.dim));
    title.push(Span::styled(format!("· show: {} ", app.show.label()), app.theme.dim));
    if let Some(a) = &app.agent {
        title.push(Span::styled(format!("· agent: {a} "), app.theme.dim));
    }
    if !app.search.is_empty() {
        title.push(Span::styled(format!("· search: “{}” ", app.search), app.theme.marker));
    }
    let b = block(app, Line::from(title));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if inner.height < 2 {
        return;
    }
    let width = inner.width as usize;
    let mut header = String::from("  ");
    for (name, w) in COLS {
        header.push_str(&fit(name, w));
        header.push(' ');
    }
    header.push_str("Articles");
    let mut lines = vec![Line::styled(header, app.theme.title)];
    let rows = inner.height as usize - 1;
    if app.visible.is_empty() {
        let msg = if app.rows.is_empty() {
            "No drafts yet: they appear here as agents use the console."
        } else {
            "No draft matches the filter (f: show, g: agent, /: search, Esc clears the search)."
        };
        lines.push(Line::styled(msg, app.theme.dim));
    }
    let first = (app.selected + 1).saturating_sub(rows);
    for (pos, &i) in app.visible.iter().enumerate().skip(first).take(rows) {
        lines.push(row_line(app, &app.rows[i], pos == app.selected, width));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The draft against the sent text, word by word: removed words struck through and marked
/// `[-…-]`, added words underlined and marked `[+…+]`, so it reads without colour too.
pub fn diff_line(app: &ReviewApp, draft: &str, sent: &str) -> Line<'static> {
    let pieces = diff(draft, sent);
    let mut spans = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 && needs_space(&pieces[i - 1], p) {
            spans.push(Span::raw(" "));
        }
        match p.change {
            Change::Same => spans.push(Span::styled(p.text.clone(), app.theme.text)),
            Change::Deleted => spans.push(Span::styled(
                format!("[-{}-]", p.text),
                app.theme.error.remove_modifier(Modifier::REVERSED).add_modifier(Modifier::CROSSED_OUT),
            )),
            Change::Inserted => spans.push(Span::styled(
                format!("[+{}+]", p.text),
                app.theme.ok.add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
            )),
        }
    }
    Line::from(spans)
}

fn conversation_lines(app: &ReviewApp, r: &ReviewRow, d: &Detail) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(format!("Conversation {}", r.conversation), app.theme.title)];
    // The handoff summary written on resolve or escalate, first: the situation at a glance.
    if let Some(m) =
        d.messages.iter().rev().find(|m| m.internal && m.author == Author::System && m.text.starts_with("Summary ("))
    {
        lines.push(Line::styled(format!("  {}", crate::tui::text::display_text(&m.text)), app.theme.note));
    }
    // Around the draft: what the customer had said before it, and the reply after.
    let until = r.sent_ms.unwrap_or(r.created) + 1;
    let before: Vec<_> = d.messages.iter().filter(|m| m.at < until).collect();
    let after = d.messages.iter().filter(|m| m.at >= until).take(2);
    for m in before.iter().rev().take(8).rev().copied().chain(after) {
        let (who, style) = match (m.author, m.internal) {
            (_, true) => ("Internal note".to_owned(), app.theme.note),
            (Author::Customer, _) => ("Customer".to_owned(), app.theme.customer),
            (Author::Agent, _) => (format!("Agent {}", r.agent), app.theme.agent),
            (Author::System, _) => ("System".to_owned(), app.theme.system),
        };
        lines
            .push(Line::from(vec![Span::styled(who, style), Span::styled(format!("  {}", when(m.at)), app.theme.dim)]));
        lines.push(Line::styled(format!("  {}", crate::tui::text::display_text(&m.text)), app.theme.text));
    }
    if d.messages.is_empty() {
        lines.push(Line::styled("  (no messages stored)", app.theme.dim));
    }
    lines
}

fn render_detail(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let (Some(r), Some(d)) = (app.selected_row(), app.detail.as_ref()) else {
        frame.render_widget(Paragraph::new("Loading…").block(block(app, " Draft ")), area);
        return;
    };
    let title = format!(
        " Draft #{} · {} · {} · {} · edit distance {} · to send {} ",
        r.id,
        r.agent,
        when(r.created),
        outcome_label(r.outcome),
        r.edit_distance.map_or("-".into(), |d| format!("{d:.2}")),
        secs(r.time_to_send())
    );
    let b = block(app, Span::styled(title, app.theme.title));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let mut right: Vec<Line> = vec![Line::styled("AI draft → sent reply", app.theme.title)];
    match &r.final_text {
        Some(sent) => right.push(diff_line(app, &r.generated, sent)),
        None => {
            right.push(Line::styled("Not sent. The draft was:", app.theme.dim));
            right.push(Line::styled(r.generated.clone(), app.theme.text));
        }
    }
    right.push(Line::default());
    right.push(Line::styled("Cited passages", app.theme.title));
    if d.passages.is_empty() {
        right.push(Line::styled("  none", app.theme.dim));
    }
    for (title, slug, text) in &d.passages {
        right.push(Line::from(vec![
            Span::styled(format!("  {title} "), app.theme.title),
            Span::styled(format!("({slug})"), app.theme.dim),
        ]));
        if !text.is_empty() {
            right.push(Line::styled(format!("  {text}"), app.theme.text));
        }
    }
    right.push(Line::default());
    right.push(Line::styled("Grounding warnings", app.theme.title));
    if r.warnings.is_empty() {
        right.push(Line::styled("  none: every fact was found in a passage", app.theme.dim));
    }
    for w in &r.warnings {
        right.push(Line::styled(format!("  ⚠ {w} found in no passage"), app.theme.warn));
    }
    right.push(Line::default());
    right.push(Line::styled("Review", app.theme.title));
    right.push(Line::styled(if r.approved { "  ✓ approved" } else { "  not approved" }, app.theme.text));
    for f in &r.flags {
        right.push(Line::styled(format!("  ⚑ {f}"), app.theme.marker));
    }
    for n in &d.notes {
        right.push(Line::styled(format!("  ✎ {n}"), app.theme.note));
    }
    let left = conversation_lines(app, r, d);
    let para = |lines: Vec<Line<'static>>| Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((d.scroll, 0));
    if inner.width >= 110 {
        let [l, gap, rr] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Length(2), Constraint::Min(20)]).areas(inner);
        let _ = gap;
        frame.render_widget(para(left), l);
        frame.render_widget(para(right), rr);
    } else {
        let mut all = right;
        all.push(Line::default());
        all.extend(left);
        frame.render_widget(para(all), inner);
    }
}

fn render_stats(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let b = block(app, Span::styled(" Stats · acceptance, edit distance, time to send ", app.theme.title));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let lines: Vec<Line> = match &app.stats {
        Some(s) => s.lines(inner.width as usize).into_iter().map(Line::raw).collect(),
        None => vec![Line::styled("Loading…", app.theme.dim)],
    };
    frame.render_widget(Paragraph::new(lines).scroll((app.stats_scroll, 0)), inner);
}

fn render_queue(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let b = block(app, Span::styled(" Approval queue · replies held until a supervisor approves ", app.theme.title));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let mut lines = Vec::new();
    if app.queue.is_empty() {
        lines.push(Line::styled("Nothing waiting for approval.", app.theme.dim));
    }
    for (i, a) in app.queue.iter().enumerate() {
        let sel = i == app.queue_sel;
        let base = if sel { app.theme.selected } else { Style::default() };
        let preview: String = a.text.split_whitespace().collect::<Vec<_>>().join(" ");
        lines.push(Line::from(vec![
            Span::styled(if sel { "▶ " } else { "  " }, base),
            Span::styled(fit(&when(a.submitted), 12), base.patch(app.theme.dim)),
            Span::styled(fit(&a.agent, 9), base.patch(app.theme.agent)),
            Span::styled(fit(&a.conversation.0, 14), base),
            Span::styled(fit(&preview, (inner.width as usize).saturating_sub(39)), base.patch(app.theme.text)),
        ]));
    }
    if let Some(a) = app.queue.get(app.queue_sel) {
        lines.push(Line::default());
        lines.push(Line::styled(
            format!("Reply by {} to {}, not yet sent to the customer:", a.agent, a.conversation),
            app.theme.title,
        ));
        lines.push(Line::styled(a.text.clone(), app.theme.text));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub const HELP: &[(&str, &str)] = &[
    ("↑↓ PgUp PgDn Home End", "move / scroll"),
    ("Enter", "open the draft: conversation, word diff, passages, warnings"),
    ("Esc / q", "back to the list / quit"),
    ("Tab", "Drafts → Stats → Approval queue"),
    ("/", "search agent, conversation, texts, articles, flags"),
    ("s / S", "sort by the next column / reverse the order"),
    ("f", "show: all, each outcome, flagged, with warnings, not approved"),
    ("g", "next agent (all agents after the last)"),
    ("a", "approve the draft (queue: approve the reply as written)"),
    ("x", "flag the draft with a reason"),
    ("c", "leave a coaching note for the agent (shown in their console)"),
    ("e / r", "queue: edit then approve / return to the agent with a note"),
];

fn render_help(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let b = block(app, Span::styled(" Review keys ", app.theme.title));
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![Span::styled(format!("  {k:<24}"), app.theme.title), Span::styled(*what, app.theme.text)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(b), area);
}

fn render_status(app: &ReviewApp, frame: &mut Frame, area: Rect) {
    let text = match (&app.prompt, &app.flash) {
        (Some((p, text)), _) => {
            let hint = if *p == Prompt::Search { "Enter keep · Esc cancel" } else { "Enter save · Esc cancel" };
            format!(" {}: {text}█   {hint}", p.label())
        }
        (None, Some(f)) => format!(" {f}"),
        (None, None) => match app.view {
            View::List => {
                " Enter open  / search  s sort  f show  g agent  a approve  x flag  c coach  ? help  q quit".into()
            }
            View::Detail => " ↑↓ scroll  a approve  x flag  c coach  Esc back".into(),
            View::Queue => " ↑↓ choose  a approve  e edit+approve  r return  Tab next".into(),
            View::Stats => " ↑↓ scroll  Tab next  q quit".into(),
            View::Help => " Esc back".into(),
        },
    };
    frame.render_widget(Paragraph::new(text).style(app.theme.status), area);
}
