//! The fuzzy filter over the connections list (nucleo's matcher). Matching
//! scores every row; match positions for highlighting are computed only for
//! the rows on screen.

use std::cell::RefCell;

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str, Utf32String};

use crate::model::Connection;

/// What the filter matches a row against: its label, then its code; and
/// which characters each holds, to skip at once the rows that lack one the
/// query needs.
struct Haystack {
    label: Utf32String,
    code: Utf32String,
    label_chars: u64,
    code_chars: u64,
}

fn haystack(c: &Connection) -> Haystack {
    Haystack {
        label: Utf32String::from(c.label.as_str()),
        code: Utf32String::from(c.code.as_str()),
        label_chars: char_set(&c.label),
        code_chars: char_set(&c.code),
    }
}

/// The bit of an ASCII letter (either case) or digit, or of `_`, `-` and
/// `.`; `None` for any other character.
fn char_bit(c: char) -> Option<u64> {
    let c = c.to_ascii_lowercase();
    match c {
        'a'..='z' => Some(1 << (c as u8 - b'a')),
        '0'..='9' => Some(1 << (26 + c as u8 - b'0')),
        '_' => Some(1 << 36),
        '-' => Some(1 << 37),
        '.' => Some(1 << 38),
        _ => None,
    }
}

/// The characters of a haystack as bits; every bit when it holds a
/// character outside the set (an accented letter may match its plain one).
fn char_set(text: &str) -> u64 {
    text.chars()
        .try_fold(0u64, |set, c| match char_bit(c) {
            Some(bit) => Some(set | bit),
            None if c == ' ' => Some(set),
            None => None,
        })
        .unwrap_or(u64::MAX)
}

/// The characters every match must hold, as bits; none (0, which every
/// haystack has) when the query uses syntax (negation, anchors, escapes) or
/// characters outside the set.
fn needed_chars(query: &str) -> u64 {
    if query.contains(['!', '^', '$', '\\', '\'']) {
        return 0;
    }
    query
        .chars()
        .filter(|c| *c != ' ')
        .try_fold(0u64, |set, c| char_bit(c).map(|bit| set | bit))
        .unwrap_or(0)
}

/// Rows above which matching is split across threads.
const PARALLEL_ABOVE: usize = 16_384;

pub struct FuzzyFilter {
    /// One matcher per worker thread (a matcher holds scratch memory).
    matchers: Vec<Matcher>,
    query: String,
    pattern: Pattern,
    haystacks: Vec<Haystack>,
    /// Per row: whether it is stale (R16b), as the backend said.
    stale: Vec<bool>,
    /// Shows only the stale rows (combined with the query).
    stale_only: bool,
    /// Indices into the rows, best match first; all rows when the query is empty.
    visible: Vec<usize>,
    /// Scratch memory of [`FuzzyFilter::highlights`]: a matcher and the
    /// positions it finds.
    highlighting: RefCell<(Matcher, Vec<u32>)>,
    /// Buffers kept between keystrokes: the rows that may match, those
    /// that did, each worker's sort keys, and all of them merged.
    candidates: Vec<usize>,
    /// The rows the query matches, in list order.
    matched: Vec<usize>,
    keys: Vec<Vec<u64>>,
    merged: Vec<u64>,
}

impl std::fmt::Debug for FuzzyFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuzzyFilter")
            .field("query", &self.query)
            .field("visible", &self.visible.len())
            .finish()
    }
}

impl Default for FuzzyFilter {
    fn default() -> Self {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        FuzzyFilter {
            matchers: (0..workers)
                .map(|_| Matcher::new(Config::DEFAULT))
                .collect(),
            query: String::new(),
            pattern: Pattern::default(),
            haystacks: Vec::new(),
            stale: Vec::new(),
            stale_only: false,
            visible: Vec::new(),
            highlighting: RefCell::new((Matcher::new(Config::DEFAULT), Vec::new())),
            candidates: Vec::new(),
            matched: Vec::new(),
            keys: vec![Vec::new(); workers],
            merged: Vec::new(),
        }
    }
}

/// Where a row matched, in characters of its label and of its code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Highlights {
    pub label: Vec<usize>,
    pub code: Vec<usize>,
}

/// Scores one row: the label first, the code when the label does not match.
/// `needed`: the characters a match must hold (see [`needed_chars`]).
fn score(pattern: &Pattern, needed: u64, matcher: &mut Matcher, h: &Haystack) -> Option<u32> {
    let label = (h.label_chars & needed == needed)
        .then(|| pattern_score(pattern, h.label.slice(..), matcher))
        .flatten();
    label.or_else(|| {
        (h.code_chars & needed == needed)
            .then(|| pattern_score(pattern, h.code.slice(..), matcher))
            .flatten()
    })
}

