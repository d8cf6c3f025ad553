//! Adding a user (username, member or admin, a password typed or left
//! empty to have one generated and shown once), or giving one a new
//! password, as `switchboard users add` and `set-password` do (R29). A
//! typed password is never drawn, and leaves the form for the request.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use secrecy::SecretString;

use crate::domain;
use crate::model::UserKind;
use crate::tui::admin::AdminCall;
use crate::tui::app::{App, Command, Hidden, Modal};
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;
use crate::tui::widgets::field::{self, TextInput, Value, hint_lines};
use crate::tui::widgets::text::wrap_words;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserField {
    Username,
    Kind,
    Password,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFormMode {
    /// Adding a user; only the owner may add admins.
    Add { may_add_admin: bool },
    /// A new password for `username` (`yourself`: the acting user).
    Password {
        username: String,
        kind: UserKind,
        yourself: bool,
    },
}

pub struct UserForm {
    pub mode: UserFormMode,
    pub username: TextInput,
    pub kind: UserKind,
    /// Empty: the server generates one, shown once.
    pub password: TextInput,
    pub focus: UserField,
    pub errors: BTreeMap<UserField, String>,
    pub general_error: Option<String>,
    pub submitting: bool,
}

/// What a key did.
pub enum UserFormOutcome {
    Stay,
    Cancel,
    Save(AdminCall),
}

impl UserForm {
    pub fn add(may_add_admin: bool) -> Self {
        UserForm {
            mode: UserFormMode::Add { may_add_admin },
            username: TextInput::default(),
            kind: UserKind::Member,
            password: TextInput::default(),
            focus: UserField::Username,
            errors: BTreeMap::new(),
            general_error: None,
            submitting: false,
        }
    }

    pub fn password(username: &str, kind: UserKind, yourself: bool) -> Self {
        UserForm {
            mode: UserFormMode::Password {
                username: username.to_string(),
                kind,
                yourself,
            },
            username: TextInput::new(username),
            kind,
            password: TextInput::default(),
            focus: UserField::Password,
            errors: BTreeMap::new(),
            general_error: None,
            submitting: false,
        }
    }

    fn fields(&self) -> &'static [UserField] {
        match self.mode {
            UserFormMode::Add {
                may_add_admin: true,
            } => &[UserField::Username, UserField::Kind, UserField::Password],
            UserFormMode::Add {
                may_add_admin: false,
            } => &[UserField::Username, UserField::Password],
            UserFormMode::Password { .. } => &[UserField::Password],
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

    fn handle_key(&mut self, key: &KeyEvent) {
        match self.focus {
            UserField::Username => {
                if self.username.handle_key(key).1 {
                    self.errors.remove(&UserField::Username);
                }
            }
            UserField::Password => {
                if self.password.handle_key(key).1 {
                    self.errors.remove(&UserField::Password);
                }
            }
            UserField::Kind => match key.code {
                KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') => {
                    self.kind = match self.kind {
                        UserKind::Member => UserKind::Admin,
                        _ => UserKind::Member,
                    };
                }
                // First letter picks: m(ember), a(dmin).
                KeyCode::Char('m' | 'M') => self.kind = UserKind::Member,
                KeyCode::Char('a' | 'A') => self.kind = UserKind::Admin,
                _ => {}
            },
        }
    }

    pub fn paste(&mut self, text: &str) {
        let text = text.replace(['\n', '\r'], "");
        match self.focus {
            UserField::Username => self.username.paste(&text),
            UserField::Password => self.password.paste(&text),
            UserField::Kind => {}
        }
    }

    /// Checks the fields as the server will; the call to make. The typed
    /// password leaves the form for it.
    fn call(&mut self) -> Option<AdminCall> {
        self.errors.clear();
        self.general_error = None;
        let username = self.username.value.trim().to_string();
        if matches!(self.mode, UserFormMode::Add { .. })
            && let Err(e) = domain::validate_username(&username)
        {
            self.errors.insert(UserField::Username, e.message);
        }
        if !self.password.value.is_empty()
            && let Err(e) = domain::validate_human_password(&self.password.value)
        {
            self.errors.insert(UserField::Password, e.message);
        }
        if let Some(first) = self.errors.keys().next() {
            self.focus = *first;
            return None;
        }
        let password = Some(std::mem::take(&mut self.password))
            .filter(|p| !p.value.is_empty())
            .map(|p| Hidden(SecretString::from(p.value)));
        Some(match &self.mode {
            UserFormMode::Add { .. } => AdminCall::CreateUser {
                username,
                kind: self.kind,
                password,
            },
            UserFormMode::Password { username, .. } => AdminCall::SetPassword {
                username: username.clone(),
                password,
            },
        })
    }

    /// Shows a refusal of the server beside its field, or above the form.
    pub fn show_error(&mut self, field: Option<&str>, message: String) {
        self.submitting = false;
        let field = match field {
            Some("username") => Some(UserField::Username),
            Some("kind") => Some(UserField::Kind),
            Some("password") => Some(UserField::Password),
            _ => None,
        };
        match field {
            Some(f) if self.fields().contains(&f) => {
                self.errors.insert(f, message);
                self.focus = f;
            }
            _ => self.general_error = Some(message),
        }
    }

    pub fn on_key(&mut self, action: Option<Action>, key: &KeyEvent) -> UserFormOutcome {
        if self.submitting {
            // One save at a time; only Esc leaves.
            return if action == Some(Action::Cancel) {
                UserFormOutcome::Cancel
            } else {
                UserFormOutcome::Stay
            };
        }
        match action {
            Some(Action::NextField) => self.move_focus(true),
            Some(Action::PrevField) => self.move_focus(false),
            Some(Action::Cancel) => return UserFormOutcome::Cancel,
            Some(Action::Save) => {
                if let Some(call) = self.call() {
                    self.submitting = true;
                    return UserFormOutcome::Save(call);
                }
            }
            _ => self.handle_key(key),
        }
        UserFormOutcome::Stay
    }

    pub fn render(&self, t: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let width = 84u16.min(area.width);
        let room = width.saturating_sub(4).max(8) as usize;
        let title = match &self.mode {
            UserFormMode::Add { .. } => "Add a user".to_string(),
            UserFormMode::Password { username, .. } => format!("New password for {username}"),
        };
        let mut lines: Vec<Line> = Vec::new();
        if let Some(e) = &self.general_error {
            lines.extend(field::error_lines(t, e, 0, room));
            lines.push(Line::from(""));
        }
        let errors = |f: UserField| -> Vec<Line<'static>> {
            self.errors
                .get(&f)
                .map(|e| field::error_lines(t, e, 12, room))
                .unwrap_or_default()
        };
        let focused = |f: UserField| self.focus == f;
        match &self.mode {
            UserFormMode::Add { may_add_admin } => {
                lines.push(field::line(
                    t,
                    "Username",
                    10,
                    focused(UserField::Username),
                    Value::Input(&self.username),
                ));
                lines.extend(errors(UserField::Username));
                if *may_add_admin {
                    let kinds = [UserKind::Member, UserKind::Admin]
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
                        10,
                        focused(UserField::Kind),
                        Value::Choice(kinds),
                    ));
                    lines.extend(errors(UserField::Kind));
                } else {
                    lines.push(field::line(
                        t,
                        "Kind",
                        10,
                        false,
                        Value::Fixed("member".into(), "(only the owner adds admins)"),
                    ));
                }
            }
            UserFormMode::Password { username, kind, .. } => {
                lines.push(field::line(
                    t,
                    "Username",
                    10,
                    false,
                    Value::Fixed(username.clone(), kind.as_str()),
                ));
            }
        }
        let mut password = field::line(
            t,
            "Password",
            10,
            focused(UserField::Password),
            Value::Masked(&self.password),
        );
        if self.password.value.is_empty() {
            password
                .spans
                .push(Span::styled("  empty: one is generated, shown once", t.dim));
        }
        lines.push(password);
        lines.extend(errors(UserField::Password));
        lines.push(Line::from(""));
        let about = match (&self.mode, self.kind) {
            (
                UserFormMode::Password {
                    yourself: true, ..
                },
                _,
            ) => {
                "This is you: your sessions end too, so a server asks you to log in again with the new password.".to_string()
            }
            (UserFormMode::Password { .. }, _) => {
                "Their sessions end at once; they log in again with the new password.".to_string()
            }
            (_, UserKind::Member) => {
                "A member sees nothing until given manage or monitor access to an integration (the users window's m and v keys, R18, R19).".to_string()
            }
            _ => "An admin sees and manages everything, users included.".to_string(),
        };
        lines.extend(
            wrap_words(&about, room)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.dim))),
        );
        let help = match self.focus {
            UserField::Kind => "←/→ or Space choose",
            UserField::Password => "typed passwords are never shown; at least 12 characters",
            UserField::Username => "letters, digits, '.', '_', '-' and '@'",
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
    pub(crate) fn on_user_form_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Command> {
        let Some(Modal::UserForm(form)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match form.on_key(action, key) {
            UserFormOutcome::Stay => Vec::new(),
            UserFormOutcome::Cancel => {
                self.modals.pop();
                Vec::new()
            }
            UserFormOutcome::Save(call) => vec![Command::Admin(call)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn type_str(form: &mut UserForm, s: &str) {
        for c in s.chars() {
            form.handle_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    fn save(form: &mut UserForm) -> UserFormOutcome {
        form.on_key(
            Some(Action::Save),
            &KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
        )
    }

    #[test]
    fn an_empty_password_asks_the_server_for_one() {
        let mut f = UserForm::add(true);
        type_str(&mut f, "mia");
        let UserFormOutcome::Save(AdminCall::CreateUser {
            username,
            kind,
            password,
        }) = save(&mut f)
        else {
            panic!("a valid form saves");
        };
        assert_eq!((username.as_str(), kind), ("mia", UserKind::Member));
        assert!(password.is_none());
    }

    #[test]
    fn a_typed_password_is_checked_and_leaves_the_form() {
        let mut f = UserForm::add(true);
        type_str(&mut f, "max");
        f.move_focus(true);
        assert_eq!(f.focus, UserField::Kind);
        f.handle_key(&KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE));
        assert_eq!(f.kind, UserKind::Admin);
        f.move_focus(true);
        type_str(&mut f, "short");
        assert!(matches!(save(&mut f), UserFormOutcome::Stay));
        assert!(f.errors[&UserField::Password].contains("at least 12"));
        type_str(&mut f, " but now long enough");
        let UserFormOutcome::Save(AdminCall::CreateUser { password, kind, .. }) = save(&mut f)
        else {
            panic!("a valid form saves");
        };
        assert_eq!(kind, UserKind::Admin);
        assert!(password.is_some());
        assert!(f.password.value.is_empty(), "the password left the form");
    }

    #[test]
    fn an_admin_adds_members_only_and_bad_usernames_are_refused() {
        let mut f = UserForm::add(false);
        assert_eq!(f.fields(), &[UserField::Username, UserField::Password]);
        type_str(&mut f, "a b");
        assert!(matches!(save(&mut f), UserFormOutcome::Stay));
        assert!(f.errors.contains_key(&UserField::Username));
        let mut p = UserForm::password("mia", UserKind::Member, false);
        let UserFormOutcome::Save(AdminCall::SetPassword { username, password }) = save(&mut p)
        else {
            panic!("a new password saves");
        };
        assert_eq!(username, "mia");
        assert!(password.is_none());
    }
}
