//! The keymap: every binding the app reacts to, by context. The defaults are
//! an embedded TOML file; a user file overrides only the actions it names.
//! The footer hints and the `?` help are generated from the live keymap.

use std::collections::BTreeMap;
use std::fmt;
use strum::VariantArray;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// Where a key is pressed; its name is its section in keymap.toml.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum Context {
    Global,
    /// Tab switching, from the tabs' own keys (not while typing).
    Tabs,
    List,
    Register,
    /// The flow editor (a modal over the Register tab).
    FlowEditor,
    /// Choosing a step's connection in the flow editor.
    StepPicker,
    Credentials,
    /// The Permissions tab: a connection's role and group, the roles and
    /// groups themselves (R10, R11).
    Permissions,
    /// Choosing a connection's role or group (Permissions tab).
    Picker,
    /// The users and their access to integrations (R29): a dialog.
    Users,
    /// The Monitor tab (R23, R24).
    Monitor,
    /// The replace picker (R16a): typing filters the connections.
    Replace,
    Filter,
    Form,
    Confirm,
    Secret,
    Help,
}

impl Context {
    /// Its section in keymap.toml.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// A heading for the help overlay and the README.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Tabs => "Tabs and users (in any tab, not while typing)",
            Context::List => "Connections tab",
            Context::Register => "Register tab",
            Context::FlowEditor => "Flow editor (Register tab)",
            Context::StepPicker => "Choosing a step's connection (flow editor)",
            Context::Credentials => "Credentials tab",
            Context::Permissions => "Permissions tab",
            Context::Picker => "Choosing a role or group (Permissions tab)",
            Context::Users => "Users and access (U anywhere, A on an integration)",
            Context::Monitor => "Monitor tab",
            Context::Replace => "Replacing a connection (r in the Connections tab)",
            Context::Filter => "While typing a filter",
            Context::Form => "In a form",
            Context::Confirm => "In a confirmation",
            Context::Secret => "Password shown once",
            Context::Help => "In this help",
        }
    }

    /// Where a key not bound in this context is looked up next, in order.
    /// Tab switching applies only where no text is typed.
    fn fallbacks(self) -> &'static [Context] {
        match self {
            Context::Global => &[],
            Context::List
            | Context::Register
            | Context::Credentials
            | Context::Permissions
            | Context::Monitor => &[Context::Tabs, Context::Global],
            _ => &[Context::Global],
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    ForceQuit,
    Suspend,
    Up,
    Down,
    First,
    Last,
    PageUp,
    PageDown,
    Filter,
    ClearFilter,
    New,
    Edit,
    Delete,
    Demo,
    Refresh,
    /// After an edit conflict: save yours over the other version.
    Overwrite,
    Login,
    Help,
    Quit,
    Apply,
    Cancel,
    NextField,
    PrevField,
    Save,
    Yes,
    No,
    Copy,
    CopyAll,
    Close,
    NextTab,
    PrevTab,
    ShowConnections,
    ShowRegister,
    ShowCredentials,
    ShowPermissions,
    ShowMonitor,
    Open,
    FocusList,
    FocusCard,
    Back,
    Reveal,
    RegenerateSecret,
    RegeneratePassword,
    FocusIntegrations,
    FocusConnections,
    // The flow editor (Register tab).
    FocusFlows,
    AddStep,
    ChangeStep,
    ToggleKind,
    RemoveStep,
    MoveStepUp,
    MoveStepDown,
    Rename,
    Toggle,
    ToggleAll,
    Discard,
    Replace,
    StaleOnly,
    /// R27: test the selected connection's application side.
    Test,
    NextScope,
    PrevScope,
    PrevChoice,
    NextChoice,
    // The Permissions tab.
    PaneLeft,
    PaneRight,
    ShowRoles,
    ShowGroups,
    Pick,
    // The Monitor tab.
    ShowAll,
    // Integrations, users and access (R29).
    NewIntegration,
    DeleteIntegration,
    /// The users dialog, on the selected integration's access.
    Access,
    /// The users dialog.
    Users,
    GrantManage,
    GrantMonitor,
    RevokeAccess,
}

/// Actions whose hints show as one: "↑↓ move", "←→ list/card".
const PAIRED: [(Action, Action); 7] = [
    (Action::PaneLeft, Action::PaneRight),
    (Action::ShowRoles, Action::ShowGroups),
    (Action::Up, Action::Down),
    (Action::FocusList, Action::FocusCard),
    (Action::FocusIntegrations, Action::FocusConnections),
    (Action::PrevChoice, Action::NextChoice),
    (Action::MoveStepUp, Action::MoveStepDown),
];

