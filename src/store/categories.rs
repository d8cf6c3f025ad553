//! The category tree (R11). Each change is one transaction with its audit
//! record; creating or deleting a category bumps `catalog_state.version`
//! (see [`super::roles`]).

use super::db::{Row, Tx, args};
use super::roles::{bump_catalog, invalid};
use super::{Acting, Store, StoreError, change, conflict, ensure_code_free, from_millis};
use crate::model::Category;

pub fn category_target(code: &str) -> String {
    format!("category:{code}")
}

/// A category with its parent's code.
const CATEGORY_SELECT: &str =
    "SELECT c.code, c.label, p.code AS parent, c.version, c.created_at, c.updated_at
     FROM categories c LEFT JOIN categories p ON p.id = c.parent_id";

/// The tree depth-first from the roots, so it reads top-down; siblings in
/// code order (as `all` comes). Linear: each category's children are found
/// in one map, not by scanning every category again (which made 20,000
/// categories take almost a second, issue 14).
fn depth_first(all: Vec<Category>) -> Vec<Category> {
    let mut children: std::collections::HashMap<&str, Vec<usize>> =
        std::collections::HashMap::new();
    let mut roots = Vec::new();
    for (i, c) in all.iter().enumerate() {
        match c.parent.as_deref() {
            Some(p) => children.entry(p).or_default().push(i),
            None => roots.push(i),
        }
    }
    let mut order = Vec::with_capacity(all.len());
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        order.push(i);
        if let Some(kids) = children.get(all[i].code.as_str()) {
            stack.extend(kids.iter().rev());
        }
    }
    let mut slots: Vec<Option<Category>> = all.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

async fn category_in(tx: &mut Tx, code: &str) -> Result<Category, StoreError> {
    tx.opt(
        &format!("{CATEGORY_SELECT} WHERE c.code = $1"),
        args![code],
        category_from_row,
    )
    .await?
    .ok_or_else(|| StoreError::Missing {
        what: "category",
        code: code.to_string(),
    })
}

fn category_from_row(row: &Row<'_>) -> Result<Category, StoreError> {
    Ok(Category {
        code: row.get("code")?,
        label: row.get("label")?,
        parent: row.get("parent")?,
        version: u64::try_from(row.get::<i64>("version")?).unwrap_or(1),
        created_at: from_millis(row.get("created_at")?),
        updated_at: from_millis(row.get("updated_at")?),
    })
}

