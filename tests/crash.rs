//! Crash safety (issue 14): a real `switchboard serve`, under concurrent
//! creates of connections, regenerations of secrets and passwords and token
//! grants, is killed with SIGKILL at a random moment, restarted on the same
//! database (and the same key file), several times over. After every kill:
//!
//! * the database is checked as the crash left it: SQLite's
//!   `PRAGMA integrity_check` and `PRAGMA foreign_key_check` (on a copy of
//!   the file and its WAL, so that the restarted server recovers the real
//!   one itself); on PostgreSQL, `amcheck` (`bt_index_parent_check` with
//!   `heapallindexed` on every B-tree index, `verify_heapam` on every table)
//!   and every foreign key checked by a query;
//! * no change is half-done: every connection has exactly one create audit
//!   record, its `credential_version` is one more than its regeneration
//!   audit records, the account's connection count is the number of rows,
//!   no audit record or token names a connection that is missing;
//! * every acknowledged change is there, after the restart, over HTTP: each
//!   acknowledged create (same client id and username), the last
//!   acknowledged secret (revealed) and password (a password grant with the
//!   last acknowledged four credentials answers 200), every acknowledged
//!   access token that no later regeneration revoked;
//! * a change that was in flight when the server died (no answer) landed
//!   whole or not at all: a create is there or answers 404 (there, it is
//!   adopted: its secret revealed, a password regenerated, a token granted);
//!   a regeneration counts zero or one, and then the old secret (revealed)
//!   or the old password (refused with 400) says which; a change answered
//!   with an error is not there.
//!
//! Each connection is changed by one worker only, one request at a time, so
//! "the last acknowledged value" is well defined. The seed of the random
//! choices (operations, kill moments) is printed; `CRASH_SEED=<n>` replays
//! the same choices (thread timing still varies).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::stream::{self, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use switchboard::client::{Client, ClientError};
use switchboard::model::{NewConnection, Source};
use tempfile::TempDir;

mod common;
use common::{Engine, ServerProcess};

/// Kills (each followed by a restart and the checks).
const ROUNDS: usize = 6;
/// Concurrent clients during the load.
const WORKERS: usize = 4;
/// Creates one worker may make in one round, and connections it may own.
const CREATES_PER_ROUND: usize = 12;
const OWNED_MAX: usize = 70;
/// The most recent acknowledged tokens of a connection checked after a kill.
const TOKENS_KEPT: usize = 6;
/// A connection keeps 200 live tokens (100 grants) by default: a token is
/// only required to survive while fewer grants than this followed it.
const LIVE_GRANT_MARGIN: u64 = 80;
/// How long the load runs before the kill, in milliseconds.
const KILL_AFTER_MS: std::ops::Range<u64> = 200..1_400;

/// A connection as the test knows it: what the server acknowledged.
#[derive(Clone)]
struct Conn {
    code: String,
    owner: usize,
    client_id: String,
    username: String,
    secret: String,
    password: String,
    /// Acknowledged (or proven landed) regenerations.
    secret_regens: i64,
    password_regens: i64,
    /// A regeneration sent but never answered (the server died).
    pending: Option<Pending>,
    /// Acknowledged access tokens that no regeneration was sent since, with
    /// the number of the grant that made each.
    tokens: Vec<(String, u64)>,
    /// Grants sent for this connection (acknowledged or not).
    grants: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Secret,
    Password,
}

/// What the test knows between rounds.
#[derive(Default)]
struct State {
    conns: Vec<Conn>,
    /// Creates sent but never answered: (code, worker).
    uncertain_creates: Vec<(String, usize)>,
    /// Creates answered with an error.
    refused_creates: Vec<String>,
    /// Error answers seen during the load (for the report).
    refusals: Vec<String>,
    totals: Counts,
}

#[derive(Default, Clone, Copy, Debug)]
struct Counts {
    creates: u64,
    secrets: u64,
    passwords: u64,
    tokens: u64,
    rate_limited: u64,
    unanswered: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.creates += o.creates;
        self.secrets += o.secrets;
        self.passwords += o.passwords;
        self.tokens += o.tokens;
        self.rate_limited += o.rate_limited;
        self.unanswered += o.unanswered;
    }
}

