//! Persistence. One SQLite engine today behind this one interface (PostgreSQL
//! joins it in a later issue, with the same migrations shape). Encryption of
//! secrets and hashing of passwords happen at this boundary: nothing above it
//! ever hands a plain secret to SQL.

pub mod catalog;
mod creds;
pub mod integrations;
pub mod keys;
mod token_writer;

mod fast_read;
pub mod monitoring;
mod product_cache;
pub mod users;

pub use catalog::{ProductRow, ProductWrite, StoredProduct};
pub use fast_read::{CatalogRows, ProductQuery};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use crate::domain::{self, credentials};
use crate::model::{AuditRecord, Connection, FieldChange, FlowType, Me, Quota, Source, UserKind};
pub use creds::{ClientRow, TokenRow, client_failure_key as creds_failure_key};
pub use keys::{KeyError, Keys, RingInfo, Sealed};
pub use token_writer::{IssuedIds, OldRefresh, TokenPair};

/// A stored ciphertext and the id of the key that made it.
fn sealed(blob: Vec<u8>, key_id: i64) -> Sealed {
    Sealed {
        key_id: u32::try_from(key_id).unwrap_or(u32::MAX),
        blob,
    }
}

/// What a secret value looks like in an audit record or any read (R26, R28).
pub const MASK: &str = "******";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A named record does not exist (`what` is "integration", "flow"…).
    #[error("{what} {code:?} not found")]
    Missing { what: &'static str, code: String },
    /// R8/R16: the connection is used by flow steps.
    #[error("{message}")]
    InUse {
        message: String,
        used_by: Vec<crate::model::UsedBy>,
    },
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// A value names something that does not exist (a role, a group, a
    /// category).
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the account holds at most {max} connections")]
    QuotaReached { max: u64 },
    /// The record changed since the version the update was based on.
    #[error("{message}")]
    Stale { message: String },
    #[error("password hashing failed")]
    Hash,
    #[error("database read error: {0}")]
    Read(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot create {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error(
        "the key file {key} is missing, but the database holds {count} connection(s) whose secrets it encrypts: restore the key file (or name it with --key-file)"
    )]
    MissingKeyFile { key: String, count: u64 },
}

/// Who acts, and from where, for the audit trail.
#[derive(Debug, Clone)]
pub struct Acting<'a> {
    pub user: &'a str,
    pub source: Source,
}

/// A validated connection about to be inserted.
#[derive(Debug, Clone)]
pub struct ConnectionDraft {
    pub code: String,
    pub label: String,
    pub flow_type: FlowType,
    pub visual: Option<String>,
}

/// A validated change; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct ConnectionChange {
    /// When set, the change applies only to this version of the record.
    pub expected_version: Option<u64>,
    pub label: Option<String>,
    pub flow_type: Option<FlowType>,
    pub visual: Option<Option<String>>,
    /// R10, R11: by code; must exist.
    pub role: Option<String>,
    pub group: Option<String>,
}

/// A 409 naming the field.
fn conflict(field: &'static str, message: String) -> StoreError {
    StoreError::Conflict { field, message }
}

/// Refuses a `code` that a row of `table` (integrations, roles, groups,
/// categories: a name from this module, never input) already has, with a
/// 409 naming the field and `noun`.
async fn ensure_code_free(
    tx: &mut Transaction<'static, Sqlite>,
    table: &'static str,
    noun: &str,
    code: &str,
) -> Result<(), StoreError> {
    let taken: Option<i64> = sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE code = $1"))
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    match taken {
        Some(_) => Err(conflict(
            "code",
            format!("{noun} code {code:?} is already taken"),
        )),
        None => Ok(()),
    }
}

/// Turns off SQLite's memory statistics before its first connection: they
/// take a process-wide mutex on every allocation SQLite makes, which two
/// workers reading at once contend for, and nothing here reads them.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called with an option that takes one
        // int, before this process opens any connection (it answers
        // SQLITE_MISUSE, changing nothing, if SQLite is already started).
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite was started before it could be configured");
        }
    });
}

/// The credentials made for a new connection, returned once.
pub struct IssuedCredentials {
    pub secret: SecretString,
    pub password: SecretString,
}

