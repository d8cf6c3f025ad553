//! The create / edit connection dialog: its fields and their checks (R1),
//! the edit conflict (theirs beside yours), and its drawing.

use crate::tui::app::App;
use crate::tui::app::Command;
use crate::tui::app::Modal;
use crate::tui::app::StatusKind;
use std::collections::BTreeMap;
use strum::VariantArray;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::domain::{self, BUNDLED_VISUALS};
use crate::model::{
    Application, ApplicationAuth, AuthKind, Connection, ConnectionPatch, FlowType, NewConnection,
    SECRET_MASK, WriteOnly,
};
use crate::tui::access::CreateChoices;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;
pub use crate::tui::widgets::field::TextInput;
use crate::tui::widgets::field::{self, Value, hint_lines};
use crate::tui::widgets::text::ellipsize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Label,
    Code,
    FlowType,
    Visual,
    /// R13: the integration a new connection is created inside.
    Integration,
    // The application side (R26).
    BaseUrl,
    PingPath,
    AuthKind,
    Username,
    Header,
    TokenUrl,
    ClientId,
    Scope,
    /// The kind's one secret (password, key, token or client secret),
    /// typed blind.
    Secret,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Label => "label",
            Field::Code => "code",
            Field::FlowType => "flow_type",
            Field::Visual => "visual",
            Field::Integration => "integration",
            Field::BaseUrl => "application.base_url",
            Field::PingPath => "application.ping_path",
            Field::AuthKind => "application.auth.kind",
            Field::Username => "application.auth.username",
            Field::Header => "application.auth.header",
            Field::TokenUrl => "application.auth.token_url",
            Field::ClientId => "application.auth.client_id",
            Field::Scope => "application.auth.scope",
            Field::Secret => "application.auth.secret",
        }
    }

    /// The field a backend error names (`application.auth.key` is the
    /// secret of its kind).
    pub fn from_name(name: &str) -> Option<Field> {
        if matches!(
            name,
            "application.auth.password"
                | "application.auth.key"
                | "application.auth.token"
                | "application.auth.client_secret"
        ) {
            return Some(Field::Secret);
        }
        if name == "application" {
            return Some(Field::BaseUrl);
        }
        [
            Field::Label,
            Field::Code,
            Field::FlowType,
            Field::Visual,
            Field::Integration,
            Field::BaseUrl,
            Field::PingPath,
            Field::AuthKind,
            Field::Username,
            Field::Header,
            Field::TokenUrl,
            Field::ClientId,
            Field::Scope,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// A secret typed blind: never drawn, and its `Debug` never shows it.
#[derive(Clone, Default)]
pub struct BlindInput(pub TextInput);

impl std::fmt::Debug for BlindInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindInput(..)")
    }
}

/// The application side in the form (R26): the base URL, the ping path,
/// the auth kind and the fields of that kind. Clearing the base URL
/// removes the application side.
#[derive(Debug, Clone, Default)]
pub struct AppFields {
    pub base_url: TextInput,
    pub ping_path: TextInput,
    pub kind: AuthKind,
    pub username: TextInput,
    pub header: TextInput,
    pub token_url: TextInput,
    pub client_id: TextInput,
    pub scope: TextInput,
    /// The kind's secret as typed; empty keeps the stored one.
    pub secret: BlindInput,
    /// The kind whose secret is stored, as the form opened (none: no
    /// secret stored).
    pub stored_secret: Option<AuthKind>,
    /// Whether the connection had an application side when the form opened.
    pub had: bool,
}

impl AppFields {
    pub fn of(app: Option<&Application>) -> AppFields {
        let Some(a) = app else {
            return AppFields::default();
        };
        let text = |v: &Option<String>| TextInput::new(v.as_deref().unwrap_or_default());
        AppFields {
            base_url: TextInput::new(&a.base_url),
            ping_path: text(&a.ping_path),
            kind: a.auth.kind,
            username: text(&a.auth.username),
            header: text(&a.auth.header),
            token_url: text(&a.auth.token_url),
            client_id: text(&a.auth.client_id),
            scope: text(&a.auth.scope),
            secret: BlindInput::default(),
            stored_secret: a.auth.secret().is_some().then_some(a.auth.kind),
            had: true,
        }
    }

    /// Whether the kind's secret is stored and left as it is.
    pub fn keeps_stored_secret(&self) -> bool {
        self.secret.0.value.is_empty() && self.stored_secret == Some(self.kind)
    }

