//! Drawing: a pure function of [`App`] (plus the wrap cache). Only the visible window of a
//! conversation is laid out.

use super::app::{App, Focus, Overlay};
use super::layout::Panes;
use super::text::{display_text, highlighted_line, wrap};
use crate::desk::{Author, ConversationView, DraftState, Millis, Status};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

pub fn render(app: &App, frame: &mut Frame) {
    if let Some(review) = app.review.as_ref().filter(|_| app.review_open) {
        super::review::render::render(&review.app, frame);
        return;
    }
    let area = frame.area();
    let panes = Panes::compute(area, app.focus, app.editor.lines());
    if let Some(tabs) = panes.tabs {
        render_tabs(app, frame, tabs);
    }
    if panes.queue.width > 0 {
        render_queue(app, frame, panes.queue);
    }
    if panes.conversation.width > 0 {
        render_conversation(app, frame, panes.conversation);
    }
    if panes.knowledge.width > 0 {
        render_knowledge(app, frame, panes.knowledge);
    }
    render_editor(app, frame, panes.editor);
    render_status(app, frame, panes.status);
    if let Some(overlay) = &app.overlay {
        render_overlay(app, frame, area, overlay);
    }
}

fn block<'a>(app: &App, title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Rounded })
        .border_style(if focused { app.theme.border_focus } else { app.theme.border })
        .title(title)
}

/// "3m", "1h05" for a waiting time.
pub fn waited(now: Millis, since: Millis) -> String {
    let secs = ((now - since) / 1000).max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s => format!("{}h{:02}", s / 3600, (s % 3600) / 60),
    }
}

/// Local wall-clock time of a timestamp, "HH:MM".
pub(super) fn clock(ms: Millis) -> String {
    let secs = (ms / 1000 + crate::util::local_offset_secs()).rem_euclid(86_400);
    format!("{:02}:{:02}", (secs / 3600) % 24, (secs / 60) % 60)
}

fn customer_name(c: &ConversationView) -> String {
    c.customer.as_ref().map(|k| display_text(&k.name)).unwrap_or_else(|| c.conversation.customer.0.clone())
}

