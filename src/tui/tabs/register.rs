//! The Register tab (SPEC §6, R12–R17): integrations on the left with their
//! flows below; on the right every connection the user sees, with a
//! checkbox saying whether it is registered with the selected integration,
//! and the used-by of the highlighted one. Changes are marked first
//! (pending, kept per integration) and applied together in one request
//! after a confirmation.
//!
//! Also the usage index the Connections tab shows: for each connection code,
//! the integrations it is registered with and the flow steps that use it,
//! built once per load.

pub mod flows;
pub mod integrations;

use crate::client::ClientError;
use crate::model::Registered;
use crate::tui::app::Command;
use crate::tui::app::Modal;
use crate::tui::app::StatusKind;
use crate::tui::app::Tab;
use crate::tui::view::Screen;
use std::collections::{BTreeMap, HashMap};

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::model::{Flow, Integration, IntegrationKind, StepKind, UserKind};
use crate::tui::app::{App, Then};
use crate::tui::dialogs::confirm::{Confirm, Part};
use crate::tui::keymap::{Action, Context};
use crate::tui::theme::Theme;
use crate::tui::view::{draw_list_rows, highlighted, key_of, list_count, pane, wrap_words};

/// Why an app cannot take registrations (R17).
pub const APP_REASON: &str =
    "integration apps own their connections; registration does not apply (R17)";

/// One flow step that uses a connection (R16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUse {
    pub flow: String,
    pub flow_name: String,
    pub integration: Option<String>,
    /// 0-based.
    pub position: usize,
    pub kind: StepKind,
}

impl StepUse {
    /// "order_sync step 1 (export, orders)".
    pub fn describe(&self) -> String {
        format!(
            "{} step {} ({}, {})",
            self.flow,
            self.position + 1,
            self.kind.as_str(),
            self.integration.as_deref().unwrap_or("standalone")
        )
    }
}

/// What uses one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Names of the integrations it is registered with, in list order.
    pub registered_with: Vec<String>,
    pub used_by: Vec<StepUse>,
}

/// Connection code → usage, built once per load (never per draw).
#[derive(Debug, Clone, Default)]
pub struct UsageIndex {
    by_code: HashMap<String, Usage>,
}

impl UsageIndex {
    pub fn build(integrations: &[Integration], flows: &[Flow]) -> UsageIndex {
        let mut by_code: HashMap<String, Usage> = HashMap::new();
        for i in integrations {
            for code in &i.registered {
                by_code
                    .entry(code.clone())
                    .or_default()
                    .registered_with
                    .push(i.name.clone());
            }
        }
        for f in flows {
            for (position, step) in f.steps.iter().enumerate() {
                by_code
                    .entry(step.connection.clone())
                    .or_default()
                    .used_by
                    .push(StepUse {
                        flow: f.code.clone(),
                        flow_name: f.name.clone(),
                        integration: f.integration.clone(),
                        position,
                        kind: step.kind,
                    });
            }
        }
        UsageIndex { by_code }
    }

    pub fn of(&self, code: &str) -> Option<&Usage> {
        self.by_code.get(code)
    }

    /// (registrations, used-by steps) of a connection.
    pub fn counts(&self, code: &str) -> (usize, usize) {
        self.of(code)
            .map_or((0, 0), |u| (u.registered_with.len(), u.used_by.len()))
    }
}

/// Which pane takes the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegFocus {
    Integrations,
    /// The flows of the selected integration (the flow editor's keys).
    Flows,
    Connections,
}

/// The changes the confirmation lists: (code, label) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationChanges {
    pub integration: String,
    pub name: String,
    pub register: Vec<(String, String)>,
    pub deregister: Vec<(String, String)>,
}

pub struct RegisterTab {
    pub focus: RegFocus,
    /// Index into `App::integrations`.
    pub selected: usize,
    /// Pending changes per integration code: connection code → register
    /// (true) or deregister (false). Kept when another integration is
    /// selected, and until applied or discarded.
    pub pending: BTreeMap<String, BTreeMap<String, bool>>,
    /// The integration whose changes are being applied.
    pub applying: Option<String>,
    /// The highlighted flow, by code (kept across reloads).
    pub flow: Option<String>,
    /// The R14 reminder of the last flow save, until dismissed.
    pub reminder: Option<flows::FlowReminder>,
}

