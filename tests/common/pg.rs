//! A fresh PostgreSQL database for the integration tests that run the store
//! on PostgreSQL.
//!
//! * One database per test binary, `sbtest_<pid>_<16 hex digits>`, created on
//!   first use on the server named by `SWITCHBOARD_TEST_PG` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`; its role must be allowed
//!   to CREATE DATABASE). Before creating it, leftovers of earlier runs that
//!   crashed (`sbtest_<pid>_*` whose process is gone, made on this host) are
//!   dropped.
//! * Each [`fresh_url`] / [`fresh_url_blocking`] call makes a new empty
//!   schema `t_<n>` in it and returns a URL whose every connection uses that
//!   schema alone (`?options=-c%20search_path%3Dt_<n>`, which sqlx 0.8's
//!   `PgConnectOptions` passes to the server as the libpq `options` startup
//!   parameter), so tests run in parallel threads without seeing each other.
//!   The store's migrations then create their tables, functions and
//!   `_sqlx_migrations` in that schema.
//! * The database is dropped (`DROP DATABASE … WITH (FORCE)`) when the test
//!   binary exits: an `atexit` hook runs the drop on a thread and runtime of
//!   its own, with a fresh connection. A run killed before that leaves the
//!   database behind for the next run's leftover sweep.
//! * If PostgreSQL does not answer, the test panics with the URL and how to
//!   start a server: these tests are never skipped silently.
//!
//! All the database work happens on short-lived threads with their own
//! current-thread tokio runtime, so the helpers work from a `#[tokio::test]`
//! of any flavour (paused clock included), from plain `#[test]`s, and after
//! `main` has returned.
//!
//! How this was checked (the crate did not compile while it was written):
//! this file, unchanged, was compiled (clippy-clean, rustfmt-clean) as a
//! module of a scratch crate on the same sqlx 0.8.6 / tokio / nix 0.30
//! versions, whose tests, against PostgreSQL 15:
//! (a) took 17 schemas from parallel threads, in `#[tokio::test]`s (current
//!     thread, multi thread, paused clock), in plain `#[test]`s and via
//!     `fresh_url_blocking` inside a runtime; applied
//!     `src/store/migrations/postgres` to each through sqlx's `Migrator`;
//!     checked with `current_schema()` and `to_regclass('_sqlx_migrations')`
//!     that each URL lands in its own, empty schema, also when
//!     `SWITCHBOARD_TEST_PG` carries `sslmode`, `application_name` and an
//!     `options=-c search_path=public` of its own;
//! (b) left no `sbtest_%` database behind after the binary exited, whether
//!     every test passed or one failed (libtest's `process::exit(101)`),
//!     with `--test-threads=1` too;
//! (c) after a `kill -9` of a run, the next run dropped its database; of
//!     planted leftovers, a dead pid with this host's comment (with a session
//!     still connected to it) and a dead pid without comment were dropped,
//!     another host's, pid 1's and a non-hex name were kept;
//! (d) with `SWITCHBOARD_TEST_PG=postgres://postgres:secret@127.0.0.1:1/postgres`
//!     every test failed with the "does not answer" message (password
//!     masked), and with a role lacking CREATEDB with the CREATE DATABASE
//!     error.
//! The statements were also run by hand in psql 15 (`LIKE 'sbtest\_%'`
//! matches a literal underscore; `DROP DATABASE IF EXISTS … WITH (FORCE)`
//! of a missing database only notices).

#![allow(dead_code)]

use std::ffi::c_int;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};

/// The environment variable that names the PostgreSQL server.
pub const ENV: &str = "SWITCHBOARD_TEST_PG";
/// The server used when [`ENV`] is unset.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long connecting, or one setup statement, may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The database of this test binary.
struct TestDb {
    /// The server URL the database was created from (its maintenance
    /// database is the one the drop connects to).
    server_url: String,
    name: String,
}

/// Set once; a failure is kept too, so that with no server every test fails
/// at once with the same message instead of each waiting for a timeout.
static DB: OnceLock<Result<TestDb, String>> = OnceLock::new();
static NEXT_SCHEMA: AtomicU64 = AtomicU64::new(1);