fn render_tabs(app: &App, frame: &mut Frame, area: Rect) {
    let waiting = app.state.conversations.iter().filter(|c| c.waiting_since().is_some()).count();
    let tabs = [
        (Focus::Queue, format!(" Queue ({waiting}) ")),
        (Focus::Conversation, " Chat ".to_owned()),
        (Focus::Knowledge, " Knowledge ".to_owned()),
    ];
    let active = if app.focus == Focus::Editor { Focus::Conversation } else { app.focus };
    let mut spans = Vec::new();
    for (f, label) in tabs {
        let style = if f == active { app.theme.selected } else { app.theme.dim };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("Tab: switch", app.theme.dim));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_queue(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Queue;
    let b = block(
        app,
        Span::styled(format!(" Conversations ({}) ", app.state.conversations.len()), app.theme.title),
        focused,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let mut lines: Vec<Line> = Vec::new();
    if app.state.conversations.is_empty() {
        lines.push(Line::styled("No conversations yet.", app.theme.dim));
    }
    for (i, c) in app.state.conversations.iter().enumerate() {
        let selected = app.state.selected == Some(i);
        let base = if selected { app.theme.selected } else { Style::default() };
        let unread = if c.unread > 0 { format!(" ●{}", c.unread) } else { String::new() };
        let prio = match c.conversation.priority {
            crate::desk::Priority::Urgent => "!!",
            crate::desk::Priority::High => "! ",
            _ => "  ",
        };
        let name_w = (inner.width as usize).saturating_sub(6 + unread.chars().count());
        let name: String = truncate(&customer_name(c), name_w);
        lines.push(Line::from(vec![
            Span::styled(if selected { "▶ " } else { "  " }, base),
            Span::styled(prio, base.patch(app.theme.error)),
            Span::styled(name, base.patch(app.theme.customer)),
            Span::styled(unread, base.patch(app.theme.marker)),
        ]));
        let status = c.conversation.status;
        let status_style = match status {
            Status::Open => app.theme.ok,
            Status::Pending => app.theme.warn,
            Status::Escalated => app.theme.error,
            Status::Resolved => app.theme.dim,
        };
        let mut second = vec![Span::styled("    ", base), Span::styled(status.as_str(), base.patch(status_style))];
        if let Some(since) = c.waiting_since() {
            second.push(Span::styled(format!(" · waiting {}", waited(app.now, since)), base.patch(app.theme.warn)));
        }
        if c.customer_typing {
            second.push(Span::styled(" · typing…", base.patch(app.theme.dim)));
        }
        if let Some(i) = c.retrieval.as_ref().and_then(|r| r.intent.as_ref()).filter(|i| !i.category.is_empty()) {
            second.push(Span::styled(format!(" · {}", i.category), base.patch(app.theme.dim)));
        }
        lines.push(Line::from(second));
    }
    // Keep the selection visible.
    let sel_row = app.state.selected.unwrap_or(0) as u16 * 2;
    let scroll = sel_row.saturating_sub(inner.height.saturating_sub(2));
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

fn truncate(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > width.saturating_sub(1) && s.chars().count() > out.chars().count() + 1 {
            out.push('…');
            return out;
        }
        out.push(c);
        w += cw;
    }
    out
}

fn conversation_title(app: &App, c: &ConversationView) -> Line<'static> {
    let mut spans = vec![Span::styled(format!(" {} ", customer_name(c)), app.theme.title)];
    if let Some(k) = &c.customer {
        let tier = super::details::tier_label(k.tier);
        spans.push(Span::styled(format!("· {tier} · {} · {} ", k.language, c.conversation.id), app.theme.dim));
    }
    if let Some(i) = c.retrieval.as_ref().and_then(|r| r.intent.as_ref()) {
        spans.push(Span::styled(format!("· {} {:.0}% ", display_text(&i.label()), i.p * 100.0), app.theme.note));
    }
    let (mood, escalate) = super::details::mood_tags(app, c);
    if let Some(why) = escalate {
        spans.push(Span::styled(format!("· escalate? {why} "), app.theme.error));
    }
    if !mood.is_empty() {
        spans.push(Span::styled(format!("· {} ", mood.join(" · ")), app.theme.warn));
    }
    let shown = super::details::key_details(app, c);
    if !shown.is_empty() {
        spans.push(Span::styled(format!("· {} ", shown.join(" · ")), app.theme.title));
    }
    Line::from(spans)
}

fn render_conversation(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Conversation;
    let Some(c) = app.state.selected_view() else {
        let b = block(app, Span::styled(" Conversation ", app.theme.title), focused);
        let text = Text::from(vec![
            Line::default(),
            Line::styled("Waiting for customers…", app.theme.title),
            Line::styled("New conversations appear in the queue as customers write in.", app.theme.dim),
            Line::styled(format!("Press {} for help.", app.keymap.hint(super::keymap::Action::Help)), app.theme.dim),
        ]);
        frame.render_widget(Paragraph::new(text).alignment(Alignment::Center).block(b), area);
        return;
    };
    let b = block(app, conversation_title(app, c), focused);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    // One column of padding plus a two-space indent before each line of text.
    let width = inner.width.saturating_sub(3).max(4);
    let marker = app.new_marker.get(&c.conversation.id).copied();
    // Lay out from the bottom, only as far up as the window (plus the scroll) reaches.
    let scroll = app.scroll.get(&c.conversation.id).copied().unwrap_or(0) as usize;
    let need = inner.height as usize + scroll;
    let mut rows: Vec<Line> = Vec::new();
    if c.customer_typing {
        rows.push(Line::styled(format!("{} is typing…", customer_name(c)), app.theme.dim));
    }
    let mut cache = app.wrap.borrow_mut();
    for (i, m) in c.messages.iter().enumerate().rev() {
        if rows.len() >= need {
            break;
        }
        let wrapped = cache.get(&c.conversation.id.0, i, width, &m.text);
        let (who, style) = match (m.author, m.internal) {
            (_, true) => ("Internal note".to_owned(), app.theme.note),
            (Author::Customer, _) => (customer_name(c), app.theme.customer),
            (Author::Agent, _) => ("You".to_owned(), app.theme.agent),
            (Author::System, _) => ("System".to_owned(), app.theme.system),
        };
        let body_style = if m.internal {
            app.theme.note
        } else if m.author == Author::System {
            app.theme.system
        } else {
            app.theme.text
        };
        let mut block_lines =
            vec![Line::from(vec![Span::styled(who, style), Span::styled(format!("  {}", clock(m.at)), app.theme.dim)])];
        block_lines
            .extend(wrapped.iter().map(|l| Line::from(vec![Span::raw("  "), Span::styled(l.clone(), body_style)])));
        block_lines.push(Line::default());
        for l in block_lines.into_iter().rev() {
            rows.push(l);
        }
        if marker == Some(i) {
            let rule = "─".repeat((width as usize).saturating_sub(16) / 2);
            rows.push(Line::styled(format!("{rule} new messages {rule}"), app.theme.marker));
        }
    }
    rows.reverse();
    let end = rows.len().saturating_sub(scroll.min(rows.len()));
    let start = end.saturating_sub(inner.height as usize);
    let visible: Vec<Line> = rows[start..end].to_vec();
    let pad = Rect { x: inner.x + 1, width: inner.width.saturating_sub(1), ..inner };
    frame.render_widget(Paragraph::new(visible), pad);
    if scroll > 0 {
        let hint = Span::styled(format!(" ↓ {scroll} lines below · End: latest "), app.theme.marker);
        let at = Rect { x: area.x + 2, y: area.y + area.height - 1, width: area.width.saturating_sub(4), height: 1 };
        frame.render_widget(Paragraph::new(hint).alignment(Alignment::Right), at);
    }
}

fn confidence_label(c: f32) -> (&'static str, bool) {
    match c {
        c if c >= 0.7 => ("strong match", true),
        c if c >= 0.2 => ("possible match", true),
        _ => ("nothing clearly relevant", false),
    }
}

fn render_knowledge(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Knowledge;
    let view = app.state.selected_view();
    let retrieval = view.and_then(|c| c.retrieval.as_ref());
    let title = match (retrieval, view.map(|c| &c.draft)) {
        (_, Some(d)) if d.is_retrieving() => Line::styled(" Knowledge · searching… ", app.theme.title),
        (Some(r), _) => {
            let (label, good) = confidence_label(r.confidence);
            Line::from(vec![
                Span::styled(" Knowledge ", app.theme.title),
                Span::styled(
                    format!("· {:.0}% {label} ", r.confidence * 100.0),
                    if good { app.theme.ok } else { app.theme.warn },
                ),
            ])
        }
        _ => Line::styled(" Knowledge ", app.theme.title),
    };
    let b = block(app, title, focused);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let Some(r) = retrieval else {
        let msg = if view.is_some() { "Passages for the customer's latest message appear here." } else { "" };
        frame.render_widget(Paragraph::new(Line::styled(msg, app.theme.dim)).wrap(Wrap { trim: true }), inner);
        return;
    };
    if r.passages.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("Nothing in the knowledge base matches.", app.theme.dim))
                .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut sel_line = 0;
    let width = inner.width.max(8) as usize;
    for (i, p) in r.passages.iter().enumerate() {
        let selected = i == app.knowledge_sel;
        if selected {
            sel_line = lines.len();
        }
        let head = if selected { app.theme.selected } else { app.theme.title };
        lines.push(Line::from(vec![
            Span::styled(if selected { "▶ " } else { "  " }, head),
            Span::styled(display_text(&p.title), head),
        ]));
        if !p.section.is_empty() {
            lines.push(Line::styled(format!("  {}", display_text(&p.section.join(" › "))), app.theme.dim));
        }
        // Wrap by hand so highlights survive: each wrapped line maps back to its byte range.
        let text = display_text(&p.text);
        let same = text == p.text;
        let mut offset = 0;
        for piece in wrap(&text, width.saturating_sub(2)) {
            let start = text[offset..].find(piece.as_str()).map_or(offset, |i| offset + i);
            let end = start + piece.len();
            let ranges: Vec<std::ops::Range<usize>> = if same {
                p.highlights
                    .iter()
                    .filter(|h| h.start < end && h.end > start)
                    .map(|h| h.start.max(start) - start..h.end.min(end) - start)
                    .collect()
            } else {
                Vec::new()
            };
            let mut line = highlighted_line(&piece, &ranges, app.theme.text, app.theme.highlight).to_owned_line();
            line.spans.insert(0, Span::raw("  "));
            lines.push(line);
            offset = end;
        }
        lines.push(Line::default());
    }
    let scroll = if sel_line as u16 + 4 > inner.height { sel_line as u16 } else { 0 };
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

trait OwnedLine {
    fn to_owned_line(self) -> Line<'static>;
}

impl OwnedLine for Line<'_> {
    fn to_owned_line(self) -> Line<'static> {
        Line::from(self.spans.into_iter().map(|s| Span::styled(s.content.into_owned(), s.style)).collect::<Vec<_>>())
    }
}