/// (context, name in the TOML file, action, description, footer hint).
const ACTIONS: &[(Context, &str, Action, &str, Option<&str>)] = &[
    (
        Context::Global,
        "force_quit",
        Action::ForceQuit,
        "quit from anywhere",
        None,
    ),
    (
        Context::Global,
        "suspend",
        Action::Suspend,
        "suspend to the shell (fg resumes)",
        None,
    ),
    (Context::Tabs, "next", Action::NextTab, "next tab", None),
    (
        Context::Tabs,
        "previous",
        Action::PrevTab,
        "previous tab",
        None,
    ),
    (
        Context::Tabs,
        "connections",
        Action::ShowConnections,
        "the Connections tab",
        None,
    ),
    (
        Context::Tabs,
        "register",
        Action::ShowRegister,
        "the Register tab",
        None,
    ),
    (
        Context::Tabs,
        "credentials",
        Action::ShowCredentials,
        "the Credentials tab",
        None,
    ),
    (
        Context::Tabs,
        "permissions",
        Action::ShowPermissions,
        "the Permissions tab",
        None,
    ),
    (
        Context::Tabs,
        "monitor",
        Action::ShowMonitor,
        "the Monitor tab",
        None,
    ),
    (
        Context::Tabs,
        "users",
        Action::Users,
        "users, their passwords and their access to integrations (owner and admins)",
        None,
    ),
    (Context::List, "up", Action::Up, "move up", Some("move")),
    (Context::List, "down", Action::Down, "move down", None),
    (
        Context::List,
        "first",
        Action::First,
        "first connection",
        None,
    ),
    (Context::List, "last", Action::Last, "last connection", None),
    (Context::List, "page_up", Action::PageUp, "page up", None),
    (
        Context::List,
        "page_down",
        Action::PageDown,
        "page down",
        None,
    ),
    (
        Context::List,
        "filter",
        Action::Filter,
        "fuzzy filter",
        Some("filter"),
    ),
    (
        Context::List,
        "clear_filter",
        Action::ClearFilter,
        "clear the filter",
        None,
    ),
    (
        Context::List,
        "open",
        Action::Open,
        "credentials of this connection (Credentials tab)",
        Some("credentials"),
    ),
    (
        Context::List,
        "new",
        Action::New,
        "new connection",
        Some("new"),
    ),
    (
        Context::List,
        "edit",
        Action::Edit,
        "edit label, flow type, visual, application side (R26)",
        Some("edit"),
    ),
    (
        Context::List,
        "delete",
        Action::Delete,
        "delete (asks first; when in use, shows what uses it)",
        Some("delete"),
    ),
    (
        Context::List,
        "replace",
        Action::Replace,
        "replace it in one step, one flow or everywhere it is used (R16a)",
        Some("replace"),
    ),
    (
        Context::List,
        "test",
        Action::Test,
        "test: call its application now (R27); a failure flags it offline",
        Some("test"),
    ),
    (
        Context::List,
        "stale_only",
        Action::StaleOnly,
        "show only stale connections, or all again (R16b)",
        Some("stale only"),
    ),
    (
        Context::List,
        "demo",
        Action::Demo,
        "load the demo workspace (empty store)",
        None,
    ),
    (
        Context::List,
        "refresh",
        Action::Refresh,
        "reload from the backend",
        None,
    ),
    (
        Context::List,
        "login",
        Action::Login,
        "log in to the server again",
        None,
    ),
    (
        Context::List,
        "help",
        Action::Help,
        "all keys",
        Some("help"),
    ),
    (Context::List, "quit", Action::Quit, "quit", Some("quit")),
    (
        Context::Register,
        "up",
        Action::Up,
        "previous integration or connection (focused pane)",
        Some("move"),
    ),
    (
        Context::Register,
        "down",
        Action::Down,
        "next integration or connection (focused pane)",
        None,
    ),
    (
        Context::Register,
        "first",
        Action::First,
        "first integration or connection",
        None,
    ),
    (
        Context::Register,
        "last",
        Action::Last,
        "last integration or connection",
        None,
    ),
    (
        Context::Register,
        "page_up",
        Action::PageUp,
        "page up",
        None,
    ),
    (
        Context::Register,
        "page_down",
        Action::PageDown,
        "page down",
        None,
    ),
    (
        Context::Register,
        "focus_integrations",
        Action::FocusIntegrations,
        "focus the integrations",
        Some("integrations/connections"),
    ),
    (
        Context::Register,
        "focus_connections",
        Action::FocusConnections,
        "focus the connections",
        None,
    ),
    (
        Context::Register,
        "new_integration",
        Action::NewIntegration,
        "new integration: name (the code fills in from it) and kind (owner and admins)",
        Some("new integration"),
    ),
    (
        Context::Register,
        "rename_integration",
        Action::Rename,
        "rename the selected integration (its code stays)",
        Some("rename"),
    ),
    (
        Context::Register,
        "delete_integration",
        Action::DeleteIntegration,
        "delete the selected integration (asks first; refused while it holds flows)",
        Some("delete"),
    ),
    (
        Context::Register,
        "access",
        Action::Access,
        "members' access to the selected integration: manage, monitor or none (owner and admins)",
        Some("access"),
    ),
    (
        Context::Register,
        "toggle",
        Action::Toggle,
        "mark the connection to register or deregister, then move down",
        Some("toggle"),
    ),
    (
        Context::Register,
        "toggle_all",
        Action::ToggleAll,
        "toggle all shown connections (all checked: uncheck all)",
        Some("all shown"),
    ),
    (
        Context::Register,
        "apply",
        Action::Apply,
        "review the pending changes and apply them in one go (asks first); on the flows: edit the flow",
        Some("apply"),
    ),
    (
        Context::Register,
        "discard",
        Action::Discard,
        "discard this integration's pending changes",
        Some("discard"),
    ),
    (
        Context::Register,
        "focus_flows",
        Action::FocusFlows,
        "focus the flows of the integration",
        None,
    ),
    (
        Context::Register,
        "new_flow",
        Action::New,
        "new flow in the integration (name, then steps)",
        Some("new flow"),
    ),
    (
        Context::Register,
        "edit_flow",
        Action::Edit,
        "edit the highlighted flow's steps",
        Some("edit flow"),
    ),
    (
        Context::Register,
        "delete_flow",
        Action::Delete,
        "delete the highlighted flow (asks first)",
        Some("delete flow"),
    ),
    (
        Context::Register,
        "filter",
        Action::Filter,
        "fuzzy filter the connections",
        Some("filter"),
    ),
    (
        Context::Register,
        "back",
        Action::Back,
        "clear the filter, else back to Connections",
        None,
    ),
    (
        Context::Register,
        "refresh",
        Action::Refresh,
        "reload from the backend",
        None,
    ),
    (
        Context::Register,
        "login",
        Action::Login,
        "log in to the server again",
        None,
    ),
    (
        Context::Register,
        "help",
        Action::Help,
        "all keys",
        Some("help"),
    ),
    (
        Context::Register,
        "quit",
        Action::Quit,
        "quit",
        Some("quit"),
    ),
    (
        Context::FlowEditor,
        "up",
        Action::Up,
        "previous step",
        Some("move"),
    ),
    (Context::FlowEditor, "down", Action::Down, "next step", None),
    (
        Context::FlowEditor,
        "first",
        Action::First,
        "first step",
        None,
    ),
    (Context::FlowEditor, "last", Action::Last, "last step", None),
    (
        Context::FlowEditor,
        "add_step",
        Action::AddStep,
        "add a step: export or import, then a connection",
        Some("add"),
    ),
    (
        Context::FlowEditor,
        "change_step",
        Action::ChangeStep,
        "choose another connection for the step",
        Some("change"),
    ),
    (
        Context::FlowEditor,
        "toggle_kind",
        Action::ToggleKind,
        "switch the step between export and import",
        Some("export/import"),
    ),
    (
        Context::FlowEditor,
        "remove_step",
        Action::RemoveStep,
        "remove the step",
        Some("remove"),
    ),
    (
        Context::FlowEditor,
        "move_step_up",
        Action::MoveStepUp,
        "move the step up",
        Some("reorder"),
    ),
    (
        Context::FlowEditor,
        "move_step_down",
        Action::MoveStepDown,
        "move the step down",
        None,
    ),
    (
        Context::FlowEditor,
        "rename",
        Action::Rename,
        "rename the flow",
        Some("rename"),
    ),
    (
        Context::FlowEditor,
        "save",
        Action::Save,
        "save the flow (registers what its steps need, R14)",
        Some("save"),
    ),
    (
        Context::FlowEditor,
        "close",
        Action::Cancel,
        "close (asks when there are unsaved changes)",
        Some("close"),
    ),
    (Context::FlowEditor, "help", Action::Help, "all keys", None),
    (
        Context::StepPicker,
        "up",
        Action::Up,
        "previous connection",
        Some("move"),
    ),
    (
        Context::StepPicker,
        "down",
        Action::Down,
        "next connection",
        None,
    ),
    (
        Context::StepPicker,
        "page_up",
        Action::PageUp,
        "page up",
        None,
    ),
    (
        Context::StepPicker,
        "page_down",
        Action::PageDown,
        "page down",
        None,
    ),
    (
        Context::StepPicker,
        "toggle_kind",
        Action::ToggleKind,
        "switch between export and import",
        Some("export/import"),
    ),
    (
        Context::StepPicker,
        "choose",
        Action::Apply,
        "use the highlighted connection",
        Some("choose"),
    ),
    (
        Context::StepPicker,
        "cancel",
        Action::Cancel,
        "back to the steps",
        Some("back"),
    ),
    (
        Context::Credentials,
        "up",
        Action::Up,
        "previous field (card) or connection (list)",
        Some("move"),
    ),
    (
        Context::Credentials,
        "down",
        Action::Down,
        "next field (card) or connection (list)",
        None,
    ),
    (
        Context::Credentials,
        "first",
        Action::First,
        "first field or connection",
        None,
    ),
    (
        Context::Credentials,
        "last",
        Action::Last,
        "last field or connection",
        None,
    ),
    (
        Context::Credentials,
        "page_up",
        Action::PageUp,
        "connections: page up",
        None,
    ),
    (
        Context::Credentials,
        "page_down",
        Action::PageDown,
        "connections: page down",
        None,
    ),
    (
        Context::Credentials,
        "focus_list",
        Action::FocusList,
        "focus the connection list",
        Some("list/card"),
    ),
    (
        Context::Credentials,
        "focus_card",
        Action::FocusCard,
        "focus the credentials card",
        None,
    ),
    (
        Context::Credentials,
        "reveal",
        Action::Reveal,
        "show the secret for 10 s",
        Some("reveal"),
    ),
    (
        Context::Credentials,
        "copy",
        Action::Copy,
        "copy the selected field",
        Some("copy"),
    ),
    (
        Context::Credentials,
        "copy_all",
        Action::CopyAll,
        "copy all as KEY=value lines (no password)",
        Some("copy all"),
    ),
    (
        Context::Credentials,
        "regenerate_secret",
        Action::RegenerateSecret,
        "new secret; every token stops working (asks first)",
        Some("new secret"),
    ),
    (
        Context::Credentials,
        "regenerate_password",
        Action::RegeneratePassword,
        "new password; every token stops working (asks first)",
        Some("new password"),
    ),
    (
        Context::Credentials,
        "filter",
        Action::Filter,
        "fuzzy filter",
        None,
    ),
    (
        Context::Credentials,
        "back",
        Action::Back,
        "clear the filter, else back to Connections",
        Some("back"),
    ),
    (
        Context::Credentials,
        "refresh",
        Action::Refresh,
        "reload from the backend",
        None,
    ),
    (
        Context::Credentials,
        "login",
        Action::Login,
        "log in to the server again",
        None,
    ),
    (
        Context::Credentials,
        "help",
        Action::Help,
        "all keys",
        Some("help"),
    ),
    (
        Context::Credentials,
        "quit",
        Action::Quit,
        "quit",
        Some("quit"),
    ),
    (
        Context::Permissions,
        "up",
        Action::Up,
        "previous row of the focused pane",
        Some("move"),
    ),
    (
        Context::Permissions,
        "down",
        Action::Down,
        "next row of the focused pane (past the role and group: the roles or groups)",
        None,
    ),
    (
        Context::Permissions,
        "first",
        Action::First,
        "first row",
        None,
    ),
    (Context::Permissions, "last", Action::Last, "last row", None),
    (
        Context::Permissions,
        "page_up",
        Action::PageUp,
        "page up",
        None,
    ),
    (
        Context::Permissions,
        "page_down",
        Action::PageDown,
        "page down",
        None,
    ),
    (
        Context::Permissions,
        "pane_left",
        Action::PaneLeft,
        "focus the pane on the left",
        Some("pane"),
    ),
    (
        Context::Permissions,
        "pane_right",
        Action::PaneRight,
        "focus the pane on the right",
        None,
    ),
    (
        Context::Permissions,
        "show_roles",
        Action::ShowRoles,
        "show and focus the roles",
        Some("roles/groups"),
    ),
    (
        Context::Permissions,
        "show_groups",
        Action::ShowGroups,
        "show and focus the groups",
        None,
    ),
    (
        Context::Permissions,
        "pick",
        Action::Pick,
        "choose another role or group for the connection (one change, at once)",
        Some("choose"),
    ),
    (
        Context::Permissions,
        "toggle",
        Action::Toggle,
        "grant/revoke a permission, or cycle a category's level none→view→edit; saved at once",
        Some("toggle"),
    ),
    (
        Context::Permissions,
        "new",
        Action::New,
        "new role or group (whichever is shown)",
        Some("new"),
    ),
    (
        Context::Permissions,
        "rename",
        Action::Edit,
        "rename the highlighted role or group",
        Some("rename"),
    ),
    (
        Context::Permissions,
        "delete",
        Action::Delete,
        "delete the highlighted role or group (asks first; refused while a connection uses it)",
        Some("delete"),
    ),
    (
        Context::Permissions,
        "filter",
        Action::Filter,
        "fuzzy filter the connections",
        None,
    ),
    (
        Context::Permissions,
        "back",
        Action::Back,
        "clear the filter, else back to Connections",
        None,
    ),
    (
        Context::Permissions,
        "refresh",
        Action::Refresh,
        "reload from the backend",
        None,
    ),
    (
        Context::Permissions,
        "login",
        Action::Login,
        "log in to the server again",
        None,
    ),
    (
        Context::Permissions,
        "help",
        Action::Help,
        "all keys",
        Some("help"),
    ),
    (
        Context::Permissions,
        "quit",
        Action::Quit,
        "quit",
        Some("quit"),
    ),
    (
        Context::Picker,
        "up",
        Action::Up,
        "previous choice",
        Some("move"),
    ),
    (Context::Picker, "down", Action::Down, "next choice", None),
    (
        Context::Picker,
        "choose",
        Action::Apply,
        "give the connection the highlighted one (one change, at once)",
        Some("choose"),
    ),
    (
        Context::Picker,
        "cancel",
        Action::Cancel,
        "close, nothing changed",
        Some("cancel"),
    ),
    (
        Context::Users,
        "up",
        Action::Up,
        "previous user",
        Some("move"),
    ),
    (Context::Users, "down", Action::Down, "next user", None),
    (Context::Users, "first", Action::First, "first user", None),
    (Context::Users, "last", Action::Last, "last user", None),
    (
        Context::Users,
        "previous_integration",
        Action::PrevChoice,
        "show the access to the previous integration",
        Some("integration"),
    ),
    (
        Context::Users,
        "next_integration",
        Action::NextChoice,
        "show the access to the next integration",
        None,
    ),
    (
        Context::Users,
        "manage",
        Action::GrantManage,
        "give the member manage access to the integration shown (R19)",
        Some("manage"),
    ),
    (
        Context::Users,
        "monitor",
        Action::GrantMonitor,
        "give the member monitor (read-only) access to it",
        Some("monitor"),
    ),
    (
        Context::Users,
        "no_access",
        Action::RevokeAccess,
        "take the member's access to it away",
        Some("no access"),
    ),
    (
        Context::Users,
        "add",
        Action::New,
        "add a member or an admin (a password generated and shown once, or typed)",
        Some("add"),
    ),
    (
        Context::Users,
        "password",
        Action::RegeneratePassword,
        "set a new password (generated and shown once, or typed); their sessions end",
        Some("password"),
    ),
    (
        Context::Users,
        "remove",
        Action::Delete,
        "remove the user (asks first); their sessions end",
        Some("remove"),
    ),
    (
        Context::Users,
        "refresh",
        Action::Refresh,
        "reload the users",
        None,
    ),
    (Context::Users, "help", Action::Help, "all keys", None),
    (
        Context::Users,
        "close",
        Action::Close,
        "close",
        Some("close"),
    ),
    (
        Context::Monitor,
        "up",
        Action::Up,
        "previous connection (All connections at the top)",
        Some("move"),
    ),
    (
        Context::Monitor,
        "down",
        Action::Down,
        "next connection",
        None,
    ),
    (
        Context::Monitor,
        "first",
        Action::First,
        "All connections",
        None,
    ),
    (
        Context::Monitor,
        "last",
        Action::Last,
        "last connection",
        None,
    ),
    (Context::Monitor, "page_up", Action::PageUp, "page up", None),
    (
        Context::Monitor,
        "page_down",
        Action::PageDown,
        "page down",
        None,
    ),
    (
        Context::Monitor,
        "all",
        Action::ShowAll,
        "all connections together",
        Some("all"),
    ),
    (
        Context::Monitor,
        "filter",
        Action::Filter,
        "fuzzy filter the connections",
        Some("filter"),
    ),
    (
        Context::Monitor,
        "back",
        Action::Back,
        "clear the filter, else back to Connections",
        None,
    ),
    (
        Context::Monitor,
        "refresh",
        Action::Refresh,
        "reload now (the tab also refreshes by itself while open)",
        None,
    ),
    (
        Context::Monitor,
        "login",
        Action::Login,
        "log in to the server again",
        None,
    ),
    (
        Context::Monitor,
        "help",
        Action::Help,
        "all keys",
        Some("help"),
    ),
    (Context::Monitor, "quit", Action::Quit, "quit", Some("quit")),
    (
        Context::Replace,
        "up",
        Action::Up,
        "previous connection",
        Some("move"),
    ),
    (
        Context::Replace,
        "down",
        Action::Down,
        "next connection",
        None,
    ),
    (Context::Replace, "page_up", Action::PageUp, "page up", None),
    (
        Context::Replace,
        "page_down",
        Action::PageDown,
        "page down",
        None,
    ),
    (
        Context::Replace,
        "next_scope",
        Action::NextScope,
        "scope: everywhere, one flow, one step",
        Some("scope"),
    ),
    (
        Context::Replace,
        "previous_scope",
        Action::PrevScope,
        "scope, backwards",
        None,
    ),
    (
        Context::Replace,
        "previous_choice",
        Action::PrevChoice,
        "previous flow or step (in that scope)",
        Some("flow/step"),
    ),
    (
        Context::Replace,
        "next_choice",
        Action::NextChoice,
        "next flow or step (in that scope)",
        None,
    ),
    (
        Context::Replace,
        "review",
        Action::Apply,
        "review what changes, then confirm",
        Some("review"),
    ),
    (
        Context::Replace,
        "cancel",
        Action::Cancel,
        "close, nothing replaced",
        Some("cancel"),
    ),
    (
        Context::Filter,
        "apply",
        Action::Apply,
        "keep the filter, back to the list",
        Some("keep"),
    ),
    (
        Context::Filter,
        "cancel",
        Action::Cancel,
        "clear the filter",
        Some("clear"),
    ),
    (Context::Filter, "up", Action::Up, "move up", Some("move")),
    (Context::Filter, "down", Action::Down, "move down", None),
    (
        Context::Form,
        "next_field",
        Action::NextField,
        "next field",
        Some("next field"),
    ),
    (
        Context::Form,
        "prev_field",
        Action::PrevField,
        "previous field",
        None,
    ),
    (Context::Form, "save", Action::Save, "save", Some("save")),
    (
        Context::Form,
        "overwrite",
        Action::Overwrite,
        "after an edit conflict: save yours over the version now stored",
        None,
    ),
    (
        Context::Form,
        "reload",
        Action::Refresh,
        "after an edit conflict: take the version now stored, dropping yours",
        None,
    ),
    (
        Context::Form,
        "cancel",
        Action::Cancel,
        "cancel",
        Some("cancel"),
    ),
    (
        Context::Confirm,
        "yes",
        Action::Yes,
        "confirm",
        Some("confirm"),
    ),
    (Context::Confirm, "no", Action::No, "cancel", Some("cancel")),
    (
        Context::Secret,
        "copy",
        Action::Copy,
        "copy the password",
        Some("copy password"),
    ),
    (
        Context::Secret,
        "copy_all",
        Action::CopyAll,
        "copy all as KEY=value lines",
        Some("copy all"),
    ),
    (
        Context::Secret,
        "close",
        Action::Close,
        "close and forget the password",
        Some("close"),
    ),
    (
        Context::Help,
        "close",
        Action::Close,
        "close help",
        Some("close"),
    ),
    (Context::Help, "up", Action::Up, "scroll up", Some("scroll")),
    (Context::Help, "down", Action::Down, "scroll down", None),
    (
        Context::Help,
        "page_up",
        Action::PageUp,
        "scroll a page up",
        None,
    ),
    (
        Context::Help,
        "page_down",
        Action::PageDown,
        "scroll a page down",
        None,
    ),
    (Context::Help, "first", Action::First, "go to the top", None),
    (Context::Help, "last", Action::Last, "go to the end", None),
];

