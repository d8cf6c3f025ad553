//! The app state and its update function: input and backend answers become
//! state changes and commands; rendering lives in `view`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{
    Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use secrecy::{ExposeSecret, SecretString};

use super::clipboard::Clipboard;
use super::filter::FuzzyFilter;
use super::form::{ConnectionForm, TextInput};
use super::keymap::{Action, Context, Keymap};
use super::theme::Theme;
use super::visual::Visuals;
use crate::client::{Client, ClientError, SessionStore};
use crate::model::{
    AuditRecord, Connection, ConnectionPage, ConnectionPatch, CreatedConnection, DemoLoaded, Me,
    NewConnection, Quota, User,
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

/// Rows fetched before the first frame; the rest follow in the background.
pub const FIRST_PAGE: u64 = 200;

/// What reaches `update`: terminal input and backend answers.
#[derive(Debug)]
pub enum Msg {
    Input(Event),
    Loaded(Result<Snapshot, ClientError>),
    /// The rows after the first page.
    LoadedRest(Result<ConnectionPage, ClientError>),
    AuditLoaded(String, Result<Vec<AuditRecord>, ClientError>),
    Created(Result<CreatedConnection, ClientError>),
    Updated(Result<Connection, ClientError>),
    Deleted(String, Result<(), ClientError>),
    DemoLoaded(Result<DemoLoaded, ClientError>),
    ClipboardExpired(u64),
    LoggedIn(Result<User, ClientError>),
    /// Time to try the server again.
    RetryDue,
    /// Time passed while something animates (the spinner).
    Tick,
}

/// Work for the event loop: backend calls run as tasks and come back as `Msg`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Everything, in one go (after a change).
    Load,
    /// The first page only, so the first frame comes fast; the rest follows.
    LoadFirst,
    LoadRest {
        offset: u64,
    },
    LoadAudit(String),
    Create(NewConnection),
    Update(String, ConnectionPatch),
    Delete(String),
    LoadDemo,
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
        Command::Load | Command::LoadFirst => {
            let limit = (command == Command::LoadFirst).then_some(FIRST_PAGE);
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
        Command::LoadRest { offset } => {
            Msg::LoadedRest(client.list_connections_page(offset, None).await)
        }
        Command::LoadAudit(code) => {
            let r = client.connection_audit(&code).await;
            Msg::AuditLoaded(code, r)
        }
        Command::Create(new) => Msg::Created(client.create_connection(&new).await),
        Command::Update(code, patch) => Msg::Updated(client.update_connection(&code, &patch).await),
        Command::Delete(code) => {
            let r = client.delete_connection(&code).await;
            Msg::Deleted(code, r)
        }
        Command::LoadDemo => Msg::DemoLoaded(client.load_demo().await),
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

/// Credentials shown once after a create; dropped (and zeroized) on close.
pub struct ShownOnce {
    pub label: String,
    pub code: String,
    pub client_id: String,
    pub username: String,
    pub secret: SecretString,
    pub password: SecretString,
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
}

pub enum Modal {
    Login(Box<LoginForm>),
    Form(Box<ConnectionForm>),
    Confirm { code: String, label: String },
    ShownOnce(Box<ShownOnce>),
    Help { scroll: u16 },
}

/// The whole app state.
pub struct App {
    pub client: Client,
    pub backend: String,
    pub me: Option<Me>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub connections: Vec<Connection>,
    /// How many connections the backend holds (more than loaded while the
    /// rest of the first load is in flight).
    pub total: u64,
    pub loaded: bool,
    pub filter: FuzzyFilter,
    pub filter_editing: bool,
    /// Position of the selection in the visible (filtered) rows.
    pub selected: usize,
    /// First visible row of the table (kept by the view).
    pub offset: usize,
    pub audit: Option<(String, Result<Vec<AuditRecord>, String>)>,
    pub quota: Option<Quota>,
    pub modals: Vec<Modal>,
    pub status: Option<Status>,
    pub in_flight: usize,
    pub clipboard: Clipboard,
    clipboard_generation: u64,
    /// The last secret copied, to clear it from the clipboard later.
    copied_secret: Option<SecretString>,
    pub clear_clipboard_after: Duration,
    pub visuals: Visuals,
    pub graphics: bool,
    /// The table's rows on screen, for mouse clicks (set by the view).
    pub table_rows_area: Rect,
    select_after_load: Option<String>,
    /// Why the backend cannot be used right now, if so.
    pub problem: Option<Problem>,
    /// For a server: its URL and where to keep a session after a login.
    pub sessions: Option<(String, SessionStore)>,
    retry_pending: bool,
    in_flight_since: Option<std::time::Instant>,
    pub spinner_frame: usize,
    dirty: bool,
    pub quit: bool,
    /// Frames drawn so far (the idle test watches it).
    pub draws: Arc<AtomicU64>,
}

impl App {
    pub fn new(client: Client, keymap: Keymap, theme: Theme, clipboard: Clipboard) -> App {
        App {
            backend: client.backend(),
            client,
            me: None,
            keymap,
            theme,
            connections: Vec::new(),
            total: 0,
            loaded: false,
            filter: FuzzyFilter::default(),
            filter_editing: false,
            selected: 0,
            offset: 0,
            audit: None,
            quota: None,
            modals: Vec::new(),
            status: None,
            in_flight: 0,
            clipboard,
            clipboard_generation: 0,
            copied_secret: None,
            clear_clipboard_after: Duration::from_secs(30),
            visuals: Visuals::default(),
            graphics: false,
            table_rows_area: Rect::default(),
            select_after_load: None,
            problem: None,
            sessions: None,
            retry_pending: false,
            in_flight_since: None,
            spinner_frame: 0,
            dirty: true,
            quit: false,
            draws: Arc::new(AtomicU64::new(0)),
        }
    }

    /// An app with the default keymap and an in-memory clipboard, for driving
    /// without a terminal (tests, benchmarks, screenshots).
    pub fn headless(client: Client, theme: Theme) -> App {
        App::new(client, Keymap::default_keymap(), theme, Clipboard::memory())
    }

    /// The commands to run at start.
    pub fn start(&mut self) -> Vec<Command> {
        self.track(vec![Command::LoadFirst])
    }

    /// Whether something changed since the last draw; resets the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn mark_drawn(&self) {
        self.draws.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts backend calls in flight (the footer says "working…").
    fn track(&mut self, commands: Vec<Command>) -> Vec<Command> {
        self.in_flight += commands
            .iter()
            .filter(|c| {
                !matches!(
                    c,
                    Command::ExpireClipboard { .. } | Command::Suspend | Command::RetryAfter(_)
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
        self.connections.len() as u64 >= self.total
    }

    pub fn selected_connection(&self) -> Option<&Connection> {
        self.filter
            .visible()
            .get(self.selected)
            .and_then(|&i| self.connections.get(i))
    }

    fn set_status(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status {
            kind,
            text: text.into(),
        });
    }

    /// The context keys are looked up in.
    pub fn context(&self) -> Context {
        match self.modals.last() {
            Some(Modal::Form(_) | Modal::Login(_)) => Context::Form,
            Some(Modal::Confirm { .. }) => Context::Confirm,
            Some(Modal::ShownOnce(_)) => Context::Secret,
            Some(Modal::Help { .. }) => Context::Help,
            None if self.filter_editing => Context::Filter,
            None => Context::List,
        }
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
                        if page.offset == self.connections.len() as u64 && !self.fully_loaded() =>
                    {
                        let keep = self.selected_connection().map(|c| c.code.clone());
                        self.total = page.total;
                        self.connections.extend(page.items);
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
            Msg::AuditLoaded(code, r) => {
                self.finish_call();
                let commands = match &r {
                    Err(e) => self.backend_error(e),
                    Ok(_) => Vec::new(),
                };
                self.audit = Some((code, r.map_err(|e| e.to_string())));
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
                        self.pop_form();
                        self.set_status(StatusKind::Success, format!("Saved {}", c.label));
                        self.select_after_load = Some(c.code);
                        vec![Command::Load]
                    }
                    Err(e) => self.form_error(e),
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
                        self.backend_error(&e)
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
            Msg::ClipboardExpired(generation) => {
                if generation == self.clipboard_generation
                    && let Some(secret) = self.copied_secret.take()
                    && self.clipboard.clear_if_still(&secret)
                {
                    self.set_status(
                        StatusKind::Info,
                        "Cleared the copied secret from the clipboard",
                    );
                }
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
    fn backend_error(&mut self, e: &ClientError) -> Vec<Command> {
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
                    .select_after_load
                    .take()
                    .or_else(|| self.selected_connection().map(|c| c.code.clone()));
                self.me = Some(snap.me);
                self.quota = Some(snap.quota);
                self.connections = snap.connections;
                self.total = snap.total;
                self.loaded = true;
                self.after_rows_changed(keep);
                // The trail may have grown with the change that caused
                // this reload: fetch it again.
                self.audit = None;
                let mut commands = self.selection_changed();
                if !self.fully_loaded() {
                    commands.push(Command::LoadRest {
                        offset: self.connections.len() as u64,
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

    /// Re-indexes the rows for the filter and keeps the selection on `keep`
    /// when it is still there.
    fn after_rows_changed(&mut self, keep: Option<String>) {
        for c in &self.connections {
            if let Some(v) = c.visual.as_deref()
                && crate::domain::is_bundled_visual(v)
            {
                self.visuals.prepare(v);
            }
        }
        self.filter.set_rows(&self.connections);
        self.selected = keep
            .and_then(|code| {
                self.filter
                    .visible()
                    .iter()
                    .position(|&i| self.connections[i].code == code)
            })
            .unwrap_or(self.selected)
            .min(self.filter.visible().len().saturating_sub(1));
    }

    fn on_created(&mut self, r: Result<CreatedConnection, ClientError>) -> Vec<Command> {
        match r {
            Ok(created) => {
                self.pop_form();
                let c = created.connection;
                self.set_status(
                    StatusKind::Success,
                    format!("Created {} ({})", c.label, c.code),
                );
                self.select_after_load = Some(c.code.clone());
                self.modals.push(Modal::ShownOnce(Box::new(ShownOnce {
                    label: c.label,
                    code: c.code,
                    client_id: c.client_id,
                    username: c.username,
                    secret: SecretString::from(created.secret),
                    password: SecretString::from(created.password),
                })));
                vec![Command::Load]
            }
            Err(e) => self.form_error(e),
        }
    }

    fn pop_form(&mut self) {
        if matches!(self.modals.last(), Some(Modal::Form(_))) {
            self.modals.pop();
        }
    }

    /// Shows a backend error in the open form, beside its field.
    fn form_error(&mut self, e: ClientError) -> Vec<Command> {
        // A full quota or a change by someone else: show the news, reload.
        let reload = matches!(e.code(), Some("quota_reached" | "stale"));
        if let Some(Modal::Form(form)) = self.modals.last_mut() {
            form.show_error(e.field(), e.to_string());
        } else {
            self.set_status(StatusKind::Error, e.to_string());
        }
        let mut commands = self.backend_error(&e);
        if reload {
            commands.push(Command::Load);
        }
        commands
    }

    /// After the selection moved: the view must show it and its audit trail.
    fn selection_changed(&mut self) -> Vec<Command> {
        match self.selected_connection() {
            Some(c) => {
                let code = c.code.clone();
                if let Some(v) = c.visual.clone() {
                    self.visuals.prepare(&v);
                }
                if self.audit.as_ref().is_some_and(|(c, _)| *c == code) {
                    Vec::new()
                } else {
                    vec![Command::LoadAudit(code)]
                }
            }
            None => {
                self.audit = None;
                Vec::new()
            }
        }
    }

    fn on_input(&mut self, event: Event) -> Vec<Command> {
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
                } else if self.filter_editing {
                    let q = format!("{}{}", self.filter.query(), text.replace(['\n', '\r'], ""));
                    self.set_filter(&q);
                }
                Vec::new()
            }
            Event::Resize(..) => Vec::new(),
            // Back from another window: others may have changed things.
            Event::FocusGained if self.modals.is_empty() && self.loaded => vec![Command::Load],
            _ => return Vec::new(),
        };
        self.dirty = true;
        self.track(commands)
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Option<Vec<Command>> {
        if !self.modals.is_empty() {
            return match (m.kind, self.modals.last_mut()) {
                (MouseEventKind::ScrollDown, Some(Modal::Help { scroll })) => {
                    *scroll = scroll.saturating_add(1);
                    Some(Vec::new())
                }
                (MouseEventKind::ScrollUp, Some(Modal::Help { scroll })) => {
                    *scroll = scroll.saturating_sub(1);
                    Some(Vec::new())
                }
                _ => None,
            };
        }
        match m.kind {
            MouseEventKind::ScrollDown => Some(self.move_selection(1)),
            MouseEventKind::ScrollUp => Some(self.move_selection(-1)),
            MouseEventKind::Down(MouseButton::Left) => {
                let area = self.table_rows_area;
                let inside = m.column >= area.x
                    && m.column < area.x + area.width
                    && m.row >= area.y
                    && m.row < area.y + area.height;
                if !inside {
                    return None;
                }
                let row = self.offset + usize::from(m.row - area.y);
                if row < self.filter.visible().len() && row != self.selected {
                    self.selected = row;
                    Some(self.selection_changed())
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn move_selection(&mut self, delta: isize) -> Vec<Command> {
        let n = self.filter.visible().len();
        if n == 0 {
            return Vec::new();
        }
        let target = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
        if target == self.selected {
            return Vec::new();
        }
        self.selected = target;
        self.selection_changed()
    }

    fn page(&self) -> isize {
        (self.table_rows_area.height.max(2) - 1) as isize
    }

    fn set_filter(&mut self, query: &str) {
        let keep = self.selected_connection().map(|c| c.code.clone());
        self.filter.set_query(query);
        // The best match comes first; keep the old selection only when the
        // filter was cleared.
        self.selected = if query.is_empty() {
            keep.and_then(|code| {
                self.filter
                    .visible()
                    .iter()
                    .position(|&i| self.connections[i].code == code)
            })
            .unwrap_or(0)
        } else {
            0
        };
        self.offset = 0;
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        // A message answers the last action; the next key press retires it.
        self.status = None;
        let context = self.context();
        let action = self.keymap.action(context, &key);
        match action {
            Some(Action::ForceQuit) => {
                self.quit = true;
                return Vec::new();
            }
            Some(Action::Suspend) => return vec![Command::Suspend],
            _ => {}
        }
        match context {
            Context::List => self.on_list_key(action),
            Context::Filter => self.on_filter_key(action, &key),
            Context::Form => self.on_form_key(action, &key),
            Context::Confirm => self.on_confirm_key(action),
            Context::Secret => self.on_secret_key(action),
            Context::Help => {
                if let Some(Modal::Help { scroll }) = self.modals.last_mut() {
                    match action {
                        Some(Action::Close) => {
                            self.modals.pop();
                        }
                        Some(Action::Up) => *scroll = scroll.saturating_sub(1),
                        Some(Action::Down) => *scroll = scroll.saturating_add(1),
                        _ => {}
                    }
                }
                Vec::new()
            }
            Context::Global => Vec::new(),
        }
    }

    fn on_list_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        match action {
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::First => self.move_selection(isize::MIN / 2),
            Action::Last => self.move_selection(isize::MAX / 2),
            Action::PageUp => self.move_selection(-self.page()),
            Action::PageDown => self.move_selection(self.page()),
            Action::Filter => {
                self.filter_editing = true;
                Vec::new()
            }
            Action::ClearFilter => {
                if self.filter.is_active() {
                    self.set_filter("");
                    self.selection_changed()
                } else {
                    self.status = None;
                    Vec::new()
                }
            }
            Action::New => {
                match self.quota {
                    Some(q) if q.reached => self.set_status(
                        StatusKind::Error,
                        format!(
                            "The connection limit is reached ({} of {}): delete a connection or raise the limit with `switchboard quota set N`",
                            q.count, q.max_connections
                        ),
                    ),
                    _ => self.modals.push(Modal::Form(Box::new(ConnectionForm::create()))),
                }
                Vec::new()
            }
            Action::Edit => {
                if let Some(c) = self.selected_connection() {
                    let form = ConnectionForm::edit(c);
                    self.modals.push(Modal::Form(Box::new(form)));
                } else {
                    self.set_status(StatusKind::Info, "No connection selected");
                }
                Vec::new()
            }
            Action::Delete => {
                if let Some(c) = self.selected_connection() {
                    let (code, label) = (c.code.clone(), c.label.clone());
                    self.modals.push(Modal::Confirm { code, label });
                } else {
                    self.set_status(StatusKind::Info, "No connection selected");
                }
                Vec::new()
            }
            Action::Demo => {
                if self.loaded && self.connections.is_empty() {
                    self.set_status(StatusKind::Info, "Loading the demo workspace…");
                    vec![Command::LoadDemo]
                } else {
                    self.set_status(
                        StatusKind::Error,
                        "The demo workspace loads only into an empty store",
                    );
                    Vec::new()
                }
            }
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
                self.modals.push(Modal::Help { scroll: 0 });
                Vec::new()
            }
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_filter_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
        match action {
            Some(Action::Apply) => {
                self.filter_editing = false;
                Vec::new()
            }
            Some(Action::Cancel) => {
                self.filter_editing = false;
                self.set_filter("");
                self.selection_changed()
            }
            Some(Action::Up) => self.move_selection(-1),
            Some(Action::Down) => self.move_selection(1),
            _ => {
                let mut input = super::form::TextInput::new(self.filter.query());
                let (_, changed) = input.handle_key(key);
                if changed {
                    self.set_filter(&input.value);
                    self.selection_changed()
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn on_login_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
        let keep = self.sessions.clone();
        let Some(Modal::Login(form)) = self.modals.last_mut() else {
            return Vec::new();
        };
        if form.submitting {
            return Vec::new();
        }
        match action {
            Some(Action::NextField | Action::PrevField) => form.on_password = !form.on_password,
            Some(Action::Cancel) => {
                self.modals.pop();
            }
            Some(Action::Save) => {
                let username = form.username.value.trim().to_string();
                if username.is_empty() {
                    form.error = Some("username is required".to_string());
                    form.on_password = false;
                    return Vec::new();
                }
                if form.password.value.is_empty() {
                    form.error = Some("password is required".to_string());
                    form.on_password = true;
                    return Vec::new();
                }
                form.submitting = true;
                form.error = None;
                // The typed password leaves the form for the request.
                let password = std::mem::take(&mut form.password);
                return vec![Command::Login {
                    username,
                    password: Hidden(SecretString::from(password.value)),
                    keep,
                }];
            }
            _ => {
                let input = if form.on_password {
                    &mut form.password
                } else {
                    &mut form.username
                };
                input.handle_key(key);
            }
        }
        Vec::new()
    }

    fn on_form_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
        if matches!(self.modals.last(), Some(Modal::Login(_))) {
            return self.on_login_key(action, key);
        }
        let original = match self.modals.last() {
            Some(Modal::Form(f)) => match &f.mode {
                super::form::FormMode::Edit { code } => {
                    self.connections.iter().find(|c| &c.code == code).cloned()
                }
                super::form::FormMode::Create => None,
            },
            _ => None,
        };
        let Some(Modal::Form(form)) = self.modals.last_mut() else {
            return Vec::new();
        };
        if form.submitting {
            // One save at a time; only Esc leaves.
            if action == Some(Action::Cancel) {
                self.modals.pop();
            }
            return Vec::new();
        }
        match action {
            Some(Action::NextField) => form.move_focus(true),
            Some(Action::PrevField) => form.move_focus(false),
            Some(Action::Cancel) => {
                self.modals.pop();
            }
            Some(Action::Save) => {
                if !form.validate() {
                    return Vec::new();
                }
                if form.is_create() {
                    form.submitting = true;
                    return vec![Command::Create(form.new_connection())];
                }
                let Some(original) = original else {
                    form.general_error = Some("this connection no longer exists".to_string());
                    return Vec::new();
                };
                let patch = form.patch(&original);
                if patch.label.is_none() && patch.flow_type.is_none() && patch.visual.is_none() {
                    self.modals.pop();
                    self.set_status(StatusKind::Info, "Nothing changed");
                    return Vec::new();
                }
                form.submitting = true;
                return vec![Command::Update(original.code, patch)];
            }
            _ => {
                form.handle_key(key);
            }
        }
        Vec::new()
    }

    fn on_confirm_key(&mut self, action: Option<Action>) -> Vec<Command> {
        match action {
            Some(Action::Yes) => match self.modals.pop() {
                Some(Modal::Confirm { code, label }) => {
                    self.set_status(StatusKind::Info, format!("Deleting {label}…"));
                    vec![Command::Delete(code)]
                }
                _ => Vec::new(),
            },
            Some(Action::No) => {
                self.modals.pop();
                self.set_status(StatusKind::Info, "Nothing deleted");
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_secret_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(Modal::ShownOnce(shown)) = self.modals.last() else {
            return Vec::new();
        };
        let (text, what) = match action {
            Some(Action::Close) => {
                // Dropping the modal zeroizes the secrets it held.
                self.modals.pop();
                return Vec::new();
            }
            Some(Action::Copy) => (shown.password.expose_secret().to_string(), "the password"),
            Some(Action::CopyAll) => (
                format!(
                    "CLIENT_ID={}\nSECRET={}\nUSERNAME={}\nPASSWORD={}\n",
                    shown.client_id,
                    shown.secret.expose_secret(),
                    shown.username,
                    shown.password.expose_secret()
                ),
                "all credentials",
            ),
            _ => return Vec::new(),
        };
        let text = SecretString::from(text);
        let outcome = self.clipboard.copy_secret(&text);
        let failed = matches!(outcome, super::clipboard::CopyOutcome::Failed(_));
        let clears = outcome == super::clipboard::CopyOutcome::System;
        let mut msg = outcome.describe(what);
        if clears {
            msg.push_str(&format!(
                "; cleared after {} s if still there",
                self.clear_clipboard_after.as_secs()
            ));
        }
        self.set_status(
            if failed {
                StatusKind::Error
            } else {
                StatusKind::Success
            },
            msg,
        );
        if !clears {
            return Vec::new();
        }
        self.clipboard_generation += 1;
        self.copied_secret = Some(text);
        vec![Command::ExpireClipboard {
            generation: self.clipboard_generation,
            after: self.clear_clipboard_after,
        }]
    }
}
