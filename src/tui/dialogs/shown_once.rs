//! The window that shows a credential once (R4): the password and secret of
//! a new connection, a regenerated password, or a regenerated secret; and
//! a user's generated password (R29). It offers to copy the value shown
//! once and all the credentials; closing it drops (and zeroizes) what it
//! held.

use crate::tui::app::App;
use crate::tui::app::Command;
use crate::tui::app::Modal;
use crate::tui::app::RevealPurpose;
use crate::tui::tabs::credentials;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use secrecy::{ExposeSecret, SecretString};

use crate::model::UserKind;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::view::field_line;

/// Why the window opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A new connection: its secret and password.
    Created,
    /// A regenerated password; how many tokens stopped working.
    NewPassword { revoked: u64 },
    /// A regenerated secret; how many tokens stopped working.
    NewSecret { revoked: u64 },
    /// A new user's generated password (R29).
    UserAdded { kind: UserKind },
    /// A user's new generated password; their sessions ended.
    UserPassword { kind: UserKind },
}

impl Shown {
    /// Whether it shows a user's password (not a connection's credentials).
    pub fn is_user(self) -> bool {
        matches!(self, Shown::UserAdded { .. } | Shown::UserPassword { .. })
    }
}

/// Credentials shown once.
pub struct ShownOnce {
    pub what: Shown,
    pub label: String,
    pub code: String,
    pub client_id: String,
    pub username: String,
    /// The secret, when it is at hand (a new connection, a new secret).
    pub secret: Option<SecretString>,
    /// The password, when it is at hand (a new connection, a new password).
    pub password: Option<SecretString>,
}

impl ShownOnce {
    /// A user's generated password, shown once (`label` is the username).
    pub fn user_password(what: Shown, username: &str, password: SecretString) -> ShownOnce {
        ShownOnce {
            what,
            label: username.to_string(),
            code: String::new(),
            client_id: String::new(),
            username: username.to_string(),
            secret: None,
            password: Some(password),
        }
    }

    /// The value `c` copies, and what to call it: the password, or the new
    /// secret when that is what the window is about.
    pub fn copied_by_copy(&self) -> Option<(&'static str, &SecretString)> {
        match self.what {
            Shown::NewSecret { .. } => self.secret.as_ref().map(|s| ("the new secret", s)),
            _ => self.password.as_ref().map(|p| ("the password", p)),
        }
    }

