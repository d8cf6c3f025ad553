//! Roles (R10) and groups (R11) as pure rules: code and label validation,
//! the category tree, and what a group lets a connection see and change.
//!
//! A group's permission on a category applies to the category's whole
//! subtree; where several apply (a grant on a parent and one on a child),
//! the stronger wins. A product is visible when the group may view at least
//! one of its categories, and editable when it may edit at least one (the
//! PIM's rule: one owned category is enough). A product in no category is
//! visible to and editable by every group, as in the PIM.

use std::collections::{BTreeSet, HashMap};

use super::RuleError;
use crate::model::{CategoryGrant, CategoryLevel, Permission};

/// Longest role, group or category label.
pub const NAME_MAX: usize = 100;
/// Longest category code.
pub const CATEGORY_CODE_MAX: usize = 100;

fn is_code_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A role or group code: letters, digits and `_`, 3–100 characters (the
/// defaults are `User` and `All`).
pub fn validate_set_code(code: &str) -> Result<(), RuleError> {
    let n = code.chars().count();
    if !(3..=100).contains(&n) {
        return Err(RuleError::new(
            "code",
            format!("code must be 3 to 100 characters long (it has {n})"),
        ));
    }
    if let Some(bad) = code.chars().find(|c| !is_code_char(*c)) {
        return Err(RuleError::new(
            "code",
            format!("code may contain only letters, digits and _ (not {bad:?})"),
        ));
    }
    Ok(())
}

/// A category code: letters, digits and `_`, 1–100 characters.
pub fn validate_category_code(code: &str, field: &'static str) -> Result<(), RuleError> {
    if code.is_empty() || code.len() > CATEGORY_CODE_MAX {
        return Err(RuleError::new(
            field,
            format!("{field} must be 1 to {CATEGORY_CODE_MAX} characters long"),
        ));
    }
    if let Some(bad) = code.chars().find(|c| !is_code_char(*c)) {
        return Err(RuleError::new(
            field,
            format!("{field} may contain only letters, digits and _ (not {bad:?})"),
        ));
    }
    Ok(())
}

/// A label: 1–100 characters after trimming, no control characters.
pub fn validate_name(label: &str, field: &'static str) -> Result<String, RuleError> {
    let trimmed = label.trim();
    let n = trimmed.chars().count();
    if n == 0 {
        return Err(RuleError::new(field, format!("{field} is required")));
    }
    if n > NAME_MAX {
        return Err(RuleError::new(
            field,
            format!("{field} must be at most {NAME_MAX} characters (it has {n})"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(RuleError::new(
            field,
            format!("{field} may not contain control characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// A role's permissions in their canonical order, each once.
pub fn normalize_permissions(permissions: &[Permission]) -> Vec<Permission> {
    permissions
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A group's grants in category order; a category named twice is an error.
pub fn normalize_grants(grants: &[CategoryGrant]) -> Result<Vec<CategoryGrant>, RuleError> {
    let mut out: Vec<CategoryGrant> = Vec::with_capacity(grants.len());
    for g in grants {
        validate_category_code(&g.category, "permissions")?;
        if out.iter().any(|o| o.category == g.category) {
            return Err(RuleError::new(
                "permissions",
                format!(
                    "category {:?} is named twice: give each category one level (view or edit)",
                    g.category
                ),
            ));
        }
        out.push(g.clone());
    }
    out.sort_by(|a, b| a.category.cmp(&b.category));
    Ok(out)
}

/// The category tree: each code's parent and children.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    parent: HashMap<String, Option<String>>,
    children: HashMap<String, Vec<String>>,
}

impl CategoryTree {
    /// From `(code, parent)` pairs.
    pub fn new<I: IntoIterator<Item = (String, Option<String>)>>(nodes: I) -> Self {
        let mut tree = CategoryTree::default();
        for (code, parent) in nodes {
            if let Some(p) = &parent {
                tree.children
                    .entry(p.clone())
                    .or_default()
                    .push(code.clone());
            }
            tree.parent.insert(code, parent);
        }
        for kids in tree.children.values_mut() {
            kids.sort();
        }
        tree
    }

    pub fn contains(&self, code: &str) -> bool {
        self.parent.contains_key(code)
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The category and every category under it.
    pub fn subtree(&self, code: &str) -> Vec<String> {
        let mut out = Vec::new();
        if !self.contains(code) {
            return out;
        }
        let mut stack = vec![code.to_string()];
        while let Some(c) = stack.pop() {
            if let Some(kids) = self.children.get(&c) {
                stack.extend(kids.iter().rev().cloned());
            }
            out.push(c);
        }
        out
    }

    /// The category, its parent, and so on up to the root.
    pub fn ancestors_or_self<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut next = self.parent.get_key_value(code).map(|(k, _)| k.as_str());
        let mut steps = 0usize;
        std::iter::from_fn(move || {
            let current = next?;
            steps += 1;
            // A cycle cannot be stored, but never loop on one.
            if steps > self.parent.len() {
                return None;
            }
            next = self
                .parent
                .get(current)
                .and_then(|p| p.as_deref())
                .and_then(|p| self.parent.get_key_value(p).map(|(k, _)| k.as_str()));
            Some(current)
        })
    }
}

/// What a group allows, resolved over the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAccess {
    /// Edit on every category, now and later (`All`).
    Everything,
    /// The effective level on each category it reaches.
    Levels(HashMap<String, CategoryLevel>),
}

impl GroupAccess {
    /// Resolves grants: each category gets the strongest level granted on it
    /// or on one of its ancestors.
    pub fn resolve(tree: &CategoryTree, grants: &[(String, CategoryLevel)]) -> GroupAccess {
        let mut levels: HashMap<String, CategoryLevel> = HashMap::new();
        for (category, level) in grants {
            for code in tree.subtree(category) {
                let entry = levels.entry(code).or_insert(*level);
                if *level > *entry {
                    *entry = *level;
                }
            }
        }
        GroupAccess::Levels(levels)
    }

    /// The level on one category (`None`: hidden).
    pub fn level(&self, category: &str) -> Option<CategoryLevel> {
        match self {
            GroupAccess::Everything => Some(CategoryLevel::Edit),
            GroupAccess::Levels(levels) => levels.get(category).copied(),
        }
    }

    pub fn can_view(&self, category: &str) -> bool {
        self.level(category).is_some()
    }

    /// A product in these categories is visible: one viewable category is
    /// enough; a product in none is visible to every group.
    pub fn can_view_product<S: AsRef<str>>(&self, categories: &[S]) -> bool {
        categories.is_empty() || categories.iter().any(|c| self.can_view(c.as_ref()))
    }

    /// A product in these categories may be changed: one editable category
    /// is enough; a product in none may be changed by every group.
    pub fn can_edit_product<S: AsRef<str>>(&self, categories: &[S]) -> bool {
        categories.is_empty()
            || categories
                .iter()
                .any(|c| self.level(c.as_ref()) == Some(CategoryLevel::Edit))
    }

    /// The categories it may view, or `None` for all.
    pub fn viewable(&self) -> Option<Vec<String>> {
        match self {
            GroupAccess::Everything => None,
            GroupAccess::Levels(levels) => {
                let mut v: Vec<String> = levels.keys().cloned().collect();
                v.sort();
                Some(v)
            }
        }
    }
}

/// Which of a connection's role and group are still the defaults every new
/// connection shares (R10, R11), said the way the advice names them: "the
/// default role User", "the default group All", or both; `None` when the
/// connection has its own role and group.
pub fn shared_defaults(role: &str, group: &str) -> Option<String> {
    use crate::model::{DEFAULT_GROUP, DEFAULT_ROLE};
    match (role == DEFAULT_ROLE, group == DEFAULT_GROUP) {
        (true, true) => Some(format!(
            "the default role {DEFAULT_ROLE} and group {DEFAULT_GROUP}"
        )),
        (true, false) => Some(format!("the default role {DEFAULT_ROLE}")),
        (false, true) => Some(format!("the default group {DEFAULT_GROUP}")),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> CategoryTree {
        CategoryTree::new([
            ("master".to_string(), None),
            ("clothing".to_string(), Some("master".to_string())),
            ("shoes".to_string(), Some("clothing".to_string())),
            ("boots".to_string(), Some("shoes".to_string())),
            ("electronics".to_string(), Some("master".to_string())),
        ])
    }

    #[test]
    fn r11_a_grant_reaches_the_subtree_and_the_stronger_level_wins() {
        let t = tree();
        let access = GroupAccess::resolve(
            &t,
            &[
                ("clothing".to_string(), CategoryLevel::View),
                ("shoes".to_string(), CategoryLevel::Edit),
            ],
        );
        assert_eq!(access.level("clothing"), Some(CategoryLevel::View));
        assert_eq!(access.level("shoes"), Some(CategoryLevel::Edit));
        assert_eq!(access.level("boots"), Some(CategoryLevel::Edit));
        assert_eq!(access.level("master"), None);
        assert_eq!(access.level("electronics"), None);
        assert!(access.can_view_product(&["electronics", "clothing"]));
        assert!(!access.can_edit_product(&["electronics", "clothing"]));
        assert!(access.can_edit_product(&["boots"]));
        assert!(!access.can_view_product(&["electronics"]));
        let none: [&str; 0] = [];
        assert!(access.can_view_product(&none) && access.can_edit_product(&none));
    }

    #[test]
    fn r11_a_new_group_grants_nothing_and_all_grants_everything() {
        let empty = GroupAccess::resolve(&tree(), &[]);
        assert!(!empty.can_view_product(&["boots"]));
        assert_eq!(empty.viewable(), Some(vec![]));
        assert!(GroupAccess::Everything.can_edit_product(&["created_later"]));
        assert_eq!(GroupAccess::Everything.viewable(), None);
    }

    #[test]
    fn subtree_and_ancestors_follow_the_tree() {
        let t = tree();
        assert_eq!(t.subtree("clothing"), ["clothing", "shoes", "boots"]);
        assert!(t.subtree("nothing").is_empty());
        assert_eq!(
            t.ancestors_or_self("boots").collect::<Vec<_>>(),
            ["boots", "shoes", "clothing", "master"]
        );
    }

    #[test]
    fn codes_and_grants_are_validated() {
        assert!(validate_set_code("User").is_ok());
        assert!(validate_set_code("read_only").is_ok());
        assert_eq!(validate_set_code("ab").unwrap_err().field, "code");
        assert!(validate_set_code("read only").is_err());
        assert!(validate_category_code("tv", "code").is_ok());
        assert!(validate_category_code("", "code").is_err());
        assert!(validate_name("  Read only ", "label").unwrap() == "Read only");
        assert!(validate_name("   ", "label").is_err());
        let twice = [
            CategoryGrant {
                category: "shoes".into(),
                level: CategoryLevel::View,
            },
            CategoryGrant {
                category: "shoes".into(),
                level: CategoryLevel::Edit,
            },
        ];
        assert_eq!(normalize_grants(&twice).unwrap_err().field, "permissions");
        assert_eq!(
            normalize_permissions(&[
                Permission::ProductsEdit,
                Permission::ApiAccess,
                Permission::ProductsEdit
            ]),
            [Permission::ApiAccess, Permission::ProductsEdit]
        );
    }

    #[test]
    fn r10_r11_the_advice_names_only_the_defaults_a_connection_keeps() {
        assert_eq!(
            shared_defaults("User", "All").as_deref(),
            Some("the default role User and group All")
        );
        assert_eq!(
            shared_defaults("catalog_editor", "All").as_deref(),
            Some("the default group All")
        );
        assert_eq!(
            shared_defaults("User", "eu_shop").as_deref(),
            Some("the default role User")
        );
        assert_eq!(shared_defaults("catalog_editor", "eu_shop"), None);
    }
}