    /// The fields shown: the base URL, and once there is one, the ping
    /// path, the kind and the fields of that kind only.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = vec![Field::BaseUrl];
        if self.base_url.value.trim().is_empty() {
            return out;
        }
        out.extend([Field::PingPath, Field::AuthKind]);
        out.extend_from_slice(match self.kind {
            AuthKind::None => &[],
            AuthKind::Basic => &[Field::Username, Field::Secret],
            AuthKind::ApiKey => &[Field::Header, Field::Secret],
            AuthKind::Bearer => &[Field::Secret],
            AuthKind::Oauth2ClientCredentials => &[
                Field::TokenUrl,
                Field::ClientId,
                Field::Secret,
                Field::Scope,
            ],
        });
        out
    }

    pub fn input_mut(&mut self, f: Field) -> Option<&mut TextInput> {
        Some(match f {
            Field::BaseUrl => &mut self.base_url,
            Field::PingPath => &mut self.ping_path,
            Field::Username => &mut self.username,
            Field::Header => &mut self.header,
            Field::TokenUrl => &mut self.token_url,
            Field::ClientId => &mut self.client_id,
            Field::Scope => &mut self.scope,
            Field::Secret => &mut self.secret.0,
            _ => return None,
        })
    }

    pub fn cycle_kind(&mut self, forward: bool) {
        let all = AuthKind::VARIANTS;
        let i = all.iter().position(|k| *k == self.kind).unwrap_or(0);
        let n = all.len();
        self.kind = all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
        // A secret typed for another kind is not this kind's.
        self.secret = BlindInput::default();
        if self.kind == AuthKind::ApiKey && self.header.value.is_empty() {
            self.header = TextInput::new("X-API-Key");
        }
    }

    /// The name of the kind's secret field.
    pub fn secret_name(&self) -> &'static str {
        match self.kind {
            AuthKind::Basic => "Password",
            AuthKind::ApiKey => "API key",
            AuthKind::Bearer => "Token",
            AuthKind::Oauth2ClientCredentials => "Secret",
            AuthKind::None => "Secret",
        }
    }

    /// The application side as the form holds it: `None` when the base URL
    /// is empty. A secret not retyped goes as the mask (the stored value is
    /// kept) when one of this kind is stored, else is left out.
    pub fn application(&self) -> Option<Application> {
        let base_url = self.base_url.value.trim();
        if base_url.is_empty() {
            return None;
        }
        let text = |t: &TextInput| {
            let v = t.value.trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let secret = if !self.secret.0.value.is_empty() {
            Some(WriteOnly::new(self.secret.0.value.clone()))
        } else if self.keeps_stored_secret() {
            Some(WriteOnly::mask())
        } else {
            None
        };
        let mut auth = ApplicationAuth {
            kind: self.kind,
            ..ApplicationAuth::default()
        };
        match self.kind {
            AuthKind::None => {}
            AuthKind::Basic => {
                auth.username = text(&self.username);
                auth.password = secret;
            }
            AuthKind::ApiKey => {
                auth.header = text(&self.header);
                auth.key = secret;
            }
            AuthKind::Bearer => auth.token = secret,
            AuthKind::Oauth2ClientCredentials => {
                auth.token_url = text(&self.token_url);
                auth.client_id = text(&self.client_id);
                auth.client_secret = secret;
                auth.scope = text(&self.scope);
            }
        }
        Some(Application {
            base_url: base_url.to_string(),
            ping_path: text(&self.ping_path),
            auth,
        })
    }
}