fn render_editor(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Editor;
    let view = app.state.selected_view();
    let name = view.map(customer_name).unwrap_or_default();
    let mut title = vec![Span::styled(
        if app.note_mode {
            " Internal note (not sent to the customer) ".to_owned()
        } else {
            format!(" Reply to {name} ")
        },
        if app.note_mode { app.theme.note } else { app.theme.title },
    )];
    let state = match view.map(|c| &c.draft) {
        Some(d) if d.is_retrieving() => Some(("· finding knowledge… ".to_owned(), app.theme.dim)),
        Some(DraftState::Generating { .. }) => {
            Some((format!("· drafting ({}) · Esc to stop ", app.info.drafter), app.theme.warn))
        }
        Some(DraftState::Ready { .. }) if view.is_some_and(|c| !c.editor_dirty) => {
            Some((format!("· AI draft ({}): review before sending ", app.info.drafter), app.theme.ok))
        }
        Some(DraftState::Failed { error, .. }) => Some((format!("· draft failed: {error} "), app.theme.error)),
        _ => None,
    };
    let state = match view.filter(|c| c.held.is_some()) {
        Some(_) => Some(("· last reply awaiting a supervisor's approval ".to_owned(), app.theme.warn)),
        None => state,
    };
    if let Some((s, style)) = state {
        title.push(Span::styled(s, style));
    }
    if view.is_some_and(|c| c.offered.is_some()) {
        title.push(Span::styled(
            format!(" new draft ready: {} to swap in ", app.keymap.hint(super::keymap::Action::AcceptDraft)),
            app.theme.marker,
        ));
    }
    let chars: usize = app.editor.lines().iter().map(|l| l.chars().count()).sum::<usize>()
        + app.editor.lines().len().saturating_sub(1);
    let footer = Line::styled(
        format!(
            " {chars} chars · {} send · {} note ",
            app.keymap.hint(super::keymap::Action::Send),
            app.keymap.hint(super::keymap::Action::ToggleNote)
        ),
        app.theme.dim,
    )
    .alignment(Alignment::Right);
    let b = block(app, Line::from(title), focused).title_bottom(footer);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if view.is_none() {
        return;
    }
    frame.render_widget(&app.editor, inner);
    if focused && app.overlay.is_none() {
        let c = app.editor.screen_cursor();
        let (row, col) = (c.row as u16, c.col as u16);
        if row < inner.height && col < inner.width {
            frame.set_cursor_position((inner.x + col, inner.y + row));
        }
    }
}

fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    use super::keymap::Action as A;
    let k = |a| app.keymap.hint(a);
    let left = match &app.flash {
        Some((text, _)) => text.clone(),
        None => match app.focus {
            Focus::Editor => format!(
                "{} send  {} next  {} redraft  {} help  {} quit",
                k(A::Send),
                k(A::NextConversation),
                k(A::Regenerate),
                k(A::Help),
                k(A::Quit)
            ),
            Focus::Knowledge => format!("↑↓ choose  {} article  i insert  s sentence  Tab next pane", k(A::Open)),
            Focus::Queue => {
                format!("↑↓ choose  {} reply  {} oldest waiting  Tab next pane", k(A::Open), k(A::OldestWaiting))
            }
            Focus::Conversation => "↑↓ PgUp PgDn scroll  End latest  Tab next pane".to_owned(),
        },
    };
    let retrieval = app.info.last_retrieval_ms.map(|ms| format!(" · retrieval {ms:.1} ms")).unwrap_or_default();
    let right = if area.width >= super::layout::WIDE {
        format!(" drafts: {} · KB {} articles{retrieval} ", app.info.drafter, app.info.kb_articles)
    } else {
        format!(" {} ", app.info.drafter)
    };
    let [l, r] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(right.chars().count() as u16)]).areas(area);
    frame.render_widget(Paragraph::new(format!(" {left}")).style(app.theme.status), l);
    frame.render_widget(Paragraph::new(right).style(app.theme.status.add_modifier(Modifier::DIM)), r);
}

