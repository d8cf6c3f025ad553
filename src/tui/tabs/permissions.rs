//! The Permissions tab (SPEC §6, R10, R11, R20): the shared connection list
//! on the left; on the right the selected connection's role and group (each
//! changed by picking from a list, one PATCH of the connection), then the
//! roles or the groups (`[` / `]`) beside what the highlighted one grants: a
//! role's Web API permissions as checkboxes, a group's level on each
//! category of the tree (own or inherited). Space changes one of them and
//! saves it at once, in one request naming the version it read.
//!
//! Who may do what mirrors the backend: a connection's role and group
//! change for whoever may act on the connection (R20); roles and groups
//! themselves are the owner's and admins' (the API refuses members with
//! 403). Refused keys are dimmed in the footer and say why when pressed.

use crate::tui::view::Screen;
use std::collections::HashMap;
use strum::VariantArray;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, Tabs, Widget, Wrap};

use crate::client::{Client, ClientError};
use crate::model::{
    Category, CategoryGrant, CategoryLevel, Connection, DEFAULT_GROUP, DEFAULT_ROLE, Group,
    GroupPatch, NewGroup, NewRole, Permission, Role, RolePatch,
};
use crate::tui::app::{App, Command, Modal, StatusKind, Tab, Then};
use crate::tui::dialogs::confirm::Confirm;
use crate::tui::dialogs::set_form::{SetForm, SetFormOutcome};
use crate::tui::dialogs::set_picker::{PickerOutcome, SetPicker};
use crate::tui::keymap::{Action, Context};
use crate::tui::tabs::credentials::{list_width, side_list};
use crate::tui::view::{key_of, pane, wrap_words};
use crate::tui::widgets::scroll::table_state;

/// Which pane takes the arrow keys, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermFocus {
    /// The connection list.
    List,
    /// The selected connection's role and group.
    Connection,
    /// The roles or the groups.
    Sets,
    /// What the highlighted role or group grants.
    Grants,
}

impl PermFocus {
    const ORDER: [PermFocus; 4] = [
        PermFocus::List,
        PermFocus::Connection,
        PermFocus::Sets,
        PermFocus::Grants,
    ];

    fn moved(self, right: bool) -> PermFocus {
        let i = PermFocus::ORDER
            .iter()
            .position(|f| *f == self)
            .unwrap_or_default();
        let j = if right {
            (i + 1).min(PermFocus::ORDER.len() - 1)
        } else {
            i.saturating_sub(1)
        };
        PermFocus::ORDER[j]
    }
}

/// Roles (R10) or groups (R11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    Roles,
    Groups,
}

impl SetKind {
    /// "role", "group".
    pub fn one(self) -> &'static str {
        match self {
            SetKind::Roles => "role",
            SetKind::Groups => "group",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SetKind::Roles => "Roles",
            SetKind::Groups => "Groups",
        }
    }

    /// The default every new connection gets.
    pub fn default_code(self) -> &'static str {
        match self {
            SetKind::Roles => DEFAULT_ROLE,
            SetKind::Groups => DEFAULT_GROUP,
        }
    }
}

/// The roles, groups and categories, as the backend gave them.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub roles: Vec<Role>,
    pub groups: Vec<Group>,
    pub categories: Vec<Category>,
}

impl Catalog {
    pub fn role(&self, code: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.code == code)
    }

    pub fn group(&self, code: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.code == code)
    }

    fn len(&self, kind: SetKind) -> usize {
        match kind {
            SetKind::Roles => self.roles.len(),
            SetKind::Groups => self.groups.len(),
        }
    }

    /// (code, label, default, connection count, visible users) of one set.
    fn set_at(&self, kind: SetKind, i: usize) -> Option<SetInfo<'_>> {
        match kind {
            SetKind::Roles => self.roles.get(i).map(|r| SetInfo {
                code: &r.code,
                label: &r.label,
                default: r.default,
                count: r.connection_count,
                connections: &r.connections,
                version: r.version,
            }),
            SetKind::Groups => self.groups.get(i).map(|g| SetInfo {
                code: &g.code,
                label: &g.label,
                default: g.default,
                count: g.connection_count,
                connections: &g.connections,
                version: g.version,
            }),
        }
    }

    fn position(&self, kind: SetKind, code: &str) -> Option<usize> {
        match kind {
            SetKind::Roles => self.roles.iter().position(|r| r.code == code),
            SetKind::Groups => self.groups.iter().position(|g| g.code == code),
        }
    }
}

/// What the tab shows of one role or group.
struct SetInfo<'a> {
    code: &'a str,
    label: &'a str,
    default: bool,
    count: u64,
    connections: &'a [String],
    version: u64,
}

/// A change of a role or a group, sent as one request.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogChange {
    CreateRole(NewRole),
    UpdateRole(String, RolePatch),
    DeleteRole(String),
    CreateGroup(NewGroup),
    UpdateGroup(String, GroupPatch),
    DeleteGroup(String),
}

impl CatalogChange {
    fn kind(&self) -> SetKind {
        match self {
            CatalogChange::CreateRole(_)
            | CatalogChange::UpdateRole(..)
            | CatalogChange::DeleteRole(_) => SetKind::Roles,
            _ => SetKind::Groups,
        }
    }

    fn code(&self) -> &str {
        match self {
            CatalogChange::CreateRole(n) => &n.code,
            CatalogChange::CreateGroup(n) => &n.code,
            CatalogChange::UpdateRole(c, _)
            | CatalogChange::DeleteRole(c)
            | CatalogChange::UpdateGroup(c, _)
            | CatalogChange::DeleteGroup(c) => c,
        }
    }
}

/// Sends one change; answers the code of the role or group it made or
/// changed (none for a delete).
pub async fn execute_change(
    client: &Client,
    change: &CatalogChange,
) -> Result<Option<String>, ClientError> {
    Ok(match change {
        CatalogChange::CreateRole(new) => Some(client.create_role(new).await?.code),
        CatalogChange::UpdateRole(code, patch) => Some(client.update_role(code, patch).await?.code),
        CatalogChange::DeleteRole(code) => {
            client.delete_role(code).await?;
            None
        }
        CatalogChange::CreateGroup(new) => Some(client.create_group(new).await?.code),
        CatalogChange::UpdateGroup(code, patch) => {
            Some(client.update_group(code, patch).await?.code)
        }
        CatalogChange::DeleteGroup(code) => {
            client.delete_group(code).await?;
            None
        }
    })
}

/// Which field of the connection pane is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnField {
    Role,
    Group,
}

impl ConnField {
    fn kind(self) -> SetKind {
        match self {
            ConnField::Role => SetKind::Roles,
            ConnField::Group => SetKind::Groups,
        }
    }
}

