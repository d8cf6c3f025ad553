//! The Flows pane of the Register tab (SPEC §4 R14, R15, R19; §6): the
//! flows of the selected integration (or the standalone ones), the keys
//! that create, edit, attach and delete them, what their answers do, and
//! the R14 reminder after a save. The editor itself is a dialog
//! (dialogs/flow_editor.rs).

use crate::tui::dialogs::flow_editor::{FlowEditor, FlowError, FlowModal, FlowNameForm};
use crate::tui::view::Screen;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Padding, Paragraph, Widget};

use crate::client::ClientError;
use crate::model::{AccessLevel, Connection, Flow, FlowSaved, Integration, IntegrationKind};
use crate::tui::app::{App, Command, Modal, StatusKind, Then};
use crate::tui::dialogs::choice::Choice;
use crate::tui::dialogs::confirm::Confirm;
use crate::tui::keymap::{Action, Context};
use crate::tui::tabs::register::RegFocus;
use crate::tui::theme::Theme;
use crate::tui::view::{pane, wrap_words};

/// The R14 reminder after a save that registered connections; shown above
/// the Register tab until dismissed (Esc) or the next flow action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowReminder {
    pub flow: String,
    pub integration: String,
    pub integration_name: String,
    /// (code, label) of what the save registered, as the server listed it.
    pub registered: Vec<(String, String)>,
}

impl FlowReminder {
    pub fn text(&self) -> String {
        let names = self
            .registered
            .iter()
            .map(|(code, label)| format!("{label} ({code})"))
            .collect::<Vec<_>>()
            .join(", ");
        let (n, them) = if self.registered.len() == 1 {
            ("1 connection".to_string(), "it")
        } else {
            (format!("{} connections", self.registered.len()), "them")
        };
        format!(
            "Saving flow “{}” registered {n} with {}: {names}. Every user of {} now has access to {them} (R14).",
            self.flow, self.integration_name, self.integration_name
        )
    }
}

/// Why the user may not change the flows of an integration (R19), if so.
pub fn may_not_change_flows(i: &Integration, what: &str) -> Option<String> {
    match i.access {
        Some(AccessLevel::Manage) => None,
        Some(AccessLevel::Monitor) => Some(format!(
            "you monitor {}: only managers may {what} (R19)",
            i.name
        )),
        None => Some(format!(
            "you have no access to {}: only managers may {what} (R19)",
            i.name
        )),
    }
}

pub(crate) fn label_in<'a>(connections: &'a [Connection], code: &str) -> Option<&'a str> {
    connections
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.label.as_str())
}

impl App {
    /// The flows of the integration selected in the Register tab.
    pub fn flows_of_selected(&self) -> Vec<&Flow> {
        let Some(i) = self.selected_integration() else {
            return Vec::new();
        };
        self.data
            .flows
            .iter()
            .filter(|f| f.integration.as_deref() == Some(i.code.as_str()))
            .collect()
    }

    /// What the Flows pane lists: the selected integration's flows, then
    /// the standalone ones (which `e` attaches to it, R17).
    pub fn pane_flows(&self) -> Vec<&Flow> {
        let mut flows = self.flows_of_selected();
        flows.extend(self.data.flows.iter().filter(|f| f.integration.is_none()));
        flows
    }

    /// Position of the highlighted flow among `pane_flows`.
    pub fn highlighted_flow_index(&self) -> usize {
        let flows = self.pane_flows();
        self.register
            .flow
            .as_deref()
            .and_then(|code| flows.iter().position(|f| f.code == code))
            .unwrap_or(0)
    }

    pub fn highlighted_flow(&self) -> Option<&Flow> {
        let i = self.highlighted_flow_index();
        self.pane_flows().get(i).copied()
    }

