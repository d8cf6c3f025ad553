//! Token writes (issue, refresh), the hottest writes of a served backend,
//! each engine its own way of not paying a durable commit per request.
//!
//! - SQLite: one dedicated connection that batches whatever is waiting into
//!   one transaction (group commit), committing with `synchronous=NORMAL`.
//! - PostgreSQL: one statement per issuance, committing with
//!   `synchronous_commit = off` (set for that statement's transaction
//!   only); PostgreSQL groups the commits.
//!
//! Either way a crash may forget the last tokens issued (their clients
//! simply ask again), never a revocation: revocations commit durably on the
//! main connections, and that flush makes every earlier commit durable too.
//!
//! Each issuance also revokes the connection's oldest tokens past its
//! live-token cap, in the same transaction (statement), so a client that
//! asks again and again cannot grow the table without bound.
//!
//! Every insert is conditional on the connection's `credential_version`
//! being the one the request was checked against, and holds the connection
//! row while it writes (SQLite serialises writers; PostgreSQL's `FOR SHARE`
//! makes a regeneration wait for it, and its revocation then sees the
//! token), so a token can never outlive a regeneration that revoked its
//! credential (R6, R7).

use std::sync::mpsc;

use rusqlite::{Connection as Sqlite, OptionalExtension};
use tokio::sync::oneshot;

use super::StoreError;
use super::db::postgres::{Fast, is_unavailable};
use super::db::sqlite::{Lite, open_writer};

/// The rows of one issuance: an access and a refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub connection_id: i64,
    /// The credential version the client was authenticated against.
    pub credential_version: i64,
    /// The grant the pair belongs to; a refresh keeps its grant.
    pub grant_id: i64,
    pub access_verifier_mac: String,
    pub refresh_verifier_mac: String,
    pub now_ms: i64,
    pub access_expires_ms: i64,
    pub refresh_expires_ms: i64,
    /// The most tokens (access and refresh) the connection keeps: writing
    /// this pair revokes the oldest past it (issue 14).
    pub live_cap: u32,
}

/// The row ids of a written pair (the tokens' selectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedIds {
    pub access: u64,
    pub refresh: u64,
}

/// A refresh token to consume: its row id and verifier digest.
#[derive(Debug, Clone)]
pub struct OldRefresh {
    pub id: u64,
    pub verifier_mac: String,
}

type Reply = oneshot::Sender<Result<Option<IssuedIds>, StoreError>>;

pub enum Job {
    Issue(TokenPair, Reply),
    Refresh {
        old: OldRefresh,
        pair: TokenPair,
        reply: Reply,
    },
}

/// Most jobs one transaction takes.
const BATCH: usize = 256;

/// The SQLite token writer: a thread with its own connection.
pub struct TokenWriter {
    jobs: mpsc::Sender<Job>,
}

impl TokenWriter {
    pub fn open(lite: &Lite) -> Result<TokenWriter, StoreError> {
        let conn = open_writer(lite.path(), "NORMAL")?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("token-writer".to_string())
            .spawn(move || run(conn, rx))
            .map_err(|error| StoreError::Io {
                path: "token writer thread".to_string(),
                error,
            })?;
        Ok(TokenWriter { jobs: tx })
    }

