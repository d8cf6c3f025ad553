//! Naming a new role or group, or renaming one (Permissions tab): the
//! code fills in from the label until edited (as for connections, R1),
//! both checked as the server will before anything is sent.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::domain;
use crate::model::{DEFAULT_ROLE, GroupPatch, NewGroup, NewRole, Permission, RolePatch};
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::tabs::permissions::{CatalogChange, SetKind, permissions_summary};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;
use crate::tui::widgets::field::{self, TextInput, Value, hint_lines};
use crate::tui::widgets::text::wrap_words;

/// What the set form is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFormMode {
    New,
    Rename { code: String, version: u64 },
}
/// The label and code of a new role or group (the code fills in from the
/// label until edited, as for connections, R1), or a new label.
#[derive(Debug, Clone)]
pub struct SetForm {
    pub kind: SetKind,
    pub mode: SetFormMode,
    pub label: TextInput,
    pub code: TextInput,
    pub code_edited: bool,
    pub on_code: bool,
    pub label_error: Option<String>,
    pub code_error: Option<String>,
    pub submitting: bool,
    /// A new role starts with these (the default role's).
    pub permissions: Vec<Permission>,
}
impl SetForm {
    pub fn new_set(kind: SetKind, permissions: Vec<Permission>) -> Self {
        SetForm {
            kind,
            mode: SetFormMode::New,
            label: TextInput::default(),
            code: TextInput::default(),
            code_edited: false,
            on_code: false,
            label_error: None,
            code_error: None,
            submitting: false,
            permissions,
        }
    }

    pub fn rename(kind: SetKind, code: &str, label: &str, version: u64) -> Self {
        SetForm {
            kind,
            mode: SetFormMode::Rename {
                code: code.to_string(),
                version,
            },
            label: TextInput::new(label),
            code: TextInput::new(code),
            code_edited: true,
            on_code: false,
            label_error: None,
            code_error: None,
            submitting: false,
            permissions: Vec::new(),
        }
    }

    pub fn is_new(&self) -> bool {
        self.mode == SetFormMode::New
    }

    fn label_changed(&mut self) {
        self.label_error = None;
        if !self.code_edited && self.is_new() {
            self.code = TextInput::new(&domain::slug_from_label(&self.label.value));
            self.code_error = None;
        }
    }

    pub fn paste(&mut self, text: &str) {
        let text = text.replace(['\n', '\r'], "");
        if self.on_code && self.is_new() {
            self.code.paste(&text);
            self.code_edited = true;
            self.code_error = None;
        } else {
            self.label.paste(&text);
            self.label_changed();
        }
    }

    fn handle_key(&mut self, key: &KeyEvent) {
        if self.on_code && self.is_new() {
            let (_, changed) = self.code.handle_key(key);
            if changed {
                self.code_edited = true;
                self.code_error = None;
            }
        } else {
            let (_, changed) = self.label.handle_key(key);
            if changed {
                self.label_changed();
            }
        }
    }

    /// Checks label and code as the server will; the change to send.
    fn change(&mut self) -> Option<CatalogChange> {
        self.label_error = None;
        self.code_error = None;
        let label = match domain::catalog::validate_name(&self.label.value, "label") {
            Ok(l) => Some(l),
            Err(e) => {
                self.label_error = Some(e.message);
                None
            }
        };
        let code = self.code.value.trim().to_string();
        if self.is_new()
            && let Err(e) = domain::catalog::validate_set_code(&code)
        {
            self.code_error = Some(e.message);
        }
        if self.label_error.is_some() {
            self.on_code = false;
        } else if self.code_error.is_some() {
            self.on_code = true;
        }
        let label = label.filter(|_| self.code_error.is_none())?;
        Some(match (&self.mode, self.kind) {
            (SetFormMode::New, SetKind::Roles) => CatalogChange::CreateRole(NewRole {
                code,
                label,
                permissions: self.permissions.clone(),
            }),
            (SetFormMode::New, SetKind::Groups) => CatalogChange::CreateGroup(NewGroup {
                code,
                label,
                permissions: Vec::new(),
            }),
            (SetFormMode::Rename { code, version }, SetKind::Roles) => CatalogChange::UpdateRole(
                code.clone(),
                RolePatch {
                    label: Some(label),
                    permissions: None,
                    version: Some(*version),
                },
            ),
            (SetFormMode::Rename { code, version }, SetKind::Groups) => CatalogChange::UpdateGroup(
                code.clone(),
                GroupPatch {
                    label: Some(label),
                    permissions: None,
                    version: Some(*version),
                },
            ),
        })
    }