    /// The Register tab's flow keys; `None` when the key is not one of
    /// them (the tab handles it).
    pub(crate) fn on_register_flow_key(&mut self, action: Action) -> Option<Vec<Command>> {
        let on_flows = self.register.focus == RegFocus::Flows;
        match action {
            Action::Back if self.register.reminder.is_some() => {
                self.register.reminder = None;
                Some(Vec::new())
            }
            Action::FocusFlows => {
                self.register.focus = RegFocus::Flows;
                Some(Vec::new())
            }
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::PageUp
            | Action::PageDown
                if on_flows =>
            {
                let n = self.pane_flows().len() as isize;
                if n == 0 {
                    return Some(Vec::new());
                }
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::First => -n,
                    Action::Last => n,
                    Action::PageUp => -5,
                    _ => 5,
                };
                let at = (self.highlighted_flow_index() as isize + delta).clamp(0, n - 1);
                self.register.flow = self.pane_flows().get(at as usize).map(|f| f.code.clone());
                Some(Vec::new())
            }
            Action::New => Some(self.new_flow()),
            Action::Edit => Some(self.edit_flow()),
            Action::Apply if on_flows => Some(self.edit_flow()),
            Action::Delete => Some(self.delete_flow()),
            _ => None,
        }
    }

    /// A click or the wheel over the Flows pane: focuses it and picks or
    /// moves the highlighted flow.
    pub(crate) fn on_flows_mouse(&mut self, m: MouseEvent) -> Option<Vec<Command>> {
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.register.focus = RegFocus::Flows;
                if let Some((_, code)) = self.screen.flow_rows.iter().find(|(y, _)| *y == m.row) {
                    self.register.flow = Some(code.clone());
                }
                Some(Vec::new())
            }
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                self.register.focus = RegFocus::Flows;
                let down = m.kind == MouseEventKind::ScrollDown;
                self.on_register_flow_key(if down { Action::Down } else { Action::Up })
            }
            _ => None,
        }
    }

    /// The selected integration, when the user may change its flows; says
    /// why not otherwise.
    pub(crate) fn flow_integration(&mut self, what: &str) -> Option<Integration> {
        let Some(i) = self.selected_integration().cloned() else {
            self.set_status(StatusKind::Info, "No integration selected");
            return None;
        };
        if let Some(why) = may_not_change_flows(&i, what) {
            self.set_status(StatusKind::Error, why);
            return None;
        }
        Some(i)
    }

    pub(crate) fn new_flow(&mut self) -> Vec<Command> {
        let Some(i) = self.flow_integration("save flows") else {
            return Vec::new();
        };
        self.register.focus = RegFocus::Flows;
        self.modals.push(Modal::Flow(Box::new(FlowModal::Name(
            FlowNameForm::new_flow(&i),
        ))));
        Vec::new()
    }

    pub(crate) fn edit_flow(&mut self) -> Vec<Command> {
        let standalone = self
            .highlighted_flow()
            .is_some_and(|f| f.integration.is_none());
        if standalone && !self.is_admin() {
            self.register.focus = RegFocus::Flows;
            self.set_status(
                StatusKind::Error,
                "Only the owner or an admin may edit or attach a standalone flow (R17)",
            );
            return Vec::new();
        }
        let Some(i) = self.flow_integration("save flows") else {
            return Vec::new();
        };
        self.register.focus = RegFocus::Flows;
        let Some(flow) = self.highlighted_flow().cloned() else {
            let new = self.keymap.keys_of(Context::Register, Action::New);
            self.set_status(
                StatusKind::Info,
                format!("{} has no flow yet: {new} creates one", i.name),
            );
            return Vec::new();
        };
        if flow.partial {
            self.set_status(
                StatusKind::Error,
                format!(
                    "You see only part of flow {} (R18): it cannot be edited here",
                    flow.name
                ),
            );
            return Vec::new();
        }
        self.register.flow = Some(flow.code.clone());
        if standalone {
            // Editing it and attaching it are different acts: ask which.
            let attach = if i.kind == IntegrationKind::App {
                format!(
                    "Attach it to {} (an app: nothing gets registered, R17)",
                    i.name
                )
            } else {
                format!(
                    "Attach it to {}: the connections its steps use get registered with it (R14, R17)",
                    i.name
                )
            };
            self.modals.push(Modal::Choice(Box::new(Choice::new(
                "Standalone flow",
                format!(
                    "{} belongs to no integration. What do you want to do?",
                    flow.name
                ),
                vec![
                    (
                        "Edit its steps; it stays standalone".to_string(),
                        Then::EditFlow {
                            code: flow.code.clone(),
                            attach: false,
                        },
                    ),
                    (
                        attach,
                        Then::EditFlow {
                            code: flow.code,
                            attach: true,
                        },
                    ),
                ],
            ))));
            return Vec::new();
        }
        self.open_editor(&flow, &i, true);
        Vec::new()
    }

    /// Opens the editor on `flow`, in `i` or (without `attach`, for a
    /// standalone flow) as it is.
    pub(crate) fn open_editor(&mut self, flow: &Flow, i: &Integration, attach: bool) {
        let editor = if attach {
            FlowEditor::edit(flow, i)
        } else {
            FlowEditor::edit_standalone(flow)
        };
        self.modals
            .push(Modal::Flow(Box::new(FlowModal::Editor(Box::new(editor)))));
    }

    /// The standalone-flow choice was answered.
    pub(crate) fn edit_flow_chosen(&mut self, code: &str, attach: bool) -> Vec<Command> {
        let Some(flow) = self.data.flows.iter().find(|f| f.code == code).cloned() else {
            self.set_status(StatusKind::Error, format!("Flow {code} is gone"));
            return Vec::new();
        };
        let Some(i) = self.selected_integration().cloned() else {
            return Vec::new();
        };
        self.open_editor(&flow, &i, attach);
        Vec::new()
    }

    pub(crate) fn delete_flow(&mut self) -> Vec<Command> {
        let standalone = self
            .highlighted_flow()
            .is_some_and(|f| f.integration.is_none());
        let place = if standalone {
            if !self.is_admin() {
                self.register.focus = RegFocus::Flows;
                self.set_status(
                    StatusKind::Error,
                    "Only the owner or an admin may delete standalone flows (R17)",
                );
                return Vec::new();
            }
            "the standalone flows".to_string()
        } else {
            match self.flow_integration("delete flows") {
                Some(i) => i.name,
                None => return Vec::new(),
            }
        };
        self.register.focus = RegFocus::Flows;
        let Some(flow) = self.highlighted_flow() else {
            self.set_status(StatusKind::Info, "No flow to delete");
            return Vec::new();
        };
        let confirm = confirm_delete(&self.theme, &flow.code, &flow.name, &place);
        self.modals.push(Modal::Confirm(Box::new(confirm)));
        Vec::new()
    }

    /// The answer to a save: the editor closes and the reminder shows (R14);
    /// a refusal stays in the editor with the user's edits.
    pub(crate) fn on_flow_saved(
        &mut self,
        code: String,
        r: Result<FlowSaved, ClientError>,
    ) -> Vec<Command> {
        match r {
            Ok(saved) => {
                let (editor_kind, attached) = self
                    .editor_of(&code)
                    .map_or((None, false), |e| (Some(e.kind), e.is_attaching()));
                self.modals.retain(|m| {
                    !matches!(m, Modal::Flow(f) if matches!(f.as_ref(), FlowModal::Editor(e) if e.code == code))
                });
                let flow = saved.flow;
                let integration = flow.integration.clone().unwrap_or_default();
                let integration_name = self
                    .data
                    .integrations
                    .iter()
                    .find(|i| i.code == integration)
                    .map_or_else(|| integration.clone(), |i| i.name.clone());
                self.register.flow = Some(flow.code.clone());
                self.register.focus = RegFocus::Flows;
                let steps = match flow.steps.len() {
                    1 => "1 step".to_string(),
                    n => format!("{n} steps"),
                };
                let mut text = if attached {
                    format!("Attached flow {} to {integration_name}: {steps}", flow.name)
                } else if flow.integration.is_none() {
                    format!("Saved standalone flow {}: {steps}", flow.name)
                } else {
                    format!("Saved flow {} in {integration_name}: {steps}", flow.name)
                };
                if saved.registered.is_empty() {
                    self.register.reminder = None;
                    if editor_kind == Some(IntegrationKind::App) {
                        text.push_str(&format!(
                            "; {integration_name} is an app: it owns its connections, nothing was registered (R17)"
                        ));
                    }
                } else {
                    let registered = saved
                        .registered
                        .iter()
                        .map(|c| {
                            let label =
                                label_in(&self.data.connections, c).unwrap_or(c).to_string();
                            (c.clone(), label)
                        })
                        .collect();
                    self.register.reminder = Some(FlowReminder {
                        flow: flow.name.clone(),
                        integration,
                        integration_name,
                        registered,
                    });
                }
                self.set_status(StatusKind::Success, text);
                // The checkboxes, the flows and the used-by change.
                vec![Command::Load]
            }
            Err(e) => {
                let stale = e.code() == Some("stale");
                let rename = self.keymap.keys_of(Context::FlowEditor, Action::Rename);
                let error = match self.editor_of(&code) {
                    // A new flow said it read version 0: the code is taken.
                    Some(editor) if stale && editor.is_new() => FlowError {
                        field: Some("code".to_string()),
                        message: format!(
                            "a flow with code {code:?} exists already; {rename} chooses another code"
                        ),
                    },
                    _ => FlowError {
                        field: e.field().map(str::to_string),
                        message: e.to_string(),
                    },
                };
                match self.editor_of(&code) {
                    Some(editor) => {
                        editor.saving = false;
                        editor.error = Some(error);
                        self.set_status(StatusKind::Error, "The flow was not saved");
                    }
                    None => self.set_status(
                        StatusKind::Error,
                        format!("Could not save flow {code}: {e}"),
                    ),
                }
                let mut commands = self.backend_error(&e);
                if stale {
                    // Show what the server holds now; the edits stay open.
                    commands.push(Command::Load);
                }
                commands
            }
        }
    }

    pub(crate) fn on_flow_deleted(
        &mut self,
        code: String,
        r: Result<(), ClientError>,
    ) -> Vec<Command> {
        match r {
            Ok(()) => {
                self.set_status(StatusKind::Success, format!("Deleted flow {code}"));
                if self.register.flow.as_deref() == Some(code.as_str()) {
                    self.register.flow = None;
                }
                vec![Command::Load]
            }
            Err(e) => {
                self.set_status(
                    StatusKind::Error,
                    format!("Could not delete flow {code}: {e}"),
                );
                self.backend_error(&e)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// The Flows pane of the Register tab: the selected integration's flows,
/// each with its steps; the highlighted one marked, scrolled into view.
pub fn render_pane(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let focused = app.register.focus == RegFocus::Flows;
    screen.flow_area = area;
    screen.flow_rows.clear();
    let Some(i) = app.selected_integration().cloned() else {
        return;
    };
    let key = crate::tui::view::key_of(app, Context::Register, Action::FocusFlows);
    let read_only = may_not_change_flows(&i, "").is_some();
    let own = app.flows_of_selected().len();
    let flows: Vec<Flow> = app.pane_flows().into_iter().cloned().collect();
    let highlighted = app.highlighted_flow_index();
    // The key that focuses the pane leads its title, as on the tab bar.
    let key = if focused || key.is_empty() {
        String::new()
    } else {
        format!("{key} ")
    };
    let title = format!(" {key}Flows of {} · {own} ", i.name);
    let block = pane(&t, title, focused);
    let mut inner = block.inner(area);
    block.render(area, buf);
    let width = (inner.width as usize).max(8);
    if read_only && inner.height > 1 {
        let why = match i.access {
            Some(AccessLevel::Monitor) => "read-only: you monitor it (R19)",
            _ => "read-only (R19)",
        };
        Line::from(Span::styled(why, t.warning)).render(inner, buf);
        inner.y += 1;
        inner.height -= 1;
    }
    // Every line, with the flow it belongs to, and where the highlighted
    // flow starts and ends.
    let mut lines: Vec<(Line, Option<usize>, bool)> = Vec::new();
    if own == 0 {
        let mut text = format!("No flows in {} yet.", i.name);
        if !read_only {
            let new = crate::tui::view::key_of(app, Context::Register, Action::New);
            text.push_str(&format!(" {new} creates one."));
        }
        lines.extend(
            wrap_words(&text, width)
                .into_iter()
                .map(|l| (Line::from(Span::styled(l, t.dim)), None, false)),
        );
    }
    let mut span = (0, 0);
    for (n, f) in flows.iter().enumerate() {
        if n == own {
            // Standalone flows: `e` attaches one to this integration (R17).
            let edit = crate::tui::view::key_of(app, Context::Register, Action::Edit);
            lines.push((Line::from(""), None, false));
            lines.extend(
                wrap_words(
                    &format!(
                        "Standalone flows · {edit} edits one or attaches it to {}",
                        i.name
                    ),
                    width,
                )
                .into_iter()
                .map(|l| (Line::from(Span::styled(l, t.label)), None, false)),
            );
        }
        let selected = n == highlighted;
        if selected {
            span.0 = lines.len();
        }
        let plain = selected && focused;
        let mut head = vec![
            Span::raw(if selected { "▶ " } else { "" }),
            Span::styled(f.name.clone(), if plain { Style::new() } else { t.title }),
            Span::styled(
                format!(" {}", f.code),
                if plain { Style::new() } else { t.dim },
            ),
        ];
        if f.partial {
            head.push(Span::styled(" (part)", t.dim));
        }
        lines.push((Line::from(head), Some(n), true));
        let steps = if f.steps.is_empty() {
            "no steps".to_string()
        } else {
            f.steps
                .iter()
                .map(|s| format!("{} {}", s.kind.as_str(), s.connection))
                .collect::<Vec<_>>()
                .join(" → ")
        };
        for l in wrap_words(&steps, width.saturating_sub(2).max(6)) {
            lines.push((Line::from(format!("  {l}")), Some(n), false));
        }
        if selected {
            span.1 = lines.len();
        }
    }
    let height = inner.height as usize;
    let mut offset = screen.flow_offset;
    if span.0 < offset {
        offset = span.0;
    } else if height > 0 && span.1 > offset + height {
        offset = (span.1 - height).min(span.0);
    }
    offset = offset.min(lines.len().saturating_sub(height.max(1)));
    screen.flow_offset = offset;
    for (row, (line, flow, is_head)) in lines.into_iter().skip(offset).take(height).enumerate() {
        let r = Rect {
            y: inner.y + row as u16,
            height: 1,
            ..inner
        };
        if let Some(n) = flow {
            if n == highlighted && is_head {
                buf.set_style(r, if focused { t.selected } else { Style::new() });
            }
            screen.flow_rows.push((r.y, flows[n].code.clone()));
        }
        line.render(r, buf);
    }
}

/// Lines the R14 reminder banner needs at `width`.
pub fn reminder_height(app: &App, width: u16) -> u16 {
    app.register.reminder.as_ref().map_or(0, |r| {
        let room = width.saturating_sub(4).max(8) as usize;
        wrap_words(&r.text(), room).len() as u16 + 2
    })
}

/// The R14 reminder, above the Register tab's panes.
pub fn render_reminder(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(r) = &app.register.reminder else {
        return;
    };
    let t = &app.theme;
    let room = area.width.saturating_sub(4).max(8) as usize;
    let lines: Vec<Line> = wrap_words(&r.text(), room)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, t.warning.add_modifier(Modifier::BOLD))))
        .collect();
    let dismiss = crate::tui::view::key_of(app, Context::Register, Action::Back);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .border_style(t.warning)
                .padding(Padding::horizontal(1))
                .title(Span::styled(" ! Connections registered (R14) ", t.title))
                .title_bottom(Span::styled(format!(" {dismiss} dismisses "), t.dim)),
        )
        .render(area, buf);
}

