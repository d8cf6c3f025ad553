//! Roles (R10) and groups (R11) with their category grants, and the
//! catalog's version. Each change of a role, a group or the category tree
//! is one transaction with its audit record, and bumps
//! `catalog_state.version` so that every server instance drops what it
//! cached of them before the next Web API request.

use super::db::{Tx, args};
use super::{Acting, Store, StoreError, change, conflict, ensure_code_free, from_millis};
use crate::model::{
    CategoryGrant, CategoryLevel, DEFAULT_GROUP, DEFAULT_ROLE, Group, Permission, Role,
};

pub fn role_target(code: &str) -> String {
    format!("role:{code}")
}

pub fn group_target(code: &str) -> String {
    format!("group:{code}")
}

/// Everything the Web API checks a request against: roles, groups, their
/// grants and the category tree, at one `catalog_state` version.
#[derive(Debug, Clone, Default)]
pub struct CatalogRows {
    pub version: i64,
    pub roles: Vec<(String, Vec<Permission>)>,
    /// Code and whether it grants everything.
    pub groups: Vec<(String, bool)>,
    /// Group code, category code, level.
    pub grants: Vec<(String, String, CategoryLevel)>,
    /// Category code and its parent's code.
    pub categories: Vec<(String, Option<String>)>,
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

/// A 422 naming the field: a value names something that does not exist.
pub(super) fn invalid(field: &'static str, message: String) -> StoreError {
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

/// Makes every server instance drop what it cached of roles, groups and
/// categories before its next Web API request.
pub(super) async fn bump_catalog(tx: &mut Tx) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE catalog_state SET version = version + 1 WHERE id = 1",
        args![],
    )
    .await?;
    Ok(())
}

/// The codes of the connections whose `column` (role or grp) is `code`.
async fn users_of(tx: &mut Tx, column: &str, code: &str) -> Result<Vec<String>, StoreError> {
    let sql = format!("SELECT code FROM connections WHERE {column} = $1 ORDER BY code");
    tx.rows(&sql, args![code], |r| r.get(0)).await
}

async fn role_in(tx: &mut Tx, code: &str) -> Result<Role, StoreError> {
    let mut role = tx
        .opt(
            "SELECT code, label, permissions, version, created_at, updated_at FROM roles
             WHERE code = $1",
            args![code],
            |r| {
                let code: String = r.get("code")?;
                let permissions: String = r.get("permissions")?;
                Ok(Role {
                    default: code == DEFAULT_ROLE,
                    label: r.get("label")?,
                    permissions: parse_permissions(&permissions),
                    connection_count: 0,
                    connections: Vec::new(),
                    version: u64::try_from(r.get::<i64>("version")?).unwrap_or(1),
                    created_at: from_millis(r.get("created_at")?),
                    updated_at: from_millis(r.get("updated_at")?),
                    code,
                })
            },
        )
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "role",
            code: code.to_string(),
        })?;
    role.connections = users_of(tx, "role", code).await?;
    role.connection_count = role.connections.len() as u64;
    Ok(role)
}