    pub fn render(&self, theme: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        if self.what.is_user() {
            self.render_user(theme, keymap, area, buf);
            return;
        }
        let t = theme;
        let mut lines = Vec::new();
        let heading = |lead: &'static str| {
            Line::from(vec![
                Span::raw(lead),
                Span::styled(self.label.clone(), t.title),
                Span::raw(format!(" ({})", self.code)),
            ])
        };
        let revoked_line = |revoked: u64, needs: &str| {
            let revoked = match revoked {
                0 => "No token was live".to_string(),
                1 => "1 token revoked".to_string(),
                n => format!("{n} tokens revoked"),
            };
            Line::from(Span::styled(
                format!("{revoked}; applications need the {needs}."),
                t.dim,
            ))
        };
        let title = match self.what {
            Shown::Created => {
                lines.push(heading("Created "));
                "New connection — credentials"
            }
            Shown::NewPassword { revoked } => {
                lines.push(heading("New password for "));
                lines.push(revoked_line(revoked, "new password"));
                "New password"
            }
            Shown::NewSecret { revoked } => {
                lines.push(heading("New secret for "));
                lines.push(revoked_line(revoked, "new secret; the client id stays"));
                "New secret"
            }
            Shown::UserAdded { .. } | Shown::UserPassword { .. } => "",
        };
        lines.push(Line::from(""));
        lines.push(field_line(
            t,
            "Client id",
            Span::raw(self.client_id.clone()),
        ));
        if let Some(secret) = &self.secret {
            let style = if matches!(self.what, Shown::NewSecret { .. }) {
                t.secret
            } else {
                ratatui::style::Style::new()
            };
            lines.push(field_line(
                t,
                "Secret",
                Span::styled(secret.expose_secret().to_string(), style),
            ));
        }
        lines.push(field_line(
            t,
            "API username",
            Span::raw(self.username.clone()),
        ));
        if let Some(password) = &self.password {
            lines.push(field_line(
                t,
                "Password",
                Span::styled(password.expose_secret().to_string(), t.secret),
            ));
        }
        lines.push(Line::from(""));
        let warning = match self.what {
            Shown::NewSecret { .. } => {
                "! Copy the new secret now. Later it is shown only on request, and each time is audited."
            }
            _ => "! The password is shown only this once. Copy it now: it cannot be shown again.",
        };
        lines.push(Line::from(Span::styled(warning, t.warning)));
        lines.push(Line::from(""));
        lines.push(self.hints(t, keymap));
        crate::tui::widgets::dialog::render(t, title, lines, 86, area, buf);
    }

    /// A user's password: who, the password, and that it is shown once.
    fn render_user(&self, t: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let (title, lead, kind, after) = match self.what {
            Shown::UserAdded { kind } => (
                "New user — password",
                "Added ",
                kind,
                "They log in with it (switchboard login URL) and may change it afterwards.",
            ),
            Shown::UserPassword { kind } => (
                "New password",
                "New password for ",
                kind,
                "Their sessions have ended: they log in again with this password.",
            ),
            _ => return,
        };
        let mut lines = vec![
            Line::from(vec![
                Span::raw(lead),
                Span::styled(self.label.clone(), t.title),
                Span::raw(format!(" ({})", kind.as_str())),
            ]),
            Line::from(Span::styled(after, t.dim)),
            Line::from(""),
            field_line(t, "Username", Span::raw(self.username.clone())),
        ];
        if let Some(password) = &self.password {
            lines.push(field_line(
                t,
                "Password",
                Span::styled(password.expose_secret().to_string(), t.secret),
            ));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "! The password is shown only this once. Copy it now and hand it over safely: it cannot be shown again.",
            t.warning,
        )));
        lines.push(Line::from(""));
        lines.push(self.hints(t, keymap));
        crate::tui::widgets::dialog::render(t, title, lines, 86, area, buf);
    }

    /// The window's keys; `c` names what it copies here.
    fn hints(&self, t: &Theme, keymap: &Keymap) -> Line<'static> {
        let mut spans = Vec::new();
        for (keys, hint, action) in keymap.action_hints(Context::Secret) {
            if self.what.is_user() && action == Action::CopyAll {
                // A user has nothing else to copy.
                continue;
            }
            let hint = match (action, self.what) {
                (Action::Copy, Shown::NewSecret { .. }) => "copy secret",
                _ => hint,
            };
            spans.push(Span::styled(keys, t.key));
            spans.push(Span::raw(format!(" {hint}   ")));
        }
        Line::from(spans)
    }
}

impl App {
    pub(crate) fn on_secret_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(Modal::ShownOnce(shown)) = self.modals.last() else {
            return Vec::new();
        };
        match action {
            Some(Action::Close) => {
                // Dropping the modal zeroizes the secrets it held.
                self.modals.pop();
                Vec::new()
            }
            Some(Action::Copy) => {
                let Some((what, text)) = shown.copied_by_copy() else {
                    return Vec::new();
                };
                let text = text.clone();
                let outcome = self.clipboard.copy_secret(&text);
                self.after_copy(outcome, what, Some(text))
            }
            Some(Action::CopyAll) if shown.what.is_user() => {
                let copy = self.keymap.first_key(Context::Secret, Action::Copy);
                self.set_status(
                    crate::tui::app::StatusKind::Info,
                    format!("Only the password to copy here: {copy} copies it"),
                );
                Vec::new()
            }
            Some(Action::CopyAll) => match &shown.secret {
                Some(secret) => {
                    let text = credentials::env_lines(
                        &shown.client_id,
                        secret,
                        &shown.username,
                        shown.password.as_ref(),
                        &self.client.token_url(),
                    );
                    let outcome = self.clipboard.copy_secret(&text);
                    self.after_copy(outcome, "all credentials", Some(text))
                }
                // After a regenerate the secret is not at hand: ask for it.
                None => vec![Command::RevealSecret {
                    code: shown.code.clone(),
                    purpose: RevealPurpose::CopyAllWithPassword,
                }],
            },
            _ => Vec::new(),
        }
    }
}
