//! Helpers shared by the test files (each uses some of them).

#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

/// A log sink that keeps everything written to it.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// A subscriber that writes every event, at every level, here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `switchboard serve` child process and the URL it serves; killed when
/// dropped, so a failing test leaves no server behind.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

impl ServerProcess {
    /// SIGTERM, as an operator would, and waits for the graceful exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "graceful shutdown exits 0, got {status}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub mod pg;

/// Which engine a test's store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A store on `engine`, its key file (and SQLite file) in `dir`: the
/// PostgreSQL one in a schema of its own in this test binary's database.
pub async fn open_store(engine: Engine, dir: &std::path::Path) -> switchboard::store::Store {
    use switchboard::store::{Location, PoolConfig, Store, sqlite_paths};
    let (db, key) = sqlite_paths(dir);
    let location = match engine {
        Engine::Sqlite => Location::Sqlite(db),
        Engine::Postgres => Location::Postgres(pg::fresh_url().await),
    };
    Store::open(&location, &key, PoolConfig::default())
        .await
        .unwrap()
}

/// The location a test's `serve` processes share on `engine`.
pub async fn location(engine: Engine, dir: &std::path::Path) -> String {
    match engine {
        Engine::Sqlite => dir.join("switchboard.db").display().to_string(),
        Engine::Postgres => pg::fresh_url().await,
    }
}