/// Where the server and its database live.
struct Site {
    dir: TempDir,
    data: PathBuf,
    /// PostgreSQL: the schema's URL and the key file every start is given.
    pg: Option<(String, PathBuf)>,
}

impl Site {
    async fn new(engine: Engine) -> Site {
        let dir = tempfile::tempdir().unwrap();
        // tempfile's directories are 0755; the data directory must be 0700.
        let data = dir.path().join("data");
        common::private_dir(&data);
        let pg = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => {
                let url = common::pg::fresh_url().await;
                Some((url, make_key_file(dir.path())))
            }
        };
        Site { dir, data, pg }
    }

    /// `serve` on the site's database, its standard error in a file per start.
    fn start(&self, start: usize) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.arg("--data-dir").arg(&self.data);
        let key;
        let mut extra: Vec<&str> = Vec::new();
        if let Some((url, key_file)) = &self.pg {
            key = key_file.display().to_string();
            extra.extend(["--database", url.as_str(), "--key-file", key.as_str()]);
        }
        common::start_serve_with(
            cmd,
            &self.data,
            &extra,
            &self.data.join(format!("stderr.{start}")),
        )
    }

    /// The integrity checks and what the database holds, as it is now (the
    /// server stopped or dead).
    async fn inspect(&self, label: &str) -> Snapshot {
        match &self.pg {
            None => {
                let (db, _) = switchboard::store::sqlite_paths(&self.data);
                let scratch = self.dir.path().join(format!("inspect-{label}"));
                sqlite_inspect(&db, &scratch)
            }
            Some((url, _)) => pg_inspect(url).await,
        }
    }
}

/// The key file the PostgreSQL server is given on every start, made once
/// (as tests/instances.rs does).
fn make_key_file(dir: &Path) -> PathBuf {
    let seed = dir.join("seed");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(&seed)
        .args(["keyring", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let key = dir.join("shared.key");
    std::fs::copy(seed.join("switchboard.key"), &key).unwrap();
    key
}

// ----- the database, read directly ----------------------------------------

/// One connection row and its audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    client_id: String,
    username: String,
    credential_version: i64,
    creates: i64,
    secret_regens: i64,
    password_regens: i64,
}

#[derive(Debug)]
struct Snapshot {
    rows: BTreeMap<String, Row>,
    connection_count: i64,
    max_connections: i64,
    /// Audit targets `connection:<code>` whose connection is missing.
    orphan_audit: Vec<String>,
    /// Tokens whose connection is missing.
    orphan_tokens: i64,
}

const ROWS_SQL: &str = "SELECT c.code, c.client_id, c.username, c.credential_version,
    (SELECT COUNT(*) FROM audit a WHERE a.target = 'connection:' || c.code
        AND a.action = 'connection.create'),
    (SELECT COUNT(*) FROM audit a WHERE a.target = 'connection:' || c.code
        AND a.action = 'connection.secret.regenerate'),
    (SELECT COUNT(*) FROM audit a WHERE a.target = 'connection:' || c.code
        AND a.action = 'connection.password.regenerate')
 FROM connections c ORDER BY c.code";
const ACCOUNT_SQL: &str = "SELECT connection_count, max_connections FROM account WHERE id = 1";
const ORPHAN_AUDIT_SQL: &str = "SELECT DISTINCT a.target FROM audit a
 WHERE a.target LIKE 'connection:%'
   AND NOT EXISTS (SELECT 1 FROM connections c WHERE a.target = 'connection:' || c.code)";
const ORPHAN_TOKENS_SQL: &str = "SELECT COUNT(*) FROM tokens t
 WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.id = t.connection_id)";