impl Default for RegisterTab {
    fn default() -> Self {
        RegisterTab {
            focus: RegFocus::Connections,
            selected: 0,
            pending: BTreeMap::new(),
            applying: None,
            flow: None,
            reminder: None,
        }
    }
}

/// What a connection's checkbox shows for one integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Registered,
    NotRegistered,
    /// Pending: to be registered.
    Add,
    /// Pending: to be deregistered.
    Remove,
}

impl Check {
    pub fn checked(self) -> bool {
        matches!(self, Check::Registered | Check::Add)
    }
}

/// `registered` is sorted when it arrives (see `App`), so this is a binary
/// search.
pub(crate) fn is_registered(i: &Integration, code: &str) -> bool {
    i.registered
        .binary_search_by(|c| c.as_str().cmp(code))
        .is_ok()
}

impl RegisterTab {
    pub fn pending_of(&self, integration: &str) -> Option<&BTreeMap<String, bool>> {
        self.pending.get(integration).filter(|p| !p.is_empty())
    }

    /// (to register, to deregister) pending for an integration.
    pub fn pending_counts(&self, integration: &str) -> (usize, usize) {
        self.pending_of(integration).map_or((0, 0), |p| {
            let add = p.values().filter(|v| **v).count();
            (add, p.len() - add)
        })
    }

    pub fn check(&self, i: &Integration, code: &str) -> Check {
        let registered = is_registered(i, code);
        match self.pending_of(&i.code).and_then(|p| p.get(code)) {
            Some(true) if !registered => Check::Add,
            Some(false) if registered => Check::Remove,
            _ if registered => Check::Registered,
            _ => Check::NotRegistered,
        }
    }

    /// Sets the wanted state of one connection; a change back to what is
    /// registered is no longer pending.
    pub fn set(&mut self, i: &Integration, code: &str, want: bool) {
        let registered = is_registered(i, code);
        let pending = self.pending.entry(i.code.clone()).or_default();
        if want == registered {
            pending.remove(code);
        } else {
            pending.insert(code.to_string(), want);
        }
        if pending.is_empty() {
            self.pending.remove(&i.code);
        }
    }

    pub fn toggle(&mut self, i: &Integration, code: &str) {
        let want = !self.check(i, code).checked();
        self.set(i, code, want);
    }

    /// `a`: when every code is checked, unchecks them all; else checks all.
    pub fn toggle_all<'a>(
        &mut self,
        i: &Integration,
        codes: impl Iterator<Item = &'a str> + Clone,
    ) {
        let all_checked = codes.clone().all(|c| self.check(i, c).checked());
        for code in codes {
            self.set(i, code, !all_checked);
        }
    }

    /// After a reload: pending changes that now match what is registered
    /// are done; those of integrations that are gone are dropped.
    pub fn reconcile(&mut self, integrations: &[Integration]) {
        self.pending.retain(|code, changes| {
            let Some(i) = integrations.iter().find(|i| &i.code == code) else {
                return false;
            };
            changes.retain(|c, want| *want != is_registered(i, c));
            !changes.is_empty()
        });
    }
}

/// The footer's hints for the focused pane: the flow keys on the flows,
/// the registration keys elsewhere.
pub fn footer_hints(app: &App) -> Vec<(String, &'static str, Action)> {
    // With no integration yet, what makes one comes first.
    let focus = if app.data.integrations.is_empty() {
        RegFocus::Integrations
    } else {
        app.register.focus
    };
    let mut hints = app.keymap.action_hints_where(Context::Register, |action| {
        let flow_key = matches!(action, Action::New | Action::Edit | Action::Delete);
        let registration_key = matches!(
            action,
            Action::Toggle | Action::ToggleAll | Action::Apply | Action::Discard
        );
        let integration_key = matches!(
            action,
            Action::NewIntegration | Action::Rename | Action::DeleteIntegration | Action::Access
        );
        match focus {
            RegFocus::Flows => !registration_key && !integration_key,
            RegFocus::Connections => !flow_key && !integration_key,
            RegFocus::Integrations => !flow_key && !registration_key,
        }
    });
    if focus == RegFocus::Integrations {
        // Beside the integrations: the users window (a key of every tab).
        let users = app.keymap.first_key(Context::Tabs, Action::Users);
        if !users.is_empty() {
            let at = hints
                .iter()
                .position(|(_, _, a)| *a == Action::Access)
                .map_or(hints.len(), |i| i + 1);
            hints.insert(at, (users, "users", Action::Users));
        }
    }
    hints
}

