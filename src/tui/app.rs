//! The app state and its update function: input and backend answers become
//! state changes and commands; rendering lives in `view`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use strum::VariantArray;

use ratatui::crossterm::event::{
    Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use secrecy::{ExposeSecret, SecretString};

use super::admin::{AdminAnswer, AdminCall, AdminThen};
use super::clipboard::{AutoClear, Clipboard};
use super::data::Data;
use super::dialogs::choice::{Choice, ChoiceOutcome};
use super::dialogs::confirm::{Confirm, ConfirmOutcome};
use super::dialogs::connection_form::ConnectionForm;
use super::dialogs::flow_editor::FlowModal;
use super::dialogs::help::{self, Help, HelpOutcome};
use super::dialogs::integration_form::IntegrationForm;
pub use super::dialogs::login::LoginForm;
use super::dialogs::login::LoginOutcome;
use super::dialogs::replace::ReplacePicker;
pub use super::dialogs::set_form::SetForm;
pub use super::dialogs::set_picker::SetPicker;
pub use super::dialogs::shown_once::{Shown, ShownOnce};
use super::dialogs::user_form::UserForm;
use super::dialogs::users::UsersDialog;
use super::keymap::{Action, Context, Keymap};
use super::tabs::connections::ConnectionList;
use super::tabs::credentials::{CredentialsTab, Focus, REVEAL_TICK, Tick};
use super::tabs::monitor::MonitorTab;
use super::tabs::permissions::{Catalog, CatalogChange, PermissionsTab, SetKind};
use super::tabs::register::{self, RegFocus, RegisterTab, UsageIndex};
use super::theme::Theme;
use super::view::Screen;
use super::visual::Visuals;
use crate::client::{Client, ClientError, SessionStore};
use crate::model::{
    AuditRecord, Connection, ConnectionPage, ConnectionPatch, CreatedConnection, CredentialsInfo,
    DemoLoaded, Flow, FlowInput, FlowSaved, Integration, Me, MonitoringOverview, NewConnection,
    Quota, Registered, Replaced, User,
};

/// Everything the backend said on a (re)load.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub me: Me,
    pub quota: Quota,
    pub connections: Vec<Connection>,
    /// How many connections exist; more than `connections` after a first page.
    pub total: u64,
}

/// The integrations and flows the user sees (the Register tab, and the
/// registrations and used-by of each connection); fetched beside every
/// load of the connections.
#[derive(Debug, Clone)]
pub struct IntegrationsSnapshot {
    pub integrations: Vec<Integration>,
    pub flows: Vec<Flow>,
}

/// Rows fetched before the first frame when the terminal's height is not
/// known; the rest follow in the background.
pub const FIRST_PAGE: u64 = 200;

/// Rows fetched before the first frame of a terminal `height` lines tall:
/// as many as can show (the list never shows more rows than the terminal
/// has lines), at least 50 so that a scroll finds rows before the rest
/// arrives.
pub fn first_page(height: Option<u16>) -> u64 {
    height.map_or(FIRST_PAGE, |h| u64::from(h).max(50))
}

/// What reaches `update`: terminal input and backend answers.
#[derive(Debug)]
pub enum Msg {
    Input(Event),
    Loaded(Result<Snapshot, ClientError>),
    /// The rows after the first page.
    LoadedRest(Result<ConnectionPage, ClientError>),
    IntegrationsLoaded(Result<IntegrationsSnapshot, ClientError>),
    AuditLoaded(String, Result<Vec<AuditRecord>, ClientError>),
    Created(Result<CreatedConnection, ClientError>),
    Updated(Result<Connection, ClientError>),
    /// The version someone else saved while the form was open.
    ConflictLoaded(String, Result<Connection, ClientError>),
    Deleted(String, Result<(), ClientError>),
    DemoLoaded(Result<DemoLoaded, ClientError>),
    CredentialsLoaded(String, Result<CredentialsInfo, ClientError>),
    /// The secret of a connection, asked for a purpose.
    SecretRevealed {
        code: String,
        purpose: RevealPurpose,
        result: Result<SecretString, ClientError>,
    },
    /// A new secret, shown once in a window; how many tokens were revoked.
    SecretRegenerated(String, Result<(SecretString, u64), ClientError>),
    PasswordRegenerated(String, Result<NewPassword, ClientError>),
    /// The answer to applying an integration's pending changes.
    RegistrationsApplied(String, Result<Registered, ClientError>),
    /// The answer to replacing `code` by `with` (R16a).
    Replaced {
        code: String,
        with: String,
        result: Result<Replaced, ClientError>,
    },
    /// The answer to a flow save (R14), by flow code.
    FlowSaved(String, Result<FlowSaved, ClientError>),
    FlowDeleted(String, Result<(), ClientError>),
    /// One second of a revealed secret's countdown, by reveal generation.
    RevealTick(u64),
    ClipboardExpired(u64),
    LoggedIn(Result<User, ClientError>),
    /// Time to try the server again.
    RetryDue,
    /// Time passed while something animates (the spinner).
    Tick,
    /// The roles, groups and categories (Permissions tab).
    CatalogLoaded(Result<Catalog, ClientError>),
    /// R27: what testing a connection's application answered.
    Tested(String, Result<crate::model::TestResult, ClientError>),
    /// One connection as stored now.
    ConnectionLoaded(String, Result<Connection, ClientError>),
    /// The answer to a change of a role or group.
    CatalogChanged(CatalogChange, Result<Option<String>, ClientError>),
    /// The answer to giving a connection a role or a group (one PATCH).
    PermissionsSet {
        code: String,
        kind: SetKind,
        to: String,
        result: Result<Connection, ClientError>,
    },
    /// The Monitor tab's data, by refresh generation: every connection's
    /// last 7 days, and the wrong-credentials details of the selected one.
    MonitoringLoaded {
        generation: u64,
        overview: Result<MonitoringOverview, ClientError>,
        credentials: Option<(String, Result<CredentialsInfo, ClientError>)>,
    },
    /// Time for the Monitor tab's next refresh, by generation.
    MonitorDue(u64),
    /// The answer about integrations, users or access (R29).
    Admin(AdminAnswer),
}

