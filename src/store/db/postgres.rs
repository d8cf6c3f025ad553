//! The PostgreSQL engine, on sqlx. Several `serve` instances share one
//! database: every write transaction takes the same transaction-scoped
//! advisory lock first, so writers serialise across instances as they do on
//! SQLite, and everything an instance keeps in memory is checked against
//! the database on each request.
//!
//! Transactions run on sqlx's pool. Single statements (the hot reads: a
//! token, a client, a session; autocommit writes; token issuance) run on
//! connections of our own ([`Fast`]): sqlx's pool pings a connection each
//! time it is given back, which doubled the round trips of a one-statement
//! request. A connection that fails is dropped and opened again; a read is
//! tried once more on a fresh connection before the request gets a 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Connection as _;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Decode, Executor, Postgres, Row as _, TypeInfo, ValueRef};

use super::{Arg, Col, Row, Val};
use crate::store::StoreError;

/// The advisory lock every write transaction holds (an arbitrary number:
/// "SWBD" in ASCII).
const WRITE_LOCK: i64 = 0x5357_4244;

/// How the pool is sized and how long a request waits for a connection
/// (connecting included) before it is answered 503.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

pub struct Pg {
    pool: PgPool,
    fast: Fast,
}

type Slot = Arc<tokio::sync::Mutex<Option<sqlx::PgConnection>>>;

/// Connections for single statements, opened on first use, each used by
/// one statement at a time.
pub struct Fast {
    slots: Vec<Slot>,
    next: AtomicUsize,
    opts: PgConnectOptions,
    timeout: Duration,
}

/// A fast connection, held for one statement.
pub struct FastConn {
    guard: tokio::sync::OwnedMutexGuard<Option<sqlx::PgConnection>>,
}

impl FastConn {
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.guard
            .as_mut()
            .expect("a FastConn always holds an open connection")
    }

    /// Drops the connection after a failure, so the next use opens a new
    /// one.
    pub fn discard(&mut self) {
        *self.guard = None;
    }
}

impl Fast {
    fn new(opts: PgConnectOptions, config: PoolConfig) -> Fast {
        Fast {
            slots: (0..config.max_connections.max(1))
                .map(|_| Arc::new(tokio::sync::Mutex::new(None)))
                .collect(),
            next: AtomicUsize::new(0),
            opts,
            timeout: config.connect_timeout,
        }
    }

    /// A free connection (an open one first), opened when needed; waits
    /// at most the connect timeout.
    pub async fn get(&self) -> Result<FastConn, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.slots.len();
        let mut free_closed = None;
        let mut guard = None;
        for i in 0..n {
            if let Ok(g) = Arc::clone(&self.slots[(start + i) % n]).try_lock_owned() {
                if g.is_some() {
                    guard = Some(g);
                    break;
                }
                free_closed.get_or_insert(g);
            }
        }
        let mut guard = match (guard, free_closed) {
            (Some(g), _) | (None, Some(g)) => g,
            (None, None) => tokio::time::timeout(
                self.timeout,
                Arc::clone(&self.slots[start % n]).lock_owned(),
            )
            .await
            .map_err(|_| {
                StoreError::Unavailable("no database connection became free in time".into())
            })?,
        };
        if guard.is_none() {
            let conn =
                tokio::time::timeout(self.timeout, sqlx::PgConnection::connect_with(&self.opts))
                    .await
                    .map_err(|_| StoreError::Unavailable("connecting timed out".into()))??;
            *guard = Some(conn);
        }
        Ok(FastConn { guard })
    }

    /// How many are open, and how many of those idle.
    fn counts(&self) -> (u32, u32) {
        let (mut open, mut idle) = (0u32, 0u32);
        for s in &self.slots {
            match s.try_lock() {
                Ok(g) if g.is_some() => {
                    open += 1;
                    idle += 1;
                }
                Ok(_) => {}
                Err(_) => open += 1,
            }
        }
        (open, idle)
    }
}

impl Pg {
    /// A pool on `url`; its connections open on first use.
    pub fn connect_lazy(url: &str, config: PoolConfig) -> Result<Pg, StoreError> {
        let opts: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::Config(format!("--database: {e}")))?;
        let opts = opts.application_name("switchboard");
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.connect_timeout)
            // A connection the server dropped (a restart, a terminated
            // backend) is found out by the ping and replaced.
            .test_before_acquire(true)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(opts.clone());
        Ok(Pg {
            pool,
            fast: Fast::new(opts, config),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn fast(&self) -> &Fast {
        &self.fast
    }

    /// Connections open and idle: the pool's and the fast ones together.
    pub fn counts(&self) -> (u32, u32) {
        let (open, idle) = self.fast.counts();
        let pool_idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        (open + self.pool.size(), idle + pool_idle)
    }

    /// A read of one statement on a fast connection; tried once more on a
    /// fresh connection when the first fails for want of the database (a
    /// restarted server, a terminated backend).
    pub async fn read<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut conn = self.fast.get().await?;
        let first = bind(sqlx::query(sql), args)
            .fetch_optional(conn.conn())
            .await;
        let found = match first {
            Err(e) if is_unavailable(&e) => {
                conn.discard();
                drop(conn);
                let mut conn = self.fast.get().await?;
                let again = bind(sqlx::query(sql), args)
                    .fetch_optional(conn.conn())
                    .await;
                if again.as_ref().is_err_and(is_unavailable) {
                    conn.discard();
                }
                again?
            }
            other => other?,
        };
        found.as_ref().map(|r| f(&Row::Pg(r))).transpose()
    }

    /// Every row of a one-statement read, as [`Pg::read`].
    pub async fn read_all<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut conn = self.fast.get().await?;
        let first = bind(sqlx::query(sql), args).fetch_all(conn.conn()).await;
        let found = match first {
            Err(e) if is_unavailable(&e) => {
                conn.discard();
                drop(conn);
                let mut conn = self.fast.get().await?;
                let again = bind(sqlx::query(sql), args).fetch_all(conn.conn()).await;
                if again.as_ref().is_err_and(is_unavailable) {
                    conn.discard();
                }
                again?
            }
            other => other?,
        };
        found.iter().map(|r| f(&Row::Pg(r))).collect()
    }

    /// One autocommit write on a fast connection (never tried twice: it
    /// may have been applied).
    pub async fn write(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let mut conn = self.fast.get().await?;
        let done = bind(sqlx::query(sql), args).execute(conn.conn()).await;
        if done.as_ref().is_err_and(is_unavailable) {
            conn.discard();
        }
        Ok(done?.rows_affected())
    }

    pub async fn begin(&self) -> Result<PgTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(PgTx { tx })
    }

    /// A read-only transaction whose statements see one snapshot.
    pub async fn begin_read(&self) -> Result<PgTx, StoreError> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        Ok(PgTx { tx })
    }
}

