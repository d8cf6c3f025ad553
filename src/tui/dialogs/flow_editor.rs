//! The flow editor (Register tab; SPEC §4 R14, R15, R17, R19): the name
//! form of a new flow (or a rename), the step editor with its connection
//! picker, and the discard confirmation. Its state, keys and drawing.
//!
//! The server decides every rule; the marks here ("registered", "saving
//! registers it", "deregistered") only say in advance what it will do, and
//! a refusal is shown as the server words it, with the editor kept open.

use crate::tui::tabs::register::flows::label_in;
use crate::tui::view::Screen;
use crate::tui::widgets::dialog;
use std::cell::RefCell;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use crate::domain;
use crate::model::{Connection, Flow, FlowInput, FlowStep, Integration, IntegrationKind, StepKind};
use crate::tui::app::{App, Command, Modal, StatusKind, Then};
use crate::tui::dialogs::confirm::Confirm;
use crate::tui::filter::FuzzyFilter;
use crate::tui::keymap::{Action, Context};
use crate::tui::theme::Theme;
use crate::tui::view::{centered, highlighted, wrap_words};
use crate::tui::widgets::field::TextInput;
use crate::tui::widgets::field::{self, Value, hint_lines};
use crate::tui::widgets::scroll::fit_offset;
use crate::tui::widgets::text::ellipsize;

/// What the flow editor shows above the Register tab, one at a time on the
/// modal stack (a rename form may sit on an editor).
pub enum FlowModal {
    Name(FlowNameForm),
    Editor(Box<FlowEditor>),
}
impl FlowModal {
    /// The keymap context of its keys.
    pub fn context(&self) -> Context {
        match self {
            FlowModal::Name(_) => Context::Form,
            FlowModal::Editor(e) if e.picker.is_some() => Context::StepPicker,
            FlowModal::Editor(_) => Context::FlowEditor,
        }
    }

    /// Pasted text goes to the field being typed in.
    pub fn paste(&mut self, text: &str) {
        let text = text.replace(['\n', '\r'], "");
        match self {
            FlowModal::Name(form) => {
                if form.on_code {
                    form.code.paste(&text);
                    form.code_edited = true;
                } else {
                    form.name.paste(&text);
                    form.name_changed();
                }
            }
            FlowModal::Editor(e) => {
                if let Some(p) = e.picker.as_mut() {
                    p.query.paste(&text);
                    p.refilter();
                }
            }
        }
    }
}
/// Whether the name form starts a flow or renames the one being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMode {
    New {
        integration: String,
        integration_name: String,
        kind: IntegrationKind,
    },
    /// The code can still change while the flow was never saved.
    Rename { code_editable: bool },
}
/// Name and code of a new flow (the code fills in from the name until the
/// user edits it, as for connections, R1), or a new name.
#[derive(Debug, Clone)]
pub struct FlowNameForm {
    pub mode: NameMode,
    pub name: TextInput,
    pub code: TextInput,
    pub code_edited: bool,
    pub on_code: bool,
    pub name_error: Option<String>,
    pub code_error: Option<String>,
}
impl FlowNameForm {
    pub(crate) fn new_flow(i: &Integration) -> Self {
        FlowNameForm {
            mode: NameMode::New {
                integration: i.code.clone(),
                integration_name: i.name.clone(),
                kind: i.kind,
            },
            name: TextInput::default(),
            code: TextInput::default(),
            code_edited: false,
            on_code: false,
            name_error: None,
            code_error: None,
        }
    }

    pub(crate) fn rename(name: &str, code: &str, code_editable: bool) -> Self {
        FlowNameForm {
            mode: NameMode::Rename { code_editable },
            name: TextInput::new(name),
            code: TextInput::new(code),
            code_edited: true,
            on_code: false,
            name_error: None,
            code_error: None,
        }
    }

    /// Whether the code is shown, not edited (a saved flow's code is its key).
    pub(crate) fn code_fixed(&self) -> bool {
        self.mode
            == NameMode::Rename {
                code_editable: false,
            }
    }

    pub(crate) fn is_rename(&self) -> bool {
        matches!(self.mode, NameMode::Rename { .. })
    }

    pub(crate) fn name_changed(&mut self) {
        self.name_error = None;
        if !self.code_edited && !self.is_rename() {
            self.code = TextInput::new(&domain::slug_from_label(&self.name.value));
            self.code_error = None;
        }
    }

