//! R23's counters. A counted Web API call adds to an in-memory tally per
//! connection and UTC hour (sharded maps behind short locks: a few hundred
//! nanoseconds on the request path, no I/O). A writer writes the tallies as
//! upserts in one transaction at most a second after the first count it has
//! not written, when a reader asks (so a read sees every call answered
//! before it), and when the store closes (or, on SQLite, is dropped). With
//! nothing counted, the writer sleeps: an idle store costs no CPU.
//!
//! On SQLite the writer is a thread with its own connection, committing with
//! `synchronous=NORMAL`: a power loss may forget the last second of counts,
//! never corrupt them. On PostgreSQL it is a task on the server's runtime.
//! Several server instances on one database each keep their own tally;
//! their upserts add up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::Connection as Sqlite;
use sqlx::PgPool;
use tokio::sync::oneshot;

use super::db::{Db, Row, args, sqlite::open_writer, sqlite_sql};
use super::{Store, StoreError, from_millis};
use crate::domain::monitoring::{self as rules, DAY_MS};
use crate::model::EventCounts;

/// How often pending counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Independent locks; a connection's counts always go to the same one.
const SHARDS: usize = 16;

/// (connection id, first millisecond of the hour).
type Key = (i64, i64);

/// Counts not written yet.
#[derive(Default)]
struct Pending {
    shards: [Mutex<HashMap<Key, EventCounts>>; SHARDS],
    /// Set by the first count after a take: the writer is (being) woken.
    dirty: AtomicBool,
}

impl Pending {
    fn shard(&self, connection_id: i64) -> std::sync::MutexGuard<'_, HashMap<Key, EventCounts>> {
        let i = connection_id.rem_euclid(SHARDS as i64) as usize;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, key: Key, counts: &EventCounts) {
        rules::add(self.shard(key.0).entry(key).or_default(), counts);
    }

    /// Marks counts as pending; true when they were not already (the
    /// writer must be woken). A plain load first keeps the common case free
    /// of a contended read-modify-write.
    fn mark_dirty(&self) -> bool {
        !self.dirty.load(Ordering::SeqCst) && !self.dirty.swap(true, Ordering::SeqCst)
    }

    /// Everything pending, leaving nothing. A count added after the flag is
    /// cleared wakes the writer again, so none is left without a write
    /// coming.
    fn take(&self) -> Vec<(Key, EventCounts)> {
        self.dirty.store(false, Ordering::SeqCst);
        let mut all = Vec::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(PoisonError::into_inner));
            all.extend(taken);
        }
        all
    }

    /// Puts back what could not be written, to try again at the next flush.
    fn put_back(&self, batch: Vec<(Key, EventCounts)>) {
        for (key, counts) in batch {
            self.add(key, &counts);
        }
        self.dirty.store(true, Ordering::SeqCst);
    }

    fn forget(&self, connection_id: i64) {
        self.shard(connection_id)
            .retain(|(id, _), _| *id != connection_id);
    }
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

enum Command {
    /// Counts are pending: write them within [`FLUSH_EVERY`].
    Wake,
    /// Write what is pending now, and delete hours that start before
    /// `purge_before` when given.
    Flush {
        purge_before: Option<i64>,
        reply: Reply,
    },
}

/// Where the writer takes its commands.
enum Commands {
    Thread(mpsc::Sender<Command>),
    Task(tokio::sync::mpsc::UnboundedSender<Command>),
}

impl Commands {
    fn send(&self, c: Command) -> Result<(), StoreError> {
        match self {
            Commands::Thread(tx) => tx.send(c).map_err(|_| gone()),
            Commands::Task(tx) => tx.send(c).map_err(|_| gone()),
        }
    }
}

pub struct MonitorWriter {
    pending: Arc<Pending>,
    commands: Commands,
}