/// A pattern's score: every atom must match; the scores add up.
fn pattern_score(pattern: &Pattern, haystack: Utf32Str<'_>, matcher: &mut Matcher) -> Option<u32> {
    pattern.atoms.iter().try_fold(0u32, |sum, atom| {
        atom_score(atom, haystack, matcher).map(|s| sum + u32::from(s))
    })
}

/// One atom's score. A plain fuzzy atom of ASCII characters is matched
/// greedily (in one pass, about twice as fast as the optimal alignment, and
/// ranking a list of names the same way in practice); any other atom as
/// nucleo's pattern does. Case as the pattern's smart case: ignored unless
/// the atom has an upper-case letter.
fn atom_score(atom: &Atom, haystack: Utf32Str<'_>, matcher: &mut Matcher) -> Option<u16> {
    match atom.needle_text() {
        Utf32Str::Ascii(needle) if atom.kind == AtomKind::Fuzzy && !atom.negative => {
            matcher.config.ignore_case = !needle.iter().any(u8::is_ascii_uppercase);
            matcher.config.normalize = true;
            matcher.fuzzy_match_greedy(haystack, atom.needle_text())
        }
        _ => atom.score(haystack, matcher),
    }
}

/// Sort key: best score first, then list order.
fn sort_key(score: u32, row: usize) -> u64 {
    (u64::from(u32::MAX - score) << 32) | row as u64
}

impl FuzzyFilter {
    /// Takes new rows (after a load) and re-applies the query.
    pub fn set_rows(&mut self, rows: &[Connection]) {
        self.haystacks = rows.iter().map(haystack).collect();
        self.stale = rows.iter().map(|c| c.stale).collect();
        self.refilter(false);
    }

    /// Shows only the stale rows, or every row again.
    pub fn set_stale_only(&mut self, on: bool) {
        if on != self.stale_only {
            self.stale_only = on;
            self.refilter(false);
        }
    }

    pub fn stale_only(&self) -> bool {
        self.stale_only
    }

    /// How many rows are stale, whatever the filter shows.
    pub fn stale_count(&self) -> usize {
        self.stale.iter().filter(|s| **s).count()
    }

