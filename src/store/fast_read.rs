//! The hot reads of a served backend (a session's user, one connection) on
//! read-only SQLite connections, run inline. A primary-key lookup takes a few
//! microseconds in SQLite itself; through the async driver's worker thread it
//! costs about 25 µs, which made an authenticated GET six times slower than a
//! bare handler. Writes and large reads stay on the async pool.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection as Sqlite, OpenFlags, OptionalExtension};

use super::catalog::ProductRow;
use super::creds::{ClientRow, TokenRow, client_failure_key};
use super::{CONNECTION_COLUMNS, StoreError, from_millis};
use crate::domain::products::{CategoryOp, FamilyFilter, SearchFilter, TimeFilter};
use crate::model::{CategoryLevel, Connection, FlowType, Permission, User, UserKind};

pub struct FastReads {
    path: std::path::PathBuf,
    /// Opened as reads overlap: each new SQLite connection parses the
    /// whole schema on its first statement, so a console (one read at a
    /// time) opens one, a busy server up to all of them.
    conns: Vec<std::sync::OnceLock<Mutex<Sqlite>>>,
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
/// Which connections the list holds: all of them, or those a member sees
/// (`?1`), or the stale ones (`?2`, R16b).
macro_rules! list_where {
    () => {
        "FROM connections c
     WHERE (?1 IS NULL OR EXISTS (
             SELECT 1 FROM registrations r
             JOIN integration_access a ON a.integration_id = r.integration_id
             WHERE r.connection_id = c.id AND r.active = 1
               AND a.user_id = (SELECT id FROM users WHERE username = ?1)))
       AND (?2 IS NULL OR (
             NOT EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = c.id)
             AND MAX(c.created_at, COALESCE(c.last_activity_at, 0)) < ?2))"
    };
}

/// One window of the list, in list order (`?3` rows from `?4`; -1: all).
const LIST_SQL: &str = concat!(
    "SELECT code, label, flow_type, visual, client_id, username, role, grp,
        created_at, updated_at, version, wrong_credentials_at, last_activity_at,
        EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = c.id) AS in_use ",
    list_where!(),
    " ORDER BY label_key, code LIMIT ?3 OFFSET ?4"
);

/// How many rows the whole list has.
const COUNT_SQL: &str = concat!("SELECT COUNT(*) ", list_where!());

/// How many connections there are (the whole list, unfiltered): SQLite
/// counts the smallest index instead of reading every row.
const COUNT_ALL_SQL: &str = "SELECT COUNT(*) FROM connections";

/// A session row: its user and when it was last seen.
pub struct SessionRow {
    pub user: User,
    pub last_seen_ms: i64,
}

impl FastReads {
    /// Up to `n` connections that only read the database file; the first is
    /// opened now (so a missing or unreadable file fails at once).
    pub fn open(path: &Path, n: usize) -> Result<FastReads, StoreError> {
        let reads = FastReads {
            path: path.to_path_buf(),
            conns: (0..n.max(1)).map(|_| std::sync::OnceLock::new()).collect(),
            next: AtomicUsize::new(0),
        };
        reads.slot(0)?;
        Ok(reads)
    }