/// `path` with `suffix` appended to its file name (`x.db` → `x.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Checks a copy of the SQLite file and its WAL as the crash left them (the
/// copy recovers the WAL as the restarted server will; the original is left
/// for the server to recover itself).
fn sqlite_inspect(db: &Path, scratch: &Path) -> Snapshot {
    std::fs::create_dir_all(scratch).unwrap();
    let copy = scratch.join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    let wal = with_suffix(db, "-wal");
    if wal.exists() {
        std::fs::copy(&wal, with_suffix(&copy, "-wal")).unwrap();
    }
    let c = rusqlite::Connection::open(&copy).unwrap();
    let integrity: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        integrity,
        vec!["ok".to_string()],
        "PRAGMA integrity_check of {} (copied to {})",
        db.display(),
        copy.display()
    );
    let broken: Vec<String> = c
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{} rowid {:?} -> {} (constraint {})",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(broken.is_empty(), "PRAGMA foreign_key_check: {broken:?}");
    let rows = c
        .prepare(ROWS_SQL)
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Row {
                    client_id: r.get(1)?,
                    username: r.get(2)?,
                    credential_version: r.get(3)?,
                    creates: r.get(4)?,
                    secret_regens: r.get(5)?,
                    password_regens: r.get(6)?,
                },
            ))
        })
        .unwrap()
        .collect::<Result<BTreeMap<_, _>, _>>()
        .unwrap();
    let (connection_count, max_connections) = c
        .query_row(ACCOUNT_SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let orphan_audit = c
        .prepare(ORPHAN_AUDIT_SQL)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let orphan_tokens = c.query_row(ORPHAN_TOKENS_SQL, [], |r| r.get(0)).unwrap();
    Snapshot {
        rows,
        connection_count,
        max_connections,
        orphan_audit,
        orphan_tokens,
    }
}

/// A foreign key: name, table, referenced table, columns, referenced columns.
type ForeignKey = (String, String, String, Vec<String>, Vec<String>);

/// PostgreSQL's counterpart: amcheck on every B-tree index (with the heap
/// cross-check) and every table of the test schema, and every foreign key
/// verified with a query; then what the schema holds.
async fn pg_inspect(url: &str) -> Snapshot {
    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use sqlx::{ConnectOptions, Connection};
    let options: PgConnectOptions = url.parse().unwrap();
    let options = options
        .application_name("switchboard-crash-check")
        .disable_statement_logging();
    let mut c = PgConnection::connect_with(&options).await.unwrap();
    // The dead server's sessions end when PostgreSQL notices the closed
    // sockets; a COMMIT it had sent may still be running until then.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name = 'switchboard'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} session(s) of the killed server still open after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public")
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "this test checks the database with PostgreSQL's amcheck extension \
                 (contrib, created by a superuser); it could not be created: {e}"
            )
        });
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_am am ON am.oid = c.relam
         WHERE n.nspname = current_schema() AND am.amname = 'btree' AND i.indisvalid",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(
        indexes.len() >= 10,
        "the schema's B-tree indexes were not found: {indexes:?}"
    );
    for index in &indexes {
        sqlx::query("SELECT public.bt_index_parent_check($1::text::regclass, true, true)")
            .bind(index)
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("amcheck of index {index}: {e}"));
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind = 'r'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "connections"), "{tables:?}");
    for table in &tables {
        let problems: Vec<String> = sqlx::query_scalar(
            "SELECT format('block %s, offset %s, attribute %s: %s', blkno, offnum, attnum, msg)
                 FROM public.verify_heapam($1::text::regclass)",
        )
        .bind(table)
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert!(problems.is_empty(), "verify_heapam({table}): {problems:?}");
    }
    // Every foreign key, checked row by row (no command does it for all).
    let fks: Vec<ForeignKey> = sqlx::query_as(
        "SELECT con.conname::text, con.conrelid::regclass::text, con.confrelid::regclass::text,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                  ORDER BY k.ord),
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                  ORDER BY k.ord)
         FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
         WHERE con.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(
        fks.iter()
            .any(|(_, child, parent, _, _)| child == "tokens" && parent == "connections"),
        "the schema's foreign keys were not found: {fks:?}"
    );
    for (name, child, parent, cols, parent_cols) in &fks {
        let not_null = cols
            .iter()
            .map(|c| format!("ch.\"{c}\" IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let matches = cols
            .iter()
            .zip(parent_cols)
            .map(|(c, p)| format!("pa.\"{p}\" = ch.\"{c}\""))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT COUNT(*) FROM {child} ch WHERE {not_null}
             AND NOT EXISTS (SELECT 1 FROM {parent} pa WHERE {matches})"
        );
        let broken: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(
            broken, 0,
            "foreign key {name}: {broken} row(s) of {child} without their {parent}"
        );
    }
    let rows: Vec<(String, String, String, i64, i64, i64, i64)> =
        sqlx::query_as(ROWS_SQL).fetch_all(&mut c).await.unwrap();
    let rows = rows
        .into_iter()
        .map(
            |(code, client_id, username, cv, creates, secret, password)| {
                (
                    code,
                    Row {
                        client_id,
                        username,
                        credential_version: cv,
                        creates,
                        secret_regens: secret,
                        password_regens: password,
                    },
                )
            },
        )
        .collect();
    let (connection_count, max_connections): (i64, i64) =
        sqlx::query_as(ACCOUNT_SQL).fetch_one(&mut c).await.unwrap();
    let orphan_audit = sqlx::query_scalar(ORPHAN_AUDIT_SQL)
        .fetch_all(&mut c)
        .await
        .unwrap();
    let orphan_tokens = sqlx::query_scalar(ORPHAN_TOKENS_SQL)
        .fetch_one(&mut c)
        .await
        .unwrap();
    let _ = c.close().await;
    Snapshot {
        rows,
        connection_count,
        max_connections,
        orphan_audit,
        orphan_tokens,
    }
}

