//! Replacing a connection (R16a) from the Connections tab: a picker that
//! shows the connection and what uses it, a fuzzy-filtered list of the
//! connections to put in its place, and the scope (everywhere, one flow,
//! one step); then a confirmation that names every step that changes and
//! where the replacement gets registered (R14); then one request.
//!
//! Also the dialog that answers `d` on a connection in use (R8): what uses
//! it, and the way out (replace it first).

use crate::client::ClientError;
use crate::model::Replaced;
use crate::tui::app::Command;
use crate::tui::app::Modal;
use crate::tui::app::StatusKind;
use crate::tui::view::Screen;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};
use strum::VariantArray;

use crate::model::{Connection, Integration, IntegrationKind, StepKind};
use crate::tui::access::join_names;
use crate::tui::app::{App, Then};
use crate::tui::dialogs::confirm::{Confirm, Part};
use crate::tui::filter::FuzzyFilter;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::tabs::register::is_registered;
use crate::tui::theme::Theme;
use crate::tui::view::{centered, highlighted};
use crate::tui::widgets::field::TextInput;

/// One step that uses the connection being replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRef {
    pub flow: String,
    pub flow_name: String,
    /// The integration's code; `None` for a standalone flow.
    pub integration: Option<String>,
    /// Its name, when the user sees it.
    pub integration_name: Option<String>,
    /// 0-based.
    pub position: usize,
    pub kind: StepKind,
    /// Whether the user may change it (R19: manage on the flow's
    /// integration; standalone flows: owner and admins).
    pub changeable: bool,
}

impl StepRef {
    /// Where its flow lives: the integration's name, or "standalone".
    pub fn place(&self) -> String {
        match (&self.integration_name, &self.integration) {
            (Some(name), _) => name.clone(),
            (None, Some(code)) => code.clone(),
            (None, None) => "standalone".to_string(),
        }
    }

    /// "ERP to Shopify (erp_to_shopify) step 1, export · Product Syndication".
    pub fn describe(&self) -> String {
        format!(
            "{} ({}) step {}, {} · {}",
            self.flow_name,
            self.flow,
            self.position + 1,
            self.kind.as_str(),
            self.place()
        )
    }
}

/// The steps of `code` as the user sees them (R16), in flow order.
pub fn step_refs(app: &App, code: &str) -> Vec<StepRef> {
    let Some(usage) = app.data.usage.of(code) else {
        return Vec::new();
    };
    let mut steps: Vec<StepRef> = usage
        .used_by
        .iter()
        .map(|s| StepRef {
            flow: s.flow.clone(),
            flow_name: s.flow_name.clone(),
            integration: s.integration.clone(),
            integration_name: s.integration.as_ref().and_then(|code| {
                app.data
                    .integrations
                    .iter()
                    .find(|i| &i.code == code)
                    .map(|i| i.name.clone())
            }),
            position: s.position,
            kind: s.kind,
            changeable: app.may_change_flows_of(s.integration.as_deref()),
        })
        .collect();
    steps.sort_by(|a, b| {
        (&a.flow_name, &a.flow, a.position).cmp(&(&b.flow_name, &b.flow, b.position))
    });
    steps
}

/// "1 step", "3 steps".
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// How many distinct flows the steps are in.
fn flow_count(steps: &[&StepRef]) -> usize {
    let mut flows: Vec<&str> = steps.iter().map(|s| s.flow.as_str()).collect();
    flows.sort_unstable();
    flows.dedup();
    flows.len()
}

/// Where the replacement goes; each shows as its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr)]
pub enum Scope {
    #[strum(serialize = "everywhere")]
    Everywhere,
    #[strum(serialize = "one flow")]
    Flow,
    #[strum(serialize = "one step")]
    Step,
}

impl Scope {
    pub fn label(self) -> &'static str {
        self.into()
    }
}

