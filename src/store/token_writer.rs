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

use rusqlite::{Connection as Sqlite, OpenFlags};
use tokio::sync::oneshot;

use super::StoreError;

/// The rows of one issuance: an access and a refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub connection_id: i64,
    /// The credential version the client was authenticated against.
    pub credential_version: i64,
    pub grant_id: i64,
    pub access_digest: String,
    pub refresh_digest: String,
    pub now_ms: i64,
    pub access_expires_ms: i64,
    pub refresh_expires_ms: i64,
}

enum Job {
    Issue(TokenPair, oneshot::Sender<Result<bool, StoreError>>),
    Refresh {
        old_refresh_digest: String,
        pair: TokenPair,
        reply: oneshot::Sender<Result<bool, StoreError>>,
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
        make: impl FnOnce(oneshot::Sender<Result<bool, StoreError>>) -> Job,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(make(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Writes a new pair; `false` when the credential changed meanwhile.
    pub async fn issue(&self, pair: TokenPair) -> Result<bool, StoreError> {
        self.submit(|reply| Job::Issue(pair, reply)).await
    }

    /// Consumes a refresh token and writes its successor pair, atomically;
    /// `false` when the refresh token is unknown, used, expired, another
    /// connection's, or the credential changed.
    pub async fn refresh(
        &self,
        old_refresh_digest: String,
        pair: TokenPair,
    ) -> Result<bool, StoreError> {
        self.submit(|reply| Job::Refresh {
            old_refresh_digest,
            pair,
            reply,
        })
        .await
    }
}

fn gone() -> StoreError {
    StoreError::Io {
        path: "token writer".to_string(),
        error: std::io::Error::other("the token writer stopped"),
    }
}

const INSERT: &str =
    "INSERT INTO tokens (digest, connection_id, kind, grant_id, created_at, expires_at)
     SELECT ?1, id, ?2, ?3, ?4, ?5 FROM connections WHERE id = ?6 AND credential_version = ?7";

fn insert_pair(conn: &Sqlite, p: &TokenPair) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(INSERT)?;
    let n = stmt.execute(rusqlite::params![
        p.access_digest,
        "access",
        p.grant_id,
        p.now_ms,
        p.access_expires_ms,
        p.connection_id,
        p.credential_version
    ])?;
    if n == 0 {
        return Ok(false);
    }
    stmt.execute(rusqlite::params![
        p.refresh_digest,
        "refresh",
        p.grant_id,
        p.now_ms,
        p.refresh_expires_ms,
        p.connection_id,
        p.credential_version
    ])?;
    Ok(true)
}

fn apply(conn: &Sqlite, job: &Job) -> rusqlite::Result<bool> {
    match job {
        Job::Issue(pair, _) => insert_pair(conn, pair),
        Job::Refresh {
            old_refresh_digest,
            pair,
            ..
        } => {
            let consumed = conn
                .prepare_cached(
                    "DELETE FROM tokens WHERE digest = ?1 AND kind = 'refresh'
                     AND connection_id = ?2 AND expires_at > ?3",
                )?
                .execute(rusqlite::params![
                    old_refresh_digest,
                    pair.connection_id,
                    pair.now_ms
                ])?;
            if consumed == 0 {
                return Ok(false);
            }
            insert_pair(conn, pair)
        }
    }
}

fn reply(job: Job, result: Result<bool, StoreError>) {
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
fn run_batch(conn: &Sqlite, batch: &[Job]) -> rusqlite::Result<Vec<rusqlite::Result<bool>>> {
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
