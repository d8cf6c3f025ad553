//! The Connections tab (SPEC §6): the filtered table of connections and
//! the selected one's details (every field, registrations and used-by,
//! access, advice, audit trail). Its keys are in `app.rs` (`on_list_key`).

use crate::client::ClientError;
use crate::model::CreatedConnection;
use crate::tui::app::Command;
use crate::tui::app::Modal;
use crate::tui::app::StatusKind;
use crate::tui::app::Tab;
use crate::tui::dialogs::connection_form::ConnectionForm;
use crate::tui::dialogs::replace;
use crate::tui::dialogs::replace::InUse;
use crate::tui::dialogs::shown_once::Shown;
use crate::tui::dialogs::shown_once::ShownOnce;
use crate::tui::filter::FuzzyFilter;
use crate::tui::tabs::credentials::Focus;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Row, Table, Widget, Wrap};
use secrecy::SecretString;

use crate::model::{Application, AuthKind, SECRET_MASK, TestResult};
use crate::model::{AuditRecord, Connection};
use crate::tui::app::{App, ConnectionTest, Then};
use crate::tui::dialogs::confirm::{Confirm, Part};
use crate::tui::keymap::{Action, Context};
use crate::tui::theme::Theme;
use crate::tui::view::*;

/// The connection list: the rows the filter shows and the selection among
/// them. The Connections tab owns it; the Register, Credentials and
/// Monitor tabs show it as their side list, so one selection follows the
/// user from tab to tab.
#[derive(Debug, Default)]
pub struct ConnectionList {
    pub filter: FuzzyFilter,
    /// Whether keys type into the filter.
    pub filter_editing: bool,
    /// Position of the selection in the visible (filtered) rows.
    pub selected: usize,
    /// The connection to select once the next load arrives (after a
    /// create, a replace).
    pub select_after_load: Option<String>,
}

impl ConnectionList {
    /// Where connection `code` is among the visible rows of `rows`.
    pub fn position_of(&self, code: &str, rows: &[Connection]) -> Option<usize> {
        self.filter
            .visible()
            .iter()
            .position(|&i| rows.get(i).is_some_and(|c| c.code == code))
    }
}

/// Width at which the detail pane goes beside the table instead of below.
const SIDE_BY_SIDE: u16 = 110;

/// The tab: the table, and the details beside it (wide) or below it.
pub fn render(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    if app.data.connections.is_empty() {
        render_empty(app, area, buf);
        return;
    }
    let (list_area, detail_area) = if area.width >= SIDE_BY_SIDE {
        let [l, d] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(area);
        (l, d)
    } else {
        let [l, d] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (l, d)
    };
    render_table(app, screen, list_area, buf);
    render_detail(app, detail_area, buf);
}

fn render_empty(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let new = app.keymap.keys_of(Context::List, Action::New);
    let demo = app.keymap.keys_of(Context::List, Action::Demo);
    let lines = vec![
        Line::from(Span::styled("No connections yet", t.title)),
        Line::from(""),
        Line::from("A connection holds how an outside application (an ERP, a DAM,"),
        Line::from("a shop, a translation tool…) authenticates against the platform."),
        Line::from(""),
        Line::from(vec![
            Span::styled(format!("{new:>3} "), t.key),
            Span::raw(" create a connection"),
        ]),
        Line::from(vec![
            Span::styled(format!("{demo:>3} "), t.key),
            Span::raw(" load the demo workspace (connections of every flow type)"),
        ]),
    ];
    let height = lines.len() as u16 + 2;
    let width = 72.min(area.width);
    let rect = centered(area, width, height);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .border_style(t.border),
        )
        .wrap(Wrap { trim: false })
        .render(rect, buf);
}