    /// Whether some rows are hidden: by the query or by the stale filter.
    pub fn narrows(&self) -> bool {
        self.is_active() || self.stale_only
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn is_active(&self) -> bool {
        !self.query.is_empty()
    }

    /// The rows to show, in order.
    pub fn visible(&self) -> &[usize] {
        &self.visible
    }

    /// Sets the query. When it only extends the previous one, only the rows
    /// that matched before are searched (a fuzzy match of a longer pattern is
    /// a match of its prefix).
    pub fn set_query(&mut self, query: &str) {
        if query == self.query {
            return;
        }
        let narrowing = !self.query.trim().is_empty()
            && query.starts_with(&self.query)
            && !query[self.query.len()..].contains('\\')
            && !self.query.ends_with('\\');
        self.query = query.to_string();
        self.pattern
            .reparse(query, CaseMatching::Smart, Normalization::Smart);
        self.refilter(narrowing);
    }

    /// Recomputes the visible rows. `narrowing`: only the rows visible now
    /// can match (the query only grew). Every buffer is kept from one
    /// keystroke to the next, so typing allocates (and faults in) nothing.
    fn refilter(&mut self, narrowing: bool) {
        let (stale, stale_only) = (&self.stale, self.stale_only);
        let shown = |i: &usize| !stale_only || stale.get(*i).copied().unwrap_or(false);
        let n = self.haystacks.len();
        if self.query.trim().is_empty() {
            self.visible.clear();
            self.visible.extend((0..n).filter(shown));
            // Nothing narrows from a blank query (see `set_query`).
            self.matched = Vec::new();
            return;
        }
        // The rows that may match, in list order (so that the haystacks are
        // read in the order they sit in memory): those that matched the
        // shorter query when narrowing, else all.
        if narrowing {
            std::mem::swap(&mut self.matched, &mut self.candidates);
        } else {
            self.candidates.clear();
            self.candidates.extend((0..n).filter(shown));
        }
        let pattern = &self.pattern;
        let needed = needed_chars(&self.query);
        let haystacks = &self.haystacks;
        let run = |matcher: &mut Matcher, rows: &[usize], out: &mut Vec<u64>| {
            out.clear();
            out.extend(rows.iter().filter_map(|&i| {
                score(pattern, needed, matcher, &haystacks[i]).map(|s| sort_key(s, i))
            }));
        };
        // One buffer of keys per worker.
        self.keys.resize_with(self.matchers.len(), Vec::new);
        let candidates = &self.candidates;
        let workers = if candidates.len() > PARALLEL_ABOVE {
            self.matchers.len()
        } else {
            1
        };
        let chunk = candidates.len().div_ceil(workers).max(1);
        if workers > 1 {
            std::thread::scope(|scope| {
                for ((matcher, out), rows) in self
                    .matchers
                    .iter_mut()
                    .zip(self.keys.iter_mut())
                    .zip(candidates.chunks(chunk))
                {
                    scope.spawn(move || run(matcher, rows, out));
                }
            });
        } else {
            run(&mut self.matchers[0], candidates, &mut self.keys[0]);
        }
        let used = candidates.len().div_ceil(chunk);
        let merged = &mut self.merged;
        merged.clear();
        for keys in &self.keys[..used] {
            merged.extend_from_slice(keys);
        }
        // Still in list order: what the next, longer query starts from.
        self.matched.clear();
        self.matched
            .extend(merged.iter().map(|k| (k & 0xffff_ffff) as usize));
        merged.sort_unstable();
        self.visible.clear();
        self.visible
            .extend(merged.iter().map(|k| (k & 0xffff_ffff) as usize));
    }

    /// Where row `row` matches the query: in its label, or else in its code.
    /// Reads the filter only (the view calls it while drawing); the
    /// matcher's scratch memory is the only thing it writes.
    pub fn highlights(&self, row: usize) -> Highlights {
        let mut out = Highlights::default();
        if !self.is_active() || row >= self.haystacks.len() {
            return out;
        }
        let h = &self.haystacks[row];
        let mut scratch = self.highlighting.borrow_mut();
        let (matcher, indices) = &mut *scratch;
        indices.clear();
        let in_label = self
            .pattern
            .indices(h.label.slice(..), matcher, indices)
            .is_some();
        if !in_label {
            indices.clear();
            self.pattern.indices(h.code.slice(..), matcher, indices);
        }
        indices.sort_unstable();
        indices.dedup();
        let positions = indices.iter().map(|&i| i as usize).collect();
        if in_label {
            out.label = positions;
        } else {
            out.code = positions;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FlowType;
    use chrono::Utc;

    fn conn(label: &str, code: &str) -> Connection {
        Connection {
            code: code.into(),
            label: label.into(),
            flow_type: FlowType::Source,
            visual: None,
            client_id: String::new(),
            username: String::new(),
            role: "User".into(),
            group: "All".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
            wrong_credentials_at: None,
            in_use: false,
            last_activity_at: None,
            stale: false,
            application: None,
            offline: false,
            offline_since: None,
            offline_reason: None,
        }
    }

    #[test]
    fn fuzzy_filter_ranks_and_narrows() {
        let rows = vec![
            conn("Magento Storefront", "magento_storefront"),
            conn("SAP ERP", "sap_erp"),
            conn("Shopify Plus", "shopify_plus"),
        ];
        let mut f = FuzzyFilter::default();
        f.set_rows(&rows);
        assert_eq!(f.visible(), &[0, 1, 2]);
        f.set_query("s");
        assert_eq!(f.visible().len(), 3);
        f.set_query("sh");
        assert_eq!(f.visible(), &[2]);
        f.set_query("s");
        assert_eq!(f.visible().len(), 3, "widening searches everything again");
        f.set_query("mgst");
        assert_eq!(f.visible(), &[0]);
        f.set_query("storefront");
        assert_eq!(f.visible(), &[0]);
        f.set_query("magento_st");
        assert_eq!(f.visible(), &[0], "codes match too");
        f.set_query("zzz");
        assert!(f.visible().is_empty());
        f.set_query("");
        assert_eq!(f.visible(), &[0, 1, 2]);
    }

    #[test]
    fn r16b_stale_only_combines_with_the_query() {
        let mut rows = vec![
            conn("Magento Storefront", "magento_storefront"),
            conn("SAP ERP", "sap_erp"),
            conn("Shopify Plus", "shopify_plus"),
        ];
        rows[0].stale = true;
        rows[2].stale = true;
        let mut f = FuzzyFilter::default();
        f.set_rows(&rows);
        assert_eq!(f.stale_count(), 2);
        f.set_stale_only(true);
        assert!(f.narrows() && !f.is_active());
        assert_eq!(f.visible(), &[0, 2]);
        f.set_query("s");
        assert_eq!(f.visible().len(), 2, "the query searches only stale rows");
        f.set_query("sh");
        assert_eq!(f.visible(), &[2]);
        f.set_query("sap");
        assert!(f.visible().is_empty(), "SAP ERP is not stale");
        f.set_stale_only(false);
        assert_eq!(f.visible(), &[1]);
        f.set_query("");
        f.set_stale_only(true);
        rows[0].stale = false;
        f.set_rows(&rows);
        assert_eq!(f.visible(), &[2], "a reload re-reads the flags");
    }

    #[test]
    fn parallel_matching_equals_sequential() {
        let rows: Vec<Connection> = (0..(PARALLEL_ABOVE + 5000))
            .map(|i| conn(&format!("Vendor {} shop {i}", i % 97), &format!("code_{i}")))
            .collect();
        let mut parallel = FuzzyFilter {
            matchers: (0..3).map(|_| Matcher::new(Config::DEFAULT)).collect(),
            ..Default::default()
        };
        let mut sequential = FuzzyFilter::default();
        sequential.matchers.truncate(1);
        for f in [&mut parallel, &mut sequential] {
            f.set_rows(&rows);
            f.set_query("v 4s");
        }
        assert!(parallel.visible().len() > 100);
        assert_eq!(parallel.visible(), sequential.visible());
    }

    #[test]
    fn highlights_split_label_and_code() {
        let rows = vec![conn("SAP ERP", "sap_erp")];
        let mut f = FuzzyFilter::default();
        f.set_rows(&rows);
        f.set_query("erp");
        let h = f.highlights(0);
        assert_eq!(h.label, vec![4, 5, 6], "ERP in the label");
        assert!(h.code.is_empty());
        f.set_query("p_e");
        let h = f.highlights(0);
        assert!(h.label.is_empty());
        assert_eq!(h.code, vec![2, 3, 4], "p_e only in the code");
    }

    #[test]
    fn skipping_rows_by_their_characters_never_hides_a_match() {
        let labels = [
            "Übersetzungsbüro Müller",
            "Lieferantenportal Süd",
            "ERP (SAP) — prod",
            "magento_storefront_eu",
            "Shop-DE v2.1",
            "DeepL Translations",
            "Zalando Feed 2026",
        ];
        let rows: Vec<Connection> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                conn(
                    l,
                    &crate::domain::slug_from_label(l).replace('_', &i.to_string()),
                )
            })
            .collect();
        let queries = [
            "u", "ub", "sud", "süd", "SAP", "sap prod", "e_e", "de v2", "2.1", "!sap", "^erp",
            "feed$", "'deepl", "m ü", "zal 26", "x",
        ];
        for q in queries {
            let mut f = FuzzyFilter::default();
            f.set_rows(&rows);
            f.set_query(q);
            let mut got = f.visible().to_vec();
            got.sort_unstable();
            // Every row, scored without skipping any.
            let pattern = Pattern::parse(q, CaseMatching::Smart, Normalization::Smart);
            let mut m = Matcher::new(Config::DEFAULT);
            let want: Vec<usize> = rows
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    let h = haystack(c);
                    pattern_score(&pattern, h.label.slice(..), &mut m)
                        .or_else(|| pattern_score(&pattern, h.code.slice(..), &mut m))
                        .is_some()
                })
                .map(|(i, _)| i)
                .collect();
            assert_eq!(got, want, "query {q:?}");
        }
    }

    #[test]
    fn a_longer_query_finds_what_a_fresh_search_finds() {
        let rows: Vec<Connection> = (0..3000)
            .map(|i| conn(&format!("Vendor {} shop {i}", i % 97), &format!("code_{i}")))
            .collect();
        let mut typed = FuzzyFilter::default();
        typed.set_rows(&rows);
        for q in ["v", "ve", "ven", "ven 1", "ven 12"] {
            typed.set_query(q);
            let mut fresh = FuzzyFilter::default();
            fresh.set_rows(&rows);
            fresh.set_query(q);
            assert_eq!(typed.visible(), fresh.visible(), "query {q:?}");
        }
    }

    #[test]
    fn a_query_typed_after_spaces_searches_every_row() {
        let rows: Vec<Connection> = ["Alpha", "Beta", "Gamma"]
            .iter()
            .map(|l| conn(l, &l.to_lowercase()))
            .collect();
        let mut f = FuzzyFilter::default();
        f.set_rows(&rows);
        f.set_query(" ");
        assert_eq!(f.visible().len(), 3);
        f.set_query(" b");
        assert_eq!(f.visible(), &[1]);
        f.set_query(" be");
        assert_eq!(f.visible(), &[1]);
    }
}