/// "3 pending: 2 to register, 1 to deregister".
pub fn pending_summary(add: usize, remove: usize) -> String {
    format!(
        "{} pending: {add} to register, {remove} to deregister",
        add + remove
    )
}

/// The Register tab.
pub fn render(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    screen.integration_rows = Rect::default();
    screen.flow_area = Rect::default();
    if !app.data.integrations_loaded {
        screen.list_rows = Rect::default();
        Paragraph::new("Loading integrations…")
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .render(area, buf);
        return;
    }
    if app.data.integrations.is_empty() {
        screen.list_rows = Rect::default();
        let text = match app.data.me.as_ref().map(|m| m.kind) {
            Some(UserKind::Member) => "No integration is shared with you. An owner or admin can give you monitor or manage access to one; its registered connections then show here.".to_string(),
            _ => format!(
                "No integrations yet. An integration groups flows; the connections registered with it may be used by its flows and seen by its members. Press {} to create one, then register connections here and give members access with {}.",
                key_of(app, Context::Register, Action::NewIntegration),
                key_of(app, Context::Register, Action::Access),
            ),
        };
        Paragraph::new(text)
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .render(area, buf);
        return;
    }
    // The R14 reminder of a flow save stays on top until dismissed.
    let reminder = flows::reminder_height(app, area.width).min(area.height / 2);
    let [reminder_area, area] =
        Layout::vertical([Constraint::Length(reminder), Constraint::Min(0)]).areas(area);
    flows::render_reminder(app, reminder_area, buf);
    let left_width = (area.width * 3 / 10).clamp(20, 40);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(0)]).areas(area);
    let [integrations_area, flows_area] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(left);
    let used_height = if right.height >= 16 { 7 } else { 4 };
    let [connections_area, used_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(used_height)]).areas(right);
    render_integrations(app, screen, integrations_area, buf);
    flows::render_pane(app, screen, flows_area, buf);
    render_connections(app, screen, connections_area, buf);
    render_used_by(app, used_area, buf);
}

fn render_integrations(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let focused = app.register.focus == RegFocus::Integrations;
    let block = pane(
        &t,
        format!(" Integrations · {} ", app.data.integrations.len()),
        focused,
    );
    let rows = block.inner(area);
    block.render(area, buf);
    screen.integration_rows = rows;
    let height = rows.height as usize;
    let n = app.data.integrations.len();
    screen.integration_offset = crate::tui::widgets::scroll::fit_offset(
        screen.integration_offset,
        app.register.selected,
        n,
        height,
    );
    let end = (screen.integration_offset + height).min(n);
    for (line, idx) in (screen.integration_offset..end).enumerate() {
        let i = &app.data.integrations[idx];
        let selected = idx == app.register.selected;
        let row = Rect {
            y: rows.y + line as u16,
            height: 1,
            ..rows
        };
        let style = match (selected, focused) {
            (true, true) => t.selected,
            (true, false) => t.title,
            _ => Style::new(),
        };
        buf.set_style(row, style);
        let plain = selected && focused;
        let dim = if plain { Style::new() } else { t.dim };
        let mut spans = vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::raw(i.name.clone()),
            Span::styled(format!(" {}", i.code), dim),
        ];
        let right = if i.kind == IntegrationKind::App {
            Span::styled(" app ", if plain { Style::new() } else { t.warning })
        } else {
            let (add, remove) = app.register.pending_counts(&i.code);
            let pending = if add + remove > 0 {
                format!(" +{add} -{remove}")
            } else {
                String::new()
            };
            Span::styled(
                format!("{pending} {} reg. ", i.registered.len()),
                if add + remove > 0 && !plain {
                    t.warning
                } else {
                    dim
                },
            )
        };
        // The count stays visible; the name gives way.
        let room = (row.width as usize).saturating_sub(right.width());
        let mut used = 0;
        let mut cut = Vec::new();
        for s in spans.drain(..) {
            let w = s.width();
            if used + w <= room {
                used += w;
                cut.push(s);
            } else {
                let take = room.saturating_sub(used);
                if take > 1 {
                    let text: String = s.content.chars().take(take - 1).collect();
                    cut.push(Span::styled(format!("{text}…"), s.style));
                }
                break;
            }
        }
        Line::from(cut).render(row, buf);
        Paragraph::new(Line::from(right))
            .alignment(Alignment::Right)
            .render(row, buf);
    }
}

