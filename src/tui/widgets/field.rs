//! The one text field every form uses: its state ([`TextInput`]: the
//! value and the cursor, edited by keys and pastes) and how a labelled
//! field is drawn (a marker when focused, the name in the form's label
//! column, the value with its cursor), with the errors under it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::keymap::{Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::text::wrap_words;

/// A one-line text input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub value: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

impl TextInput {
    pub fn new(value: &str) -> Self {
        TextInput {
            value: value.to_string(),
            cursor: value.chars().count(),
        }
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.value
            .char_indices()
            .nth(char_idx)
            .map(|(i, _)| i)
            .unwrap_or(self.value.len())
    }

    /// Edits the text; returns whether the key was a text-editing key and
    /// whether the value changed.
    pub fn handle_key(&mut self, key: &KeyEvent) -> (bool, bool) {
        let len = self.value.chars().count();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                let changed = !self.value.is_empty();
                self.value.clear();
                self.cursor = 0;
                (true, changed)
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                (true, false)
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = len;
                (true, false)
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                let at = self.byte_at(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
                (true, true)
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.value.remove(at);
                self.cursor -= 1;
                (true, true)
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
                (true, true)
            }
            KeyCode::Backspace | KeyCode::Delete => (true, false),
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                (true, false)
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(len);
                (true, false)
            }
            KeyCode::Home => {
                self.cursor = 0;
                (true, false)
            }
            KeyCode::End => {
                self.cursor = len;
                (true, false)
            }
            _ => (false, false),
        }
    }

    /// Inserts pasted text (control characters dropped).
    pub fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            let at = self.byte_at(self.cursor);
            self.value.insert(at, c);
            self.cursor += 1;
        }
    }
}

/// What a field shows.
pub enum Value<'a> {
    /// Typed text, with its cursor when focused.
    Input(&'a TextInput),
    /// Typed text never drawn, not even its length (a password).
    Masked(&'a TextInput),
    /// A choice among a few ("◀ … ▶"); no cursor.
    Choice(String),
    /// A value that cannot be changed here: no marker, a dim note.
    Fixed(String, &'static str),
}

/// A labelled field as one line: "▶ " when focused, the name padded to
/// `label_width`, then the value.
pub fn line(
    t: &Theme,
    name: &str,
    label_width: usize,
    focused: bool,
    value: Value<'_>,
) -> Line<'static> {
    let marker = if focused && !matches!(value, Value::Fixed(..)) {
        "▶ "
    } else {
        "  "
    };
    let mut spans = vec![
        Span::styled(marker, t.key),
        Span::styled(format!("{name:<label_width$}"), t.label),
    ];
    match value {
        Value::Input(input) => spans.extend(input_spans(t, input, focused)),
        Value::Masked(input) => {
            let shown = if input.value.is_empty() {
                ""
            } else {
                "••••••"
            };
            let mut spans_of = input_spans(t, &TextInput::new(shown), focused);
            spans.append(&mut spans_of);
        }
        Value::Choice(text) => spans.push(Span::styled(
            text,
            if focused {
                t.focused_field
            } else {
                Style::new()
            },
        )),
        Value::Fixed(text, note) => {
            spans.push(Span::raw(text));
            spans.push(Span::styled(format!("  {note}"), t.dim));
        }
    }
    Line::from(spans)
}

/// The text of an input with its cursor (a highlighted cell) when focused.
pub fn input_spans(t: &Theme, input: &TextInput, focused: bool) -> Vec<Span<'static>> {
    if !focused {
        return vec![Span::raw(input.value.clone())];
    }
    let before: String = input.value.chars().take(input.cursor).collect();
    let at: String = input.value.chars().skip(input.cursor).take(1).collect();
    let after: String = input.value.chars().skip(input.cursor + 1).collect();
    vec![
        Span::raw(before),
        Span::styled(
            if at.is_empty() { " ".to_string() } else { at },
            t.focused_field,
        ),
        Span::raw(after),
    ]
}

/// A field's error under it, aligned with the values (`indent` columns in)
/// and wrapped to `room` columns.
pub fn error_lines(t: &Theme, error: &str, indent: usize, room: usize) -> Vec<Line<'static>> {
    wrap_words(&format!("✗ {error}"), room.saturating_sub(indent).max(8))
        .into_iter()
        .map(|l| Line::from(Span::styled(format!("{}{l}", " ".repeat(indent)), t.error)))
        .collect()
}

/// The form's key hints, wrapped to `room` columns.
pub fn hint_lines(t: &Theme, keymap: &Keymap, context: Context, room: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (keys, hint) in keymap.hints(context) {
        let w = keys.chars().count() + hint.chars().count() + 3;
        if used > 0 && used + w > room {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        spans.push(Span::styled(keys, t.key));
        spans.push(Span::raw(format!(" {hint}  ")));
        used += w;
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_focused_field_is_marked_and_shows_its_cursor() {
        let t = Theme::monochrome();
        let mut input = TextInput::new("abc");
        input.cursor = 1;
        let focused = line(&t, "Label", 7, true, Value::Input(&input));
        assert_eq!(text(&focused), "▶ Label  abc");
        assert_eq!(focused.spans[3].content, "b");
        assert_eq!(focused.spans[3].style, t.focused_field);
        let other = line(&t, "Label", 7, false, Value::Input(&input));
        assert_eq!(text(&other), "  Label  abc");
    }

    #[test]
    fn a_masked_field_never_shows_its_value_nor_its_length() {
        let t = Theme::monochrome();
        let short = line(
            &t,
            "Password",
            10,
            true,
            Value::Masked(&TextInput::new("pw")),
        );
        let long = line(
            &t,
            "Password",
            10,
            true,
            Value::Masked(&TextInput::new("a much longer one")),
        );
        assert!(!text(&short).contains("pw"));
        assert_eq!(text(&short), text(&long));
        let fixed = line(
            &t,
            "Code",
            6,
            true,
            Value::Fixed("erp".into(), "(never changes)"),
        );
        assert_eq!(text(&fixed), "  Code  erp  (never changes)");
    }

    #[test]
    fn errors_wrap_under_the_values() {
        let lines = error_lines(
            &Theme::monochrome(),
            "the code must be 3 to 100 characters long",
            9,
            30,
        );
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(text(l).starts_with("         "), "{:?}", text(l));
            assert!(l.width() <= 30);
        }
    }
}
