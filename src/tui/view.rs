//! Drawing: pure functions of the app state. No I/O, no blocking.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget, Wrap};
use strum::VariantArray;

use super::app::{App, Modal, Problem, StatusKind, Tab};
use super::keymap::{Action, Context};
use super::tabs::credentials::CredField;
use super::tabs::credentials::Focus;
use super::theme::Theme;
pub(super) use super::widgets::text::wrap_words;
use super::widgets::text::{clip_lines, ellipsize, ellipsize_start};
use crate::model::{Connection, UserKind};

/// Below this size the app draws a single "too small" line.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;

/// What the last frame drew where: the widget state of the screen, as
/// ratatui's `StatefulWidget`s keep it. Drawing writes only this (scroll
/// offsets that follow the selections, and the areas the mouse clicks in);
/// the app's state it only reads.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    /// First row on screen of the connection list (any tab's).
    pub list_offset: usize,
    /// The list's rows, for clicks and the page size.
    pub list_rows: Rect,
    /// Register tab: the integrations' rows and first one on screen.
    pub integration_rows: Rect,
    pub integration_offset: usize,
    /// Register tab: the Flows pane, and its first flow on screen.
    pub flow_area: Rect,
    pub flow_offset: usize,
    pub flow_rows: Vec<(u16, String)>,
    /// Credentials tab: the card, and the row of each field in it.
    pub card_area: Rect,
    pub card_fields: Vec<(u16, CredField)>,
    /// Monitor tab: the "All connections" row.
    pub all_row: Rect,
    /// Permissions tab: first role or group, and first grant, on screen.
    pub sets_offset: usize,
    pub grants_offset: usize,
    /// Replace picker: first candidate on screen, and the rows it has.
    pub replace_offset: usize,
    pub replace_rows: u16,
    /// Flow editor: first step on screen; its step picker's first row and
    /// page size.
    pub steps_offset: usize,
    pub step_picker_offset: usize,
    pub step_picker_page: usize,
    /// Users window: first user on screen.
    pub users_offset: usize,
}

/// Draws the app from its state, keeping where things went in `screen`.
pub fn render(app: &App, screen: &mut Screen, frame: &mut Frame) {
    let area = frame.area();
    app.mark_drawn();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "Terminal too small: {}×{}, need {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg)
                .style(app.theme.warning)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let banner_height = u16::from(app.problem.is_some());
    let status_lines = status_lines(app, area.width);
    let [header, tabs, banner, main, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(banner_height),
        Constraint::Min(3),
        Constraint::Length(status_lines.len().max(1) as u16),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, header, frame.buffer_mut());
    render_tabs(app, tabs, frame.buffer_mut());
    render_banner(app, banner, frame.buffer_mut());
    render_main(app, screen, main, frame.buffer_mut());
    render_status(app, status_lines, status, frame.buffer_mut());
    render_footer(app, footer, frame.buffer_mut());
    render_modal(app, screen, area, frame.buffer_mut());
}

fn render_header(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    // A member sees their own count (R18), and whether the account is full.
    let member = app
        .data
        .me
        .as_ref()
        .is_some_and(|m| m.kind == UserKind::Member);
    let right = app.data.quota.map(|q| {
        let limit = if member {
            format!("{} connections you see", app.data.total)
        } else if q.max_connections == 0 {
            format!("{} connections", q.count)
        } else {
            format!("{} of {} connections", q.count, q.max_connections)
        };
        if q.reached {
            let reached = if member {
                "account limit reached"
            } else {
                "limit reached"
            };
            (format!("{limit} · {reached} "), t.warning)
        } else {
            (format!("{limit} "), t.label)
        }
    });
    let right_width = right
        .as_ref()
        .map_or(0, |(s, _)| s.chars().count() as u16 + 1);
    let user = match &app.data.me {
        Some(me) => {
            let kind = match me.kind {
                UserKind::Owner => "owner",
                UserKind::Admin => "admin",
                UserKind::Member => "member",
            };
            format!("{} ({kind})", me.username)
        }
        None => "…".to_string(),
    };
    let left_width = area.width.saturating_sub(right_width);
    // What the left part needs besides the path; the path gives way first,
    // keeping its end (the file name).
    let fixed = " Switchboard   backend   user ".chars().count() + user.chars().count();
    let room = (left_width as usize).saturating_sub(fixed);
    let mut left = vec![
        Span::styled(" Switchboard ", t.header.add_modifier(Modifier::REVERSED)),
        Span::raw("  "),
    ];
    // Too narrow for even the end of the path: the user goes first, cut
    // with "…" rather than mid-word.
    if room >= 8 {
        left.push(Span::styled("backend ", t.label));
        left.push(Span::raw(ellipsize_start(&app.backend, room)));
        left.push(Span::raw("  "));
    }
    // With the path shown the user fits whole (the path gave way for it).
    let user_room = (left_width as usize).saturating_sub(" Switchboard   user ".chars().count());
    left.push(Span::styled("user ", t.label));
    left.push(Span::raw(ellipsize(&user, user_room)));
    let left = Line::from(left);
    Paragraph::new(left).render(
        Rect {
            width: left_width,
            ..area
        },
        buf,
    );
    if let Some((text, style)) = right {
        Paragraph::new(Span::styled(text, style))
            .alignment(Alignment::Right)
            .render(area, buf);
    }
}

