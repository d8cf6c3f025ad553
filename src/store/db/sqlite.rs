//! The SQLite engine, on rusqlite: statements run inline (a primary-key
//! lookup takes microseconds, less than a hop to a worker thread would), on
//! up to four reader connections and one writer.
//!
//! Readers are opened read-write but refuse every write (`query_only`): a
//! read-only connection cannot set up the WAL index of a database no other
//! connection has open, and would wait on its busy handler instead. They
//! open as reads overlap: each new connection parses the whole schema on
//! its first statement, so a console (one read at a time) opens one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{Arg, Col, Row, Val, sqlite_sql};
use crate::store::StoreError;

/// How long a statement waits for another process's lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Int(Some(i)) => ValueRef::Integer(i),
            Arg::Real(Some(f)) => ValueRef::Real(f),
            Arg::Text(Some(s)) => ValueRef::Text(s.as_bytes()),
            Arg::Blob(Some(b)) => ValueRef::Blob(b),
            Arg::Int(None) | Arg::Real(None) | Arg::Text(None) | Arg::Blob(None) => ValueRef::Null,
        }))
    }
}

pub(super) fn val<'r>(r: &'r rusqlite::Row<'_>, col: Col<'_>) -> Result<Val<'r>, StoreError> {
    let v = match col {
        Col::At(i) => r.get_ref(i)?,
        Col::Named(n) => r.get_ref(n)?,
    };
    Ok(match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Real(f),
        ValueRef::Text(t) => Val::Text(
            std::str::from_utf8(t).map_err(|e| StoreError::Decode(format!("{col}: {e}")))?,
        ),
        ValueRef::Blob(b) => Val::Blob(b),
    })
}

pub(super) fn rows<T>(
    c: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = c.prepare_cached(&sqlite_sql(sql))?;
    let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(&Row::Lite(r))?);
    }
    Ok(out)
}

pub(super) fn opt<T>(
    c: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut st = c.prepare_cached(&sqlite_sql(sql))?;
    let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
    match rows.next()? {
        Some(r) => Ok(Some(f(&Row::Lite(r))?)),
        None => Ok(None),
    }
}

pub(super) fn exec(c: &Connection, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
    let mut st = c.prepare_cached(&sqlite_sql(sql))?;
    let n = st.execute(rusqlite::params_from_iter(args.iter()))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Opens a connection that writes: WAL, `synchronous` as given (FULL for
/// what must survive a power loss), foreign keys on.
pub fn open_writer(path: &Path, synchronous: &str) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    wal_mode(&c)?;
    c.pragma_update(None, "synchronous", synchronous)?;
    c.pragma_update(None, "foreign_keys", true)?;
    Ok(c)
}

/// Puts the database in WAL mode. Converting a new file takes an exclusive
/// lock for which SQLite does not wait on its busy handler: when another
/// process opening the same new file at the same moment holds a lock, it
/// answers "locked" at once. So this waits and tries again, as long as the
/// busy timeout.
fn wal_mode(c: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

fn open_reader(path: &Path) -> rusqlite::Result<Arc<AsyncMutex<Connection>>> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.pragma_update(None, "query_only", true)?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    Ok(Arc::new(AsyncMutex::new(c)))
}

type AsyncMutex<T> = tokio::sync::Mutex<T>;
type Guard = tokio::sync::OwnedMutexGuard<Connection>;

/// A SQLite database: its readers and its writer.
pub struct Lite {
    path: PathBuf,
    readers: Vec<OnceLock<Arc<AsyncMutex<Connection>>>>,
    next: AtomicUsize,
    /// Opened on the first write: a console that only reads never opens it.
    writer: OnceLock<Arc<AsyncMutex<Connection>>>,
}

impl Lite {
    /// Opens the database at `path` (it must exist) with up to `readers`
    /// reader connections; the first is opened now, so an unreadable file
    /// fails at once.
    pub fn open(path: &Path, readers: usize) -> Result<Lite, StoreError> {
        let lite = Lite {
            path: path.to_path_buf(),
            readers: (0..readers.max(1)).map(|_| OnceLock::new()).collect(),
            next: AtomicUsize::new(0),
            writer: OnceLock::new(),
        };
        lite.slot(0)?;
        Ok(lite)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reader `i`, opened on first use. (Two first uses at once may both
    /// open it; the one not kept is closed.)
    fn slot(&self, i: usize) -> rusqlite::Result<&Arc<AsyncMutex<Connection>>> {
        if let Some(c) = self.readers[i].get() {
            return Ok(c);
        }
        let c = open_reader(&self.path)?;
        Ok(self.readers[i].get_or_init(|| c))
    }

    /// How many reader connections are open, and how many of them idle.
    pub fn reader_counts(&self) -> (u32, u32) {
        let open: Vec<_> = self.readers.iter().filter_map(OnceLock::get).collect();
        let idle = open.iter().filter(|m| m.try_lock().is_ok()).count();
        (
            u32::try_from(open.len()).unwrap_or(u32::MAX),
            u32::try_from(idle).unwrap_or(u32::MAX),
        )
    }

    /// A free reader: an open one first, else a new one, else it waits for
    /// one.
    pub async fn reader(&self) -> Result<Guard, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Some(slot) = self.readers[(start + i) % n].get()
                && let Ok(conn) = Arc::clone(slot).try_lock_owned()
            {
                return Ok(conn);
            }
        }
        if let Some(i) = (0..n).find(|&i| self.readers[i].get().is_none()) {
            let slot = self.slot(i)?;
            if let Ok(conn) = Arc::clone(slot).try_lock_owned() {
                return Ok(conn);
            }
        }
        Ok(Arc::clone(self.slot(start % n)?).lock_owned().await)
    }

    fn writer(&self) -> Result<Arc<AsyncMutex<Connection>>, StoreError> {
        if let Some(w) = self.writer.get() {
            return Ok(Arc::clone(w));
        }
        let w = Arc::new(AsyncMutex::new(open_writer(&self.path, "FULL")?));
        Ok(Arc::clone(self.writer.get_or_init(|| w)))
    }

    /// Starts a write transaction that takes the write lock at once, so a
    /// read-then-write never fails with SQLITE_BUSY half-way.
    pub async fn begin(&self) -> Result<LiteTx, StoreError> {
        let conn = self.writer()?.lock_owned().await;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(LiteTx { conn, done: false })
    }

    /// Starts a read transaction on a reader: its statements see one
    /// snapshot.
    pub async fn begin_read(&self) -> Result<LiteTx, StoreError> {
        let conn = self.reader().await?;
        conn.execute_batch("BEGIN")?;
        Ok(LiteTx { conn, done: false })
    }

    /// One write, committed on its own.
    pub async fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let conn = self.writer()?.lock_owned().await;
        exec(&conn, sql, args)
    }

    /// Runs `f` on the writer connection outside any transaction (schema
    /// work, checkpoints).
    pub async fn with_writer<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let conn = self.writer()?.lock_owned().await;
        f(&conn)
    }

    /// Runs `f` on a reader.
    pub async fn with_reader<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let conn = self.reader().await?;
        f(&conn)
    }
}

