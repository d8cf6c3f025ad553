//! Integrations, users and access from the console (R29): the calls the
//! Register tab and the users dialog make, and what their answers do. The
//! keys that start them live with the Register tab
//! (`tabs/register/integrations.rs`) and the dialogs (`dialogs/users.rs`,
//! `dialogs/user_form.rs`, `dialogs/integration_form.rs`).

use secrecy::{ExposeSecret, SecretString};

use super::app::{App, Command, Hidden, Modal, StatusKind};
use super::dialogs::shown_once::{Shown, ShownOnce};
use super::keymap::{Action, Context};
use super::tabs::register::RegFocus;
use crate::client::{Client, ClientError};
use crate::model::{
    AccessLevel, Integration, MemberAccess, NewIntegration, NewUser, PasswordChange, User, UserKind,
};

/// A call about integrations, users or access.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminCall {
    CreateIntegration(NewIntegration),
    RenameIntegration {
        code: String,
        name: String,
    },
    DeleteIntegration {
        code: String,
        name: String,
    },
    LoadUsers,
    /// Without a password, the server generates one (shown once).
    CreateUser {
        username: String,
        kind: UserKind,
        password: Option<Hidden>,
    },
    /// Without a password, the server generates one (shown once).
    SetPassword {
        username: String,
        password: Option<Hidden>,
    },
    RemoveUser {
        username: String,
    },
    /// A member's access to an integration; `None` takes it away (R19).
    SetAccess {
        integration: String,
        username: String,
        level: Option<AccessLevel>,
    },
}

/// A user and the password the server generated for them, if it did: it
/// moves into a `SecretString` as soon as it arrives.
pub type UserAndPassword = (User, Option<SecretString>);

/// The answer to an [`AdminCall`].
#[derive(Debug)]
pub enum AdminAnswer {
    IntegrationCreated(Result<Integration, ClientError>),
    IntegrationRenamed(String, Result<Integration, ClientError>),
    IntegrationDeleted {
        code: String,
        name: String,
        result: Result<(), ClientError>,
    },
    /// The users, and each integration's members' access as the server
    /// has it (integrations whose access could not be read are left out).
    UsersLoaded(
        Result<Vec<User>, ClientError>,
        Vec<(String, Vec<MemberAccess>)>,
    ),
    UserCreated(Result<UserAndPassword, ClientError>),
    PasswordSet(String, Result<UserAndPassword, ClientError>),
    UserRemoved(String, Result<(), ClientError>),
    AccessSet {
        integration: String,
        username: String,
        level: Option<AccessLevel>,
        result: Result<(), ClientError>,
    },
}

/// What a confirmation about integrations or users does on yes.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminThen {
    DeleteIntegration {
        code: String,
        name: String,
    },
    /// Focus the flows of the selected integration (why it cannot go).
    ShowFlows,
    RemoveUser {
        username: String,
    },
}

fn with_password(
    r: Result<crate::model::UserWithPassword, ClientError>,
) -> Result<UserAndPassword, ClientError> {
    r.map(|done| {
        let password = done.generated_password.map(SecretString::from);
        (done.user, password)
    })
}