    /// Checks name and code as the server will (its messages, with "name"
    /// for "label"); `taken` says whether a loaded flow has the code.
    pub(crate) fn validate(&mut self, taken: impl Fn(&str) -> bool) -> Option<(String, String)> {
        self.name_error = None;
        self.code_error = None;
        let name = match domain::validate_label(&self.name.value) {
            Ok(n) => Some(n),
            Err(e) => {
                self.name_error = Some(e.message.replace("label", "name"));
                None
            }
        };
        let code = self.code.value.trim().to_string();
        if !self.code_fixed() {
            if let Err(e) = domain::validate_code(&code) {
                self.code_error = Some(e.message);
            } else if taken(&code) {
                self.code_error = Some(format!(
                    "a flow with code {code:?} exists already; choose another code"
                ));
            }
        }
        if self.name_error.is_some() {
            self.on_code = false;
        } else if self.code_error.is_some() {
            self.on_code = true;
        }
        match (name, &self.name_error, &self.code_error) {
            (Some(name), None, None) => Some((name, code)),
            _ => None,
        }
    }
}
/// A refusal of the server, as it said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub field: Option<String>,
    pub message: String,
}
/// The flow being edited: its steps change here and reach the server in one
/// `save_flow` call.
pub struct FlowEditor {
    pub code: String,
    pub name: String,
    /// The integration it is saved in (`None`: standalone).
    pub integration: Option<String>,
    pub integration_name: String,
    pub kind: IntegrationKind,
    /// The flow as loaded; `None` for a new one.
    pub original: Option<Flow>,
    pub steps: Vec<FlowStep>,
    pub selected: usize,
    pub picker: Option<StepPicker>,
    pub error: Option<FlowError>,
    pub saving: bool,
}
impl FlowEditor {
    pub(crate) fn edit(flow: &Flow, i: &Integration) -> Self {
        Self::of(flow, Some(i.code.clone()), i.name.clone(), i.kind)
    }

    /// A standalone flow edited as it is: it stays standalone (R17).
    pub(crate) fn edit_standalone(flow: &Flow) -> Self {
        Self::of(
            flow,
            None,
            "standalone".to_string(),
            IntegrationKind::Standard,
        )
    }

    pub(crate) fn of(
        flow: &Flow,
        integration: Option<String>,
        integration_name: String,
        kind: IntegrationKind,
    ) -> Self {
        FlowEditor {
            code: flow.code.clone(),
            name: flow.name.clone(),
            integration,
            integration_name,
            kind,
            original: Some(flow.clone()),
            steps: flow.steps.clone(),
            selected: 0,
            picker: None,
            error: None,
            saving: false,
        }
    }

    pub(crate) fn create(code: String, name: String, mode: &NameMode) -> Option<Self> {
        let NameMode::New {
            integration,
            integration_name,
            kind,
        } = mode
        else {
            return None;
        };
        Some(FlowEditor {
            code,
            name,
            integration: Some(integration.clone()),
            integration_name: integration_name.clone(),
            kind: *kind,
            original: None,
            steps: Vec::new(),
            selected: 0,
            picker: None,
            error: None,
            saving: false,
        })
    }

    pub fn is_new(&self) -> bool {
        self.original.is_none()
    }

    /// Whether closing would lose something: a new flow is not saved at
    /// all; an existing one when its name or steps differ.
    pub fn is_dirty(&self) -> bool {
        match &self.original {
            None => true,
            Some(f) => {
                f.steps != self.steps || f.name != self.name || f.integration != self.integration
            }
        }
    }

    /// A standalone flow being attached to the integration (R17).
    pub fn is_attaching(&self) -> bool {
        self.original
            .as_ref()
            .is_some_and(|f| f.integration.is_none() && self.integration.is_some())
    }

    /// The body of the one `save_flow` call. A new flow says it read
    /// version 0, so an existing flow of the same code is never overwritten.
    pub fn input(&self) -> FlowInput {
        FlowInput {
            name: self.name.clone(),
            integration: self.integration.clone(),
            steps: self.steps.clone(),
            version: Some(self.original.as_ref().map_or(0, |f| f.version)),
        }
    }

    /// How many steps of the flow as loaded used `code` in this same
    /// integration: that many may stay after a deregistration (R15).
    pub(crate) fn kept_uses(&self, code: &str) -> usize {
        self.original
            .as_ref()
            .filter(|f| f.integration == self.integration)
            .map_or(0, |f| {
                f.steps.iter().filter(|s| s.connection == code).count()
            })
    }

    pub(crate) fn move_step(&mut self, up: bool) -> bool {
        let i = self.selected;
        let j = if up {
            i.checked_sub(1)
        } else {
            Some(i + 1).filter(|j| *j < self.steps.len())
        };
        match j {
            Some(j) if i < self.steps.len() => {
                self.steps.swap(i, j);
                self.selected = j;
                true
            }
            _ => false,
        }
    }
}
/// The connection picker of a step: every connection the user sees, fuzzy
/// filtered, each marked by what saving would do with it.
pub struct StepPicker {
    pub kind: StepKind,
    /// `Some(i)`: changes the connection of step `i`; else adds a step.
    pub replace: Option<usize>,
    pub query: TextInput,
    /// A copy: a reload while the picker is open does not move its rows.
    pub connections: Vec<Connection>,
    pub filter: RefCell<FuzzyFilter>,
    /// Indices into `connections`, in the order shown.
    pub rows: Vec<usize>,
    pub selected: usize,
    /// Codes registered with the editor's integration, sorted.
    registered: Vec<String>,
    /// Why the last choice was refused (the same step twice).
    pub error: Option<String>,
}
impl StepPicker {
    pub(crate) fn new(
        connections: &[Connection],
        registered: &[String],
        kind: StepKind,
        replace: Option<usize>,
        current: Option<&str>,
    ) -> Self {
        let mut filter = FuzzyFilter::default();
        filter.set_rows(connections);
        let mut p = StepPicker {
            kind,
            replace,
            query: TextInput::default(),
            connections: connections.to_vec(),
            filter: RefCell::new(filter),
            rows: Vec::new(),
            selected: 0,
            registered: registered.to_vec(),
            error: None,
        };
        p.refilter();
        if let Some(code) = current
            && let Some(pos) = p.rows.iter().position(|&i| p.connections[i].code == code)
        {
            p.selected = pos;
        }
        p
    }

