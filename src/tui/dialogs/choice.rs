//! A question with a few answers, one highlighted: ↑↓ move, Enter takes
//! it, Esc cancels. Each answer carries what to do when taken, so the
//! dialog never needs to know what it was asked for.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;

pub struct Choice<T> {
    pub title: String,
    pub question: String,
    /// Each answer: what it says, and what it does.
    pub answers: Vec<(String, T)>,
    pub selected: usize,
}

/// What a key did.
pub enum ChoiceOutcome<T> {
    Stay,
    Cancel,
    Take(T),
}

impl<T: Clone> Choice<T> {
    pub fn new(
        title: impl Into<String>,
        question: impl Into<String>,
        answers: Vec<(String, T)>,
    ) -> Self {
        Choice {
            title: title.into(),
            question: question.into(),
            answers,
            selected: 0,
        }
    }

    pub fn on_action(&mut self, action: Option<Action>) -> ChoiceOutcome<T> {
        let n = self.answers.len();
        match action {
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::Down) => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Some(Action::Cancel) => return ChoiceOutcome::Cancel,
            Some(Action::Apply) => {
                if let Some((_, then)) = self.answers.get(self.selected) {
                    return ChoiceOutcome::Take(then.clone());
                }
            }
            _ => {}
        }
        ChoiceOutcome::Stay
    }

    pub fn render(&self, theme: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let mut lines = vec![Line::from(self.question.clone()), Line::from("")];
        for (i, (label, _)) in self.answers.iter().enumerate() {
            let chosen = i == self.selected;
            let marker = if chosen { "▶ " } else { "  " };
            let style = if chosen {
                theme.selected.add_modifier(Modifier::BOLD)
            } else {
                ratatui::style::Style::new()
            };
            lines.push(Line::from(Span::styled(format!("{marker}{label}"), style)));
        }
        lines.push(Line::from(""));
        let keys = |a| keymap.keys_of(Context::Picker, a);
        lines.push(Line::from(vec![
            Span::styled(keys(Action::Up), theme.key),
            Span::raw("/"),
            Span::styled(keys(Action::Down), theme.key),
            Span::raw(" move   "),
            Span::styled(keys(Action::Apply), theme.key),
            Span::raw(" choose   "),
            Span::styled(keys(Action::Cancel), theme.key),
            Span::raw(" cancel"),
        ]));
        dialog::render(theme, &self.title, lines, 80, area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highlighted_answer_is_taken_and_esc_takes_none() {
        let mut c = Choice::new("t", "q", vec![("a".into(), 1), ("b".into(), 2)]);
        assert!(matches!(c.on_action(Some(Action::Up)), ChoiceOutcome::Stay));
        assert!(matches!(
            c.on_action(Some(Action::Apply)),
            ChoiceOutcome::Take(1)
        ));
        c.on_action(Some(Action::Down));
        c.on_action(Some(Action::Down));
        assert!(matches!(
            c.on_action(Some(Action::Apply)),
            ChoiceOutcome::Take(2)
        ));
        assert!(matches!(
            c.on_action(Some(Action::Cancel)),
            ChoiceOutcome::Cancel
        ));
    }
}