impl MonitorWriter {
    /// On PostgreSQL, must be called on the runtime (the writer is a task).
    pub fn open(db: &Db) -> Result<MonitorWriter, StoreError> {
        let pending = Arc::new(Pending::default());
        let shared = Arc::clone(&pending);
        let commands = match db {
            Db::Sqlite(lite) => {
                let conn = open_writer(lite.path(), "NORMAL")?;
                let (tx, rx) = mpsc::channel();
                std::thread::Builder::new()
                    .name("monitoring-writer".to_string())
                    .spawn(move || run(conn, shared, rx))
                    .map_err(|error| StoreError::Io {
                        path: "monitoring writer thread".to_string(),
                        error,
                    })?;
                Commands::Thread(tx)
            }
            Db::Postgres(pg) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let runtime =
                    tokio::runtime::Handle::try_current().map_err(|e| StoreError::Io {
                        path: "monitoring writer task".to_string(),
                        error: std::io::Error::other(e),
                    })?;
                runtime.spawn(run_pg(pg.pool().clone(), shared, rx));
                Commands::Task(tx)
            }
        };
        Ok(MonitorWriter { pending, commands })
    }

    /// Adds one call's counts to its connection's hour (no I/O).
    pub fn count(&self, connection_id: i64, hour_start_ms: i64, counts: &EventCounts) {
        self.pending.add((connection_id, hour_start_ms), counts);
        if self.pending.mark_dirty() {
            // A stopped writer is logged by `flush`; counting goes on.
            let _ = self.commands.send(Command::Wake);
        }
    }

    /// Writes everything counted so far (and purges when asked); returns
    /// once it is committed.
    pub async fn flush(&self, purge_before: Option<i64>) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Flush {
                purge_before,
                reply,
            })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Drops the pending counts of a deleted connection, so that a new
    /// connection given the same row id never inherits them.
    pub fn forget(&self, connection_id: i64) {
        self.pending.forget(connection_id);
    }
}

fn gone() -> StoreError {
    StoreError::Io {
        path: "monitoring writer".to_string(),
        error: std::io::Error::other("the monitoring writer stopped"),
    }
}

/// Adds to the hour's row; a connection deleted meanwhile gets nothing.
const UPSERT: &str = "INSERT INTO monitoring_hours (connection_id, hour_start, products_created,
         products_updated, products_read, business_errors, technical_errors)
     SELECT id, $2, $3, $4, $5, $6, $7 FROM connections WHERE id = $1
     ON CONFLICT (connection_id, hour_start) DO UPDATE SET
         products_created = monitoring_hours.products_created + excluded.products_created,
         products_updated = monitoring_hours.products_updated + excluded.products_updated,
         products_read = monitoring_hours.products_read + excluded.products_read,
         business_errors = monitoring_hours.business_errors + excluded.business_errors,
         technical_errors = monitoring_hours.technical_errors + excluded.technical_errors";

const PURGE: &str = "DELETE FROM monitoring_hours WHERE hour_start < $1";

fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn write(
    conn: &Sqlite,
    batch: &[(Key, EventCounts)],
    purge_before: Option<i64>,
) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let written = (|| {
        let mut upsert = conn.prepare_cached(&sqlite_sql(UPSERT))?;
        for ((connection_id, hour), c) in batch {
            upsert.execute(rusqlite::params![
                connection_id,
                hour,
                sql_int(c.created),
                sql_int(c.updated),
                sql_int(c.read),
                sql_int(c.business_errors),
                sql_int(c.technical_errors),
            ])?;
        }
        if let Some(cutoff) = purge_before {
            conn.prepare_cached(&sqlite_sql(PURGE))?.execute([cutoff])?;
        }
        conn.execute_batch("COMMIT")
    })();
    if written.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    written
}

fn flush(conn: &Sqlite, pending: &Pending, purge_before: Option<i64>) -> rusqlite::Result<()> {
    let batch = pending.take();
    if batch.is_empty() && purge_before.is_none() {
        return Ok(());
    }
    write(conn, &batch, purge_before).inspect_err(|_| pending.put_back(batch))
}

