//! Roles (R10), groups and categories (R11), and products (R22). Each
//! change of a role, a group or the tree is one transaction with its audit
//! record, and bumps `catalog_state.version` so that every server instance
//! drops what it cached of them before the next Web API request.

use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::{Row, Sqlite, Transaction};

use super::{Acting, Store, StoreError, change, conflict, ensure_code_free, from_millis};
use crate::model::{
    Category, CategoryGrant, CategoryLevel, DEFAULT_GROUP, DEFAULT_ROLE, Group, Permission, Role,
};

pub fn role_target(code: &str) -> String {
    format!("role:{code}")
}

pub fn group_target(code: &str) -> String {
    format!("group:{code}")
}

pub fn category_target(code: &str) -> String {
    format!("category:{code}")
}

/// A role or group (`what`) cannot be deleted while it is the default of
/// new connections or while connections use it (R10, R11).
fn refuse_delete(
    what: &'static str,
    code: &str,
    default: bool,
    connections: &[String],
    instead: &str,
) -> Result<(), StoreError> {
    if default {
        return Err(conflict(
            what,
            format!("{code:?} is the default {what} of new connections and cannot be deleted"),
        ));
    }
    if !connections.is_empty() {
        return Err(conflict(
            what,
            format!(
                "{what} {code:?} is used by {}: {instead}",
                naming(connections)
            ),
        ));
    }
    Ok(())
}

fn invalid(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, message }
}

fn permissions_json(p: &[Permission]) -> String {
    serde_json::to_string(p).expect("permissions serialise")
}

/// A role's stored permissions; unknown names (from a newer version) are
/// skipped.
pub(crate) fn parse_permissions(json: &str) -> Vec<Permission> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Permission::parse(s))
        .collect()
}

fn permissions_text(p: &[Permission]) -> String {
    p.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
}

