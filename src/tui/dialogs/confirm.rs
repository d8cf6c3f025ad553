//! The one confirmation dialog: a question, what happens and what breaks,
//! and two answers. It carries what to do on yes (and what to say on no),
//! so it never needs to know what it was asked for; whoever opens it says
//! everything in its parts.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;
use crate::tui::widgets::text::wrap_words;

/// One piece of a confirmation's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// A paragraph in one style, wrapped at word boundaries.
    Text(String, Style),
    /// One line of spans (wrapped by the dialog when too long).
    Line(Line<'static>),
    /// An empty line.
    Blank,
    /// Items cut to the room the screen leaves, then "…and N more"
    /// (indented by `indent`); several lists share the room.
    List {
        items: Vec<Line<'static>>,
        indent: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm<T> {
    pub title: String,
    /// At most this wide (narrower screens get narrower dialogs).
    pub width: u16,
    pub parts: Vec<Part>,
    /// What yes and no do, in a few words ("delete", "keep it").
    pub yes: String,
    pub no: String,
    /// What yes does.
    pub then: T,
    /// The status line after no.
    pub declined: String,
}

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Stay,
    Yes,
    No,
}

impl<T> Confirm<T> {
    pub fn new(title: impl Into<String>, width: u16, then: T) -> Self {
        Confirm {
            title: title.into(),
            width,
            parts: Vec::new(),
            yes: "yes".into(),
            no: "no".into(),
            then,
            declined: String::new(),
        }
    }

    /// Adds a paragraph, with an empty line before it unless it is the first.
    pub fn para(mut self, text: impl Into<String>, style: Style) -> Self {
        if !self.parts.is_empty() {
            self.parts.push(Part::Blank);
        }
        self.parts.push(Part::Text(text.into(), style));
        self
    }

    /// Adds parts as they are.
    pub fn with(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.parts.extend(parts);
        self
    }

    pub fn answers(mut self, yes: impl Into<String>, no: impl Into<String>) -> Self {
        self.yes = yes.into();
        self.no = no.into();
        self
    }

    pub fn declined(mut self, status: impl Into<String>) -> Self {
        self.declined = status.into();
        self
    }

    pub fn on_action(&self, action: Option<Action>) -> ConfirmOutcome {
        match action {
            Some(Action::Yes) => ConfirmOutcome::Yes,
            Some(Action::No) => ConfirmOutcome::No,
            _ => ConfirmOutcome::Stay,
        }
    }

    /// The text as lines for a dialog of `width` in a screen `height` tall:
    /// paragraphs wrapped, lists cut to what fits, the keys last.
    fn lines(&self, theme: &Theme, keymap: &Keymap, width: u16, height: u16) -> Vec<Line<'static>> {
        // Inside the double border and the padding.
        let room = width.saturating_sub(4).max(8) as usize;
        let text_lines = |part: &Part| -> Vec<Line<'static>> {
            match part {
                Part::Text(text, style) => wrap_words(text, room)
                    .into_iter()
                    .map(|l| Line::from(Span::styled(l, *style)))
                    .collect(),
                Part::Line(line) => vec![line.clone()],
                Part::Blank => vec![Line::from("")],
                Part::List { .. } => Vec::new(),
            }
        };
        let lists = self
            .parts
            .iter()
            .filter(|p| matches!(p, Part::List { .. }))
            .count();
        // Everything but the lists, the border, and the blank and key lines.
        let fixed: usize = self
            .parts
            .iter()
            .map(|p| {
                text_lines(p)
                    .iter()
                    .map(|l| l.width().div_ceil(room).max(1))
                    .sum::<usize>()
            })
            .sum::<usize>()
            + 2
            + 2;
        let per_list = (usize::from(height).saturating_sub(fixed) / lists.max(1)).max(1);
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::List { items, indent } => {
                    let shown = if items.len() <= per_list {
                        items.len()
                    } else {
                        per_list.saturating_sub(1)
                    };
                    out.extend(items[..shown].iter().map(|l| fit_line(l, room)));
                    if shown < items.len() {
                        out.push(Line::from(Span::styled(
                            format!("{}…and {} more", " ".repeat(*indent), items.len() - shown),
                            theme.dim,
                        )));
                    }
                }
                other => out.extend(text_lines(other)),
            }
        }
        out.push(Line::from(""));
        out.push(Line::from(vec![
            Span::styled(keymap.keys_of(Context::Confirm, Action::Yes), theme.key),
            Span::raw(format!(" {}   ", self.yes)),
            Span::styled(keymap.keys_of(Context::Confirm, Action::No), theme.key),
            Span::raw(format!(" {}", self.no)),
        ]));
        out
    }

    pub fn render(&self, theme: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let width = self.width.min(area.width);
        let lines = self.lines(theme, keymap, width, area.height);
        dialog::render(theme, &self.title, lines, width, area, buf);
    }
}

/// `line` cut to `room` columns, ending with "…" when cut.
fn fit_line(line: &Line<'static>, room: usize) -> Line<'static> {
    if line.width() <= room {
        return line.clone();
    }
    let mut left = room.saturating_sub(1);
    let mut spans = Vec::new();
    for span in &line.spans {
        let w = span.width();
        if w <= left {
            spans.push(span.clone());
            left -= w;
        } else {
            let cut: String = span.content.chars().take(left).collect();
            spans.push(Span::styled(cut + "…", span.style));
            break;
        }
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(buf: &Buffer) -> String {
        let area = buf.area;
        (area.y..area.y + area.height)
            .map(|y| {
                (area.x..area.x + area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    fn confirm(items: usize) -> Confirm<u8> {
        Confirm::new("Delete things", 60, 7)
            .para("Delete these things?", Style::new())
            .with([
                Part::Blank,
                Part::List {
                    items: (0..items)
                        .map(|i| Line::from(format!("  thing {i}")))
                        .collect(),
                    indent: 2,
                },
            ])
            .answers("delete", "keep them")
            .declined("Nothing deleted")
    }

    #[test]
    fn yes_and_no_are_the_only_answers_and_the_dialog_carries_what_yes_does() {
        let c = confirm(2);
        assert_eq!(c.on_action(Some(Action::Yes)), ConfirmOutcome::Yes);
        assert_eq!(c.on_action(Some(Action::No)), ConfirmOutcome::No);
        assert_eq!(c.on_action(Some(Action::Down)), ConfirmOutcome::Stay);
        assert_eq!(c.on_action(None), ConfirmOutcome::Stay);
        assert_eq!(c.then, 7);
        assert_eq!(c.declined, "Nothing deleted");
    }

    #[test]
    fn a_long_list_is_cut_to_the_screen_and_says_how_many_more() {
        let area = Rect::new(0, 0, 80, 14);
        let mut buf = Buffer::empty(area);
        confirm(40).render(
            &Theme::monochrome(),
            &Keymap::default_keymap(),
            area,
            &mut buf,
        );
        let text = text_of(&buf);
        assert!(text.contains("thing 0"), "{text}");
        assert!(!text.contains("thing 39"), "{text}");
        assert!(text.contains("more"), "{text}");
        assert!(
            text.contains("delete") && text.contains("keep them"),
            "{text}"
        );
        // A short list is shown whole.
        let mut buf = Buffer::empty(area);
        confirm(3).render(
            &Theme::monochrome(),
            &Keymap::default_keymap(),
            area,
            &mut buf,
        );
        let text = text_of(&buf);
        assert!(text.contains("thing 2") && !text.contains("more"), "{text}");
    }
}