pub struct PermissionsTab {
    pub focus: PermFocus,
    /// Roles or groups in the lower panes.
    pub kind: SetKind,
    pub field: ConnField,
    /// The highlighted role and group (indexes into the catalog).
    pub role: usize,
    pub group: usize,
    /// The highlighted row of the grants pane (a permission, a category).
    pub grant: usize,
    /// The last answer for the catalog, or the error's message.
    pub catalog: Option<Result<Catalog, String>>,
    /// A change of a role or group is on its way (one at a time).
    pub saving: bool,
    /// After a create or rename: highlight it once the catalog is back.
    pub select_after_load: Option<(SetKind, String)>,
}

impl Default for PermissionsTab {
    fn default() -> Self {
        PermissionsTab {
            focus: PermFocus::List,
            kind: SetKind::Roles,
            field: ConnField::Role,
            role: 0,
            group: 0,
            grant: 0,
            catalog: None,
            saving: false,
            select_after_load: None,
        }
    }
}

impl PermissionsTab {
    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_ref().and_then(|r| r.as_ref().ok())
    }

    fn selected_index(&self) -> usize {
        match self.kind {
            SetKind::Roles => self.role,
            SetKind::Groups => self.group,
        }
    }

    fn selected_index_mut(&mut self) -> &mut usize {
        match self.kind {
            SetKind::Roles => &mut self.role,
            SetKind::Groups => &mut self.group,
        }
    }

    /// The highlighted role, when roles are shown.
    pub fn selected_role(&self) -> Option<&Role> {
        (self.kind == SetKind::Roles)
            .then(|| self.catalog()?.roles.get(self.role))
            .flatten()
    }

    /// The highlighted group, when groups are shown.
    pub fn selected_group(&self) -> Option<&Group> {
        (self.kind == SetKind::Groups)
            .then(|| self.catalog()?.groups.get(self.group))
            .flatten()
    }

    fn selected_set(&self) -> Option<SetInfo<'_>> {
        self.catalog()?.set_at(self.kind, self.selected_index())
    }

    /// How many rows the grants pane has.
    fn grant_rows(&self) -> usize {
        match self.kind {
            SetKind::Roles => Permission::VARIANTS.len(),
            SetKind::Groups => self.catalog().map_or(0, |c| c.categories.len()),
        }
    }
}

/// One category of the tree, as a group sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRow {
    pub code: String,
    pub label: String,
    pub depth: usize,
    /// The group's own grant on it.
    pub own: Option<CategoryLevel>,
    /// What applies: the strongest of its own and its ancestors' grants.
    pub effective: Option<CategoryLevel>,
    /// The ancestor (label) the effective level comes from, when stronger
    /// than the own grant.
    pub inherited_from: Option<String>,
}

/// The category tree depth first (siblings by label), with the levels a
/// group grants on each: a grant applies to the category's whole subtree,
/// the strongest one wins (R11).
pub fn category_rows(categories: &[Category], group: &Group) -> Vec<CategoryRow> {
    let known: HashMap<&str, &Category> = categories.iter().map(|c| (c.code.as_str(), c)).collect();
    let mut children: HashMap<Option<&str>, Vec<&Category>> = HashMap::new();
    for c in categories {
        // A parent that is not there makes a root (never loses a row).
        let parent = c.parent.as_deref().filter(|p| known.contains_key(p));
        children.entry(parent).or_default().push(c);
    }
    for kids in children.values_mut() {
        kids.sort_by(|a, b| a.label.cmp(&b.label).then(a.code.cmp(&b.code)));
    }
    let own: HashMap<&str, CategoryLevel> = group
        .permissions
        .iter()
        .map(|g| (g.category.as_str(), g.level))
        .collect();
    let mut out = Vec::with_capacity(categories.len());
    // The node, its depth, the strongest level above it with where it
    // comes from.
    type Visit<'a> = (&'a Category, usize, Option<(CategoryLevel, &'a str)>);
    let mut stack: Vec<Visit> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|c| (*c, 0, None)).collect())
        .unwrap_or_default();
    while let Some((c, depth, above)) = stack.pop() {
        if out.len() > categories.len() {
            break; // A cycle cannot be stored; never loop on one.
        }
        let mine = own.get(c.code.as_str()).copied();
        let effective = match (mine, above) {
            (Some(m), Some((a, _))) => Some(m.max(a)),
            (Some(m), None) => Some(m),
            (None, Some((a, _))) => Some(a),
            (None, None) => None,
        };
        let inherited_from = match (mine, above) {
            (m, Some((a, from))) if m.is_none_or(|m| a > m) => Some(from.to_string()),
            _ => None,
        };
        // What the children inherit: the stronger of this grant and above.
        let down = match (mine, above) {
            (Some(m), Some((a, from))) if a >= m => Some((a, from)),
            (Some(m), _) => Some((m, c.label.as_str())),
            (None, a) => a,
        };
        out.push(CategoryRow {
            code: c.code.clone(),
            label: c.label.clone(),
            depth,
            own: mine,
            effective,
            inherited_from,
        });
        if let Some(kids) = children.get(&Some(c.code.as_str())) {
            for k in kids.iter().rev() {
                stack.push((k, depth + 1, down));
            }
        }
    }
    out
}

/// none → view → edit → none.
pub fn next_level(level: Option<CategoryLevel>) -> Option<CategoryLevel> {
    match level {
        None => Some(CategoryLevel::View),
        Some(CategoryLevel::View) => Some(CategoryLevel::Edit),
        Some(CategoryLevel::Edit) => None,
    }
}

/// A group's grants with one category's own level set (or removed).
pub fn with_level(
    grants: &[CategoryGrant],
    category: &str,
    level: Option<CategoryLevel>,
) -> Vec<CategoryGrant> {
    let mut out: Vec<CategoryGrant> = grants
        .iter()
        .filter(|g| g.category != category)
        .cloned()
        .collect();
    if let Some(level) = level {
        out.push(CategoryGrant {
            category: category.to_string(),
            level,
        });
    }
    out.sort_by(|a, b| a.category.cmp(&b.category));
    out
}

/// A role's permissions with one granted or revoked, in canonical order.
pub fn toggled(permissions: &[Permission], p: Permission) -> Vec<Permission> {
    Permission::VARIANTS
        .iter()
        .copied()
        .filter(|q| (*q == p) != permissions.contains(q))
        .collect()
}

