//! Choosing a connection's role or group (Permissions tab): the choices
//! with what each grants, the current one marked; one request on Enter.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, List, ListItem, ListState, Paragraph, StatefulWidget, Widget};

use crate::tui::app::Command;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::tabs::permissions::SetKind;
use crate::tui::theme::Theme;
use crate::tui::view::centered;
use crate::tui::widgets::dialog;
use crate::tui::widgets::field::hint_lines;
use crate::tui::widgets::text::wrap_words;

/// Picking a connection's role or group.
#[derive(Debug, Clone)]
pub struct SetPicker {
    pub kind: SetKind,
    pub code: String,
    pub label: String,
    pub version: u64,
    pub current: String,
    /// (code, label, what it grants).
    pub choices: Vec<(String, String, String)>,
    pub selected: usize,
}

/// What a key did.
pub enum PickerOutcome {
    Stay,
    /// Closed, saying why.
    Close(String),
    /// A choice to send, and what to say meanwhile.
    Pick {
        status: String,
        command: Command,
    },
}

impl SetPicker {
    pub fn on_action(&mut self, action: Option<Action>) -> PickerOutcome {
        let n = self.choices.len();
        match action {
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::Down) => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Some(Action::Cancel) => {
                return PickerOutcome::Close(format!("The {} stays as it was", self.kind.one()));
            }
            Some(Action::Apply) => {
                let Some((to, to_label, _)) = self.choices.get(self.selected).cloned() else {
                    return PickerOutcome::Stay;
                };
                let (label, kind) = (&self.label, self.kind);
                if to == self.current {
                    return PickerOutcome::Close(format!(
                        "Nothing changed: {label} already has the {} {to_label}",
                        kind.one()
                    ));
                }
                return PickerOutcome::Pick {
                    status: format!("Giving {label} the {} {to_label}…", kind.one()),
                    command: Command::SetPermissions {
                        code: self.code.clone(),
                        kind,
                        to,
                        version: self.version,
                    },
                };
            }
            _ => {}
        }
        PickerOutcome::Stay
    }

    /// The role or group picker.
    /// Draws the choices, the current one marked.
    pub fn render(&self, t: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let p = self;
        let width = 96u16.min(area.width);
        let room = width.saturating_sub(4).max(8) as usize;
        let mut head: Vec<Line> = wrap_words(
            &format!(
                "Choose the {} of {} ({}). It takes effect on its next Web API request.",
                p.kind.one(),
                p.label,
                p.code
            ),
            room,
        )
        .into_iter()
        .map(Line::from)
        .collect();
        head.push(Line::from(""));
        let items: Vec<ListItem> = p
            .choices
            .iter()
            .map(|(code, label, grants)| {
                let mut spans = vec![Span::styled(label.clone(), t.title)];
                if label != code {
                    spans.push(Span::styled(format!(" ({code})"), t.dim));
                }
                if *code == p.current {
                    spans.push(Span::raw(" (current)"));
                }
                spans.push(Span::raw(format!(" · {grants}")));
                ListItem::new(Line::from(spans))
            })
            .collect();
        let hints = hint_lines(t, keymap, Context::Picker, room);
        let list_height = (items.len() as u16).max(1);
        let height = head.len() as u16 + list_height + 1 + hints.len() as u16 + 2;
        let rect = centered(area, width, height);
        Clear.render(rect, buf);
        let block = dialog::block(
            t,
            &format!("{} of {}", p.kind.title().trim_end_matches('s'), p.label),
        );
        let inner = block.inner(rect);
        block.render(rect, buf);
        let [head_area, list_area, _, hints_area] = Layout::vertical([
            Constraint::Length(head.len() as u16),
            Constraint::Min(1),
            Constraint::Length(1),
            Constraint::Length(hints.len() as u16),
        ])
        .areas(inner);
        Paragraph::new(head).render(head_area, buf);
        let mut state = ListState::default().with_selected(Some(p.selected));
        StatefulWidget::render(
            List::new(items)
                .highlight_symbol("▶ ")
                .highlight_style(t.selected),
            list_area,
            buf,
            &mut state,
        );
        Paragraph::new(hints).render(hints_area, buf);
    }
}
