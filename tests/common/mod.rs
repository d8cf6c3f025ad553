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

/// The owner's password of the servers `start_serve` starts.
pub const SERVE_OWNER_PASSWORD: &str = "correct horse battery";

/// `switchboard serve` on a free loopback port, started with `cmd` (the
/// binary with its environment and `--data-dir` set), the owner `alice`
/// (password [`SERVE_OWNER_PASSWORD`], from a file in `data`) and `extra`
/// arguments, its standard error going to `stderr_file`. Waits until the
/// server says where it serves.
pub fn start_serve_with(
    mut cmd: Command,
    data: &std::path::Path,
    extra: &[&str],
    stderr_file: &std::path::Path,
) -> ServerProcess {
    use std::io::BufRead;
    private_dir(data);
    let password_file = data.join("owner-password");
    std::fs::write(&password_file, SERVE_OWNER_PASSWORD).unwrap();
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--owner", "alice"])
        .arg("--owner-password-file")
        .arg(&password_file)
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(stderr_file).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.strip_prefix("Switchboard serves ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(url) => ServerProcess { child, url },
        Err(_) => {
            let _ = child.kill();
            panic!(
                "the server did not say where it serves: {}",
                std::fs::read_to_string(stderr_file).unwrap_or_default()
            );
        }
    }
}

/// Makes `dir` (mode 0700, as Switchboard makes its own) if it is missing.
pub fn private_dir(dir: &std::path::Path) {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .unwrap();
    }
}

/// [`start_serve_with`] the plain binary on data directory `data`, its
/// standard error in `data/stderr`.
pub fn start_serve(data: &std::path::Path, extra: &[&str]) -> ServerProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("--data-dir").arg(data);
    private_dir(data);
    start_serve_with(cmd, data, extra, &data.join("stderr"))
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub mod fake_app;
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
    open_at(&location(engine, dir).await, dir).await
}

/// Opens the store at `location` with its key file in `dir` (for tests that
/// open a second store on the same database).
pub async fn open_at(
    location: &switchboard::store::Location,
    dir: &std::path::Path,
) -> switchboard::store::Store {
    let (_, key) = switchboard::store::sqlite_paths(dir);
    switchboard::store::Store::open(location, &key, switchboard::store::PoolConfig::default())
        .await
        .unwrap()
}

/// Where a test's store lives on `engine`: the SQLite file in `dir`, or a
/// fresh PostgreSQL schema.
pub async fn location(engine: Engine, dir: &std::path::Path) -> switchboard::store::Location {
    use switchboard::store::Location;
    match engine {
        Engine::Sqlite => Location::Sqlite(dir.join("switchboard.db")),
        Engine::Postgres => Location::Postgres(pg::fresh_url().await),
    }
}

/// What `capture` shows (a tmux pane) once it holds `needle`; fails the
/// test after 30 s, showing the screen.
pub fn wait_for_screen(capture: impl Fn() -> String, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let screen = capture();
        if screen.contains(needle) {
            return screen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {needle:?}; screen:\n{screen}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