/// "api.access, products.list", "nothing".
pub fn permissions_summary(permissions: &[Permission]) -> String {
    if permissions.is_empty() {
        "no permission: every Web API call is refused (403)".to_string()
    } else {
        permissions
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// "edit on every category", "view on 2 categories, edit on 1", "nothing".
pub fn group_summary(g: &Group) -> String {
    if g.everything {
        return "edit on every category, now and later".to_string();
    }
    let count = |level| g.permissions.iter().filter(|p| p.level == level).count();
    let (view, edit) = (count(CategoryLevel::View), count(CategoryLevel::Edit));
    let n = |k: usize| {
        if k == 1 {
            "1 category".to_string()
        } else {
            format!("{k} categories")
        }
    };
    match (view, edit) {
        (0, 0) => "no category: its connections list no products".to_string(),
        (v, 0) => format!("view on {} (and below)", n(v)),
        (0, e) => format!("edit on {} (and below)", n(e)),
        (v, e) => format!("view on {}, edit on {} (and below)", n(v), n(e)),
    }
}

/// `d` on a role or a group: what the confirmation names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteSet {
    pub kind: SetKind,
    pub code: String,
    pub label: String,
    /// How many connections use it, and the labels of those the user sees.
    pub count: u64,
    pub users: Vec<String>,
}

impl DeleteSet {
    pub fn change(&self) -> CatalogChange {
        match self.kind {
            SetKind::Roles => CatalogChange::DeleteRole(self.code.clone()),
            SetKind::Groups => CatalogChange::DeleteGroup(self.code.clone()),
        }
    }
}

impl App {
    /// The lower panes highlight the selected connection's role and group
    /// (while the connection list or its own pane has the keys).
    pub(crate) fn permissions_follow_selection(&mut self) {
        if !matches!(
            self.permissions.focus,
            PermFocus::List | PermFocus::Connection
        ) {
            return;
        }
        let Some(c) = self.selected_connection() else {
            return;
        };
        let (role, group) = (c.role.clone(), c.group.clone());
        let p = &mut self.permissions;
        let Some(catalog) = p.catalog() else {
            return;
        };
        let (r, g) = (
            catalog.position(SetKind::Roles, &role),
            catalog.position(SetKind::Groups, &group),
        );
        let before = p.selected_index();
        if let Some(r) = r {
            p.role = r;
        }
        if let Some(g) = g {
            p.group = g;
        }
        if p.selected_index() != before {
            p.grant = 0;
            self.screen.grants_offset = 0;
        }
    }

    /// Roles and groups are the owner's and admins' (the API refuses
    /// members); why not, for this user.
    pub fn set_refusal(&self, doing: &str) -> Option<String> {
        (!self.is_admin()).then(|| {
            format!(
                "You can't {doing}: only the owner or an admin may change roles and groups (R20)"
            )
        })
    }

    /// Why the highlighted set may not be deleted (the defaults never).
    fn delete_set_refusal(&self) -> Option<String> {
        let kind = self.permissions.kind;
        if let Some(why) = self.set_refusal(&format!("delete {}s", kind.one())) {
            return Some(why);
        }
        let set = self.permissions.selected_set()?;
        set.default.then(|| {
            format!(
                "{} is the default {} of new connections and cannot be deleted",
                set.label,
                kind.one()
            )
        })
    }

    /// Why Space changes nothing on the highlighted set.
    fn toggle_refusal(&self) -> Option<String> {
        let kind = self.permissions.kind;
        if let Some(why) = self.set_refusal(&format!("change {}s", kind.one())) {
            return Some(why);
        }
        let g = self.permissions.selected_group()?;
        g.everything.then(|| {
            format!(
                "{} grants edit on every category, now and later; its permissions cannot be changed. {} makes a group that grants only what you choose",
                g.label,
                key_of(self, Context::Permissions, Action::New)
            )
        })
    }

    /// The actions of the Permissions tab that do not apply now (dimmed).
    pub(crate) fn permissions_disabled(&self) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.is_admin() {
            out.extend([Action::New, Action::Edit, Action::Delete, Action::Toggle]);
        } else {
            if self.delete_set_refusal().is_some() {
                out.push(Action::Delete);
            }
            if self.toggle_refusal().is_some() {
                out.push(Action::Toggle);
            }
        }
        if self.permissions.focus == PermFocus::Connection
            && self
                .selected_connection()
                .is_none_or(|c| !self.may_act_on(&c.code))
        {
            out.push(Action::Pick);
        }
        out
    }

    pub(crate) fn on_catalog_loaded(&mut self, r: Result<Catalog, ClientError>) -> Vec<Command> {
        match r {
            Ok(catalog) => {
                let first = self.permissions.catalog().is_none();
                let p = &mut self.permissions;
                // Keep the highlight on the same role and group.
                let keep_role = p
                    .catalog()
                    .and_then(|c| c.roles.get(p.role))
                    .map(|r| r.code.clone());
                let keep_group = p
                    .catalog()
                    .and_then(|c| c.groups.get(p.group))
                    .map(|g| g.code.clone());
                if let Some(code) = keep_role {
                    p.role = catalog.position(SetKind::Roles, &code).unwrap_or(p.role);
                }
                if let Some(code) = keep_group {
                    p.group = catalog.position(SetKind::Groups, &code).unwrap_or(p.group);
                }
                if let Some((kind, code)) = p.select_after_load.take()
                    && let Some(i) = catalog.position(kind, &code)
                {
                    p.kind = kind;
                    *p.selected_index_mut() = i;
                    p.focus = PermFocus::Sets;
                }
                p.role = p.role.min(catalog.roles.len().saturating_sub(1));
                p.group = p.group.min(catalog.groups.len().saturating_sub(1));
                p.catalog = Some(Ok(catalog));
                p.grant = p.grant.min(p.grant_rows().saturating_sub(1));
                if first {
                    self.permissions_follow_selection();
                }
                Vec::new()
            }
            Err(e) => {
                self.set_status(
                    StatusKind::Error,
                    format!("Could not load roles and groups: {e}"),
                );
                let commands = self.backend_error(&e);
                self.permissions.catalog = Some(Err(e.to_string()));
                commands
            }
        }
    }

    pub(crate) fn on_catalog_changed(
        &mut self,
        change: CatalogChange,
        r: Result<Option<String>, ClientError>,
    ) -> Vec<Command> {
        self.permissions.saving = false;
        let kind = change.kind();
        let form_open = matches!(self.modals.last(), Some(Modal::SetForm(_)));
        match r {
            Ok(code) => {
                if form_open {
                    self.modals.pop();
                }
                let label = |change: &CatalogChange| match change {
                    CatalogChange::CreateRole(n) => n.label.clone(),
                    CatalogChange::CreateGroup(n) => n.label.clone(),
                    CatalogChange::UpdateRole(_, RolePatch { label: Some(l), .. })
                    | CatalogChange::UpdateGroup(_, GroupPatch { label: Some(l), .. }) => l.clone(),
                    other => self.set_label(other.kind(), other.code()),
                };
                let text = match &change {
                    CatalogChange::CreateRole(n) => format!(
                        "Created the role {} ({}) with {}; Enter on a connection's role gives it",
                        n.label,
                        n.code,
                        permissions_summary(&n.permissions)
                    ),
                    CatalogChange::CreateGroup(n) => format!(
                        "Created the group {} ({}); it grants nothing yet: Space on a category gives it view or edit",
                        n.label, n.code
                    ),
                    CatalogChange::UpdateRole(
                        _,
                        RolePatch {
                            permissions: Some(p),
                            ..
                        },
                    ) => format!(
                        "The role {} now grants {}; its connections' next Web API requests are checked against it",
                        label(&change),
                        permissions_summary(p)
                    ),
                    CatalogChange::UpdateGroup(
                        _,
                        GroupPatch {
                            permissions: Some(_),
                            ..
                        },
                    ) => format!(
                        "Saved the categories of the group {}; its connections see the change on their next Web API request",
                        label(&change)
                    ),
                    CatalogChange::UpdateRole(..) | CatalogChange::UpdateGroup(..) => {
                        format!("Renamed the {} to {}", kind.one(), label(&change))
                    }
                    CatalogChange::DeleteRole(c) | CatalogChange::DeleteGroup(c) => {
                        format!("Deleted the {} {}", kind.one(), self.set_label(kind, c))
                    }
                };
                self.set_status(StatusKind::Success, text);
                // A new one is highlighted; a changed one stays so.
                if let (Some(code), CatalogChange::CreateRole(_) | CatalogChange::CreateGroup(_)) =
                    (code, &change)
                {
                    self.permissions.select_after_load = Some((kind, code));
                }
                vec![Command::LoadCatalog]
            }
            Err(e) => {
                let mut commands = self.backend_error(&e);
                // Changed or deleted by someone else: show what is true now.
                if matches!(e.status(), Some(404 | 409)) {
                    commands.push(Command::LoadCatalog);
                }
                if let Some(Modal::SetForm(form)) = self.modals.last_mut() {
                    form.show_error(e.field(), e.to_string());
                } else {
                    let what = match &change {
                        CatalogChange::CreateRole(_) | CatalogChange::CreateGroup(_) => "create",
                        CatalogChange::DeleteRole(_) | CatalogChange::DeleteGroup(_) => "delete",
                        _ => "change",
                    };
                    self.set_status(
                        StatusKind::Error,
                        format!(
                            "Could not {what} the {} {}: {e}",
                            kind.one(),
                            self.set_label(kind, change.code())
                        ),
                    );
                }
                commands
            }
        }
    }

    /// The label of a role or group, or its code when it is not loaded.
    fn set_label(&self, kind: SetKind, code: &str) -> String {
        let catalog = self.permissions.catalog();
        match kind {
            SetKind::Roles => catalog.and_then(|c| c.role(code)).map(|r| r.label.clone()),
            SetKind::Groups => catalog.and_then(|c| c.group(code)).map(|g| g.label.clone()),
        }
        .unwrap_or_else(|| code.to_string())
    }

    pub(crate) fn on_permissions_set(
        &mut self,
        code: String,
        kind: SetKind,
        to: String,
        result: Result<Connection, ClientError>,
    ) -> Vec<Command> {
        let label = self.label_of(&code);
        let set = self.set_label(kind, &to);
        match result {
            Ok(c) => {
                let text = match kind {
                    SetKind::Roles => format!(
                        "{} now has the role {set}; its next Web API request is checked against it (R10)",
                        c.label
                    ),
                    SetKind::Groups => format!(
                        "{} is now in the group {set}; its next Web API request sees what {set} grants (R11)",
                        c.label
                    ),
                };
                self.set_status(StatusKind::Success, text);
                // The connection and the sets' counts changed.
                vec![Command::Load]
            }
            Err(e) => {
                self.set_status(
                    StatusKind::Error,
                    format!("Could not change the {} of {label}: {e}", kind.one()),
                );
                let mut commands = self.backend_error(&e);
                if matches!(e.status(), Some(404 | 409)) {
                    commands.push(Command::Load);
                }
                commands
            }
        }
    }

    pub(crate) fn on_permissions_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        let focus = self.permissions.focus;
        match action {
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::PageUp
            | Action::PageDown => match focus {
                PermFocus::List => self.move_in_list(action),
                PermFocus::Connection => {
                    let p = &mut self.permissions;
                    match (action, p.field) {
                        (Action::Down, ConnField::Group) if p.catalog().is_some() => {
                            // Past the group: the roles or groups below.
                            p.focus = PermFocus::Sets;
                        }
                        (Action::Down | Action::Last | Action::PageDown, _) => {
                            p.field = ConnField::Group;
                        }
                        _ => p.field = ConnField::Role,
                    }
                    Vec::new()
                }
                PermFocus::Sets => {
                    let n = self
                        .permissions
                        .catalog()
                        .map_or(0, |c| c.len(self.permissions.kind));
                    let p = &mut self.permissions;
                    let at = p.selected_index();
                    if action == Action::Up && at == 0 {
                        // Back up to the connection's role and group.
                        p.focus = PermFocus::Connection;
                        p.field = ConnField::Group;
                        return Vec::new();
                    }
                    let target = moved(at, n, action, 8);
                    if target != at {
                        *p.selected_index_mut() = target;
                        p.grant = 0;
                        self.screen.grants_offset = 0;
                    }
                    Vec::new()
                }
                PermFocus::Grants => {
                    let p = &mut self.permissions;
                    p.grant = moved(p.grant, p.grant_rows(), action, 8);
                    Vec::new()
                }
            },
            Action::PaneLeft | Action::PaneRight => {
                let p = &mut self.permissions;
                p.focus = p.focus.moved(action == Action::PaneRight);
                if p.focus == PermFocus::Connection && focus == PermFocus::Sets {
                    p.field = ConnField::Group;
                }
                Vec::new()
            }
            Action::ShowRoles | Action::ShowGroups => {
                let kind = if action == Action::ShowRoles {
                    SetKind::Roles
                } else {
                    SetKind::Groups
                };
                let p = &mut self.permissions;
                if p.kind != kind {
                    p.grant = 0;
                    self.screen.grants_offset = 0;
                    self.screen.sets_offset = 0;
                }
                p.kind = kind;
                p.focus = PermFocus::Sets;
                Vec::new()
            }
            Action::Pick => match focus {
                PermFocus::List => {
                    self.permissions.focus = PermFocus::Connection;
                    Vec::new()
                }
                PermFocus::Connection => {
                    self.open_set_picker();
                    Vec::new()
                }
                PermFocus::Sets => {
                    self.permissions.focus = PermFocus::Grants;
                    Vec::new()
                }
                PermFocus::Grants => self.toggle_grant(),
            },
            Action::Toggle => match focus {
                PermFocus::Grants => self.toggle_grant(),
                PermFocus::Connection => {
                    let pick = key_of(self, Context::Permissions, Action::Pick);
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "{pick} chooses another {}",
                            self.permissions.field.kind().one()
                        ),
                    );
                    Vec::new()
                }
                _ => {
                    let right = key_of(self, Context::Permissions, Action::PaneRight);
                    let what = match self.permissions.kind {
                        SetKind::Roles => "grants or revokes a permission",
                        SetKind::Groups => "changes a category's level",
                    };
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "Space {what} in the pane on the right ({right} until it is focused)"
                        ),
                    );
                    Vec::new()
                }
            },
            Action::New => {
                let kind = self.permissions.kind;
                if let Some(why) = self.set_refusal(&format!("create {}s", kind.one())) {
                    self.set_status(StatusKind::Error, why);
                    return Vec::new();
                }
                // A new role starts with what the default role grants.
                let permissions = self
                    .permissions
                    .catalog()
                    .and_then(|c| c.role(DEFAULT_ROLE))
                    .map_or_else(
                        || vec![Permission::ApiAccess, Permission::ProductsList],
                        |r| r.permissions.clone(),
                    );
                self.modals.push(Modal::SetForm(Box::new(SetForm::new_set(
                    kind,
                    permissions,
                ))));
                Vec::new()
            }
            Action::Edit => {
                let kind = self.permissions.kind;
                if let Some(why) = self.set_refusal(&format!("rename {}s", kind.one())) {
                    self.set_status(StatusKind::Error, why);
                    return Vec::new();
                }
                let Some(set) = self.permissions.selected_set() else {
                    self.set_status(StatusKind::Info, format!("No {} highlighted", kind.one()));
                    return Vec::new();
                };
                let form = SetForm::rename(kind, set.code, set.label, set.version);
                self.modals.push(Modal::SetForm(Box::new(form)));
                Vec::new()
            }
            Action::Delete => {
                if let Some(why) = self.delete_set_refusal() {
                    self.set_status(StatusKind::Error, why);
                    return Vec::new();
                }
                let kind = self.permissions.kind;
                let Some(set) = self.permissions.selected_set() else {
                    self.set_status(StatusKind::Info, format!("No {} highlighted", kind.one()));
                    return Vec::new();
                };
                let delete = DeleteSet {
                    kind,
                    code: set.code.to_string(),
                    label: set.label.to_string(),
                    count: set.count,
                    users: {
                        let mut users: Vec<String> =
                            set.connections.iter().map(|c| self.label_of(c)).collect();
                        users.sort_by_key(|n| n.to_lowercase());
                        users
                    },
                };
                self.modals
                    .push(Modal::Confirm(Box::new(confirm_delete(delete))));
                Vec::new()
            }
            Action::Back => {
                if self.list.filter.narrows() {
                    self.clear_one_filter()
                } else {
                    self.switch_tab(Tab::Connections)
                }
            }
            other => self.on_shared_key(other),
        }
    }

    /// Space in the grants pane: one permission of the role, or the next
    /// level of the group on one category, saved at once.
    fn toggle_grant(&mut self) -> Vec<Command> {
        if let Some(why) = self.toggle_refusal() {
            self.set_status(StatusKind::Error, why);
            return Vec::new();
        }
        if self.permissions.saving {
            self.set_status(StatusKind::Info, "Still saving the last change…");
            return Vec::new();
        }
        let p = &self.permissions;
        let change = match p.kind {
            SetKind::Roles => {
                let Some(role) = p.selected_role() else {
                    return Vec::new();
                };
                let Some(&permission) = Permission::VARIANTS.get(p.grant) else {
                    return Vec::new();
                };
                CatalogChange::UpdateRole(
                    role.code.clone(),
                    RolePatch {
                        label: None,
                        permissions: Some(toggled(&role.permissions, permission)),
                        version: Some(role.version),
                    },
                )
            }
            SetKind::Groups => {
                let (Some(group), Some(catalog)) = (p.selected_group(), p.catalog()) else {
                    return Vec::new();
                };
                let rows = category_rows(&catalog.categories, group);
                let Some(row) = rows.get(p.grant) else {
                    return Vec::new();
                };
                CatalogChange::UpdateGroup(
                    group.code.clone(),
                    GroupPatch {
                        label: None,
                        permissions: Some(with_level(
                            &group.permissions,
                            &row.code,
                            next_level(row.own),
                        )),
                        version: Some(group.version),
                    },
                )
            }
        };
        self.permissions.saving = true;
        vec![Command::ChangeCatalog(change)]
    }

    /// Enter on the connection's role or group: the picker, or why not.
    fn open_set_picker(&mut self) {
        let Some(c) = self.selected_connection().cloned() else {
            self.set_status(StatusKind::Info, "No connection selected");
            return;
        };
        let kind = self.permissions.field.kind();
        if let Some(why) =
            self.act_refusal(&c.code, &c.label, &format!("change the {} of", kind.one()))
        {
            self.set_status(StatusKind::Error, why);
            return;
        }
        let Some(catalog) = self.permissions.catalog() else {
            self.set_status(StatusKind::Info, format!("Loading the {}s…", kind.one()));
            return;
        };
        let (current, choices): (String, Vec<(String, String, String)>) = match kind {
            SetKind::Roles => (
                c.role.clone(),
                catalog
                    .roles
                    .iter()
                    .map(|r| {
                        (
                            r.code.clone(),
                            r.label.clone(),
                            permissions_summary(&r.permissions),
                        )
                    })
                    .collect(),
            ),
            SetKind::Groups => (
                c.group.clone(),
                catalog
                    .groups
                    .iter()
                    .map(|g| (g.code.clone(), g.label.clone(), group_summary(g)))
                    .collect(),
            ),
        };
        let selected = choices
            .iter()
            .position(|(code, ..)| *code == current)
            .unwrap_or(0);
        self.modals.push(Modal::Picker(Box::new(SetPicker {
            kind,
            code: c.code,
            label: c.label,
            version: c.version,
            current,
            choices,
            selected,
        })));
    }

    pub(crate) fn on_picker_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(Modal::Picker(picker)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match picker.on_action(action) {
            PickerOutcome::Stay => Vec::new(),
            PickerOutcome::Close(status) => {
                self.modals.pop();
                self.set_status(StatusKind::Info, status);
                Vec::new()
            }
            PickerOutcome::Pick { status, command } => {
                self.modals.pop();
                self.set_status(StatusKind::Info, status);
                vec![command]
            }
        }
    }

    pub(crate) fn on_set_form_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Command> {
        let Some(Modal::SetForm(form)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match form.on_key(action, key) {
            SetFormOutcome::Stay => Vec::new(),
            SetFormOutcome::Cancel => {
                self.modals.pop();
                Vec::new()
            }
            SetFormOutcome::Save(change) => vec![Command::ChangeCatalog(change)],
        }
    }
}