pub struct Store {
    pool: SqlitePool,
    keys: Keys,
    location: String,
    clock: Arc<dyn Clock>,
    fast: Arc<fast_read::FastReads>,
    /// The database file, for the writers opened on first use.
    db_path: std::path::PathBuf,
    /// Opened on the first token issued: a console that issues none (the
    /// embedded store) never pays for its connection and thread.
    tokens: std::sync::OnceLock<token_writer::TokenWriter>,
    /// Opened on the first Web API call counted, likewise.
    monitor: std::sync::OnceLock<monitoring::MonitorWriter>,
    products: product_cache::ProductCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish()
    }
}

const CONNECTION_COLUMNS: &str = "code, label, flow_type, visual, client_id, username, role, grp, \
     created_at, updated_at, version, wrong_credentials_at, last_activity_at, \
     EXISTS (SELECT 1 FROM flow_steps s WHERE s.connection_id = connections.id) AS in_use";

/// Where the store reads the time; tests move it forward.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A test's clock: it starts at a fixed instant (never today's date, so a
/// test passes on any day), runs on with the real elapsed time so that
/// ordering and expiry behave as in production, and moves forward when the
/// test says so.
pub struct TestClock {
    start: DateTime<Utc>,
    started: std::time::Instant,
    offset_ms: std::sync::atomic::AtomicI64,
}

impl TestClock {
    /// Where every test's clock starts unless it says otherwise: a Monday
    /// morning, far from midnight so a test never crosses a day.
    pub const START: &'static str = "2026-03-02T09:30:00Z";

    pub fn starting_at(start: DateTime<Utc>) -> TestClock {
        TestClock {
            start,
            started: std::time::Instant::now(),
            offset_ms: std::sync::atomic::AtomicI64::new(0),
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        let start = DateTime::parse_from_rfc3339(Self::START)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        TestClock::starting_at(start)
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.start
            + elapsed
            + chrono::Duration::milliseconds(
                self.offset_ms.load(std::sync::atomic::Ordering::SeqCst),
            )
    }
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Creates a file with mode 0600 if it does not exist yet.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).map(drop)
}