fn grants_text(g: &[CategoryGrant]) -> String {
    g.iter()
        .map(|g| format!("{}:{}", g.category, g.level.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "3 connections (a, b, c)" — at most ten named.
fn naming(codes: &[String]) -> String {
    let shown: Vec<&str> = codes.iter().take(10).map(String::as_str).collect();
    let more = if codes.len() > 10 {
        format!(" and {} more", codes.len() - 10)
    } else {
        String::new()
    };
    let noun = if codes.len() == 1 {
        "connection"
    } else {
        "connections"
    };
    format!("{} {noun} ({}{more})", codes.len(), shown.join(", "))
}

async fn bump_catalog(tx: &mut Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    sqlx::query("UPDATE catalog_state SET version = version + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The codes of the connections whose `column` (role or grp) is `code`.
async fn users_of(
    tx: &mut Transaction<'static, Sqlite>,
    column: &str,
    code: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!("SELECT code FROM connections WHERE {column} = $1 ORDER BY code");
    Ok(sqlx::query_scalar(&sql)
        .bind(code)
        .fetch_all(&mut **tx)
        .await?)
}

async fn role_in(tx: &mut Transaction<'static, Sqlite>, code: &str) -> Result<Role, StoreError> {
    let row = sqlx::query(
        "SELECT code, label, permissions, version, created_at, updated_at FROM roles WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::Missing {
        what: "role",
        code: code.to_string(),
    })?;
    let connections = users_of(tx, "role", code).await?;
    let code: String = row.try_get("code")?;
    Ok(Role {
        default: code == DEFAULT_ROLE,
        label: row.try_get("label")?,
        permissions: parse_permissions(&row.try_get::<String, _>("permissions")?),
        connection_count: connections.len() as u64,
        connections,
        version: u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(1),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        code,
    })
}

async fn group_in(tx: &mut Transaction<'static, Sqlite>, code: &str) -> Result<Group, StoreError> {
    let row = sqlx::query(
        "SELECT id, code, label, everything, version, created_at, updated_at FROM groups
         WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::Missing {
        what: "group",
        code: code.to_string(),
    })?;
    let id: i64 = row.try_get("id")?;
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.code, g.level FROM group_grants g JOIN categories c ON c.id = g.category_id
         WHERE g.group_id = $1 ORDER BY c.code",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let connections = users_of(tx, "grp", code).await?;
    let code: String = row.try_get("code")?;
    Ok(Group {
        default: code == DEFAULT_GROUP,
        label: row.try_get("label")?,
        everything: row.try_get::<i64, _>("everything")? == 1,
        permissions: grants
            .into_iter()
            .map(|(category, level)| CategoryGrant {
                category,
                level: CategoryLevel::parse(&level).unwrap_or(CategoryLevel::View),
            })
            .collect(),
        connection_count: connections.len() as u64,
        connections,
        version: u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(1),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        code,
    })
}

async fn category_in(
    tx: &mut Transaction<'static, Sqlite>,
    code: &str,
) -> Result<Category, StoreError> {
    let row = sqlx::query(
        "SELECT c.code, c.label, p.code AS parent, c.version, c.created_at, c.updated_at
         FROM categories c LEFT JOIN categories p ON p.id = c.parent_id WHERE c.code = $1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::Missing {
        what: "category",
        code: code.to_string(),
    })?;
    category_from_row(&row)
}

fn category_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Category, StoreError> {
    Ok(Category {
        code: row.try_get("code")?,
        label: row.try_get("label")?,
        parent: row.try_get("parent")?,
        version: u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(1),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}

/// Refuses a change based on another version than the stored one.
fn check_version(
    what: &str,
    code: &str,
    expected: Option<u64>,
    actual: u64,
) -> Result<(), StoreError> {
    match expected {
        Some(e) if e != actual => Err(StoreError::Stale {
            message: format!(
                "{what} {code:?} was changed meanwhile (now version {actual}, this change was based on version {e}); reload it and try again"
            ),
        }),
        _ => Ok(()),
    }
}

/// Category ids of grants; an unknown category is an error naming it.
async fn grant_rows(
    tx: &mut Transaction<'static, Sqlite>,
    grants: &[CategoryGrant],
) -> Result<Vec<(i64, CategoryLevel)>, StoreError> {
    let mut out = Vec::with_capacity(grants.len());
    for g in grants {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM categories WHERE code = $1")
            .bind(&g.category)
            .fetch_optional(&mut **tx)
            .await?;
        let id = id.ok_or_else(|| {
            invalid(
                "permissions",
                format!("category {:?} does not exist", g.category),
            )
        })?;
        out.push((id, g.level));
    }
    Ok(out)
}

async fn write_grants(
    tx: &mut Transaction<'static, Sqlite>,
    group_id: i64,
    grants: &[(i64, CategoryLevel)],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM group_grants WHERE group_id = $1")
        .bind(group_id)
        .execute(&mut **tx)
        .await?;
    for (category_id, level) in grants {
        sqlx::query("INSERT INTO group_grants (group_id, category_id, level) VALUES ($1, $2, $3)")
            .bind(group_id)
            .bind(category_id)
            .bind(level.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A product as stored: every category, every value.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProduct {
    pub identifier: String,
    pub enabled: bool,
    pub family: Option<String>,
    pub categories: Vec<String>,
    pub values: Map<String, Value>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A product as a read returns it: the values left as the JSON text they
/// are stored as (a read never needs to look inside them).
#[derive(Debug)]
pub struct ProductRow {
    pub identifier: String,
    pub enabled: bool,
    pub family: Option<String>,
    pub categories: Vec<String>,
    pub values: Box<serde_json::value::RawValue>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a product write did.
#[derive(Debug, Clone, PartialEq)]
pub enum ProductWrite {
    Created(StoredProduct),
    Updated(StoredProduct),
}

fn categories_json(c: &[String]) -> String {
    serde_json::to_string(c).expect("strings serialise")
}

impl Store {
    // ----- roles -------------------------------------------------------------

    pub async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let codes: Vec<String> =
            sqlx::query_scalar("SELECT code FROM roles ORDER BY label COLLATE NOCASE, code")
                .fetch_all(&mut *tx)
                .await?;
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            out.push(role_in(&mut tx, &code).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_role(&self, code: &str) -> Result<Role, StoreError> {
        let mut tx = self.pool.begin().await?;
        let role = role_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn create_role(
        &self,
        acting: &Acting<'_>,
        code: &str,
        label: &str,
        permissions: &[Permission],
    ) -> Result<Role, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        ensure_code_free(&mut tx, "roles", "role", code).await?;
        sqlx::query(
            "INSERT INTO roles (code, label, permissions, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(code)
        .bind(label)
        .bind(permissions_json(permissions))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "role.create",
            &role_target(code),
            &[
                change("code", None, Some(code)),
                change("label", None, Some(label)),
                change("permissions", None, Some(&permissions_text(permissions))),
            ],
        )
        .await?;
        let role = role_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Renames a role and/or replaces its permissions; records what changed.
    pub async fn update_role(
        &self,
        acting: &Acting<'_>,
        code: &str,
        label: Option<&str>,
        permissions: Option<&[Permission]>,
        expected_version: Option<u64>,
    ) -> Result<Role, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = role_in(&mut tx, code).await?;
        check_version("role", code, expected_version, old.version)?;
        let new_label = label.unwrap_or(&old.label);
        let new_permissions = permissions.unwrap_or(&old.permissions);
        let mut changes = Vec::new();
        if new_label != old.label {
            changes.push(change("label", Some(&old.label), Some(new_label)));
        }
        if new_permissions != old.permissions.as_slice() {
            changes.push(change(
                "permissions",
                Some(&permissions_text(&old.permissions)),
                Some(&permissions_text(new_permissions)),
            ));
        }
        if changes.is_empty() {
            tx.commit().await?;
            return Ok(old);
        }
        sqlx::query(
            "UPDATE roles SET label = $1, permissions = $2, version = version + 1, updated_at = $3
             WHERE code = $4",
        )
        .bind(new_label)
        .bind(permissions_json(new_permissions))
        .bind(self.now_millis())
        .bind(code)
        .execute(&mut *tx)
        .await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(&mut tx, acting, "role.update", &role_target(code), &changes)
            .await?;
        let role = role_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Deletes a role no connection has; never the default one.
    pub async fn delete_role(&self, acting: &Acting<'_>, code: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = role_in(&mut tx, code).await?;
        refuse_delete(
            "role",
            code,
            old.default,
            &old.connections,
            "give them another role first",
        )?;
        sqlx::query("DELETE FROM roles WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "role.delete",
            &role_target(code),
            &[
                change("code", Some(code), None),
                change("label", Some(&old.label), None),
                change(
                    "permissions",
                    Some(&permissions_text(&old.permissions)),
                    None,
                ),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- groups ------------------------------------------------------------

    pub async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let codes: Vec<String> =
            sqlx::query_scalar("SELECT code FROM groups ORDER BY label COLLATE NOCASE, code")
                .fetch_all(&mut *tx)
                .await?;
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            out.push(group_in(&mut tx, &code).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_group(&self, code: &str) -> Result<Group, StoreError> {
        let mut tx = self.pool.begin().await?;
        let group = group_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn create_group(
        &self,
        acting: &Acting<'_>,
        code: &str,
        label: &str,
        grants: &[CategoryGrant],
    ) -> Result<Group, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        ensure_code_free(&mut tx, "groups", "group", code).await?;
        let rows = grant_rows(&mut tx, grants).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO groups (code, label, created_at, updated_at) VALUES ($1, $2, $3, $3)
             RETURNING id",
        )
        .bind(code)
        .bind(label)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        write_grants(&mut tx, id, &rows).await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "group.create",
            &group_target(code),
            &[
                change("code", None, Some(code)),
                change("label", None, Some(label)),
                change("permissions", None, Some(&grants_text(grants))),
            ],
        )
        .await?;
        let group = group_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn update_group(
        &self,
        acting: &Acting<'_>,
        code: &str,
        label: Option<&str>,
        grants: Option<&[CategoryGrant]>,
        expected_version: Option<u64>,
    ) -> Result<Group, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = group_in(&mut tx, code).await?;
        check_version("group", code, expected_version, old.version)?;
        let new_label = label.unwrap_or(&old.label);
        let mut changes = Vec::new();
        if new_label != old.label {
            changes.push(change("label", Some(&old.label), Some(new_label)));
        }
        let mut new_grants = None;
        if let Some(grants) = grants.filter(|g| *g != old.permissions.as_slice()) {
            if old.everything {
                return Err(invalid(
                    "permissions",
                    format!(
                        "{code:?} grants edit on every category, also those created later; its permissions cannot be changed: create a group to restrict a connection"
                    ),
                ));
            }
            new_grants = Some(grant_rows(&mut tx, grants).await?);
            changes.push(change(
                "permissions",
                Some(&grants_text(&old.permissions)),
                Some(&grants_text(grants)),
            ));
        }
        if changes.is_empty() {
            tx.commit().await?;
            return Ok(old);
        }
        let id: i64 = sqlx::query_scalar(
            "UPDATE groups SET label = $1, version = version + 1, updated_at = $2 WHERE code = $3
             RETURNING id",
        )
        .bind(new_label)
        .bind(self.now_millis())
        .bind(code)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(rows) = new_grants {
            write_grants(&mut tx, id, &rows).await?;
        }
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "group.update",
            &group_target(code),
            &changes,
        )
        .await?;
        let group = group_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn delete_group(&self, acting: &Acting<'_>, code: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = group_in(&mut tx, code).await?;
        refuse_delete(
            "group",
            code,
            old.default,
            &old.connections,
            "put them in another group first",
        )?;
        sqlx::query("DELETE FROM groups WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await?;
        bump_catalog(&mut tx).await?;
        self.audit_in(
            &mut tx,
            acting,
            "group.delete",
            &group_target(code),
            &[
                change("code", Some(code), None),
                change("label", Some(&old.label), None),
                change("permissions", Some(&grants_text(&old.permissions)), None),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- categories --------------------------------------------------------

    /// Every category, parents before their children, siblings by code.
    pub async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.code, c.label, p.code AS parent, c.version, c.created_at, c.updated_at
             FROM categories c LEFT JOIN categories p ON p.id = c.parent_id ORDER BY c.code",
        )
        .fetch_all(&self.pool)
        .await?;
        let all = rows
            .iter()
            .map(category_from_row)
            .collect::<Result<Vec<_>, _>>()?;
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
        let mut tx = self.pool.begin().await?;
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
                let id: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM categories WHERE code = $1")
                        .bind(p)
                        .fetch_optional(&mut *tx)
                        .await?;
                Some(id.ok_or_else(|| {
                    invalid("parent", format!("parent category {p:?} does not exist"))
                })?)
            }
        };
        sqlx::query(
            "INSERT INTO categories (code, label, parent_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(code)
        .bind(label)
        .bind(parent_id)
        .bind(now)
        .execute(&mut *tx)
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
            sqlx::query(
                "UPDATE categories SET label = $1, version = version + 1, updated_at = $2
                 WHERE code = $3",
            )
            .bind(label)
            .bind(self.now_millis())
            .bind(code)
            .execute(&mut *tx)
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
        let children: Vec<String> = sqlx::query_scalar(
            "SELECT c.code FROM categories c JOIN categories p ON p.id = c.parent_id
             WHERE p.code = $1 ORDER BY c.code",
        )
        .bind(code)
        .fetch_all(&mut *tx)
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
        let products: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM products p
             WHERE EXISTS (SELECT 1 FROM json_each(p.categories) j WHERE j.value = $1)",
        )
        .bind(code)
        .fetch_one(&mut *tx)
        .await?;
        if products > 0 {
            return Err(conflict(
                "category",
                format!(
                    "category {code:?} classifies {products} product(s): take them out of it first"
                ),
            ));
        }
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT g.code FROM group_grants gg JOIN groups g ON g.id = gg.group_id
             JOIN categories c ON c.id = gg.category_id WHERE c.code = $1 ORDER BY g.code",
        )
        .bind(code)
        .fetch_all(&mut *tx)
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
        sqlx::query("DELETE FROM categories WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
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

    // ----- products ----------------------------------------------------------

    /// Creates or changes one product in one transaction: `decide` gets the
    /// stored product (if any) and returns the product to store, or its
    /// refusal. Categories that do not exist (any more) are refused.
    pub async fn write_product<E: From<StoreError>>(
        &self,
        identifier: &str,
        decide: impl FnOnce(Option<StoredProduct>) -> Result<StoredProduct, E>,
    ) -> Result<ProductWrite, E> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT identifier, enabled, family, categories, attribute_values, created_at, updated_at
             FROM products WHERE identifier = $1",
        )
        .bind(identifier)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let current = row
            .map(|r| stored_from_row(&r))
            .transpose()
            .map_err(StoreError::from)?;
        let existed = current.is_some();
        let mut product = decide(current)?;
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM json_each($1) j JOIN categories c ON c.code = j.value",
        )
        .bind(categories_json(&product.categories))
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if known != product.categories.len() as i64 {
            return Err(invalid(
                "categories",
                "a category of the product was deleted meanwhile; try again".to_string(),
            )
            .into());
        }
        let now = self.now_millis();
        product.updated_ms = now;
        let values = serde_json::to_string(&product.values).expect("values serialise");
        if existed {
            sqlx::query(
                "UPDATE products SET enabled = $2, family = $3, categories = $4,
                     attribute_values = $5, updated_at = $6
                 WHERE identifier = $1",
            )
            .bind(&product.identifier)
            .bind(product.enabled)
            .bind(&product.family)
            .bind(categories_json(&product.categories))
            .bind(&values)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        } else {
            product.created_ms = now;
            sqlx::query(
                "INSERT INTO products
                     (identifier, enabled, family, categories, attribute_values, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&product.identifier)
            .bind(product.enabled)
            .bind(&product.family)
            .bind(categories_json(&product.categories))
            .bind(&values)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(if existed {
            ProductWrite::Updated(product)
        } else {
            ProductWrite::Created(product)
        })
    }

    /// Deletes a product; `allow` sees it first and may refuse.
    pub async fn delete_product<E: From<StoreError>>(
        &self,
        identifier: &str,
        allow: impl FnOnce(&StoredProduct) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT identifier, enabled, family, categories, attribute_values, created_at, updated_at
             FROM products WHERE identifier = $1",
        )
        .bind(identifier)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound.into());
        };
        let current = stored_from_row(&row).map_err(StoreError::from)?;
        allow(&current)?;
        sqlx::query("DELETE FROM products WHERE identifier = $1")
            .bind(identifier)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Inserts products that do not exist yet (the demo workspace), in one
    /// transaction; returns how many were new. `age_days` gives each a past.
    pub async fn insert_products(
        &self,
        products: &[(StoredProduct, u32)],
    ) -> Result<u64, StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let mut created = 0;
        for (p, age_days) in products {
            let created_at = now - i64::from(*age_days) * DAY_MS;
            let updated_at = created_at + (now - created_at) / 2;
            created += sqlx::query(
                "INSERT INTO products
                     (identifier, enabled, family, categories, attribute_values, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (identifier) DO NOTHING",
            )
            .bind(&p.identifier)
            .bind(p.enabled)
            .bind(&p.family)
            .bind(categories_json(&p.categories))
            .bind(serde_json::to_string(&p.values).expect("values serialise"))
            .bind(created_at)
            .bind(updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(created)
    }
}

fn stored_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<StoredProduct, sqlx::Error> {
    let categories: String = r.try_get("categories")?;
    let values: String = r.try_get("attribute_values")?;
    Ok(StoredProduct {
        identifier: r.try_get("identifier")?,
        enabled: r.try_get::<i64, _>("enabled")? == 1,
        family: r.try_get("family")?,
        categories: serde_json::from_str(&categories).unwrap_or_default(),
        values: serde_json::from_str(&values).unwrap_or_default(),
        created_ms: r.try_get("created_at")?,
        updated_ms: r.try_get("updated_at")?,
    })
}

impl Store {
    /// The `catalog_state` version (a primary-key read, inline).
    pub fn catalog_version(&self) -> Result<i64, StoreError> {
        self.fast.catalog_version()
    }

    /// Roles, groups, grants and categories at one version.
    pub fn catalog_rows(&self) -> Result<super::CatalogRows, StoreError> {
        self.fast.catalog_rows()
    }

    /// One product by identifier as of the products' version `version`
    /// (read with the request's token) or later: kept in memory while no
    /// product changes, else a primary-key read, inline.
    pub fn product(
        &self,
        identifier: &str,
        version: i64,
    ) -> Result<Option<Arc<ProductRow>>, StoreError> {
        if let Some(kept) = self.products.get(identifier, version) {
            return Ok(Some(kept));
        }
        let (read_at, found) = self.fast.product(identifier)?;
        Ok(found.map(|p| {
            let p = Arc::new(p);
            self.products.put(read_at, Arc::clone(&p));
            p
        }))
    }

    /// A page of products (off the async workers: it may decode 100 rows).
    pub async fn products(
        &self,
        query: super::ProductQuery,
    ) -> Result<(Vec<ProductRow>, Option<u64>), StoreError> {
        let fast = std::sync::Arc::clone(&self.fast);
        tokio::task::spawn_blocking(move || fast.products(&query))
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::WorkerCrashed))?
    }
}