/// Work for the event loop: backend calls run as tasks and come back as `Msg`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Everything, in one go (after a change).
    Load,
    /// The first page only (`limit` rows), so the first frame comes fast;
    /// the rest follows.
    LoadFirst {
        limit: u64,
    },
    LoadRest {
        offset: u64,
    },
    /// The integrations and flows; goes with every `Load` and `LoadFirst`.
    LoadIntegrations,
    LoadAudit(String),
    /// A connection as stored now, after an edit conflict.
    LoadConflict(String),
    Create(NewConnection),
    Update(String, ConnectionPatch),
    Delete(String),
    LoadDemo,
    LoadCredentials(String),
    /// Ask for the secret (audited on the server).
    RevealSecret {
        code: String,
        purpose: RevealPurpose,
    },
    RegenerateSecret(String),
    RegeneratePassword(String),
    /// An integration's pending registrations and deregistrations, in one
    /// request (one transaction).
    ApplyRegistrations {
        integration: String,
        register: Vec<String>,
        deregister: Vec<String>,
    },
    /// R16a: replace `code` by `with` in one step (`flow` and `position`),
    /// one flow, or everywhere; one request, one transaction.
    Replace {
        code: String,
        with: String,
        flow: Option<String>,
        position: Option<u32>,
    },
    /// A whole flow, in one `save_flow` call.
    SaveFlow {
        code: String,
        input: FlowInput,
    },
    DeleteFlow(String),
    /// Send `RevealTick(generation)` after the delay.
    RevealTick {
        generation: u64,
        after: Duration,
    },
    /// Send `ClipboardExpired(generation)` after the delay.
    ExpireClipboard {
        generation: u64,
        after: Duration,
    },
    Suspend,
    /// Log in to the server; keep the session in the store when given.
    Login {
        username: String,
        password: Hidden,
        keep: Option<(String, SessionStore)>,
    },
    /// Send `RetryDue` after the delay (reconnecting to a server).
    RetryAfter(Duration),
    /// The roles, groups and categories.
    LoadCatalog,
    /// Create, change or delete a role or a group.
    ChangeCatalog(CatalogChange),
    /// Give a connection another role or group, in one PATCH that names
    /// the version it read.
    SetPermissions {
        code: String,
        kind: SetKind,
        to: String,
        version: u64,
    },
    /// The Monitor tab's data (quiet: no spinner, no draw unless it
    /// changed).
    RefreshMonitoring {
        generation: u64,
        /// The connection whose wrong-credentials details to fetch too.
        code: Option<String>,
    },
    /// Send `MonitorDue(generation)` after the delay.
    MonitorAfter {
        generation: u64,
        after: Duration,
    },
    /// Integrations, users or access (R29).
    Admin(AdminCall),
    /// R27: test a connection's application side (a real call; can take
    /// the server's test timeout).
    TestConnection(String),
    /// One connection as stored now (after a test changed its offline
    /// flag).
    LoadConnection(String),
}

/// A test of a connection's application side asked from the console (R27).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionTest {
    Running,
    Done(crate::model::TestResult),
    /// Refused or not made (no application side, no access, unreachable
    /// backend): why.
    Refused(String),
}

/// What a revealed secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealPurpose {
    /// Show it in the card for a few seconds.
    Show,
    /// Copy it (the secret field).
    Copy,
    /// Copy all the card's values as `KEY=value` lines.
    CopyAll,
    /// The same, with the new password of the open show-once window.
    CopyAllWithPassword,
}

/// A regenerated password, on its way to the show-once window.
#[derive(Debug)]
pub struct NewPassword {
    pub username: String,
    pub password: SecretString,
    pub revoked_tokens: u64,
}

/// A secret inside a command: never printed, never equal to anything.
#[derive(Clone)]
pub struct Hidden(pub SecretString);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hidden(..)")
    }
}