    pub(crate) fn is_registered(&self, code: &str) -> bool {
        self.registered
            .binary_search_by(|c| c.as_str().cmp(code))
            .is_ok()
    }

    /// Re-applies the query; without one, the registered connections come
    /// first (what a step normally uses), each group in list order.
    pub(crate) fn refilter(&mut self) {
        let mut filter = self.filter.borrow_mut();
        filter.set_query(&self.query.value);
        let mut rows = filter.visible().to_vec();
        if !filter.is_active() {
            rows.sort_by_key(|&i| !self.is_registered(&self.connections[i].code));
        }
        drop(filter);
        self.rows = rows;
        self.selected = 0;
    }

    pub(crate) fn chosen(&self) -> Option<&Connection> {
        self.rows
            .get(self.selected)
            .and_then(|&i| self.connections.get(i))
    }

    pub(crate) fn move_by(&mut self, delta: isize) {
        let n = self.rows.len() as isize;
        if n > 0 {
            self.selected = (self.selected as isize + delta).clamp(0, n - 1) as usize;
        }
    }
}
/// What saving would do with one connection in the editor's integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMark {
    /// Registered with the integration.
    Registered,
    /// Not registered: saving registers it (R14).
    WillRegister,
    /// Deregistered, but this flow already used it there: it may stay (R15).
    Kept,
    /// Deregistered: a new step on it is refused (R15).
    Refused,
    /// The integration is an app: nothing is registered (R17).
    App,
}
impl StepMark {
    pub fn text(self) -> &'static str {
        match self {
            StepMark::Registered => "registered",
            StepMark::WillRegister => "not yet: saving registers it (R14)",
            StepMark::Kept => "deregistered, kept by this flow (R15)",
            StepMark::Refused => "deregistered: refused for a new step (R15)",
            StepMark::App => "app: no registration (R17)",
        }
    }

    pub(crate) fn style(self, t: &Theme) -> Style {
        match self {
            StepMark::Registered | StepMark::App => t.dim,
            StepMark::WillRegister | StepMark::Kept => t.warning,
            StepMark::Refused => t.error,
        }
    }

    /// `[x]` registered, `[ ]` not (yet), `[!]` refused, ` · ` in an app:
    /// the symbol says it, not only the colour.
    pub fn boxed(self) -> &'static str {
        match self {
            StepMark::Registered => "[x]",
            StepMark::WillRegister | StepMark::Kept => "[ ]",
            StepMark::Refused => "[!]",
            StepMark::App => " · ",
        }
    }
}
/// Whether a connection was deregistered from an integration: it is not
/// registered, yet steps of that integration use it. (Saving a flow
/// registers what its steps use, so only a deregistration leaves such a
/// step behind; the server holds the truth and decides.)
pub(crate) fn deregistered(app: &App, integration: &str, code: &str) -> bool {
    app.data.usage.of(code).is_some_and(|u| {
        u.used_by
            .iter()
            .any(|s| s.integration.as_deref() == Some(integration))
    })
}
/// The mark of `code` when it would be used `uses` times by the flow.
pub(crate) fn mark(
    app: &App,
    editor: &FlowEditor,
    registered: &[String],
    code: &str,
    uses: usize,
) -> StepMark {
    let Some(integration) = editor.integration.as_deref() else {
        return StepMark::App;
    };
    if editor.kind == IntegrationKind::App {
        return StepMark::App;
    }
    if registered
        .binary_search_by(|c| c.as_str().cmp(code))
        .is_ok()
    {
        return StepMark::Registered;
    }
    if deregistered(app, integration, code) {
        if uses <= editor.kept_uses(code) {
            StepMark::Kept
        } else {
            StepMark::Refused
        }
    } else {
        StepMark::WillRegister
    }
}
/// Codes registered with the editor's integration, sorted.
pub(crate) fn registered_of<'a>(app: &'a App, editor: &FlowEditor) -> &'a [String] {
    editor
        .integration
        .as_deref()
        .and_then(|code| app.data.integrations.iter().find(|i| i.code == code))
        .map_or(&[], |i| i.registered.as_slice())
}
/// The mark of each step, in order.
pub fn step_marks(app: &App, editor: &FlowEditor) -> Vec<StepMark> {
    let registered = registered_of(app, editor);
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    editor
        .steps
        .iter()
        .map(|s| {
            let n = seen.entry(s.connection.as_str()).or_default();
            *n += 1;
            mark(app, editor, registered, &s.connection, *n)
        })
        .collect()
}
pub(crate) fn other_kind(k: StepKind) -> StepKind {
    match k {
        StepKind::Export => StepKind::Import,
        StepKind::Import => StepKind::Export,
    }
}
/// Draws the flow modal on top of the stack.
pub fn render_modal(
    app: &App,
    screen: &mut Screen,
    modal: &FlowModal,
    area: Rect,
    buf: &mut Buffer,
) {
    match modal {
        FlowModal::Name(form) => {
            // A rename shows over its editor.
            if form.is_rename()
                && let Some(Modal::Flow(below)) = app.modals.iter().rev().nth(1)
                && let FlowModal::Editor(e) = below.as_ref()
            {
                render_editor(app, screen, e, area, buf);
            }
            render_name_form(app, form, area, buf);
        }
        FlowModal::Editor(e) => {
            render_editor(app, screen, e, area, buf);
            if let Some(p) = &e.picker {
                render_picker(app, screen, e, p, area, buf);
            }
        }
    }
}
pub(crate) fn render_name_form(app: &App, form: &FlowNameForm, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let width = 80u16.min(area.width);
    let room = width.saturating_sub(4).max(8) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let title = match &form.mode {
        NameMode::New {
            integration_name,
            kind,
            ..
        } => {
            let what = if *kind == IntegrationKind::App {
                "app"
            } else {
                "integration"
            };
            lines.push(Line::from(vec![
                Span::raw(format!("A new flow in the {what} ")),
                Span::styled(integration_name.clone(), t.title),
                Span::raw("."),
            ]));
            lines.push(Line::from(""));
            " New flow ".to_string()
        }
        NameMode::Rename { .. } => " Rename flow ".to_string(),
    };
    let error = |e: &Option<String>| -> Vec<Line<'static>> {
        e.iter()
            .flat_map(|e| field::error_lines(t, e, 8, room))
            .collect()
    };
    lines.push(field::line(
        t,
        "Name",
        6,
        !form.on_code,
        Value::Input(&form.name),
    ));
    lines.extend(error(&form.name_error));
    let mut code = if form.code_fixed() {
        field::line(
            t,
            "Code",
            6,
            false,
            Value::Fixed(form.code.value.clone(), "(never changes)"),
        )
    } else {
        field::line(t, "Code", 6, form.on_code, Value::Input(&form.code))
    };
    if !form.code_edited {
        code.spans.push(Span::styled("  (from the name)", t.dim));
    }
    lines.push(code);
    lines.extend(error(&form.code_error));
    lines.push(Line::from(""));
    if !form.is_rename() {
        let save = crate::tui::view::key_of(app, Context::FlowEditor, Action::Save);
        lines.extend(
            wrap_words(
                &format!("Next come the steps; nothing is saved until {save} in the editor."),
                room,
            )
            .into_iter()
            .map(|l| Line::from(Span::styled(l, t.dim))),
        );
    }
    lines.extend(hint_lines(&app.theme, &app.keymap, Context::Form, room));
    let rect = centered(area, width, lines.len() as u16 + 2);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(dialog::block(t, title.trim()))
        .render(rect, buf);
}
pub(crate) fn render_editor(
    app: &App,
    screen: &mut Screen,
    e: &FlowEditor,
    area: Rect,
    buf: &mut Buffer,
) {
    let t = &app.theme;
    let width = 110u16.min(area.width);
    let room = width.saturating_sub(4).max(8) as usize;
    let marks = step_marks(app, e);
    // Above the steps.
    let kind = if e.kind == IntegrationKind::App {
        " (app)"
    } else {
        ""
    };
    let mut head = vec![
        Line::from(vec![
            Span::styled(format!("{:<13}", "Name"), t.label),
            Span::raw(e.name.clone()),
            Span::styled(format!("  {}", e.code), t.dim),
        ]),
        Line::from(vec![
            Span::styled(format!("{:<13}", "Integration"), t.label),
            Span::raw(format!("{}{kind}", e.integration_name)),
            Span::styled(
                format!("  {}", e.integration.as_deref().unwrap_or("standalone")),
                t.dim,
            ),
            Span::styled(
                if e.is_attaching() {
                    "  standalone until saved: saving attaches it (R17)"
                } else {
                    ""
                },
                t.warning,
            ),
        ]),
        Line::from(""),
    ];
    let mut heading = vec![Span::styled(format!("Steps · {}", e.steps.len()), t.title)];
    if e.is_dirty() {
        heading.push(Span::styled(
            if e.is_new() {
                "  · not saved yet"
            } else {
                "  · unsaved changes"
            },
            t.warning,
        ));
    }
    head.push(Line::from(heading));
    // The steps.
    let digits = e.steps.len().max(1).to_string().len();
    // "▶ 12. import " before, the longest mark after: the connection's
    // column gives way (with an ellipsis) so the marks stay readable.
    let longest_mark = marks
        .iter()
        .map(|m| m.text().chars().count())
        .max()
        .unwrap_or(0)
        .max("✗ refused, see below".chars().count());
    let label_width = e
        .steps
        .iter()
        .map(|s| {
            let label = label_in(&app.data.connections, &s.connection).unwrap_or("?");
            label.chars().count() + s.connection.chars().count() + 3
        })
        .max()
        .unwrap_or(0)
        .min(room.saturating_sub(digits + 13 + longest_mark).max(12));
    let step_lines: Vec<Line> = if e.steps.is_empty() {
        let add = crate::tui::view::key_of(app, Context::FlowEditor, Action::AddStep);
        wrap_words(
            &format!("No steps yet: {add} adds the first (an export reads from an application, an import writes to one)."),
            room,
        )
        .into_iter()
        .map(|l| Line::from(Span::styled(l, t.dim)))
        .collect()
    } else {
        e.steps
            .iter()
            .zip(&marks)
            .enumerate()
            .map(|(n, (s, m))| {
                let selected = n == e.selected;
                let refused = e.error.as_ref().and_then(|er| er.field.as_deref())
                    == Some(format!("steps[{n}].connection").as_str());
                let what = match label_in(&app.data.connections, &s.connection) {
                    Some(label) => format!("{label} ({})", s.connection),
                    None => format!("{} (not visible to you)", s.connection),
                };
                let mark = if refused {
                    Span::styled("✗ refused, see below", t.error)
                } else {
                    Span::styled(m.text(), m.style(t))
                };
                Line::from(vec![
                    Span::raw(if selected { "▶ " } else { "  " }),
                    Span::raw(format!("{:>digits$}. ", n + 1)),
                    Span::styled(format!("{:<7}", s.kind.as_str()), t.label),
                    Span::raw(format!("{:<label_width$}  ", ellipsize(&what, label_width))),
                    mark,
                ])
            })
            .collect()
    };
    // Below the steps.
    let mut tail: Vec<Line> = vec![Line::from("")];
    if let Some(err) = &e.error {
        let text = match &err.field {
            Some(f) => format!("✗ Not saved: {} (field: {f})", err.message),
            None => format!("✗ Not saved: {}", err.message),
        };
        tail.extend(
            wrap_words(&text, room)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.error))),
        );
        tail.push(Line::from(""));
    }
    let explain = match (&e.integration, e.kind) {
        (Some(_), IntegrationKind::Standard) => format!(
            "Saving registers with {} every connection its steps need (R14); every user of {} then has access to them.",
            e.integration_name, e.integration_name
        ),
        (Some(_), IntegrationKind::App) => format!(
            "{} is an app: it owns its connections, so saving registers nothing (R17).",
            e.integration_name
        ),
        (None, _) => "A standalone flow has no registrations (R17).".to_string(),
    };
    tail.extend(
        wrap_words(&explain, room)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, t.dim))),
    );
    if e.saving {
        tail.push(Line::from(Span::styled("saving…", t.dim)));
    } else {
        tail.extend(hint_lines(
            &app.theme,
            &app.keymap,
            Context::FlowEditor,
            room,
        ));
    }
    let wanted = head.len() + step_lines.len().max(1) + tail.len() + 2;
    let height = (wanted as u16).min(area.height);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let verb = if e.is_new() {
        "New flow"
    } else if e.is_attaching() {
        "Attach flow"
    } else {
        "Edit flow"
    };
    let block = dialog::block(t, &format!("{verb} · {}", e.name));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let [head_area, steps_area, tail_area] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Min(1),
        Constraint::Length(tail.len() as u16),
    ])
    .areas(inner);
    Paragraph::new(head).render(head_area, buf);
    let rows = steps_area.height as usize;
    let offset = fit_offset(screen.steps_offset, e.selected, step_lines.len(), rows);
    screen.steps_offset = offset;
    for (row, (n, line)) in step_lines
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .enumerate()
    {
        let r = Rect {
            y: steps_area.y + row as u16,
            height: 1,
            ..steps_area
        };
        if n == e.selected && !e.steps.is_empty() && e.picker.is_none() {
            buf.set_style(r, t.selected);
        }
        line.render(r, buf);
    }
    Paragraph::new(tail).render(tail_area, buf);
}
pub(crate) fn render_picker(
    app: &App,
    screen: &mut Screen,
    e: &FlowEditor,
    p: &StepPicker,
    area: Rect,
    buf: &mut Buffer,
) {
    let t = &app.theme;
    let width = 110u16.min(area.width);
    let room = width.saturating_sub(4).max(8) as usize;
    let registered = registered_of(app, e);
    let uses_before = |code: &str| {
        e.steps
            .iter()
            .enumerate()
            .filter(|(n, s)| s.connection == code && Some(*n) != p.replace)
            .count()
    };
    let title = match p.replace {
        Some(n) => format!(" Step {} of {}: another connection ", n + 1, e.name),
        None => format!(" Add a step to {} ", e.name),
    };
    let kinds = [StepKind::Export, StepKind::Import]
        .into_iter()
        .flat_map(|k| {
            let chosen = k == p.kind;
            [
                Span::styled(
                    if chosen {
                        format!("[{}]", k.as_str())
                    } else {
                        format!(" {} ", k.as_str())
                    },
                    if chosen {
                        t.focused_field
                    } else {
                        Style::new()
                    },
                ),
                Span::raw(" "),
            ]
        });
    let switch = crate::tui::view::key_of(app, Context::StepPicker, Action::ToggleKind);
    let mut kind_line = vec![Span::styled(format!("{:<7}", "Kind"), t.label)];
    kind_line.extend(kinds);
    kind_line.push(Span::styled(
        format!(" {switch} switches · an export reads from an app, an import writes to one"),
        t.dim,
    ));
    let mut head = vec![
        Line::from(kind_line),
        Line::from(vec![
            Span::styled(format!("{:<7}", "Find"), t.label),
            Span::raw(p.query.value.clone()),
            Span::styled("▏", t.key),
        ]),
    ];
    let legend = if e.integration.is_none() {
        "A standalone flow: any connection you see may be used; nothing gets registered (R17)."
            .to_string()
    } else if e.kind == IntegrationKind::App {
        format!(
            "{} is an app: any connection you see may be used; nothing gets registered (R17).",
            e.integration_name
        )
    } else {
        format!(
            "[x] registered with {}   [ ] not registered yet: saving registers it (R14)   [!] deregistered: refused for a new step (R15)",
            e.integration_name
        )
    };
    head.extend(
        wrap_words(&legend, room)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, t.dim))),
    );
    let shown_registered = p
        .rows
        .iter()
        .filter(|&&i| p.is_registered(&p.connections[i].code))
        .count();
    let mut tail = vec![Line::from(Span::styled(
        format!(
            "{} of {} connections · {shown_registered} shown registered with {}",
            p.rows.len(),
            p.connections.len(),
            e.integration_name
        ),
        t.dim,
    ))];
    if let Some(error) = &p.error {
        tail.extend(
            wrap_words(&format!("✗ {error}"), room)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.error))),
        );
    }
    tail.extend(hint_lines(
        &app.theme,
        &app.keymap,
        Context::StepPicker,
        room,
    ));
    let wanted = head.len() + p.rows.len().max(1) + tail.len() + 2;
    let rect = centered(
        area,
        width,
        (wanted as u16).min(area.height.saturating_sub(2).max(3)),
    );
    Clear.render(rect, buf);
    let block = dialog::block(t, title.trim());
    let inner = block.inner(rect);
    block.render(rect, buf);
    let [head_area, rows_area, tail_area] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Min(1),
        Constraint::Length(tail.len() as u16),
    ])
    .areas(inner);
    Paragraph::new(head).render(head_area, buf);
    Paragraph::new(tail)
        .wrap(Wrap { trim: false })
        .render(tail_area, buf);
    let height = rows_area.height as usize;
    screen.step_picker_page = height.saturating_sub(1).max(1);
    if p.rows.is_empty() {
        Paragraph::new(Span::styled(
            format!("No connection matches {:?}", p.query.value),
            t.dim,
        ))
        .render(rows_area, buf);
        return;
    }
    let offset = fit_offset(screen.step_picker_offset, p.selected, p.rows.len(), height);
    screen.step_picker_offset = offset;
    let filter = p.filter.borrow_mut();
    for (row, pos) in (offset..p.rows.len()).take(height).enumerate() {
        let idx = p.rows[pos];
        let c = &p.connections[idx];
        let selected = pos == p.selected;
        let r = Rect {
            y: rows_area.y + row as u16,
            height: 1,
            ..rows_area
        };
        if selected {
            buf.set_style(r, t.selected);
        }
        let m = mark(app, e, registered, &c.code, uses_before(&c.code) + 1);
        let marks = filter.highlights(idx);
        let mut spans = vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::styled(m.boxed(), if selected { Style::new() } else { m.style(t) }),
            Span::raw(" "),
        ];
        spans.extend(highlighted(&c.label, &marks.label, Style::new(), t.matched));
        spans.push(Span::raw("  "));
        spans.extend(highlighted(
            &c.code,
            &marks.code,
            if selected { Style::new() } else { t.dim },
            t.matched,
        ));
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            m.text(),
            if selected { Style::new() } else { m.style(t) },
        ));
        Line::from(spans).render(r, buf);
    }
}
/// Asks before the editor closes on unsaved changes.
pub(crate) fn confirm_discard(t: &Theme, e: &FlowEditor) -> Confirm<Then> {
    let first = if e.is_new() {
        format!("Discard the new flow {}? It was never saved.", e.name)
    } else {
        format!("Discard your changes to flow {}?", e.name)
    };
    Confirm::new(
        "Unsaved changes",
        70,
        Then::DiscardFlowEdits {
            name: e.name.clone(),
        },
    )
    .para(first, t.title)
    .para("Nothing reaches the server until you save.", Style::new())
    .answers("discard", "keep editing")
}
impl App {
    /// A key while a flow modal is on top.
    pub(crate) fn on_flow_modal_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Command> {
        // A page of the step picker: its rows on screen, less one.
        let page = self.screen.step_picker_page.max(1) as isize;
        let Some(Modal::Flow(modal)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match modal.as_mut() {
            FlowModal::Name(_) => self.on_name_key(action, key),
            FlowModal::Editor(e) if e.picker.is_some() => {
                let Some(picker) = e.picker.as_mut() else {
                    return Vec::new();
                };
                match action {
                    Some(Action::Up) => picker.move_by(-1),
                    Some(Action::Down) => picker.move_by(1),
                    Some(Action::PageUp) => {
                        picker.move_by(-page.max(1));
                    }
                    Some(Action::PageDown) => {
                        picker.move_by(page.max(1));
                    }
                    Some(Action::ToggleKind) => {
                        picker.kind = other_kind(picker.kind);
                        picker.error = None;
                    }
                    Some(Action::Cancel) => e.picker = None,
                    Some(Action::Apply) => {
                        let Some(c) = picker.chosen() else {
                            return Vec::new();
                        };
                        let step = FlowStep {
                            kind: picker.kind,
                            connection: c.code.clone(),
                        };
                        // The same step twice does the same work twice:
                        // refused, with where it already is.
                        if let Some(n) = e
                            .steps
                            .iter()
                            .enumerate()
                            .position(|(n, s)| *s == step && Some(n) != picker.replace)
                        {
                            picker.error = Some(format!(
                                "{} is already step {} ({}) of this flow: choose another connection, or switch the kind",
                                c.label,
                                n + 1,
                                step.kind.as_str()
                            ));
                            return Vec::new();
                        }
                        match picker.replace {
                            Some(i) if i < e.steps.len() => {
                                e.steps[i] = step;
                                e.selected = i;
                            }
                            _ => {
                                // After the highlighted step.
                                let at = if e.steps.is_empty() {
                                    0
                                } else {
                                    (e.selected + 1).min(e.steps.len())
                                };
                                e.steps.insert(at, step);
                                e.selected = at;
                            }
                        }
                        e.picker = None;
                        e.error = None;
                    }
                    _ => {
                        let (_, changed) = picker.query.handle_key(key);
                        if changed {
                            picker.error = None;
                            picker.refilter();
                        }
                    }
                }
                Vec::new()
            }
            FlowModal::Editor(_) => self.on_editor_key(action),
        }
    }
    pub(crate) fn on_editor_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let connections = &self.data.connections;
        let registered: Vec<String> = {
            let Some(Modal::Flow(m)) = self.modals.last() else {
                return Vec::new();
            };
            let FlowModal::Editor(e) = m.as_ref() else {
                return Vec::new();
            };
            registered_of(self, e).to_vec()
        };
        let Some(Modal::Flow(m)) = self.modals.last_mut() else {
            return Vec::new();
        };
        let FlowModal::Editor(e) = m.as_mut() else {
            return Vec::new();
        };
        if e.saving {
            // One save at a time.
            return Vec::new();
        }
        let n = e.steps.len();
        match action {
            Some(Action::Up) => e.selected = e.selected.saturating_sub(1),
            Some(Action::Down) => e.selected = (e.selected + 1).min(n.saturating_sub(1)),
            Some(Action::First) => e.selected = 0,
            Some(Action::Last) => e.selected = n.saturating_sub(1),
            Some(Action::AddStep) => {
                // A flow usually starts with an export and goes on with
                // imports; Tab in the picker switches.
                let kind = if e.steps.is_empty() {
                    StepKind::Export
                } else {
                    StepKind::Import
                };
                e.picker = Some(StepPicker::new(connections, &registered, kind, None, None));
            }
            Some(Action::ChangeStep) => {
                if let Some(step) = e.steps.get(e.selected) {
                    e.picker = Some(StepPicker::new(
                        connections,
                        &registered,
                        step.kind,
                        Some(e.selected),
                        Some(&step.connection),
                    ));
                }
            }
            Some(Action::ToggleKind) => {
                if let Some(step) = e.steps.get(e.selected) {
                    let flipped = FlowStep {
                        kind: other_kind(step.kind),
                        connection: step.connection.clone(),
                    };
                    match e.steps.iter().position(|s| *s == flipped) {
                        Some(n) => {
                            e.error = Some(FlowError {
                                field: Some("steps".into()),
                                message: format!(
                                    "Step {} is already this connection as {}: a flow runs each step once",
                                    n + 1,
                                    flipped.kind.as_str()
                                ),
                            });
                        }
                        None => {
                            e.steps[e.selected] = flipped;
                            e.error = None;
                        }
                    }
                }
            }
            Some(Action::RemoveStep) if e.selected < n => {
                e.steps.remove(e.selected);
                e.selected = e.selected.min(e.steps.len().saturating_sub(1));
                e.error = None;
            }
            Some(Action::MoveStepUp) => {
                e.move_step(true);
            }
            Some(Action::MoveStepDown) => {
                e.move_step(false);
            }
            Some(Action::Rename) => {
                let form = FlowNameForm::rename(&e.name, &e.code, e.is_new());
                self.modals
                    .push(Modal::Flow(Box::new(FlowModal::Name(form))));
            }
            Some(Action::Save) => {
                e.saving = true;
                e.error = None;
                let (code, input) = (e.code.clone(), e.input());
                let name = e.name.clone();
                self.set_status(StatusKind::Info, format!("Saving flow {name}…"));
                return vec![Command::SaveFlow { code, input }];
            }
            Some(Action::Cancel) => {
                if e.is_dirty() {
                    let confirm = confirm_discard(&self.theme, e);
                    self.modals.push(Modal::Confirm(Box::new(confirm)));
                } else {
                    self.modals.pop();
                }
            }
            Some(Action::Help) => self
                .modals
                .push(Modal::Help(crate::tui::dialogs::help::Help::default())),
            _ => {}
        }
        Vec::new()
    }
    pub(crate) fn on_name_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Command> {
        let taken: Vec<String> = self.data.flows.iter().map(|f| f.code.clone()).collect();
        let Some(Modal::Flow(m)) = self.modals.last_mut() else {
            return Vec::new();
        };
        let FlowModal::Name(form) = m.as_mut() else {
            return Vec::new();
        };
        match action {
            Some(Action::NextField | Action::PrevField) => {
                if !form.code_fixed() {
                    form.on_code = !form.on_code;
                }
            }
            Some(Action::Cancel) => {
                self.modals.pop();
            }
            Some(Action::Save) => {
                let Some((name, code)) = form.validate(|c| taken.iter().any(|t| t == c)) else {
                    return Vec::new();
                };
                let mode = form.mode.clone();
                self.modals.pop();
                match FlowEditor::create(code.clone(), name.clone(), &mode) {
                    Some(editor) => self
                        .modals
                        .push(Modal::Flow(Box::new(FlowModal::Editor(Box::new(editor))))),
                    None => {
                        // A rename: the editor below takes the new name (and
                        // code, while the flow is new).
                        if let Some(Modal::Flow(m)) = self.modals.last_mut()
                            && let FlowModal::Editor(e) = m.as_mut()
                        {
                            e.name = name;
                            if e.is_new() {
                                e.code = code;
                            }
                            e.error = None;
                        }
                    }
                }
            }
            _ => {
                let (input, is_code) = if form.on_code {
                    (&mut form.code, true)
                } else {
                    (&mut form.name, false)
                };
                let (_, changed) = input.handle_key(key);
                if changed {
                    if is_code {
                        form.code_edited = true;
                        form.code_error = None;
                    } else {
                        form.name_changed();
                    }
                }
            }
        }
        Vec::new()
    }
    /// The open editor of flow `code`, wherever it is on the stack.
    pub(crate) fn editor_of(&mut self, code: &str) -> Option<&mut FlowEditor> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Flow(f) => match f.as_mut() {
                FlowModal::Editor(e) if e.code == code => Some(e.as_mut()),
                _ => None,
            },
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(kind: StepKind, c: &str) -> FlowStep {
        FlowStep {
            kind,
            connection: c.into(),
        }
    }