pub struct PgTx {
    tx: sqlx::Transaction<'static, Postgres>,
}

impl PgTx {
    pub(super) fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub(super) async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

fn bind<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    args: &[Arg<'q>],
) -> Query<'q, Postgres, PgArguments> {
    for a in args {
        q = match *a {
            Arg::Int(v) => q.bind(v),
            Arg::Real(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
        };
    }
    q
}

pub(super) async fn rows<'e, T>(
    ex: impl Executor<'e, Database = Postgres>,
    sql: &str,
    args: &[Arg<'_>],
    mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let found = bind(sqlx::query(sql), args).fetch_all(ex).await?;
    found.iter().map(|r| f(&Row::Pg(r))).collect()
}

pub(super) async fn opt<'e, T>(
    ex: impl Executor<'e, Database = Postgres>,
    sql: &str,
    args: &[Arg<'_>],
    f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let found = bind(sqlx::query(sql), args).fetch_optional(ex).await?;
    found.as_ref().map(|r| f(&Row::Pg(r))).transpose()
}

pub(super) async fn exec<'e>(
    ex: impl Executor<'e, Database = Postgres>,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<u64, StoreError> {
    Ok(bind(sqlx::query(sql), args)
        .execute(ex)
        .await?
        .rows_affected())
}

fn decode<'r, T: Decode<'r, Postgres>>(
    v: sqlx::postgres::PgValueRef<'r>,
    col: Col<'_>,
) -> Result<T, StoreError> {
    T::decode(v).map_err(|e| StoreError::Decode(format!("{col}: {e}")))
}

pub(super) fn val<'r>(r: &'r PgRow, col: Col<'_>) -> Result<Val<'r>, StoreError> {
    let v = match col {
        Col::At(i) => r.try_get_raw(i)?,
        Col::Named(n) => r.try_get_raw(n)?,
    };
    if v.is_null() {
        return Ok(Val::Null);
    }
    let ty = v.type_info().name().to_string();
    Ok(match ty.as_str() {
        "INT8" => Val::Int(decode::<i64>(v, col)?),
        "INT4" => Val::Int(i64::from(decode::<i32>(v, col)?)),
        "INT2" => Val::Int(i64::from(decode::<i16>(v, col)?)),
        "BOOL" => Val::Int(i64::from(decode::<bool>(v, col)?)),
        "FLOAT8" => Val::Real(decode::<f64>(v, col)?),
        "FLOAT4" => Val::Real(f64::from(decode::<f32>(v, col)?)),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Val::Text(decode::<&str>(v, col)?),
        "BYTEA" => Val::Blob(decode::<&[u8]>(v, col)?),
        other => {
            return Err(StoreError::Decode(format!(
                "{col}: a {other} value, which the store does not read"
            )));
        }
    })
}

/// Whether a sqlx error means the database cannot be reached (503) rather
/// than that a statement failed.
pub(crate) fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // Connection exceptions (08), too many connections (53300), the
            // server shutting down or the backend terminated (57P), the
            // database not accepting connections (55000), gone (3D000), or
            // refusing this role (28): the database cannot be used now.
            c.starts_with("08")
                || c.starts_with("57P")
                || c.starts_with("28")
                || matches!(c.as_ref(), "53300" | "55000" | "3D000")
        }),
        _ => false,
    }
}

/// Whether every migration of `migrator` is applied (the same versions and
/// checksums, each successful); false on a database never migrated.
pub async fn migrations_current(
    pool: &PgPool,
    migrator: &sqlx::migrate::Migrator,
) -> Result<bool, StoreError> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT CAST(to_regclass('_sqlx_migrations') AS TEXT)")
            .fetch_one(pool)
            .await?;
    if exists.is_none() {
        return Ok(false);
    }
    let done: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await?;
    let wanted: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    Ok(done.len() == wanted.len()
        && done.iter().zip(&wanted).all(|((version, sum, ok), m)| {
            *ok && *version == m.version && sum.as_slice() == m.checksum.as_ref()
        }))
}
