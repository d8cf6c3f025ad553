//! Connections (R1–R9): the account's quota, the list, one connection's
//! record, its creation with credentials, changes and deletion.

use std::sync::LazyLock;

use secrecy::SecretString;

use super::db::{Dialect, Row, Tx, args};
use super::{
    Acting, ConnectionChange, ConnectionDraft, IssuedCredentials, Store, StoreError, application,
    change, from_millis, integrations, sealed,
};
use crate::domain::application::ValidApplication;
use crate::domain::{self, credentials};
use crate::model::{Connection, FieldChange, FlowType, Quota};

/// What a secret value looks like in an audit record or any read (R26, R28).
use super::MASK;

/// The columns [`connection_from_row`] reads, in its order.
pub(super) const CONNECTION_COLUMNS: &str = "code, label, flow_type, visual, client_id, username, role, grp, \
     created_at, updated_at, version, wrong_credentials_at, last_activity_at, \
     EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = connections.id) AS in_use, \
     app_base_url, app_ping_path, app_auth_kind, app_auth, \
     app_secret_ciphertext IS NOT NULL AS app_has_secret, offline_since, offline_reason";

/// Where the application's columns ([`application::APP_COLUMNS`]) start in
/// a connection row.
const APP_AT: usize = 14;

/// A connection from a row of `CONNECTION_COLUMNS` (or the list's columns,
/// in the same order): the one decoder of the record.
pub(super) fn connection_from_row(r: &Row<'_>) -> Result<Connection, StoreError> {
    let flow: String = r.get(2)?;
    let offline_since = r.get::<Option<i64>>(APP_AT + 5)?.map(from_millis);
    Ok(Connection {
        code: r.get(0)?,
        label: r.get(1)?,
        flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
        visual: r.get(3)?,
        client_id: r.get(4)?,
        username: r.get(5)?,
        role: r.get(6)?,
        group: r.get(7)?,
        created_at: from_millis(r.get(8)?),
        updated_at: from_millis(r.get(9)?),
        version: r.get::<u64>(10)?.max(1),
        wrong_credentials_at: r.get::<Option<i64>>(11)?.map(from_millis),
        last_activity_at: r.get::<Option<i64>>(12)?.map(from_millis),
        in_use: r.get(13)?,
        stale: false,
        application: application::stored_from_row(r, APP_AT)?.map(|a| a.masked()),
        offline: offline_since.is_some(),
        offline_since,
        offline_reason: r.get(APP_AT + 6)?,
    })
}

pub fn connection_target(code: &str) -> String {
    format!("connection:{code}")
}

/// The audit changes of a connection as created (`created = true`) or deleted.
fn whole_connection_changes(c: &Connection, created: bool) -> Vec<FieldChange> {
    let fields: [(&str, Option<&str>); 9] = [
        ("code", Some(&c.code)),
        ("label", Some(&c.label)),
        ("flow_type", Some(c.flow_type.as_str())),
        ("visual", c.visual.as_deref()),
        ("client_id", Some(&c.client_id)),
        ("secret", Some(MASK)),
        ("username", Some(&c.username)),
        ("password", Some(MASK)),
        ("role", Some(&c.role)),
    ];
    fields
        .into_iter()
        .chain(std::iter::once(("group", Some(c.group.as_str()))))
        .filter(|(_, v)| v.is_some())
        .map(|(f, v)| {
            if created {
                change(f, None, v)
            } else {
                change(f, v, None)
            }
        })
        .collect()
}