    async fn submit(
        &self,
        make: impl FnOnce(Reply) -> Job,
    ) -> Result<Option<IssuedIds>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(make(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Writes a new pair; `None` when the credential changed meanwhile.
    pub async fn issue(&self, pair: TokenPair) -> Result<Option<IssuedIds>, StoreError> {
        self.submit(|reply| Job::Issue(pair, reply)).await
    }

    /// Consumes a refresh token and writes its successor pair (in the old
    /// token's grant), atomically; `None` when the refresh token is unknown,
    /// used, expired, another connection's, or the credential changed.
    pub async fn refresh(
        &self,
        old: OldRefresh,
        pair: TokenPair,
    ) -> Result<Option<IssuedIds>, StoreError> {
        self.submit(|reply| Job::Refresh { old, pair, reply }).await
    }
}

/// One statement: the connection row held `FOR SHARE` at the version the
/// client was checked against, the pair inserted, the activity noted (at
/// most once an hour), and for a refresh the old token consumed first (its
/// grant kept). Both ids NULL when nothing was written.
const PG_ISSUE: &str = "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
    old AS (
        DELETE FROM tokens WHERE $9 AND id = $10 AND verifier_mac = $11 AND kind = 'refresh'
            AND connection_id = $1 AND expires_at > $6
        RETURNING grant_id),
    g AS (SELECT grant_id FROM old UNION ALL SELECT $5 WHERE NOT $9),
    c AS (SELECT id FROM connections WHERE id = $1 AND credential_version = $2 FOR SHARE),
    a AS (INSERT INTO tokens (verifier_mac, connection_id, kind, grant_id, created_at, expires_at)
          SELECT $3, c.id, 'access', g.grant_id, $6, $7 FROM c, g RETURNING id),
    r AS (INSERT INTO tokens (verifier_mac, connection_id, kind, grant_id, created_at, expires_at)
          SELECT $4, c.id, 'refresh', g.grant_id, $6, $8 FROM c, g RETURNING id),
    -- The oldest past the cap (the snapshot does not hold this pair yet,
    -- hence $12 = cap - 2). Rows another issuance is trimming are skipped,
    -- so trims never wait on each other.
    d AS (DELETE FROM tokens WHERE id IN (
            SELECT id FROM tokens
            WHERE connection_id = $1 AND id <> $10 AND EXISTS (SELECT 1 FROM c, g)
              AND id <= (SELECT id FROM tokens WHERE connection_id = $1
                         ORDER BY id DESC OFFSET $12 LIMIT 1)
            FOR UPDATE SKIP LOCKED)),
    u AS (UPDATE connections SET last_activity_at = $6
          WHERE id IN (SELECT c.id FROM c, g)
            AND (last_activity_at IS NULL OR last_activity_at < $6 - 3600000))
    SELECT (SELECT id FROM a), (SELECT id FROM r) FROM relaxed";

/// Issues (or, with `old`, refreshes) on a fast connection.
pub async fn pg_issue(
    fast: &Fast,
    old: Option<&OldRefresh>,
    p: &TokenPair,
) -> Result<Option<IssuedIds>, StoreError> {
    let mut conn = fast.get().await?;
    let written: Result<(Option<i64>, Option<i64>), sqlx::Error> = sqlx::query_as(PG_ISSUE)
        .bind(p.connection_id)
        .bind(p.credential_version)
        .bind(&p.access_verifier_mac)
        .bind(&p.refresh_verifier_mac)
        .bind(p.grant_id)
        .bind(p.now_ms)
        .bind(p.access_expires_ms)
        .bind(p.refresh_expires_ms)
        .bind(old.is_some())
        .bind(old.map_or(0, |o| i64::try_from(o.id).unwrap_or(-1)))
        .bind(old.map_or("", |o| o.verifier_mac.as_str()))
        .bind(i64::from(p.live_cap.max(2)) - 2)
        .fetch_one(conn.conn())
        .await;
    if written.as_ref().is_err_and(is_unavailable) {
        conn.discard();
    }
    let (access, refresh) = written?;
    Ok(match (access, refresh) {
        (Some(a), Some(r)) => Some(IssuedIds {
            access: u64::try_from(a).unwrap_or(0),
            refresh: u64::try_from(r).unwrap_or(0),
        }),
        _ => None,
    })
}

fn gone() -> StoreError {
    StoreError::Io {
        path: "token writer".to_string(),
        error: std::io::Error::other("the token writer stopped"),
    }
}

const INSERT: &str = "INSERT INTO tokens
         (verifier_mac, connection_id, kind, grant_id, created_at, expires_at)
     SELECT ?1, id, ?2, ?3, ?4, ?5 FROM connections WHERE id = ?6 AND credential_version = ?7";

fn insert_pair(conn: &Sqlite, p: &TokenPair, grant_id: i64) -> rusqlite::Result<Option<IssuedIds>> {
    let mut stmt = conn.prepare_cached(INSERT)?;
    let mut insert = |mac: &str, kind: &str, expires: i64| -> rusqlite::Result<Option<u64>> {
        let n = stmt.execute(rusqlite::params![
            mac,
            kind,
            grant_id,
            p.now_ms,
            expires,
            p.connection_id,
            p.credential_version
        ])?;
        Ok((n == 1).then(|| u64::try_from(conn.last_insert_rowid()).unwrap_or(0)))
    };
    let Some(access) = insert(&p.access_verifier_mac, "access", p.access_expires_ms)? else {
        return Ok(None);
    };
    let Some(refresh) = insert(&p.refresh_verifier_mac, "refresh", p.refresh_expires_ms)? else {
        return Ok(None);
    };
    // R16b: activity, noted at most once an hour per connection.
    conn.prepare_cached(
        "UPDATE connections SET last_activity_at = ?1
         WHERE id = ?2 AND (last_activity_at IS NULL OR last_activity_at < ?1 - 3600000)",
    )?
    .execute(rusqlite::params![p.now_ms, p.connection_id])?;
    // The oldest tokens past the cap are revoked (issue 14).
    conn.prepare_cached(
        "DELETE FROM tokens WHERE connection_id = ?1 AND id <= (
             SELECT id FROM tokens WHERE connection_id = ?1
             ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(rusqlite::params![
        p.connection_id,
        i64::from(p.live_cap.max(2))
    ])?;
    Ok(Some(IssuedIds { access, refresh }))
}

fn apply(conn: &Sqlite, job: &Job) -> rusqlite::Result<Option<IssuedIds>> {
    match job {
        Job::Issue(pair, _) => insert_pair(conn, pair, pair.grant_id),
        Job::Refresh { old, pair, .. } => {
            let grant: Option<i64> = conn
                .prepare_cached(
                    "DELETE FROM tokens WHERE id = ?1 AND verifier_mac = ?2 AND kind = 'refresh'
                     AND connection_id = ?3 AND expires_at > ?4 RETURNING grant_id",
                )?
                .query_row(
                    rusqlite::params![
                        i64::try_from(old.id).unwrap_or(-1),
                        old.verifier_mac,
                        pair.connection_id,
                        pair.now_ms
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            match grant {
                Some(grant) => insert_pair(conn, pair, grant),
                None => Ok(None),
            }
        }
    }
}

fn reply(job: Job, result: Result<Option<IssuedIds>, StoreError>) {
    let tx = match job {
        Job::Issue(_, tx) | Job::Refresh { reply: tx, .. } => tx,
    };
    let _ = tx.send(result);
}

fn run(conn: Sqlite, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = run_batch(&conn, &batch);
        match results {
            Ok(results) => {
                for (job, r) in batch.into_iter().zip(results) {
                    reply(job, r.map_err(StoreError::Sqlite));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "token batch failed");
                for job in batch {
                    reply(
                        job,
                        Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                            Some("the token batch could not be committed".to_string()),
                        ))),
                    );
                }
            }
        }
    }
}

/// One transaction for the whole batch; each job's own failure is its own.
type JobResult = rusqlite::Result<Option<IssuedIds>>;

fn run_batch(conn: &Sqlite, batch: &[Job]) -> rusqlite::Result<Vec<JobResult>> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let results: Vec<_> = batch
        .iter()
        .map(|job| {
            // A job that fails half-way leaves nothing behind.
            conn.execute_batch("SAVEPOINT job")?;
            let r = apply(conn, job);
            conn.execute_batch(if r.is_ok() {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            })?;
            r
        })
        .collect();
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(results)
}