/// The checks on the database alone: nothing half-done, nothing lost,
/// nothing that was never asked for. A connection whose last regeneration
/// got no answer may count that one, or not.
fn reconcile(snap: &Snapshot, state: &State, when: &str) {
    assert_eq!(
        snap.connection_count,
        snap.rows.len() as i64,
        "{when}: account.connection_count is not the number of connections"
    );
    assert_eq!(
        snap.max_connections, 0,
        "{when}: the acknowledged max_connections = 0 was lost"
    );
    assert!(
        snap.orphan_audit.is_empty(),
        "{when}: audit records of connections that do not exist: {:?}",
        snap.orphan_audit
    );
    assert_eq!(
        snap.orphan_tokens, 0,
        "{when}: tokens of connections that do not exist"
    );
    for (code, row) in &snap.rows {
        assert_eq!(
            row.creates, 1,
            "{when}: {code} has {} create audit records",
            row.creates
        );
        assert_eq!(
            row.credential_version,
            1 + row.secret_regens + row.password_regens,
            "{when}: {code}: credential_version {} but {} secret and {} password regeneration audit records (half-done regeneration)",
            row.credential_version,
            row.secret_regens,
            row.password_regens
        );
    }
    let known: BTreeMap<&str, &Conn> = state.conns.iter().map(|c| (c.code.as_str(), c)).collect();
    let uncertain: BTreeSet<&str> = state
        .uncertain_creates
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    for code in snap.rows.keys() {
        assert!(
            known.contains_key(code.as_str()) || uncertain.contains(code.as_str()),
            "{when}: connection {code} exists but its create was refused or never sent"
        );
    }
    for code in &state.refused_creates {
        assert!(
            !snap.rows.contains_key(code),
            "{when}: the create of {code} was answered with an error, yet it is there"
        );
    }
    for c in &state.conns {
        let row = snap.rows.get(&c.code).unwrap_or_else(|| {
            panic!(
                "{when}: the acknowledged create of {} is lost (client id {})",
                c.code, c.client_id
            )
        });
        assert_eq!(row.client_id, c.client_id, "{when}: {}", c.code);
        assert_eq!(row.username, c.username, "{when}: {}", c.code);
        for (what, stored, acked, pending) in [
            (
                "secret",
                row.secret_regens,
                c.secret_regens,
                c.pending == Some(Pending::Secret),
            ),
            (
                "password",
                row.password_regens,
                c.password_regens,
                c.pending == Some(Pending::Password),
            ),
        ] {
            assert!(
                stored >= acked,
                "{when}: {}: {acked} acknowledged {what} regeneration(s), only {stored} stored: an acknowledged regeneration is lost",
                c.code
            );
            assert!(
                stored == acked || (pending && stored == acked + 1),
                "{when}: {}: {acked} acknowledged {what} regeneration(s) (unanswered one: {pending}), {stored} stored",
                c.code
            );
        }
    }
}