/// A position moved by an action within `n` rows.
fn moved(at: usize, n: usize, action: Action, page: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let last = n - 1;
    match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::First => 0,
        Action::Last => last,
        Action::PageUp => at.saturating_sub(page),
        Action::PageDown => (at + page).min(last),
        _ => at,
    }
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// The Permissions tab.
pub fn render(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let [list_area, right] = Layout::horizontal([
        Constraint::Length(list_width(area.width)),
        Constraint::Min(0),
    ])
    .areas(area);
    if app.data.connections.is_empty() {
        screen.list_rows = Rect::default();
        let block = pane(&app.theme, " Connections · 0 ".to_string(), false);
        let inner = block.inner(list_area);
        block.render(list_area, buf);
        Paragraph::new("No connections yet")
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
    } else {
        let focused = app.permissions.focus == PermFocus::List;
        side_list(app, screen, list_area, buf, focused);
    }
    let connection_lines = connection_lines(app, right.width.saturating_sub(4) as usize);
    let top_height = (connection_lines.len() as u16 + 2).min(right.height / 2);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Min(0)]).areas(right);
    render_connection(app, connection_lines, top, buf);
    let [sets, grants] =
        Layout::horizontal([Constraint::Percentage(38), Constraint::Percentage(62)]).areas(bottom);
    render_sets(app, screen, sets, buf);
    render_grants(app, screen, grants, buf);
}