async fn group_in(tx: &mut Tx, code: &str) -> Result<Group, StoreError> {
    let (id, mut group) = tx
        .opt(
            "SELECT id, code, label, everything, version, created_at, updated_at FROM groups
             WHERE code = $1",
            args![code],
            |r| {
                let code: String = r.get("code")?;
                let id: i64 = r.get("id")?;
                Ok((
                    id,
                    Group {
                        default: code == DEFAULT_GROUP,
                        label: r.get("label")?,
                        everything: r.get::<i64>("everything")? == 1,
                        permissions: Vec::new(),
                        connection_count: 0,
                        connections: Vec::new(),
                        version: u64::try_from(r.get::<i64>("version")?).unwrap_or(1),
                        created_at: from_millis(r.get("created_at")?),
                        updated_at: from_millis(r.get("updated_at")?),
                        code,
                    },
                ))
            },
        )
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "group",
            code: code.to_string(),
        })?;
    group.permissions = tx
        .rows(
            "SELECT c.code, g.level FROM group_grants g JOIN categories c ON c.id = g.category_id
             WHERE g.group_id = $1 ORDER BY c.code",
            args![id],
            |r| {
                let level: String = r.get(1)?;
                Ok(CategoryGrant {
                    category: r.get(0)?,
                    level: CategoryLevel::parse(&level).unwrap_or(CategoryLevel::View),
                })
            },
        )
        .await?;
    group.connections = users_of(tx, "grp", code).await?;
    group.connection_count = group.connections.len() as u64;
    Ok(group)
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
    tx: &mut Tx,
    grants: &[CategoryGrant],
) -> Result<Vec<(i64, CategoryLevel)>, StoreError> {
    let mut out = Vec::with_capacity(grants.len());
    for g in grants {
        let id: Option<i64> = tx
            .opt(
                "SELECT id FROM categories WHERE code = $1",
                args![&g.category],
                |r| r.get(0),
            )
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
    tx: &mut Tx,
    group_id: i64,
    grants: &[(i64, CategoryLevel)],
) -> Result<(), StoreError> {
    tx.exec(
        "DELETE FROM group_grants WHERE group_id = $1",
        args![group_id],
    )
    .await?;
    for (category_id, level) in grants {
        tx.exec(
            "INSERT INTO group_grants (group_id, category_id, level) VALUES ($1, $2, $3)",
            args![group_id, *category_id, level.as_str()],
        )
        .await?;
    }
    Ok(())
}

impl Store {
    // ----- roles -------------------------------------------------------------

    pub async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        self.list_by_label("roles", async |tx, code| role_in(tx, code).await)
            .await
    }

    pub async fn get_role(&self, code: &str) -> Result<Role, StoreError> {
        let mut tx = self.read_tx().await?;
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
        tx.exec(
            "INSERT INTO roles (code, label, permissions, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
            args![code, label, permissions_json(permissions), now],
        )
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
        tx.exec(
            "UPDATE roles SET label = $1, permissions = $2, version = version + 1, updated_at = $3
             WHERE code = $4",
            args![
                new_label,
                permissions_json(new_permissions),
                self.now_millis(),
                code
            ],
        )
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
        tx.exec("DELETE FROM roles WHERE code = $1", args![code])
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
        self.list_by_label("groups", async |tx, code| group_in(tx, code).await)
            .await
    }

    /// Every record of `table` (roles or groups: a name from this module),
    /// in label order, each read by `one`, in one snapshot.
    async fn list_by_label<T>(
        &self,
        table: &'static str,
        one: impl AsyncFn(&mut Tx, &str) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut tx = self.read_tx().await?;
        let codes: Vec<String> = tx
            .rows(
                &format!("SELECT code FROM {table} ORDER BY lower(label), code"),
                args![],
                |r| r.get(0),
            )
            .await?;
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            out.push(one(&mut tx, &code).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_group(&self, code: &str) -> Result<Group, StoreError> {
        let mut tx = self.read_tx().await?;
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
        let id: i64 = tx
            .one(
                "INSERT INTO groups (code, label, created_at, updated_at) VALUES ($1, $2, $3, $3)
                 RETURNING id",
                args![code, label, now],
                |r| r.get(0),
            )
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
        let id: i64 = tx
            .one(
                "UPDATE groups SET label = $1, version = version + 1, updated_at = $2 WHERE code = $3
                 RETURNING id",
                args![new_label, self.now_millis(), code],
                |r| r.get(0),
            )
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
        tx.exec("DELETE FROM groups WHERE code = $1", args![code])
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

    // ----- the catalog as the Web API checks it ------------------------------

    /// The `catalog_state` version: what the cached roles and groups must
    /// match (a primary-key read).
    pub async fn catalog_version(&self) -> Result<i64, StoreError> {
        self.db
            .one(
                "SELECT version FROM catalog_state WHERE id = 1",
                args![],
                |r| r.get(0),
            )
            .await
    }

    /// Roles, groups, grants and categories, read in one snapshot (at one
    /// version).
    pub async fn catalog_rows(&self) -> Result<CatalogRows, StoreError> {
        let mut tx = self.read_tx().await?;
        let version: i64 = tx
            .one(
                "SELECT version FROM catalog_state WHERE id = 1",
                args![],
                |r| r.get(0),
            )
            .await?;
        let roles = tx
            .rows("SELECT code, permissions FROM roles", args![], |r| {
                let json: String = r.get(1)?;
                Ok((r.get(0)?, parse_permissions(&json)))
            })
            .await?;
        let groups = tx
            .rows("SELECT code, everything FROM groups", args![], |r| {
                Ok((r.get(0)?, r.get::<i64>(1)? == 1))
            })
            .await?;
        let grants = tx
            .rows(
                "SELECT g.code, c.code, gg.level FROM group_grants gg
                 JOIN groups g ON g.id = gg.group_id JOIN categories c ON c.id = gg.category_id",
                args![],
                |r| {
                    let level: String = r.get(2)?;
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        CategoryLevel::parse(&level).unwrap_or(CategoryLevel::View),
                    ))
                },
            )
            .await?;
        let categories = tx
            .rows(
                "SELECT c.code, p.code FROM categories c LEFT JOIN categories p ON p.id = c.parent_id",
                args![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        tx.commit().await?;
        Ok(CatalogRows {
            version,
            roles,
            groups,
            grants,
            categories,
        })
    }
}