// ----- HTTP ----------------------------------------------------------------

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A password grant: status and body, or the transport error.
async fn grant(
    http: &reqwest::Client,
    url: &str,
    c: &Conn,
    secret: &str,
    password: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let body = json!({"grant_type": "password", "username": c.username, "password": password});
    let r = http
        .post(format!("{url}/api/oauth/v1/token"))
        .header("authorization", basic(&c.client_id, secret))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

async fn bearer_status(http: &reqwest::Client, url: &str, token: &str) -> u16 {
    http.get(format!("{url}/api/rest/v1"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn admin(url: &str) -> Client {
    let c = Client::http(url, None, None, Source::Cli).unwrap();
    c.login("alice", common::SERVE_OWNER_PASSWORD)
        .await
        .unwrap();
    c
}

/// How a change the load sent ended.
enum Outcome {
    /// No answer: it may or may not have landed.
    Unanswered,
    /// An error answer (5xx): it must not have landed.
    Refused,
}

fn outcome(e: &ClientError, what: &str) -> Outcome {
    match e {
        ClientError::Transport(_) => Outcome::Unanswered,
        ClientError::Api { status, .. } if *status >= 500 => Outcome::Refused,
        other => panic!("{what}: unexpected answer {:?}: {other}", other.status()),
    }
}

// ----- the load ------------------------------------------------------------

struct WorkerOut {
    conns: Vec<Conn>,
    uncertain_create: Option<String>,
    refused_creates: Vec<String>,
    refusals: Vec<String>,
    counts: Counts,
}

/// One client of the load: creates, regenerates and asks for tokens, one
/// request at a time, on its own connections only, until a request gets no
/// answer (the server was killed).
async fn worker(
    w: usize,
    round: usize,
    mut rng: StdRng,
    admin: Client,
    http: reqwest::Client,
    url: String,
    mut conns: Vec<Conn>,
) -> WorkerOut {
    let mut out = WorkerOut {
        conns: Vec::new(),
        uncertain_create: None,
        refused_creates: Vec::new(),
        refusals: Vec::new(),
        counts: Counts::default(),
    };
    let mut made = 0;
    loop {
        let can_create = made < CREATES_PER_ROUND && conns.len() < OWNED_MAX;
        if conns.is_empty() || (can_create && rng.random_bool(0.2)) {
            let code = format!("crash_{round}_{w}_{made}");
            made += 1;
            let new = NewConnection {
                label: format!("Crash {round} {w} {made}"),
                code: Some(code.clone()),
                ..Default::default()
            };
            match admin.create_connection(&new).await {
                Ok(created) => {
                    assert_eq!(created.connection.code, code);
                    out.counts.creates += 1;
                    conns.push(Conn {
                        code,
                        owner: w,
                        client_id: created.connection.client_id.clone(),
                        username: created.connection.username.clone(),
                        secret: created.secret.clone(),
                        password: created.password.clone(),
                        secret_regens: 0,
                        password_regens: 0,
                        pending: None,
                        tokens: Vec::new(),
                        grants: 0,
                    });
                }
                Err(e) => match outcome(&e, &format!("create {code}")) {
                    Outcome::Unanswered => {
                        out.counts.unanswered += 1;
                        out.uncertain_create = Some(code);
                        break;
                    }
                    Outcome::Refused => {
                        out.refusals.push(format!("create {code}: {e}"));
                        out.refused_creates.push(code);
                    }
                },
            }
            continue;
        }
        let i = rng.random_range(0..conns.len());
        let c = &mut conns[i];
        match rng.random_range(0..10) {
            0..=2 => {
                // Whether or not it lands, the tokens may be revoked.
                c.tokens.clear();
                match admin.regenerate_secret(&c.code).await {
                    Ok(r) => {
                        assert_eq!(r.client_id, c.client_id, "{}: the client id stays", c.code);
                        assert_ne!(r.secret, c.secret);
                        c.secret = r.secret.clone();
                        c.secret_regens += 1;
                        out.counts.secrets += 1;
                    }
                    Err(e) => match outcome(&e, &format!("secret of {}", c.code)) {
                        Outcome::Unanswered => {
                            out.counts.unanswered += 1;
                            c.pending = Some(Pending::Secret);
                            break;
                        }
                        Outcome::Refused => out.refusals.push(format!("secret {}: {e}", c.code)),
                    },
                }
            }
            3..=5 => {
                c.tokens.clear();
                match admin.regenerate_password(&c.code).await {
                    Ok(r) => {
                        assert_eq!(r.username, c.username, "{}: the username stays", c.code);
                        assert_ne!(r.password, c.password);
                        c.password = r.password.clone();
                        c.password_regens += 1;
                        out.counts.passwords += 1;
                    }
                    Err(e) => match outcome(&e, &format!("password of {}", c.code)) {
                        Outcome::Unanswered => {
                            out.counts.unanswered += 1;
                            c.pending = Some(Pending::Password);
                            break;
                        }
                        Outcome::Refused => out.refusals.push(format!("password {}: {e}", c.code)),
                    },
                }
            }
            _ => {
                c.grants += 1;
                let seq = c.grants;
                match grant(&http, &url, c, &c.secret, &c.password).await {
                    Ok((200, body)) => {
                        let token = body["access_token"].as_str().unwrap().to_string();
                        c.tokens.push((token, seq));
                        if c.tokens.len() > TOKENS_KEPT {
                            c.tokens.remove(0);
                        }
                        out.counts.tokens += 1;
                    }
                    Ok((429, _)) => out.counts.rate_limited += 1,
                    Ok((status, body)) if status >= 500 => out
                        .refusals
                        .push(format!("grant {}: {status} {body}", c.code)),
                    Ok((status, body)) => panic!(
                        "round {round}: the acknowledged credentials of {} were refused during the load: {status} {body}",
                        c.code
                    ),
                    Err(_) => {
                        out.counts.unanswered += 1;
                        break;
                    }
                }
            }
        }
    }
    out.conns = conns;
    out
}

// ----- after a restart -----------------------------------------------------

struct Ctx {
    admin: Client,
    http: reqwest::Client,
    url: String,
    when: String,
}

/// After a restart: the connection answers with what was acknowledged; an
/// unanswered regeneration is resolved (landed whole, or not at all).
async fn verify_conn(ctx: &Ctx, mut c: Conn, row: Row) -> (Conn, Option<(Pending, bool)>) {
    let when = &ctx.when;
    let got = ctx.admin.get_connection(&c.code).await.unwrap_or_else(|e| {
        panic!(
            "{when}: the acknowledged connection {} is not served: {e}",
            c.code
        )
    });
    assert_eq!(got.client_id, c.client_id, "{when}: {}", c.code);
    assert_eq!(got.username, c.username, "{when}: {}", c.code);
    let secret_landed = row.secret_regens > c.secret_regens;
    let password_landed = row.password_regens > c.password_regens;
    let revealed = ctx.admin.reveal_secret(&c.code).await.unwrap().secret;
    if secret_landed {
        assert_eq!(c.pending, Some(Pending::Secret));
        assert_ne!(
            revealed, c.secret,
            "{when}: {}: a secret regeneration is recorded but the secret is the old one (half-done)",
            c.code
        );
        c.secret = revealed;
        c.secret_regens += 1;
    } else {
        assert!(
            revealed == c.secret,
            "{when}: {}: the last acknowledged secret is lost (no regeneration recorded since; pending: {:?})",
            c.code,
            c.pending
        );
    }
    if password_landed {
        assert_eq!(c.pending, Some(Pending::Password));
        // The old password must be refused now: the regeneration is whole.
        c.grants += 1;
        let (status, body) = grant(&ctx.http, &ctx.url, &c, &c.secret, &c.password)
            .await
            .unwrap();
        assert_eq!(
            status, 400,
            "{when}: {}: a password regeneration is recorded but the old password still answers {status} {body} (half-done)",
            c.code
        );
        c.password_regens += 1;
        // Adopt a password the test knows.
        let r = ctx.admin.regenerate_password(&c.code).await.unwrap();
        c.password = r.password.clone();
        c.password_regens += 1;
    }
    let resolved = c
        .pending
        .take()
        .map(|p| (p, secret_landed || password_landed));
    // Every acknowledged token that nothing revoked still works.
    for (token, seq) in &c.tokens {
        if c.grants - seq < LIVE_GRANT_MARGIN {
            let status = bearer_status(&ctx.http, &ctx.url, token).await;
            assert_eq!(
                status, 200,
                "{when}: {}: an acknowledged access token (grant {seq} of {}) no regeneration revoked is refused",
                c.code, c.grants
            );
        }
    }
    // The last acknowledged credentials, all four together, work.
    c.grants += 1;
    let seq = c.grants;
    let (status, body) = grant(&ctx.http, &ctx.url, &c, &c.secret, &c.password)
        .await
        .unwrap();
    assert_eq!(
        status, 200,
        "{when}: {}: the last acknowledged client id, secret, username and password are refused: {body}",
        c.code
    );
    c.tokens
        .push((body["access_token"].as_str().unwrap().to_string(), seq));
    if c.tokens.len() > TOKENS_KEPT {
        c.tokens.remove(0);
    }
    (c, resolved)
}

/// A create that got no answer and landed: it is whole (its secret
/// decrypts, a new password and its client work).
async fn adopt(ctx: &Ctx, code: &str, owner: usize, row: &Row) -> Conn {
    let when = &ctx.when;
    let got = ctx
        .admin
        .get_connection(code)
        .await
        .unwrap_or_else(|e| panic!("{when}: {code} is in the database but not served: {e}"));
    assert_eq!(got.client_id, row.client_id);
    assert_eq!(
        (row.secret_regens, row.password_regens),
        (0, 0),
        "{when}: {code}: regenerated, yet never acknowledged"
    );
    let secret = ctx.admin.reveal_secret(code).await.unwrap().secret;
    let password = ctx.admin.regenerate_password(code).await.unwrap().password;
    let mut c = Conn {
        code: code.to_string(),
        owner,
        client_id: got.client_id,
        username: got.username,
        secret,
        password,
        secret_regens: 0,
        password_regens: 1,
        pending: None,
        tokens: Vec::new(),
        grants: 1,
    };
    let (status, body) = grant(&ctx.http, &ctx.url, &c, &c.secret, &c.password)
        .await
        .unwrap();
    assert_eq!(
        status, 200,
        "{when}: {code} (created, unanswered) is not usable: {body}"
    );
    c.tokens
        .push((body["access_token"].as_str().unwrap().to_string(), 1));
    c
}

/// Everything after a restart, against the snapshot taken after the kill.
async fn verify(ctx: &Ctx, snap: &Snapshot, state: &mut State) {
    let when = &ctx.when;
    reconcile(snap, state, when);
    // Acknowledged connections.
    let conns = std::mem::take(&mut state.conns);
    let verified: Vec<(Conn, Option<(Pending, bool)>)> = stream::iter(conns.into_iter().map(|c| {
        let row = snap.rows[&c.code].clone();
        verify_conn(ctx, c, row)
    }))
    .buffer_unordered(4)
    .collect()
    .await;
    let mut resolved = Vec::new();
    for (c, r) in verified {
        if let Some((p, landed)) = r {
            resolved.push(format!(
                "{p:?} of {}: {}",
                c.code,
                if landed { "landed" } else { "did not land" }
            ));
        }
        state.conns.push(c);
    }
    // Unanswered creates: there whole, or not at all.
    let mut adopted = 0;
    for (code, owner) in std::mem::take(&mut state.uncertain_creates) {
        match snap.rows.get(&code) {
            Some(row) => {
                let c = adopt(ctx, &code, owner, row).await;
                state.conns.push(c);
                adopted += 1;
            }
            None => {
                let e = ctx.admin.get_connection(&code).await.unwrap_err();
                assert_eq!(e.status(), Some(404), "{when}: {code}: {e}");
            }
        }
    }
    for code in std::mem::take(&mut state.refused_creates) {
        let e = ctx.admin.get_connection(&code).await.unwrap_err();
        assert_eq!(e.status(), Some(404), "{when}: refused create {code}: {e}");
    }
    state.conns.sort_by(|a, b| a.code.cmp(&b.code));
    // The served list and counts agree with the database.
    let page = ctx.admin.list_connections_page(0, None).await.unwrap();
    let listed: BTreeSet<String> = page.items.iter().map(|c| c.code.clone()).collect();
    let stored: BTreeSet<String> = snap.rows.keys().cloned().collect();
    assert_eq!(
        listed, stored,
        "{when}: the list is not what the database holds"
    );
    assert_eq!(page.total, stored.len() as u64, "{when}");
    let window = ctx.admin.list_connections_page(0, Some(3)).await.unwrap();
    assert_eq!(window.total, stored.len() as u64, "{when}: a page's total");
    assert_eq!(
        ctx.admin.quota().await.unwrap().count,
        stored.len() as u64,
        "{when}: the quota's count"
    );
    println!(
        "{when}: {} connections verified; unanswered creates that landed: {adopted}; unanswered regenerations: {resolved:?}",
        state.conns.len()
    );
}

fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(s) => s.trim().parse().expect("CRASH_SEED is a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_killed_with_sigkill_under_load_keeps_every_acknowledged_change(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let seed = seed();
    println!("crash test on {engine:?}: seed {seed} (replay the choices with CRASH_SEED={seed})");
    let began = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let site = Site::new(engine).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut state = State::default();
    let mut last: Option<Snapshot> = None;
    for round in 0..ROUNDS {
        let mut server = site.start(round);
        let url = server.url.clone();
        let admin = admin(&url).await;
        let ctx = Ctx {
            admin: admin.clone(),
            http: http.clone(),
            url: url.clone(),
            when: format!("{engine:?} seed {seed} restart {round}"),
        };
        match &last {
            Some(snap) => verify(&ctx, snap, &mut state).await,
            // Unlimited connections (an acknowledged change, checked too).
            None => assert_eq!(
                admin.set_max_connections(0).await.unwrap().max_connections,
                0
            ),
        }
        // The load: each worker on its own connections.
        let mut owned: Vec<Vec<Conn>> = vec![Vec::new(); WORKERS];
        for c in std::mem::take(&mut state.conns) {
            owned[c.owner].push(c);
        }
        let mut tasks = Vec::new();
        for (w, conns) in owned.into_iter().enumerate() {
            let worker_rng = StdRng::seed_from_u64(rng.random());
            tasks.push(tokio::spawn(worker(
                w,
                round,
                worker_rng,
                admin.clone(),
                http.clone(),
                url.clone(),
                conns,
            )));
        }
        let after = rng.random_range(KILL_AFTER_MS);
        tokio::time::sleep(Duration::from_millis(after)).await;
        server.child.kill().unwrap();
        let status = server.child.wait().unwrap();
        let mut counts = Counts::default();
        for (w, t) in tasks.into_iter().enumerate() {
            let out = match t.await {
                Ok(out) => out,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            state.conns.extend(out.conns);
            if let Some(code) = out.uncertain_create {
                state.uncertain_creates.push((code, w));
            }
            state.refused_creates.extend(out.refused_creates);
            state.refusals.extend(out.refusals);
            counts.add(out.counts);
        }
        state.totals.add(counts);
        println!(
            "{engine:?} round {round}: killed after {after} ms ({status}); acknowledged {} create(s), {} secret(s), {} password(s), {} token(s); {} rate-limited grant(s); {} request(s) unanswered",
            counts.creates,
            counts.secrets,
            counts.passwords,
            counts.tokens,
            counts.rate_limited,
            counts.unanswered
        );
        let snap = site.inspect(&format!("round{round}")).await;
        reconcile(
            &snap,
            &state,
            &format!("{engine:?} seed {seed} after kill {round}"),
        );
        last = Some(snap);
    }
    // A last restart: everything checked, then a graceful stop and the
    // database checked once more, every change now known exactly.
    let server = site.start(ROUNDS);
    let ctx = Ctx {
        admin: admin(&server.url).await,
        http: http.clone(),
        url: server.url.clone(),
        when: format!("{engine:?} seed {seed} final restart"),
    };
    verify(&ctx, last.as_ref().unwrap(), &mut state).await;
    server.stop();
    let snap = site.inspect("final").await;
    reconcile(
        &snap,
        &state,
        &format!("{engine:?} seed {seed} after the final stop"),
    );
    assert_eq!(
        snap.rows.len(),
        state.conns.len(),
        "every connection in the database is one the test knows exactly"
    );
    assert!(state.conns.iter().all(|c| c.pending.is_none()));
    let t = state.totals;
    assert!(
        t.creates > 0 && t.secrets + t.passwords > 0 && t.tokens > 0,
        "the load acknowledged too little to test anything: {t:?}"
    );
    if !state.refusals.is_empty() {
        println!(
            "{engine:?}: error answers during the load: {:?}",
            state.refusals
        );
    }
    println!(
        "crash test on {engine:?} (seed {seed}) passed in {:.1} s: {t:?}, {} connections",
        began.elapsed().as_secs_f64(),
        state.conns.len()
    );
}