    fn editor(steps: Vec<FlowStep>) -> FlowEditor {
        let flow: Flow = serde_json::from_value(serde_json::json!({
            "code": "sync",
            "name": "Sync",
            "integration": "orders",
            "steps": steps,
            "version": 4,
            "updated_at": "2026-11-26T10:00:00Z",
        }))
        .unwrap();
        let i: Integration = serde_json::from_value(serde_json::json!({
            "code": "orders",
            "name": "Orders",
            "kind": "standard",
            "registered": [],
            "flows": 1,
            "version": 1,
            "created_at": "2026-11-26T10:00:00Z",
            "updated_at": "2026-11-26T10:00:00Z",
            "access": "manage",
        }))
        .unwrap();
        FlowEditor::edit(&flow, &i)
    }

    #[test]
    fn steps_move_within_bounds_and_the_editor_knows_it_changed() {
        let mut e = editor(vec![
            step(StepKind::Export, "a_a"),
            step(StepKind::Import, "b_b"),
        ]);
        assert!(!e.is_dirty());
        assert!(!e.move_step(true), "the first step cannot go up");
        assert!(e.move_step(false));
        assert_eq!(e.selected, 1);
        assert_eq!(e.steps[1].connection, "a_a");
        assert!(e.is_dirty());
        assert!(!e.move_step(false), "the last step cannot go down");
        assert!(e.move_step(true));
        assert!(!e.is_dirty(), "back as loaded");
    }