fn render_connections(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let focused = app.register.focus == RegFocus::Connections;
    let Some(integration) = app.data.integrations.get(app.register.selected).cloned() else {
        return;
    };
    let total = app.data.connections.len();
    let is_app = integration.kind == IntegrationKind::App;
    // R19: with monitor access the checkboxes only show.
    let refusal = app.registration_refusal(&integration);
    let read_only = refusal.is_some();
    let mut title = if app.list.filter.narrows() || app.list.filter_editing {
        format!(" {}", list_count(app))
    } else {
        format!(
            " {} of {total} registered with {}",
            integration.registered.len(),
            integration.name
        )
    };
    let (add, remove) = app.register.pending_counts(&integration.code);
    if add + remove > 0 {
        title.push_str(&format!(" · {}", pending_summary(add, remove)));
    }
    title.push(' ');
    let block = pane(&t, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut rest = inner;
    let take_line = |rest: &mut Rect| {
        let [line, below] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(*rest);
        *rest = below;
        line
    };
    if is_app {
        let line = take_line(&mut rest);
        Line::from(Span::styled(format!("✗ {APP_REASON}"), t.warning)).render(line, buf);
    } else if let Some(why) = &refusal {
        let line = take_line(&mut rest);
        Line::from(Span::styled(format!("✗ {why}"), t.warning)).render(line, buf);
    }
    if app.list.filter_editing || app.list.filter.is_active() {
        let line = take_line(&mut rest);
        let cursor = if app.list.filter_editing { "▏" } else { "" };
        Line::from(vec![
            Span::styled("/ ", t.key),
            Span::raw(app.list.filter.query().to_string()),
            Span::styled(cursor, t.key),
        ])
        .render(line, buf);
    }
    screen.list_rows = rest;
    if total == 0 {
        let text = format!(
            "No connections yet. Press {} for the Connections tab, then {} to create one.",
            key_of(app, Context::Tabs, Action::ShowConnections),
            key_of(app, Context::List, Action::New)
        );
        Paragraph::new(text)
            .style(t.dim)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .render(rest, buf);
        return;
    }
    draw_list_rows(
        app,
        screen,
        rest,
        buf,
        focused,
        |app, idx, marks, selected, row, buf| {
            let c = &app.data.connections[idx];
            let plain = selected && focused;
            let check = app.register.check(&integration, &c.code);
            let (boxed, box_style) = if read_only {
                (
                    if check.checked() { "[x]" } else { " · " },
                    if plain { Style::new() } else { t.dim },
                )
            } else {
                match check {
                    Check::Registered => ("[x]", Style::new()),
                    Check::NotRegistered => ("[ ]", Style::new()),
                    Check::Add => ("[+]", if plain { Style::new() } else { t.success }),
                    Check::Remove => ("[-]", if plain { Style::new() } else { t.error }),
                }
            };
            let mut spans = vec![
                Span::raw(if selected { "▶ " } else { "  " }),
                Span::styled(boxed, box_style),
                Span::raw(" "),
            ];
            spans.extend(highlighted(&c.label, &marks.label, Style::new(), t.matched));
            spans.push(Span::raw("  "));
            spans.extend(highlighted(
                &c.code,
                &marks.code,
                if plain { Style::new() } else { t.dim },
                t.matched,
            ));
            match check {
                Check::Add if !read_only => spans.push(Span::styled(
                    "  to register",
                    if plain { Style::new() } else { t.success },
                )),
                Check::Remove if !read_only => spans.push(Span::styled(
                    "  to deregister",
                    if plain { Style::new() } else { t.error },
                )),
                _ => {}
            }
            Line::from(spans).render(row, buf);
        },
    );
}

fn render_used_by(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let Some(c) = app.selected_connection() else {
        let block = pane(t, " Used by ".to_string(), false);
        block.render(area, buf);
        return;
    };
    let block = pane(t, format!(" Used by · {} ", c.label), false);
    let inner = block.inner(area);
    block.render(area, buf);
    let width = (inner.width as usize).max(8);
    let usage = app.data.usage.of(&c.code);
    let mut lines = Vec::new();
    let with = match usage.map(|u| &u.registered_with) {
        Some(names) if !names.is_empty() => names.join(", "),
        _ => "no integration".to_string(),
    };
    for (n, part) in wrap_words(&format!("Registered with: {with}"), width)
        .into_iter()
        .enumerate()
    {
        lines.push(Line::from(Span::styled(
            part,
            if n == 0 { t.label } else { Style::new() },
        )));
    }
    match usage.map(|u| &u.used_by) {
        Some(steps) if !steps.is_empty() => {
            for s in steps {
                for part in wrap_words(&format!("used by: {}", s.describe()), width) {
                    lines.push(Line::from(part));
                }
            }
        }
        _ => lines.push(Line::from(Span::styled("not used by any flow", t.dim))),
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The confirmation of pending changes: what will be registered and
/// deregistered (long lists end in "…and N more"), and what it means.
/// Asks before applying an integration's pending changes, listing them.
pub fn confirm_apply(
    t: &Theme,
    changes: RegistrationChanges,
    still_pending: String,
) -> Confirm<Then> {
    let (add, remove) = (changes.register.len(), changes.deregister.len());
    let items = |items: &[(String, String)], mark: &'static str, style: Style| Part::List {
        items: items
            .iter()
            .map(|(code, label)| {
                Line::from(vec![
                    Span::styled(format!("  {mark} "), style),
                    Span::raw(label.clone()),
                    Span::styled(format!("  {code}"), t.dim),
                ])
            })
            .collect(),
        indent: 4,
    };
    let mut parts = vec![Part::Text(
        format!(
            "Apply {} change{} to {} ({}): {add} to register, {remove} to deregister?",
            add + remove,
            if add + remove == 1 { "" } else { "s" },
            changes.name,
            changes.integration
        ),
        t.title,
    )];
    if add > 0 {
        parts.push(Part::Line(Line::from(Span::styled(
            format!("To register ({add}):"),
            t.label,
        ))));
        parts.push(items(&changes.register, "+", t.success));
    }
    if remove > 0 {
        parts.push(Part::Line(Line::from(Span::styled(
            format!("To deregister ({remove}):"),
            t.label,
        ))));
        parts.push(items(&changes.deregister, "-", t.error));
    }
    parts.push(Part::Blank);
    if add > 0 {
        parts.push(Part::Text(
            format!(
                "Every user of {} gets access to the registered connections, and its flows may use them.",
                changes.name
            ),
            Style::new(),
        ));
    }
    if remove > 0 {
        parts.push(Part::Text("Deregistered connections stay in the flow steps that already use them; they can no longer be chosen for new steps (R15).".to_string(), Style::new()));
    }
    parts.push(Part::Text(
        "All of it happens in one step: either every change applies or none.".to_string(),
        Style::new(),
    ));
    Confirm::new(
        "Apply registrations",
        80,
        Then::ApplyRegistrations {
            integration: changes.integration.clone(),
            name: changes.name.clone(),
            register: changes.register.into_iter().map(|(c, _)| c).collect(),
            deregister: changes.deregister.into_iter().map(|(c, _)| c).collect(),
        },
    )
    .with(parts)
    .answers("apply", "back (the changes stay pending)")
    .declined(still_pending)
}

/// Asks before `q` drops pending registration changes.
pub fn confirm_quit(changes: usize, integrations: usize) -> Confirm<Then> {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    Confirm::new("Quit", 64, Then::Quit)
        .para(
            format!(
                "Quit and lose {} for {}? Nothing has been applied yet.",
                plural(
                    changes,
                    "pending registration change",
                    "pending registration changes"
                ),
                plural(integrations, "integration", "integrations"),
            ),
            Style::new(),
        )
        .answers("quit", "stay")
        .declined("Not quitting; the pending changes stay (Register tab)")
}

impl App {
    /// The integration selected in the Register tab.
    pub fn selected_integration(&self) -> Option<&Integration> {
        self.data.integrations.get(self.register.selected)
    }
    pub(crate) fn on_register_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        if let Some(commands) = self.on_register_integration_key(action) {
            return commands;
        }
        if let Some(commands) = self.on_register_flow_key(action) {
            return commands;
        }
        let on_integrations = self.register.focus == RegFocus::Integrations;
        match action {
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::PageUp
            | Action::PageDown
                if on_integrations =>
            {
                let page = self.screen.integration_rows.height.max(2) as isize - 1;
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::First => isize::MIN / 2,
                    Action::Last => isize::MAX / 2,
                    Action::PageUp => -page,
                    _ => page,
                };
                let n = self.data.integrations.len() as isize;
                if n > 0 {
                    self.register.selected = (self.register.selected as isize)
                        .saturating_add(delta)
                        .clamp(0, n - 1) as usize;
                }
                Vec::new()
            }
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::PageUp
            | Action::PageDown => self.move_in_list(action),
            Action::FocusIntegrations => {
                self.register.focus = RegFocus::Integrations;
                Vec::new()
            }
            Action::FocusConnections => {
                self.register.focus = RegFocus::Connections;
                Vec::new()
            }
            Action::Toggle | Action::ToggleAll => {
                let Some(integration) = self.registrable_integration() else {
                    return Vec::new();
                };
                if action == Action::Toggle {
                    let Some(code) = self.selected_code() else {
                        return Vec::new();
                    };
                    self.register.focus = RegFocus::Connections;
                    self.register.toggle(&integration, &code);
                    self.move_selection(1)
                } else {
                    let codes: Vec<&str> = self
                        .list
                        .filter
                        .visible()
                        .iter()
                        .map(|&i| self.data.connections[i].code.as_str())
                        .collect();
                    if codes.is_empty() {
                        self.set_status(StatusKind::Info, "No connection shown");
                        return Vec::new();
                    }
                    self.register
                        .toggle_all(&integration, codes.iter().copied());
                    Vec::new()
                }
            }
            Action::Apply => {
                let Some(integration) = self.registrable_integration() else {
                    return Vec::new();
                };
                if self.register.applying.is_some() {
                    self.set_status(StatusKind::Info, "Still applying the last changes…");
                    return Vec::new();
                }
                let Some(pending) = self.register.pending_of(&integration.code) else {
                    let toggle = self.keymap.keys_of(Context::Register, Action::Toggle);
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "Nothing to apply: {toggle} marks a connection to register with or deregister from {}",
                            integration.name
                        ),
                    );
                    return Vec::new();
                };
                let mut changes = RegistrationChanges {
                    integration: integration.code.clone(),
                    name: integration.name.clone(),
                    register: Vec::new(),
                    deregister: Vec::new(),
                };
                for (code, register) in pending {
                    let entry = (code.clone(), self.label_of(code));
                    if *register {
                        changes.register.push(entry);
                    } else {
                        changes.deregister.push(entry);
                    }
                }
                let (add, remove) = self.register.pending_counts(&changes.integration);
                let apply = self.keymap.keys_of(Context::Register, Action::Apply);
                let discard = self.keymap.keys_of(Context::Register, Action::Discard);
                let still = format!(
                    "Nothing applied; still {} for {} ({apply} reviews them, {discard} discards them)",
                    pending_summary(add, remove),
                    changes.name
                );
                let confirm = confirm_apply(&self.theme, changes, still);
                self.modals.push(Modal::Confirm(Box::new(confirm)));
                Vec::new()
            }
            Action::Discard => {
                let Some(integration) = self.selected_integration().cloned() else {
                    return Vec::new();
                };
                let (add, remove) = self.register.pending_counts(&integration.code);
                if add + remove == 0 {
                    self.set_status(
                        StatusKind::Info,
                        format!("No pending changes for {}", integration.name),
                    );
                } else {
                    self.register.pending.remove(&integration.code);
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "Discarded {} pending change{} for {}",
                            add + remove,
                            if add + remove == 1 { "" } else { "s" },
                            integration.name
                        ),
                    );
                }
                Vec::new()
            }
            Action::Back => {
                if self.list.filter.narrows() {
                    self.clear_one_filter()
                } else {
                    self.switch_tab(Tab::Connections)
                }
            }
            other => self.on_shared_key(other),
        }
    }
    /// The selected integration when registration applies to it; says why
    /// not otherwise.
    pub(crate) fn registrable_integration(&mut self) -> Option<Integration> {
        let Some(integration) = self.selected_integration().cloned() else {
            self.set_status(StatusKind::Info, "No integration selected");
            return None;
        };
        if let Some(why) = self.registration_refusal(&integration) {
            self.set_status(StatusKind::Error, why);
            return None;
        }
        Some(integration)
    }
    pub(crate) fn on_registrations_applied(
        &mut self,
        integration: String,
        r: Result<Registered, ClientError>,
    ) -> Vec<Command> {
        self.register.applying = None;
        let name = self
            .data
            .integrations
            .iter()
            .find(|i| i.code == integration)
            .map_or_else(|| integration.clone(), |i| i.name.clone());
        match r {
            Ok(done) => {
                self.register.pending.remove(&integration);
                // A flow save's reminder no longer tells the truth once the
                // integration's registrations changed.
                if !done.deregistered.is_empty() {
                    self.register.reminder = None;
                }
                let mut text = format!(
                    "Registered {}, deregistered {} with {name}",
                    done.registered.len(),
                    done.deregistered.len()
                );
                if !done.registered.is_empty() {
                    text.push_str(&format!("; every user of {name} now has access to them"));
                }
                self.set_status(StatusKind::Success, text);
                vec![Command::Load]
            }
            Err(e) => {
                let (add, remove) = self.register.pending_counts(&integration);
                self.set_status(
                    StatusKind::Error,
                    format!(
                        "Could not apply the changes to {name}: {e}; still {}",
                        crate::tui::tabs::register::pending_summary(add, remove)
                    ),
                );
                let mut commands = self.backend_error(&e);
                // Someone else changed it: show what is registered now.
                if matches!(e.status(), Some(404 | 409)) {
                    commands.push(Command::Load);
                }
                commands
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integration(code: &str, registered: &[&str]) -> Integration {
        Integration {
            code: code.into(),
            name: code.to_uppercase(),
            kind: IntegrationKind::Standard,
            registered: registered.iter().map(|s| s.to_string()).collect(),
            flows: 0,
            version: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            access: Some(crate::model::AccessLevel::Manage),
        }
    }

    #[test]
    fn toggling_back_to_the_registered_state_is_not_pending() {
        let i = integration("orders", &["a"]);
        let mut tab = RegisterTab::default();
        tab.toggle(&i, "b");
        assert_eq!(tab.check(&i, "b"), Check::Add);
        tab.toggle(&i, "a");
        assert_eq!(tab.check(&i, "a"), Check::Remove);
        assert_eq!(tab.pending_counts("orders"), (1, 1));
        tab.toggle(&i, "a");
        tab.toggle(&i, "b");
        assert_eq!(tab.pending_counts("orders"), (0, 0));
        assert!(tab.pending.is_empty());
    }

    #[test]
    fn toggle_all_checks_all_unless_all_are_checked() {
        let i = integration("orders", &["a"]);
        let mut tab = RegisterTab::default();
        let codes = ["a", "b", "c"];
        tab.toggle_all(&i, codes.iter().copied());
        assert!(codes.iter().all(|c| tab.check(&i, c).checked()));
        assert_eq!(tab.pending_counts("orders"), (2, 0));
        tab.toggle_all(&i, codes.iter().copied());
        assert!(codes.iter().all(|c| !tab.check(&i, c).checked()));
        assert_eq!(tab.pending_counts("orders"), (0, 1));
    }

    #[test]
    fn reconcile_drops_what_is_done_and_keeps_the_rest() {
        let before = integration("orders", &[]);
        let mut tab = RegisterTab::default();
        tab.toggle(&before, "a");
        tab.toggle(&before, "b");
        let after = integration("orders", &["a"]);
        tab.reconcile(std::slice::from_ref(&after));
        assert_eq!(tab.pending_counts("orders"), (1, 0));
        assert_eq!(tab.check(&after, "b"), Check::Add);
        tab.reconcile(&[]);
        assert!(tab.pending.is_empty());
    }

    #[test]
    fn r16_the_usage_index_counts_registrations_and_steps() {
        // From JSON: the model may grow fields with defaults.
        let flows: Vec<Flow> = serde_json::from_value(serde_json::json!([{
            "code": "order_sync",
            "name": "Order sync",
            "integration": "orders",
            "steps": [
                {"kind": "export", "connection": "erp"},
                {"kind": "import", "connection": "shop"},
            ],
            "version": 1,
            "updated_at": "2026-11-26T10:00:00Z",
        }]))
        .unwrap();
        let index = UsageIndex::build(
            &[
                integration("orders", &["erp", "shop"]),
                integration("fin", &["erp"]),
            ],
            &flows,
        );
        assert_eq!(index.counts("erp"), (2, 1));
        assert_eq!(index.counts("nothing"), (0, 0));
        let erp = index.of("erp").unwrap();
        assert_eq!(erp.registered_with, vec!["ORDERS", "FIN"]);
        assert_eq!(
            index.of("shop").unwrap().used_by[0].describe(),
            "order_sync step 2 (import, orders)"
        );
    }
}
