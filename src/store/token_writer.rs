//! Token writes (issue, refresh) on one dedicated SQLite connection that
//! batches whatever is waiting into one transaction (group commit), so token
//! issuance does not pay one commit per request.
//!
//! This connection commits with `synchronous=NORMAL`: a power loss may forget
//! the last tokens issued (their clients simply ask again), never a
//! revocation — revocations commit on the main pool with `synchronous=FULL`,
//! whose WAL sync also makes every earlier frame durable.
//!
//! Every insert is conditional on the connection's `credential_version`
//! being the one the request was checked against; SQLite serialises writers,
//! so a token can never be written after a regeneration that revoked its
//! credential (R6, R7).

use std::path::Path;
use std::sync::mpsc;

use rusqlite::{Connection as Sqlite, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use super::StoreError;

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

enum Job {
    Issue(TokenPair, Reply),
    Refresh {
        old: OldRefresh,
        pair: TokenPair,
        reply: Reply,
    },
}

/// Most jobs one transaction takes.
const BATCH: usize = 256;

pub struct TokenWriter {
    jobs: mpsc::Sender<Job>,
}

impl TokenWriter {
    pub fn open(path: &Path) -> Result<TokenWriter, StoreError> {
        let conn = Sqlite::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
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
                    reply(job, r.map_err(StoreError::Read));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "token batch failed");
                for job in batch {
                    reply(
                        job,
                        Err(StoreError::Read(rusqlite::Error::SqliteFailure(
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