    #[test]
    fn r15_a_saved_flow_sends_the_version_it_read_and_a_new_one_version_0() {
        let e = editor(vec![step(StepKind::Export, "a_a")]);
        let input = e.input();
        assert_eq!(input.version, Some(4));
        assert_eq!(input.integration.as_deref(), Some("orders"));
        assert_eq!(e.kept_uses("a_a"), 1);
        assert_eq!(e.kept_uses("b_b"), 0);
        let mode = NameMode::New {
            integration: "orders".into(),
            integration_name: "Orders".into(),
            kind: IntegrationKind::Standard,
        };
        let new = FlowEditor::create("nightly".into(), "Nightly".into(), &mode).unwrap();
        assert_eq!(new.input().version, Some(0), "never overwrites a flow");
        assert!(new.is_dirty());
        assert_eq!(new.kept_uses("a_a"), 0);
    }

    #[test]
    fn the_code_fills_in_from_the_name_until_edited() {
        let i: Integration = serde_json::from_value(serde_json::json!({
            "code": "orders", "name": "Orders", "kind": "standard", "registered": [],
            "flows": 0, "version": 1,
            "created_at": "2026-11-26T10:00:00Z", "updated_at": "2026-11-26T10:00:00Z",
        }))
        .unwrap();
        let mut form = FlowNameForm::new_flow(&i);
        form.name.paste("Nightly Stock → ERP");
        form.name_changed();
        assert_eq!(form.code.value, "nightly_stock_erp");
        form.code = TextInput::new("nightly");
        form.code_edited = true;
        form.name.paste("!");
        form.name_changed();
        assert_eq!(form.code.value, "nightly");
        assert_eq!(
            form.validate(|c| c == "nightly"),
            None,
            "a loaded flow has the code"
        );
        assert!(
            form.code_error
                .as_deref()
                .unwrap()
                .contains("exists already")
        );
        assert!(form.on_code);
        form.name = TextInput::new("ab");
        assert_eq!(form.validate(|_| false), None);
        assert_eq!(
            form.name_error.as_deref(),
            Some("name is too short: 2 characters, at least 3")
        );
    }
}