fn centered(area: Rect, pct_w: u16, pct_h: u16) -> Rect {
    let w = area.width * pct_w / 100;
    let h = area.height * pct_h / 100;
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn render_overlay(app: &App, frame: &mut Frame, area: Rect, overlay: &Overlay) {
    let rect = if area.width < super::layout::WIDE { centered(area, 98, 92) } else { centered(area, 86, 86) };
    frame.render_widget(Clear, rect);
    match overlay {
        Overlay::Help { scroll } => {
            let mut lines = vec![
                Line::styled("Keys (change them under [keys.<mode>] in your config file)", app.theme.dim),
                Line::default(),
            ];
            let mut last_mode = String::new();
            for (mode, keys, action) in app.keymap.rows() {
                if mode != last_mode {
                    let heading = match mode.as_str() {
                        "global" => "Everywhere",
                        "navigate" => "Outside the editor",
                        "overlay" => "In this window",
                        _ => "In the editor",
                    };
                    lines.push(Line::styled(heading, app.theme.title));
                    last_mode = mode;
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<20}"), app.theme.agent),
                    Span::styled(action.describe(), app.theme.text),
                ]));
            }
            // Say that it scrolls when it does not fit (rows inside the borders).
            let overflows = lines.len() > usize::from(rect.height.saturating_sub(2));
            let title = if overflows {
                use super::keymap::Action;
                let (down, up) = (app.keymap.hint(Action::Down), app.keymap.hint(Action::Up));
                format!(" Help · {down}/{up} scroll · Esc to close ")
            } else {
                " Help · Esc to close ".to_owned()
            };
            let b = block(app, Span::styled(title, app.theme.title), true);
            frame.render_widget(Paragraph::new(lines).block(b).scroll((*scroll, 0)), rect);
        }
        Overlay::Compare { mine, offered, scroll } => {
            let b = block(
                app,
                Span::styled(
                    format!(
                        " Your text vs the new draft · {} swap in · Esc keep yours ",
                        app.keymap.hint(super::keymap::Action::AcceptDraft)
                    ),
                    app.theme.title,
                ),
                true,
            );
            let removed = app.theme.error.add_modifier(Modifier::CROSSED_OUT);
            let added = app.theme.ok.add_modifier(Modifier::UNDERLINED);
            let mut spans = Vec::new();
            for (op, word) in word_diff(&display_text(mine), &display_text(offered)) {
                let style = match op {
                    Diff::Same => app.theme.text,
                    Diff::Removed => removed,
                    Diff::Added => added,
                };
                spans.push(Span::styled(format!("{word} "), style));
            }
            let legend =
                Line::styled("struck out: only in your text · underlined: only in the new draft", app.theme.dim);
            let text = Text::from(vec![legend, Line::default(), Line::from(spans)]);
            frame.render_widget(Paragraph::new(text).block(b).wrap(Wrap { trim: false }).scroll((*scroll, 0)), rect);
        }
        Overlay::Profile { view, scroll } => {
            let lines = super::details::profile_lines(app, &view.customer, view.history.as_deref());
            let lines = super::text::hanging(lines, rect.width.saturating_sub(2) as usize);
            let title = format!(" {} · Esc close ", display_text(&view.customer.name));
            let b = block(app, Span::styled(title, app.theme.title), true);
            frame.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: false }).scroll((*scroll, 0)), rect);
        }
        Overlay::Article { slug, title, text, scroll } => {
            let b = block(
                app,
                Span::styled(
                    format!(" {} · {slug} · i insert passage · Esc close ", display_text(title)),
                    app.theme.title,
                ),
                true,
            );
            let body: Vec<Line> = display_text(text)
                .lines()
                .map(|l| {
                    if l.starts_with('#') {
                        Line::styled(l.trim_start_matches('#').trim().to_owned(), app.theme.title)
                    } else {
                        Line::styled(l.to_owned(), app.theme.text)
                    }
                })
                .collect();
            frame.render_widget(Paragraph::new(body).block(b).wrap(Wrap { trim: false }).scroll((*scroll, 0)), rect);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diff {
    Same,
    Removed,
    Added,
}

/// Word-level diff (longest common subsequence) from `a` to `b`.
pub fn word_diff<'a>(a: &'a str, b: &'a str) -> Vec<(Diff, &'a str)> {
    let x: Vec<&str> = a.split_whitespace().collect();
    let y: Vec<&str> = b.split_whitespace().collect();
    let (n, m) = (x.len(), y.len());
    // Suffix LCS table; drafts are short, so O(n*m) is fine.
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if x[i] == y[j] { t[i + 1][j + 1] + 1 } else { t[i + 1][j].max(t[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && x[i] == y[j] {
            out.push((Diff::Same, x[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || t[i][j + 1] >= t[i + 1][j]) {
            out.push((Diff::Added, y[j]));
            j += 1;
        } else {
            out.push((Diff::Removed, x[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_words() {
        let d = word_diff("refunds take 5 days", "card refunds take 5-7 days");
        let added: Vec<&str> = d.iter().filter(|(o, _)| *o == Diff::Added).map(|(_, w)| *w).collect();
        let removed: Vec<&str> = d.iter().filter(|(o, _)| *o == Diff::Removed).map(|(_, w)| *w).collect();
        assert_eq!(added, ["card", "5-7"]);
        assert_eq!(removed, ["5"]);
    }

    #[test]
    fn waiting_times() {
        assert_eq!(waited(65_000, 0), "1m");
        assert_eq!(waited(3_900_000, 0), "1h05");
    }
}