    /// Shows a refusal of the server beside its field.
    pub fn show_error(&mut self, field: Option<&str>, message: String) {
        self.submitting = false;
        if field == Some("code") && self.is_new() {
            self.code_error = Some(message);
            self.on_code = true;
        } else {
            self.label_error = Some(message);
            self.on_code = false;
        }
    }

    /// Acts on a key: edits, moves between the fields, or checks and
    /// gives the change to send.
    pub fn on_key(&mut self, action: Option<Action>, key: &KeyEvent) -> SetFormOutcome {
        if self.submitting {
            // One save at a time; only Esc leaves.
            return if action == Some(Action::Cancel) {
                SetFormOutcome::Cancel
            } else {
                SetFormOutcome::Stay
            };
        }
        match action {
            Some(Action::NextField | Action::PrevField) => {
                if self.is_new() {
                    self.on_code = !self.on_code;
                }
            }
            Some(Action::Cancel) => return SetFormOutcome::Cancel,
            Some(Action::Save) => {
                if let Some(change) = self.change() {
                    self.submitting = true;
                    return SetFormOutcome::Save(change);
                }
            }
            _ => self.handle_key(key),
        }
        SetFormOutcome::Stay
    }

    /// The new-role, new-group and rename form.
    /// Draws the form: label and code, their errors, what a new one grants.
    pub fn render(&self, t: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let form = self;
        let width = 80u16.min(area.width);
        let room = width.saturating_sub(4).max(8) as usize;
        let one = form.kind.one();
        let title = if form.is_new() {
            format!(" New {one} ")
        } else {
            format!(" Rename {one} ")
        };
        let error = |e: &Option<String>| -> Vec<Line<'static>> {
            e.iter()
                .flat_map(|e| field::error_lines(t, e, 9, room))
                .collect()
        };
        let mut lines = vec![field::line(
            t,
            "Label",
            7,
            !form.on_code,
            Value::Input(&form.label),
        )];
        lines.extend(error(&form.label_error));
        let mut code = if form.is_new() {
            field::line(t, "Code", 7, form.on_code, Value::Input(&form.code))
        } else {
            field::line(
                t,
                "Code",
                7,
                false,
                Value::Fixed(form.code.value.clone(), "(never changes)"),
            )
        };
        if form.is_new() && !form.code_edited {
            code.spans.push(Span::styled("  (from the label)", t.dim));
        }
        lines.push(code);
        lines.extend(error(&form.code_error));
        lines.push(Line::from(""));
        if form.is_new() {
            let note = match form.kind {
            SetKind::Roles => format!(
                "It starts with what {DEFAULT_ROLE} grants ({}); Space in the permissions pane changes that.",
                permissions_summary(&form.permissions)
            ),
            SetKind::Groups => "A new group grants nothing: its connections list no products until Space gives it view or edit on categories.".to_string(),
        };
            lines.extend(
                wrap_words(&note, room)
                    .into_iter()
                    .map(|l| Line::from(Span::styled(l, t.dim))),
            );
        }
        if form.submitting {
            lines.push(Line::from(Span::styled("saving…", t.dim)));
        } else {
            lines.extend(hint_lines(t, keymap, Context::Form, room));
        }
        dialog::render(t, title.trim(), lines, width, area, buf);
    }
}

/// What a key did.
pub enum SetFormOutcome {
    Stay,
    Cancel,
    Save(CatalogChange),
}