/// What is wrong with the backend, and what happens next.
fn render_banner(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(problem) = &app.problem else {
        return;
    };
    let text = match problem {
        Problem::Unreachable(why) => format!(
            " ⚠ Cannot reach the server ({why}). Retrying every {} s; what you see may be out of date. ",
            crate::tui::app::RETRY_EVERY.as_secs()
        ),
        Problem::LoggedOut(why) => {
            let login = app.keymap.keys_of(Context::List, Action::Login);
            format!(" ⚠ Not logged in: {why}. Press {login} to log in. ")
        }
    };
    Paragraph::new(text)
        .style(app.theme.banner)
        .render(area, buf);
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    // Only tabs that work are shown, each with the key that opens it.
    let mut spans = vec![Span::raw(" ")];
    for &tab in Tab::VARIANTS {
        let keys = app.keymap.keys_of(Context::Tabs, tab.action());
        let key = keys.split('/').next().unwrap_or_default();
        let style = if tab == app.tab {
            t.tab_active
        } else {
            t.tab_inactive
        };
        spans.push(Span::styled(format!(" {key} {} ", tab), style));
        spans.push(Span::raw(" "));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    Paragraph::new(Line::from(spans)).render(area, buf);
    let next = app.keymap.keys_of(Context::Tabs, Action::NextTab);
    let prev = app.keymap.keys_of(Context::Tabs, Action::PrevTab);
    let hint = format!("{next}/{prev} switch tabs ");
    if used + hint.chars().count() + 2 <= area.width as usize {
        Paragraph::new(Span::styled(hint, t.dim))
            .alignment(Alignment::Right)
            .render(area, buf);
    }
}

fn render_main(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    if !app.data.loaded {
        Paragraph::new("Loading…")
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .render(area, buf);
        return;
    }
    if app.tab == Tab::Credentials {
        super::tabs::credentials::render(app, screen, area, buf);
        return;
    }
    if app.tab == Tab::Register {
        super::tabs::register::render(app, screen, area, buf);
        return;
    }
    if app.tab == Tab::Permissions {
        super::tabs::permissions::render(app, screen, area, buf);
        return;
    }
    if app.tab == Tab::Monitor {
        super::tabs::monitor::render(app, screen, area, buf);
        return;
    }
    super::tabs::connections::render(app, screen, area, buf);
}

/// Splits `text` into spans, styling the characters at `positions`.
pub(crate) fn highlighted<'a>(
    text: &'a str,
    positions: &[usize],
    base: Style,
    mark: Style,
) -> Vec<Span<'a>> {
    if positions.is_empty() {
        return vec![Span::styled(text, base)];
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_marked = false;
    for (i, ch) in text.chars().enumerate() {
        let marked = positions.binary_search(&i).is_ok();
        if marked != run_marked && !run.is_empty() {
            let style = if run_marked { base.patch(mark) } else { base };
            spans.push(Span::styled(std::mem::take(&mut run), style));
        }
        run_marked = marked;
        run.push(ch);
    }
    if !run.is_empty() {
        let style = if run_marked { base.patch(mark) } else { base };
        spans.push(Span::styled(run, style));
    }
    spans
}

