//! The users window (R29): every user with their kind and whether they can
//! log in, and the members' access to one integration (manage, monitor or
//! none, R19), changed by keys; users are added, given a new password and
//! removed here, as `switchboard users` does. For the owner and admins
//! only: a member pressing its keys is told why, before any request.
//!
//! `←`/`→` pick the integration whose access is shown. Levels are read from
//! the server when the window loads (`GET …/integrations/{code}/access`);
//! one it could not read shows as "—" until set here.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph, Widget};

use crate::domain::access;
use crate::model::{AccessLevel, User, UserKind};
use crate::tui::admin::{AdminCall, AdminThen};
use crate::tui::app::{App, Command, Modal, StatusKind, Then};
use crate::tui::dialogs::confirm::Confirm;
use crate::tui::dialogs::help::Help;
use crate::tui::dialogs::user_form::UserForm;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::view::Screen;
use crate::tui::widgets::text::{ellipsize, wrap_words};

/// The users window's state.
#[derive(Debug, Clone, Default)]
pub struct UsersDialog {
    /// The integration whose members' access is shown, by code.
    pub integration: Option<String>,
    /// The users, once loaded; why not otherwise.
    pub users: Option<Result<Vec<User>, String>>,
    /// Index into `users`.
    pub selected: usize,
    /// After the next load, select this user (one just added).
    pub select_after_load: Option<String>,
    /// The user whose change (access, removal) is on its way.
    pub busy: Option<String>,
}

impl UsersDialog {
    pub fn new(integration: Option<String>) -> Self {
        UsersDialog {
            integration,
            ..Default::default()
        }
    }

    pub fn loaded(&mut self, users: Result<Vec<User>, String>) {
        let keep = self
            .select_after_load
            .take()
            .or_else(|| self.selected_user().map(|u| u.username.clone()));
        self.users = Some(users);
        let list = self.list();
        self.selected = keep
            .and_then(|name| list.iter().position(|u| u.username == name))
            .unwrap_or(self.selected)
            .min(list.len().saturating_sub(1));
    }

    fn list(&self) -> &[User] {
        match &self.users {
            Some(Ok(users)) => users,
            _ => &[],
        }
    }

    pub fn selected_user(&self) -> Option<&User> {
        self.list().get(self.selected)
    }

    fn move_by(&mut self, delta: isize) {
        let n = self.list().len() as isize;
        if n > 0 {
            self.selected = (self.selected as isize)
                .saturating_add(delta)
                .clamp(0, n - 1) as usize;
        }
    }
}

/// What the access column says for a user of `kind` with `level` (`None`
/// inside: no access; outside: not known here).
fn access_text(kind: UserKind, level: Option<Option<AccessLevel>>) -> (&'static str, bool) {
    match (kind, level) {
        (UserKind::Owner, _) => ("everything (owner)", false),
        (UserKind::Admin, _) => ("everything (admin)", false),
        (_, Some(Some(AccessLevel::Manage))) => ("manage", true),
        (_, Some(Some(AccessLevel::Monitor))) => ("monitor (read-only)", true),
        (_, Some(None)) => ("none", true),
        (_, None) => ("—", false),
    }
}