impl PartialEq for Hidden {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

/// Runs one command against the backend.
pub async fn execute(client: &Client, command: Command) -> Option<Msg> {
    Some(match command {
        Command::Load | Command::LoadFirst { .. } => {
            let limit = match command {
                Command::LoadFirst { limit } => Some(limit),
                _ => None,
            };
            let result = async {
                let me = client.me().await?;
                let quota = client.quota().await?;
                let page = client.list_connections_page(0, limit).await?;
                Ok(Snapshot {
                    me,
                    quota,
                    connections: page.items,
                    total: page.total,
                })
            }
            .await;
            Msg::Loaded(result)
        }
        Command::LoadIntegrations => {
            let result = async {
                let integrations = client.list_integrations().await?;
                let flows = client.list_flows().await?;
                Ok(IntegrationsSnapshot {
                    integrations,
                    flows,
                })
            }
            .await;
            Msg::IntegrationsLoaded(result)
        }
        Command::LoadRest { offset } => {
            Msg::LoadedRest(client.list_connections_page(offset, None).await)
        }
        Command::LoadAudit(code) => {
            let r = client.connection_audit(&code).await;
            Msg::AuditLoaded(code, r)
        }
        Command::LoadConflict(code) => {
            let r = client.get_connection(&code).await;
            Msg::ConflictLoaded(code, r)
        }
        Command::Create(new) => Msg::Created(client.create_connection(&new).await),
        Command::Update(code, patch) => Msg::Updated(client.update_connection(&code, &patch).await),
        Command::Delete(code) => {
            let r = client.delete_connection(&code).await;
            Msg::Deleted(code, r)
        }
        Command::LoadDemo => Msg::DemoLoaded(client.load_demo().await),
        Command::ApplyRegistrations {
            integration,
            register,
            deregister,
        } => {
            let r = client
                .apply_registrations(&integration, &register, &deregister)
                .await;
            Msg::RegistrationsApplied(integration, r)
        }
        Command::Replace {
            code,
            with,
            flow,
            position,
        } => {
            let result = client
                .replace_connection(&code, &with, flow.as_deref(), position)
                .await;
            Msg::Replaced { code, with, result }
        }
        Command::SaveFlow { code, input } => {
            let r = client.save_flow(&code, &input).await;
            Msg::FlowSaved(code, r)
        }
        Command::DeleteFlow(code) => {
            let r = client.delete_flow(&code).await;
            Msg::FlowDeleted(code, r)
        }
        Command::LoadCredentials(code) => {
            let r = client.credentials_info(&code).await;
            Msg::CredentialsLoaded(code, r)
        }
        Command::RevealSecret { code, purpose } => {
            // The answer's plain string moves into a SecretString at once.
            let result = client
                .reveal_secret(&code)
                .await
                .map(|r| SecretString::from(r.secret));
            Msg::SecretRevealed {
                code,
                purpose,
                result,
            }
        }
        Command::RegenerateSecret(code) => {
            // The plain string moves into a SecretString at once; the
            // window that shows it once drops it on close.
            let result = client
                .regenerate_secret(&code)
                .await
                .map(|r| (SecretString::from(r.secret), r.revoked_tokens));
            Msg::SecretRegenerated(code, result)
        }
        Command::RegeneratePassword(code) => {
            let result = client
                .regenerate_password(&code)
                .await
                .map(|r| NewPassword {
                    username: r.username,
                    password: SecretString::from(r.password),
                    revoked_tokens: r.revoked_tokens,
                });
            Msg::PasswordRegenerated(code, result)
        }
        Command::RevealTick { generation, after } => {
            tokio::time::sleep(after).await;
            Msg::RevealTick(generation)
        }
        Command::ExpireClipboard { generation, after } => {
            tokio::time::sleep(after).await;
            Msg::ClipboardExpired(generation)
        }
        Command::Suspend => return None,
        Command::Login {
            username,
            password,
            keep,
        } => {
            let result = client.login(&username, password.0.expose_secret()).await;
            let result = match (result, keep) {
                (Ok(session), Some((url, store))) => {
                    let token = SecretString::from(session.token.clone());
                    match store.save(&url, &token) {
                        Ok(()) => Ok(session.user),
                        Err(e) => Err(ClientError::Transport(format!(
                            "logged in, but the session could not be kept in {}: {e}",
                            store.path().display()
                        ))),
                    }
                }
                (r, _) => r.map(|s| s.user),
            };
            Msg::LoggedIn(result)
        }
        Command::RetryAfter(delay) => {
            tokio::time::sleep(delay).await;
            Msg::RetryDue
        }
        Command::LoadCatalog => {
            let result = async {
                Ok(Catalog {
                    roles: client.list_roles().await?,
                    groups: client.list_groups().await?,
                    categories: client.list_categories().await?,
                })
            }
            .await;
            Msg::CatalogLoaded(result)
        }
        Command::ChangeCatalog(change) => {
            let result = super::tabs::permissions::execute_change(client, &change).await;
            Msg::CatalogChanged(change, result)
        }
        Command::SetPermissions {
            code,
            kind,
            to,
            version,
        } => {
            let patch = ConnectionPatch {
                role: (kind == SetKind::Roles).then(|| to.clone()),
                group: (kind == SetKind::Groups).then(|| to.clone()),
                version: Some(version),
                ..Default::default()
            };
            let result = client.update_connection(&code, &patch).await;
            Msg::PermissionsSet {
                code,
                kind,
                to,
                result,
            }
        }
        Command::RefreshMonitoring { generation, code } => {
            let overview = client.monitoring().await;
            let credentials = match code {
                Some(code) => {
                    let r = client.credentials_info(&code).await;
                    Some((code, r))
                }
                None => None,
            };
            Msg::MonitoringLoaded {
                generation,
                overview,
                credentials,
            }
        }
        Command::MonitorAfter { generation, after } => {
            tokio::time::sleep(after).await;
            Msg::MonitorDue(generation)
        }
        Command::Admin(call) => Msg::Admin(super::admin::execute(client, call).await),
        Command::TestConnection(code) => {
            let r = client.test_connection(&code).await;
            Msg::Tested(code, r)
        }
        Command::LoadConnection(code) => {
            let r = client.get_connection(&code).await;
            Msg::ConnectionLoaded(code, r)
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub kind: StatusKind,
    pub text: String,
}

/// The tabs, in order (SPEC §6); each shows as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::Display)]
pub enum Tab {
    Connections,
    Register,
    Credentials,
    Permissions,
    Monitor,
}

impl Tab {
    /// The action that opens it (its number key).
    pub fn action(self) -> Action {
        match self {
            Tab::Connections => Action::ShowConnections,
            Tab::Register => Action::ShowRegister,
            Tab::Credentials => Action::ShowCredentials,
            Tab::Permissions => Action::ShowPermissions,
            Tab::Monitor => Action::ShowMonitor,
        }
    }

    fn cycled(self, forward: bool) -> Tab {
        let n = Tab::VARIANTS.len();
        let i = Tab::VARIANTS.iter().position(|t| *t == self).unwrap_or(0);
        Tab::VARIANTS[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// Why the backend cannot be used right now (shown as a banner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The server does not answer; the app retries by itself.
    Unreachable(String),
    /// No session, or it expired; the user logs in again.
    LoggedOut(String),
}

/// How often an unreachable server is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(3);

pub enum Modal {
    Login(Box<LoginForm>),
    Form(Box<ConnectionForm>),
    /// A yes/no question carrying what yes does.
    Confirm(Box<Confirm<Then>>),
    ShownOnce(Box<ShownOnce>),
    Help(Help),
    /// R16a: the replace picker.
    Replace(Box<ReplacePicker>),
    /// The flow editor and its forms (Register tab).
    Flow(Box<FlowModal>),
    /// Choosing a connection's role or group (Permissions tab).
    Picker(Box<SetPicker>),
    /// Naming a new role or group, or renaming one (Permissions tab).
    SetForm(Box<SetForm>),
    /// A question with a few answers, each carrying what it does.
    Choice(Box<Choice<Then>>),
    /// Creating or renaming an integration (Register tab, R29).
    IntegrationForm(Box<IntegrationForm>),
    /// The users and their access to integrations (R29).
    Users(Box<UsersDialog>),
    /// Adding a user, or giving one a new password.
    UserForm(Box<UserForm>),
}

/// What an answer does, once given (a choice's answers, a confirmation's
/// yes): the dialogs carry it, the app runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    /// Open flow `code` in the editor: attached to the selected
    /// integration, or (a standalone flow) as it is.
    EditFlow {
        code: String,
        attach: bool,
    },
    /// Delete a connection.
    Delete {
        code: String,
        label: String,
    },
    /// Open the replace picker for a connection in use (R8, R16a).
    OpenReplace(String),
    /// Delete a role or a group.
    ChangeCatalog {
        change: CatalogChange,
        doing: String,
    },
    /// R16a: replace a connection in flow steps.
    Replace {
        code: String,
        label: String,
        with: String,
        with_label: String,
        flow: Option<String>,
        position: Option<u32>,
    },
    RegenerateSecret {
        code: String,
        label: String,
    },
    RegeneratePassword {
        code: String,
        label: String,
    },
    /// Quit although registration changes are pending.
    Quit,
    /// Apply an integration's pending registration changes.
    ApplyRegistrations {
        integration: String,
        name: String,
        register: Vec<String>,
        deregister: Vec<String>,
    },
    DeleteFlow {
        code: String,
        name: String,
    },
    /// Close the flow editor, dropping its unsaved changes.
    DiscardFlowEdits {
        name: String,
    },
    /// About integrations or users (R29).
    Admin(AdminThen),
}

/// The whole app state.
pub struct App {
    pub client: Client,
    pub backend: String,
    /// What the backend returned, read by every tab.
    pub data: Data,
    pub keymap: Keymap,
    pub theme: Theme,
    pub tab: Tab,
    pub credentials: CredentialsTab,
    pub register: RegisterTab,
    pub permissions: PermissionsTab,
    pub monitor: MonitorTab,
    /// The connection list (Connections tab; the side list of the
    /// Register, Credentials and Monitor tabs): its filter and selection.
    pub list: ConnectionList,
    pub modals: Vec<Modal>,
    pub status: Option<Status>,
    pub in_flight: usize,
    pub clipboard: Clipboard,
    /// Clears copied secrets from the clipboard after a while.
    pub(crate) auto_clear: AutoClear,
    pub visuals: Visuals,
    pub graphics: bool,
    /// Where the last frame drew what (scroll offsets, click areas): the
    /// view's widget state, written only while drawing.
    pub screen: Screen,
    /// Why the backend cannot be used right now, if so.
    pub problem: Option<Problem>,
    /// For a server: its URL and where to keep a session after a login.
    pub sessions: Option<(String, SessionStore)>,
    retry_pending: bool,
    in_flight_since: Option<std::time::Instant>,
    pub spinner_frame: usize,
    /// R27: the tests asked from the console, by connection code: running,
    /// or what the last one answered.
    pub tests: std::collections::BTreeMap<String, ConnectionTest>,
    dirty: bool,
    pub quit: bool,
    /// The terminal's size, when known (the event loop tells it at start
    /// and on every resize). Below the minimum only quit and resize act.
    size: Option<(u16, u16)>,
    /// Frames drawn so far (the idle test watches it).
    pub draws: Arc<AtomicU64>,
}

impl App {
    pub fn new(client: Client, keymap: Keymap, theme: Theme, clipboard: Clipboard) -> App {
        App {
            backend: client.backend(),
            client,
            data: Data::default(),
            keymap,
            theme,
            tab: Tab::Connections,
            credentials: CredentialsTab::default(),
            register: RegisterTab::default(),
            permissions: PermissionsTab::default(),
            monitor: MonitorTab::default(),
            list: ConnectionList::default(),
            modals: Vec::new(),
            status: None,
            in_flight: 0,
            clipboard,
            auto_clear: AutoClear::new(Duration::from_secs(30)),
            visuals: Visuals::default(),
            graphics: false,
            screen: Screen::default(),
            problem: None,
            sessions: None,
            retry_pending: false,
            in_flight_since: None,
            spinner_frame: 0,
            tests: std::collections::BTreeMap::new(),
            dirty: true,
            quit: false,
            size: None,
            draws: Arc::new(AtomicU64::new(0)),
        }
    }

    /// An app with the default keymap and an in-memory clipboard, for driving
    /// without a terminal (tests, benchmarks, screenshots).
    pub fn headless(client: Client, theme: Theme) -> App {
        App::new(client, Keymap::default_keymap(), theme, Clipboard::memory())
    }

    /// How long a copied secret stays in the clipboard; zero: until
    /// something else is copied.
    pub fn set_clear_clipboard_after(&mut self, after: Duration) {
        self.auto_clear.set_after(after);
    }

    /// The commands to run at start.
    pub fn start(&mut self) -> Vec<Command> {
        let limit = first_page(self.size.map(|(_, h)| h));
        self.track(vec![Command::LoadFirst { limit }])
    }

    /// Whether something changed since the last draw; resets the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn mark_drawn(&self) {
        self.draws.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts backend calls in flight (the footer says "working…"). Every
    /// load of the connections fetches the integrations and flows too, in
    /// parallel.
    fn track(&mut self, mut commands: Vec<Command>) -> Vec<Command> {
        if commands
            .iter()
            .any(|c| matches!(c, Command::Load | Command::LoadFirst { .. }))
            && !commands.contains(&Command::LoadIntegrations)
        {
            commands.push(Command::LoadIntegrations);
        }
        self.in_flight += commands
            .iter()
            .filter(|c| {
                !matches!(
                    c,
                    Command::ExpireClipboard { .. }
                        | Command::RevealTick { .. }
                        | Command::Suspend
                        | Command::RetryAfter(_)
                        // The Monitor tab's own refreshes are quiet.
                        | Command::RefreshMonitoring { .. }
                        | Command::MonitorAfter { .. }
                )
            })
            .count();
        if self.in_flight > 0 && self.in_flight_since.is_none() {
            self.in_flight_since = Some(std::time::Instant::now());
        }
        commands
    }

    /// Whether every connection has arrived.
    pub fn fully_loaded(&self) -> bool {
        self.data.connections.len() as u64 >= self.data.total
    }

    pub fn selected_connection(&self) -> Option<&Connection> {
        self.list
            .filter
            .visible()
            .get(self.list.selected)
            .and_then(|&i| self.data.connections.get(i))
    }

    pub(super) fn set_status(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status {
            kind,
            text: text.into(),
        });
    }

    /// The context keys are looked up in.
    pub fn context(&self) -> Context {
        match self.modals.last() {
            Some(
                Modal::Form(_)
                | Modal::Login(_)
                | Modal::SetForm(_)
                | Modal::IntegrationForm(_)
                | Modal::UserForm(_),
            ) => Context::Form,
            Some(Modal::Users(_)) => Context::Users,
            Some(Modal::Picker(_) | Modal::Choice(_)) => Context::Picker,
            Some(Modal::Confirm(_)) => Context::Confirm,
            Some(Modal::ShownOnce(_)) => Context::Secret,
            Some(Modal::Help(_)) => Context::Help,
            Some(Modal::Replace(_)) => Context::Replace,
            Some(Modal::Flow(m)) => m.context(),
            None if self.list.filter_editing => Context::Filter,
            None => match self.tab {
                Tab::Connections => Context::List,
                Tab::Register => Context::Register,
                Tab::Credentials => Context::Credentials,
                Tab::Permissions => Context::Permissions,
                Tab::Monitor => Context::Monitor,
            },
        }
    }

    /// The label of a connection, or its code when it is not loaded.
    pub(super) fn label_of(&self, code: &str) -> String {
        self.data
            .connections
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_string(), |c| c.label.clone())
    }

    /// Handles one message; returns the commands to run.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        let commands = match msg {
            Msg::Input(event) => return self.on_input(event),
            Msg::Loaded(r) => {
                self.finish_call();
                self.on_loaded(r)
            }
            Msg::LoadedRest(r) => {
                self.finish_call();
                match r {
                    // Only if it continues what is loaded (a full reload may
                    // have overtaken it).
                    Ok(page)
                        if page.offset == self.data.connections.len() as u64
                            && !self.fully_loaded() =>
                    {
                        let keep = self.selected_connection().map(|c| c.code.clone());
                        self.data.total = page.total;
                        self.data.connections.extend(page.items);
                        self.after_rows_changed(keep);
                        Vec::new()
                    }
                    Ok(_) => Vec::new(),
                    Err(e) => {
                        self.set_status(
                            StatusKind::Error,
                            format!("Could not load all connections: {e}"),
                        );
                        self.backend_error(&e)
                    }
                }
            }
            Msg::IntegrationsLoaded(r) => {
                self.finish_call();
                self.on_integrations_loaded(r)
            }
            Msg::AuditLoaded(code, r) => {
                self.finish_call();
                let commands = match &r {
                    Err(e) => self.backend_error(e),
                    Ok(_) => Vec::new(),
                };
                self.data.audit = Some((code, r.map_err(|e| e.to_string())));
                commands
            }
            Msg::Created(r) => {
                self.finish_call();
                self.on_created(r)
            }
            Msg::Updated(r) => {
                self.finish_call();
                match r {
                    Ok(c) => {
                        let over = match self.modals.last() {
                            Some(Modal::Form(f)) => f.conflict.as_ref().map(|t| t.version),
                            _ => None,
                        };
                        self.pop_form();
                        self.set_status(
                            StatusKind::Success,
                            match over {
                                Some(v) => format!("Saved {} over version {v}", c.label),
                                None => format!("Saved {}", c.label),
                            },
                        );
                        self.list.select_after_load = Some(c.code);
                        vec![Command::Load]
                    }
                    Err(e) if e.code() == Some("stale") => self.on_edit_conflict(e),
                    Err(e) => self.form_error(e),
                }
            }
            Msg::ConflictLoaded(code, r) => {
                self.finish_call();
                let Some(Modal::Form(form)) = self.modals.last_mut() else {
                    return Vec::new();
                };
                if !matches!(&form.mode, super::dialogs::connection_form::FormMode::Edit { code: c } if *c == code)
                {
                    return Vec::new();
                }
                form.submitting = false;
                match r {
                    Ok(theirs) => {
                        let refused = form.general_error.take().unwrap_or_default();
                        form.general_error = Some(format!(
                            "{refused}. Someone else saved {} while you edited it: it is at version {} now. Compare, then choose.",
                            theirs.label, theirs.version
                        ));
                        form.conflict = Some(theirs);
                        Vec::new()
                    }
                    Err(e) => {
                        form.general_error = Some(format!(
                            "Someone else changed this connection, and it could not be read again: {e}"
                        ));
                        self.backend_error(&e)
                    }
                }
            }
            Msg::Deleted(code, r) => {
                self.finish_call();
                match r {
                    Ok(()) => {
                        self.set_status(StatusKind::Success, format!("Deleted {code}"));
                        vec![Command::Load]
                    }
                    Err(e) => {
                        self.set_status(StatusKind::Error, format!("Could not delete {code}: {e}"));
                        let mut commands = self.backend_error(&e);
                        // In use after all, or gone: show what is true now.
                        if matches!(e.status(), Some(404 | 409)) {
                            commands.push(Command::Load);
                        }
                        commands
                    }
                }
            }
            Msg::DemoLoaded(r) => {
                self.finish_call();
                match r {
                    Ok(d) => {
                        self.set_status(
                            StatusKind::Success,
                            format!("Loaded the demo workspace: {} connections", d.created),
                        );
                        vec![Command::Load]
                    }
                    Err(e) => {
                        self.set_status(StatusKind::Error, format!("Could not load the demo: {e}"));
                        self.backend_error(&e)
                    }
                }
            }
            Msg::LoggedIn(r) => {
                self.finish_call();
                self.on_logged_in(r)
            }
            Msg::RetryDue => {
                self.retry_pending = false;
                if matches!(self.problem, Some(Problem::Unreachable(_))) {
                    vec![Command::Load]
                } else {
                    Vec::new()
                }
            }
            Msg::Tick => {
                // Only the spinner moves; draw only if it shows.
                self.spinner_frame = self.spinner_frame.wrapping_add(1);
                if self.spinner_visible() {
                    self.dirty = true;
                }
                return Vec::new();
            }
            Msg::CredentialsLoaded(code, r) => {
                self.finish_call();
                let commands = match &r {
                    Err(e) => self.backend_error(e),
                    Ok(_) => Vec::new(),
                };
                self.credentials.info = Some((code, r.map_err(|e| e.to_string())));
                commands
            }
            Msg::SecretRevealed {
                code,
                purpose,
                result,
            } => {
                self.finish_call();
                self.on_secret_revealed(code, purpose, result)
            }
            Msg::SecretRegenerated(code, r) => {
                self.finish_call();
                let label = self.label_of(&code);
                match r {
                    Ok((secret, revoked)) => {
                        if self.credentials.revealed_for(&code).is_some() {
                            self.credentials.hide();
                        }
                        self.set_status(
                            StatusKind::Success,
                            format!(
                                "New secret for {label}; {}; the client id stays",
                                revoked_tokens(revoked)
                            ),
                        );
                        let (client_id, username) = self
                            .data
                            .connections
                            .iter()
                            .find(|c| c.code == code)
                            .map(|c| (c.client_id.clone(), c.username.clone()))
                            .unwrap_or_default();
                        self.modals.push(Modal::ShownOnce(Box::new(ShownOnce {
                            what: Shown::NewSecret { revoked },
                            label,
                            code: code.clone(),
                            client_id,
                            username,
                            secret: Some(secret),
                            password: None,
                        })));
                        // The trail and the card changed: reload both.
                        self.list.select_after_load = Some(code);
                        vec![Command::Load]
                    }
                    Err(e) => {
                        self.set_status(
                            StatusKind::Error,
                            format!("Could not regenerate the secret of {label}: {e}"),
                        );
                        self.backend_error(&e)
                    }
                }
            }
            Msg::PasswordRegenerated(code, r) => {
                self.finish_call();
                let label = self.label_of(&code);
                match r {
                    Ok(new) => {
                        self.set_status(
                            StatusKind::Success,
                            format!(
                                "New password for {label}; {}",
                                revoked_tokens(new.revoked_tokens)
                            ),
                        );
                        let client_id = self
                            .data
                            .connections
                            .iter()
                            .find(|c| c.code == code)
                            .map(|c| c.client_id.clone())
                            .unwrap_or_default();
                        self.modals.push(Modal::ShownOnce(Box::new(ShownOnce {
                            what: Shown::NewPassword {
                                revoked: new.revoked_tokens,
                            },
                            label,
                            code: code.clone(),
                            client_id,
                            username: new.username,
                            secret: None,
                            password: Some(new.password),
                        })));
                        self.list.select_after_load = Some(code);
                        vec![Command::Load]
                    }
                    Err(e) => {
                        self.set_status(
                            StatusKind::Error,
                            format!("Could not regenerate the password of {label}: {e}"),
                        );
                        self.backend_error(&e)
                    }
                }
            }
            Msg::RegistrationsApplied(integration, r) => {
                self.finish_call();
                self.on_registrations_applied(integration, r)
            }
            Msg::Replaced { code, with, result } => {
                self.finish_call();
                self.on_replaced(code, with, result)
            }
            Msg::FlowSaved(code, r) => {
                self.finish_call();
                self.on_flow_saved(code, r)
            }
            Msg::FlowDeleted(code, r) => {
                self.finish_call();
                self.on_flow_deleted(code, r)
            }
            Msg::CatalogLoaded(r) => {
                self.finish_call();
                self.on_catalog_loaded(r)
            }
            Msg::CatalogChanged(change, r) => {
                self.finish_call();
                self.on_catalog_changed(change, r)
            }
            Msg::PermissionsSet {
                code,
                kind,
                to,
                result,
            } => {
                self.finish_call();
                self.on_permissions_set(code, kind, to, result)
            }
            Msg::MonitoringLoaded {
                generation,
                overview,
                credentials,
            } => {
                let (changed, commands) =
                    self.on_monitoring_loaded(generation, overview, credentials);
                if !changed {
                    // The same counts again: nothing to draw.
                    return self.track(commands);
                }
                commands
            }
            Msg::MonitorDue(generation) => {
                let commands = self.on_monitor_due(generation);
                return self.track(commands);
            }
            Msg::Admin(answer) => {
                self.finish_call();
                self.on_admin_answer(answer)
            }
            Msg::Tested(code, r) => {
                self.finish_call();
                self.on_tested(code, r)
            }
            Msg::ConnectionLoaded(code, r) => {
                self.finish_call();
                self.on_connection_loaded(code, r)
            }
            Msg::RevealTick(generation) => match self.credentials.tick(generation) {
                // Not this reveal's: nothing to draw.
                Tick::Stale => return Vec::new(),
                Tick::Counting => vec![Command::RevealTick {
                    generation,
                    after: REVEAL_TICK,
                }],
                Tick::Hidden => Vec::new(),
            },
            Msg::ClipboardExpired(generation) => {
                let cleared = self
                    .auto_clear
                    .expired(generation)
                    .is_some_and(|secret| self.clipboard.clear_if_still(&secret));
                if !cleared {
                    // A later copy took over, or the clipboard changed.
                    return Vec::new();
                }
                self.set_status(
                    StatusKind::Info,
                    "Cleared the copied secret from the clipboard",
                );
                Vec::new()
            }
        };
        self.dirty = true;
        self.track(commands)
    }

    fn finish_call(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            self.in_flight_since = None;
        }
    }