/// The server URL: `SWITCHBOARD_TEST_PG`, or [`DEFAULT_URL`].
pub fn server_url() -> String {
    std::env::var(ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// A URL on a new, empty schema of this binary's test database (created on
/// the first call). Panics if PostgreSQL does not answer.
pub async fn fresh_url() -> String {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("pg-test-setup".into())
        .spawn(move || {
            let _ = tx.send(new_schema());
        })
        .expect("spawning the PostgreSQL test setup thread");
    match rx.await {
        Ok(Ok(url)) => url,
        Ok(Err(message)) => panic!("{message}"),
        Err(_) => panic!("the PostgreSQL test setup thread died"),
    }
}

/// [`fresh_url`] for a synchronous test (it may also be called inside a
/// tokio runtime: it blocks the calling thread only).
pub fn fresh_url_blocking() -> String {
    let setup = std::thread::Builder::new()
        .name("pg-test-setup".into())
        .spawn(new_schema)
        .expect("spawning the PostgreSQL test setup thread");
    match setup.join() {
        Ok(Ok(url)) => url,
        Ok(Err(message)) => panic!("{message}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The name of this binary's test database (created if need be).
pub fn database_name() -> String {
    match database() {
        Ok(db) => db.name.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// Runs on a setup thread (no runtime of the caller's on it).
fn new_schema() -> Result<String, String> {
    let db = database()?;
    let schema = format!("t_{}", NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed));
    let url = url_for(&db.server_url, &db.name, None);
    block_on(async {
        let mut conn = connect(&url).await?;
        run(&mut conn, &format!("CREATE SCHEMA {schema}")).await?;
        let _ = conn.close().await;
        Ok(())
    })?;
    Ok(url_for(&db.server_url, &db.name, Some(&schema)))
}

/// Runs on a setup thread: the first caller creates the database, the
/// others wait for it.
fn database() -> Result<&'static TestDb, String> {
    DB.get_or_init(|| block_on(create_database()))
        .as_ref()
        .map_err(Clone::clone)
}

async fn create_database() -> Result<TestDb, String> {
    let server_url = server_url();
    let mut conn = connect(&server_url).await?;
    let pid = std::process::id();
    drop_leftovers(&mut conn, pid).await;

    let name = format!("sbtest_{pid}_{:016x}", random_u64());
    run(&mut conn, &format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| {
            format!(
                "{e}\n(the role of {} must be allowed to CREATE DATABASE)",
                redact(&server_url)
            )
        })?;
    // From here on the exit hook drops it, once `DB` holds it.
    register_drop_at_exit();
    // Which host made it, so that the leftover sweep of another host sharing
    // the server does not take its pid for a dead one.
    let _ = run(
        &mut conn,
        &format!("COMMENT ON DATABASE {name} IS '{}'", marker(pid)),
    )
    .await;
    // Commits need not wait for the disk: nothing here must survive a crash
    // of the server, and the migrations commit once per file per test.
    let _ = run(
        &mut conn,
        &format!("ALTER DATABASE {name} SET synchronous_commit = off"),
    )
    .await;
    let _ = conn.close().await;
    Ok(TestDb { server_url, name })
}

/// Drops `sbtest_<pid>_*` databases that a crashed earlier run left: made on
/// this host (or of unknown host) by a process that is no longer running (or
/// that had this process's pid: ours does not exist yet). Errors are ignored
/// (another binary may be sweeping the same leftovers).
async fn drop_leftovers(conn: &mut PgConnection, own_pid: u32) {
    let rows: Vec<(String, String)> = match sqlx::query_as(
        "SELECT CAST(datname AS TEXT), COALESCE(shobj_description(oid, 'pg_database'), '')
         FROM pg_database WHERE datname LIKE 'sbtest\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    {
        Ok(rows) => rows,
        Err(_) => return,
    };
    let host = hostname();
    for (name, comment) in rows {
        let Some(pid) = leftover_pid(&name) else {
            continue;
        };
        match comment_host(&comment) {
            Some(h) if h != host => continue,
            _ => {}
        }
        if pid != own_pid && process_alive(pid) {
            continue;
        }
        let _ = run(
            conn,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
    }
}

/// The pid in `sbtest_<pid>_<hex>`, if the name has that shape exactly.
fn leftover_pid(name: &str) -> Option<u32> {
    let (pid, hex) = name.strip_prefix("sbtest_")?.split_once('_')?;
    let shaped = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    shaped.then(|| pid.parse().ok()).flatten()
}

fn marker(pid: u32) -> String {
    // Quoted into a string literal: keep it to safe characters.
    let host: String = hostname()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    format!("switchboard test database; host={host}; pid={pid}")
}

fn comment_host(comment: &str) -> Option<&str> {
    comment
        .split("; ")
        .find_map(|part| part.strip_prefix("host="))
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .collect()
        })
        .unwrap_or_default()
}

fn process_alive(pid: u32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // Signal 0: no signal, only the existence and permission checks.
    !matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH))
}

/// Random enough for a name: std's per-process random hash keys.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

unsafe extern "C" {
    // The C library's; std links it on every platform it supports.
    fn atexit(callback: extern "C" fn()) -> c_int;
}

fn register_drop_at_exit() {
    // SAFETY: registers a function with no preconditions, once per process
    // (`create_database` runs once, inside `DB`'s initialisation).
    let status = unsafe { atexit(drop_at_exit) };
    if status != 0 {
        eprintln!("warning: could not register the drop of the PostgreSQL test database at exit");
    }
}

/// Runs after `main` has returned (or `process::exit`). Must not unwind: a
/// panic here would abort, so everything is caught and only reported.
extern "C" fn drop_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let Some(Ok(db)) = DB.get() else {
            return;
        };
        let server_url = db.server_url.clone();
        let name = db.name.clone();
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // A thread of its own: the main thread's thread-locals (tokio's
        // context among them) may be gone by now.
        let outcome = std::thread::Builder::new()
            .name("pg-test-drop".into())
            .spawn(move || {
                block_on(async {
                    let mut conn = connect(&server_url).await?;
                    run(&mut conn, &statement).await?;
                    let _ = conn.close().await;
                    Ok(())
                })
            })
            .map_err(|e| e.to_string())
            .and_then(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("the drop thread panicked".into()))
            });
        if let Err(e) = outcome {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "warning: the PostgreSQL test database {} was not dropped: {e}\n\
                 drop it by hand: psql '{}' -c 'DROP DATABASE {} WITH (FORCE)'",
                db.name,
                redact(&db.server_url),
                db.name
            );
        }
    });
}