/// The picker's state.
pub struct ReplacePicker {
    pub code: String,
    pub label: String,
    pub steps: Vec<StepRef>,
    pub scope: Scope,
    /// Which of `flows()` the flow scope means.
    pub flow: usize,
    /// Which of `changeable_steps()` the step scope means.
    pub step: usize,
    pub query: TextInput,
    filter: FuzzyFilter,
    candidates: Vec<Connection>,
    /// Position in the filtered candidates.
    pub selected: usize,
}

impl ReplacePicker {
    /// A picker for `code`, used by `steps`, to be replaced by one of
    /// `candidates` (the connection itself is left out).
    pub fn new(code: &str, label: &str, steps: Vec<StepRef>, candidates: &[Connection]) -> Self {
        let candidates: Vec<Connection> = candidates
            .iter()
            .filter(|c| c.code != code)
            .cloned()
            .collect();
        let mut filter = FuzzyFilter::default();
        filter.set_rows(&candidates);
        let scope = if steps.iter().all(|s| s.changeable) {
            Scope::Everywhere
        } else {
            Scope::Flow
        };
        ReplacePicker {
            code: code.to_string(),
            label: label.to_string(),
            steps,
            scope,
            flow: 0,
            step: 0,
            query: TextInput::default(),
            filter,
            candidates,
            selected: 0,
        }
    }

    /// The scopes the user may pick: everywhere only when they may change
    /// every step (R19).
    pub fn scopes(&self) -> Vec<Scope> {
        let all = self.steps.iter().all(|s| s.changeable);
        let any = self.steps.iter().any(|s| s.changeable);
        Scope::VARIANTS
            .iter()
            .copied()
            .filter(|s| match s {
                Scope::Everywhere => all,
                _ => any,
            })
            .collect()
    }

    /// The flows the user may change, each by its first step.
    pub fn flows(&self) -> Vec<&StepRef> {
        let mut out: Vec<&StepRef> = Vec::new();
        for s in self.steps.iter().filter(|s| s.changeable) {
            if !out.iter().any(|f| f.flow == s.flow) {
                out.push(s);
            }
        }
        out
    }

    pub fn changeable_steps(&self) -> Vec<&StepRef> {
        self.steps.iter().filter(|s| s.changeable).collect()
    }

    /// Whether the chosen scope changes this step.
    pub fn in_scope(&self, s: &StepRef) -> bool {
        match self.scope {
            Scope::Everywhere => true,
            Scope::Flow => self
                .flows()
                .get(self.flow)
                .is_some_and(|f| f.flow == s.flow),
            Scope::Step => self
                .changeable_steps()
                .get(self.step)
                .is_some_and(|x| x.flow == s.flow && x.position == s.position),
        }
    }

    /// The steps that change.
    pub fn affected(&self) -> Vec<&StepRef> {
        self.steps.iter().filter(|s| self.in_scope(s)).collect()
    }

