//! The login dialog (server mode): username and password, sent as one
//! request; the password is never drawn, and leaves the form for the
//! request.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use secrecy::SecretString;

use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;
use crate::tui::widgets::field::{self, TextInput, Value, hint_lines};

/// The login form (server mode).
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub username: TextInput,
    pub password: TextInput,
    pub on_password: bool,
    pub error: Option<String>,
    pub submitting: bool,
}

impl LoginForm {
    pub fn new(username: &str) -> Self {
        LoginForm {
            username: TextInput::new(username),
            password: TextInput::default(),
            on_password: !username.is_empty(),
            error: None,
            submitting: false,
        }
    }

    /// Acts on a key: moves between the fields, edits them, or submits.
    pub fn on_key(&mut self, action: Option<Action>, key: &KeyEvent) -> LoginOutcome {
        if self.submitting {
            return LoginOutcome::Stay;
        }
        match action {
            Some(Action::NextField | Action::PrevField) => self.on_password = !self.on_password,
            Some(Action::Cancel) => return LoginOutcome::Cancel,
            Some(Action::Save) => {
                let username = self.username.value.trim().to_string();
                if username.is_empty() {
                    self.error = Some("username is required".to_string());
                    self.on_password = false;
                    return LoginOutcome::Stay;
                }
                if self.password.value.is_empty() {
                    self.error = Some("password is required".to_string());
                    self.on_password = true;
                    return LoginOutcome::Stay;
                }
                self.submitting = true;
                self.error = None;
                // The typed password leaves the form for the request.
                let password = std::mem::take(&mut self.password);
                return LoginOutcome::Submit {
                    username,
                    password: SecretString::from(password.value),
                };
            }
            _ => {
                let input = if self.on_password {
                    &mut self.password
                } else {
                    &mut self.username
                };
                input.handle_key(key);
            }
        }
        LoginOutcome::Stay
    }

    /// Draws the form, saying which `server` it logs in to.
    pub fn render(
        &self,
        theme: &Theme,
        keymap: &Keymap,
        server: String,
        area: Rect,
        buf: &mut Buffer,
    ) {
        let t = theme;
        let mut lines = vec![
            Line::from(vec![Span::raw("Log in to "), Span::styled(server, t.title)]),
            Line::from(""),
            field::line(
                t,
                "Username",
                10,
                !self.on_password,
                Value::Input(&self.username),
            ),
            // The password is never drawn, not even its length.
            field::line(
                t,
                "Password",
                10,
                self.on_password,
                Value::Masked(&self.password),
            ),
            Line::from(""),
        ];
        if let Some(e) = &self.error {
            lines.push(Line::from(Span::styled(format!("✗ {e}"), t.error)));
        }
        if self.submitting {
            lines.push(Line::from(Span::styled("logging in…", t.dim)));
        } else {
            lines.extend(hint_lines(t, keymap, Context::Form, 60));
        }
        dialog::render(t, "Log in", lines, 64, area, buf);
    }
}

/// What a key did.
pub enum LoginOutcome {
    Stay,
    Cancel,
    Submit {
        username: String,
        password: SecretString,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    use secrecy::ExposeSecret;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn both_fields_are_required_and_the_password_leaves_the_form_on_submit() {
        let none = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        let mut form = LoginForm::new("");
        assert!(matches!(
            form.on_key(Some(Action::Save), &none),
            LoginOutcome::Stay
        ));
        assert_eq!(form.error.as_deref(), Some("username is required"));
        for c in "alice".chars() {
            form.on_key(None, &key(c));
        }
        form.on_key(Some(Action::NextField), &none);
        assert!(matches!(
            form.on_key(Some(Action::Save), &none),
            LoginOutcome::Stay
        ));
        assert_eq!(form.error.as_deref(), Some("password is required"));
        for c in "pw".chars() {
            form.on_key(None, &key(c));
        }
        match form.on_key(Some(Action::Save), &none) {
            LoginOutcome::Submit { username, password } => {
                assert_eq!(username, "alice");
                assert_eq!(password.expose_secret(), "pw");
            }
            _ => panic!("submits"),
        }
        assert!(
            form.password.value.is_empty(),
            "the form no longer holds it"
        );
        // While it is being sent, keys do nothing.
        assert!(matches!(
            form.on_key(Some(Action::Cancel), &none),
            LoginOutcome::Stay
        ));
    }
}
