//! The integrations themselves, from the Register tab (R29): `N` creates
//! one (its own key: `n` is a new flow), `R` renames the selected one, `D`
//! deletes it (asks first; refused while it holds flows, naming them), and
//! `A` opens the users window on its members' access. Who may: the owner
//! and admins create, delete and give access; those who manage it rename
//! it. Anyone else is told why, before any request.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::domain::access;
use crate::model::{Flow, Integration};
use crate::tui::access::join_names;
use crate::tui::admin::AdminThen;
use crate::tui::app::{App, Command, Modal, StatusKind, Then};
use crate::tui::dialogs::confirm::{Confirm, Part};
use crate::tui::dialogs::integration_form::IntegrationForm;
use crate::tui::keymap::{Action, Context};
use crate::tui::theme::Theme;

impl App {
    /// The Register tab's integration keys; `None` when the key is not one
    /// of them.
    pub(crate) fn on_register_integration_key(&mut self, action: Action) -> Option<Vec<Command>> {
        Some(match action {
            Action::NewIntegration => {
                if let Some(why) = self.users_refusal("create integrations") {
                    self.set_status(StatusKind::Error, why);
                } else {
                    self.modals
                        .push(Modal::IntegrationForm(Box::new(IntegrationForm::create())));
                }
                Vec::new()
            }
            Action::Rename => {
                let Some(i) = self.integration_or_say() else {
                    return Some(Vec::new());
                };
                if !self.is_admin() && !access::manages(i.access) {
                    self.set_status(
                        StatusKind::Error,
                        format!(
                            "You monitor {}: only those who manage it may rename it (R19)",
                            i.name
                        ),
                    );
                } else {
                    self.modals
                        .push(Modal::IntegrationForm(Box::new(IntegrationForm::rename(
                            &i,
                        ))));
                }
                Vec::new()
            }
            Action::DeleteIntegration => {
                if let Some(why) = self.users_refusal("delete integrations") {
                    self.set_status(StatusKind::Error, why);
                    return Some(Vec::new());
                }
                let Some(i) = self.integration_or_say() else {
                    return Some(Vec::new());
                };
                let flows: Vec<Flow> = self
                    .data
                    .flows
                    .iter()
                    .filter(|f| f.integration.as_deref() == Some(i.code.as_str()))
                    .cloned()
                    .collect();
                let confirm = if flows.is_empty() && i.flows == 0 {
                    confirm_delete(&self.theme, &i)
                } else {
                    let focus = self.keymap.first_key(Context::Register, Action::FocusFlows);
                    let delete = self.keymap.first_key(Context::Register, Action::Delete);
                    held_by_flows(&self.theme, &i, &flows, &focus, &delete)
                };
                self.modals.push(Modal::Confirm(Box::new(confirm)));
                Vec::new()
            }
            Action::Access => {
                let Some(i) = self.integration_or_say() else {
                    return Some(Vec::new());
                };
                self.open_users(
                    Some(i.code.clone()),
                    &format!("change who has access to {}", i.name),
                )
            }
            _ => return None,
        })
    }

    /// The selected integration; says how to make one when there is none.
    fn integration_or_say(&mut self) -> Option<Integration> {
        let i = self.selected_integration().cloned();
        if i.is_none() {
            let new = self
                .keymap
                .first_key(Context::Register, Action::NewIntegration);
            self.set_status(
                StatusKind::Info,
                format!("No integration yet: {new} creates one"),
            );
        }
        i
    }
}

/// Asks before deleting an integration that holds no flow, saying what
/// goes with it and what stays.
fn confirm_delete(t: &Theme, i: &Integration) -> Confirm<Then> {
    let registered = match i.registered.len() {
        0 => "No connection is registered with it.".to_string(),
        1 => "Its 1 registration goes: the connection stays, and so do the steps that use it in other integrations' flows.".to_string(),
        n => format!("Its {n} registrations go: the connections stay, and so do the steps that use them in other integrations' flows."),
    };
    Confirm::new(
        "Delete integration",
        72,
        Then::Admin(AdminThen::DeleteIntegration {
            code: i.code.clone(),
            name: i.name.clone(),
        }),
    )
    .para(
        format!("Delete integration {} ({})?", i.name, i.code),
        t.title,
    )
    .para(registered, Style::new())
    .para(
        "Its members lose their access to it. This cannot be undone.",
        Style::new(),
    )
    .answers("delete", "keep it")
    .declined(format!("Integration {} stays", i.name))
}

/// Says why an integration holding flows cannot be deleted, naming them;
/// yes shows them.
fn held_by_flows(
    t: &Theme,
    i: &Integration,
    flows: &[Flow],
    focus: &str,
    delete: &str,
) -> Confirm<Then> {
    let n = flows.len().max(i.flows as usize);
    let count = if n == 1 {
        "1 flow".to_string()
    } else {
        format!("{n} flows")
    };
    let names: Vec<String> = flows.iter().map(|f| f.name.clone()).collect();
    let mut confirm = Confirm::new("Integration in use", 72, Then::Admin(AdminThen::ShowFlows))
        .para(
            format!(
                "{} ({}) cannot be deleted: it holds {count}.",
                i.name, i.code
            ),
            t.title,
        );
    if !flows.is_empty() {
        confirm = confirm.with([
            Part::Blank,
            Part::List {
                items: flows
                    .iter()
                    .map(|f| {
                        Line::from(vec![
                            Span::raw("  "),
                            Span::styled(f.name.clone(), t.title),
                            Span::styled(format!(" {}", f.code), t.dim),
                            Span::raw(format!(
                                " · {} step{}",
                                f.steps.len(),
                                if f.steps.len() == 1 { "" } else { "s" }
                            )),
                        ])
                    })
                    .collect(),
                indent: 2,
            },
        ]);
    }
    confirm
        .para(
            format!(
                "Delete {} first ({focus} focuses the flows, {delete} deletes the highlighted one), then delete {}.",
                if names.len() == 1 { "it" } else { "them" },
                i.name
            ),
            Style::new(),
        )
        .answers("show its flows", "close")
        .declined(format!(
            "{} stays: it holds {}",
            i.name,
            if names.is_empty() {
                count
            } else {
                join_names(&names)
            }
        ))
}