/// The visual's stand-in in the table. On the selected (reversed) row it is
/// plain, so the row reads as one bar.
pub(crate) fn badge<'a>(app: &App, c: &'a Connection, selected: bool) -> Span<'a> {
    let text = crate::domain::initials(&c.label);
    if selected {
        return Span::styled(
            format!(" {text:<2} "),
            Style::new().add_modifier(Modifier::BOLD),
        );
    }
    let accent = c
        .visual
        .as_deref()
        .and_then(|v| app.visuals.get(v))
        .map(|l| l.accent);
    if app.theme.color {
        Span::styled(format!(" {text:<2} "), app.theme.badge(&c.code, accent))
    } else {
        Span::styled(format!("[{text:<2}]"), app.theme.badge(&c.code, accent))
    }
}

/// How many rows the shared list shows, and why not all: "36",
/// "3 of 36 match", "stale only: 24 of 36", "stale only: 2 of 36 match".
pub(crate) fn list_count(app: &App) -> String {
    let total = app.data.connections.len();
    let shown = app.list.filter.visible().len();
    let matching = app.list.filter.is_active() || app.list.filter_editing;
    match (matching, app.list.filter.stale_only()) {
        (false, false) => total.to_string(),
        (true, false) => format!("{shown} of {total} match"),
        (false, true) => format!("stale only: {shown} of {total}"),
        (true, true) => format!("stale only: {shown} of {total} match"),
    }
}

/// Moves the list's first visible row so that the selection shows in
/// `body_height` rows; returns the end of the visible rows.
/// A pane's frame; the focused one is drawn thick (not by colour alone).
pub(crate) fn pane<'a>(t: &Theme, title: String, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if focused { t.focused_border } else { t.border })
        .title(Span::styled(title, t.title))
}

/// The first key bound to an action, for hints inside the text.
pub(crate) fn key_of(app: &App, context: Context, action: Action) -> String {
    app.keymap.first_key(context, action)
}

/// The frame of the connection list as a side list (Credentials, Monitor):
/// the pane with its count, and the filter line when one is typed; returns
/// the area left for the rows.
pub(crate) fn side_list_pane(app: &App, area: Rect, buf: &mut Buffer, focused: bool) -> Rect {
    let t = &app.theme;
    let title = if app.list.filter.narrows() || app.list.filter_editing {
        format!(" {} ", list_count(app))
    } else {
        format!(" Connections · {} ", app.data.connections.len())
    };
    let block = pane(t, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if !(app.list.filter_editing || app.list.filter.is_active()) {
        return inner;
    }
    let [f, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let cursor = if app.list.filter_editing { "▏" } else { "" };
    Line::from(vec![
        Span::styled("/ ", t.key),
        Span::raw(app.list.filter.query().to_string()),
        Span::styled(cursor, t.key),
    ])
    .render(f, buf);
    rows
}

/// Draws the shared, filtered connection list into `rows`, as the side
/// lists of the Register and Credentials tabs show it: "No match" when the
/// filter hides everything, else every row on screen with the selection
/// style (reversed while the list has the keys, bold beside a focused
/// pane), its content drawn by `draw(app, index, highlights, selected,
/// row, buf)`.
pub(crate) fn draw_list_rows(
    app: &App,
    screen: &mut Screen,
    rows: Rect,
    buf: &mut Buffer,
    focused: bool,
    draw: impl FnMut(&App, usize, &super::filter::Highlights, bool, Rect, &mut Buffer),
) {
    draw_list_rows_marking(app, screen, rows, buf, focused, true, draw);
}

/// [`draw_list_rows`], with the selection's style only when `mark` (the
/// Monitor tab's "All connections" row may hold the selection instead).
pub(crate) fn draw_list_rows_marking(
    app: &App,
    screen: &mut Screen,
    rows: Rect,
    buf: &mut Buffer,
    focused: bool,
    mark: bool,
    mut draw: impl FnMut(&App, usize, &super::filter::Highlights, bool, Rect, &mut Buffer),
) {
    if app.list.filter.visible().is_empty() {
        Paragraph::new("No match")
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .render(rows, buf);
        return;
    }
    let end = scroll_into_view(app, screen, rows.height as usize);
    for (line, pos) in (screen.list_offset..end).enumerate() {
        let idx = app.list.filter.visible()[pos];
        let marks = app.list.filter.highlights(idx);
        let selected = pos == app.list.selected;
        let row = Rect {
            y: rows.y + line as u16,
            height: 1,
            ..rows
        };
        let style = match (selected && mark, focused) {
            (true, true) => app.theme.selected,
            (true, false) => app.theme.title,
            _ => Style::new(),
        };
        buf.set_style(row, style);
        draw(app, idx, &marks, selected, row, buf);
    }
}

/// Moves the list's offset so that the selection is on screen; the end of
/// the rows shown.
pub(crate) fn scroll_into_view(app: &App, screen: &mut Screen, body_height: usize) -> usize {
    let shown = app.list.filter.visible().len();
    screen.list_offset = super::widgets::scroll::fit_offset(
        screen.list_offset,
        app.list.selected,
        shown,
        body_height,
    );
    (screen.list_offset + body_height).min(shown)
}

/// A row's flags: ⚠ when the connection's client id and secret came with
/// another username lately (R24).
pub(crate) fn flags(t: &Theme, c: &Connection, selected: bool) -> Span<'static> {
    if c.wrong_credentials_at.is_some() {
        Span::styled("⚠", if selected { Style::new() } else { t.warning })
    } else {
        Span::raw("")
    }
}

/// Width of the name column in field lists.
pub(super) const NAME_WIDTH: usize = 13;

pub(crate) fn field_line<'a>(t: &Theme, name: &'a str, value: impl Into<Span<'a>>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<NAME_WIDTH$}"), t.label),
        value.into(),
    ])
}