impl Store {
    /// Every category, parents before their children, siblings by code.
    pub async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        let all = self
            .db
            .rows(
                &format!("{CATEGORY_SELECT} ORDER BY c.code"),
                args![],
                category_from_row,
            )
            .await?;
        Ok(depth_first(all))
    }

    pub async fn get_category(&self, code: &str) -> Result<Category, StoreError> {
        let mut tx = self.read_tx().await?;
        let c = category_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn create_category(
        &self,
        acting: &Acting<'_>,
        code: &str,
        label: &str,
        parent: Option<&str>,
    ) -> Result<Category, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        ensure_code_free(&mut tx, "categories", "category", code).await?;
        let parent_id = match parent {
            None => None,
            Some(p) => {
                let id: Option<i64> = tx
                    .opt("SELECT id FROM categories WHERE code = $1", args![p], |r| {
                        r.get(0)
                    })
                    .await?;
                Some(id.ok_or_else(|| {
                    invalid("parent", format!("parent category {p:?} does not exist"))
                })?)
            }
        };
        tx.exec(
            "INSERT INTO categories (code, label, parent_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
            args![code, label, parent_id, now],
        )
        .await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "category.create",
            &category_target(code),
            &[
                change("code", None, Some(code)),
                change("label", None, Some(label)),
                change("parent", None, parent),
            ],
        )
        .await?;
        let c = category_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn rename_category(
        &self,
        acting: &Acting<'_>,
        code: &str,
        label: &str,
    ) -> Result<Category, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = category_in(&mut tx, code).await?;
        if old.label != label {
            tx.exec(
                "UPDATE categories SET label = $1, version = version + 1, updated_at = $2
                 WHERE code = $3",
                args![label, self.now_millis(), code],
            )
            .await?;
            self.audit_in(
                &mut tx,
                acting,
                "category.update",
                &category_target(code),
                &[change("label", Some(&old.label), Some(label))],
            )
            .await?;
        }
        let c = category_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Deletes a category that has no children, no products and no grants.
    pub async fn delete_category(&self, acting: &Acting<'_>, code: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = category_in(&mut tx, code).await?;
        let children: Vec<String> = tx
            .rows(
                "SELECT c.code FROM categories c JOIN categories p ON p.id = c.parent_id
                 WHERE p.code = $1 ORDER BY c.code",
                args![code],
                |r| r.get(0),
            )
            .await?;
        if !children.is_empty() {
            return Err(conflict(
                "category",
                format!(
                    "category {code:?} has sub-categories ({}): delete them first",
                    children.join(", ")
                ),
            ));
        }
        let products: i64 = tx
            .one(
                &format!(
                    "SELECT COUNT(*) FROM products p
                     WHERE EXISTS (SELECT 1 FROM {} WHERE j.value = $1)",
                    self.dialect().json_each("p.categories", "j")
                ),
                args![code],
                |r| r.get(0),
            )
            .await?;
        if products > 0 {
            return Err(conflict(
                "category",
                format!(
                    "category {code:?} classifies {products} product(s): take them out of it first"
                ),
            ));
        }
        let groups: Vec<String> = tx
            .rows(
                "SELECT g.code FROM group_grants gg JOIN groups g ON g.id = gg.group_id
                 JOIN categories c ON c.id = gg.category_id WHERE c.code = $1 ORDER BY g.code",
                args![code],
                |r| r.get(0),
            )
            .await?;
        if !groups.is_empty() {
            return Err(conflict(
                "category",
                format!(
                    "groups grant permissions on category {code:?} ({}): remove those first",
                    groups.join(", ")
                ),
            ));
        }
        tx.exec("DELETE FROM categories WHERE code = $1", args![code])
            .await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "category.delete",
            &category_target(code),
            &[
                change("code", Some(code), None),
                change("label", Some(&old.label), None),
                change("parent", old.parent.as_deref(), None),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::depth_first;
    use crate::model::Category;

    fn cat(code: &str, parent: Option<&str>) -> Category {
        Category {
            code: code.to_string(),
            label: code.to_string(),
            parent: parent.map(str::to_string),
            version: 1,
            created_at: chrono::DateTime::default(),
            updated_at: chrono::DateTime::default(),
        }
    }

    #[test]
    fn the_tree_reads_top_down_with_siblings_in_code_order() {
        // In code order, as the store reads them.
        let all = vec![
            cat("a", None),
            cat("a1", Some("a")),
            cat("a2", Some("a")),
            cat("a2x", Some("a2")),
            cat("b", None),
            cat("b1", Some("b")),
        ];
        let order: Vec<String> = depth_first(all).into_iter().map(|c| c.code).collect();
        assert_eq!(order, ["a", "a1", "a2", "a2x", "b", "b1"]);
    }

    #[test]
    fn twenty_thousand_categories_all_come_back_once() {
        let mut all = vec![cat("root", None)];
        for i in 0..20_000 {
            let parent = if i % 100 == 0 {
                "root".to_string()
            } else {
                format!("c{:05}", i - i % 100)
            };
            all.push(cat(&format!("c{i:05}"), Some(&parent)));
        }
        all.sort_by(|a, b| a.code.cmp(&b.code));
        let out = depth_first(all);
        assert_eq!(out.len(), 20_001);
        assert_eq!(out[0].code, "root");
        let mut codes: Vec<&str> = out.iter().map(|c| c.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 20_001);
    }
}