/// The connection pane's lines: role and group with what they grant, the
/// default warning, and, for a member, why they may not change them.
fn connection_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(c) = app.selected_connection() else {
        return vec![Line::from(Span::styled("No connection selected", t.dim))];
    };
    let focused = app.permissions.focus == PermFocus::Connection;
    let catalog = app.permissions.catalog();
    let pick = key_of(app, Context::Permissions, Action::Pick);
    let may = app.may_act_on(&c.code);
    let mut lines = Vec::new();
    for field in [ConnField::Role, ConnField::Group] {
        let (name, code) = match field {
            ConnField::Role => ("Role", &c.role),
            ConnField::Group => ("Group", &c.group),
        };
        let (label, grants) = match (field, catalog) {
            (ConnField::Role, Some(cat)) => cat.role(code).map_or_else(
                || (code.clone(), String::new()),
                |r| (r.label.clone(), permissions_summary(&r.permissions)),
            ),
            (ConnField::Group, Some(cat)) => cat.group(code).map_or_else(
                || (code.clone(), String::new()),
                |g| (g.label.clone(), group_summary(g)),
            ),
            _ => (code.clone(), String::new()),
        };
        let selected = app.permissions.field == field;
        let marker = match (selected, focused) {
            (true, true) => "▶ ",
            (true, false) => "› ",
            _ => "  ",
        };
        let mut spans = vec![
            Span::styled(marker, t.key),
            Span::styled(format!("{name:<7}"), t.label),
            Span::styled(label.clone(), t.title),
        ];
        if label != *code {
            spans.push(Span::styled(format!(" ({code})"), t.dim));
        }
        let mut rows = vec![spans];
        if !grants.is_empty() {
            let part = Span::raw(format!(" · {grants}"));
            let used: usize = rows[0].iter().map(Span::width).sum();
            if used + part.width() <= width {
                rows[0].push(part);
            } else {
                // What it grants goes under the name, where it has room.
                rows.extend(
                    wrap_words(&grants, width.saturating_sub(9).max(8))
                        .into_iter()
                        .map(|l| vec![Span::raw(format!("{:9}{l}", ""))]),
                );
            }
        }
        if selected && focused && may {
            let hint = Span::styled(format!("  {pick} choose"), t.dim);
            let last = rows.last_mut().expect("one row at least");
            if last.iter().map(Span::width).sum::<usize>() + hint.width() <= width {
                last.push(hint);
            }
        }
        for spans in rows {
            let mut line = Line::from(spans);
            if selected && focused {
                let pad = width.saturating_sub(line.width());
                line.spans.push(Span::raw(" ".repeat(pad)));
                line = line.style(t.selected);
            }
            lines.push(line);
        }
    }
    if let Some(which) = crate::domain::catalog::shared_defaults(&c.role, &c.group) {
        let text = format!(
            "! {} has {which}, shared by every new connection. A dedicated role per connection is recommended, so that what it may do changes without touching the others (R10, R11).",
            c.label
        );
        lines.extend(
            wrap_words(&text, width.max(8))
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.warning))),
        );
    }
    if !may && let Some(why) = app.act_refusal(&c.code, &c.label, "change the role or group of") {
        lines.extend(
            wrap_words(&why, width.max(8))
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.dim))),
        );
    }
    lines
}

