//! Creating an integration (its name; the code fills in from the name as
//! the user types, as for connections, R1; its kind) or renaming one (the
//! code never changes). Both checked as the server will before anything is
//! sent; the server's refusals show beside their field.

use std::collections::BTreeMap;
use strum::VariantArray;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::domain;
use crate::model::{Integration, IntegrationKind, NewIntegration};
use crate::tui::admin::AdminCall;
use crate::tui::app::{App, Command, Modal, StatusKind};
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;
use crate::tui::widgets::field::{self, TextInput, Value, hint_lines};
use crate::tui::widgets::text::wrap_words;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IntegrationField {
    Name,
    Code,
    Kind,
}

impl IntegrationField {
    fn from_name(name: &str) -> Option<IntegrationField> {
        match name {
            "name" => Some(IntegrationField::Name),
            "code" => Some(IntegrationField::Code),
            "kind" => Some(IntegrationField::Kind),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationFormMode {
    Create,
    Rename { name: String },
}

#[derive(Debug, Clone)]
pub struct IntegrationForm {
    pub mode: IntegrationFormMode,
    pub name: TextInput,
    pub code: TextInput,
    /// Once the user edits the code, the name no longer fills it in.
    pub code_edited: bool,
    pub kind: IntegrationKind,
    pub focus: IntegrationField,
    pub errors: BTreeMap<IntegrationField, String>,
    pub general_error: Option<String>,
    pub submitting: bool,
}

/// What a key did.
pub enum IntegrationFormOutcome {
    Stay,
    Cancel,
    Save(AdminCall),
    /// Renaming to the same name.
    Unchanged,
}

/// A name rule's message, about the name (the rules are the labels').
fn as_name(message: String) -> String {
    message.replace("label", "name")
}

impl IntegrationForm {
    pub fn create() -> Self {
        IntegrationForm {
            mode: IntegrationFormMode::Create,
            name: TextInput::default(),
            code: TextInput::default(),
            code_edited: false,
            kind: IntegrationKind::Standard,
            focus: IntegrationField::Name,
            errors: BTreeMap::new(),
            general_error: None,
            submitting: false,
        }
    }

    pub fn rename(i: &Integration) -> Self {
        IntegrationForm {
            mode: IntegrationFormMode::Rename {
                name: i.name.clone(),
            },
            name: TextInput::new(&i.name),
            code: TextInput::new(&i.code),
            code_edited: true,
            kind: i.kind,
            focus: IntegrationField::Name,
            errors: BTreeMap::new(),
            general_error: None,
            submitting: false,
        }
    }

    pub fn is_create(&self) -> bool {
        self.mode == IntegrationFormMode::Create
    }

    fn fields(&self) -> &'static [IntegrationField] {
        if self.is_create() {
            &[
                IntegrationField::Name,
                IntegrationField::Code,
                IntegrationField::Kind,
            ]
        } else {
            &[IntegrationField::Name]
        }
    }

    fn move_focus(&mut self, forward: bool) {
        let fields = self.fields();
        let n = fields.len();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        self.focus = fields[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    fn name_changed(&mut self) {
        self.errors.remove(&IntegrationField::Name);
        if self.is_create() && !self.code_edited {
            self.code = TextInput::new(&domain::slug_from_label(&self.name.value));
            self.errors.remove(&IntegrationField::Code);
        }
    }

    fn cycle_kind(&mut self, forward: bool) {
        let all = IntegrationKind::VARIANTS;
        let n = all.len();
        let i = all.iter().position(|k| *k == self.kind).unwrap_or(0);
        self.kind = all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// A key that is not a form action: edits the focused field.
    pub fn handle_key(&mut self, key: &KeyEvent) {
        match self.focus {
            IntegrationField::Name => {
                if self.name.handle_key(key).1 {
                    self.name_changed();
                }
            }
            IntegrationField::Code => {
                if self.code.handle_key(key).1 {
                    self.code_edited = true;
                    self.errors.remove(&IntegrationField::Code);
                }
            }
            IntegrationField::Kind => match key.code {
                KeyCode::Left => self.cycle_kind(false),
                KeyCode::Right | KeyCode::Char(' ') => self.cycle_kind(true),
                // First letter picks: s(tandard), a(pp).
                KeyCode::Char(c) => {
                    if let Some(k) = IntegrationKind::VARIANTS
                        .iter()
                        .copied()
                        .find(|k| k.as_str().starts_with(c.to_ascii_lowercase()))
                    {
                        self.kind = k;
                    }
                }
                _ => {}
            },
        }
    }

    pub fn paste(&mut self, text: &str) {
        let text = text.replace(['\n', '\r'], "");
        match self.focus {
            IntegrationField::Name => {
                self.name.paste(&text);
                self.name_changed();
            }
            IntegrationField::Code => {
                self.code.paste(&text);
                self.code_edited = true;
                self.errors.remove(&IntegrationField::Code);
            }
            IntegrationField::Kind => {}
        }
    }

    /// Checks name and code as the server will; the call to make.
    fn call(&mut self) -> Option<IntegrationFormOutcome> {
        self.errors.clear();
        self.general_error = None;
        let name = match domain::validate_label(&self.name.value) {
            Ok(name) => Some(name),
            Err(e) => {
                self.errors
                    .insert(IntegrationField::Name, as_name(e.message));
                None
            }
        };
        let code = self.code.value.trim().to_string();
        if self.is_create()
            && let Err(e) = domain::validate_code(&code)
        {
            // An empty code the name did not fill: say what the name lacks.
            let message = if code.is_empty() && !self.code_edited {
                domain::code_from_label(&self.name.value)
                    .err()
                    .map_or(e.message, |e| as_name(e.message))
            } else {
                e.message
            };
            self.errors.insert(IntegrationField::Code, message);
        }
        if let Some(first) = self.errors.keys().next() {
            self.focus = *first;
            return None;
        }
        let name = name?;
        Some(match &self.mode {
            IntegrationFormMode::Create => {
                IntegrationFormOutcome::Save(AdminCall::CreateIntegration(NewIntegration {
                    name,
                    code: Some(code),
                    kind: self.kind,
                }))
            }
            IntegrationFormMode::Rename { name: old } if *old == name => {
                IntegrationFormOutcome::Unchanged
            }
            IntegrationFormMode::Rename { .. } => {
                IntegrationFormOutcome::Save(AdminCall::RenameIntegration { code, name })
            }
        })
    }

    /// Shows a refusal of the server beside its field, or above the form.
    pub fn show_error(&mut self, field: Option<&str>, message: String) {
        self.submitting = false;
        match field.and_then(IntegrationField::from_name) {
            Some(f) if self.fields().contains(&f) => {
                self.errors.insert(f, message);
                self.focus = f;
            }
            _ => self.general_error = Some(message),
        }
    }

    /// Acts on a key: edits, moves between the fields, or checks and gives
    /// the call to make.
    pub fn on_key(&mut self, action: Option<Action>, key: &KeyEvent) -> IntegrationFormOutcome {
        if self.submitting {
            // One save at a time; only Esc leaves.
            return if action == Some(Action::Cancel) {
                IntegrationFormOutcome::Cancel
            } else {
                IntegrationFormOutcome::Stay
            };
        }
        match action {
            Some(Action::NextField) => self.move_focus(true),
            Some(Action::PrevField) => self.move_focus(false),
            Some(Action::Cancel) => return IntegrationFormOutcome::Cancel,
            Some(Action::Save) => {
                if let Some(outcome) = self.call() {
                    if matches!(outcome, IntegrationFormOutcome::Save(_)) {
                        self.submitting = true;
                    }
                    return outcome;
                }
            }
            _ => self.handle_key(key),
        }
        IntegrationFormOutcome::Stay
    }

    /// Draws the form: each field with its error under it, what the kind
    /// means, and the keys.
    pub fn render(&self, t: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let width = 84u16.min(area.width);
        let room = width.saturating_sub(4).max(8) as usize;
        let title = match &self.mode {
            IntegrationFormMode::Create => "New integration".to_string(),
            IntegrationFormMode::Rename { name } => format!("Rename {name}"),
        };
        let mut lines: Vec<Line> = Vec::new();
        if let Some(e) = &self.general_error {
            lines.extend(field::error_lines(t, e, 0, room));
            lines.push(Line::from(""));
        }
        let errors = |f: IntegrationField| -> Vec<Line<'static>> {
            self.errors
                .get(&f)
                .map(|e| field::error_lines(t, e, 8, room))
                .unwrap_or_default()
        };
        let focused = |f: IntegrationField| self.focus == f;
        lines.push(field::line(
            t,
            "Name",
            6,
            focused(IntegrationField::Name),
            Value::Input(&self.name),
        ));
        lines.extend(errors(IntegrationField::Name));
        if self.is_create() {
            let mut code = field::line(
                t,
                "Code",
                6,
                focused(IntegrationField::Code),
                Value::Input(&self.code),
            );
            if !self.code_edited {
                code.spans.push(Span::styled("  (from the name)", t.dim));
            }
            lines.push(code);
            lines.extend(errors(IntegrationField::Code));
            let kinds = IntegrationKind::VARIANTS
                .iter()
                .map(|k| {
                    if *k == self.kind {
                        format!("[{}]", k.as_str())
                    } else {
                        format!(" {} ", k.as_str())
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            lines.push(field::line(
                t,
                "Kind",
                6,
                focused(IntegrationField::Kind),
                Value::Choice(kinds),
            ));
            lines.extend(errors(IntegrationField::Kind));
        } else {
            lines.push(field::line(
                t,
                "Code",
                6,
                false,
                Value::Fixed(self.code.value.clone(), "(never changes)"),
            ));
            lines.push(field::line(
                t,
                "Kind",
                6,
                false,
                Value::Fixed(self.kind.as_str().to_string(), "(never changes)"),
            ));
        }
        lines.push(Line::from(""));
        let about = match (self.is_create(), self.kind) {
            (false, _) => {
                "Flows, registrations and members' access stay as they are; only the name shown changes.".to_string()
            }
            (true, IntegrationKind::Standard) => {
                "A standard integration groups flows. Connections registered with it may be used by its flows and are seen by its members (R12, R18).".to_string()
            }
            (true, IntegrationKind::App) => {
                "An integration app is packaged: it owns its connections and takes no registration (R17).".to_string()
            }
        };
        lines.extend(
            wrap_words(&about, room)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.dim))),
        );
        let help = match self.focus {
            IntegrationField::Kind => "←/→ or Space choose",
            _ => "type to edit",
        };
        lines.push(Line::from(Span::styled(help, t.dim)));
        if self.submitting {
            lines.push(Line::from(Span::styled("saving…", t.dim)));
        } else {
            lines.extend(hint_lines(t, keymap, Context::Form, room));
        }
        dialog::render(t, &title, lines, width, area, buf);
    }
}

impl App {
    pub(crate) fn on_integration_form_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Command> {
        let Some(Modal::IntegrationForm(form)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match form.on_key(action, key) {
            IntegrationFormOutcome::Stay => Vec::new(),
            IntegrationFormOutcome::Cancel => {
                self.modals.pop();
                Vec::new()
            }
            IntegrationFormOutcome::Unchanged => {
                self.modals.pop();
                self.set_status(StatusKind::Info, "Nothing changed");
                Vec::new()
            }
            IntegrationFormOutcome::Save(call) => vec![Command::Admin(call)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn type_str(form: &mut IntegrationForm, s: &str) {
        for c in s.chars() {
            form.handle_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    fn save(form: &mut IntegrationForm) -> IntegrationFormOutcome {
        form.on_key(
            Some(Action::Save),
            &KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
        )
    }

    #[test]
    fn r29_the_code_fills_in_from_the_name_until_edited() {
        let mut f = IntegrationForm::create();
        type_str(&mut f, "Übersetzung Orders");
        assert_eq!(f.code.value, "ubersetzung_orders");
        f.move_focus(true);
        f.handle_key(&KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        f.move_focus(false);
        type_str(&mut f, " EU");
        assert_eq!(f.code.value, "ubersetzung_order", "an edited code stays");
        let IntegrationFormOutcome::Save(AdminCall::CreateIntegration(new)) = save(&mut f) else {
            panic!("a valid form saves");
        };
        assert_eq!(new.name, "Übersetzung Orders EU");
        assert_eq!(new.code.as_deref(), Some("ubersetzung_order"));
        assert_eq!(new.kind, IntegrationKind::Standard);
        assert!(f.submitting);
    }

    #[test]
    fn the_kind_is_chosen_and_bad_names_are_refused_beside_the_field() {
        let mut f = IntegrationForm::create();
        type_str(&mut f, "ab");
        assert!(matches!(save(&mut f), IntegrationFormOutcome::Stay));
        assert!(
            f.errors[&IntegrationField::Name].starts_with("name is too short"),
            "{:?}",
            f.errors
        );
        assert_eq!(f.focus, IntegrationField::Name);
        f.focus = IntegrationField::Kind;
        f.handle_key(&KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE));
        assert_eq!(f.kind, IntegrationKind::App);
        f.handle_key(&KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        assert_eq!(f.kind, IntegrationKind::Standard);
    }

    #[test]
    fn renaming_keeps_the_code_and_the_same_name_changes_nothing() {
        let i: Integration = serde_json::from_value(serde_json::json!({
            "code": "orders", "name": "Orders", "kind": "standard", "registered": [],
            "flows": 0, "version": 1,
            "created_at": "2026-11-26T10:00:00Z", "updated_at": "2026-11-26T10:00:00Z",
        }))
        .unwrap();
        let mut f = IntegrationForm::rename(&i);
        assert!(matches!(save(&mut f), IntegrationFormOutcome::Unchanged));
        type_str(&mut f, " EU");
        let IntegrationFormOutcome::Save(AdminCall::RenameIntegration { code, name }) =
            save(&mut f)
        else {
            panic!("a new name saves");
        };
        assert_eq!((code.as_str(), name.as_str()), ("orders", "Orders EU"));
        f.show_error(Some("code"), "no".into());
        assert_eq!(f.general_error.as_deref(), Some("no"), "no code field here");
    }
}
