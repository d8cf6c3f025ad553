//! The `?` help overlay: every binding of the live keymap, by context. It
//! scrolls by line, by page and to either end; the geometry that bounds the
//! scroll is the same function for keys and drawing, so drawing changes
//! nothing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use strum::VariantArray;

use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog;

/// The help overlay's state: how far it is scrolled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Help {
    pub scroll: u16,
}

/// What a key did to the overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpOutcome {
    Stay,
    Close,
}

impl Help {
    /// Applies a help-context action, the overlay drawn on `screen`
    /// (the terminal's area; `None` when unknown).
    pub fn on_action(
        &mut self,
        action: Option<Action>,
        lines: usize,
        screen: Option<Rect>,
    ) -> HelpOutcome {
        let visible = screen.map_or(lines as u16, |s| {
            frame(s, 0, lines).height.saturating_sub(2)
        });
        let max = max_scroll(lines, visible);
        let page = visible.saturating_sub(1).max(1);
        self.scroll = self.scroll.min(max);
        self.scroll = match action {
            Some(Action::Close) => return HelpOutcome::Close,
            Some(Action::Up) => self.scroll.saturating_sub(1),
            Some(Action::Down) => self.scroll.saturating_add(1),
            Some(Action::PageUp) => self.scroll.saturating_sub(page),
            Some(Action::PageDown) => self.scroll.saturating_add(page),
            Some(Action::First) => 0,
            Some(Action::Last) => max,
            _ => self.scroll,
        }
        .min(max);
        HelpOutcome::Stay
    }

    /// Draws the overlay over `area` (the whole screen).
    pub fn render(&self, theme: &Theme, keymap: &Keymap, area: Rect, buf: &mut Buffer) {
        let lines = lines(theme, keymap);
        let width = lines.iter().map(Line::width).max().unwrap_or(40) as u16 + 4;
        let rect = frame(area, width, lines.len());
        let max = max_scroll(lines.len(), rect.height.saturating_sub(2));
        let scroll = self.scroll.min(max);
        let title = if scroll < max {
            "Keys · ↓ more"
        } else if scroll > 0 {
            "Keys · ↑ more"
        } else {
            "Keys"
        };
        Clear.render(rect, buf);
        Paragraph::new(lines)
            .block(dialog::block(theme, title))
            .scroll((scroll, 0))
            .render(rect, buf);
    }
}

/// The overlay's rectangle: centred, leaving the header and the footer
/// visible.
fn frame(area: Rect, width: u16, lines: usize) -> Rect {
    let room = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(2),
        ..area
    };
    let height = (lines as u16).saturating_add(2);
    crate::tui::view::centered(room, width.max(40), height)
}

fn max_scroll(lines: usize, visible: u16) -> u16 {
    (lines as u16).saturating_sub(visible)
}

/// The help's lines, generated from the live keymap.
pub fn lines(theme: &Theme, keymap: &Keymap) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for &context in Context::VARIANTS {
        lines.push(Line::from(Span::styled(
            context.title().to_string(),
            theme.title,
        )));
        for b in keymap.bindings().iter().filter(|b| b.context == context) {
            let keys = b
                .keys
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<18}"), theme.key),
                Span::raw(b.description.to_string()),
            ]));
        }
        if context == Context::List {
            lines.push(Line::from(Span::styled(
                "  Flags column: ✗ offline (its last test failed, R27) · stale (R16b) · ⚠ wrong credentials (R24)",
                theme.dim,
            )));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled(
        "Mouse: wheel scrolls, click selects. Keys can be changed in keymap.toml (see README).",
        theme.dim,
    )));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help_on(height: u16) -> (Help, usize, Option<Rect>) {
        let lines = lines(&Theme::monochrome(), &Keymap::default_keymap()).len();
        (Help::default(), lines, Some(Rect::new(0, 0, 120, height)))
    }

    #[test]
    fn help_scrolls_by_page_and_to_either_end_within_its_bounds() {
        let (mut h, lines, screen) = help_on(30);
        // 30 rows: 28 for the overlay, 26 inside its borders.
        let visible = 26u16;
        let max = lines as u16 - visible;
        h.on_action(Some(Action::PageDown), lines, screen);
        assert_eq!(h.scroll, visible - 1);
        h.on_action(Some(Action::Last), lines, screen);
        assert_eq!(h.scroll, max);
        h.on_action(Some(Action::Down), lines, screen);
        assert_eq!(h.scroll, max, "never past the end");
        h.on_action(Some(Action::PageUp), lines, screen);
        assert_eq!(h.scroll, max - (visible - 1));
        h.on_action(Some(Action::First), lines, screen);
        assert_eq!(h.scroll, 0);
        h.on_action(Some(Action::Up), lines, screen);
        assert_eq!(h.scroll, 0);
        assert_eq!(
            h.on_action(Some(Action::Close), lines, screen),
            HelpOutcome::Close
        );
    }
}
