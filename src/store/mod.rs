//! Persistence: one interface, two engines (SQLite, the embedded default;
//! PostgreSQL, for several instances on one database), each with its own
//! migrations folder of the same shape and numbering. The service above
//! never knows which engine runs. The store is split by aggregate, one file
//! each; every file speaks SQL through [`db`]. Encryption of secrets and
//! hashing of passwords happen at this boundary: nothing above it ever hands
//! a plain secret to SQL.

mod application;
mod audit;
pub mod categories;
mod connections;
mod copy;
mod creds;
pub(crate) mod db;
pub mod integrations;
pub mod keys;
pub mod products;
pub mod roles;
mod token_writer;

pub mod monitoring;
mod product_cache;
pub mod users;

pub use products::{Decide, Found, Lookup, ProductQuery, ProductRow, ProductWrite, new_uuid};
pub use roles::CatalogRows;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;

use crate::model::{FieldChange, FlowType, Source};
pub use connections::connection_target;
pub use creds::{ClientRow, TokenRow, client_failure_key as creds_failure_key};
pub use db::postgres::PoolConfig;
use db::{Db, Tx, args};
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
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// The database cannot be reached now (PostgreSQL away, the pool out
    /// of connections for longer than the connect timeout): a 503.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// A column held a value of a type the store does not expect.
    #[error("unexpected database value: {0}")]
    Decode(String),
    /// A setting the store was opened with is wrong.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot create {path}: {error}")]
    Io { path: String, error: std::io::Error },
    /// The database's active key (the last `keyring rotate`) is not in
    /// this instance's key file: it must not encrypt with an older one.
    #[error(
        "the key ring was rotated to key {active}, which this instance's key file lacks (its newest is key {have}): copy the rotated key file to this instance"
    )]
    KeyRingBehind { active: u32, have: u32 },
    #[error(
        "the key file {key} is missing, but the database holds {count} connection(s) whose secrets it encrypts: restore the key file (or name it with --key-file)"
    )]
    MissingKeyFile { key: String, count: u64 },
    /// PostgreSQL cannot store text holding U+0000 (SQLite can): a client's
    /// input, refused as such rather than failing as ours.
    #[error("text must not contain the NUL character (U+0000)")]
    NulInText,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if db::postgres::is_unavailable(&e) {
            StoreError::Unavailable(e.to_string())
        } else if e
            .as_database_error()
            .and_then(|d| d.code())
            // 22021: a NUL byte in a text parameter; 22P05: `\u0000` in
            // JSON text.
            .is_some_and(|code| code == "22021" || code == "22P05")
        {
            StoreError::NulInText
        } else {
            StoreError::Db(e)
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e.to_string())
    }
}

impl StoreError {
    /// A UNIQUE constraint refused the write (on either engine).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(d)) => d.is_unique_violation(),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            _ => false,
        }
    }
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
    /// R26: the application side, replaced whole; `Some(None)` removes it.
    pub application: Option<Option<crate::domain::application::ValidApplication>>,
}

/// A 409 naming the field.
fn conflict(field: &'static str, message: String) -> StoreError {
    StoreError::Conflict { field, message }
}

/// Refuses a `code` that a row of `table` (integrations, roles, groups,
/// categories: a name from this module, never input) already has, with a
/// 409 naming the field and `noun`.
async fn ensure_code_free(
    tx: &mut Tx,
    table: &'static str,
    noun: &str,
    code: &str,
) -> Result<(), StoreError> {
    let taken: Option<i64> = tx
        .opt(
            &format!("SELECT id FROM {table} WHERE code = $1"),
            args![code],
            |r| r.get(0),
        )
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
    db: Db,
    keys: Keys,
    location: String,
    clock: Arc<dyn Clock>,
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

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
    }
}

