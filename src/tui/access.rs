//! Who may do what (R19, R20), as the console shows it: actions a user may
//! not take are dimmed in the footer and, when their key is pressed anyway,
//! refused with the reason, before any request. The backend enforces the
//! same rules; this only spares the user a request that would be refused.
//!
//! - Owner and admins: everything.
//! - A member: edit a connection, see or regenerate its credentials only
//!   when they manage an integration it is registered with (R20); register
//!   and deregister only with integrations they manage (R19); change flow
//!   steps (replace, R16a) only in flows of integrations they manage;
//!   create connections only inside an integration they manage (R13);
//!   delete none.
//!
//! The rules themselves are `domain::access`, the same predicates the
//! service refuses with; this module feeds them what the console holds
//! (who is acting, the integrations with the user's access level) and words
//! the refusals.

use super::app::{App, Tab};
use super::keymap::{Action, Context};
use super::tabs::credentials::{CredField, Focus};
use super::tabs::register::{APP_REASON, is_registered};
use crate::domain::access::{self, FlowHome, RegistrationRefusal};
use crate::model::{AccessLevel, Integration, UserKind};

/// "A", "A and B", "A, B and C".
pub fn join_names<S: AsRef<str>>(names: &[S]) -> String {
    match names {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// Where a new connection may be created (R13): the integrations offered,
/// and whether one must be chosen (a member may create only inside one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateChoices {
    /// (code, name) of each standard integration the user manages.
    pub integrations: Vec<(String, String)>,
    pub required: bool,
}

impl App {
    /// Who is acting, for the rules. Before the backend said who is acting,
    /// nothing is held back (taken as an admin): the backend still decides.
    fn acting_kind(&self) -> UserKind {
        self.data.me.as_ref().map_or(UserKind::Admin, |m| m.kind)
    }

    /// Owner and admins may do everything (R20).
    pub fn is_admin(&self) -> bool {
        access::is_admin(self.acting_kind())
    }

    /// The user's levels on the integrations a connection is registered with.
    fn levels_on_connection<'a>(&'a self, code: &'a str) -> impl Iterator<Item = AccessLevel> + 'a {
        self.data
            .integrations
            .iter()
            .filter(move |i| is_registered(i, code))
            .filter_map(|i| i.access)
    }

    /// R20: whether the user may act on a connection (edit it, see or
    /// regenerate its credentials).
    pub fn may_act_on(&self, code: &str) -> bool {
        access::may_act_on_connection(self.acting_kind(), self.levels_on_connection(code))
    }

    /// Why the user may not `doing` ("edit", "regenerate the secret of") a
    /// connection; `None` when they may.
    pub fn act_refusal(&self, code: &str, label: &str, doing: &str) -> Option<String> {
        if self.may_act_on(code) {
            return None;
        }
        let monitored: Vec<&str> = self
            .data
            .integrations
            .iter()
            .filter(|i| i.access == Some(AccessLevel::Monitor) && is_registered(i, code))
            .map(|i| i.name.as_str())
            .collect();
        let why = if monitored.is_empty() {
            "you don't manage an integration it is registered with".to_string()
        } else {
            format!(
                "you only monitor {}, where it is registered",
                join_names(&monitored)
            )
        };
        Some(format!("You can't {doing} {label}: {why} (R20)"))
    }

    /// Deleting is for the owner and admins (R20).
    pub fn delete_refusal(&self, label: &str) -> Option<String> {
        (!access::may_delete_connection(self.acting_kind())).then(|| {
            format!(
                "You can't delete {label}: only the owner or an admin may delete connections (R20)"
            )
        })
    }

    /// R19: whether the user may change the steps of the flows of an
    /// integration (`None`: a standalone flow, for admins only).
    pub fn may_change_flows_of(&self, integration: Option<&str>) -> bool {
        let home = match integration {
            None => FlowHome::Standalone,
            Some(code) => FlowHome::In(
                self.data
                    .integrations
                    .iter()
                    .find(|i| i.code == code)
                    .and_then(|i| i.access),
            ),
        };
        access::may_change_flows(self.acting_kind(), home)
    }

    /// R13: where the user may create a connection; `None` when nowhere.
    pub fn create_choices(&self) -> Option<CreateChoices> {
        let integrations: Vec<(String, String)> = self
            .data
            .integrations
            .iter()
            .filter(|i| access::offers_creation_in(i.kind, i.access))
            .map(|i| (i.code.clone(), i.name.clone()))
            .collect();
        if access::may_create_connection_outside(self.acting_kind()) {
            Some(CreateChoices {
                integrations,
                required: false,
            })
        } else if integrations.is_empty() {
            None
        } else {
            Some(CreateChoices {
                integrations,
                required: true,
            })
        }
    }

    /// Why `n` opens no form for this user.
    pub fn create_refusal(&self) -> String {
        "You can't create connections: that is for the owner and admins, or inside an integration you manage, and you manage none (R13, R19)".to_string()
    }

    /// Why an integration takes no registration changes from this user
    /// (an app, R17; monitor access, R19); `None` when it does.
    pub fn registration_refusal(&self, i: &Integration) -> Option<String> {
        match access::registration(self.acting_kind(), i.kind, i.access) {
            Ok(()) => None,
            Err(RegistrationRefusal::App) => Some(format!("{} is an app: {APP_REASON}", i.name)),
            Err(RegistrationRefusal::NotManager) => Some(format!(
                "You monitor {}: only managers may register or deregister (R19)",
                i.name
            )),
        }
    }

    /// The actions of the current context that do not apply to what is
    /// selected, for this user: the footer dims them.
    pub fn disabled_actions(&self) -> Vec<Action> {
        let context = self.context();
        let selected = self.selected_connection();
        let mut out = Vec::new();
        match context {
            Context::List if self.tab == Tab::Connections => {
                // Nowhere to create it (R13), or the limit is reached (R7).
                if self.create_choices().is_none() || self.data.quota.is_some_and(|q| q.reached) {
                    out.push(Action::New);
                }
                let Some(c) = selected else {
                    out.extend([Action::Edit, Action::Delete, Action::Replace, Action::Open]);
                    return out;
                };
                if !self.may_act_on(&c.code) {
                    out.push(Action::Edit);
                }
                let steps = self
                    .data
                    .usage
                    .of(&c.code)
                    .map_or(&[][..], |u| &u.used_by[..]);
                if !access::may_delete_connection(self.acting_kind())
                    || !steps.is_empty()
                    || c.in_use
                {
                    out.push(Action::Delete);
                }
                if !steps
                    .iter()
                    .any(|s| self.may_change_flows_of(s.integration.as_deref()))
                {
                    out.push(Action::Replace);
                }
            }
            Context::Credentials => {
                if let Some(c) = selected
                    && !self.may_act_on(&c.code)
                {
                    out.extend([
                        Action::Reveal,
                        Action::CopyAll,
                        Action::RegenerateSecret,
                        Action::RegeneratePassword,
                    ]);
                    if self.credentials.focus == Focus::Card
                        && self.credentials.field == CredField::Secret
                    {
                        out.push(Action::Copy);
                    }
                }
            }
            Context::Permissions => out.extend(self.permissions_disabled()),
            Context::Register => {
                // R29: integrations and access are the owner's and admins'.
                if !self.is_admin() {
                    out.extend([
                        Action::NewIntegration,
                        Action::DeleteIntegration,
                        Action::Access,
                        Action::Users,
                    ]);
                    if self
                        .selected_integration()
                        .is_none_or(|i| !access::manages(i.access))
                    {
                        out.push(Action::Rename);
                    }
                }
                if self.selected_integration().is_none() {
                    out.extend([Action::Rename, Action::DeleteIntegration, Action::Access]);
                }
                if let Some(i) = self.selected_integration()
                    && self.registration_refusal(i).is_some()
                {
                    out.extend([
                        Action::Toggle,
                        Action::ToggleAll,
                        Action::Apply,
                        Action::Discard,
                    ]);
                }
            }
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_like_a_sentence() {
        assert_eq!(join_names::<&str>(&[]), "");
        assert_eq!(join_names(&["Orders"]), "Orders");
        assert_eq!(join_names(&["Orders", "Finance"]), "Orders and Finance");
        assert_eq!(join_names(&["A", "B", "C"]), "A, B and C");
    }
}