/// One key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` restricted to what a keymap can name, with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
}

impl Key {
    /// The key of a terminal event; `None` for keys no keymap can name.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses "ctrl-c", "G", "pageup", "shift-tab", "space"…
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else if rest.len() > 1 && lower.starts_with("shift-") {
                shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                let c = if shift { c.to_ascii_uppercase() } else { c };
                // ctrl-C and ctrl-c are the same key to a terminal.
                KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" => KeyCodeOrd::Up,
                "down" => KeyCodeOrd::Down,
                "left" => KeyCodeOrd::Left,
                "right" => KeyCodeOrd::Right,
                "home" => KeyCodeOrd::Home,
                "end" => KeyCodeOrd::End,
                "pageup" => KeyCodeOrd::PageUp,
                "pagedown" => KeyCodeOrd::PageDown,
                "enter" | "return" => KeyCodeOrd::Enter,
                "esc" | "escape" => KeyCodeOrd::Esc,
                "tab" if shift => KeyCodeOrd::BackTab,
                "tab" => KeyCodeOrd::Tab,
                "backtab" => KeyCodeOrd::BackTab,
                "backspace" => KeyCodeOrd::Backspace,
                "delete" | "del" => KeyCodeOrd::Delete,
                "space" => KeyCodeOrd::Char(' '),
                f if f.starts_with('f') && f.len() > 1 => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCodeOrd::F(n),
                    _ => return Err(format!("unknown key {s:?}")),
                },
                _ => return Err(format!("unknown key {s:?}")),
            },
        };
        Ok(Key { code, ctrl, alt })
    }

    /// Whether a terminal event is this key.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        Key::from_event(ev).is_some_and(|k| {
            // Terminals report ctrl-letters in either case.
            let normalize = |k: Key| match k.code {
                KeyCodeOrd::Char(c) if k.ctrl => Key {
                    code: KeyCodeOrd::Char(c.to_ascii_lowercase()),
                    ..k
                },
                _ => k,
            };
            normalize(k) == normalize(*self)
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) if self.ctrl || self.alt => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::Home => f.write_str("Home"),
            KeyCodeOrd::End => f.write_str("End"),
            KeyCodeOrd::PageUp => f.write_str("PgUp"),
            KeyCodeOrd::PageDown => f.write_str("PgDn"),
            KeyCodeOrd::Enter => f.write_str("Enter"),
            KeyCodeOrd::Esc => f.write_str("Esc"),
            KeyCodeOrd::Tab => f.write_str("Tab"),
            KeyCodeOrd::BackTab => f.write_str("Shift-Tab"),
            KeyCodeOrd::Backspace => f.write_str("Backspace"),
            KeyCodeOrd::Delete => f.write_str("Del"),
        }
    }
}