impl App {
    /// The users window, wherever it is in the stack.
    pub(crate) fn users_dialog_mut(&mut self) -> Option<&mut UsersDialog> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Users(d) => Some(d.as_mut()),
            _ => None,
        })
    }

    /// Why this user may not manage users or access, if so (R29).
    pub fn users_refusal(&self, what: &str) -> Option<String> {
        if self.is_admin() {
            return None;
        }
        Some(format!(
            "Only the owner or an admin may {what} (R29); you are a member"
        ))
    }

    /// Opens the users window on `integration`'s access (or none): for the
    /// owner and admins; a member is told why not.
    pub(crate) fn open_users(&mut self, integration: Option<String>, what: &str) -> Vec<Command> {
        if let Some(why) = self.users_refusal(what) {
            self.set_status(StatusKind::Error, why);
            return Vec::new();
        }
        let integration = integration.or_else(|| {
            self.selected_integration()
                .or_else(|| self.data.integrations.first())
                .map(|i| i.code.clone())
        });
        self.modals
            .push(Modal::Users(Box::new(UsersDialog::new(integration))));
        vec![Command::Admin(AdminCall::LoadUsers)]
    }

    pub(crate) fn on_users_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        let me = self.data.me.clone();
        let integrations: Vec<(String, String)> = self
            .data
            .integrations
            .iter()
            .map(|i| (i.code.clone(), i.name.clone()))
            .collect();
        let Some(Modal::Users(dialog)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match action {
            Action::Close => {
                self.modals.pop();
                Vec::new()
            }
            Action::Help => {
                self.modals.push(Modal::Help(Help::default()));
                Vec::new()
            }
            Action::Refresh => vec![Command::Admin(AdminCall::LoadUsers)],
            Action::Up => {
                dialog.move_by(-1);
                Vec::new()
            }
            Action::Down => {
                dialog.move_by(1);
                Vec::new()
            }
            Action::First => {
                dialog.move_by(isize::MIN / 2);
                Vec::new()
            }
            Action::Last => {
                dialog.move_by(isize::MAX / 2);
                Vec::new()
            }
            Action::PrevChoice | Action::NextChoice => {
                let n = integrations.len();
                if n == 0 {
                    let new = self
                        .keymap
                        .first_key(Context::Register, Action::NewIntegration);
                    self.set_status(
                        StatusKind::Info,
                        format!("No integration yet: {new} in the Register tab creates one"),
                    );
                    return Vec::new();
                }
                let at = dialog
                    .integration
                    .as_ref()
                    .and_then(|code| integrations.iter().position(|(c, _)| c == code));
                let next = match (at, action == Action::NextChoice) {
                    (None, _) => 0,
                    (Some(i), true) => (i + 1) % n,
                    (Some(i), false) => (i + n - 1) % n,
                };
                dialog.integration = Some(integrations[next].0.clone());
                Vec::new()
            }
            Action::GrantManage | Action::GrantMonitor | Action::RevokeAccess => {
                let level = match action {
                    Action::GrantManage => Some(AccessLevel::Manage),
                    Action::GrantMonitor => Some(AccessLevel::Monitor),
                    _ => None,
                };
                let Some(user) = dialog.selected_user().cloned() else {
                    self.set_status(StatusKind::Info, "No user selected");
                    return Vec::new();
                };
                let Some(integration) = dialog.integration.clone() else {
                    let new = self
                        .keymap
                        .first_key(Context::Register, Action::NewIntegration);
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "No integration to give access to: {new} in the Register tab creates one"
                        ),
                    );
                    return Vec::new();
                };
                if dialog.busy.is_some() {
                    self.set_status(StatusKind::Info, "Still saving the last change…");
                    return Vec::new();
                }
                if !takes_grants(user.kind) {
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "{} is {}: they see and manage every integration already",
                            user.username,
                            match user.kind {
                                UserKind::Owner => "the owner",
                                _ => "an admin",
                            }
                        ),
                    );
                    return Vec::new();
                }
                dialog.busy = Some(user.username.clone());
                let name = integrations
                    .iter()
                    .find(|(c, _)| *c == integration)
                    .map_or_else(|| integration.clone(), |(_, n)| n.clone());
                self.set_status(
                    StatusKind::Info,
                    format!("Changing the access of {} to {name}…", user.username),
                );
                vec![Command::Admin(AdminCall::SetAccess {
                    integration,
                    username: user.username,
                    level,
                })]
            }
            Action::New => {
                let owner = me.as_ref().is_some_and(|m| m.kind == UserKind::Owner);
                self.modals
                    .push(Modal::UserForm(Box::new(UserForm::add(owner))));
                Vec::new()
            }
            Action::RegeneratePassword => {
                let Some(user) = dialog.selected_user().cloned() else {
                    self.set_status(StatusKind::Info, "No user selected");
                    return Vec::new();
                };
                // As the service decides: anyone their own; admins a
                // member's; the owner anyone's.
                let mine = me.as_ref().is_some_and(|m| m.username == user.username);
                let allowed = mine
                    || match me.as_ref().map(|m| m.kind) {
                        Some(UserKind::Owner) => true,
                        Some(UserKind::Admin) => user.kind == UserKind::Member,
                        _ => false,
                    };
                if !allowed {
                    self.set_status(
                        StatusKind::Error,
                        format!(
                            "Only the owner may set the password of {} ({})",
                            user.username,
                            user.kind.as_str()
                        ),
                    );
                    return Vec::new();
                }
                self.modals
                    .push(Modal::UserForm(Box::new(UserForm::password(
                        &user.username,
                        user.kind,
                        mine,
                    ))));
                Vec::new()
            }
            Action::Delete => {
                let Some(user) = dialog.selected_user().cloned() else {
                    self.set_status(StatusKind::Info, "No user selected");
                    return Vec::new();
                };
                let refusal = match user.kind {
                    UserKind::Owner => Some(format!(
                        "{} is the owner: the owner cannot be removed",
                        user.username
                    )),
                    UserKind::Admin if me.as_ref().map(|m| m.kind) != Some(UserKind::Owner) => {
                        Some(format!(
                            "Only the owner may remove an admin ({})",
                            user.username
                        ))
                    }
                    _ => None,
                };
                if let Some(why) = refusal {
                    self.set_status(StatusKind::Error, why);
                    return Vec::new();
                }
                let confirm = confirm_remove(&self.theme, &user);
                self.modals.push(Modal::Confirm(Box::new(confirm)));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// Asks before removing a user, naming them and what ends.
fn confirm_remove(t: &Theme, user: &User) -> Confirm<Then> {
    let what = match user.kind {
        UserKind::Admin => "an admin",
        _ => "a member",
    };
    Confirm::new(
        "Remove user",
        70,
        Then::Admin(AdminThen::RemoveUser {
            username: user.username.clone(),
        }),
    )
    .para(
        format!("Remove {} ({what})?", user.username),
        t.title,
    )
    .para(
        "Their sessions end at once and their access to integrations goes with them. What they changed stays, and so does the audit trail of it.",
        Style::new(),
    )
    .answers("remove", "keep them")
    .declined(format!("{} stays", user.username))
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// The users window, centred in `area`.
pub fn render(app: &App, dialog: &UsersDialog, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let keymap = &app.keymap;
    let width = 100u16.min(area.width);
    let room = width.saturating_sub(4).max(8) as usize;
    let integration = dialog
        .integration
        .as_ref()
        .map(|code| (code.clone(), app.integration_name(code)));
    let mut head: Vec<Line> = Vec::new();
    match &integration {
        Some((code, name)) => {
            let keys = format!(
                "{}{}",
                keymap.first_key(Context::Users, Action::PrevChoice),
                keymap.first_key(Context::Users, Action::NextChoice)
            );
            let which = format!("◀ {name} ({code}) ▶");
            let hint = format!("  {keys} another integration");
            let mut spans = vec![
                Span::styled("Access to  ", t.label),
                Span::styled(which.clone(), t.title),
            ];
            // The hint goes first when the line is too long.
            if 11 + which.chars().count() + hint.chars().count() <= room {
                spans.push(Span::styled(hint, t.dim));
            }
            head.push(Line::from(spans));
        }
        None => {
            let new = keymap.first_key(Context::Register, Action::NewIntegration);
            head.push(Line::from(Span::styled(
                format!("No integration yet: {new} in the Register tab creates one, then its members' access is set here."),
                t.dim,
            )));
        }
    }
    head.push(Line::from(""));

    // Columns: what fits, the access column last and always.
    let access_title = integration
        .as_ref()
        .map_or_else(|| "Access".to_string(), |(_, n)| format!("Access to {n}"));
    let show_login = room >= 64;
    let show_since = room >= 80;
    let name_width = if room >= 72 { 20 } else { 14 };
    let header = {
        let mut s = format!("  {:<name_width$} {:<7} ", "User", "Kind");
        if show_login {
            s.push_str(&format!("{:<16} ", "Login"));
        }
        if show_since {
            s.push_str(&format!("{:<11} ", "Since"));
        }
        s.push_str(&access_title);
        Line::from(Span::styled(ellipsize(&s, room), t.table_header))
    };

    let mut foot: Vec<Line> = Vec::new();
    foot.push(Line::from(""));
    let mut notes = Vec::new();
    let unknown = dialog.list().iter().any(|u| {
        u.kind == UserKind::Member
            && integration.as_ref().is_some_and(|(code, _)| {
                !app.data
                    .grants
                    .contains_key(&(code.clone(), u.username.clone()))
            })
    });
    if unknown {
        notes.push(format!(
            "— : could not be read from the server; {}, {} or {} sets it.",
            keymap.first_key(Context::Users, Action::GrantManage),
            keymap.first_key(Context::Users, Action::GrantMonitor),
            keymap.first_key(Context::Users, Action::RevokeAccess),
        ));
    }
    notes.push(
        "Access applies from the member's next request. The owner and admins see and manage everything."
            .to_string(),
    );
    for note in notes {
        foot.extend(
            wrap_words(&note, room)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.dim))),
        );
    }
    foot.push(Line::from(""));
    foot.extend(hint_lines(app, room));

    // The rows get what the rest leaves.
    let frame = 2u16;
    let fixed = (head.len() + 1 + foot.len()) as u16 + frame;
    let users = dialog.list();
    let wanted_rows = match &dialog.users {
        Some(Ok(u)) => u.len().max(1) as u16,
        _ => 1,
    };
    let height = (fixed + wanted_rows).min(area.height);
    let rows_room = height.saturating_sub(fixed) as usize;
    let rect = crate::tui::view::centered(area, width, height);

    let mut body: Vec<Line> = Vec::new();
    match &dialog.users {
        None => body.push(Line::from(Span::styled("Loading users…", t.dim))),
        Some(Err(e)) => body.push(Line::from(Span::styled(format!("✗ {e}"), t.error))),
        Some(Ok(_)) if users.is_empty() => body.push(Line::from(Span::styled("No users", t.dim))),
        Some(Ok(_)) => {
            screen.users_offset = crate::tui::widgets::scroll::fit_offset(
                screen.users_offset,
                dialog.selected,
                users.len(),
                rows_room.max(1),
            );
            let end = (screen.users_offset + rows_room).min(users.len());
            for (i, u) in users.iter().enumerate().take(end).skip(screen.users_offset) {
                let selected = i == dialog.selected;
                let level = integration.as_ref().and_then(|(code, _)| {
                    app.data
                        .grants
                        .get(&(code.clone(), u.username.clone()))
                        .copied()
                });
                let (access, known) = if dialog.busy.as_deref() == Some(u.username.as_str()) {
                    ("saving…", false)
                } else if integration.is_none() {
                    match u.kind {
                        UserKind::Member => ("per integration", false),
                        k => access_text(k, None),
                    }
                } else {
                    access_text(u.kind, level)
                };
                let mine = app
                    .data
                    .me
                    .as_ref()
                    .is_some_and(|m| m.username == u.username);
                let name = if mine {
                    // The name gives way, "(you)" stays.
                    format!(
                        "{} (you)",
                        ellipsize(&u.username, name_width.saturating_sub(6))
                    )
                } else {
                    ellipsize(&u.username, name_width)
                };
                let mut text = format!(
                    "{}{name:<name_width$} {:<7} ",
                    if selected { "▶ " } else { "  " },
                    u.kind.as_str()
                );
                if show_login {
                    let login = if u.can_log_in {
                        "password set"
                    } else {
                        "no password yet"
                    };
                    text.push_str(&format!("{login:<16} "));
                }
                if show_since {
                    text.push_str(&format!("{:<11} ", u.created_at.format("%Y-%m-%d")));
                }
                let lead = ellipsize(&text, room);
                let left = room.saturating_sub(lead.chars().count());
                let access_style = if selected {
                    Style::new()
                } else if known {
                    t.title
                } else {
                    t.dim
                };
                let access = ellipsize(access, left);
                // The selection bar runs the whole row.
                let pad = " ".repeat(left.saturating_sub(access.chars().count()));
                let line = Line::from(vec![
                    Span::raw(lead),
                    Span::styled(access, access_style),
                    Span::raw(pad),
                ]);
                body.push(if selected {
                    line.style(t.selected)
                } else {
                    line
                });
            }
        }
    }

    let title = match &dialog.users {
        Some(Ok(u)) => format!(" Users · {} ", u.len()),
        _ => " Users ".to_string(),
    };
    let mut lines = head;
    lines.push(header);
    lines.extend(body);
    lines.extend(foot);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .padding(Padding::horizontal(1))
                .title(Span::styled(title, t.title)),
        )
        .render(rect, buf);
}