fn connection_from_row(row: &SqliteRow) -> Result<Connection, sqlx::Error> {
    let flow: String = row.try_get("flow_type")?;
    Ok(Connection {
        code: row.try_get("code")?,
        label: row.try_get("label")?,
        flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
        visual: row.try_get("visual")?,
        client_id: row.try_get("client_id")?,
        username: row.try_get("username")?,
        role: row.try_get("role")?,
        group: row.try_get("grp")?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        version: u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(1),
        wrong_credentials_at: row
            .try_get::<Option<i64>, _>("wrong_credentials_at")?
            .map(from_millis),
        in_use: row.try_get::<bool, _>("in_use")?,
        last_activity_at: row
            .try_get::<Option<i64>, _>("last_activity_at")?
            .map(from_millis),
        stale: false,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub fn connection_target(code: &str) -> String {
    format!("connection:{code}")
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
    }
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

/// The SQLite schema's migrations, in order.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// Applies the migrations once, however many processes open the same file
/// at the same time (several `serve` starting together): each takes an
/// exclusive lock on a file beside the database first, and the ones that
/// waited find the work done.
async fn migrate_once(
    pool: &SqlitePool,
    fast: &fast_read::FastReads,
    db_path: &Path,
) -> Result<(), StoreError> {
    let lock_path = db_path.with_extension("migrate.lock");
    let io = |error| StoreError::Io {
        path: lock_path.display().to_string(),
        error,
    };
    create_private_file(&lock_path).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)?;
    let result = if fast.migrations_applied(&MIGRATOR) {
        Ok(())
    } else {
        MIGRATOR.run(pool).await.map_err(StoreError::from)
    };
    // Closing the file releases the lock.
    drop(file);
    result
}

impl Store {
    /// The database pool's connections: how many it holds, how many idle.
    pub fn pool_counts(&self) -> (u32, u32) {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        (self.pool.size(), idle)
    }

    /// Whether the store can serve requests: the database answers a read
    /// and every migration this build knows is applied. `Err` says why not.
    pub fn ready(&self) -> Result<(), String> {
        if self.fast.migrations_applied(&MIGRATOR) {
            return Ok(());
        }
        // Tell a database that does not answer from one that lags behind.
        match self.fast.account_counts() {
            Err(e) => Err(format!("the database does not answer: {e}")),
            Ok(_) => Err("the database's migrations are not the ones this build expects".into()),
        }
    }

    /// Opens (creating when needed) the database at `db_path` and the key file
    /// at `key_path`, both mode 0600, and applies the migrations.
    pub async fn open_sqlite(db_path: &Path, key_path: &Path) -> Result<Store, StoreError> {
        configure_sqlite();
        for p in [db_path, key_path] {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
        }
        create_private_file(db_path).map_err(|error| StoreError::Io {
            path: db_path.display().to_string(),
            error,
        })?;
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(db_path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed revocation must survive a power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Connections open on first use: the first frame reads through
        // the fast readers and needs none.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file does not drop connections; a ping before each
            // query would double its cost.
            .test_before_acquire(false)
            .connect_lazy_with(opts);
        let fast = Arc::new(fast_read::FastReads::open(db_path, 4)?);
        if !fast.migrations_applied(&MIGRATOR) {
            migrate_once(&pool, &fast, db_path).await?;
        }
        if !key_path.exists() {
            // A new key file cannot read the secrets an old one wrote: refuse
            // instead of making every stored credential useless.
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connections")
                .fetch_one(&pool)
                .await?;
            if count > 0 {
                pool.close().await;
                return Err(StoreError::MissingKeyFile {
                    key: key_path.display().to_string(),
                    count: u64::try_from(count).unwrap_or(0),
                });
            }
        }
        let keys = Keys::load_or_create(key_path)?;
        Ok(Store {
            pool,
            keys,
            location: db_path.display().to_string(),
            clock: Arc::new(SystemClock),
            fast,
            db_path: db_path.to_path_buf(),
            tokens: std::sync::OnceLock::new(),
            monitor: std::sync::OnceLock::new(),
            products: product_cache::ProductCache::default(),
        })
    }

    /// The token writer, opened on first use. (Two first uses at once may
    /// both open one; the one not kept stops with its channel.)
    fn tokens(&self) -> Result<&token_writer::TokenWriter, StoreError> {
        if let Some(w) = self.tokens.get() {
            return Ok(w);
        }
        let w = token_writer::TokenWriter::open(&self.db_path)?;
        Ok(self.tokens.get_or_init(|| w))
    }

    /// The monitoring writer, opened on first use, like the token writer.
    fn monitor(&self) -> Result<&monitoring::MonitorWriter, StoreError> {
        if let Some(w) = self.monitor.get() {
            return Ok(w);
        }
        let w = monitoring::MonitorWriter::open(&self.db_path)?;
        Ok(self.monitor.get_or_init(|| w))
    }

    /// Replaces the clock (tests of expiry).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// The store's clock, in milliseconds since the epoch.
    pub fn now_millis(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Where the data lives, for the header.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Writes the pending monitoring counts, then closes the pool,
    /// checkpointing the WAL.
    pub async fn close(&self) {
        // Nothing was counted when the writer was never opened.
        if self.monitor.get().is_some()
            && let Err(e) = self.flush_monitoring().await
        {
            tracing::error!(error = %e, "monitoring counts not written at close");
        }
        self.pool.close().await;
    }

    /// Starts a write transaction that takes the write lock at once, so a
    /// read-then-write never fails with SQLITE_BUSY half-way.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn audit_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        acting: &Acting<'_>,
        action: &str,
        target: &str,
        changes: &[FieldChange],
    ) -> Result<(), StoreError> {
        let changes = serde_json::to_string(changes).expect("field changes serialise");
        sqlx::query(
            "INSERT INTO audit (at, actor, source, action, target, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.now_millis())
        .bind(acting.user)
        .bind(acting.source.as_str())
        .bind(action)
        .bind(target)
        .bind(changes)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    // ----- users -------------------------------------------------------------

    /// The owner, created with `username` on the first start of an empty store.
    pub async fn ensure_owner(&self, username: &str) -> Result<Me, StoreError> {
        // The common case (a store that has its owner) needs no write, and
        // reads on a fast reader (no trip to sqlx's worker at start).
        if let Some(name) = self.fast.owner()? {
            return Ok(Me {
                username: name,
                kind: UserKind::Owner,
            });
        }
        let mut tx = self.write_tx().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT username FROM users WHERE kind = 'owner'")
                .fetch_optional(&mut *tx)
                .await?;
        let name = match existing {
            Some(name) => name,
            None => {
                sqlx::query(
                    "INSERT INTO users (username, kind, created_at) VALUES ($1, 'owner', $2)",
                )
                .bind(username)
                .bind(self.now_millis())
                .execute(&mut *tx)
                .await?;
                let acting = Acting {
                    user: username,
                    source: Source::System,
                };
                self.audit_in(
                    &mut tx,
                    &acting,
                    "user.create",
                    &format!("user:{username}"),
                    &[change("kind", None, Some("owner"))],
                )
                .await?;
                username.to_string()
            }
        };
        tx.commit().await?;
        Ok(Me {
            username: name,
            kind: UserKind::Owner,
        })
    }

    // ----- account -----------------------------------------------------------

    pub async fn quota(&self) -> Result<Quota, StoreError> {
        // A one-row read: on a fast reader, without a trip to sqlx's worker.
        let (max, count) = self.fast.account_counts()?;
        Ok(quota_of(max, count))
    }

    pub async fn set_max_connections(
        &self,
        acting: &Acting<'_>,
        max: u64,
    ) -> Result<Quota, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let mut tx = self.write_tx().await?;
        let old: i64 = sqlx::query_scalar("SELECT max_connections FROM account WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        if old != max {
            sqlx::query("UPDATE account SET max_connections = $1 WHERE id = 1")
                .bind(max)
                .execute(&mut *tx)
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
        let count: i64 = sqlx::query_scalar("SELECT connection_count FROM account WHERE id = 1")
            .fetch_one(&mut *tx)
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
        let fast = Arc::clone(&self.fast);
        let member = member.map(str::to_owned);
        let window = fast_read::Window { offset, limit };
        tokio::task::spawn_blocking(move || {
            fast.connections(window, member.as_deref(), stale_before)
        })
        .await
        .map_err(|_| StoreError::Db(sqlx::Error::WorkerCrashed))?
    }

    pub async fn get_connection(&self, code: &str) -> Result<Connection, StoreError> {
        self.fast.connection(code)?.ok_or(StoreError::NotFound)
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
        let mut tx = self.write_tx().await?;
        let (conn, creds) = self.insert_in(&mut tx, acting, draft).await?;
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
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connections")
            .fetch_one(&mut *tx)
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
            self.insert_in(&mut tx, acting, draft).await?;
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
        let done = sqlx::query(
            "UPDATE connections SET created_at = $2, last_activity_at = $3 WHERE code = $1",
        )
        .bind(code)
        .bind(created)
        .bind(active)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn insert_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        acting: &Acting<'_>,
        draft: &ConnectionDraft,
    ) -> Result<(Connection, IssuedCredentials), StoreError> {
        // R2: one conditional UPDATE; concurrent creators serialise on it.
        let taken = sqlx::query(
            "UPDATE account SET connection_count = connection_count + 1
             WHERE id = 1 AND (max_connections = 0 OR connection_count < max_connections)",
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if taken == 0 {
            let max: i64 = sqlx::query_scalar("SELECT max_connections FROM account WHERE id = 1")
                .fetch_one(&mut **tx)
                .await?;
            return Err(StoreError::QuotaReached {
                max: u64::try_from(max).unwrap_or(0),
            });
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM connections WHERE code = $1")
            .bind(&draft.code)
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_some() {
            return Err(code_taken(&draft.code));
        }
        let mut username = credentials::new_username(&draft.code);
        for _ in 0..50 {
            let clash: Option<i64> =
                sqlx::query_scalar("SELECT id FROM connections WHERE username = $1")
                    .bind(&username)
                    .fetch_optional(&mut **tx)
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
        let row = sqlx::query(&format!(
            "INSERT INTO connections (code, label, label_key, flow_type, visual, client_id,
                 secret_ciphertext, secret_mac, username, password_hash, created_at, updated_at,
                 secret_key_id)
             VALUES ($1, $2, $11, $3, $4, $5, $6, $7, $8, $9, $10, $10, $12)
             RETURNING {CONNECTION_COLUMNS}"
        ))
        .bind(&draft.code)
        .bind(&draft.label)
        .bind(draft.flow_type.as_str())
        .bind(&draft.visual)
        .bind(&client_id)
        .bind(&sealed.blob)
        .bind(self.keys.mac_hex(secrecy::ExposeSecret::expose_secret(&secret)))
        .bind(&username)
        .bind(self.keys.hash_password(&password))
        .bind(now)
        .bind(domain::sort_key(&draft.label))
        .bind(i64::from(sealed.key_id))
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
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
                StoreError::Db(e)
            }
        })?;
        let conn = connection_from_row(&row)?;
        self.audit_in(
            tx,
            acting,
            "connection.create",
            &connection_target(&conn.code),
            &whole_connection_changes(&conn, true),
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
            let last: Option<(String, i64)> = sqlx::query_as(
                "SELECT actor, at FROM audit WHERE target = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(connection_target(code))
            .fetch_optional(&mut *tx)
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
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM roles WHERE code = $1")
                .bind(role)
                .fetch_optional(&mut *tx)
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
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM groups WHERE code = $1")
                .bind(group)
                .fetch_optional(&mut *tx)
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
        if changes.is_empty() {
            tx.commit().await?;
            return Ok(old);
        }
        let row = sqlx::query(&format!(
            "UPDATE connections SET label = $1, label_key = $6, flow_type = $2, visual = $3,
                 role = $7, grp = $8, updated_at = $4, version = version + 1
             WHERE code = $5 RETURNING {CONNECTION_COLUMNS}"
        ))
        .bind(&new.label)
        .bind(new.flow_type.as_str())
        .bind(&new.visual)
        .bind(self.now_millis())
        .bind(code)
        .bind(domain::sort_key(&new.label))
        .bind(&new.role)
        .bind(&new.group)
        .fetch_one(&mut *tx)
        .await?;
        let updated = connection_from_row(&row)?;
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
        let id: Option<i64> =
            sqlx::query_scalar("DELETE FROM connections WHERE code = $1 RETURNING id")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE account SET connection_count = connection_count - 1
             WHERE id = 1 AND connection_count > 0",
        )
        .execute(&mut *tx)
        .await?;
        self.audit_in(
            &mut tx,
            acting,
            "connection.delete",
            &connection_target(code),
            &whole_connection_changes(&old, false),
        )
        .await?;
        tx.commit().await?;
        if let (Some(id), Some(monitor)) = (id, self.monitor.get()) {
            monitor.forget(id);
        }
        Ok(old)
    }

    /// The audit trail of one target, newest first.
    pub async fn audit_for(
        &self,
        target: &str,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, source, action, target, changes FROM audit
             WHERE target = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(target)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let changes: String = r.try_get("changes")?;
                let source: String = r.try_get("source")?;
                Ok(AuditRecord {
                    id: r.try_get("id")?,
                    at: from_millis(r.try_get("at")?),
                    actor: r.try_get("actor")?,
                    source: Source::parse(&source).unwrap_or(Source::System),
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    changes: serde_json::from_str(&changes).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The stored secret, decrypted (R5).
    pub async fn secret_of(&self, code: &str) -> Result<SecretString, StoreError> {
        let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT secret_ciphertext, secret_key_id FROM connections WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        let (blob, key_id) = row.ok_or(StoreError::NotFound)?;
        Ok(self.keys.decrypt(code, "secret", &sealed(blob, key_id))?)
    }

    /// Whether `password` is the connection's current password (R4).
    pub async fn check_password(&self, code: &str, password: &str) -> Result<bool, StoreError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM connections WHERE code = $1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        let stored = stored.ok_or(StoreError::NotFound)?;
        Ok(self.keys.verify_password(password, &stored))
    }
}

async fn fetch_for_update(
    tx: &mut Transaction<'static, Sqlite>,
    code: &str,
) -> Result<Connection, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {CONNECTION_COLUMNS} FROM connections WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(r) => Ok(connection_from_row(&r)?),
        None => Err(StoreError::NotFound),
    }
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

/// Creates a directory (and parents) readable only by its owner.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |error| StoreError::Io {
        path: dir.display().to_string(),
        error,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)
}

/// The database and key file paths inside a data directory.
pub fn sqlite_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    (
        data_dir.join("switchboard.db"),
        data_dir.join("switchboard.key"),
    )
}