/// The SQLite schema's migrations, in order.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// The PostgreSQL schema's migrations: the same numbering and shape.
static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// Applies `migrator` to the SQLite file at `path` (created when needed),
/// as a store's open does: what is missing, in one exclusive transaction.
/// For tests of the migration runner with migrations of their own.
#[doc(hidden)]
pub fn migrate_sqlite_file(
    path: &Path,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let c = db::sqlite::open_writer(path, "FULL")?;
    db::sqlite::migrate(&c, migrator)
}

/// Where a store lives: a SQLite file (and its key file), or a PostgreSQL
/// URL (and the key file of this instance).
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else a
    /// SQLite file path (`sqlite://` stripped).
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s.strip_prefix("sqlite://").unwrap_or(s)))
        }
    }
}

/// A PostgreSQL URL as it may be shown: without its password.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl Store {
    /// Opens the store at `location`: a SQLite file (created when needed)
    /// or a PostgreSQL database (migrated when needed).
    pub async fn open(
        location: &Location,
        key_path: &Path,
        pool: PoolConfig,
    ) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => Store::open_sqlite(path, key_path).await,
            Location::Postgres(url) => Store::open_postgres(url, key_path, pool).await,
        }
    }

    /// The database's connections: how many are open, how many idle.
    pub fn pool_counts(&self) -> (u32, u32) {
        match &self.db {
            Db::Sqlite(d) => d.reader_counts(),
            Db::Postgres(d) => d.counts(),
        }
    }

    /// Which engine runs (for the few places where SQL differs).
    fn dialect(&self) -> db::Dialect {
        self.db.dialect()
    }

    /// Whether every migration this build knows is applied.
    async fn migrations_current(&self) -> Result<bool, StoreError> {
        match &self.db {
            Db::Sqlite(d) => {
                d.with_reader(|c| Ok(db::sqlite::migrations_current(c, &MIGRATOR)))
                    .await
            }
            Db::Postgres(d) => db::postgres::migrations_current(d.pool(), &MIGRATOR_PG).await,
        }
    }

    /// Whether the store can serve requests: the database answers a read
    /// and every migration this build knows is applied. `Err` says why not.
    pub async fn ready(&self) -> Result<(), String> {
        match self.migrations_current().await {
            Ok(true) => Ok(()),
            Ok(false) => {
                Err("the database's migrations are not the ones this build expects".into())
            }
            Err(e) => Err(format!("the database does not answer: {e}")),
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
        let lite = db::sqlite::Lite::open(db_path, 4)?;
        // A store that is up to date opens with one read (no writer
        // connection until the first write).
        let current = lite
            .with_reader(|c| Ok(db::sqlite::migrations_current(c, &MIGRATOR)))
            .await?;
        if !current {
            lite.with_writer(|c| db::sqlite::migrate(c, &MIGRATOR))
                .await?;
        }
        Store::finish_open(Db::Sqlite(lite), db_path.display().to_string(), key_path).await
    }

    /// Opens the PostgreSQL database at `url` (which must exist) and applies
    /// the migrations, once however many instances start together (sqlx
    /// holds an advisory lock while it migrates).
    pub async fn open_postgres(
        url: &str,
        key_path: &Path,
        pool: PoolConfig,
    ) -> Result<Store, StoreError> {
        if let Some(dir) = key_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let pg = db::postgres::Pg::connect_lazy(url, pool)?;
        if !db::postgres::migrations_current(pg.pool(), &MIGRATOR_PG).await? {
            MIGRATOR_PG.run(pg.pool()).await?;
        }
        Store::finish_open(Db::Postgres(Box::new(pg)), redact_url(url), key_path).await
    }

    async fn finish_open(db: Db, location: String, key_path: &Path) -> Result<Store, StoreError> {
        if !key_path.exists() {
            // A new key file cannot read the secrets an old one wrote: refuse
            // instead of making every stored credential useless.
            let count: i64 = db
                .one("SELECT COUNT(*) FROM connections", args![], |r| r.get(0))
                .await?;
            if count > 0 {
                return Err(StoreError::MissingKeyFile {
                    key: key_path.display().to_string(),
                    count: u64::try_from(count).unwrap_or(0),
                });
            }
        }
        let keys = Keys::load_or_create(key_path)?;
        Ok(Store {
            db,
            keys,
            location,
            clock: Arc::new(SystemClock),
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
        let Db::Sqlite(lite) = &self.db else {
            return Err(StoreError::Config(
                "the token writer is SQLite's; PostgreSQL issues inline".to_string(),
            ));
        };
        let w = token_writer::TokenWriter::open(lite)?;
        Ok(self.tokens.get_or_init(|| w))
    }

    /// The monitoring writer, opened on first use, like the token writer.
    fn monitor(&self) -> Result<&monitoring::MonitorWriter, StoreError> {
        if let Some(w) = self.monitor.get() {
            return Ok(w);
        }
        let w = monitoring::MonitorWriter::open(&self.db)?;
        Ok(self.monitor.get_or_init(|| w))
    }

    /// Replaces the clock (tests of expiry).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// The store's clock, to the millisecond (as the store keeps times).
    pub fn now(&self) -> DateTime<Utc> {
        from_millis(self.now_millis())
    }

    /// The store's clock, in milliseconds since the epoch.
    pub fn now_millis(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Where the data lives, for the header (a PostgreSQL URL without its
    /// password).
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Writes the pending monitoring counts, then closes the database
    /// (on SQLite, checkpointing the WAL).
    pub async fn close(&self) {
        // Nothing was counted when the writer was never opened.
        if self.monitor.get().is_some()
            && let Err(e) = self.flush_monitoring().await
        {
            tracing::error!(error = %e, "monitoring counts not written at close");
        }
        match &self.db {
            Db::Sqlite(d) => {
                let done = d
                    .with_writer(|c| Ok(c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?))
                    .await;
                if let Err(e) = done {
                    tracing::warn!(error = %e, "the WAL was not checkpointed at close");
                }
            }
            Db::Postgres(d) => d.pool().close().await,
        }
    }

    /// Starts a write transaction: serialised with every other writer, on
    /// this instance and any other on the same database.
    async fn write_tx(&self) -> Result<Tx, StoreError> {
        self.db.begin().await
    }

    /// Makes sure the ring encrypts with the database's active key (or a
    /// newer one), in the transaction that is about to encrypt: a ring
    /// behind is re-read from its file, and the write refused if it still
    /// lacks the key. Write transactions are serialised, so a `keyring
    /// rotate` is either wholly before this one (and seen) or after it (and
    /// re-encrypts what this one writes).
    async fn keys_current_in(&self, tx: &mut Tx) -> Result<(), StoreError> {
        let active: i64 = tx
            .one(
                "SELECT active_key_id FROM keyring_state WHERE id = 1",
                args![],
                |r| r.get(0),
            )
            .await?;
        let active = u32::try_from(active).unwrap_or(u32::MAX);
        if self.keys.info().active >= active {
            return Ok(());
        }
        self.keys.reload()?;
        let have = self.keys.info().active;
        if have >= active {
            tracing::info!(key = have, "the key file was reloaded: key {have} encrypts");
            return Ok(());
        }
        Err(StoreError::KeyRingBehind { active, have })
    }

    /// Starts a read transaction: its statements see one snapshot.
    async fn read_tx(&self) -> Result<Tx, StoreError> {
        self.db.read().await
    }
}

/// Creates a file with mode 0600 if it does not exist yet, and takes group
/// and other access away from one that does (the log file, issue 14).
pub fn ensure_private_file(path: &Path) -> Result<(), StoreError> {
    let io = |error| StoreError::Io {
        path: path.display().to_string(),
        error,
    };
    create_private_file(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
    }
    Ok(())
}

/// The mode of `dir` when group or others may access it (a data directory
/// made before, or by hand): something to warn about.
pub fn open_to_others(dir: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
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