    /// Tab: the next scope the user may pick.
    pub fn cycle_scope(&mut self, forward: bool) {
        let scopes = self.scopes();
        let n = scopes.len();
        if n == 0 {
            return;
        }
        let i = scopes.iter().position(|s| *s == self.scope).unwrap_or(0);
        self.scope = scopes[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// ←→: another flow or step in that scope; `false` when the scope has
    /// no choice (everywhere).
    pub fn cycle_choice(&mut self, forward: bool) -> bool {
        let (n, at) = match self.scope {
            Scope::Everywhere => return false,
            Scope::Flow => (self.flows().len(), &mut self.flow),
            Scope::Step => (self.changeable_steps().len(), &mut self.step),
        };
        if n > 0 {
            *at = if forward {
                (*at + 1) % n
            } else {
                (*at + n - 1) % n
            };
        }
        true
    }

    /// The request's scope: (flow, position).
    pub fn request(&self) -> (Option<String>, Option<u32>) {
        match self.scope {
            Scope::Everywhere => (None, None),
            Scope::Flow => (self.flows().get(self.flow).map(|f| f.flow.clone()), None),
            Scope::Step => match self.changeable_steps().get(self.step) {
                Some(s) => (
                    Some(s.flow.clone()),
                    Some(u32::try_from(s.position).unwrap_or(u32::MAX)),
                ),
                None => (None, None),
            },
        }
    }

    /// How the confirmation names the scope.
    pub fn scope_text(&self) -> String {
        let steps = self.affected();
        match self.scope {
            Scope::Everywhere => format!(
                "everywhere it is used: {} in {}",
                count(steps.len(), "step", "steps"),
                count(flow_count(&steps), "flow", "flows")
            ),
            Scope::Flow => match self.flows().get(self.flow) {
                Some(f) => format!(
                    "in flow {} ({}): {}",
                    f.flow_name,
                    f.flow,
                    count(steps.len(), "step", "steps")
                ),
                None => "nowhere".to_string(),
            },
            Scope::Step => match self.changeable_steps().get(self.step) {
                Some(s) => format!(
                    "in one step: step {} of flow {} ({})",
                    s.position + 1,
                    s.flow_name,
                    s.flow
                ),
                None => "nowhere".to_string(),
            },
        }
    }

    pub fn shown(&self) -> usize {
        self.filter.visible().len()
    }

    pub fn total(&self) -> usize {
        self.candidates.len()
    }

    pub fn selected_candidate(&self) -> Option<&Connection> {
        self.filter
            .visible()
            .get(self.selected)
            .and_then(|&i| self.candidates.get(i))
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.shown();
        if n == 0 {
            return;
        }
        self.selected = (self.selected as isize)
            .saturating_add(delta)
            .clamp(0, n as isize - 1) as usize;
    }

    /// A key that is no action: edits the query; the best match comes first.
    pub fn type_key(&mut self, key: &KeyEvent) -> bool {
        let (_, changed) = self.query.handle_key(key);
        if changed {
            self.requery();
        }
        changed
    }

    pub fn paste(&mut self, text: &str) {
        self.query.paste(&text.replace(['\n', '\r'], ""));
        self.requery();
    }

    fn requery(&mut self) {
        self.filter.set_query(&self.query.value);
        self.selected = 0;
    }

    /// What the confirmation says, with the replacement chosen.
    pub fn plan(&self, integrations: &[Integration]) -> Option<ReplacePlan> {
        let with = self.selected_candidate()?;
        let steps: Vec<StepRef> = self.affected().into_iter().cloned().collect();
        if steps.is_empty() {
            return None;
        }
        let mut register_with: Vec<String> = Vec::new();
        for s in &steps {
            let Some(i) = s
                .integration
                .as_ref()
                .and_then(|code| integrations.iter().find(|i| &i.code == code))
            else {
                continue;
            };
            if i.kind == IntegrationKind::Standard
                && !is_registered(i, &with.code)
                && !register_with.contains(&i.name)
            {
                register_with.push(i.name.clone());
            }
        }
        let (flow, position) = self.request();
        Some(ReplacePlan {
            code: self.code.clone(),
            label: self.label.clone(),
            with: with.code.clone(),
            with_label: with.label.clone(),
            flow,
            position,
            scope_text: self.scope_text(),
            leaves_unused: steps.len() == self.steps.len(),
            steps,
            register_with,
        })
    }
}

/// What a confirmed replacement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacePlan {
    pub code: String,
    pub label: String,
    pub with: String,
    pub with_label: String,
    pub flow: Option<String>,
    pub position: Option<u32>,
    pub scope_text: String,
    /// The steps that change.
    pub steps: Vec<StepRef>,
    /// Names of the integrations the replacement gets registered with (R14).
    pub register_with: Vec<String>,
    /// Whether, afterwards, no step the user sees uses the connection.
    pub leaves_unused: bool,
}

/// `d` on a connection in use (R8): what uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    pub code: String,
    pub label: String,
    pub steps: Vec<StepRef>,
    pub registered_with: Vec<String>,
}

fn hints(t: &Theme, keymap: &Keymap) -> Line<'static> {
    let mut spans = Vec::new();
    for (keys, hint) in keymap.hints(Context::Replace) {
        spans.push(Span::styled(keys, t.key));
        spans.push(Span::raw(format!(" {hint}   ")));
    }
    Line::from(spans)
}

