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
use crate::model::{Connection, ConnectionPatch, FlowType, NewConnection};
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
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Label => "label",
            Field::Code => "code",
            Field::FlowType => "flow_type",
            Field::Visual => "visual",
            Field::Integration => "integration",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        [
            Field::Label,
            Field::Code,
            Field::FlowType,
            Field::Visual,
            Field::Integration,
        ]
        .into_iter()
        .find(|f| f.name() == name)
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

    pub fn fields(&self) -> &'static [Field] {
        if self.is_create() && !self.integrations.is_empty() {
            &[
                Field::Label,
                Field::Code,
                Field::FlowType,
                Field::Visual,
                Field::Integration,
            ]
        } else if self.is_create() {
            &[Field::Label, Field::Code, Field::FlowType, Field::Visual]
        } else {
            &[Field::Label, Field::FlowType, Field::Visual]
        }
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
            _ => {}
        }
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
            application: None,
        }
    }

    /// The fields of the form, as label, flow type and visual, for showing
    /// yours beside theirs.
    pub fn values(&self) -> [(&'static str, String); 3] {
        [
            ("Label", self.label.value.trim().to_string()),
            ("Flow type", self.flow_type.as_str().to_string()),
            ("Visual", self.visual().unwrap_or_else(|| "none".into())),
        ]
    }

    /// The fields that differ from `original`, based on its version.
    pub fn patch(&self, original: &Connection) -> ConnectionPatch {
        let label = self.label.value.trim();
        let visual = self.visual();
        ConnectionPatch {
            label: (label != original.label).then(|| label.to_string()),
            flow_type: (self.flow_type != original.flow_type).then_some(self.flow_type),
            visual: (visual != original.visual).then_some(visual),
            version: Some(original.version),
            ..ConnectionPatch::default()
        }
    }

    /// A connection's values, in the order of `values`.
    pub fn values_of(c: &Connection) -> [(&'static str, String); 3] {
        [
            ("Label", c.label.clone()),
            ("Flow type", c.flow_type.as_str().to_string()),
            ("Visual", c.visual.clone().unwrap_or_else(|| "none".into())),
        ]
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
    lines.push(Line::from(""));
    let help = match form.focus {
        Field::Integration => "←/→ or Space choose",
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
                if patch.label.is_none() && patch.flow_type.is_none() && patch.visual.is_none() {
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
                if patch.label.is_none() && patch.flow_type.is_none() && patch.visual.is_none() {
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