/// Runs one call against the backend.
pub async fn execute(client: &Client, call: AdminCall) -> AdminAnswer {
    let expose = |p: Option<Hidden>| p.map(|p| p.0.expose_secret().to_string());
    match call {
        AdminCall::CreateIntegration(new) => {
            AdminAnswer::IntegrationCreated(client.create_integration(&new).await)
        }
        AdminCall::RenameIntegration { code, name } => {
            let r = client.rename_integration(&code, &name).await;
            AdminAnswer::IntegrationRenamed(code, r)
        }
        AdminCall::DeleteIntegration { code, name } => {
            let result = client.delete_integration(&code).await;
            AdminAnswer::IntegrationDeleted { code, name, result }
        }
        AdminCall::LoadUsers => {
            let users = client.list_users().await;
            let mut access = Vec::new();
            if users.is_ok()
                && let Ok(integrations) = client.list_integrations().await
            {
                for i in integrations {
                    if let Ok(members) = client.list_access(&i.code).await {
                        access.push((i.code, members));
                    }
                }
            }
            AdminAnswer::UsersLoaded(users, access)
        }
        AdminCall::CreateUser {
            username,
            kind,
            password,
        } => {
            let new = NewUser {
                username,
                kind,
                password: expose(password),
            };
            AdminAnswer::UserCreated(with_password(client.create_user(&new).await))
        }
        AdminCall::SetPassword { username, password } => {
            let change = PasswordChange {
                password: expose(password),
            };
            let r = with_password(client.set_password(&username, &change).await);
            AdminAnswer::PasswordSet(username, r)
        }
        AdminCall::RemoveUser { username } => {
            let r = client.remove_user(&username).await;
            AdminAnswer::UserRemoved(username, r)
        }
        AdminCall::SetAccess {
            integration,
            username,
            level,
        } => {
            let result = client.set_access(&integration, &username, level).await;
            AdminAnswer::AccessSet {
                integration,
                username,
                level,
                result,
            }
        }
    }
}

/// "mia now manages Orders", "mia now monitors Orders (read-only)", "mia
/// no longer has access to Orders".
pub fn access_sentence(username: &str, level: Option<AccessLevel>, integration: &str) -> String {
    match level {
        Some(AccessLevel::Manage) => format!("{username} now manages {integration}"),
        Some(AccessLevel::Monitor) => {
            format!("{username} now monitors {integration} (read-only)")
        }
        None => format!("{username} no longer has access to {integration}"),
    }
}

impl App {
    /// The name of an integration, or its code when it is not loaded.
    pub(crate) fn integration_name(&self, code: &str) -> String {
        self.data
            .integrations
            .iter()
            .find(|i| i.code == code)
            .map_or_else(|| code.to_string(), |i| i.name.clone())
    }