/// One binding of the live keymap.
#[derive(Debug, Clone)]
pub struct Binding {
    pub context: Context,
    pub name: &'static str,
    pub action: Action,
    pub description: &'static str,
    pub hint: Option<&'static str>,
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// A keymap file that cannot be used; the message names the section, action
/// or key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct KeymapError {
    pub source_name: String,
    pub message: String,
}

type RawKeymap = BTreeMap<String, BTreeMap<String, Vec<String>>>;

impl Keymap {
    /// The embedded defaults.
    pub fn default_keymap() -> Keymap {
        let mut km = Keymap {
            bindings: ACTIONS
                .iter()
                .map(|&(context, name, action, description, hint)| Binding {
                    context,
                    name,
                    action,
                    description,
                    hint,
                    keys: Vec::new(),
                })
                .collect(),
        };
        km.apply(DEFAULT_KEYMAP, "built-in keymap")
            .expect("the built-in keymap is valid");
        km
    }

    /// The defaults with a user file's overrides applied. A key left bound
    /// to two actions by the result (a default keeps the key the file gives
    /// to another action) is refused, naming both.
    pub fn with_overrides(text: &str, source_name: &str) -> Result<Keymap, KeymapError> {
        let mut km = Keymap::default_keymap();
        km.apply(text, source_name)?;
        km.check_conflicts().map_err(|message| KeymapError {
            source_name: source_name.to_string(),
            message,
        })?;
        Ok(km)
    }