/// Runs `fut` to completion on a current-thread runtime of its own. Called
/// only on threads this module spawned.
fn block_on<T>(fut: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a tokio runtime for the PostgreSQL test setup: {e}"))?
        .block_on(fut)
}

async fn connect(url: &str) -> Result<PgConnection, String> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| format!("{ENV}={}: not a PostgreSQL URL: {e}", redact(url)))?;
    // The setup statements stay out of the logs the tests capture.
    let options = options
        .application_name("switchboard-tests")
        .disable_statement_logging();
    match tokio::time::timeout(TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(not_answering(url, &e.to_string())),
        Err(_) => Err(not_answering(
            url,
            &format!("no answer within {} s", TIMEOUT.as_secs()),
        )),
    }
}

async fn run(conn: &mut PgConnection, statement: &str) -> Result<(), String> {
    match tokio::time::timeout(TIMEOUT, conn.execute(statement)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("PostgreSQL test setup: `{statement}` failed: {e}")),
        Err(_) => Err(format!(
            "PostgreSQL test setup: `{statement}` took more than {} s",
            TIMEOUT.as_secs()
        )),
    }
}

fn not_answering(url: &str, error: &str) -> String {
    format!(
        "PostgreSQL does not answer at {url} ({error}).\n\
         These tests need a PostgreSQL server (15 or later) whose role may CREATE DATABASE; \
         they are not skipped without one. Start one, for instance\n    \
         sudo pg_ctlcluster 15 main start\n\
         or\n    \
         docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15\n\
         or point {ENV} at one (default {DEFAULT_URL}).",
        url = redact(url),
    )
}

/// `server_url` with its database replaced by `database`, its query kept
/// (but `dbname`), and, with a schema, the `options` parameter that sets
/// `search_path` to that schema alone on every connection (sqlx appends
/// repeated `options` values, and the server applies `-c` settings in
/// order, so this one wins over any in `server_url`).
fn url_for(server_url: &str, database: &str, schema: Option<&str>) -> String {
    let server_url = server_url.split('#').next().unwrap_or(server_url);
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut url = format!("{}/{database}", &base[..path]);
    let mut params: Vec<String> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty() && !p.starts_with("dbname="))
        .map(str::to_owned)
        .collect();
    if let Some(schema) = schema {
        params.push(format!("options=-c%20search_path%3D{schema}"));
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    url
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}