fn render_table(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let total = app.data.connections.len();
    let shown = app.list.filter.visible().len();
    let stale = app.list.filter.stale_count();
    let title = if !app.fully_loaded() {
        format!(" Connections · loading {total} of {}… ", app.data.total)
    } else if !app.list.filter.narrows() && !app.list.filter_editing && stale > 0 {
        format!(" Connections · {total} · {stale} stale ")
    } else {
        format!(" Connections · {} ", list_count(app))
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(app.theme.border)
        .title(Span::styled(title, app.theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let (filter_area, table_area) = if app.list.filter_editing || app.list.filter.is_active() {
        let [f, t] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        (Some(f), t)
    } else {
        (None, inner)
    };
    if let Some(fa) = filter_area {
        let cursor = if app.list.filter_editing { "▏" } else { "" };
        let line = Line::from(vec![
            Span::styled(" / ", app.theme.key),
            Span::raw(app.list.filter.query().to_string()),
            Span::styled(cursor, app.theme.key),
        ]);
        Paragraph::new(line).render(fa, buf);
    }
    // Header row + visible rows.
    let body_height = table_area.height.saturating_sub(1) as usize;
    screen.list_rows = Rect {
        y: table_area.y + 1,
        height: table_area.height.saturating_sub(1),
        ..table_area
    };
    if shown == 0 {
        let msg = match (app.list.filter.is_active(), app.list.filter.stale_only()) {
            (false, true) => format!(
                "No stale connection: each is used by a flow or had Web API activity in the last 30 days ({} shows all)",
                key_of(app, Context::List, Action::StaleOnly)
            ),
            (true, true) => format!("No stale connection matches {:?}", app.list.filter.query()),
            _ => format!("No connection matches {:?}", app.list.filter.query()),
        };
        Paragraph::new(msg)
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .render(screen.list_rows, buf);
        return;
    }
    let end = scroll_into_view(app, screen, body_height);
    let t = app.theme.clone();
    // The flags column grows to the widest row's flags (offline ones).
    let flags_width = app
        .data
        .connections
        .iter()
        .map(flags_width)
        .max()
        .unwrap_or(0);
    let columns = Columns::fit_with_flags(table_area.width, flags_width);
    let mut rows = Vec::with_capacity(end - screen.list_offset);
    for pos in screen.list_offset..end {
        let idx = app.list.filter.visible()[pos];
        let c = &app.data.connections[idx];
        let marks = app.list.filter.highlights(idx);
        let selected = pos == app.list.selected;
        let marker = if selected { "▶" } else { " " };
        let (registrations, used_by) = app.data.usage.counts(&c.code);
        let count = |n: usize| {
            Line::from(Span::styled(
                n.to_string(),
                if n == 0 && !selected {
                    t.dim
                } else {
                    Style::new()
                },
            ))
            .alignment(Alignment::Right)
        };
        let mut cells = vec![Line::from(marker)];
        if columns.badge {
            cells.push(Line::from(badge(app, c, selected)));
        }
        cells.push(Line::from(fitted(
            &c.label,
            &marks.label,
            columns.label,
            Style::new(),
            t.matched,
        )));
        cells.push(Line::from(fitted(
            &c.code,
            &marks.code,
            columns.code,
            if selected { Style::new() } else { t.dim },
            t.matched,
        )));
        if columns.flow_type {
            cells.push(Line::from(c.flow_type.as_str()));
        }
        if columns.counts {
            cells.push(count(registrations));
            cells.push(count(used_by));
        }
        if columns.activity {
            cells.push(match c.last_activity_at {
                Some(at) => Line::from(at.format("%Y-%m-%d").to_string()),
                None => Line::from(Span::styled(
                    "never",
                    if selected { Style::new() } else { t.dim },
                )),
            });
        }
        cells.push(Line::from(row_flags(&t, c, selected)));
        rows.push(Row::new(cells));
    }
    let header = Row::new(columns.headers()).style(t.table_header);
    let widths = columns.constraints();
    let mut state = ratatui::widgets::TableState::default()
        .with_selected(Some(app.list.selected - screen.list_offset));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    ratatui::widgets::StatefulWidget::render(table, table_area, buf, &mut state);
}

/// Asks before deleting a connection, saying what stops working.
pub fn confirm_delete(t: &Theme, code: String, label: String) -> Confirm<Then> {
    let question = Line::from(vec![
        Span::raw("Delete "),
        Span::styled(label.clone(), t.title),
        Span::raw(format!(" ({code})?")),
    ]);
    Confirm::new("Delete connection", 76, Then::Delete { code, label })
        .with([
            Part::Line(question),
            Part::Blank,
            Part::Text(
                "Its client id, secret and password stop working at once; applications using them get HTTP 401. This cannot be undone.".to_string(),
                Style::new(),
            ),
        ])
        .answers("delete", "keep it")
        .declined("Nothing deleted")
}

/// The connection table's columns at a given width. Label and code are the
/// last to shrink: below the room they need, Activity goes first, then the
/// counts, the flow type and the badge; the flags stay (they warn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// The flags column: at least `Columns::FLAGS`.
    pub flags: u16,
    pub badge: bool,
    pub flow_type: bool,
    pub counts: bool,
    pub activity: bool,
    pub label: u16,
    pub code: u16,
}

impl Columns {
    /// What label and code need before another column may stay.
    const LABEL_AND_CODE: u16 = 30;
    const MARKER: u16 = 1;
    const BADGE: u16 = 4;
    const FLOW_TYPE: u16 = 11;
    const COUNTS: u16 = 4 + 1 + 4;
    const ACTIVITY: u16 = 10;
    const FLAGS: u16 = 7;

    pub fn fit(width: u16) -> Columns {
        Columns::fit_with_flags(width, 0)
    }

    /// With a flags column as wide as `flags` needs (at least the usual).
    pub fn fit_with_flags(width: u16, flags: u16) -> Columns {
        let flags = flags.max(Self::FLAGS);
        let mut c = Columns {
            flags,
            badge: true,
            flow_type: true,
            counts: true,
            activity: true,
            label: 0,
            code: 0,
        };
        let room = |c: &Columns| {
            // Each column after the first takes a space before it.
            let mut used = Self::MARKER + 1 + c.flags + 1 + 1;
            if c.badge {
                used += Self::BADGE + 1;
            }
            if c.flow_type {
                used += Self::FLOW_TYPE + 1;
            }
            if c.counts {
                used += Self::COUNTS + 1;
            }
            if c.activity {
                used += Self::ACTIVITY + 1;
            }
            width.saturating_sub(used)
        };
        for drop in [
            |c: &mut Columns| c.activity = false,
            |c: &mut Columns| c.counts = false,
            |c: &mut Columns| c.flow_type = false,
            |c: &mut Columns| c.badge = false,
        ] {
            if room(&c) >= Self::LABEL_AND_CODE {
                break;
            }
            drop(&mut c);
        }
        let left = room(&c);
        c.label = left * 3 / 5;
        c.code = left - c.label;
        c
    }

    fn headers(&self) -> Vec<&'static str> {
        let mut h = vec![""];
        if self.badge {
            h.push("");
        }
        h.extend(["Label", "Code"]);
        if self.flow_type {
            h.push("Flow type");
        }
        if self.counts {
            h.extend(["Regs", "Used"]);
        }
        if self.activity {
            h.push("Activity");
        }
        h.push("Flags");
        h
    }

    fn constraints(&self) -> Vec<Constraint> {
        let mut w = vec![Constraint::Length(Self::MARKER)];
        if self.badge {
            w.push(Constraint::Length(Self::BADGE));
        }
        w.extend([
            Constraint::Length(self.label),
            Constraint::Length(self.code),
        ]);
        if self.flow_type {
            w.push(Constraint::Length(Self::FLOW_TYPE));
        }
        if self.counts {
            w.extend([Constraint::Length(4), Constraint::Length(4)]);
        }
        if self.activity {
            w.push(Constraint::Length(Self::ACTIVITY));
        }
        w.push(Constraint::Length(self.flags));
        w
    }
}

/// `text` highlighted at `positions`, cut to `width` with "…" when longer.
fn fitted<'a>(
    text: &'a str,
    positions: &[usize],
    width: u16,
    base: Style,
    mark: Style,
) -> Vec<Span<'a>> {
    let width = usize::from(width);
    if text.chars().count() <= width {
        return highlighted(text, positions, base, mark);
    }
    let keep = width.saturating_sub(1);
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let kept: Vec<usize> = positions.iter().copied().filter(|&p| p < keep).collect();
    let mut spans = highlighted(&text[..end], &kept, base, mark);
    if width > 0 {
        spans.push(Span::styled("…", base));
    }
    spans
}