    /// Whether something animates, so the loop should tick.
    pub fn animating(&self) -> bool {
        self.in_flight > 0
    }

    /// The spinner shows once calls have been in flight for 150 ms.
    pub fn spinner_visible(&self) -> bool {
        self.in_flight_since
            .is_some_and(|t| t.elapsed() >= std::time::Duration::from_millis(150))
    }

    /// Notes what a failed call says about the backend: unreachable (retry
    /// by itself) or logged out (offer to log in).
    pub(super) fn backend_error(&mut self, e: &ClientError) -> Vec<Command> {
        match e {
            ClientError::Transport(why) => {
                self.problem = Some(Problem::Unreachable(why.clone()));
                if self.retry_pending {
                    Vec::new()
                } else {
                    self.retry_pending = true;
                    vec![Command::RetryAfter(RETRY_EVERY)]
                }
            }
            ClientError::Api { status: 401, .. } => {
                self.problem = Some(Problem::LoggedOut(e.to_string()));
                self.open_login();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Opens the login form (for a server; once).
    fn open_login(&mut self) {
        if self.sessions.is_none() {
            return;
        }
        if !self.modals.iter().any(|m| matches!(m, Modal::Login(_))) {
            let username = self
                .data
                .me
                .as_ref()
                .map(|m| m.username.clone())
                .unwrap_or_default();
            self.modals
                .push(Modal::Login(Box::new(LoginForm::new(&username))));
        }
    }

    fn on_logged_in(&mut self, r: Result<User, ClientError>) -> Vec<Command> {
        match r {
            Ok(user) => {
                self.modals.retain(|m| !matches!(m, Modal::Login(_)));
                self.problem = None;
                self.set_status(
                    StatusKind::Success,
                    format!("Logged in as {} ({})", user.username, user.kind.as_str()),
                );
                vec![Command::Load]
            }
            Err(e) => {
                if let Some(Modal::Login(form)) = self.modals.last_mut() {
                    form.submitting = false;
                    form.error = Some(e.to_string());
                }
                if matches!(e, ClientError::Transport(_)) {
                    self.backend_error(&e)
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn on_loaded(&mut self, r: Result<Snapshot, ClientError>) -> Vec<Command> {
        match r {
            Ok(snap) => {
                if let Some(Problem::Unreachable(_)) = self.problem.take() {
                    self.set_status(
                        StatusKind::Success,
                        format!("Reconnected to {}", self.backend),
                    );
                }
                let keep = self
                    .list
                    .select_after_load
                    .take()
                    .or_else(|| self.selected_connection().map(|c| c.code.clone()));
                self.data.me = Some(snap.me);
                self.data.quota = Some(snap.quota);
                self.data.connections = snap.connections;
                self.data.total = snap.total;

                self.data.loaded = true;
                self.after_rows_changed(keep);
                // The trail and the credentials may have changed with
                // what caused this reload: fetch them again.
                self.data.audit = None;
                let mut commands = self.load_for_selection(true);
                if !self.fully_loaded() {
                    commands.push(Command::LoadRest {
                        offset: self.data.connections.len() as u64,
                    });
                }
                commands
            }
            Err(e) => {
                self.set_status(
                    StatusKind::Error,
                    format!("Could not load connections: {e}"),
                );
                self.backend_error(&e)
            }
        }
    }

    fn on_integrations_loaded(
        &mut self,
        r: Result<IntegrationsSnapshot, ClientError>,
    ) -> Vec<Command> {
        match r {
            Ok(snap) => {
                let keep = self.selected_integration().map(|i| i.code.clone());
                // Built once per load, so no draw walks the flows.
                self.data.usage = UsageIndex::build(&snap.integrations, &snap.flows);
                self.data.integrations = snap.integrations;
                // The checkboxes look codes up by binary search.
                for i in &mut self.data.integrations {
                    i.registered.sort_unstable();
                }
                self.data.flows = snap.flows;
                self.data.integrations_loaded = true;
                self.register.reconcile(&self.data.integrations);
                self.register.selected = keep
                    .and_then(|code| self.data.integrations.iter().position(|i| i.code == code))
                    .unwrap_or(self.register.selected)
                    .min(self.data.integrations.len().saturating_sub(1));
                Vec::new()
            }
            Err(e) => {
                self.set_status(
                    StatusKind::Error,
                    format!("Could not load integrations and flows: {e}"),
                );
                self.backend_error(&e)
            }
        }
    }

    /// Re-indexes the rows for the filter and keeps the selection on `keep`
    /// when it is still there.
    pub(crate) fn after_rows_changed(&mut self, keep: Option<String>) {
        for c in &self.data.connections {
            if let Some(v) = c.visual.as_deref()
                && crate::domain::is_bundled_visual(v)
            {
                self.visuals.prepare(v);
            }
        }
        self.list.filter.set_rows(&self.data.connections);
        self.list.selected = keep
            .and_then(|code| self.list.position_of(&code, &self.data.connections))
            .unwrap_or(self.list.selected)
            .min(self.list.filter.visible().len().saturating_sub(1));
    }

    /// After the selection moved: the view must show it and what the open
    /// tab says about it (the audit trail, or the credentials).
    pub(crate) fn selection_changed(&mut self) -> Vec<Command> {
        self.load_for_selection(false)
    }

    /// Fetches what the open tab shows about the selected connection, when
    /// it is not held yet (or always, with `again`).
    fn load_for_selection(&mut self, again: bool) -> Vec<Command> {
        // What the tab shows whatever is selected.
        let mut commands = match self.tab {
            Tab::Permissions if again || self.permissions.catalog.is_none() => {
                vec![Command::LoadCatalog]
            }
            Tab::Monitor if again => self.request_monitor_refresh().into_iter().collect(),
            _ => Vec::new(),
        };
        let Some(c) = self.selected_connection() else {
            self.data.audit = None;
            self.credentials.info = None;
            self.credentials.hide();
            return commands;
        };
        let code = c.code.clone();
        if let Some(v) = c.visual.clone() {
            self.visuals.prepare(&v);
        }
        // A revealed secret shows only beside its own connection.
        if self.credentials.revealed.is_some() && self.credentials.revealed_for(&code).is_none() {
            self.credentials.hide();
        }
        match self.tab {
            Tab::Connections => {
                if self.data.audit.as_ref().is_none_or(|(c, _)| *c != code) {
                    commands.push(Command::LoadAudit(code));
                }
            }
            // The used-by comes with the load.
            Tab::Register => {}
            // Role and group come with the connection.
            Tab::Permissions => self.permissions_follow_selection(),
            // The Monitor tab shows the wrong-credentials details (R24).
            Tab::Credentials | Tab::Monitor => {
                if again || self.credentials.info_for(&code).is_none() {
                    commands.push(Command::LoadCredentials(code));
                }
            }
        }
        commands
    }

    /// Opens a tab; the selection and filter stay as they are.
    pub(super) fn switch_tab(&mut self, tab: Tab) -> Vec<Command> {
        if tab == self.tab {
            return Vec::new();
        }
        if self.tab == Tab::Credentials {
            self.credentials.hide();
        }
        if self.tab == Tab::Monitor {
            self.monitor_left();
        }
        self.tab = tab;
        let mut commands = self.load_for_selection(false);
        match tab {
            // Roles and groups may have changed elsewhere: fetch them anew.
            Tab::Permissions if !commands.contains(&Command::LoadCatalog) => {
                commands.push(Command::LoadCatalog);
            }
            Tab::Monitor => commands.extend(self.monitor_entered()),
            _ => {}
        }
        commands
    }

    /// Whether the terminal is below the size the app needs: "Terminal too
    /// small" is all that is drawn, so no key may act behind it.
    pub fn too_small(&self) -> bool {
        self.size
            .is_some_and(|(w, h)| w < super::view::MIN_WIDTH || h < super::view::MIN_HEIGHT)
    }

    /// Keys while the terminal is too small: only quitting (never through a
    /// confirmation nobody could see) and suspending.
    fn on_key_too_small(&mut self, key: KeyEvent) -> Vec<Command> {
        match self.keymap.action(self.context(), &key) {
            Some(Action::ForceQuit) => self.quit = true,
            Some(Action::Quit)
                if self.register.pending.values().all(|p| p.is_empty())
                    && self.modals.is_empty() =>
            {
                self.quit = true
            }
            Some(Action::Suspend) => return vec![Command::Suspend],
            _ => {}
        }
        Vec::new()
    }

    /// The terminal's area, when known.
    pub fn screen_area(&self) -> Option<Rect> {
        self.size.map(|(w, h)| Rect::new(0, 0, w, h))
    }

    fn on_choice_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(Modal::Choice(choice)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match choice.on_action(action) {
            ChoiceOutcome::Stay => Vec::new(),
            ChoiceOutcome::Cancel => {
                self.modals.pop();
                Vec::new()
            }
            ChoiceOutcome::Take(then) => {
                self.modals.pop();
                self.run(then)
            }
        }
    }

    fn on_help_action(&mut self, action: Option<Action>) {
        let lines = help::lines(&self.theme, &self.keymap).len();
        let screen = self.screen_area();
        if let Some(Modal::Help(h)) = self.modals.last_mut()
            && h.on_action(action, lines, screen) == HelpOutcome::Close
        {
            self.modals.pop();
        }
    }

    fn on_input(&mut self, event: Event) -> Vec<Command> {
        if let Event::Resize(w, h) = event {
            self.size = Some((w, h));
        }
        if self.too_small() {
            return match event {
                Event::Key(key) if key.kind == KeyEventKind::Press => self.on_key_too_small(key),
                Event::Resize(..) => {
                    self.dirty = true;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        let commands = match event {
            Event::Key(key) if key.kind == KeyEventKind::Press => self.on_key(key),
            // Releases and repeats change nothing: no redraw.
            Event::Key(_) => return Vec::new(),
            Event::Mouse(m) => match self.on_mouse(m) {
                Some(c) => c,
                None => return Vec::new(),
            },
            Event::Paste(text) => {
                if let Some(Modal::Form(form)) = self.modals.last_mut() {
                    form.paste(&text);
                } else if let Some(Modal::Replace(picker)) = self.modals.last_mut() {
                    picker.paste(&text);
                } else if let Some(Modal::Flow(m)) = self.modals.last_mut() {
                    m.paste(&text);
                } else if let Some(Modal::SetForm(form)) = self.modals.last_mut() {
                    form.paste(&text);
                } else if let Some(Modal::IntegrationForm(form)) = self.modals.last_mut() {
                    form.paste(&text);
                } else if let Some(Modal::UserForm(form)) = self.modals.last_mut() {
                    form.paste(&text);
                } else if self.list.filter_editing {
                    let q = format!(
                        "{}{}",
                        self.list.filter.query(),
                        text.replace(['\n', '\r'], "")
                    );
                    self.set_filter(&q);
                }
                Vec::new()
            }
            Event::Resize(..) => Vec::new(),
            // Back from another window: others may have changed things.
            Event::FocusGained if self.modals.is_empty() && self.data.loaded => vec![Command::Load],
            _ => return Vec::new(),
        };
        self.dirty = true;
        self.track(commands)
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Option<Vec<Command>> {
        if !self.modals.is_empty() {
            return match (m.kind, self.modals.last_mut()) {
                (MouseEventKind::ScrollDown | MouseEventKind::ScrollUp, Some(Modal::Help(_))) => {
                    let down = m.kind == MouseEventKind::ScrollDown;
                    self.on_help_action(Some(if down { Action::Down } else { Action::Up }));
                    Some(Vec::new())
                }
                (MouseEventKind::ScrollDown, Some(Modal::Replace(picker))) => {
                    picker.move_by(1);
                    Some(Vec::new())
                }
                (MouseEventKind::ScrollUp, Some(Modal::Replace(picker))) => {
                    picker.move_by(-1);
                    Some(Vec::new())
                }
                (MouseEventKind::ScrollDown | MouseEventKind::ScrollUp, Some(Modal::Users(_))) => {
                    let down = m.kind == MouseEventKind::ScrollDown;
                    Some(self.on_users_key(Some(if down { Action::Down } else { Action::Up })))
                }
                _ => None,
            };
        }
        let inside = |area: Rect| {
            m.column >= area.x
                && m.column < area.x + area.width
                && m.row >= area.y
                && m.row < area.y + area.height
        };
        let over_integrations = self.tab == Tab::Register && inside(self.screen.integration_rows);
        if self.tab == Tab::Register && inside(self.screen.flow_area) {
            return self.on_flows_mouse(m);
        }
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp if over_integrations => {
                let n = self.data.integrations.len();
                self.register.selected = if m.kind == MouseEventKind::ScrollDown {
                    (self.register.selected + 1).min(n.saturating_sub(1))
                } else {
                    self.register.selected.saturating_sub(1)
                };
                Some(Vec::new())
            }
            MouseEventKind::ScrollDown => Some(self.move_selection(1)),
            MouseEventKind::ScrollUp => Some(self.move_selection(-1)),
            MouseEventKind::Down(MouseButton::Left) => {
                let area = self.screen.list_rows;
                if self.tab == Tab::Credentials && inside(self.screen.card_area) {
                    self.credentials.focus = Focus::Card;
                    if let Some(&(_, field)) =
                        self.screen.card_fields.iter().find(|(y, _)| *y == m.row)
                    {
                        self.credentials.field = field;
                    }
                    return Some(Vec::new());
                }
                if self.tab == Tab::Register && inside(self.screen.integration_rows) {
                    self.register.focus = RegFocus::Integrations;
                    let row = self.screen.integration_offset
                        + usize::from(m.row - self.screen.integration_rows.y);
                    if row < self.data.integrations.len() {
                        self.register.selected = row;
                    }
                    return Some(Vec::new());
                }
                if self.tab == Tab::Monitor && inside(self.screen.all_row) {
                    self.monitor.all = true;
                    return Some(Vec::new());
                }
                if !inside(area) {
                    return None;
                }
                if self.tab == Tab::Credentials {
                    self.credentials.focus = Focus::List;
                }
                if self.tab == Tab::Permissions {
                    self.permissions.focus = super::tabs::permissions::PermFocus::List;
                }
                if self.tab == Tab::Monitor && self.monitor.all {
                    // A click on a connection leaves "All connections".
                    self.monitor.all = false;
                    let row = self.screen.list_offset + usize::from(m.row - area.y);
                    if row < self.list.filter.visible().len() {
                        self.list.selected = row;
                    }
                    return Some(self.selection_changed());
                }
                if self.tab == Tab::Register {
                    self.register.focus = RegFocus::Connections;
                }
                let row = self.screen.list_offset + usize::from(m.row - area.y);
                if row < self.list.filter.visible().len() && row != self.list.selected {
                    self.list.selected = row;
                    Some(self.selection_changed())
                } else {
                    Some(Vec::new())
                }
            }
            _ => None,
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        // A message answers the last action; the next key press retires it.
        self.status = None;
        let context = self.context();
        let mut action = self.keymap.action(context, &key);
        // The in-use dialog tells to replace with the list's key: it works
        // there too, as its "replace it now".
        if action.is_none()
            && matches!(
                self.modals.last(),
                Some(Modal::Confirm(c)) if matches!(c.then, Then::OpenReplace(_))
            )
            && self.keymap.action(Context::List, &key) == Some(Action::Replace)
        {
            action = Some(Action::Yes);
        }
        match action {
            Some(Action::ForceQuit) => {
                self.quit = true;
                return Vec::new();
            }
            Some(Action::Suspend) => return vec![Command::Suspend],
            _ => {}
        }
        if let Some(tab) = match action {
            Some(Action::NextTab) => Some(self.tab.cycled(true)),
            Some(Action::PrevTab) => Some(self.tab.cycled(false)),
            Some(Action::ShowConnections) => Some(Tab::Connections),
            Some(Action::ShowRegister) => Some(Tab::Register),
            Some(Action::ShowCredentials) => Some(Tab::Credentials),
            Some(Action::ShowPermissions) => Some(Tab::Permissions),
            Some(Action::ShowMonitor) => Some(Tab::Monitor),
            _ => None,
        } {
            return self.switch_tab(tab);
        }
        if action == Some(Action::Users) {
            return self.open_users(None, "manage users");
        }
        if matches!(self.modals.last(), Some(Modal::Flow(_))) {
            return self.on_flow_modal_key(action, &key);
        }
        match context {
            Context::List => self.on_list_key(action),
            Context::Credentials => self.on_credentials_key(action),
            Context::Register => self.on_register_key(action),
            Context::Permissions => self.on_permissions_key(action),
            Context::Picker if matches!(self.modals.last(), Some(Modal::Choice(_))) => {
                self.on_choice_key(action)
            }
            Context::Picker => self.on_picker_key(action),
            Context::Monitor => self.on_monitor_key(action),
            Context::Filter => self.on_filter_key(action, &key),
            Context::Form => match self.modals.last() {
                Some(Modal::Login(_)) => self.on_login_key(action, &key),
                Some(Modal::SetForm(_)) => self.on_set_form_key(action, &key),
                Some(Modal::IntegrationForm(_)) => self.on_integration_form_key(action, &key),
                Some(Modal::UserForm(_)) => self.on_user_form_key(action, &key),
                _ => self.on_form_key(action, &key),
            },
            Context::Confirm => self.on_confirm_key(action),
            Context::Users => self.on_users_key(action),
            Context::Secret => self.on_secret_key(action),
            Context::Replace => self.on_replace_key(action, &key),
            Context::Help => {
                self.on_help_action(action);
                Vec::new()
            }
            // Only with a flow modal open (handled above).
            Context::Global | Context::Tabs | Context::FlowEditor | Context::StepPicker => {
                Vec::new()
            }
        }
    }

    /// Keys both tabs share.
    pub(super) fn on_shared_key(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Refresh => vec![Command::Load],
            Action::Login => {
                if self.sessions.is_some() {
                    self.open_login();
                } else {
                    self.set_status(
                        StatusKind::Info,
                        "The embedded store is yours: there is nothing to log in to",
                    );
                }
                Vec::new()
            }
            Action::Help => {
                self.modals.push(Modal::Help(Help::default()));
                Vec::new()
            }
            Action::Filter => {
                self.list.filter_editing = true;
                Vec::new()
            }
            Action::Quit => {
                let changes: usize = self.register.pending.values().map(|p| p.len()).sum();
                if changes > 0 {
                    // Pending changes are never lost silently.
                    let confirm = register::confirm_quit(changes, self.register.pending.len());
                    self.modals.push(Modal::Confirm(Box::new(confirm)));
                } else {
                    self.quit = true;
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The selected connection's code; says so when there is none.
    pub(super) fn selected_code(&mut self) -> Option<String> {
        let code = self.selected_connection().map(|c| c.code.clone());
        if code.is_none() {
            self.set_status(StatusKind::Info, "No connection selected");
        }
        code
    }

    fn on_login_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
        let Some(Modal::Login(form)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match form.on_key(action, key) {
            LoginOutcome::Stay => Vec::new(),
            LoginOutcome::Cancel => {
                self.modals.pop();
                Vec::new()
            }
            LoginOutcome::Submit { username, password } => vec![Command::Login {
                username,
                password: Hidden(password),
                keep: self.sessions.clone(),
            }],
        }
    }

    fn on_confirm_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(Modal::Confirm(confirm)) = self.modals.last() else {
            return Vec::new();
        };
        match confirm.on_action(action) {
            ConfirmOutcome::Stay => Vec::new(),
            ConfirmOutcome::No => {
                let Some(Modal::Confirm(confirm)) = self.modals.pop() else {
                    return Vec::new();
                };
                if !confirm.declined.is_empty() {
                    self.set_status(StatusKind::Info, confirm.declined);
                }
                Vec::new()
            }
            ConfirmOutcome::Yes => {
                let Some(Modal::Confirm(confirm)) = self.modals.pop() else {
                    return Vec::new();
                };
                self.run(confirm.then)
            }
        }
    }

    /// Does what an answer carries (a confirmation's yes, a choice's answer).
    fn run(&mut self, then: Then) -> Vec<Command> {
        let (status, commands) = match then {
            Then::Admin(then) => return self.run_admin(then),
            Then::EditFlow { code, attach } => return self.edit_flow_chosen(&code, attach),
            Then::OpenReplace(code) => {
                self.open_replace(&code);
                // The picker, or why there is nothing to replace.
                return Vec::new();
            }
            Then::Delete { code, label } => {
                (format!("Deleting {label}…"), vec![Command::Delete(code)])
            }
            Then::ChangeCatalog { change, doing } => {
                self.permissions.saving = true;
                (doing, vec![Command::ChangeCatalog(change)])
            }
            Then::Replace {
                code,
                label,
                with,
                with_label,
                flow,
                position,
            } => {
                // The picker under the confirmation is done with.
                if matches!(self.modals.last(), Some(Modal::Replace(_))) {
                    self.modals.pop();
                }
                (
                    format!("Replacing {label} by {with_label}…"),
                    vec![Command::Replace {
                        code,
                        with,
                        flow,
                        position,
                    }],
                )
            }
            Then::RegenerateSecret { code, label } => (
                format!("Regenerating the secret of {label}…"),
                vec![Command::RegenerateSecret(code)],
            ),
            Then::RegeneratePassword { code, label } => (
                format!("Regenerating the password of {label}…"),
                vec![Command::RegeneratePassword(code)],
            ),
            Then::Quit => {
                self.quit = true;
                return Vec::new();
            }
            Then::ApplyRegistrations {
                integration,
                name,
                register,
                deregister,
            } => {
                self.register.applying = Some(integration.clone());
                let n = register.len() + deregister.len();
                (
                    format!(
                        "Applying {n} change{} to {name}…",
                        if n == 1 { "" } else { "s" },
                    ),
                    vec![Command::ApplyRegistrations {
                        integration,
                        register,
                        deregister,
                    }],
                )
            }
            Then::DeleteFlow { code, name } => (
                format!("Deleting flow {name}…"),
                vec![Command::DeleteFlow(code)],
            ),
            Then::DiscardFlowEdits { name } => {
                // The editor under the confirmation closes.
                if matches!(self.modals.last(), Some(Modal::Flow(_))) {
                    self.modals.pop();
                }
                (format!("Discarded the changes to flow {name}"), Vec::new())
            }
        };
        self.set_status(StatusKind::Info, status);
        commands
    }
}

/// "1 token revoked", "3 tokens revoked".
fn revoked_tokens(n: u64) -> String {
    if n == 1 {
        "1 token revoked".to_string()
    } else {
        format!("{n} tokens revoked")
    }
}