fn run(conn: Sqlite, pending: Arc<Pending>, commands: mpsc::Receiver<Command>) {
    // When the pending counts are due; none: sleep until woken.
    let mut due: Option<Instant> = None;
    loop {
        let next = match due {
            None => commands.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => commands.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match next {
            Ok(Command::Wake) => {
                due.get_or_insert_with(|| Instant::now() + FLUSH_EVERY);
            }
            Ok(Command::Flush {
                purge_before,
                reply,
            }) => {
                let result = flush(&conn, &pending, purge_before).map_err(StoreError::Sqlite);
                let _ = reply.send(result);
            }
            Err(RecvTimeoutError::Timeout) => {
                due = None;
                if let Err(e) = flush(&conn, &pending, None) {
                    tracing::error!(error = %e, "monitoring counts not written; retrying");
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                if let Err(e) = flush(&conn, &pending, None) {
                    tracing::error!(error = %e, "monitoring counts lost at shutdown");
                }
                return;
            }
        }
        // Counts put back after a failed write are retried a second later.
        if due.is_none() && pending.dirty.load(Ordering::SeqCst) {
            due = Some(Instant::now() + FLUSH_EVERY);
        }
    }
}

async fn write_pg(
    pool: &PgPool,
    batch: &[(Key, EventCounts)],
    purge_before: Option<i64>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for ((connection_id, hour), c) in batch {
        sqlx::query(UPSERT)
            .bind(connection_id)
            .bind(hour)
            .bind(sql_int(c.created))
            .bind(sql_int(c.updated))
            .bind(sql_int(c.read))
            .bind(sql_int(c.business_errors))
            .bind(sql_int(c.technical_errors))
            .execute(&mut *tx)
            .await?;
    }
    if let Some(cutoff) = purge_before {
        sqlx::query(PURGE).bind(cutoff).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn flush_pg(
    pool: &PgPool,
    pending: &Pending,
    purge_before: Option<i64>,
) -> Result<(), StoreError> {
    let batch = pending.take();
    if batch.is_empty() && purge_before.is_none() {
        return Ok(());
    }
    write_pg(pool, &batch, purge_before)
        .await
        .inspect_err(|_| pending.put_back(batch))
}

/// The PostgreSQL writer: the thread's loop, as a task.
async fn run_pg(
    pool: PgPool,
    pending: Arc<Pending>,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Command>,
) {
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        let next = match due {
            None => commands.recv().await,
            Some(at) => tokio::select! {
                c = commands.recv() => c,
                () = tokio::time::sleep_until(at) => {
                    due = None;
                    if let Err(e) = flush_pg(&pool, &pending, None).await {
                        tracing::error!(error = %e, "monitoring counts not written; retrying");
                    }
                    if pending.dirty.load(Ordering::SeqCst) {
                        due = Some(tokio::time::Instant::now() + FLUSH_EVERY);
                    }
                    continue;
                }
            },
        };
        match next {
            Some(Command::Wake) => {
                due.get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_EVERY);
            }
            Some(Command::Flush {
                purge_before,
                reply,
            }) => {
                let _ = reply.send(flush_pg(&pool, &pending, purge_before).await);
            }
            None => {
                if let Err(e) = flush_pg(&pool, &pending, None).await {
                    tracing::error!(error = %e, "monitoring counts lost at shutdown");
                }
                return;
            }
        }
        if due.is_none() && pending.dirty.load(Ordering::SeqCst) {
            due = Some(tokio::time::Instant::now() + FLUSH_EVERY);
        }
    }
}

fn counts_from_row(row: &Row<'_>, first: usize) -> Result<EventCounts, StoreError> {
    Ok(EventCounts {
        created: row.get(first)?,
        updated: row.get(first + 1)?,
        read: row.get(first + 2)?,
        business_errors: row.get(first + 3)?,
        technical_errors: row.get(first + 4)?,
    })
}

/// One connection's counts on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    pub code: String,
    /// Days since the epoch.
    pub day: i64,
    pub counts: EventCounts,
    /// Some of the day's hours are the demo workspace's made-up history.
    pub demo: bool,
}

impl Store {
    /// Counts one Web API call of a connection in the current hour of the
    /// store's clock (no I/O; written within [`FLUSH_EVERY`]).
    pub fn count_call(&self, connection_id: i64, counts: &EventCounts) {
        match self.monitor() {
            Ok(monitor) => {
                monitor.count(connection_id, rules::hour_start(self.now_millis()), counts)
            }
            // Counting never fails a call; the writer is tried again next time.
            Err(e) => tracing::error!(error = %e, "monitoring writer could not be opened"),
        }
    }

    /// Writes every count made so far and deletes the hours past the
    /// 30-day retention; returns once committed.
    pub async fn flush_monitoring(&self) -> Result<(), StoreError> {
        self.monitor()?
            .flush(Some(rules::retention_cutoff(self.now_millis())))
            .await
    }

    /// The written counts per connection and UTC day, for the days
    /// `from_day..=to_day` (days since the epoch); one connection's when
    /// `code` is given.
    pub async fn monitoring_days(
        &self,
        code: Option<&str>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<DayRow>, StoreError> {
        let filter = if code.is_some() {
            "m.connection_id = (SELECT id FROM connections WHERE code = $3)"
        } else {
            "$3 IS NULL"
        };
        self.db
            .rows(
                &format!(
                    "SELECT c.code, m.hour_start / {DAY_MS} AS day,
                        CAST(SUM(m.products_created) AS BIGINT),
                        CAST(SUM(m.products_updated) AS BIGINT),
                        CAST(SUM(m.products_read) AS BIGINT),
                        CAST(SUM(m.business_errors) AS BIGINT),
                        CAST(SUM(m.technical_errors) AS BIGINT), MAX(m.demo)
                     FROM monitoring_hours m JOIN connections c ON c.id = m.connection_id
                     WHERE {filter} AND m.hour_start >= $1 AND m.hour_start < $2
                     GROUP BY c.code, m.hour_start / {DAY_MS}"
                ),
                args![
                    from_day.saturating_mul(DAY_MS),
                    to_day.saturating_add(1).saturating_mul(DAY_MS),
                    code
                ],
                |r| {
                    Ok(DayRow {
                        code: r.get(0)?,
                        day: r.get(1)?,
                        counts: counts_from_row(r, 2)?,
                        demo: r.get(7)?,
                    })
                },
            )
            .await
    }

    /// The demo workspace's made-up history: hourly counts per connection
    /// code, marked as demo hours, in one transaction. An hour that already
    /// has counts keeps them.
    pub async fn insert_demo_monitoring(
        &self,
        hours: &[(String, i64, EventCounts)],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for (code, hour, c) in hours {
            tx.exec(
                "INSERT INTO monitoring_hours (connection_id, hour_start, products_created,
                     products_updated, products_read, business_errors, technical_errors, demo)
                 SELECT id, $2, $3, $4, $5, $6, $7, 1 FROM connections WHERE code = $1
                 ON CONFLICT (connection_id, hour_start) DO NOTHING",
                args![
                    code,
                    hour,
                    sql_int(c.created),
                    sql_int(c.updated),
                    sql_int(c.read),
                    sql_int(c.business_errors),
                    sql_int(c.technical_errors)
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The demo workspace's wrong-credentials warning (R24): connection
    /// `code`'s client id and secret came with `username` at `at_ms`.
    pub async fn insert_demo_wrong_credentials(
        &self,
        code: &str,
        username: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let done = tx
            .exec(
                "INSERT INTO wrong_credentials (connection_id, username, first_at, last_at, attempts)
                 SELECT id, $2, $3, $3, 1 FROM connections WHERE code = $1
                 ON CONFLICT (connection_id, username) DO NOTHING",
                args![code, username, at_ms],
            )
            .await?;
        if done > 0 {
            tx.exec(
                "UPDATE connections SET wrong_credentials_at = $2 WHERE code = $1",
                args![code, at_ms],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every written hour of a connection, oldest first (tests, diagnostics).
    pub async fn monitoring_hours(
        &self,
        code: &str,
    ) -> Result<Vec<(DateTime<Utc>, EventCounts)>, StoreError> {
        self.db
            .rows(
                "SELECT m.hour_start, m.products_created, m.products_updated, m.products_read,
                        m.business_errors, m.technical_errors
                 FROM monitoring_hours m JOIN connections c ON c.id = m.connection_id
                 WHERE c.code = $1 ORDER BY m.hour_start",
                args![code],
                |r| Ok((from_millis(r.get(0)?), counts_from_row(r, 1)?)),
            )
            .await
    }

    /// How many hourly rows the store holds, every connection's (tests: a
    /// deleted connection's go too).
    pub async fn all_monitoring_rows(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .db
            .one("SELECT COUNT(*) FROM monitoring_hours", args![], |r| {
                r.get(0)
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