/// A field whose value wraps under the value column, not under the name.
pub(crate) fn field_lines(
    t: &Theme,
    name: &str,
    value: &str,
    style: Style,
    width: u16,
) -> Vec<Line<'static>> {
    let room = (width as usize).saturating_sub(NAME_WIDTH).max(8);
    wrap_words(value, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let head = if i == 0 { name } else { "" };
            Line::from(vec![
                Span::styled(format!("{head:<NAME_WIDTH$}"), t.label),
                Span::styled(part, style),
            ])
        })
        .collect()
}

pub(crate) fn flow_description(c: &Connection) -> String {
    let what = match c.flow_type {
        crate::model::FlowType::Source => "data flows into the platform",
        crate::model::FlowType::Destination => "data is extracted from the platform",
        crate::model::FlowType::Other => "not monitored",
    };
    format!("{} ({what})", c.flow_type)
}

/// The spinner's frames (the status line's, and a test running).
pub(crate) const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Room the spinner ("⠋ working… ") keeps at the status line's right.
const SPINNER_WIDTH: u16 = 12;

/// The status message, wrapped to the screen's width: it grows to three
/// lines, and ends with "…" only past them.
fn status_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(s) = &app.status else {
        return Vec::new();
    };
    let (mark, style) = match s.kind {
        StatusKind::Info => ("·", t.label),
        StatusKind::Success => ("✓", t.success),
        StatusKind::Error => ("✗", t.error),
    };
    let room = width.saturating_sub(3 + SPINNER_WIDTH).max(8) as usize;
    clip_lines(&s.text, room, 3)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let lead = if i == 0 {
                format!(" {mark} ")
            } else {
                "   ".to_string()
            };
            Line::from(Span::styled(format!("{lead}{l}"), style))
        })
        .collect()
}

fn render_status(app: &App, lines: Vec<Line<'static>>, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    Paragraph::new(lines).render(area, buf);
    if app.spinner_visible() {
        let frame = SPINNER[app.spinner_frame % SPINNER.len()];
        Paragraph::new(Span::styled(format!("{frame} working… "), t.dim))
            .alignment(Alignment::Right)
            .render(area, buf);
    }
}

