//! The frame every dialog is drawn in: centred, with a double border and a
//! title, as tall as its text needs once wrapped, so nothing is cut.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph, Widget, Wrap};

use crate::tui::theme::Theme;

/// The dialog's block: double border, a space of padding each side.
pub fn block<'a>(theme: &Theme, title: &str) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Double)
        .padding(Padding::horizontal(1))
        .title(Span::styled(format!(" {title} "), theme.title))
}

/// Draws `lines` in a dialog at most `width` wide, centred in `area`, as
/// tall as the wrapped text (up to the area's height); returns where.
pub fn render(
    theme: &Theme,
    title: &str,
    lines: Vec<Line<'_>>,
    width: u16,
    area: Rect,
    buf: &mut Buffer,
) -> Rect {
    let width = width.min(area.width);
    let paragraph = Paragraph::new(lines)
        .block(block(theme, title))
        .wrap(Wrap { trim: false });
    // Borders and padding take four columns.
    let height = paragraph.line_count(width.saturating_sub(4).max(1)) as u16;
    let rect = crate::tui::view::centered(area, width, height);
    Clear.render(rect, buf);
    paragraph.render(rect, buf);
    rect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialog_grows_with_its_wrapped_text_so_nothing_is_cut() {
        let area = Rect::new(0, 0, 60, 20);
        let mut buf = Buffer::empty(area);
        let long = "The code must be 3 to 100 characters (at least 3 of a-z, 0-9 and _), starting with a letter or a digit.";
        let rect = render(
            &Theme::monochrome(),
            "Check",
            vec![Line::from(long), Line::from("y yes   n no")],
            40,
            area,
            &mut buf,
        );
        let text: String = (rect.y..rect.y + rect.height)
            .flat_map(|y| (rect.x..rect.x + rect.width).map(move |x| (x, y)))
            .map(|(x, y)| buf[(x, y)].symbol().to_string())
            .collect();
        for word in long.split(' ') {
            assert!(text.contains(word), "{word:?} is shown: {text}");
        }
        assert!(text.contains("y yes   n no"));
    }
}
