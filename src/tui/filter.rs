//! The fuzzy filter over the connections list (nucleo's matcher). Matching
//! scores every row; match positions for highlighting are computed only for
//! the rows on screen.

use std::cell::RefCell;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};

use crate::model::Connection;

/// What the filter matches a row against: its label, then its code.
struct Haystack {
    label: Utf32String,
    code: Utf32String,
}

fn haystack(c: &Connection) -> Haystack {
    Haystack {
        label: Utf32String::from(c.label.as_str()),
        code: Utf32String::from(c.code.as_str()),
    }
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
fn score(pattern: &Pattern, matcher: &mut Matcher, h: &Haystack) -> Option<u32> {
    pattern
        .score(h.label.slice(..), matcher)
        .or_else(|| pattern.score(h.code.slice(..), matcher))
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
        self.refilter(None);
    }

    /// Shows only the stale rows, or every row again.
    pub fn set_stale_only(&mut self, on: bool) {
        if on != self.stale_only {
            self.stale_only = on;
            self.refilter(None);
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
        let narrowing = !self.query.is_empty()
            && query.starts_with(&self.query)
            && !query[self.query.len()..].contains('\\')
            && !self.query.ends_with('\\');
        self.query = query.to_string();
        self.pattern
            .reparse(query, CaseMatching::Smart, Normalization::Smart);
        let previous = narrowing.then(|| std::mem::take(&mut self.visible));
        self.refilter(previous);
    }

    fn refilter(&mut self, candidates: Option<Vec<usize>>) {
        let all = |stale: &[bool], stale_only: bool, n: usize| -> Vec<usize> {
            (0..n)
                .filter(|&i| !stale_only || stale.get(i).copied().unwrap_or(false))
                .collect()
        };
        if self.query.trim().is_empty() {
            self.visible = all(&self.stale, self.stale_only, self.haystacks.len());
            return;
        }
        let candidates: Vec<usize> =
            candidates.unwrap_or_else(|| all(&self.stale, self.stale_only, self.haystacks.len()));
        let pattern = &self.pattern;
        let haystacks = &self.haystacks;
        let run = |matcher: &mut Matcher, rows: &[usize]| -> Vec<u64> {
            rows.iter()
                .filter_map(|&i| score(pattern, matcher, &haystacks[i]).map(|s| sort_key(s, i)))
                .collect()
        };
        let mut keys: Vec<u64> = if candidates.len() > PARALLEL_ABOVE && self.matchers.len() > 1 {
            let chunk = candidates.len().div_ceil(self.matchers.len());
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .matchers
                    .iter_mut()
                    .zip(candidates.chunks(chunk))
                    .map(|(matcher, rows)| scope.spawn(move || run(matcher, rows)))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        } else {
            run(&mut self.matchers[0], &candidates)
        };
        keys.sort_unstable();
        self.visible = keys
            .into_iter()
            .map(|k| (k & 0xffff_ffff) as usize)
            .collect();
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
}