fn render_footer(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let context = app.context();
    let mut spans = vec![Span::raw(" ")];
    let mut hints = app.keymap.action_hints(context);
    if context == Context::Credentials {
        // The arrows move whatever has the focus: say which.
        let moves = match app.credentials.focus {
            Focus::List => "connection",
            Focus::Card => "field",
        };
        for (_, hint, _) in hints.iter_mut().filter(|(_, h, _)| *h == "move") {
            *hint = moves;
        }
    }
    if context == Context::Register {
        hints = super::tabs::register::footer_hints(app);
        let moves = match app.register.focus {
            super::tabs::register::RegFocus::Integrations => "integration",
            super::tabs::register::RegFocus::Flows => "flow",
            super::tabs::register::RegFocus::Connections => "connection",
        };
        for (_, hint, _) in hints.iter_mut().filter(|(_, h, _)| *h == "move") {
            *hint = moves;
        }
    }
    if context == Context::Permissions {
        hints = super::tabs::permissions::footer_hints(app);
    }
    if context == Context::Secret
        && matches!(app.modals.last(), Some(Modal::ShownOnce(s)) if s.what.is_user())
    {
        // A user's password window has nothing else to copy.
        hints.retain(|(_, _, a)| *a != Action::CopyAll);
    }
    if context == Context::List && app.data.loaded && app.data.connections.is_empty() {
        let demo = app.keymap.keys_of(Context::List, Action::Demo);
        if let Some(first) = demo.split('/').next() {
            hints.insert(1, (first.to_string(), "demo", Action::Demo));
        }
    }
    // What does not apply to the selected row, for this user, is dimmed
    // and crossed out; pressing it says why (R19, R20).
    let disabled = app.disabled_actions();
    // Whole hints only: one that does not fit is left out, and "…" says
    // so (`?` lists every key).
    let room = usize::from(area.width);
    let mut used = 1;
    let count = hints.len();
    for (i, (keys, hint, action)) in hints.into_iter().enumerate() {
        let width = keys.chars().count() + 1 + hint.chars().count();
        let last = i + 1 == count;
        if used + width + if last { 0 } else { 3 } > room {
            spans.push(Span::styled("…", t.dim));
            break;
        }
        used += width + 2;
        if disabled.contains(&action) {
            spans.push(Span::styled(format!("{keys} {hint}"), t.disabled));
            spans.push(Span::raw("  "));
        } else {
            spans.push(Span::styled(keys, t.key));
            spans.push(Span::raw(format!(" {hint}  ")));
        }
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// A rectangle of at most `width × height`, centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn render_modal(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    // A confirmation is drawn over the dialog it asks about; whatever the
    // users window opened (a form, a password shown once, a question), over
    // it.
    let n = app.modals.len();
    let users_below = app.modals[..n.saturating_sub(1)]
        .iter()
        .rposition(|m| matches!(m, Modal::Users(_)));
    if let Some(at) = users_below {
        render_one(app, screen, at, area, buf);
    }
    if n >= 2 && matches!(app.modals.last(), Some(Modal::Confirm(_))) && users_below != Some(n - 2)
    {
        render_one(app, screen, n - 2, area, buf);
    }
    if n >= 1 {
        render_one(app, screen, n - 1, area, buf);
    }
}

/// Draws the dialog at `index` of the stack.
fn render_one(app: &App, screen: &mut Screen, index: usize, area: Rect, buf: &mut Buffer) {
    let Some(modal) = app.modals.get(index) else {
        return;
    };
    match modal {
        Modal::Replace(picker) => super::dialogs::replace::render_picker(
            picker,
            screen,
            &app.theme,
            &app.keymap,
            area,
            buf,
        ),
        Modal::Login(form) => {
            let server = app
                .sessions
                .as_ref()
                .map_or_else(|| app.backend.clone(), |(url, _)| url.clone());
            form.render(&app.theme, &app.keymap, server, area, buf)
        }
        Modal::Form(form) => {
            super::dialogs::connection_form::render(form, &app.theme, &app.keymap, area, buf)
        }
        Modal::Confirm(confirm) => confirm.render(&app.theme, &app.keymap, area, buf),
        Modal::ShownOnce(shown) => shown.render(&app.theme, &app.keymap, area, buf),
        Modal::Picker(p) => p.render(&app.theme, &app.keymap, area, buf),
        Modal::SetForm(f) => f.render(&app.theme, &app.keymap, area, buf),
        Modal::Help(help) => help.render(&app.theme, &app.keymap, area, buf),
        Modal::Choice(choice) => choice.render(&app.theme, &app.keymap, area, buf),
        Modal::Flow(m) => super::dialogs::flow_editor::render_modal(app, screen, m, area, buf),
        Modal::IntegrationForm(form) => form.render(&app.theme, &app.keymap, area, buf),
        Modal::UserForm(form) => form.render(&app.theme, &app.keymap, area, buf),
        Modal::Users(dialog) => super::dialogs::users::render(app, dialog, screen, area, buf),
    }
}
