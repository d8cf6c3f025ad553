//! Fitting text into cells and lines: wrapping at spaces, and cutting with
//! "…" so that a cut never passes for the whole text.

/// Splits text into lines of at most `width` characters, at spaces where it
/// can, inside long words where it must.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let used = line.chars().count();
            let need = word.chars().count() + usize::from(used > 0);
            if used + need <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line: cut it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` cut to `max` characters, ending in "…" when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

/// `s` cut to `max` characters by replacing its start with "…" (paths,
/// whose end says the most).
pub fn ellipsize_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let tail: String = s.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

/// `text` wrapped at `width` into at most `max_lines` lines; when it needs
/// more, the last one ends with "…".
pub fn clip_lines(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines = wrap_words(text, width);
    if lines.len() > max_lines.max(1) {
        lines.truncate(max_lines.max(1));
        if let Some(last) = lines.last_mut() {
            let room = width.saturating_sub(1);
            let kept: String = last.chars().take(room).collect();
            *last = format!("{}…", kept.trim_end());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_text_ends_with_an_ellipsis_and_whole_text_stays_whole() {
        assert_eq!(ellipsize("Magento Storefront EU", 10), "Magento S…");
        assert_eq!(ellipsize("short", 10), "short");
        assert_eq!(ellipsize("abc", 0), "");
        assert_eq!(ellipsize_start("/a/long/path/db", 8), "…path/db");
    }

    #[test]
    fn clip_lines_wraps_at_words_and_marks_what_it_leaves_out() {
        let text = "Odoo Staging is no longer used (d deletes it)";
        assert_eq!(
            clip_lines(text, 20, 3),
            vec!["Odoo Staging is no", "longer used (d", "deletes it)"]
        );
        assert_eq!(
            clip_lines(text, 20, 2),
            vec!["Odoo Staging is no", "longer used (d…"]
        );
        assert_eq!(wrap_words("", 10), vec![""]);
    }
}