/// The window's keys, wrapped to `room` columns; the access keys only
/// when there is an integration to give access to.
fn hint_lines(app: &App, room: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let keymap: &Keymap = &app.keymap;
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (keys, hint, _) in keymap.action_hints(Context::Users) {
        let w = keys.chars().count() + hint.chars().count() + 3;
        if used > 0 && used + w > room {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        spans.push(Span::styled(keys, t.key));
        spans.push(Span::raw(format!(" {hint}  ")));
        used += w;
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

/// Whether a user's access can be changed (members only, R19).
pub fn takes_grants(kind: UserKind) -> bool {
    !access::is_admin(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, kind: UserKind) -> User {
        serde_json::from_value(serde_json::json!({
            "username": name, "kind": kind.as_str(), "can_log_in": true, "version": 1,
            "created_at": "2026-11-26T10:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn the_selection_follows_a_user_across_loads() {
        let mut d = UsersDialog::new(Some("orders".into()));
        d.loaded(Ok(vec![
            user("alice", UserKind::Owner),
            user("mia", UserKind::Member),
        ]));
        d.move_by(1);
        assert_eq!(d.selected_user().unwrap().username, "mia");
        d.loaded(Ok(vec![
            user("alice", UserKind::Owner),
            user("ben", UserKind::Member),
            user("mia", UserKind::Member),
        ]));
        assert_eq!(d.selected_user().unwrap().username, "mia");
        d.select_after_load = Some("ben".into());
        d.loaded(Ok(vec![
            user("alice", UserKind::Owner),
            user("ben", UserKind::Member),
        ]));
        assert_eq!(d.selected_user().unwrap().username, "ben");
        d.move_by(isize::MAX / 2);
        assert_eq!(d.selected, 1);
    }

    #[test]
    fn r19_owners_and_admins_take_no_grants_and_unknown_levels_say_so() {
        assert!(takes_grants(UserKind::Member));
        assert!(!takes_grants(UserKind::Admin));
        assert_eq!(access_text(UserKind::Admin, None).0, "everything (admin)");
        assert_eq!(access_text(UserKind::Member, None), ("—", false));
        assert_eq!(access_text(UserKind::Member, Some(None)), ("none", true));
        assert_eq!(
            access_text(UserKind::Member, Some(Some(AccessLevel::Monitor))).0,
            "monitor (read-only)"
        );
    }
}