/// Which connections the list holds: all of them, or those a member sees
/// (`$1`: a member's username; NULL: all; R18: registered with an
/// integration they have access to), or the stale ones (`$2`, R16b: used by
/// no step and without activity since then; NULL: all), or the offline
/// ones (the parameter `offline`, R27; NULL: all). A member's filter is
/// a correlated EXISTS on the connection's registrations, which stops at the
/// first one the member sees; the scan follows the list order's index, so no
/// sort.
///
/// On PostgreSQL the member's filter is an `IN` over the set of connections
/// registered with their integrations, which PostgreSQL hashes once: its
/// per-row correlated subquery cost ten times SQLite's.
fn list_where(d: Dialect, offline: &str) -> String {
    let member = match d {
        Dialect::Sqlite => {
            "EXISTS (
             SELECT 1 FROM registrations r
             JOIN integration_access a ON a.integration_id = r.integration_id
             WHERE r.connection_id = c.id AND r.active = 1
               AND a.user_id = (SELECT id FROM users WHERE username = $1))"
        }
        Dialect::Postgres => {
            "c.id IN (
             SELECT r.connection_id FROM registrations r
             JOIN integration_access a ON a.integration_id = r.integration_id
             WHERE r.active = 1
               AND a.user_id = (SELECT id FROM users WHERE username = $1))"
        }
    };
    format!(
        "FROM connections c
     WHERE ($1 IS NULL OR {member})
       AND ($2 IS NULL OR (
             NOT EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = c.id)
             AND {} < $2))
       AND ({offline} IS NULL OR c.offline_since IS NOT NULL)",
        d.greatest("c.created_at", "COALESCE(c.last_activity_at, 0)")
    )
}

/// One window of the list, in list order (`$3` rows from `$4`), and how
/// many rows the whole list has; per engine.
struct ListSql {
    list: String,
    count: String,
}

fn list_sql(d: Dialect) -> &'static ListSql {
    fn make(d: Dialect) -> ListSql {
        ListSql {
            list: format!(
                "SELECT code, label, flow_type, visual, client_id, username, role, grp,
                    created_at, updated_at, version, wrong_credentials_at, last_activity_at,
                    EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = c.id) AS in_use,
                    {}
                 {} ORDER BY label_key, code LIMIT $3 OFFSET $4",
                application::APP_COLUMNS,
                list_where(d, "$5")
            ),
            count: format!("SELECT COUNT(*) {}", list_where(d, "$3")),
        }
    }
    static LITE: LazyLock<ListSql> = LazyLock::new(|| make(Dialect::Sqlite));
    static PG: LazyLock<ListSql> = LazyLock::new(|| make(Dialect::Postgres));
    match d {
        Dialect::Sqlite => &LITE,
        Dialect::Postgres => &PG,
    }
}

impl Store {
    // ----- account -----------------------------------------------------------