    /// A key that means two things where it is pressed: two actions of one
    /// context, or an action that hides one of the tab-switching or global
    /// keys the context falls back to (the hidden one would be unreachable
    /// there while the footer still showed it).
    fn check_conflicts(&self) -> Result<(), String> {
        for &context in Context::VARIANTS {
            let mut seen: BTreeMap<Key, &'static str> = BTreeMap::new();
            for b in self.bindings.iter().filter(|b| b.context == context) {
                for key in &b.keys {
                    match seen.get(key) {
                        Some(&other) if other != b.name => {
                            let (first, second) = if other < b.name {
                                (other, b.name)
                            } else {
                                (b.name, other)
                            };
                            return Err(format!(
                                "[{}] \"{key}\" is bound to both {first} and {second}",
                                context.name()
                            ));
                        }
                        Some(_) => {}
                        None => {
                            seen.insert(*key, b.name);
                        }
                    }
                }
            }
            for &fallback in context.fallbacks() {
                for b in self.bindings.iter().filter(|b| b.context == fallback) {
                    for key in &b.keys {
                        if let Some(name) = seen.get(key) {
                            return Err(format!(
                                "[{}] \"{key}\" is bound to {name}, which hides [{}] {} (the same key)",
                                context.name(),
                                fallback.name(),
                                b.name
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, text: &str, source_name: &str) -> Result<(), KeymapError> {
        let err = |message: String| KeymapError {
            source_name: source_name.to_string(),
            message,
        };
        let raw: RawKeymap = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for (section, actions) in raw {
            let context = Context::VARIANTS
                .iter()
                .copied()
                .find(|c| c.name() == section)
                .ok_or_else(|| {
                    err(format!(
                        "unknown section [{section}]; sections are: {}",
                        Context::VARIANTS
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            for (name, keys) in actions {
                let keys = keys
                    .iter()
                    .map(|k| Key::parse(k).map_err(|m| err(format!("[{section}] {name}: {m}"))))
                    .collect::<Result<Vec<_>, _>>()?;
                let binding = self
                    .bindings
                    .iter_mut()
                    .find(|b| b.context == context && b.name == name)
                    .ok_or_else(|| err(format!("[{section}] has no action {name:?}")))?;
                binding.keys = keys;
            }
        }
        Ok(())
    }

    /// The action a key triggers in a context (tab switching and global
    /// bindings included where they apply).
    pub fn action(&self, context: Context, ev: &KeyEvent) -> Option<Action> {
        self.binding(context, ev).map(|(_, action)| action)
    }

    /// The context a key is found in, with its action.
    pub fn binding(&self, context: Context, ev: &KeyEvent) -> Option<(Context, Action)> {
        let find = |ctx: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == ctx && b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| (ctx, b.action))
        };
        std::iter::once(context)
            .chain(context.fallbacks().iter().copied())
            .find_map(find)
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The keys of one action, joined for display ("↑/k").
    /// The first of the keys bound to `action` ("Ctrl-O" of "Ctrl-O/F2"),
    /// as a hint names it.
    pub fn first_key(&self, context: Context, action: Action) -> String {
        let keys = self.keys_of(context, action);
        keys.split('/').next().unwrap_or_default().to_string()
    }

    pub fn keys_of(&self, context: Context, action: Action) -> String {
        self.bindings
            .iter()
            .filter(|b| b.context == context && b.action == action)
            .flat_map(|b| b.keys.iter().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Footer hints for a context: (keys, hint) pairs, in keymap order.
    pub fn hints(&self, context: Context) -> Vec<(String, &'static str)> {
        self.hints_where(context, |_| true)
    }

    /// Footer hints for a context, of the actions `keep` accepts (what
    /// applies to the focused pane).
    pub fn hints_where(
        &self,
        context: Context,
        keep: impl Fn(Action) -> bool,
    ) -> Vec<(String, &'static str)> {
        self.action_hints_where(context, keep)
            .into_iter()
            .map(|(keys, hint, _)| (keys, hint))
            .collect()
    }

    /// Footer hints with the action each stands for, so that the footer can
    /// dim the ones that do not apply to the selected row.
    pub fn action_hints(&self, context: Context) -> Vec<(String, &'static str, Action)> {
        self.action_hints_where(context, |_| true)
    }

    pub fn action_hints_where(
        &self,
        context: Context,
        keep: impl Fn(Action) -> bool,
    ) -> Vec<(String, &'static str, Action)> {
        let mut out = Vec::new();
        for (i, b) in self.bindings.iter().enumerate() {
            if b.context != context || b.keys.is_empty() || !keep(b.action) {
                continue;
            }
            let Some(hint) = b.hint else { continue };
            let mut keys: Vec<String> = vec![b.keys[0].to_string()];
            // "move" stands for up and down together.
            if let Some(&(_, second)) = PAIRED.iter().find(|(first, _)| *first == b.action)
                && let Some(k) = self.bindings[i + 1..]
                    .iter()
                    .find(|n| n.context == context && n.action == second)
                    .and_then(|n| n.keys.first())
            {
                keys.push(k.to_string());
            }
            out.push((keys.join(""), hint, b.action));
        }
        out
    }

    /// The keys as a Markdown table (the README's key table is checked
    /// against this).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for &context in Context::VARIANTS {
            out.push_str(&format!(
                "\n**{}**\n\n| keys | action |\n| --- | --- |\n",
                context.title()
            ));
            for b in self.bindings.iter().filter(|b| b.context == context) {
                let keys = b
                    .keys
                    .iter()
                    .map(|k| format!("`{}`", k.to_string().replace('|', "\\|")))
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push_str(&format!("| {keys} | {} |\n", b.description));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEvent;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn every_action_has_a_default_key() {
        let km = Keymap::default_keymap();
        for b in km.bindings() {
            assert!(
                !b.keys.is_empty(),
                "{}.{} has no key",
                b.context.name(),
                b.name
            );
        }
    }

    #[test]
    fn arrows_and_vim_keys_move() {
        let km = Keymap::default_keymap();
        let none = KeyModifiers::NONE;
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('j'), none)),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Down, none)),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('k'), none)),
            Some(Action::Up)
        );
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Last)
        );
        assert_eq!(
            km.action(
                Context::Form,
                &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::ForceQuit),
            "global bindings apply in every context"
        );
        assert_eq!(
            km.action(Context::Form, &ev(KeyCode::Char('q'), none)),
            None
        );
    }

    #[test]
    fn user_file_overrides_only_what_it_names() {
        let km = Keymap::with_overrides("[list]\ndelete = [\"x\"]\n", "keymap.toml").unwrap();
        let none = KeyModifiers::NONE;
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('x'), none)),
            Some(Action::Delete)
        );
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('d'), none)),
            None
        );
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('n'), none)),
            Some(Action::New)
        );
        assert_eq!(km.keys_of(Context::List, Action::Delete), "x");
    }

    #[test]
    fn bad_keymap_files_fail_with_a_clear_message() {
        let e = Keymap::with_overrides("[lst]\nnew = [\"n\"]", "k.toml").unwrap_err();
        assert!(e.to_string().contains("unknown section [lst]"), "{e}");
        let e = Keymap::with_overrides("[list]\nnwe = [\"n\"]", "k.toml").unwrap_err();
        assert!(e.to_string().contains("no action \"nwe\""), "{e}");
        let e = Keymap::with_overrides("[list]\nnew = [\"hyper-n\"]", "k.toml").unwrap_err();
        assert!(e.to_string().contains("unknown key \"hyper-n\""), "{e}");
        let e = Keymap::with_overrides("[list]\nnew = \"n\"", "k.toml").unwrap_err();
        assert!(e.to_string().starts_with("k.toml:"), "{e}");
    }

    #[test]
    fn a_key_rebound_while_its_default_action_keeps_it_is_refused_naming_both() {
        let e = Keymap::with_overrides("[list]\ndelete = [\"j\"]\n", "keymap.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "keymap.toml: [list] \"j\" is bound to both delete and down"
        );
        // Two actions of the file itself on one key.
        let e = Keymap::with_overrides("[monitor]\nup = [\"x\"]\ndown = [\"x\"]\n", "keymap.toml")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("[monitor] \"x\" is bound to both down and up"),
            "{e}"
        );
    }

    #[test]
    fn a_key_moved_off_its_default_action_first_is_accepted() {
        let km = Keymap::with_overrides(
            "[list]\ndelete = [\"j\"]\ndown = [\"down\"]\n",
            "keymap.toml",
        )
        .unwrap();
        let none = KeyModifiers::NONE;
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Char('j'), none)),
            Some(Action::Delete)
        );
        assert_eq!(
            km.action(Context::List, &ev(KeyCode::Down, none)),
            Some(Action::Down)
        );
        // The same key in two contexts is no conflict.
        Keymap::with_overrides("[register]\ndiscard = [\"S\"]\n", "keymap.toml").unwrap();
    }

    #[test]
    fn a_context_key_hiding_a_tab_or_global_key_is_refused() {
        let e = Keymap::with_overrides("[list]\ndelete = [\"2\"]\n", "keymap.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "keymap.toml: [list] \"2\" is bound to delete, which hides [tabs] register (the same key)"
        );
        let e = Keymap::with_overrides("[form]\nsave = [\"ctrl-c\"]\n", "keymap.toml").unwrap_err();
        assert!(
            e.to_string()
                .contains("[form] \"Ctrl-C\" is bound to save, which hides [global] force_quit"),
            "{e}"
        );
    }

    #[test]
    fn the_default_keymap_has_no_conflicts() {
        assert_eq!(Keymap::default_keymap().check_conflicts(), Ok(()));
    }

    #[test]
    fn key_strings_parse_and_display() {
        assert_eq!(Key::parse("ctrl-C").unwrap().to_string(), "Ctrl-C");
        assert_eq!(Key::parse("shift-tab").unwrap().to_string(), "Shift-Tab");
        assert_eq!(Key::parse("pagedown").unwrap().to_string(), "PgDn");
        assert_eq!(Key::parse("space").unwrap().to_string(), "Space");
        assert_eq!(Key::parse("f1").unwrap().to_string(), "F1");
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn tab_keys_switch_tabs_only_where_no_text_is_typed() {
        let km = Keymap::default_keymap();
        let none = KeyModifiers::NONE;
        for context in [Context::List, Context::Register, Context::Credentials] {
            assert_eq!(
                km.action(context, &ev(KeyCode::Char('3'), none)),
                Some(Action::ShowCredentials)
            );
            assert_eq!(
                km.action(context, &ev(KeyCode::Tab, none)),
                Some(Action::NextTab)
            );
            assert_eq!(
                km.action(context, &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
                Some(Action::PrevTab)
            );
        }
        for context in [Context::Filter, Context::Form, Context::Confirm] {
            assert_eq!(km.action(context, &ev(KeyCode::Char('1'), none)), None);
        }
        assert_eq!(
            km.action(Context::Form, &ev(KeyCode::Tab, none)),
            Some(Action::NextField)
        );
        for context in [Context::List, Context::Register, Context::Credentials] {
            assert_eq!(
                km.action(context, &ev(KeyCode::Char('2'), none)),
                Some(Action::ShowRegister)
            );
        }
        // Every tab has its number, in every tab that shows no text field.
        for context in [
            Context::List,
            Context::Register,
            Context::Credentials,
            Context::Permissions,
            Context::Monitor,
        ] {
            assert_eq!(
                km.action(context, &ev(KeyCode::Char('4'), none)),
                Some(Action::ShowPermissions)
            );
            assert_eq!(
                km.action(context, &ev(KeyCode::Char('5'), none)),
                Some(Action::ShowMonitor)
            );
            assert_eq!(
                km.action(context, &ev(KeyCode::Tab, none)),
                Some(Action::NextTab)
            );
        }
        assert_eq!(
            km.action(Context::Picker, &ev(KeyCode::Char('4'), none)),
            None
        );
    }

    #[test]
    fn permissions_hints_pair_the_pane_and_sub_tab_keys() {
        let km = Keymap::default_keymap();
        let hints = km.hints(Context::Permissions);
        assert!(hints.contains(&("←→".to_string(), "pane")), "{hints:?}");
        assert!(
            hints.contains(&("[]".to_string(), "roles/groups")),
            "{hints:?}"
        );
        assert!(
            hints.contains(&("Space".to_string(), "toggle")),
            "{hints:?}"
        );
    }

    #[test]
    fn no_key_means_two_things_in_one_context() {
        let km = Keymap::default_keymap();
        for &context in Context::VARIANTS {
            let mut seen: BTreeMap<Key, &str> = BTreeMap::new();
            for b in km.bindings().iter().filter(|b| b.context == context) {
                for k in &b.keys {
                    if let Some(other) = seen.insert(*k, b.name) {
                        panic!("[{}] {k} is both {other} and {}", context.name(), b.name);
                    }
                }
            }
        }
    }

    #[test]
    fn credentials_hints_pair_the_focus_keys() {
        let km = Keymap::default_keymap();
        let hints = km.hints(Context::Credentials);
        assert!(
            hints.contains(&("←→".to_string(), "list/card")),
            "{hints:?}"
        );
        assert!(hints.contains(&("v".to_string(), "reveal")), "{hints:?}");
    }

    #[test]
    fn hints_follow_rebinds() {
        let km = Keymap::with_overrides("[list]\nnew = [\"a\"]\n", "k").unwrap();
        let hints = km.hints(Context::List);
        assert!(hints.contains(&("a".to_string(), "new")), "{hints:?}");
        assert!(hints.contains(&("↑↓".to_string(), "move")), "{hints:?}");
    }
}
