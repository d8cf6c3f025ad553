//! Connection visuals (R9): bundled logos and user image files, drawn as
//! true-colour half-block graphics where the terminal supports 24-bit colour,
//! else as a coloured initials badge.

use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

/// The bundled logos, embedded in the binary.
const BUNDLED: &[(&str, &[u8])] = &[
    (
        "analytics",
        include_bytes!("../../assets/logos/analytics.png"),
    ),
    ("crm", include_bytes!("../../assets/logos/crm.png")),
    ("dam", include_bytes!("../../assets/logos/dam.png")),
    (
        "ecommerce",
        include_bytes!("../../assets/logos/ecommerce.png"),
    ),
    ("email", include_bytes!("../../assets/logos/email.png")),
    ("erp", include_bytes!("../../assets/logos/erp.png")),
    (
        "marketplace",
        include_bytes!("../../assets/logos/marketplace.png"),
    ),
    ("pim", include_bytes!("../../assets/logos/pim.png")),
    ("print", include_bytes!("../../assets/logos/print.png")),
    (
        "translation",
        include_bytes!("../../assets/logos/translation.png"),
    ),
];

/// Pixels per side of a logo as drawn: 12 columns × 6 rows of half blocks.
pub const LOGO_PX: u32 = 12;

/// A decoded, downscaled logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// RGBA, `LOGO_PX × LOGO_PX`, row-major.
    pixels: Vec<[u8; 4]>,
    /// The colour that stands for the logo (its background), for badges.
    pub accent: (u8, u8, u8),
}

impl Logo {
    pub fn decode(bytes: &[u8]) -> Option<Logo> {
        let img = image::load_from_memory(bytes).ok()?.to_rgba8();
        let small = image::imageops::resize(
            &img,
            LOGO_PX,
            LOGO_PX,
            image::imageops::FilterType::Triangle,
        );
        let pixels: Vec<[u8; 4]> = small.pixels().map(|p| p.0).collect();
        Some(Logo {
            accent: accent_of(&pixels),
            pixels,
        })
    }

    /// Draws the logo at the top-left of `area` (clipped to it).
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let n = LOGO_PX as usize;
        for row in 0..(n / 2) {
            let y = area.y + row as u16;
            if row as u16 >= area.height {
                break;
            }
            for col in 0..n {
                if col as u16 >= area.width {
                    break;
                }
                let top = self.pixels[(row * 2) * n + col];
                let bottom = self.pixels[(row * 2 + 1) * n + col];
                let color = |p: [u8; 4]| (p[3] >= 128).then(|| Color::Rgb(p[0], p[1], p[2]));
                // A transparent half must show the terminal's background, so
                // it is never drawn as a foreground colour.
                let (symbol, style) = match (color(top), color(bottom)) {
                    (Some(t), Some(b)) => ("▀", Style::new().fg(t).bg(b)),
                    (Some(t), None) => ("▀", Style::new().fg(t).bg(Color::Reset)),
                    (None, Some(b)) => ("▄", Style::new().fg(b).bg(Color::Reset)),
                    (None, None) => (" ", Style::new().fg(Color::Reset).bg(Color::Reset)),
                };
                if let Some(cell) = buf.cell_mut((area.x + col as u16, y)) {
                    cell.set_symbol(symbol).set_style(style);
                }
            }
        }
    }
}

/// The most common opaque, non-white colour.
fn accent_of(pixels: &[[u8; 4]]) -> (u8, u8, u8) {
    let mut counts: HashMap<(u8, u8, u8), usize> = HashMap::new();
    for p in pixels {
        let light = p[0] > 200 && p[1] > 200 && p[2] > 200;
        if p[3] > 200 && !light {
            *counts
                .entry((p[0] & 0xf0, p[1] & 0xf0, p[2] & 0xf0))
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(c, n)| (n, c))
        .map(|(c, _)| c)
        .unwrap_or((80, 80, 80))
}

/// Decoded logos by visual value; `None` records a visual that could not be
/// loaded (a missing or unreadable file), so it is not retried on every draw.
#[derive(Debug, Default)]
pub struct Visuals {
    cache: HashMap<String, Option<Logo>>,
}

impl Visuals {
    /// Decodes a visual if it is not known yet. Reads the file for a path
    /// visual; call from `update`, never from `render`.
    pub fn prepare(&mut self, visual: &str) {
        if self.cache.contains_key(visual) {
            return;
        }
        let logo = match BUNDLED.iter().find(|(name, _)| *name == visual) {
            Some((_, bytes)) => Logo::decode(bytes),
            None => {
                let path = match visual.strip_prefix("~/") {
                    Some(rest) => std::env::var_os("HOME")
                        .map(|h| std::path::PathBuf::from(h).join(rest))
                        .unwrap_or_default(),
                    None => std::path::PathBuf::from(visual),
                };
                // Cap the read: a visual is a small picture.
                match std::fs::metadata(&path) {
                    Ok(m) if m.len() <= 8 * 1024 * 1024 => {
                        std::fs::read(&path).ok().and_then(|b| Logo::decode(&b))
                    }
                    _ => None,
                }
            }
        };
        self.cache.insert(visual.to_string(), logo);
    }

    pub fn get(&self, visual: &str) -> Option<&Logo> {
        self.cache.get(visual).and_then(Option::as_ref)
    }

    /// Whether a visual was tried and could not be loaded.
    pub fn failed(&self, visual: &str) -> bool {
        matches!(self.cache.get(visual), Some(None))
    }
}

/// Whether the terminal can show true-colour half-block graphics.
pub fn graphics_supported() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let truecolor = std::env::var("COLORTERM")
        .map(|v| v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit"))
        .unwrap_or(false);
    truecolor && !no_color
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r9_every_bundled_logo_decodes_and_matches_the_domain_list() {
        for (name, _) in crate::domain::BUNDLED_VISUALS {
            let mut v = Visuals::default();
            v.prepare(name);
            let logo = v
                .get(name)
                .unwrap_or_else(|| panic!("{name} does not decode"));
            assert_eq!(logo.pixels.len(), (LOGO_PX * LOGO_PX) as usize);
            assert_ne!(logo.accent, (80, 80, 80), "{name} has an accent colour");
        }
        assert_eq!(BUNDLED.len(), crate::domain::BUNDLED_VISUALS.len());
    }

    #[test]
    fn r9_missing_file_is_remembered_as_failed() {
        let mut v = Visuals::default();
        v.prepare("/nonexistent/logo.png");
        assert!(v.failed("/nonexistent/logo.png"));
        assert!(v.get("/nonexistent/logo.png").is_none());
    }

    #[test]
    fn r9_logo_renders_half_blocks_clipped() {
        let mut v = Visuals::default();
        v.prepare("erp");
        let logo = v.get("erp").unwrap();
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 2));
        logo.render(Rect::new(0, 0, 4, 2), &mut buf);
        assert_eq!(buf[(3, 1)].symbol(), "▀");
        // The top-left corner is transparent: never a coloured foreground.
        assert_ne!(buf[(0, 0)].symbol(), "▀");
    }
}
