//! The fuzzy filter over the connections list (nucleo's matcher). Matching
//! scores every row; match positions for highlighting are computed only for
//! the rows on screen.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};

use crate::model::Connection;

/// What the filter matches a row against: "label code".
fn haystack(c: &Connection) -> Utf32String {
    Utf32String::from(format!("{} {}", c.label, c.code))
}

pub struct FuzzyFilter {
    matcher: Matcher,
    query: String,
    pattern: Pattern,
    haystacks: Vec<Utf32String>,
    /// Indices into the rows, best match first; all rows when the query is empty.
    visible: Vec<usize>,
    indices_buf: Vec<u32>,
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
        FuzzyFilter {
            matcher: Matcher::new(Config::DEFAULT),
            query: String::new(),
            pattern: Pattern::default(),
            haystacks: Vec::new(),
            visible: Vec::new(),
            indices_buf: Vec::new(),
        }
    }
}

/// Where a row matched, in characters of its label and of its code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Highlights {
    pub label: Vec<usize>,
    pub code: Vec<usize>,
}

impl FuzzyFilter {
    /// Takes new rows (after a load) and re-applies the query.
    pub fn set_rows(&mut self, rows: &[Connection]) {
        self.haystacks = rows.iter().map(haystack).collect();
        self.refilter(None);
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
        if self.query.trim().is_empty() {
            self.visible = (0..self.haystacks.len()).collect();
            return;
        }
        let mut scored: Vec<(u32, usize)> = match candidates {
            Some(c) => c
                .into_iter()
                .filter_map(|i| {
                    self.pattern
                        .score(self.haystacks[i].slice(..), &mut self.matcher)
                        .map(|s| (s, i))
                })
                .collect(),
            None => self
                .haystacks
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    self.pattern
                        .score(h.slice(..), &mut self.matcher)
                        .map(|s| (s, i))
                })
                .collect(),
        };
        // Best first; equal scores keep the list order.
        scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.visible = scored.into_iter().map(|(_, i)| i).collect();
    }

    /// Where row `row` matches the query, split into label and code.
    pub fn highlights(&mut self, row: usize, label_chars: usize) -> Highlights {
        let mut out = Highlights::default();
        if !self.is_active() || row >= self.haystacks.len() {
            return out;
        }
        self.indices_buf.clear();
        self.pattern.indices(
            self.haystacks[row].slice(..),
            &mut self.matcher,
            &mut self.indices_buf,
        );
        self.indices_buf.sort_unstable();
        self.indices_buf.dedup();
        for &i in &self.indices_buf {
            let i = i as usize;
            if i < label_chars {
                out.label.push(i);
            } else if i > label_chars {
                out.code.push(i - label_chars - 1);
            }
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
        f.set_query("zzz");
        assert!(f.visible().is_empty());
        f.set_query("");
        assert_eq!(f.visible(), &[0, 1, 2]);
    }

    #[test]
    fn highlights_split_label_and_code() {
        let rows = vec![conn("SAP ERP", "sap_erp")];
        let mut f = FuzzyFilter::default();
        f.set_rows(&rows);
        f.set_query("erp");
        let h = f.highlights(0, "SAP ERP".chars().count());
        assert!(!h.label.is_empty() || !h.code.is_empty());
        for &i in &h.label {
            assert!(i < 7);
        }
        for &i in &h.code {
            assert!(i < 7);
        }
    }
}