    pub(crate) fn on_admin_answer(&mut self, answer: AdminAnswer) -> Vec<Command> {
        match answer {
            AdminAnswer::IntegrationCreated(r) => self.on_integration_saved(None, r),
            AdminAnswer::IntegrationRenamed(code, r) => self.on_integration_saved(Some(code), r),
            AdminAnswer::IntegrationDeleted { code, name, result } => match result {
                Ok(()) => {
                    self.register.pending.remove(&code);
                    self.data.grants.retain(|(i, _), _| *i != code);
                    self.set_status(
                        StatusKind::Success,
                        format!("Deleted integration {name} ({code}); its connections stay"),
                    );
                    vec![Command::Load]
                }
                Err(e) => {
                    // The server says why (it still holds flows, most
                    // likely, made meanwhile): show what is true now.
                    self.set_status(
                        StatusKind::Error,
                        format!("Could not delete integration {name}: {e}"),
                    );
                    let mut commands = self.backend_error(&e);
                    if matches!(e.status(), Some(404 | 409)) {
                        commands.push(Command::Load);
                    }
                    commands
                }
            },
            AdminAnswer::UsersLoaded(r, access) => {
                let commands = match &r {
                    Err(e) => self.backend_error(e),
                    Ok(_) => Vec::new(),
                };
                // What the server has: every member's level on each
                // integration read, "none" included.
                if let Ok(users) = &r {
                    for (code, members) in access {
                        for u in users.iter().filter(|u| u.kind == UserKind::Member) {
                            let level = members
                                .iter()
                                .find(|m| m.username == u.username)
                                .map(|m| m.level);
                            self.data
                                .grants
                                .insert((code.clone(), u.username.clone()), level);
                        }
                    }
                }
                if let Some(dialog) = self.users_dialog_mut() {
                    dialog.loaded(r.map_err(|e| e.to_string()));
                }
                commands
            }
            AdminAnswer::UserCreated(r) => match r {
                Ok((user, password)) => {
                    if matches!(self.modals.last(), Some(Modal::UserForm(_))) {
                        self.modals.pop();
                    }
                    if let Some(dialog) = self.users_dialog_mut() {
                        dialog.select_after_load = Some(user.username.clone());
                    }
                    let kind = user.kind;
                    if kind == UserKind::Member {
                        // A new member has no access anywhere yet.
                        for i in &self.data.integrations {
                            self.data
                                .grants
                                .insert((i.code.clone(), user.username.clone()), None);
                        }
                    }
                    let what = match kind {
                        UserKind::Admin => "an admin: they see and manage everything",
                        _ => "a member: they see nothing until given access to an integration",
                    };
                    let grant = if kind == UserKind::Member {
                        let manage = self.keymap.first_key(Context::Users, Action::GrantManage);
                        let monitor = self.keymap.first_key(Context::Users, Action::GrantMonitor);
                        format!(" ({manage} or {monitor} gives it)")
                    } else {
                        String::new()
                    };
                    let typed = if password.is_none() {
                        " with the password you typed"
                    } else {
                        ""
                    };
                    self.set_status(
                        StatusKind::Success,
                        format!("Added {}{typed}, {what}{grant}", user.username),
                    );
                    if let Some(password) = password {
                        self.modals
                            .push(Modal::ShownOnce(Box::new(ShownOnce::user_password(
                                Shown::UserAdded { kind },
                                &user.username,
                                password,
                            ))));
                    }
                    vec![Command::Admin(AdminCall::LoadUsers)]
                }
                Err(e) => self.user_form_error(e, "add the user"),
            },
            AdminAnswer::PasswordSet(username, r) => match r {
                Ok((user, password)) => {
                    if matches!(self.modals.last(), Some(Modal::UserForm(_))) {
                        self.modals.pop();
                    }
                    let typed = if password.is_none() {
                        " to the one you typed"
                    } else {
                        ""
                    };
                    self.set_status(
                        StatusKind::Success,
                        format!("Set the password of {username}{typed}; their sessions have ended"),
                    );
                    if let Some(password) = password {
                        self.modals
                            .push(Modal::ShownOnce(Box::new(ShownOnce::user_password(
                                Shown::UserPassword { kind: user.kind },
                                &user.username,
                                password,
                            ))));
                    }
                    vec![Command::Admin(AdminCall::LoadUsers)]
                }
                Err(e) => self.user_form_error(e, "set the password"),
            },
            AdminAnswer::UserRemoved(username, r) => {
                if let Some(dialog) = self.users_dialog_mut() {
                    dialog.busy = None;
                }
                match r {
                    Ok(()) => {
                        self.data.grants.retain(|(_, u), _| *u != username);
                        self.set_status(
                            StatusKind::Success,
                            format!(
                                "Removed {username}; their sessions and their access have ended"
                            ),
                        );
                        vec![Command::Admin(AdminCall::LoadUsers)]
                    }
                    Err(e) => {
                        self.set_status(
                            StatusKind::Error,
                            format!("Could not remove {username}: {e}"),
                        );
                        let mut commands = self.backend_error(&e);
                        if e.status() == Some(404) {
                            commands.push(Command::Admin(AdminCall::LoadUsers));
                        }
                        commands
                    }
                }
            }
            AdminAnswer::AccessSet {
                integration,
                username,
                level,
                result,
            } => {
                if let Some(dialog) = self.users_dialog_mut() {
                    dialog.busy = None;
                }
                let name = self.integration_name(&integration);
                match result {
                    Ok(()) => {
                        self.data
                            .grants
                            .insert((integration, username.clone()), level);
                        self.set_status(
                            StatusKind::Success,
                            format!(
                                "{}; it applies from their next request",
                                access_sentence(&username, level, &name)
                            ),
                        );
                        Vec::new()
                    }
                    Err(e) => {
                        self.set_status(
                            StatusKind::Error,
                            format!("Could not change the access of {username} to {name}: {e}"),
                        );
                        let mut commands = self.backend_error(&e);
                        if e.status() == Some(404) {
                            // A user or an integration is gone: show what is.
                            commands.extend([Command::Admin(AdminCall::LoadUsers), Command::Load]);
                        }
                        commands
                    }
                }
            }
        }
    }

