//! The hot reads of a served backend (a session's user, one connection) on
//! read-only SQLite connections, run inline. A primary-key lookup takes a few
//! microseconds in SQLite itself; through the async driver's worker thread it
//! costs about 25 µs, which made an authenticated GET six times slower than a
//! bare handler. Writes and large reads stay on the async pool.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection as Sqlite, OpenFlags, OptionalExtension};

use super::creds::{ClientRow, TokenRow, client_failure_key};
use super::{CONNECTION_COLUMNS, StoreError, from_millis};
use crate::model::{Connection, FlowType, User, UserKind};

pub struct FastReads {
    conns: Vec<Mutex<Sqlite>>,
    next: AtomicUsize,
}

/// Which rows of a list to return: all from `offset`, or `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub offset: u64,
    pub limit: Option<u64>,
}

/// The connection list (R18, R16b): `?1` a member's username (NULL: all),
/// `?2` the stale cut-off (NULL: all). A member's filter is a correlated
/// EXISTS on the connection's registrations, which stops at the first one
/// the member sees; the scan follows the list order's index, so no sort.
const LIST_SQL: &str = "SELECT code, label, flow_type, visual, client_id, username, role, grp,
        created_at, updated_at, version, wrong_credentials_at, last_activity_at,
        EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = c.id) AS in_use
     FROM connections c
     WHERE (?1 IS NULL OR EXISTS (
             SELECT 1 FROM registrations r
             JOIN integration_access a ON a.integration_id = r.integration_id
             WHERE r.connection_id = c.id AND r.active = 1
               AND a.user_id = (SELECT id FROM users WHERE username = ?1)))
       AND (?2 IS NULL OR (
             NOT EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = c.id)
             AND MAX(c.created_at, COALESCE(c.last_activity_at, 0)) < ?2))
     ORDER BY label_key, code";

/// A session row: its user and when it was last seen.
pub struct SessionRow {
    pub user: User,
    pub last_seen_ms: i64,
}

impl FastReads {
    /// Opens `n` read-only connections to the database file.
    pub fn open(path: &Path, n: usize) -> Result<FastReads, StoreError> {
        let conns = (0..n.max(1))
            .map(|_| {
                let c = Sqlite::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, rusqlite::Error>>()?;
        Ok(FastReads {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs a read on a free connection (or waits briefly for one).
    fn with<R>(&self, f: impl FnOnce(&Sqlite) -> rusqlite::Result<R>) -> Result<R, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            if let Ok(conn) = self.conns[(start + i) % n].try_lock() {
                return Ok(f(&conn)?);
            }
        }
        let conn = self.conns[start % n]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(f(&conn)?)
    }

    pub fn connection(&self, code: &str) -> Result<Option<Connection>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE code = ?1"
            ))?
            .query_row([code], connection_from_row)
            .optional()
        })
    }

    /// The window of the connection list and how many rows the whole list
    /// has, from one statement (one snapshot): rows outside the window are
    /// stepped over, not decoded.
    pub fn connections(
        &self,
        window: Window,
        member: Option<&str>,
        stale_before: Option<i64>,
    ) -> Result<(Vec<Connection>, u64), StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(LIST_SQL)?;
            let mut rows = stmt.query(rusqlite::params![member, stale_before])?;
            let end = window
                .limit
                .map_or(u64::MAX, |l| window.offset.saturating_add(l));
            let mut items = Vec::new();
            let mut total = 0u64;
            while let Some(row) = rows.next()? {
                if total >= window.offset && total < end {
                    items.push(connection_from_row(row)?);
                }
                total += 1;
            }
            Ok((items, total))
        })
    }

    pub fn session(&self, digest: &str) -> Result<Option<SessionRow>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT s.last_seen_at, u.username, u.kind, u.password_hash, u.version, u.created_at
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_digest = ?1",
            )?
            .query_row([digest], |r| {
                let kind: String = r.get("kind")?;
                let hash: Option<String> = r.get("password_hash")?;
                Ok(SessionRow {
                    last_seen_ms: r.get("last_seen_at")?,
                    user: User {
                        username: r.get("username")?,
                        kind: UserKind::parse(&kind).unwrap_or(UserKind::Member),
                        can_log_in: hash.is_some(),
                        version: u64::try_from(r.get::<_, i64>("version")?).unwrap_or(1),
                        created_at: from_millis(r.get("created_at")?),
                    },
                })
            })
            .optional()
        })
    }

    /// A client (by client id) with what the token endpoint checks, and its
    /// failure counter.
    pub fn client(&self, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT c.id, c.code, c.flow_type, c.secret_mac, c.username, c.password_hash,
                        c.credential_version, f.failures, f.locked_until
                 FROM connections c LEFT JOIN login_failures f ON f.key = ?2
                 WHERE c.client_id = ?1",
            )?
            .query_row([client_id, &client_failure_key(client_id)], |r| {
                let flow: String = r.get("flow_type")?;
                Ok(ClientRow {
                    id: r.get("id")?,
                    code: r.get("code")?,
                    flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
                    secret_mac: r.get("secret_mac")?,
                    username: r.get("username")?,
                    password_hash: r.get("password_hash")?,
                    credential_version: r.get("credential_version")?,
                    failures: r.get::<_, Option<i64>>("failures")?.unwrap_or(0),
                    locked_until_ms: r.get::<_, Option<i64>>("locked_until")?.unwrap_or(0),
                })
            })
            .optional()
        })
    }

    /// A token (by id) and its connection.
    pub fn token(&self, id: u64) -> Result<Option<TokenRow>, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        self.with(|c| {
            c.prepare_cached(
                "SELECT t.verifier_mac, t.kind, t.grant_id, t.expires_at,
                        c.id, c.code, c.flow_type, c.role, c.grp
                 FROM tokens t JOIN connections c ON c.id = t.connection_id
                 WHERE t.id = ?1",
            )?
            .query_row([id], |r| {
                let flow: String = r.get("flow_type")?;
                let kind: String = r.get("kind")?;
                Ok(TokenRow {
                    verifier_mac: r.get("verifier_mac")?,
                    refresh: kind == "refresh",
                    grant_id: r.get("grant_id")?,
                    expires_at_ms: r.get("expires_at")?,
                    connection_id: r.get("id")?,
                    code: r.get("code")?,
                    flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
                    role: r.get("role")?,
                    group: r.get("grp")?,
                })
            })
            .optional()
        })
    }
}

/// A connection from a row of `CONNECTION_COLUMNS` (or the list's columns,
/// in the same order).
fn connection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Connection> {
    let flow: String = r.get(2)?;
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
        version: u64::try_from(r.get::<_, i64>(10)?).unwrap_or(1),
        wrong_credentials_at: r.get::<_, Option<i64>>(11)?.map(from_millis),
        last_activity_at: r.get::<_, Option<i64>>(12)?.map(from_millis),
        in_use: r.get(13)?,
        stale: false,
    })
}