/// A write transaction on the writer connection.
pub struct LiteTx {
    conn: Guard,
    done: bool,
}

impl LiteTx {
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn commit(mut self) -> Result<(), StoreError> {
        self.done = true;
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for LiteTx {
    fn drop(&mut self) {
        if !self.done && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The migrations recorded as applied, as sqlx records them.
fn applied(c: &Connection) -> rusqlite::Result<Vec<(i64, Vec<u8>, bool)>> {
    let mut st =
        c.prepare("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

fn wanted(migrator: &sqlx::migrate::Migrator) -> Vec<&sqlx::migrate::Migration> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect()
}

/// Whether every migration of `migrator` is applied (the same versions and
/// checksums, each successful). Unreadable counts as not applied.
pub fn migrations_current(c: &Connection, migrator: &sqlx::migrate::Migrator) -> bool {
    let Ok(done) = applied(c) else {
        return false;
    };
    let wanted = wanted(migrator);
    done.len() == wanted.len()
        && done.iter().zip(&wanted).all(|((version, sum, ok), m)| {
            *ok && *version == m.version && sum.as_slice() == m.checksum.as_ref()
        })
}

/// Applies what is missing of `migrator`, in one exclusive transaction: a
/// second process starting at the same time waits for it, then finds the
/// work done. Records them in `_sqlx_migrations` as sqlx does, so a store
/// migrated by an earlier build reads as current.
pub fn migrate(c: &Connection, migrator: &sqlx::migrate::Migrator) -> Result<(), StoreError> {
    let fail = |e: rusqlite::Error| StoreError::Migrate(e.to_string());
    c.execute_batch("BEGIN EXCLUSIVE").map_err(fail)?;
    let result = (|| {
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                success BOOLEAN NOT NULL,
                checksum BLOB NOT NULL,
                execution_time BIGINT NOT NULL
            )",
        )
        .map_err(fail)?;
        let done = applied(c).map_err(fail)?;
        let wanted = wanted(migrator);
        for (version, sum, ok) in &done {
            let Some(m) = wanted.iter().find(|m| m.version == *version) else {
                return Err(StoreError::Migrate(format!(
                    "the database has migration {version}, which this build does not know: it was written by a newer Switchboard"
                )));
            };
            if !ok {
                return Err(StoreError::Migrate(format!(
                    "migration {version} ({}) did not complete earlier; restore a backup",
                    m.description
                )));
            }
            if sum.as_slice() != m.checksum.as_ref() {
                return Err(StoreError::Migrate(format!(
                    "migration {version} ({}) was applied from a different text than this build's",
                    m.description
                )));
            }
        }
        for m in wanted {
            if done.iter().any(|(v, _, _)| *v == m.version) {
                continue;
            }
            let started = std::time::Instant::now();
            c.execute_batch(&m.sql).map_err(|e| {
                StoreError::Migrate(format!("migration {} ({}): {e}", m.version, m.description))
            })?;
            c.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES (?1, ?2, TRUE, ?3, ?4)",
                rusqlite::params![
                    m.version,
                    &*m.description,
                    &*m.checksum,
                    i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)
                ],
            )
            .map_err(fail)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => c.execute_batch("COMMIT").map_err(fail),
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