/// At most `max` steps as lines, then "…and N more".
fn step_lines(
    t: &Theme,
    steps: &[&StepRef],
    max: usize,
    room: usize,
    mark: impl Fn(&StepRef) -> (&'static str, Style),
) -> Vec<Line<'static>> {
    let shown = if steps.len() <= max {
        steps.len()
    } else {
        max.saturating_sub(1)
    };
    let mut out = Vec::new();
    for s in &steps[..shown] {
        let (m, style) = mark(s);
        let text: String = s.describe().chars().take(room.saturating_sub(3)).collect();
        out.push(Line::from(vec![
            Span::styled(format!(" {m} "), style),
            Span::raw(text),
        ]));
    }
    if shown < steps.len() {
        out.push(Line::from(Span::styled(
            format!("   …and {} more", steps.len() - shown),
            t.dim,
        )));
    }
    out
}

/// The picker: the connection and its used-by on top, the scope, then the
/// candidates under the query.
pub fn render_picker(
    p: &ReplacePicker,
    screen: &mut Screen,
    t: &Theme,
    keymap: &Keymap,
    area: Rect,
    buf: &mut Buffer,
) {
    let width = 96u16.min(area.width);
    let height = area.height.saturating_sub(2).clamp(3, 40);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let block = crate::tui::widgets::dialog::block(t, "Replace connection");
    let inner = block.inner(rect);
    block.render(rect, buf);
    let room = inner.width as usize;
    let mut top: Vec<Line> = vec![Line::from(vec![
        Span::raw("Replace "),
        Span::styled(p.label.clone(), t.title),
        Span::styled(format!(" ({})", p.code), t.dim),
    ])];
    let all: Vec<&StepRef> = p.steps.iter().collect();
    top.push(Line::from(Span::styled(
        format!(
            "Used by {} in {}; → marks what changes:",
            count(all.len(), "step", "steps"),
            count(flow_count(&all), "flow", "flows")
        ),
        t.label,
    )));
    // The list gives way on short screens; the candidates need rows.
    let max_steps = (inner.height as usize).saturating_sub(12).clamp(1, 6);
    top.extend(step_lines(t, &all, max_steps, room, |s| {
        if p.in_scope(s) {
            ("→", t.key)
        } else if !s.changeable {
            ("✗", t.dim)
        } else {
            (" ", Style::new())
        }
    }));
    if p.steps.iter().any(|s| !s.changeable) {
        top.push(Line::from(Span::styled(
            "✗ in flows of integrations you don't manage: not yours to change (R19)",
            t.dim,
        )));
    }
    top.push(Line::from(""));
    let scopes = p.scopes();
    let mut scope = vec![Span::styled("Scope  ", t.label)];
    for &s in Scope::VARIANTS {
        if s == p.scope {
            scope.push(Span::styled(format!("[{}]", s.label()), t.key));
        } else if scopes.contains(&s) {
            scope.push(Span::raw(format!(" {} ", s.label())));
        } else {
            scope.push(Span::styled(format!(" {} ", s.label()), t.dim));
        }
        scope.push(Span::raw(" "));
    }
    scope.push(Span::styled(
        format!(
            " {} changes it",
            keymap.keys_of(Context::Replace, Action::NextScope)
        ),
        t.dim,
    ));
    top.push(Line::from(scope));
    let choose = format!(
        "{}{}",
        keymap.keys_of(Context::Replace, Action::PrevChoice),
        keymap.keys_of(Context::Replace, Action::NextChoice)
    );
    let affected = p.affected();
    let choice = match p.scope {
        Scope::Everywhere => Line::from(vec![
            Span::styled("Steps  ", t.label),
            Span::raw(format!(
                "all {} in {}",
                count(affected.len(), "step", "steps"),
                count(flow_count(&affected), "flow", "flows")
            )),
        ]),
        Scope::Flow => {
            let flows = p.flows();
            let text = flows.get(p.flow).map_or_else(String::new, |f| {
                format!(
                    "{} ({}) · {} · {}",
                    f.flow_name,
                    f.flow,
                    f.place(),
                    count(affected.len(), "step", "steps")
                )
            });
            Line::from(vec![
                Span::styled("Flow   ", t.label),
                Span::styled("◀ ", t.key),
                Span::raw(text),
                Span::styled(" ▶", t.key),
                Span::styled(
                    format!("  ({} of {}, {choose})", p.flow + 1, flows.len()),
                    t.dim,
                ),
            ])
        }
        Scope::Step => {
            let steps = p.changeable_steps();
            let text = steps.get(p.step).map_or_else(String::new, |s| s.describe());
            Line::from(vec![
                Span::styled("Step   ", t.label),
                Span::styled("◀ ", t.key),
                Span::raw(text),
                Span::styled(" ▶", t.key),
                Span::styled(
                    format!("  ({} of {}, {choose})", p.step + 1, steps.len()),
                    t.dim,
                ),
            ])
        }
    };
    top.push(choice);
    top.push(Line::from(""));
    let count_text = if p.query.value.is_empty() {
        format!("{} connections", p.total())
    } else {
        format!("{} of {} match", p.shown(), p.total())
    };
    top.push(Line::from(vec![
        Span::styled("With   ", t.label),
        Span::styled("/ ", t.key),
        Span::raw(p.query.value.clone()),
        Span::styled("▏", t.key),
        Span::styled(format!("  {count_text} · type to filter"), t.dim),
    ]));
    let [top_area, rows_area, hints_area] = Layout::vertical([
        Constraint::Length(top.len() as u16),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    Paragraph::new(top).render(top_area, buf);
    hints(t, keymap).render(hints_area, buf);
    screen.replace_rows = rows_area.height;
    if p.shown() == 0 {
        let text = if p.total() == 0 {
            "There is no other connection to replace it with.".to_string()
        } else {
            format!("No connection matches {:?}", p.query.value)
        };
        Paragraph::new(text)
            .style(t.dim)
            .alignment(Alignment::Center)
            .render(rows_area, buf);
        return;
    }
    let height = rows_area.height as usize;
    screen.replace_offset = crate::tui::widgets::scroll::fit_offset(
        screen.replace_offset,
        p.selected,
        p.shown(),
        height,
    );
    let end = (screen.replace_offset + height).min(p.shown());
    for (line, pos) in (screen.replace_offset..end).enumerate() {
        let idx = p.filter.visible()[pos];
        let marks = p.filter.highlights(idx);
        let c = &p.candidates[idx];
        let selected = pos == p.selected;
        let row = Rect {
            y: rows_area.y + line as u16,
            height: 1,
            ..rows_area
        };
        if selected {
            buf.set_style(row, t.selected);
        }
        let dim = if selected { Style::new() } else { t.dim };
        let mut spans = vec![Span::raw(if selected { "▶ " } else { "  " })];
        spans.extend(highlighted(&c.label, &marks.label, Style::new(), t.matched));
        spans.push(Span::raw("  "));
        spans.extend(highlighted(&c.code, &marks.code, dim, t.matched));
        spans.push(Span::styled(format!("  {}", c.flow_type.as_str()), dim));
        if c.stale {
            spans.push(Span::styled(
                "  stale",
                if selected { Style::new() } else { t.warning },
            ));
        }
        Line::from(spans).render(row, buf);
    }
}

/// The steps as list items, each with its mark.
fn step_items(steps: &[StepRef], mark: impl Fn(&StepRef) -> (&'static str, Style)) -> Part {
    Part::List {
        items: steps
            .iter()
            .map(|s| {
                let (m, style) = mark(s);
                Line::from(vec![
                    Span::styled(format!(" {m} "), style),
                    Span::raw(s.describe()),
                ])
            })
            .collect(),
        indent: 3,
    }
}

/// The confirmation: exactly which steps change, where the replacement gets
/// registered (R14), and that it is one transaction.
pub fn confirm_replace(t: &Theme, plan: ReplacePlan) -> Confirm<Then> {
    let mut explain: Vec<(String, Style)> = Vec::new();
    if plan.register_with.is_empty() {
        explain.push((
            format!(
                "{} is already registered where these flows need it; no registration changes.",
                plan.with_label
            ),
            Style::new(),
        ));
    } else {
        let names = join_names(&plan.register_with);
        explain.push((
            format!(
                "{} gets registered with {names} so that {} flows may use it; every user of {names} gets access to it (R14).",
                plan.with_label,
                if plan.register_with.len() == 1 {
                    "its"
                } else {
                    "their"
                }
            ),
            t.warning,
        ));
    }
    explain.push((
        if plan.leaves_unused {
            format!(
                "{} stays, used by no flow you see; it can be deleted afterwards.",
                plan.label
            )
        } else {
            format!("{} stays in the steps not listed here.", plan.label)
        },
        Style::new(),
    ));
    explain.push((
        "All of it happens in one step: either every step changes or none.".to_string(),
        Style::new(),
    ));
    let mut confirm = Confirm::new(
        "Replace connection",
        88,
        Then::Replace {
            code: plan.code.clone(),
            label: plan.label.clone(),
            with: plan.with.clone(),
            with_label: plan.with_label.clone(),
            flow: plan.flow.clone(),
            position: plan.position,
        },
    )
    .with([
        Part::Text(
            format!(
                "Replace {} ({}) by {} ({}) {}?",
                plan.label, plan.code, plan.with_label, plan.with, plan.scope_text
            ),
            t.title,
        ),
        Part::Blank,
        Part::Line(Line::from(Span::styled(
            format!(
                "Steps that change ({}):",
                count(plan.steps.len(), "step", "steps")
            ),
            t.label,
        ))),
        step_items(&plan.steps, |_| ("→", t.key)),
        Part::Blank,
    ])
    .answers("replace", "back to the picker")
    .declined("Nothing replaced yet: pick another connection or scope, or Esc to close");
    for (e, style) in explain {
        confirm = confirm.with([Part::Text(e, style)]);
    }
    confirm
}

/// `d` on a connection in use: what uses it and what to do (R8); yes opens
/// the picker (as does the list's replace key, `replace_key`).
pub fn confirm_in_use(t: &Theme, replace_key: &str, in_use: InUse) -> Confirm<Then> {
    let steps: Vec<&StepRef> = in_use.steps.iter().collect();
    let with = if in_use.registered_with.is_empty() {
        "no integration".to_string()
    } else {
        join_names(&in_use.registered_with)
    };
    Confirm::new("Cannot delete", 88, Then::OpenReplace(in_use.code.clone()))
        .with([
            Part::Text(
                format!(
                    "{} ({}) cannot be deleted: it is in use by {} in {} (R8).",
                    in_use.label,
                    in_use.code,
                    count(steps.len(), "step", "steps"),
                    count(flow_count(&steps), "flow", "flows")
                ),
                t.title,
            ),
            Part::Blank,
            step_items(&in_use.steps, |_| ("•", t.label)),
            Part::Text(format!("Registered with {with}."), t.dim),
            Part::Blank,
            Part::Text(
                format!(
                    "Replace it by another connection in those steps first ({replace_key}), then delete it."
                ),
                Style::new(),
            ),
        ])
        .answers("replace it now", "close")
        .declined("Nothing deleted")
}

impl App {
    /// `r` (R16a): the replace picker, or why there is nothing to replace.
    pub(crate) fn open_replace(&mut self, code: &str) {
        let Some(c) = self.data.connections.iter().find(|c| c.code == code) else {
            self.set_status(StatusKind::Info, "No connection selected");
            return;
        };
        let (label, in_use) = (c.label.clone(), c.in_use);
        let steps = step_refs(self, code);
        if steps.is_empty() {
            let text = if in_use {
                format!("{label} is used only by flows you don't see: nothing here to replace")
            } else {
                let delete = crate::tui::view::key_of(self, Context::List, Action::Delete);
                format!("{label} is not used by any flow: nothing to replace ({delete} deletes it)")
            };
            self.set_status(StatusKind::Info, text);
            return;
        }
        if !steps.iter().any(|s| s.changeable) {
            let mut places: Vec<String> = steps.iter().map(|s| s.place()).collect();
            places.dedup();
            self.set_status(
                StatusKind::Error,
                format!(
                    "You can't replace {label}: the flows that use it are in {}, which you don't manage (R19)",
                    crate::tui::access::join_names(&places)
                ),
            );
            return;
        }
        let picker = ReplacePicker::new(code, &label, steps, &self.data.connections);
        self.modals.push(Modal::Replace(Box::new(picker)));
    }
    pub(crate) fn on_replace_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Command> {
        // A page: the candidate rows on screen, less one.
        let page = (self.screen.replace_rows.max(2) - 1) as isize;
        let Some(Modal::Replace(picker)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match action {
            Some(Action::Up) => picker.move_by(-1),
            Some(Action::Down) => picker.move_by(1),
            Some(Action::PageUp) => picker.move_by(-page),
            Some(Action::PageDown) => picker.move_by(page),
            Some(Action::NextScope) => picker.cycle_scope(true),
            Some(Action::PrevScope) => picker.cycle_scope(false),
            Some(Action::PrevChoice | Action::NextChoice) => {
                if !picker.cycle_choice(action == Some(Action::NextChoice)) {
                    let scope = self.keymap.keys_of(Context::Replace, Action::NextScope);
                    self.set_status(
                        StatusKind::Info,
                        format!(
                            "Everywhere has nothing to choose: {scope} picks one flow or one step"
                        ),
                    );
                }
            }
            Some(Action::Cancel) => {
                self.modals.pop();
                self.set_status(StatusKind::Info, "Nothing replaced");
            }
            Some(Action::Apply) => match picker.plan(&self.data.integrations) {
                Some(plan) => {
                    let confirm = confirm_replace(&self.theme, plan);
                    self.modals.push(Modal::Confirm(Box::new(confirm)));
                }
                None => {
                    let text = if picker.shown() == 0 {
                        "No connection chosen: type less, or Backspace, to see some".to_string()
                    } else {
                        "Nothing in this scope to replace".to_string()
                    };
                    self.set_status(StatusKind::Info, text);
                }
            },
            _ => {
                picker.type_key(key);
            }
        }
        Vec::new()
    }
    pub(crate) fn on_replaced(
        &mut self,
        code: String,
        with: String,
        result: Result<Replaced, ClientError>,
    ) -> Vec<Command> {
        let label = self.label_of(&code);
        let with_label = self.label_of(&with);
        match result {
            Ok(done) => {
                let names: Vec<String> = done
                    .registered_with
                    .iter()
                    .map(|i| {
                        self.data
                            .integrations
                            .iter()
                            .find(|x| &x.code == i)
                            .map_or_else(|| i.clone(), |x| x.name.clone())
                    })
                    .collect();
                let mut text = format!(
                    "Replaced {label} by {with_label} in {} of {}",
                    count(done.steps as usize, "step", "steps"),
                    count(done.flows.len(), "flow", "flows")
                );
                if names.is_empty() {
                    text.push_str("; no registration needed");
                } else {
                    text.push_str(&format!(
                        "; registered {with_label} with {} (R14)",
                        crate::tui::access::join_names(&names)
                    ));
                }
                if self.data.usage.counts(&code).1 as u64 <= done.steps {
                    let delete = crate::tui::view::key_of(self, Context::List, Action::Delete);
                    text.push_str(&format!(
                        "; {label} is no longer used ({delete} deletes it)"
                    ));
                }
                self.set_status(StatusKind::Success, text);
                self.list.select_after_load = Some(code);
                vec![Command::Load]
            }
            Err(e) => {
                self.set_status(
                    StatusKind::Error,
                    format!("Could not replace {label} by {with_label}: {e}"),
                );
                let mut commands = self.backend_error(&e);
                // Someone else changed the flows: show what is true now.
                if matches!(e.status(), Some(404 | 409)) {
                    commands.push(Command::Load);
                }
                commands
            }
        }
    }
}