    pub async fn quota(&self) -> Result<Quota, StoreError> {
        let (max, count) = self
            .db
            .one(
                "SELECT max_connections, connection_count FROM account WHERE id = 1",
                args![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        Ok(quota_of(max, count))
    }

    pub async fn set_max_connections(
        &self,
        acting: &Acting<'_>,
        max: u64,
    ) -> Result<Quota, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let mut tx = self.write_tx().await?;
        let old: i64 = tx
            .one(
                "SELECT max_connections FROM account WHERE id = 1",
                args![],
                |r| r.get(0),
            )
            .await?;
        if old != max {
            tx.exec(
                "UPDATE account SET max_connections = $1 WHERE id = 1",
                args![max],
            )
            .await?;
            self.audit_in(
                &mut tx,
                acting,
                "account.update",
                "account",
                &[change(
                    "max_connections",
                    Some(&old.to_string()),
                    Some(&max.to_string()),
                )],
            )
            .await?;
        }
        let count: i64 = tx
            .one(
                "SELECT connection_count FROM account WHERE id = 1",
                args![],
                |r| r.get(0),
            )
            .await?;
        tx.commit().await?;
        Ok(quota_of(max, count))
    }

    // ----- connections -------------------------------------------------------

    /// A page of connections in list order, and how many there are in all.
    /// `limit: None` reads to the end.
    pub async fn list_connections(
        &self,
        offset: u64,
        limit: Option<u64>,
    ) -> Result<(Vec<Connection>, u64), StoreError> {
        self.list_connections_for(offset, limit, None, None).await
    }

    /// A page of the connections `member` may see (R18: registered with an
    /// integration they have access to), or of all when `member` is `None`;
    /// with `stale_before`, only those used by no step and without activity
    /// since then (R16b).
    pub async fn list_connections_for(
        &self,
        offset: u64,
        limit: Option<u64>,
        member: Option<&str>,
        stale_before: Option<i64>,
    ) -> Result<(Vec<Connection>, u64), StoreError> {
        self.list_connections_where(offset, limit, member, stale_before, false)
            .await
    }

    /// As [`Store::list_connections_for`]; `offline_only` keeps the
    /// connections marked offline (R27).
    pub async fn list_connections_where(
        &self,
        offset: u64,
        limit: Option<u64>,
        member: Option<&str>,
        stale_before: Option<i64>,
        offline_only: bool,
    ) -> Result<(Vec<Connection>, u64), StoreError> {
        let offline = offline_only.then_some(1i64);
        let limit = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let sql = list_sql(self.dialect());
        // The window and the count in one snapshot. Only the window's rows
        // are read from the table: the count walks an index, so a first
        // page costs the same however many connections there are.
        let mut tx = self.read_tx().await?;
        let items = tx
            .rows(
                &sql.list,
                args![member, stale_before, limit, offset, offline],
                connection_from_row,
            )
            .await?;
        // The whole list read: its length is the total (no second pass of
        // the filter). A window: count in the same snapshot.
        let whole = offset == 0 && (items.len() as u64) < u64::try_from(limit).unwrap_or(0);
        let total: i64 = if whole {
            i64::try_from(items.len()).unwrap_or(i64::MAX)
        } else if member.is_none() && stale_before.is_none() && offline.is_none() {
            tx.one("SELECT COUNT(*) FROM connections", args![], |r| r.get(0))
                .await?
        } else {
            tx.one(&sql.count, args![member, stale_before, offline], |r| {
                r.get(0)
            })
            .await?
        };
        tx.commit().await?;
        Ok((items, u64::try_from(total).unwrap_or(0)))
    }

    pub async fn get_connection(&self, code: &str) -> Result<Connection, StoreError> {
        self.db
            .one(
                &format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE code = $1"),
                args![code],
                connection_from_row,
            )
            .await
    }

    /// Creates one connection and its credentials in one transaction,
    /// checking the quota atomically (R2, R3, R4).
    pub async fn create_connection(
        &self,
        acting: &Acting<'_>,
        draft: &ConnectionDraft,
    ) -> Result<(Connection, IssuedCredentials), StoreError> {
        self.create_connection_in(acting, draft, None).await
    }

    /// Creates a connection, registered at once with `integration` when
    /// given (R13), in one transaction.
    pub async fn create_connection_in(
        &self,
        acting: &Acting<'_>,
        draft: &ConnectionDraft,
        integration: Option<&str>,
    ) -> Result<(Connection, IssuedCredentials), StoreError> {
        self.create_connection_with(acting, draft, integration, None)
            .await
    }

    /// As [`Store::create_connection_in`], with the application side
    /// (R26), its secret value encrypted, in the same transaction.
    pub async fn create_connection_with(
        &self,
        acting: &Acting<'_>,
        draft: &ConnectionDraft,
        integration: Option<&str>,
        app: Option<&ValidApplication>,
    ) -> Result<(Connection, IssuedCredentials), StoreError> {
        let mut tx = self.write_tx().await?;
        let (conn, creds) = self.insert_in(&mut tx, acting, draft, app).await?;
        if let Some(integration) = integration {
            self.register_created_in(&mut tx, acting, integration, &conn.code)
                .await?;
        }
        tx.commit().await?;
        Ok((conn, creds))
    }

    /// Inserts many connections in one transaction (the demo workspace). The
    /// credentials are generated as usual; nobody sees the passwords, which
    /// can be regenerated later. Refused unless the workspace is empty.
    pub async fn insert_into_empty(
        &self,
        acting: &Acting<'_>,
        drafts: &[ConnectionDraft],
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let count: i64 = tx
            .one("SELECT COUNT(*) FROM connections", args![], |r| r.get(0))
            .await?;
        if count > 0 {
            return Err(StoreError::Conflict {
                field: "workspace",
                message: format!(
                    "the demo workspace loads only into an empty workspace; this one holds {count} connection(s)"
                ),
            });
        }
        for draft in drafts {
            self.insert_in(&mut tx, acting, draft, None).await?;
        }
        tx.commit().await?;
        Ok(drafts.len() as u64)
    }

    /// Gives a demo connection a past: created `created_days_ago`, last
    /// used by the Web API `active_days_ago` (or never). Only for the demo
    /// workspace, so that the stale flag (R16b) has something to show.
    pub async fn set_demo_history(
        &self,
        code: &str,
        created_days_ago: u32,
        active_days_ago: Option<u32>,
    ) -> Result<(), StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let now = self.now_millis();
        let created = now - i64::from(created_days_ago) * DAY_MS;
        let active = active_days_ago.map(|d| now - i64::from(d) * DAY_MS);
        let done = self
            .db
            .exec(
                "UPDATE connections SET created_at = $2, last_activity_at = $3 WHERE code = $1",
                args![code, created, active],
            )
            .await?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn insert_in(
        &self,
        tx: &mut Tx,
        acting: &Acting<'_>,
        draft: &ConnectionDraft,
        app: Option<&ValidApplication>,
    ) -> Result<(Connection, IssuedCredentials), StoreError> {
        self.keys_current_in(tx).await?;
        // R2: one conditional UPDATE; concurrent creators serialise on it.
        let taken = tx
            .exec(
                "UPDATE account SET connection_count = connection_count + 1
             WHERE id = 1 AND (max_connections = 0 OR connection_count < max_connections)",
                args![],
            )
            .await?;
        if taken == 0 {
            let max: i64 = tx
                .one(
                    "SELECT max_connections FROM account WHERE id = 1",
                    args![],
                    |r| r.get(0),
                )
                .await?;
            return Err(StoreError::QuotaReached {
                max: u64::try_from(max).unwrap_or(0),
            });
        }
        let exists: Option<i64> = tx
            .opt(
                "SELECT id FROM connections WHERE code = $1",
                args![&draft.code],
                |r| r.get(0),
            )
            .await?;
        if exists.is_some() {
            return Err(code_taken(&draft.code));
        }
        let mut username = credentials::new_username(&draft.code);
        for _ in 0..50 {
            let clash: Option<i64> = tx
                .opt(
                    "SELECT id FROM connections WHERE username = $1",
                    args![&username],
                    |r| r.get(0),
                )
                .await?;
            if clash.is_none() {
                break;
            }
            username = credentials::new_username(&draft.code);
        }
        let client_id = credentials::new_client_id();
        let secret = credentials::new_secret();
        let password = credentials::new_password();
        let now = self.now_millis();
        let sealed = self.keys.encrypt(&draft.code, "secret", &secret);
        let mac = self
            .keys
            .mac_hex(secrecy::ExposeSecret::expose_secret(&secret));
        let conn = tx
            .one(
                &format!(
                    "INSERT INTO connections (code, label, label_key, flow_type, visual, client_id,
                         secret_ciphertext, secret_mac, username, password_hash, created_at, updated_at,
                         secret_key_id)
                     VALUES ($1, $2, $11, $3, $4, $5, $6, $7, $8, $9, $10, $10, $12)
                     RETURNING {CONNECTION_COLUMNS}"
                ),
                args![
                    &draft.code,
                    &draft.label,
                    draft.flow_type.as_str(),
                    &draft.visual,
                    &client_id,
                    &sealed.blob,
                    mac,
                    &username,
                    self.keys.hash_password(&password),
                    now,
                    domain::sort_key(&draft.label),
                    i64::from(sealed.key_id)
                ],
                connection_from_row,
            )
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    // Only reachable on a race another engine allows, or a
                    // username clash 50 draws in a row.
                    StoreError::Conflict {
                        field: "code",
                        message: format!(
                            "could not create {:?}: a code, client id or username is already taken; try again",
                            draft.code
                        ),
                    }
                } else {
                    e
                }
            })?;
        let mut changes = whole_connection_changes(&conn, true);
        let conn = match app {
            Some(app) => {
                let none = application::AppRow {
                    stored: None,
                    blob: None,
                    key_id: None,
                };
                let write = self.app_write(&conn.code, &none, Some(app))?;
                self.write_app_in(tx, &conn.code, &write).await?;
                changes.extend(write.changes);
                fetch_for_update(tx, &conn.code).await?
            }
            None => conn,
        };
        self.audit_in(
            tx,
            acting,
            "connection.create",
            &connection_target(&conn.code),
            &changes,
        )
        .await?;
        Ok((conn, IssuedCredentials { secret, password }))
    }

    /// Applies a change; records old and new value of every field that
    /// actually changed. A change that changes nothing writes no record.
    pub async fn update_connection(
        &self,
        acting: &Acting<'_>,
        code: &str,
        change_set: &ConnectionChange,
    ) -> Result<Connection, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = fetch_for_update(&mut tx, code).await?;
        if let Some(expected) = change_set.expected_version
            && expected != old.version
        {
            let last: Option<(String, i64)> = tx
                .opt(
                    "SELECT actor, at FROM audit WHERE target = $1 ORDER BY id DESC LIMIT 1",
                    args![connection_target(code)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .await?;
            let by = match last {
                Some((actor, at)) => format!(
                    " by {actor} at {}",
                    from_millis(at).format("%Y-%m-%d %H:%M:%S UTC")
                ),
                None => String::new(),
            };
            return Err(StoreError::Stale {
                message: format!(
                    "{code} was changed{by} (now version {}, this change was based on version {expected}); reload it and try again",
                    old.version
                ),
            });
        }
        let mut new = old.clone();
        if let Some(label) = &change_set.label {
            new.label = label.clone();
        }
        if let Some(flow) = change_set.flow_type {
            new.flow_type = flow;
        }
        if let Some(visual) = &change_set.visual {
            new.visual = visual.clone();
        }
        if let Some(role) = &change_set.role {
            let exists: Option<i64> = tx
                .opt("SELECT id FROM roles WHERE code = $1", args![role], |r| {
                    r.get(0)
                })
                .await?;
            if exists.is_none() {
                return Err(StoreError::Invalid {
                    field: "role",
                    message: format!("role {role:?} does not exist"),
                });
            }
            new.role = role.clone();
        }
        if let Some(group) = &change_set.group {
            let exists: Option<i64> = tx
                .opt("SELECT id FROM groups WHERE code = $1", args![group], |r| {
                    r.get(0)
                })
                .await?;
            if exists.is_none() {
                return Err(StoreError::Invalid {
                    field: "group",
                    message: format!("group {group:?} does not exist"),
                });
            }
            new.group = group.clone();
        }
        let mut changes = Vec::new();
        let app_write = match &change_set.application {
            None => None,
            Some(app) => {
                if app.as_ref().is_some_and(|a| a.secret.is_some()) {
                    self.keys_current_in(&mut tx).await?;
                }
                let row = application::app_row_in(&mut tx, code).await?;
                let write = self.app_write(code, &row, app.as_ref())?;
                (!write.changes.is_empty()).then_some(write)
            }
        };
        if old.label != new.label {
            changes.push(change("label", Some(&old.label), Some(&new.label)));
        }
        if old.flow_type != new.flow_type {
            changes.push(change(
                "flow_type",
                Some(old.flow_type.as_str()),
                Some(new.flow_type.as_str()),
            ));
        }
        if old.visual != new.visual {
            changes.push(change(
                "visual",
                old.visual.as_deref(),
                new.visual.as_deref(),
            ));
        }
        if old.role != new.role {
            changes.push(change("role", Some(&old.role), Some(&new.role)));
        }
        if old.group != new.group {
            changes.push(change("group", Some(&old.group), Some(&new.group)));
        }
        if let Some(write) = &app_write {
            self.write_app_in(&mut tx, code, write).await?;
            changes.extend(write.changes.iter().cloned());
        }
        if changes.is_empty() {
            tx.commit().await?;
            return Ok(old);
        }
        let updated = tx
            .one(
                &format!(
                    "UPDATE connections SET label = $1, label_key = $6, flow_type = $2, visual = $3,
                         role = $7, grp = $8, updated_at = $4, version = version + 1
                     WHERE code = $5 RETURNING {CONNECTION_COLUMNS}"
                ),
                args![
                    &new.label,
                    new.flow_type.as_str(),
                    &new.visual,
                    self.now_millis(),
                    code,
                    domain::sort_key(&new.label),
                    &new.role,
                    &new.group
                ],
                connection_from_row,
            )
            .await?;
        self.audit_in(
            &mut tx,
            acting,
            "connection.update",
            &connection_target(code),
            &changes,
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes a connection with its credentials (R8), in one transaction.
    /// Checks that refuse a delete (the in-use guard of R8/R16) run inside
    /// this transaction, before the row goes.
    pub async fn delete_connection(
        &self,
        acting: &Acting<'_>,
        code: &str,
    ) -> Result<Connection, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = fetch_for_update(&mut tx, code).await?;
        let old_app = application::app_row_in(&mut tx, code).await?;
        let used_by = integrations::used_by_in(&mut tx, code).await?;
        if !used_by.is_empty() {
            let list = used_by
                .iter()
                .map(|u| match &u.integration {
                    Some(i) => format!(
                        "{} step {} of flow {} ({i})",
                        u.kind.as_str(),
                        u.position + 1,
                        u.flow
                    ),
                    None => format!(
                        "{} step {} of standalone flow {}",
                        u.kind.as_str(),
                        u.position + 1,
                        u.flow
                    ),
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(StoreError::InUse {
                message: format!(
                    "connection {code:?} is in use and cannot be deleted: {list}. Replace it in those steps first"
                ),
                used_by,
            });
        }
        // Tokens, registrations and monitoring rows go with it (cascade).
        let id: Option<i64> = tx
            .opt(
                "DELETE FROM connections WHERE code = $1 RETURNING id",
                args![code],
                |r| r.get(0),
            )
            .await?;
        tx.exec(
            "UPDATE account SET connection_count = connection_count - 1
             WHERE id = 1 AND connection_count > 0",
            args![],
        )
        .await?;
        self.audit_in(
            &mut tx,
            acting,
            "connection.delete",
            &connection_target(code),
            &whole_connection_changes(&old, false)
                .into_iter()
                .chain(self.app_write(code, &old_app, None)?.changes)
                .collect::<Vec<_>>(),
        )
        .await?;
        tx.commit().await?;
        if let (Some(id), Some(monitor)) = (id, self.monitor.get()) {
            monitor.forget(id);
        }
        Ok(old)
    }

    /// The stored secret, decrypted (R5).
    pub async fn secret_of(&self, code: &str) -> Result<SecretString, StoreError> {
        let row: Option<(Vec<u8>, i64)> = self
            .db
            .opt(
                "SELECT secret_ciphertext, secret_key_id FROM connections WHERE code = $1",
                args![code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        let (blob, key_id) = row.ok_or(StoreError::NotFound)?;
        Ok(self.keys.decrypt(code, "secret", &sealed(blob, key_id))?)
    }

    /// Whether `password` is the connection's current password (R4).
    pub async fn check_password(&self, code: &str, password: &str) -> Result<bool, StoreError> {
        let stored: Option<String> = self
            .db
            .opt(
                "SELECT password_hash FROM connections WHERE code = $1",
                args![code],
                |r| r.get(0),
            )
            .await?;
        let stored = stored.ok_or(StoreError::NotFound)?;
        Ok(self.keys.verify_password(password, &stored))
    }
}

async fn fetch_for_update(tx: &mut Tx, code: &str) -> Result<Connection, StoreError> {
    tx.one(
        &format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE code = $1"),
        args![code],
        connection_from_row,
    )
    .await
}

fn code_taken(code: &str) -> StoreError {
    StoreError::Conflict {
        field: "code",
        message: format!("code {code:?} is already taken by another connection"),
    }
}

fn quota_of(max: i64, count: i64) -> Quota {
    let max = u64::try_from(max).unwrap_or(0);
    let count = u64::try_from(count).unwrap_or(0);
    Quota {
        count,
        max_connections: max,
        reached: max != 0 && count >= max,
    }
}