fn render_connection(app: &App, lines: Vec<Line<'static>>, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let focused = app.permissions.focus == PermFocus::Connection;
    let title = match app.selected_connection() {
        Some(c) => format!(" {} · role and group ", c.label),
        None => " Role and group ".to_string(),
    };
    let block = pane(t, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    Paragraph::new(lines).render(inner, buf);
}

/// Says what the pane holds while the catalog is not there.
fn catalog_missing(app: &App) -> Option<(String, Style)> {
    match &app.permissions.catalog {
        None => Some(("loading…".to_string(), app.theme.dim)),
        Some(Err(e)) => Some((format!("✗ {e}"), app.theme.error)),
        Some(Ok(_)) => None,
    }
}

fn render_sets(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let focused = app.permissions.focus == PermFocus::Sets;
    let kind = app.permissions.kind;
    let block = pane(&t, " Roles and groups ".to_string(), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let [tabs_area, rows_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let counts = app
        .permissions
        .catalog()
        .map(|c| (c.roles.len(), c.groups.len()));
    let titles: Vec<String> = [SetKind::Roles, SetKind::Groups]
        .into_iter()
        .map(|k| {
            let key = key_of(
                app,
                Context::Permissions,
                if k == SetKind::Roles {
                    Action::ShowRoles
                } else {
                    Action::ShowGroups
                },
            );
            match counts {
                Some((r, g)) => format!(
                    "{key} {} · {}",
                    k.title(),
                    if k == SetKind::Roles { r } else { g }
                ),
                None => format!("{key} {}", k.title()),
            }
        })
        .collect();
    Tabs::new(titles)
        .select(usize::from(kind == SetKind::Groups))
        .style(t.tab_inactive)
        .highlight_style(t.tab_active)
        .divider("│")
        .render(tabs_area, buf);
    if let Some((text, style)) = catalog_missing(app) {
        Paragraph::new(text).style(style).render(rows_area, buf);
        return;
    }
    let Some(catalog) = app.permissions.catalog() else {
        return;
    };
    let selected = app.permissions.selected_index();
    // The selected connection's own role or group is marked •.
    let its = app.selected_connection().map(|c| match kind {
        SetKind::Roles => c.role.clone(),
        SetKind::Groups => c.group.clone(),
    });
    let rows: Vec<Row> = (0..catalog.len(kind))
        .filter_map(|i| catalog.set_at(kind, i))
        .enumerate()
        .map(|(i, s)| {
            let here = i == selected;
            let users = if s.count == 0 {
                Span::styled("unused", if here && focused { Style::new() } else { t.dim })
            } else {
                Span::raw(format!(
                    "{} conn{}",
                    s.count,
                    if s.count == 1 { "" } else { "s" }
                ))
            };
            let marker = if here {
                "▶"
            } else if its.as_deref() == Some(s.code) {
                "•"
            } else {
                " "
            };
            Row::new(vec![
                Line::from(marker),
                Line::from(s.label.to_string()),
                Line::from(users).alignment(Alignment::Right),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(8),
    ];
    let mut state = table_state(screen.sets_offset, selected, rows.len(), rows_area.height);
    let table = Table::new(rows, widths)
        .column_spacing(1)
        .row_highlight_style(if focused { t.selected } else { t.title });
    StatefulWidget::render(table, rows_area, buf, &mut state);
    screen.sets_offset = state.offset();
}

fn render_grants(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let focused = app.permissions.focus == PermFocus::Grants;
    let title = match app.permissions.selected_set() {
        Some(s) => match app.permissions.kind {
            SetKind::Roles => format!(" {} · Web API permissions ", s.label),
            SetKind::Groups => format!(" {} · categories ", s.label),
        },
        None => " Permissions ".to_string(),
    };
    let block = pane(&t, title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    if let Some((text, style)) = catalog_missing(app) {
        Paragraph::new(text).style(style).render(inner, buf);
        return;
    }
    let width = inner.width as usize;
    let Some(set) = app.permissions.selected_set() else {
        let new = key_of(app, Context::Permissions, Action::New);
        Paragraph::new(format!(
            "No {} yet: {new} creates one",
            app.permissions.kind.one()
        ))
        .style(t.dim)
        .render(inner, buf);
        return;
    };
    // Who uses it, under the grants, and how changes are saved.
    let toggle = key_of(app, Context::Permissions, Action::Toggle);
    let mut notes: Vec<String> = vec![match app.permissions.kind {
        SetKind::Roles => format!(
            "{toggle} grants or revokes the highlighted permission; each change is saved at once."
        ),
        SetKind::Groups => format!(
            "{toggle} gives the highlighted category none, view or edit (and all under it); each change is saved at once."
        ),
    }];
    if set.default {
        notes.push(format!(
            "{} is the default {} of every new connection.",
            set.label,
            app.permissions.kind.one()
        ));
    }
    notes.push(match set.count {
        0 => "No connection uses it.".to_string(),
        n => {
            let mut names: Vec<String> = set.connections.iter().map(|c| app.label_of(c)).collect();
            names.sort_by_key(|n| n.to_lowercase());
            let hidden = n.saturating_sub(names.len() as u64);
            let mut text = format!("Used by {n} connection{}", if n == 1 { "" } else { "s" });
            if !names.is_empty() {
                let shown: Vec<String> = names.iter().take(6).cloned().collect();
                text.push_str(&format!(": {}", shown.join(", ")));
                if names.len() > 6 {
                    text.push_str(&format!(" and {} more", names.len() - 6));
                }
            }
            if hidden > 0 {
                text.push_str(&format!(" ({hidden} you don't see)"));
            }
            text.push('.');
            text
        }
    });
    let note_lines: Vec<Line<'static>> = notes
        .iter()
        .flat_map(|n| wrap_words(n, width.max(8)))
        .map(|l| Line::from(Span::styled(l, t.dim)))
        .collect();
    let rows_height = inner
        .height
        .saturating_sub(note_lines.len() as u16 + 1)
        .max(inner.height.min(3));
    let [rows_area, notes_area] =
        Layout::vertical([Constraint::Length(rows_height), Constraint::Min(0)]).areas(inner);
    let [_, notes_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(notes_area);
    Paragraph::new(note_lines)
        .wrap(Wrap { trim: false })
        .render(notes_area, buf);
    let grant = app.permissions.grant;
    let (rows, widths): (Vec<Row>, Vec<Constraint>) = match app.permissions.kind {
        SetKind::Roles => {
            let Some(role) = app.permissions.selected_role() else {
                return;
            };
            let rows = Permission::VARIANTS
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let on = role.permissions.contains(p);
                    Row::new(vec![
                        Line::from(if i == grant { "▶" } else { " " }),
                        Line::from(if on { "[x]" } else { "[ ]" }),
                        Line::from(p.as_str()),
                        Line::from(Span::styled(
                            p.description(),
                            if i == grant && focused {
                                Style::new()
                            } else {
                                t.dim
                            },
                        )),
                    ])
                })
                .collect();
            (
                rows,
                vec![
                    Constraint::Length(1),
                    Constraint::Length(3),
                    Constraint::Length(15),
                    Constraint::Fill(1),
                ],
            )
        }
        SetKind::Groups => {
            let (Some(group), Some(catalog)) =
                (app.permissions.selected_group(), app.permissions.catalog())
            else {
                return;
            };
            if catalog.categories.is_empty() {
                Paragraph::new(
                    "No categories yet. They are managed through the API (POST /api/v1/categories); a group grants view or edit on them.",
                )
                .style(t.dim)
                .wrap(Wrap { trim: true })
                .render(rows_area, buf);
                return;
            }
            let rows = category_rows(&catalog.categories, group);
            let label_width = rows
                .iter()
                .map(|r| r.depth * 2 + r.label.chars().count())
                .max()
                .unwrap_or(8)
                .min(width * 2 / 5) as u16;
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let here = i == grant;
                    let plain = here && focused;
                    let (own, note) = if group.everything {
                        (
                            "[edit]".to_string(),
                            Span::styled(
                                format!("edit, as {} grants", group.label),
                                if plain { Style::new() } else { t.dim },
                            ),
                        )
                    } else {
                        let own = match r.own {
                            Some(l) => format!("[{}]", l.as_str()),
                            None => "[ · ]".to_string(),
                        };
                        let note = match (&r.inherited_from, r.effective) {
                            (Some(from), Some(l)) => Span::styled(
                                format!("{} from {from}", l.as_str()),
                                if plain { Style::new() } else { t.dim },
                            ),
                            (None, None) => {
                                Span::styled("none", if plain { Style::new() } else { t.dim })
                            }
                            _ => Span::raw(""),
                        };
                        (own, note)
                    };
                    Row::new(vec![
                        Line::from(if here { "▶" } else { " " }),
                        Line::from(format!("{}{}", "  ".repeat(r.depth), r.label)),
                        Line::from(own),
                        Line::from(note),
                    ])
                })
                .collect();
            (
                rows,
                vec![
                    Constraint::Length(1),
                    Constraint::Length(label_width),
                    Constraint::Length(6),
                    Constraint::Fill(1),
                ],
            )
        }
    };
    let mut state = table_state(screen.grants_offset, grant, rows.len(), rows_area.height);
    let table = Table::new(rows, widths)
        .column_spacing(1)
        .row_highlight_style(if focused { t.selected } else { Style::new() });
    StatefulWidget::render(table, rows_area, buf, &mut state);
    screen.grants_offset = state.offset();
}

/// The footer's hints for the focused pane, with "new" saying what it
/// makes.
pub fn footer_hints(app: &App) -> Vec<(String, &'static str, Action)> {
    let focus = app.permissions.focus;
    let kind = app.permissions.kind;
    app.keymap
        .action_hints_where(Context::Permissions, |a| match a {
            Action::Pick => focus == PermFocus::Connection,
            Action::Toggle => focus == PermFocus::Grants,
            Action::Edit | Action::Delete => {
                matches!(focus, PermFocus::Sets | PermFocus::Grants)
            }
            _ => true,
        })
        .into_iter()
        .map(|(keys, hint, action)| {
            let hint = match (hint, action, kind) {
                ("new", _, SetKind::Roles) => "new role",
                ("new", _, SetKind::Groups) => "new group",
                ("toggle", _, SetKind::Roles) => "grant/revoke",
                ("toggle", _, SetKind::Groups) => "none/view/edit",
                ("move", _, _) => match focus {
                    PermFocus::List => "connection",
                    PermFocus::Connection => "role/group",
                    PermFocus::Sets => kind.one(),
                    PermFocus::Grants => match kind {
                        SetKind::Roles => "permission",
                        SetKind::Groups => "category",
                    },
                },
                (h, ..) => h,
            };
            (keys, hint, action)
        })
        .collect()
}

/// `d` on a role or group: who uses it, and what the server will say.
/// Asks before deleting a role or a group, saying who uses it.
pub fn confirm_delete(d: DeleteSet) -> Confirm<Then> {
    let one = d.kind.one();
    let mut confirm = Confirm::new(
        format!("Delete {one}"),
        76,
        Then::ChangeCatalog {
            change: d.change(),
            doing: format!("Deleting the {one} {}…", d.label),
        },
    )
    .para(
        format!("Delete the {one} {} ({})?", d.label, d.code),
        Style::new(),
    );
    if d.count == 0 {
        confirm = confirm.para("No connection uses it.", Style::new());
    } else {
        let mut who = format!(
            "It is used by {} connection{}",
            d.count,
            if d.count == 1 { "" } else { "s" }
        );
        if !d.users.is_empty() {
            who.push_str(&format!(": {}", crate::tui::access::join_names(&d.users)));
        }
        let hidden = d.count.saturating_sub(d.users.len() as u64);
        if hidden > 0 {
            who.push_str(&format!(" ({hidden} you don't see)"));
        }
        who.push('.');
        confirm = confirm.para(who, Style::new()).para(
            match d.kind {
                SetKind::Roles => {
                    "The server refuses to delete a role in use: give them another role first."
                }
                SetKind::Groups => {
                    "The server refuses to delete a group in use: put them in another group first."
                }
            },
            Style::new(),
        );
    }
    confirm
        .answers("delete", format!("keep the {one}"))
        .declined(format!("Nothing deleted; the {one} {} stays", d.label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn category(code: &str, parent: Option<&str>) -> Category {
        Category {
            code: code.into(),
            label: code.to_uppercase(),
            parent: parent.map(Into::into),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn group(grants: &[(&str, CategoryLevel)]) -> Group {
        Group {
            code: "g".into(),
            label: "G".into(),
            everything: false,
            permissions: grants
                .iter()
                .map(|(c, l)| CategoryGrant {
                    category: (*c).into(),
                    level: *l,
                })
                .collect(),
            default: false,
            connection_count: 0,
            connections: Vec::new(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn r11_a_grant_applies_to_the_subtree_and_the_strongest_wins() {
        let tree = [
            category("b_child", Some("a_root")),
            category("a_root", None),
            category("c_grand", Some("b_child")),
            category("z_other", None),
        ];
        let g = group(&[
            ("a_root", CategoryLevel::View),
            ("c_grand", CategoryLevel::Edit),
        ]);
        let rows = category_rows(&tree, &g);
        let codes: Vec<(&str, usize)> = rows.iter().map(|r| (r.code.as_str(), r.depth)).collect();
        assert_eq!(
            codes,
            [
                ("a_root", 0),
                ("b_child", 1),
                ("c_grand", 2),
                ("z_other", 0)
            ]
        );
        assert_eq!(rows[1].own, None);
        assert_eq!(rows[1].effective, Some(CategoryLevel::View));
        assert_eq!(rows[1].inherited_from.as_deref(), Some("A_ROOT"));
        assert_eq!(rows[2].effective, Some(CategoryLevel::Edit));
        assert_eq!(rows[2].inherited_from, None, "its own grant is stronger");
        assert_eq!(rows[3].effective, None);
    }

    #[test]
    fn a_weaker_own_grant_under_a_stronger_one_is_shown_inherited() {
        let tree = [category("a", None), category("b", Some("a"))];
        let g = group(&[("a", CategoryLevel::Edit), ("b", CategoryLevel::View)]);
        let rows = category_rows(&tree, &g);
        assert_eq!(rows[1].own, Some(CategoryLevel::View));
        assert_eq!(rows[1].effective, Some(CategoryLevel::Edit));
        assert_eq!(rows[1].inherited_from.as_deref(), Some("A"));
    }

    #[test]
    fn levels_cycle_and_grants_stay_sorted() {
        assert_eq!(next_level(None), Some(CategoryLevel::View));
        assert_eq!(
            next_level(Some(CategoryLevel::View)),
            Some(CategoryLevel::Edit)
        );
        assert_eq!(next_level(Some(CategoryLevel::Edit)), None);
        let g = group(&[("b", CategoryLevel::View)]);
        let set = with_level(&g.permissions, "a", Some(CategoryLevel::Edit));
        assert_eq!(set[0].category, "a");
        assert_eq!(with_level(&set, "a", None), g.permissions);
    }

    #[test]
    fn r10_a_toggle_grants_or_revokes_one_permission_in_canonical_order() {
        let p = [Permission::ProductsList, Permission::ApiAccess];
        assert_eq!(
            toggled(&p, Permission::ProductsEdit),
            [
                Permission::ApiAccess,
                Permission::ProductsList,
                Permission::ProductsEdit
            ]
        );
        assert_eq!(
            toggled(&p, Permission::ApiAccess),
            [Permission::ProductsList]
        );
    }

    #[test]
    fn focus_moves_left_and_right_within_the_panes() {
        assert_eq!(PermFocus::List.moved(false), PermFocus::List);
        assert_eq!(PermFocus::List.moved(true), PermFocus::Connection);
        assert_eq!(PermFocus::Sets.moved(true), PermFocus::Grants);
        assert_eq!(PermFocus::Grants.moved(true), PermFocus::Grants);
    }
}
