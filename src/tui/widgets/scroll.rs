//! Where a list of rows starts on screen: the one rule every list follows.

/// The first row to show of `len` rows in `height` lines, starting from
/// the last `offset`: the selection stays in view, and the list never ends
/// above the bottom while rows before it are hidden (a list that grew
/// taller after a resize shows more rows, never empty ones).
pub fn fit_offset(offset: usize, selected: usize, len: usize, height: usize) -> usize {
    let mut offset = offset;
    if selected < offset {
        offset = selected;
    } else if height > 0 && selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset.min(len.saturating_sub(height.max(1)))
}

/// A table's state with `selected` highlighted and the offset fitted by
/// [`fit_offset`] to `height` lines.
pub fn table_state(
    offset: usize,
    selected: usize,
    len: usize,
    height: u16,
) -> ratatui::widgets::TableState {
    ratatui::widgets::TableState::default()
        .with_offset(fit_offset(offset, selected, len, usize::from(height)))
        .with_selected(Some(selected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_in_view_and_no_row_is_left_empty() {
        // Scrolled to the end of 20 rows in 4 lines.
        assert_eq!(fit_offset(0, 19, 20, 4), 16);
        // Taller after a resize: it starts earlier, filling the lines.
        assert_eq!(fit_offset(16, 19, 20, 10), 10);
        assert_eq!(fit_offset(16, 19, 20, 40), 0);
        // Moving up past the top.
        assert_eq!(fit_offset(10, 3, 20, 10), 3);
        // Nothing to show.
        assert_eq!(fit_offset(5, 0, 0, 10), 0);
    }
}