/// One line saying what a connection's application side is, for the
/// conflict view: "none", or the base URL and the kind.
pub fn application_summary(app: Option<&Application>) -> String {
    match app {
        None => "none".to_string(),
        Some(a) => format!("{} ({})", a.base_url, a.auth.kind.as_str()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormMode {
    Create,
    Edit { code: String },
}

/// The visual choices: none, each bundled logo, or a file path.
pub fn visual_choices() -> usize {
    BUNDLED_VISUALS.len() + 2
}

#[derive(Debug, Clone)]
pub struct ConnectionForm {
    pub mode: FormMode,
    pub label: TextInput,
    pub code: TextInput,
    /// Once the user edits the code, the label no longer fills it in (R1).
    pub code_edited: bool,
    pub flow_type: FlowType,
    /// 0 = none, 1..=N a bundled logo, N+1 = a file path.
    pub visual_choice: usize,
    pub visual_path: TextInput,
    /// Creating: the integrations it may be created inside (code, name),
    /// and whether one must be chosen (a member's case, R13/R19).
    pub integrations: Vec<(String, String)>,
    pub integration_required: bool,
    /// Index into the choices: "none" first unless one is required.
    pub integration_choice: usize,
    /// How Switchboard reaches the application (R26).
    pub app: AppFields,
    pub focus: Field,
    pub errors: BTreeMap<Field, String>,
    pub general_error: Option<String>,
    pub submitting: bool,
    /// Editing: the connection as it was read when the form opened; the
    /// save names its version, so another admin's change is never lost.
    pub base: Option<Connection>,
    /// After a 409: the version someone else saved meanwhile. Saving again
    /// needs a choice: overwrite it, or take it.
    pub conflict: Option<Connection>,
}

impl ConnectionForm {
    pub fn create() -> Self {
        ConnectionForm::create_in(CreateChoices {
            integrations: Vec::new(),
            required: false,
        })
    }

    /// A create form offering these integrations to create it inside (R13).
    pub fn create_in(choices: CreateChoices) -> Self {
        ConnectionForm {
            mode: FormMode::Create,
            integrations: choices.integrations,
            integration_required: choices.required,
            integration_choice: 0,
            app: AppFields::default(),
            label: TextInput::default(),
            code: TextInput::default(),
            code_edited: false,
            flow_type: FlowType::Source,
            visual_choice: 0,
            visual_path: TextInput::default(),
            focus: Field::Label,
            errors: BTreeMap::new(),
            general_error: None,
            submitting: false,
            base: None,
            conflict: None,
        }
    }

    pub fn edit(c: &Connection) -> Self {
        let (visual_choice, visual_path) = match c.visual.as_deref() {
            None => (0, TextInput::default()),
            Some(v) => match BUNDLED_VISUALS.iter().position(|(n, _)| *n == v) {
                Some(i) => (i + 1, TextInput::default()),
                None => (BUNDLED_VISUALS.len() + 1, TextInput::new(v)),
            },
        };
        ConnectionForm {
            mode: FormMode::Edit {
                code: c.code.clone(),
            },
            label: TextInput::new(&c.label),
            code: TextInput::new(&c.code),
            code_edited: true,
            flow_type: c.flow_type,
            visual_choice,
            visual_path,
            integrations: Vec::new(),
            integration_required: false,
            integration_choice: 0,
            app: AppFields::of(c.application.as_ref()),
            focus: Field::Label,
            errors: BTreeMap::new(),
            general_error: None,
            submitting: false,
            base: Some(c.clone()),
            conflict: None,
        }
    }

    pub fn is_create(&self) -> bool {
        self.mode == FormMode::Create
    }

    pub fn fields(&self) -> Vec<Field> {
        let mut fields = if self.is_create() && !self.integrations.is_empty() {
            vec![
                Field::Label,
                Field::Code,
                Field::FlowType,
                Field::Visual,
                Field::Integration,
            ]
        } else if self.is_create() {
            vec![Field::Label, Field::Code, Field::FlowType, Field::Visual]
        } else {
            vec![Field::Label, Field::FlowType, Field::Visual]
        };
        fields.extend(self.app.fields());
        fields
    }

    pub fn is_file_choice(&self) -> bool {
        self.visual_choice == BUNDLED_VISUALS.len() + 1
    }

    /// The visual as chosen: `None` for none.
    pub fn visual(&self) -> Option<String> {
        match self.visual_choice {
            0 => None,
            i if i <= BUNDLED_VISUALS.len() => Some(BUNDLED_VISUALS[i - 1].0.to_string()),
            _ => Some(self.visual_path.value.trim().to_string()),
        }
    }

    /// The integration chosen to create it inside, if any.
    pub fn integration(&self) -> Option<&(String, String)> {
        if self.integration_required {
            self.integrations.get(self.integration_choice)
        } else {
            self.integration_choice
                .checked_sub(1)
                .and_then(|i| self.integrations.get(i))
        }
    }

    fn integration_choices(&self) -> usize {
        self.integrations.len() + usize::from(!self.integration_required)
    }

    fn cycle_integration(&mut self, forward: bool) {
        let n = self.integration_choices();
        if n > 0 {
            self.integration_choice = if forward {
                (self.integration_choice + 1) % n
            } else {
                (self.integration_choice + n - 1) % n
            };
        }
        self.errors.remove(&Field::Integration);
    }

    /// What the visual picker shows.
    pub fn visual_display(&self) -> String {
        match self.visual_choice {
            0 => "none".to_string(),
            i if i <= BUNDLED_VISUALS.len() => {
                let (name, desc) = BUNDLED_VISUALS[i - 1];
                format!("{name} ({desc})")
            }
            _ => "image file:".to_string(),
        }
    }

    pub fn move_focus(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.focus = fields[next];
    }

    /// A key that is not a form action: edits the focused field.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        match self.focus {
            Field::Label => {
                let (handled, changed) = self.label.handle_key(key);
                if changed {
                    self.label_changed();
                }
                handled
            }
            Field::Code => {
                let (handled, changed) = self.code.handle_key(key);
                if changed {
                    self.code_edited = true;
                    self.errors.remove(&Field::Code);
                }
                handled
            }
            Field::FlowType => match key.code {
                KeyCode::Left => {
                    self.cycle_flow(false);
                    true
                }
                KeyCode::Right | KeyCode::Char(' ') => {
                    self.cycle_flow(true);
                    true
                }
                KeyCode::Char(c) => {
                    // First letter picks: s(ource), d(estination), o(ther).
                    if let Some(f) = FlowType::VARIANTS
                        .iter()
                        .copied()
                        .find(|f| f.as_str().starts_with(c.to_ascii_lowercase()))
                    {
                        self.flow_type = f;
                        self.errors.remove(&Field::FlowType);
                    }
                    true
                }
                _ => false,
            },
            Field::Integration => match key.code {
                KeyCode::Left => {
                    self.cycle_integration(false);
                    true
                }
                KeyCode::Right | KeyCode::Char(' ') => {
                    self.cycle_integration(true);
                    true
                }
                _ => false,
            },
            Field::AuthKind => match key.code {
                KeyCode::Left => {
                    self.app.cycle_kind(false);
                    self.clear_app_errors();
                    true
                }
                KeyCode::Right | KeyCode::Char(' ') => {
                    self.app.cycle_kind(true);
                    self.clear_app_errors();
                    true
                }
                _ => false,
            },
            f @ (Field::BaseUrl
            | Field::PingPath
            | Field::Username
            | Field::Header
            | Field::TokenUrl
            | Field::ClientId
            | Field::Scope
            | Field::Secret) => {
                let Some(input) = self.app.input_mut(f) else {
                    return false;
                };
                let (handled, changed) = input.handle_key(key);
                if changed {
                    self.errors.remove(&f);
                    if f == Field::BaseUrl {
                        self.general_error = None;
                    }
                }
                handled
            }
            Field::Visual => {
                if self.is_file_choice() {
                    match key.code {
                        KeyCode::Left if self.visual_path.cursor == 0 => {
                            self.cycle_visual(false);
                            true
                        }
                        _ => {
                            let (handled, changed) = self.visual_path.handle_key(key);
                            if changed {
                                self.errors.remove(&Field::Visual);
                            }
                            handled
                        }
                    }
                } else {
                    match key.code {
                        KeyCode::Left => {
                            self.cycle_visual(false);
                            true
                        }
                        KeyCode::Right | KeyCode::Char(' ') => {
                            self.cycle_visual(true);
                            true
                        }
                        _ => false,
                    }
                }
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        match self.focus {
            Field::Label => {
                self.label.paste(text);
                self.label_changed();
            }
            Field::Code => {
                self.code.paste(text);
                self.code_edited = true;
            }
            Field::Visual if self.is_file_choice() => self.visual_path.paste(text),
            f => {
                if let Some(input) = self.app.input_mut(f) {
                    input.paste(text);
                    self.errors.remove(&f);
                }
            }
        }
    }

    fn clear_app_errors(&mut self) {
        self.errors.retain(|f, _| *f < Field::BaseUrl);
    }

    fn label_changed(&mut self) {
        self.errors.remove(&Field::Label);
        if self.is_create() && !self.code_edited {
            self.code = TextInput::new(&domain::slug_from_label(&self.label.value));
            self.errors.remove(&Field::Code);
        }
    }

    fn cycle_flow(&mut self, forward: bool) {
        let all = FlowType::VARIANTS;
        let i = all.iter().position(|f| *f == self.flow_type).unwrap_or(0);
        let n = all.len();
        self.flow_type = all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    fn cycle_visual(&mut self, forward: bool) {
        let n = visual_choices();
        self.visual_choice = if forward {
            (self.visual_choice + 1) % n
        } else {
            (self.visual_choice + n - 1) % n
        };
        self.errors.remove(&Field::Visual);
    }

    /// Checks the fields with the domain rules; fills `errors`.
    pub fn validate(&mut self) -> bool {
        self.errors.clear();
        self.general_error = None;
        if let Err(e) = domain::validate_label(&self.label.value) {
            self.errors.insert(Field::Label, e.message);
        }
        if self.is_create()
            && let Err(e) = domain::validate_code(&self.code.value)
        {
            let message = if self.code.value.is_empty() && !self.code_edited {
                domain::code_from_label(&self.label.value)
                    .err()
                    .map(|e| e.message)
                    .unwrap_or(e.message)
            } else {
                e.message
            };
            self.errors.insert(Field::Code, message);
        }
        if let Some(v) = self.visual()
            && let Err(e) = domain::validate_visual(&v)
        {
            self.errors.insert(Field::Visual, e.message);
        }
        // The application side, by the rules the server checks (R26).
        if let Some(app) = self.app.application() {
            if let Err(e) = domain::application::validate_application(&app) {
                let field = Field::from_name(e.field).unwrap_or(Field::BaseUrl);
                self.errors.insert(field, e.message);
            } else if let Some(name) = app.auth.kind.secret_field()
                && app.auth.secret().is_none()
            {
                self.errors.insert(
                    Field::Secret,
                    format!(
                        "the {name} is required for auth kind {}: type it (none is stored to keep)",
                        app.auth.kind.as_str()
                    ),
                );
            }
        }
        if let Some(first) = self.errors.keys().next() {
            self.focus = *first;
            false
        } else {
            true
        }
    }

    pub fn new_connection(&self) -> NewConnection {
        NewConnection {
            label: self.label.value.trim().to_string(),
            code: Some(self.code.value.clone()),
            flow_type: self.flow_type,
            visual: self.visual(),
            integration: self.integration().map(|(code, _)| code.clone()),
            application: self.app.application().map(Box::new),
        }
    }

    /// The fields of the form, as label, flow type and visual, for showing
    /// yours beside theirs.
    pub fn values(&self) -> [(&'static str, String); 4] {
        [
            ("Label", self.label.value.trim().to_string()),
            ("Flow type", self.flow_type.as_str().to_string()),
            ("Visual", self.visual().unwrap_or_else(|| "none".into())),
            (
                "Application",
                application_summary(self.app.application().as_ref()),
            ),
        ]
    }

    /// The fields that differ from `original`, based on its version.
    pub fn patch(&self, original: &Connection) -> ConnectionPatch {
        let label = self.label.value.trim();
        let visual = self.visual();
        let application = self.app.application();
        ConnectionPatch {
            label: (label != original.label).then(|| label.to_string()),
            flow_type: (self.flow_type != original.flow_type).then_some(self.flow_type),
            visual: (visual != original.visual).then_some(visual),
            // Replaced whole when it differs; `null` removes it. A secret
            // not retyped goes as the mask: the stored one stays.
            application: (application != original.application).then(|| application.map(Box::new)),
            version: Some(original.version),
            ..ConnectionPatch::default()
        }
    }

    /// A connection's values, in the order of `values`.
    pub fn values_of(c: &Connection) -> [(&'static str, String); 4] {
        [
            ("Label", c.label.clone()),
            ("Flow type", c.flow_type.as_str().to_string()),
            ("Visual", c.visual.clone().unwrap_or_else(|| "none".into())),
            ("Application", application_summary(c.application.as_ref())),
        ]
    }

    /// Whether a patch changes nothing.
    pub fn is_empty_patch(patch: &ConnectionPatch) -> bool {
        patch.label.is_none()
            && patch.flow_type.is_none()
            && patch.visual.is_none()
            && patch.application.is_none()
    }

    /// Shows an error from the backend beside its field, or above the form.
    pub fn show_error(&mut self, field: Option<&str>, message: String) {
        self.submitting = false;
        match field.and_then(Field::from_name) {
            Some(f) if self.fields().contains(&f) => {
                self.errors.insert(f, message);
                self.focus = f;
            }
            _ => self.general_error = Some(message),
        }
    }
}

/// After an edit conflict: the user's values beside the version now
/// stored, the differing ones marked, and the two ways on.
fn conflict_lines(
    t: &Theme,
    keymap: &Keymap,
    form: &ConnectionForm,
    theirs: &Connection,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("  {:<11}", ""), t.label),
        Span::styled(format!("{:<30}", "Yours"), t.title),
        Span::styled(format!("Stored now (version {})", theirs.version), t.title),
    ])];
    for ((name, yours), (_, stored)) in form
        .values()
        .into_iter()
        .zip(ConnectionForm::values_of(theirs))
    {
        let differs = yours != stored;
        lines.push(Line::from(vec![
            Span::styled(if differs { "≠ " } else { "  " }, t.warning),
            Span::styled(format!("{name:<11}"), t.label),
            Span::raw(format!("{:<30}", ellipsize(&yours, 29))),
            Span::styled(
                ellipsize(&stored, 40),
                if differs { t.warning } else { Style::new() },
            ),
        ]));
    }
    let key = |a| keymap.first_key(Context::Form, a);
    lines.push(Line::from(vec![
        Span::styled(key(Action::Overwrite), t.key),
        Span::raw(format!(" save yours over version {}   ", theirs.version)),
        Span::styled(key(Action::Refresh), t.key),
        Span::raw(" take the stored version (yours are dropped)"),
    ]));
    lines
}

/// The form's Application section (R26): the base URL; once there is one,
/// the ping path, the auth kind and only that kind's fields. Secrets are
/// typed blind and a stored one shows as the mask.
fn application_lines(
    form: &ConnectionForm,
    t: &Theme,
    keymap: &Keymap,
    room: usize,
) -> Vec<Line<'static>> {
    let app = &form.app;
    let line =
        |f: Field, name: &str, value: Value| field::line(t, name, 11, form.focus == f, value);
    let error_line = |f: Field| {
        form.errors
            .get(&f)
            .map(|e| field::error_lines(t, e, 13, room))
            .unwrap_or_default()
    };
    let mut lines = vec![
        Line::from(""),
        Line::from(vec![
            Span::styled("Application", t.title),
            Span::styled(
                format!(
                    " · how Switchboard reaches it, and what {} tests (R26, R27)",
                    keymap.first_key(Context::List, Action::Test)
                ),
                t.dim,
            ),
        ]),
    ];
    // A note after an empty value starts where the value would.
    let gap = |f: Field| if form.focus == f { " " } else { "" };
    let mut base = line(Field::BaseUrl, "Base URL", Value::Input(&app.base_url));
    if app.base_url.value.trim().is_empty() {
        base.spans.push(Span::styled(
            if app.had {
                format!(
                    "{}cleared: saving removes the application side",
                    gap(Field::BaseUrl)
                )
            } else {
                format!("{}none (optional)", gap(Field::BaseUrl))
            },
            if app.had { t.warning } else { t.dim },
        ));
    }
    lines.push(base);
    lines.extend(error_line(Field::BaseUrl));
    let fields = app.fields();
    if fields.len() == 1 {
        return lines;
    }
    let mut ping = line(Field::PingPath, "Ping path", Value::Input(&app.ping_path));
    if app.ping_path.value.is_empty() {
        ping.spans.push(Span::styled(
            format!("{}(the base URL itself)", gap(Field::PingPath)),
            t.dim,
        ));
    }
    lines.push(ping);
    lines.extend(error_line(Field::PingPath));
    let kinds = AuthKind::VARIANTS
        .iter()
        .map(|k| {
            if *k == app.kind {
                format!("[{}]", k.as_str())
            } else {
                format!(" {} ", k.as_str())
            }
        })
        .collect::<Vec<_>>()
        .join("");
    lines.push(line(Field::AuthKind, "Auth", Value::Choice(kinds)));
    lines.extend(error_line(Field::AuthKind));
    for f in fields.into_iter().skip(3) {
        let l = match f {
            Field::Username => line(f, "Username", Value::Input(&app.username)),
            Field::Header => line(f, "Header", Value::Input(&app.header)),
            Field::TokenUrl => line(f, "Token URL", Value::Input(&app.token_url)),
            Field::ClientId => line(f, "Client id", Value::Input(&app.client_id)),
            Field::Scope => {
                let mut l = line(f, "Scope", Value::Input(&app.scope));
                if app.scope.value.is_empty() {
                    l.spans
                        .push(Span::styled(format!("{}(optional)", gap(f)), t.dim));
                }
                l
            }
            Field::Secret => {
                let mut l = line(f, app.secret_name(), Value::Masked(&app.secret.0));
                if app.keeps_stored_secret() {
                    l.spans.push(Span::raw(format!("{}{SECRET_MASK}", gap(f))));
                    l.spans.push(Span::styled(
                        "  stored; unchanged unless you type a new one",
                        t.dim,
                    ));
                } else if app.secret.0.value.is_empty() {
                    l.spans.push(Span::styled(
                        format!("{}typed blind, never shown", gap(f)),
                        t.dim,
                    ));
                } else if app.stored_secret == Some(app.kind) {
                    // After the cursor cell when focused.
                    let gap = if form.focus == f { " " } else { "  " };
                    l.spans.push(Span::styled(
                        format!("{gap}replaces the stored one on save"),
                        t.dim,
                    ));
                }
                l
            }
            _ => continue,
        };
        lines.push(l);
        lines.extend(error_line(f));
    }
    lines
}

/// Draws the form: the conflict first when there is one, each field with
/// its error under it, what the focused field takes, and the keys.
pub fn render(form: &ConnectionForm, t: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
    let title = if form.is_create() {
        "New connection"
    } else {
        "Edit connection"
    };
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &form.general_error {
        lines.push(Line::from(Span::styled(format!("✗ {e}"), t.error)));
        lines.push(Line::from(""));
    }
    if let Some(theirs) = &form.conflict {
        lines.extend(conflict_lines(t, keymap, form, theirs));
        lines.push(Line::from(""));
    }
    // Inside the dialog's border and padding.
    let room = 92u16.min(area.width).saturating_sub(4) as usize;
    let line =
        |f: Field, name: &str, value: Value| field::line(t, name, 11, form.focus == f, value);
    let error_line = |f: Field| {
        form.errors
            .get(&f)
            .map(|e| field::error_lines(t, e, 13, room))
            .unwrap_or_default()
    };
    lines.push(line(Field::Label, "Label", Value::Input(&form.label)));
    lines.extend(error_line(Field::Label));
    if form.is_create() {
        let mut l = line(Field::Code, "Code", Value::Input(&form.code));
        if !form.code_edited {
            l.spans.push(Span::styled("  (from the label)", t.dim));
        }
        lines.push(l);
        lines.extend(error_line(Field::Code));
    } else {
        lines.push(line(
            Field::Code,
            "Code",
            Value::Fixed(form.code.value.clone(), "(never changes)"),
        ));
    }
    let flow = crate::model::FlowType::VARIANTS
        .iter()
        .map(|f| {
            if *f == form.flow_type {
                format!("[{}]", f.as_str())
            } else {
                format!(" {} ", f.as_str())
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    lines.push(line(Field::FlowType, "Flow type", Value::Choice(flow)));
    lines.extend(error_line(Field::FlowType));
    let mut visual = line(
        Field::Visual,
        "Visual",
        Value::Choice(format!("◀ {} ▶", form.visual_display())),
    );
    if form.is_file_choice() {
        visual.spans.push(Span::raw(" "));
        visual.spans.extend(field::input_spans(
            t,
            &form.visual_path,
            form.focus == Field::Visual,
        ));
    }
    lines.push(visual);
    lines.extend(error_line(Field::Visual));
    if form.fields().contains(&Field::Integration) {
        let (name, note) = match form.integration() {
            Some((code, name)) => (
                format!("{name} ({code})"),
                "registered with it at once; its users get access (R13)",
            ),
            None => (
                "none".to_string(),
                "registered with no integration; the owner and admins see it",
            ),
        };
        let mut l = line(
            Field::Integration,
            "Integration",
            Value::Choice(format!(" ◀ {name} ▶")),
        );
        l.spans.push(Span::styled(format!("  {note}"), t.dim));
        lines.push(l);
        lines.extend(error_line(Field::Integration));
    }
    lines.extend(application_lines(form, t, keymap, room));
    lines.push(Line::from(""));
    let help = match form.focus {
        Field::Integration | Field::AuthKind => "←/→ or Space choose",
        Field::Secret => "typed blind, never shown; empty keeps the stored one",
        Field::BaseUrl if form.app.had => {
            "http:// or https://; clear it to remove the application side"
        }
        Field::BaseUrl => "http:// or https://; empty: no application side",
        Field::PingPath => {
            "what a test GETs, after the base URL, e.g. /health; empty: the base URL itself"
        }
        Field::FlowType | Field::Visual
            if !form.is_file_choice() || form.focus == Field::FlowType =>
        {
            "←/→ or Space choose"
        }
        Field::Visual => "type an absolute path to a .png or .jpg; ← at the start goes back",
        _ => "type to edit",
    };
    lines.push(Line::from(Span::styled(help, t.dim)));
    if form.submitting {
        lines.push(Line::from(Span::styled("saving…", t.dim)));
    } else {
        lines.extend(hint_lines(t, keymap, Context::Form, room));
    }
    dialog::render(t, title, lines, 92, area, buf);
}

impl App {
    pub(crate) fn on_form_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
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
        let overwrite = self.keymap.keys_of(Context::Form, Action::Overwrite);
        let reload = self.keymap.keys_of(Context::Form, Action::Refresh);
        match action {
            Some(Action::NextField) => form.move_focus(true),
            Some(Action::PrevField) => form.move_focus(false),
            Some(Action::Cancel) => {
                self.modals.pop();
            }
            Some(Action::Save) if form.conflict.is_some() => {
                let version = form.conflict.as_ref().map_or(0, |c| c.version);
                form.general_error = Some(format!(
                    "Someone else saved this connection meanwhile: {overwrite} saves yours over version {version}, {reload} takes theirs"
                ));
            }
            Some(Action::Save) => {
                if !form.validate() {
                    return Vec::new();
                }
                if form.is_create() {
                    form.submitting = true;
                    return vec![Command::Create(form.new_connection())];
                }
                let Some(base) = form.base.clone() else {
                    form.general_error = Some("this connection no longer exists".to_string());
                    return Vec::new();
                };
                // Based on the version the form was opened on: a change
                // made meanwhile answers 409, never gets overwritten.
                let patch = form.patch(&base);
                if ConnectionForm::is_empty_patch(&patch) {
                    self.modals.pop();
                    self.set_status(StatusKind::Info, "Nothing changed");
                    return Vec::new();
                }
                form.submitting = true;
                return vec![Command::Update(base.code, patch)];
            }
            Some(Action::Overwrite) => {
                let Some(theirs) = form.conflict.clone() else {
                    return Vec::new();
                };
                if !form.validate() {
                    return Vec::new();
                }
                let patch = form.patch(&theirs);
                if ConnectionForm::is_empty_patch(&patch) {
                    let label = theirs.label.clone();
                    self.modals.pop();
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "Nothing to save: version {} of {label} already has your values",
                            theirs.version
                        ),
                    );
                    return Vec::new();
                }
                form.submitting = true;
                return vec![Command::Update(theirs.code, patch)];
            }
            Some(Action::Refresh) => {
                let Some(theirs) = form.conflict.take() else {
                    return Vec::new();
                };
                **form = ConnectionForm::edit(&theirs);
                self.set_status(
                    StatusKind::Info,
                    format!(
                        "Took version {} of {}; your edits were dropped",
                        theirs.version, theirs.label
                    ),
                );
            }
            _ => {
                form.handle_key(key);
            }
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn type_str(form: &mut ConnectionForm, s: &str) {
        for c in s.chars() {
            form.handle_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn r1_code_fills_in_live_until_edited() {
        let mut f = ConnectionForm::create();
        type_str(&mut f, "Magento Storefront");
        assert_eq!(f.code.value, "magento_storefront");
        f.move_focus(true);
        assert_eq!(f.focus, Field::Code);
        f.handle_key(&KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(f.code.value, "magento_storefron");
        f.move_focus(false);
        type_str(&mut f, " EU");
        assert_eq!(f.code.value, "magento_storefron", "an edited code stays");
        assert_eq!(f.label.value, "Magento Storefront EU");
    }

    #[test]
    fn r1_validation_names_the_field() {
        let mut f = ConnectionForm::create();
        type_str(&mut f, "ab");
        assert!(!f.validate());
        assert!(f.errors[&Field::Label].contains("too short"));
        assert!(f.errors.contains_key(&Field::Code));
        assert_eq!(f.focus, Field::Label);
    }

    #[test]
    fn pickers_cycle() {
        let mut f = ConnectionForm::create();
        f.focus = Field::FlowType;
        f.handle_key(&KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        assert_eq!(f.flow_type, FlowType::Destination);
        f.handle_key(&KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE));
        assert_eq!(f.flow_type, FlowType::Other);
        f.focus = Field::Visual;
        f.handle_key(&KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        assert_eq!(f.visual().as_deref(), Some(BUNDLED_VISUALS[0].0));
        f.handle_key(&KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        f.handle_key(&KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        assert!(f.is_file_choice());
        type_str(&mut f, "/tmp/x.png");
        assert_eq!(f.visual().as_deref(), Some("/tmp/x.png"));
    }

    #[test]
    fn r13_a_member_creates_inside_an_integration_they_manage() {
        let choices = |required| CreateChoices {
            integrations: vec![
                ("orders".into(), "Orders".into()),
                ("finance".into(), "Finance".into()),
            ],
            required,
        };
        let mut member = ConnectionForm::create_in(choices(true));
        assert!(member.fields().contains(&Field::Integration));
        assert_eq!(
            member.new_connection().integration.as_deref(),
            Some("orders")
        );
        member.focus = Field::Integration;
        member.handle_key(&KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        assert_eq!(
            member.new_connection().integration.as_deref(),
            Some("finance")
        );
        member.handle_key(&KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        assert_eq!(
            member.new_connection().integration.as_deref(),
            Some("orders"),
            "a member has no \"none\" choice"
        );
        let mut admin = ConnectionForm::create_in(choices(false));
        assert_eq!(admin.new_connection().integration, None, "none by default");
        admin.focus = Field::Integration;
        admin.handle_key(&KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        assert_eq!(
            admin.new_connection().integration.as_deref(),
            Some("finance")
        );
        assert!(
            !ConnectionForm::create()
                .fields()
                .contains(&Field::Integration),
            "no integrations: no field"
        );
    }

    #[test]
    fn text_input_edits_unicode() {
        let mut t = TextInput::new("héllo");
        t.handle_key(&KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        t.handle_key(&KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(t.value, "hélo");
        t.handle_key(&KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
        t.handle_key(&KeyEvent::new(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!(t.value, "élo");
        t.handle_key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(t.value, "");
    }
}
