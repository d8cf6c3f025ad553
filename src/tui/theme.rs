//! Every style the app uses, in one place. The terminal's own palette by
//! default; under `NO_COLOR`, modifiers only. State is never shown by colour
//! alone: selection is REVERSED with a `▶` marker, errors carry a `✗`.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub color: bool,
    pub header: Style,
    pub tab_active: Style,
    pub tab_inactive: Style,
    pub border: Style,
    /// The border of the pane that takes the keys (also drawn thick).
    pub focused_border: Style,
    pub title: Style,
    pub table_header: Style,
    pub selected: Style,
    pub matched: Style,
    pub dim: Style,
    /// A key hint for an action that does not apply (dimmed and crossed
    /// out: not by colour alone).
    pub disabled: Style,
    pub key: Style,
    pub error: Style,
    pub success: Style,
    pub warning: Style,
    pub label: Style,
    pub focused_field: Style,
    pub secret: Style,
    pub banner: Style,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color {
            Theme::monochrome()
        } else {
            Theme::colored()
        }
    }

    pub fn colored() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            color: true,
            header: Style::new().add_modifier(bold),
            tab_active: Style::new().add_modifier(Modifier::REVERSED | bold),
            tab_inactive: Style::new().add_modifier(Modifier::DIM),
            border: Style::new().fg(Color::DarkGray),
            focused_border: Style::new().fg(Color::Cyan),
            title: Style::new().add_modifier(bold),
            table_header: Style::new().fg(Color::Cyan).add_modifier(bold),
            selected: Style::new().add_modifier(Modifier::REVERSED | bold),
            matched: Style::new()
                .fg(Color::Yellow)
                .add_modifier(bold | Modifier::UNDERLINED),
            dim: Style::new().fg(Color::DarkGray),
            disabled: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::CROSSED_OUT),
            key: Style::new().fg(Color::Cyan).add_modifier(bold),
            error: Style::new().fg(Color::Red).add_modifier(bold),
            success: Style::new().fg(Color::Green).add_modifier(bold),
            warning: Style::new().fg(Color::Yellow),
            label: Style::new().fg(Color::Gray),
            focused_field: Style::new().add_modifier(Modifier::REVERSED),
            secret: Style::new().fg(Color::Yellow).add_modifier(bold),
            banner: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(bold),
        }
    }

    pub fn monochrome() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            color: false,
            header: Style::new().add_modifier(bold),
            tab_active: Style::new().add_modifier(Modifier::REVERSED | bold),
            tab_inactive: Style::new(),
            border: Style::new(),
            focused_border: Style::new().add_modifier(bold),
            title: Style::new().add_modifier(bold),
            table_header: Style::new().add_modifier(bold | Modifier::UNDERLINED),
            selected: Style::new().add_modifier(Modifier::REVERSED | bold),
            matched: Style::new().add_modifier(bold | Modifier::UNDERLINED),
            dim: Style::new(),
            disabled: Style::new().add_modifier(Modifier::CROSSED_OUT),
            key: Style::new().add_modifier(bold),
            error: Style::new().add_modifier(bold),
            success: Style::new().add_modifier(bold),
            warning: Style::new().add_modifier(bold),
            label: Style::new(),
            focused_field: Style::new().add_modifier(Modifier::REVERSED),
            secret: Style::new().add_modifier(bold),
            banner: Style::new().add_modifier(Modifier::REVERSED | bold),
        }
    }

    /// Colours for an initials badge, chosen from the code so that each
    /// connection keeps its colour.
    pub fn badge(&self, seed: &str, base: Option<(u8, u8, u8)>) -> Style {
        if !self.color {
            return Style::new().add_modifier(Modifier::BOLD);
        }
        const PALETTE: [Color; 8] = [
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::Green,
            Color::Red,
            Color::Yellow,
            Color::LightBlue,
            Color::LightMagenta,
        ];
        let bg = match base {
            Some((r, g, b)) => Color::Rgb(r, g, b),
            None => {
                let h = seed
                    .bytes()
                    .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
                PALETTE[(h % PALETTE.len() as u32) as usize]
            }
        };
        Style::new()
            .bg(bg)
            .fg(Color::White)
            .add_modifier(Modifier::BOLD)
    }
}