    /// A refused add or password change: beside its field in the form
    /// when it is still open, else on the status line.
    fn user_form_error(&mut self, e: ClientError, doing: &str) -> Vec<Command> {
        match self.modals.last_mut() {
            Some(Modal::UserForm(form)) => {
                form.show_error(e.field(), e.to_string());
                self.set_status(StatusKind::Error, format!("Could not {doing}"));
            }
            _ => self.set_status(StatusKind::Error, format!("Could not {doing}: {e}")),
        }
        self.backend_error(&e)
    }

    /// The answer to a create (`renamed`: `None`) or a rename.
    fn on_integration_saved(
        &mut self,
        renamed: Option<String>,
        r: Result<Integration, ClientError>,
    ) -> Vec<Command> {
        match r {
            Ok(i) => {
                if matches!(self.modals.last(), Some(Modal::IntegrationForm(_))) {
                    self.modals.pop();
                }
                let text = match &renamed {
                    Some(_) => format!("Renamed the integration to {} ({})", i.name, i.code),
                    None => {
                        let toggle = self.keymap.first_key(Context::Register, Action::Toggle);
                        let access = self.keymap.first_key(Context::Register, Action::Access);
                        format!(
                            "Created integration {} ({}): {toggle} marks connections to register with it, {access} gives members access",
                            i.name, i.code
                        )
                    }
                };
                self.set_status(StatusKind::Success, text);
                // Shown and selected at once; the reload that follows
                // keeps the selection on it.
                match self.data.integrations.iter().position(|x| x.code == i.code) {
                    Some(at) => {
                        self.data.integrations[at].name = i.name.clone();
                        self.register.selected = at;
                    }
                    None => {
                        self.data.integrations.push(i);
                        self.register.selected = self.data.integrations.len() - 1;
                    }
                }
                self.data.integrations_loaded = true;
                if renamed.is_none() {
                    self.register.focus = RegFocus::Integrations;
                }
                vec![Command::Load]
            }
            Err(e) => {
                let doing = if renamed.is_some() {
                    "rename the integration"
                } else {
                    "create the integration"
                };
                match self.modals.last_mut() {
                    Some(Modal::IntegrationForm(form)) => {
                        form.show_error(e.field(), e.to_string());
                        self.set_status(StatusKind::Error, format!("Could not {doing}"));
                    }
                    _ => self.set_status(StatusKind::Error, format!("Could not {doing}: {e}")),
                }
                let mut commands = self.backend_error(&e);
                if renamed.is_some() && e.status() == Some(404) {
                    commands.push(Command::Load);
                }
                commands
            }
        }
    }

    /// Does what a confirmation's yes carries.
    pub(crate) fn run_admin(&mut self, then: AdminThen) -> Vec<Command> {
        match then {
            AdminThen::DeleteIntegration { code, name } => {
                self.set_status(StatusKind::Info, format!("Deleting integration {name}…"));
                vec![Command::Admin(AdminCall::DeleteIntegration { code, name })]
            }
            AdminThen::ShowFlows => {
                self.register.focus = RegFocus::Flows;
                Vec::new()
            }
            AdminThen::RemoveUser { username } => {
                if let Some(dialog) = self.users_dialog_mut() {
                    dialog.busy = Some(username.clone());
                }
                self.set_status(StatusKind::Info, format!("Removing {username}…"));
                vec![Command::Admin(AdminCall::RemoveUser { username })]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_changes_read_as_sentences() {
        assert_eq!(
            access_sentence("mia", Some(AccessLevel::Manage), "Orders"),
            "mia now manages Orders"
        );
        assert_eq!(
            access_sentence("mia", Some(AccessLevel::Monitor), "Orders"),
            "mia now monitors Orders (read-only)"
        );
        assert_eq!(
            access_sentence("mia", None, "Orders"),
            "mia no longer has access to Orders"
        );
    }
}