/// Asks before deleting a flow.
pub(crate) fn confirm_delete(
    t: &Theme,
    code: &str,
    name: &str,
    integration: &str,
) -> Confirm<Then> {
    Confirm::new(
        "Delete flow",
        70,
        Then::DeleteFlow {
            code: code.to_string(),
            name: name.to_string(),
        },
    )
    .para(
        format!("Delete flow {name} ({code}) from {integration}?"),
        t.title,
    )
    .para("Its steps go with it. The connections stay registered with the integration; this cannot be undone.", Style::new())
    .answers("delete", "keep it")
    .declined(format!("Flow {name} stays"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r19_only_managers_change_flows() {
        let mut i: Integration = serde_json::from_value(serde_json::json!({
            "code": "orders", "name": "Orders", "kind": "standard", "registered": [],
            "flows": 0, "version": 1,
            "created_at": "2026-11-26T10:00:00Z", "updated_at": "2026-11-26T10:00:00Z",
            "access": "monitor",
        }))
        .unwrap();
        assert_eq!(
            may_not_change_flows(&i, "save flows").as_deref(),
            Some("you monitor Orders: only managers may save flows (R19)")
        );
        i.access = Some(AccessLevel::Manage);
        assert_eq!(may_not_change_flows(&i, "save flows"), None);
    }

    #[test]
    fn r14_the_reminder_names_what_was_registered_and_who_gets_access() {
        let r = FlowReminder {
            flow: "Sync".into(),
            integration: "orders".into(),
            integration_name: "Orders".into(),
            registered: vec![("dam_assets".into(), "DAM Assets".into())],
        };
        assert_eq!(
            r.text(),
            "Saving flow “Sync” registered 1 connection with Orders: DAM Assets (dam_assets). Every user of Orders now has access to it (R14)."
        );
    }
}
