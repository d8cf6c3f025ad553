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
        // Depth-first from the roots, so a tree reads top-down.
        let mut out = Vec::with_capacity(all.len());
        let mut stack: Vec<&Category> = all.iter().filter(|c| c.parent.is_none()).rev().collect();
        while let Some(c) = stack.pop() {
            out.push(c.clone());
            stack.extend(
                all.iter()
                    .filter(|k| k.parent.as_deref() == Some(c.code.as_str()))
                    .rev(),
            );
        }
        Ok(out)
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