    fn open_one(path: &Path) -> rusqlite::Result<Mutex<Sqlite>> {
        // Opened read-write but refusing every write (`query_only`): a
        // read-only connection cannot set up the WAL index of a database no
        // other connection has open, and waits on its busy handler instead
        // (the first read of a store just opened).
        let c = Sqlite::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.pragma_update(None, "query_only", true)?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Mutex::new(c))
    }

    /// Connection `i`, opened on first use. (Two first uses at once may
    /// both open it; the one not kept is closed.)
    fn slot(&self, i: usize) -> rusqlite::Result<&Mutex<Sqlite>> {
        if let Some(c) = self.conns[i].get() {
            return Ok(c);
        }
        let c = Self::open_one(&self.path)?;
        Ok(self.conns[i].get_or_init(|| c))
    }

    /// Runs a read on a free connection: an open one first, else a new one,
    /// else it waits for one.
    fn with<R>(&self, f: impl FnOnce(&Sqlite) -> rusqlite::Result<R>) -> Result<R, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            if let Some(slot) = self.conns[(start + i) % n].get()
                && let Ok(conn) = slot.try_lock()
            {
                return Ok(f(&conn)?);
            }
        }
        if let Some(i) = (0..n).find(|&i| self.conns[i].get().is_none()) {
            let slot = self.slot(i)?;
            if let Ok(conn) = slot.try_lock() {
                return Ok(f(&conn)?);
            }
        }
        let conn = self
            .slot(start % n)?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(f(&conn)?)
    }

    /// Whether every migration of `migrator` is applied as sqlx records it
    /// (the same versions and checksums, each successful). Opening a store
    /// that is up to date then skips sqlx's own check, which costs several
    /// round trips to its worker thread before the first frame.
    pub fn migrations_applied(&self, migrator: &sqlx::migrate::Migrator) -> bool {
        let applied = self.with(|c| {
            let mut st = c.prepare(
                "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        });
        // No table yet (a new file), or unreadable: let sqlx decide.
        let Ok(applied) = applied else {
            return false;
        };
        let wanted: Vec<_> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .collect();
        applied.len() == wanted.len()
            && applied.iter().zip(&wanted).all(|((version, sum, ok), m)| {
                *ok && *version == m.version && sum.as_slice() == m.checksum.as_ref()
            })
    }

    /// The owner's username, once there is one.
    pub fn owner(&self) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            c.query_row("SELECT username FROM users WHERE kind = 'owner'", [], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// The account's connection limit and how many connections there are.
    pub fn account_counts(&self) -> Result<(i64, i64), StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT max_connections, connection_count FROM account WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
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
    /// has, read in one transaction (one snapshot). Only the window's rows
    /// are read from the table: the count walks an index, so a first page
    /// costs the same however many connections there are.
    pub fn connections(
        &self,
        window: Window,
        member: Option<&str>,
        stale_before: Option<i64>,
    ) -> Result<(Vec<Connection>, u64), StoreError> {
        let limit = window
            .limit
            .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(window.offset).unwrap_or(i64::MAX);
        self.with(|c| {
            let snapshot = c.unchecked_transaction()?;
            let total: i64 = if member.is_none() && stale_before.is_none() {
                c.prepare_cached(COUNT_ALL_SQL)?
                    .query_row([], |r| r.get(0))?
            } else {
                c.prepare_cached(COUNT_SQL)?
                    .query_row(rusqlite::params![member, stale_before], |r| r.get(0))?
            };
            let items = c
                .prepare_cached(LIST_SQL)?
                .query_map(
                    rusqlite::params![member, stale_before, limit, offset],
                    connection_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            snapshot.commit()?;
            Ok((items, u64::try_from(total).unwrap_or(0)))
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
        // Columns by position: looking them up by name costs more than the
        // read itself.
        self.with(|c| {
            c.prepare_cached(
                "SELECT t.verifier_mac, t.kind, t.grant_id, t.expires_at,
                        c.id, c.code, c.flow_type, c.role, c.grp,
                        s.version, s.products_version
                 FROM tokens t JOIN connections c ON c.id = t.connection_id
                 JOIN catalog_state s ON s.id = 1
                 WHERE t.id = ?1",
            )?
            .query_row([id], |r| {
                let kind: String = r.get(1)?;
                let flow: String = r.get(6)?;
                Ok(TokenRow {
                    verifier_mac: r.get(0)?,
                    refresh: kind == "refresh",
                    grant_id: r.get(2)?,
                    expires_at_ms: r.get(3)?,
                    connection_id: r.get(4)?,
                    code: r.get(5)?,
                    flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
                    role: r.get(7)?,
                    group: r.get(8)?,
                    catalog_version: r.get(9)?,
                    products_version: r.get(10)?,
                })
            })
            .optional()
        })
    }
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

/// Which products a list returns.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// The categories the caller's group may view; `None`: all. Products in
    /// no category are always visible.
    pub visible: Option<Vec<String>>,
    /// `search` filters, with category subtrees already expanded.
    pub filters: Vec<SearchFilter>,
    /// Only identifiers after this one (`search_after` pagination).
    pub after: Option<String>,
    pub offset: u64,
    pub limit: u64,
    /// Also count every match.
    pub count: bool,
    /// "Now", for `SINCE LAST N DAYS`.
    pub now_ms: i64,
}

const PRODUCT_COLUMNS: &str = "p.identifier, p.enabled, p.family, p.categories, p.attribute_values, p.created_at, p.updated_at";

/// One product (the hot read: a literal, so no SQL is built per request).
/// The products' version comes last, and always: the product's columns are
/// NULL when it does not exist.
const PRODUCT_BY_IDENTIFIER: &str = "SELECT p.identifier, p.enabled, p.family, p.categories,
        p.attribute_values, p.created_at, p.updated_at, s.products_version
     FROM catalog_state s LEFT JOIN products p ON p.identifier = ?1
     WHERE s.id = 1";

fn product_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProductRow> {
    let categories: String = r.get(3)?;
    let values: String = r.get(4)?;
    let values = serde_json::value::RawValue::from_string(values).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ProductRow {
        identifier: r.get(0)?,
        enabled: r.get::<_, i64>(1)? == 1,
        family: r.get(2)?,
        categories: serde_json::from_str(&categories).unwrap_or_default(),
        values,
        created_ms: r.get(5)?,
        updated_ms: r.get(6)?,
    })
}

/// The WHERE clause of a product list and its parameters.
fn product_where(q: &ProductQuery) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    let mut sql = String::from(" FROM products p WHERE 1 = 1");
    let mut params: Vec<V> = Vec::new();
    let mut param = |v: V| {
        params.push(v);
        format!("?{}", params.len())
    };
    let json = |v: &[String]| V::Text(serde_json::to_string(v).expect("strings serialise"));
    let in_any = |set: &str| {
        format!(
            "EXISTS (SELECT 1 FROM json_each(p.categories) j WHERE j.value IN (SELECT value FROM json_each({set})))"
        )
    };
    if let Some(visible) = &q.visible {
        let set = param(json(visible));
        sql.push_str(&format!(" AND (p.categories = '[]' OR {})", in_any(&set)));
    }
    if let Some(after) = &q.after {
        let a = param(V::Text(after.clone()));
        sql.push_str(&format!(" AND p.identifier > {a}"));
    }
    for f in &q.filters {
        let clause = match f {
            SearchFilter::Identifier { negate, values } => {
                let set = param(json(values));
                let not = if *negate { "NOT " } else { "" };
                format!("p.identifier {not}IN (SELECT value FROM json_each({set}))")
            }
            SearchFilter::Enabled(b) => format!("p.enabled = {}", param(V::Integer(i64::from(*b)))),
            SearchFilter::Family(FamilyFilter::In(v)) => {
                format!(
                    "p.family IN (SELECT value FROM json_each({}))",
                    param(json(v))
                )
            }
            SearchFilter::Family(FamilyFilter::NotIn(v)) => format!(
                "(p.family IS NULL OR p.family NOT IN (SELECT value FROM json_each({})))",
                param(json(v))
            ),
            SearchFilter::Family(FamilyFilter::Empty) => "p.family IS NULL".to_string(),
            SearchFilter::Family(FamilyFilter::NotEmpty) => "p.family IS NOT NULL".to_string(),
            SearchFilter::Categories(op, codes) => {
                let set = param(json(codes));
                match op {
                    CategoryOp::In | CategoryOp::InChildren => in_any(&set),
                    CategoryOp::NotIn | CategoryOp::NotInChildren => {
                        format!("NOT {}", in_any(&set))
                    }
                    CategoryOp::Unclassified => "p.categories = '[]'".to_string(),
                    CategoryOp::InOrUnclassified => {
                        format!("(p.categories = '[]' OR {})", in_any(&set))
                    }
                }
            }
            SearchFilter::Created(t) | SearchFilter::Updated(t) => {
                let column = if matches!(f, SearchFilter::Created(_)) {
                    "p.created_at"
                } else {
                    "p.updated_at"
                };
                match *t {
                    TimeFilter::Before(ms) => format!("{column} < {}", param(V::Integer(ms))),
                    TimeFilter::After(ms) => format!("{column} > {}", param(V::Integer(ms))),
                    TimeFilter::Between(a, b) => format!(
                        "{column} BETWEEN {} AND {}",
                        param(V::Integer(a)),
                        param(V::Integer(b))
                    ),
                    TimeFilter::NotBetween(a, b) => format!(
                        "{column} NOT BETWEEN {} AND {}",
                        param(V::Integer(a)),
                        param(V::Integer(b))
                    ),
                    TimeFilter::SinceLastDays(n) => format!(
                        "{column} >= {}",
                        param(V::Integer(q.now_ms - i64::from(n) * 24 * 3600 * 1000))
                    ),
                }
            }
        };
        sql.push_str(" AND ");
        sql.push_str(&clause);
    }
    (sql, params)
}

impl FastReads {
    /// The `catalog_state` version: what the cached roles and groups must
    /// match.
    pub fn catalog_version(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT version FROM catalog_state WHERE id = 1")?
                .query_row([], |r| r.get(0))
        })
    }

    /// Roles, groups, grants and categories, read in one snapshot.
    pub fn catalog_rows(&self) -> Result<CatalogRows, StoreError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let version = tx.query_row("SELECT version FROM catalog_state WHERE id = 1", [], |r| {
                r.get(0)
            })?;
            let roles = tx
                .prepare("SELECT code, permissions FROM roles")?
                .query_map([], |r| {
                    let json: String = r.get(1)?;
                    Ok((r.get(0)?, super::catalog::parse_permissions(&json)))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let groups = tx
                .prepare("SELECT code, everything FROM groups")?
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? == 1)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let grants = tx
                .prepare(
                    "SELECT g.code, c.code, gg.level FROM group_grants gg
                     JOIN groups g ON g.id = gg.group_id JOIN categories c ON c.id = gg.category_id",
                )?
                .query_map([], |r| {
                    let level: String = r.get(2)?;
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        CategoryLevel::parse(&level).unwrap_or(CategoryLevel::View),
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let categories = tx
                .prepare(
                    "SELECT c.code, p.code FROM categories c LEFT JOIN categories p ON p.id = c.parent_id",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.finish()?;
            Ok(CatalogRows {
                version,
                roles,
                groups,
                grants,
                categories,
            })
        })
    }

    /// One product and the products' version, from one snapshot (the
    /// version comes back when the product does not exist, too).
    pub fn product(&self, identifier: &str) -> Result<(i64, Option<ProductRow>), StoreError> {
        self.with(|c| {
            c.prepare_cached(PRODUCT_BY_IDENTIFIER)?
                .query_row([identifier], |r| {
                    let version: i64 = r.get(7)?;
                    let found: Option<String> = r.get(0)?;
                    Ok((version, found.map(|_| product_from_row(r)).transpose()?))
                })
        })
    }

    /// A page of products in identifier order, and the count of all matches
    /// when asked for; both from one snapshot.
    pub fn products(&self, q: &ProductQuery) -> Result<(Vec<ProductRow>, Option<u64>), StoreError> {
        let (where_sql, params) = product_where(q);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let items = tx
                .prepare(&format!(
                    "SELECT {PRODUCT_COLUMNS}{where_sql} ORDER BY p.identifier LIMIT {} OFFSET {}",
                    q.limit.min(i64::MAX as u64),
                    q.offset.min(i64::MAX as u64)
                ))?
                .query_map(rusqlite::params_from_iter(params.iter()), product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let count = if q.count {
                let n: i64 = tx.query_row(
                    &format!("SELECT COUNT(*){where_sql}"),
                    rusqlite::params_from_iter(params.iter()),
                    |r| r.get(0),
                )?;
                Some(u64::try_from(n).unwrap_or(0))
            } else {
                None
            };
            tx.finish()?;
            Ok((items, count))
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