/// What a connection flagged offline shows in the Flags column (R27).
pub const OFFLINE_FLAG: &str = "✗ offline";

/// How wide a row's flags are (as `row_flags` draws them).
fn flags_width(c: &Connection) -> u16 {
    let parts = [
        (c.offline, OFFLINE_FLAG.chars().count()),
        (c.stale, "stale".len()),
        (c.wrong_credentials_at.is_some(), 1),
    ];
    let shown: Vec<usize> = parts.iter().filter(|p| p.0).map(|p| p.1).collect();
    (shown.iter().sum::<usize>() + shown.len().saturating_sub(1)) as u16
}

/// The table's flags: `✗ offline` (R27), `stale` (R16b), then ⚠ (R24).
fn row_flags(t: &Theme, c: &Connection, selected: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if c.offline {
        spans.push(Span::styled(
            OFFLINE_FLAG,
            if selected { Style::new() } else { t.error },
        ));
    }
    if c.stale {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            "stale",
            if selected { Style::new() } else { t.warning },
        ));
    }
    let warning = flags(t, c, selected);
    if !warning.content.is_empty() {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(warning);
    }
    spans
}

fn render_detail(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border)
        .title(Span::styled(" Details ", t.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(c) = app.selected_connection() else {
        return;
    };
    let logo = c
        .visual
        .as_deref()
        .and_then(|v| app.visuals.get(v))
        .filter(|_| app.graphics);
    let text_area = match logo {
        Some(logo) if inner.width > 30 && inner.height > 8 => {
            let logo_area = Rect::new(inner.x + 1, inner.y, 12, 6);
            logo.render(logo_area, buf);
            let [_, rest] =
                Layout::horizontal([Constraint::Length(14), Constraint::Min(0)]).areas(inner);
            let [top, _] =
                Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(rest);
            let head = vec![
                Line::from(Span::styled(c.label.clone(), t.title)),
                Line::from(Span::styled(c.code.clone(), t.dim)),
                Line::from(c.flow_type.as_str()),
            ];
            Paragraph::new(head).render(top, buf);
            let [_, below] =
                Layout::vertical([Constraint::Length(7), Constraint::Min(0)]).areas(inner);
            below
        }
        _ => inner,
    };
    let visual = match c.visual.as_deref() {
        None => "none".to_string(),
        Some(v) if app.visuals.failed(v) => format!("{v} (cannot be read)"),
        Some(v) => v.to_string(),
    };
    let w = text_area.width;
    let created = c.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let updated = c.updated_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let flow = flow_description(c);
    let plain = Style::new();
    let open = app.keymap.keys_of(Context::List, Action::Open);
    let open = open.split('/').next().unwrap_or_default();
    let credentials_hint = format!("{open}: reveal, copy, regenerate");
    let activity = match c.last_activity_at {
        Some(at) => format!(
            "{} (last token issued or refreshed)",
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "none yet (no token issued)".to_string(),
    };
    let fields: [(&str, &str, Style); 14] = [
        ("Label", &c.label, plain),
        ("Code", &c.code, plain),
        ("Flow type", &flow, plain),
        ("Visual", &visual, plain),
        ("Client id", &c.client_id, plain),
        ("API username", &c.username, plain),
        ("Secret", "•••••• (encrypted at rest)", t.dim),
        ("Password", "shown only once, at creation", t.dim),
        ("", &credentials_hint, t.dim),
        ("Role", &c.role, plain),
        ("Group", &c.group, plain),
        ("Created", &created, plain),
        ("Updated", &updated, plain),
        ("Activity", &activity, plain),
    ];
    let mut lines: Vec<Line> = fields
        .iter()
        .flat_map(|(name, value, style)| field_lines(t, name, value, *style, w))
        .collect();
    lines.extend(application_lines(app, c, w));
    if let Some(at) = c.wrong_credentials_at {
        lines.extend(field_lines(
            t,
            "⚠ Warning",
            &format!(
                "its client id and secret came with another connection's API username, last {} ({open}: Credentials)",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            t.warning,
            w,
        ));
    }
    if c.stale {
        let since = match c.last_activity_at {
            Some(at) => format!("last activity {}", at.format("%Y-%m-%d")),
            None => format!(
                "none since its creation {}",
                c.created_at.format("%Y-%m-%d")
            ),
        };
        lines.extend(field_lines(
            t,
            "! Stale",
            &format!(
                "no step uses it and no Web API activity for 30 days ({since}); {} deletes it (R16b)",
                key_of(app, Context::List, Action::Delete)
            ),
            t.warning,
            w,
        ));
    }
    if !app.is_admin() {
        lines.extend(field_lines(
            t,
            "Your access",
            &access_text(app, &c.code),
            plain,
            w,
        ));
    }
    if let Some(which) = crate::domain::catalog::shared_defaults(&c.role, &c.group) {
        lines.extend(field_lines(
            t,
            "! Advice",
            &format!("{which} shared by every new connection (R10, R11)"),
            t.warning,
            w,
        ));
    }
    lines.extend(usage_lines(app, &c.code, w));
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Audit trail", t.title)));
    match &app.data.audit {
        Some((code, Ok(records))) if *code == c.code => {
            if records.is_empty() {
                lines.push(Line::from(Span::styled("no changes recorded", t.dim)));
            }
            for r in records {
                lines.extend(audit_lines(t, r, w));
            }
        }
        Some((code, Err(e))) if *code == c.code => {
            lines.push(Line::from(Span::styled(format!("✗ {e}"), t.error)));
        }
        _ => lines.push(Line::from(Span::styled("loading…", t.dim))),
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(text_area, buf);
}

/// What a test GETs: the base URL with the ping path, as the server
/// builds it (or as written, when it would not parse).
pub fn ping_target(a: &Application) -> String {
    crate::domain::application::ping_url(&a.base_url, a.ping_path.as_deref())
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{}{}", a.base_url, a.ping_path.as_deref().unwrap_or("")))
}

/// The auth of an application side in words: the kind and its non-secret
/// fields; a secret only ever as the mask.
pub fn auth_description(a: &Application) -> String {
    let auth = &a.auth;
    let secret = |name: &str| {
        if auth.secret().is_some() {
            format!("{name} {SECRET_MASK}")
        } else {
            format!("{name} not set")
        }
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
    let parts: Vec<String> = match auth.kind {
        AuthKind::None => vec!["none (no credentials sent)".to_string()],
        AuthKind::Basic => vec![
            "basic".to_string(),
            format!("username {}", opt(&auth.username)),
            secret("password"),
        ],
        AuthKind::ApiKey => vec![
            "api_key".to_string(),
            format!("header {}", opt(&auth.header)),
            secret("key"),
        ],
        AuthKind::Bearer => vec!["bearer".to_string(), secret("token")],
        AuthKind::Oauth2ClientCredentials => {
            let mut p = vec![
                "oauth2_client_credentials".to_string(),
                format!("token URL {}", opt(&auth.token_url)),
                format!("client id {}", opt(&auth.client_id)),
                secret("client secret"),
            ];
            if let Some(scope) = &auth.scope {
                p.push(format!("scope {scope}"));
            }
            p
        }
    };
    parts.join(" · ")
}

/// The detail pane's application side (R26), offline flag and last test
/// (R27). Secret values only ever as the mask.
fn application_lines(app: &App, c: &Connection, w: u16) -> Vec<Line<'static>> {
    let t = &app.theme;
    let edit = key_of(app, Context::List, Action::Edit);
    let test = key_of(app, Context::List, Action::Test);
    let mut lines = Vec::new();
    let Some(a) = &c.application else {
        lines.extend(field_lines(
            t,
            "Application",
            &format!("none ({edit} sets it, R26)"),
            t.dim,
            w,
        ));
        return lines;
    };
    lines.extend(field_lines(t, "Application", &a.base_url, Style::new(), w));
    lines.extend(field_lines(
        t,
        "Ping",
        &format!(
            "GET {}{}",
            ping_target(a),
            if a.ping_path.is_none() {
                " (the base URL)"
            } else {
                ""
            }
        ),
        Style::new(),
        w,
    ));
    lines.extend(field_lines(
        t,
        "Auth",
        &auth_description(a),
        Style::new(),
        w,
    ));
    if c.offline {
        let since = c
            .offline_since
            .map(|at| format!("since {}", at.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_else(|| "since its last test".to_string());
        let why = c
            .offline_reason
            .clone()
            .unwrap_or_else(|| "its last test failed".to_string());
        lines.extend(field_lines(
            t,
            OFFLINE_FLAG,
            &format!("{since}: {why} ({test} tests again; R27)"),
            t.error,
            w,
        ));
    }
    let (text, style) = match app.tests.get(&c.code) {
        None => (format!("not tested from here yet ({test} tests it)"), t.dim),
        Some(ConnectionTest::Running) => {
            let frame = SPINNER[app.spinner_frame % SPINNER.len()];
            (format!("{frame} testing… GET {}", ping_target(a)), t.dim)
        }
        Some(ConnectionTest::Done(r)) => {
            let status = r.status.map(|s| format!("HTTP {s}, ")).unwrap_or_default();
            let at = r.tested_at.format("%Y-%m-%d %H:%M UTC");
            if r.ok {
                (
                    format!("✓ passed {at}: {} ({status}{} ms)", r.message, r.latency_ms),
                    t.success,
                )
            } else {
                (
                    format!("✗ failed {at}: {} ({status}{} ms)", r.message, r.latency_ms),
                    t.error,
                )
            }
        }
        Some(ConnectionTest::Refused(why)) => (format!("✗ not tested: {why}"), t.error),
    };
    lines.extend(field_lines(t, "Last test", &text, style, w));
    lines
}

/// A member's access to a connection, through which integrations (R19,
/// R20).
fn access_text(app: &App, code: &str) -> String {
    let through = |level: crate::model::AccessLevel| -> Vec<&str> {
        app.data
            .integrations
            .iter()
            .filter(|i| {
                i.access == Some(level) && crate::tui::tabs::register::is_registered(i, code)
            })
            .map(|i| i.name.as_str())
            .collect()
    };
    let managed = through(crate::model::AccessLevel::Manage);
    let monitored = through(crate::model::AccessLevel::Monitor);
    if !managed.is_empty() {
        format!(
            "manage, through {}: you may edit it and act on its credentials",
            crate::tui::access::join_names(&managed)
        )
    } else if !monitored.is_empty() {
        format!(
            "monitor only, through {}: read-only (R19, R20)",
            crate::tui::access::join_names(&monitored)
        )
    } else {
        "seen through a flow step only: read-only (R18)".to_string()
    }
}

/// R16 in the detail pane: the integrations a connection is registered
/// with, and the flow steps that use it.
fn usage_lines(app: &App, code: &str, width: u16) -> Vec<Line<'static>> {
    let t = &app.theme;
    let usage = app.data.usage.of(code);
    let mut lines = vec![Line::from("")];
    let with = match usage.map(|u| &u.registered_with) {
        Some(names) if !names.is_empty() => names.join(", "),
        _ => "no integration".to_string(),
    };
    let w = (width as usize).max(12);
    for (i, part) in wrap_words(&format!("Registered with: {with}"), w)
        .into_iter()
        .enumerate()
    {
        lines.push(Line::from(Span::styled(
            part,
            if i == 0 { t.title } else { Style::new() },
        )));
    }
    match usage.map(|u| &u.used_by) {
        Some(steps) if !steps.is_empty() => {
            lines.push(Line::from(Span::styled(
                format!(
                    "Used by {} step{}:",
                    steps.len(),
                    if steps.len() == 1 { "" } else { "s" }
                ),
                t.title,
            )));
            for s in steps {
                for part in wrap_words(&s.describe(), w.saturating_sub(2)) {
                    lines.push(Line::from(format!("  {part}")));
                }
            }
        }
        _ => lines.push(Line::from(Span::styled("not used by any flow", t.dim))),
    }
    lines
}

/// One audit record: a heading line, then one line per changed field, each
/// wrapped with its continuation indented.
fn audit_lines(t: &Theme, r: &AuditRecord, width: u16) -> Vec<Line<'static>> {
    let width = (width as usize).max(12);
    let heading = format!(
        "{} {} by {} via {}",
        r.at.format("%Y-%m-%d %H:%M"),
        r.action,
        r.actor,
        r.source.as_str()
    );
    let mut out: Vec<Line<'static>> = wrap_words(&heading, width)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let style = if i == 0 { Style::new() } else { t.dim };
            Line::from(Span::styled(
                if i == 0 { part } else { format!("  {part}") },
                style,
            ))
        })
        .collect();
    let fmt = |v: &Option<String>| match v {
        Some(v) => format!("{v:?}"),
        None => "—".to_string(),
    };
    for ch in &r.changes {
        let text = format!("{}: {} → {}", ch.field, fmt(&ch.old), fmt(&ch.new));
        for (i, part) in wrap_words(&text, width - 6).into_iter().enumerate() {
            let indent = if i == 0 { "    " } else { "      " };
            out.push(Line::from(vec![
                Span::raw(indent),
                Span::styled(part, t.label),
            ]));
        }
    }
    out
}

impl App {
    pub(crate) fn on_list_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        match action {
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::PageUp
            | Action::PageDown => self.move_in_list(action),
            Action::ClearFilter => {
                if self.list.filter.narrows() {
                    self.clear_one_filter()
                } else {
                    self.status = None;
                    Vec::new()
                }
            }
            Action::StaleOnly => {
                let on = !self.list.filter.stale_only();
                let keep = self.selected_connection().map(|c| c.code.clone());
                self.list.filter.set_stale_only(on);
                self.after_filter_changed(keep);
                let n = self.list.filter.stale_count();
                let key = crate::tui::view::key_of(self, Context::List, Action::StaleOnly);
                self.set_status(
                    StatusKind::Info,
                    if !on {
                        "Showing every connection".to_string()
                    } else if n == 0 {
                        format!("No stale connection: each is used by a flow or had Web API activity in the last 30 days ({key} shows all)")
                    } else {
                        format!(
                            "Showing the {} used by no flow and without Web API activity for 30 days ({key} shows all)",
                            replace::count(n, "stale connection", "stale connections")
                        )
                    },
                );
                self.selection_changed()
            }
            Action::New => {
                match (self.data.quota, self.create_choices()) {
                    (Some(q), _) if q.reached => self.set_status(
                        StatusKind::Error,
                        format!(
                            "The connection limit is reached ({} of {}): delete a connection or raise the limit with `switchboard quota set N`",
                            q.count, q.max_connections
                        ),
                    ),
                    (_, None) => self.set_status(StatusKind::Error, self.create_refusal()),
                    (_, Some(choices)) => self
                        .modals
                        .push(Modal::Form(Box::new(ConnectionForm::create_in(choices)))),
                }
                Vec::new()
            }
            Action::Edit => {
                let Some(c) = self.selected_connection() else {
                    self.set_status(StatusKind::Info, "No connection selected");
                    return Vec::new();
                };
                if let Some(why) = self.act_refusal(&c.code, &c.label, "edit") {
                    self.set_status(StatusKind::Error, why);
                    return Vec::new();
                }
                let form = ConnectionForm::edit(c);
                self.modals.push(Modal::Form(Box::new(form)));
                Vec::new()
            }
            Action::Delete => {
                let Some(c) = self.selected_connection() else {
                    self.set_status(StatusKind::Info, "No connection selected");
                    return Vec::new();
                };
                let (code, label, in_use) = (c.code.clone(), c.label.clone(), c.in_use);
                if let Some(why) = self.delete_refusal(&label) {
                    self.set_status(StatusKind::Error, why);
                    return Vec::new();
                }
                let steps = replace::step_refs(self, &code);
                if steps.is_empty() && !in_use {
                    let confirm =
                        crate::tui::tabs::connections::confirm_delete(&self.theme, code, label);
                    self.modals.push(Modal::Confirm(Box::new(confirm)));
                    return Vec::new();
                }
                if steps.is_empty() {
                    // The flag says in use, the flows loaded say nothing:
                    // they are out of date.
                    self.set_status(
                        StatusKind::Error,
                        format!("{label} is in use by a flow step and cannot be deleted (R8); reloading to show which"),
                    );
                    return vec![Command::Load];
                }
                let registered_with = self
                    .data
                    .usage
                    .of(&code)
                    .map(|u| u.registered_with.clone())
                    .unwrap_or_default();
                let replace_key = crate::tui::view::key_of(self, Context::List, Action::Replace);
                let confirm = replace::confirm_in_use(
                    &self.theme,
                    &replace_key,
                    InUse {
                        code,
                        label,
                        steps,
                        registered_with,
                    },
                );
                self.modals.push(Modal::Confirm(Box::new(confirm)));
                Vec::new()
            }
            Action::Test => self.test_selected(),
            Action::Replace => {
                let Some(code) = self.selected_code() else {
                    return Vec::new();
                };
                self.open_replace(&code);
                Vec::new()
            }
            Action::Open => {
                if self.selected_connection().is_some() {
                    self.credentials.focus = Focus::Card;
                    self.switch_tab(Tab::Credentials)
                } else {
                    self.set_status(StatusKind::Info, "No connection selected");
                    Vec::new()
                }
            }
            Action::Demo => {
                if self.data.loaded && self.data.connections.is_empty() {
                    self.set_status(StatusKind::Info, "Loading the demo workspace…");
                    vec![Command::LoadDemo]
                } else {
                    self.set_status(
                        StatusKind::Error,
                        "The demo workspace loads only into an empty store",
                    );
                    Vec::new()
                }
            }
            other => self.on_shared_key(other),
        }
    }
    pub(crate) fn on_created(&mut self, r: Result<CreatedConnection, ClientError>) -> Vec<Command> {
        match r {
            Ok(created) => {
                self.pop_form();
                let c = created.connection;
                self.set_status(
                    StatusKind::Success,
                    format!("Created {} ({})", c.label, c.code),
                );
                self.list.select_after_load = Some(c.code.clone());
                self.modals.push(Modal::ShownOnce(Box::new(ShownOnce {
                    what: Shown::Created,
                    label: c.label,
                    code: c.code,
                    client_id: c.client_id,
                    username: c.username,
                    secret: Some(SecretString::from(created.secret)),
                    password: Some(SecretString::from(created.password)),
                })));
                vec![Command::Load]
            }
            Err(e) => self.form_error(e),
        }
    }
    /// `t` (R27): tests the selected connection's application side in the
    /// background; the answer comes back as `Msg::Tested`.
    fn test_selected(&mut self) -> Vec<Command> {
        let Some(c) = self.selected_connection() else {
            self.set_status(StatusKind::Info, "No connection selected");
            return Vec::new();
        };
        let (code, label) = (c.code.clone(), c.label.clone());
        // R20 first: a member without manage learns why, before anything.
        if let Some(why) = self.act_refusal(&code, &label, "test") {
            self.set_status(StatusKind::Error, why);
            return Vec::new();
        }
        let Some(application) = self
            .selected_connection()
            .and_then(|c| c.application.clone())
        else {
            let edit = key_of(self, Context::List, Action::Edit);
            self.set_status(
                StatusKind::Error,
                format!(
                    "{label} has no application side to test: {edit} sets its base URL and auth (R26)"
                ),
            );
            return Vec::new();
        };
        if self.tests.get(&code) == Some(&ConnectionTest::Running) {
            self.set_status(StatusKind::Info, format!("Already testing {label}…"));
            return Vec::new();
        }
        let target = ping_target(&application);
        self.tests.insert(code.clone(), ConnectionTest::Running);
        self.set_status(StatusKind::Info, format!("Testing {label}: GET {target}…"));
        vec![Command::TestConnection(code)]
    }
    pub(crate) fn on_tested(
        &mut self,
        code: String,
        r: Result<TestResult, ClientError>,
    ) -> Vec<Command> {
        let label = self.label_of(&code);
        match r {
            Ok(result) => {
                let status = result
                    .status
                    .map(|s| format!("HTTP {s}, "))
                    .unwrap_or_default();
                if result.ok {
                    self.set_status(
                        StatusKind::Success,
                        format!(
                            "Test of {label} passed: {} ({status}{} ms)",
                            result.message, result.latency_ms
                        ),
                    );
                } else {
                    self.set_status(
                        StatusKind::Error,
                        format!(
                            "Test of {label} failed: {} ({status}{} ms); flagged offline",
                            result.message, result.latency_ms
                        ),
                    );
                }
                self.tests
                    .insert(code.clone(), ConnectionTest::Done(result));
                // The offline flag changed on the server: read it again.
                vec![Command::LoadConnection(code)]
            }
            Err(e) => {
                self.set_status(StatusKind::Error, format!("Could not test {label}: {e}"));
                self.tests
                    .insert(code, ConnectionTest::Refused(e.to_string()));
                let mut commands = self.backend_error(&e);
                if e.status() == Some(404) {
                    commands.push(Command::Load);
                }
                commands
            }
        }
    }
    pub(crate) fn on_connection_loaded(
        &mut self,
        code: String,
        r: Result<Connection, ClientError>,
    ) -> Vec<Command> {
        match r {
            Ok(c) => {
                if let Some(row) = self.data.connections.iter_mut().find(|r| r.code == code) {
                    *row = c;
                    let keep = self.selected_connection().map(|c| c.code.clone());
                    self.after_rows_changed(keep);
                }
                Vec::new()
            }
            // Gone meanwhile: show what is true now.
            Err(e) if e.status() == Some(404) => vec![Command::Load],
            Err(e) => self.backend_error(&e),
        }
    }
    pub(crate) fn pop_form(&mut self) {
        if matches!(self.modals.last(), Some(Modal::Form(_))) {
            self.modals.pop();
        }
    }
    /// Shows a backend error in the open form, beside its field.
    /// A save named a version someone else has replaced: fetch theirs, to
    /// show it beside the user's and let them choose (never a silent
    /// overwrite).
    pub(crate) fn on_edit_conflict(&mut self, e: ClientError) -> Vec<Command> {
        let code = match self.modals.last_mut() {
            Some(Modal::Form(form)) => match &form.mode {
                crate::tui::dialogs::connection_form::FormMode::Edit { code } => {
                    form.general_error = Some(e.to_string());
                    Some(code.clone())
                }
                crate::tui::dialogs::connection_form::FormMode::Create => None,
            },
            _ => None,
        };
        match code {
            Some(code) => vec![Command::LoadConflict(code), Command::Load],
            None => self.form_error(e),
        }
    }
    pub(crate) fn form_error(&mut self, e: ClientError) -> Vec<Command> {
        // A full quota or a change by someone else: show the news, reload.
        let reload = matches!(e.code(), Some("quota_reached" | "stale"));
        if let Some(Modal::Form(form)) = self.modals.last_mut() {
            form.show_error(e.field(), e.to_string());
        } else {
            self.set_status(StatusKind::Error, e.to_string());
        }
        let mut commands = self.backend_error(&e);
        if reload {
            commands.push(Command::Load);
        }
        commands
    }
}

impl App {
    /// The shared list's motion keys (every tab that shows it).
    pub(crate) fn move_in_list(&mut self, action: Action) -> Vec<Command> {
        let delta = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::First => isize::MIN / 2,
            Action::Last => isize::MAX / 2,
            Action::PageUp => -self.page(),
            _ => self.page(),
        };
        self.move_selection(delta)
    }
    pub(crate) fn move_selection(&mut self, delta: isize) -> Vec<Command> {
        let n = self.list.filter.visible().len();
        if n == 0 {
            return Vec::new();
        }
        let target = (self.list.selected as isize + delta).clamp(0, n as isize - 1) as usize;
        if target == self.list.selected {
            return Vec::new();
        }
        self.list.selected = target;
        self.selection_changed()
    }
    pub(crate) fn page(&self) -> isize {
        (self.screen.list_rows.height.max(2) - 1) as isize
    }
    pub(crate) fn set_filter(&mut self, query: &str) {
        let keep = self.selected_connection().map(|c| c.code.clone());
        self.list.filter.set_query(query);
        // The best match comes first; keep the old selection only when the
        // filter was cleared.
        self.list.selected = if query.is_empty() {
            keep.and_then(|code| self.list.position_of(&code, &self.data.connections))
                .unwrap_or(0)
        } else {
            0
        };
        self.screen.list_offset = 0;
    }
    pub(crate) fn on_filter_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
        match action {
            Some(Action::Apply) => {
                self.list.filter_editing = false;
                Vec::new()
            }
            Some(Action::Cancel) => {
                self.list.filter_editing = false;
                self.set_filter("");
                self.selection_changed()
            }
            Some(Action::Up) => self.move_selection(-1),
            Some(Action::Down) => self.move_selection(1),
            _ => {
                let mut input =
                    crate::tui::dialogs::connection_form::TextInput::new(self.list.filter.query());
                let (_, changed) = input.handle_key(key);
                if changed {
                    self.set_filter(&input.value);
                    self.selection_changed()
                } else {
                    Vec::new()
                }
            }
        }
    }
    /// Esc on a list: clears the query first, then the stale filter.
    pub(crate) fn clear_one_filter(&mut self) -> Vec<Command> {
        if self.list.filter.is_active() {
            self.set_filter("");
        } else {
            let keep = self.selected_connection().map(|c| c.code.clone());
            self.list.filter.set_stale_only(false);
            self.after_filter_changed(keep);
        }
        self.selection_changed()
    }
    /// Keeps the selection on `keep` when it is still shown.
    pub(crate) fn after_filter_changed(&mut self, keep: Option<String>) {
        self.list.selected = keep
            .and_then(|code| self.list.position_of(&code, &self.data.connections))
            .unwrap_or(0);
        self.screen.list_offset = 0;
    }
}
