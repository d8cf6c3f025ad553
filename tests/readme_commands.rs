//! Every command in the README's shell blocks is run (issue 16, item 9): a
//! README whose own example fails misleads each reader who tries it.
//!
//! The commands are read from README.md: every ```sh block (also bash,
//! shell, console), `\` continuations joined, comment lines not run but
//! kept as the output the README shows after a command. Each command must
//! be one this file knows (`KNOWN`): a new or changed command fails
//! `every_readme_command_is_known` until it is covered here.
//!
//! `every_readme_command_runs` runs them in README order with bash, as a
//! reader would, in a prepared environment:
//! * `HOME` is a private directory (so `~/.local/share/switchboard` is the
//!   data directory, as on a reader's machine), `USER=readme`, no
//!   `SWITCHBOARD_*` variables;
//! * `switchboard` on `PATH` is the binary this test was built with, and a
//!   `cargo` shim maps `cargo run --release [-- ARGS]` to it, so no build
//!   runs inside the test; any other cargo command fails;
//! * a real `serve` (the README's own command) on a loopback port, the
//!   owner's one-time password read from its output; the shell variables
//!   the README's prose defines (`$CLIENT_ID`, `$SECRET`, `$USERNAME`,
//!   `$PASSWORD`) are a connection's real credentials from the admin API,
//!   and `$ACCESS_TOKEN` is the one the README's own token request
//!   answered; `erp_main` is a connection whose application (a real one on
//!   loopback) answers, then refuses;
//! * a fresh PostgreSQL database (127.0.0.1:5432, user postgres), dropped
//!   at the end.
//!
//! What is changed in a command before it runs, and only this: the
//! README's address `127.0.0.1:7878` becomes the test server's (a `serve`
//! without `--listen`, whose default that is, gets `--listen 127.0.0.1:0`;
//! the instances' `0.0.0.0:7878`/`7879` become `0.0.0.0:0`), the database
//! name `switchboard` a unique one, and `/etc/switchboard/` a directory of
//! the test's. Consoles run in tmux (as `tests/e2e_tmux.rs`), are checked
//! to show their first screen and quit with `q`, exit status 0; servers
//! run in the background, are checked to come up (and to answer
//! `/readyz`), and stop with SIGTERM, exit status 0. Every other command
//! must exit 0 (or as the README shows: `switchboard test` exits 1 when it
//! shows FAILED), and where the README shows output, the real output has
//! its shape (the same text, numbers aside; the token answer the same
//! fields, `…` standing for the rest of a value).
//!
//! Only checked, not run, because they would build or run the whole suite
//! inside it: `cargo test` (it is what `.ci/run` runs), `cargo bench` (each
//! benchmark the README names is a `[[bench]]` of Cargo.toml with its
//! file), and `cargo run --release --features screenshots --bin
//! render-screenshots` (the binary and its feature are declared, its
//! source exists).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::fake_app::FakeApp;
use serde_json::{Value, json};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// A command of the README.
#[derive(Debug, Clone)]
struct ReadmeCommand {
    /// As bash gets it (continuation lines joined).
    text: String,
    /// The README line it starts on.
    line: usize,
    /// The comment lines after it in its block: the output it shows.
    shown: Vec<String>,
}

/// What each command is, by its text (whitespace collapsed, a trailing
/// `# comment` left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Console,
    Serve,
    Login,
    ServerConsole,
    TestConnection,
    CreateDb,
    StoreCopy,
    CopyKey,
    InstanceA,
    InstanceB,
    Token,
    WebApiRoot,
    ProductSearch,
    ProductPatch,
    CargoTest,
    Quota,
    QuotaSet,
    CargoBench,
    Screenshots,
}

const KNOWN: &[(&str, Kind)] = &[
    ("cargo run --release", Kind::Console),
    ("cargo run --release -- serve", Kind::Serve),
    (
        "cargo run --release -- login http://127.0.0.1:7878",
        Kind::Login,
    ),
    (
        "cargo run --release -- --server http://127.0.0.1:7878",
        Kind::ServerConsole,
    ),
    ("switchboard test erp_main", Kind::TestConnection),
    (
        "createdb -h 127.0.0.1 -U postgres switchboard",
        Kind::CreateDb,
    ),
    (
        "cargo run --release -- store copy --to postgres://postgres@127.0.0.1/switchboard",
        Kind::StoreCopy,
    ),
    (
        "install -D -m 600 ~/.local/share/switchboard/switchboard.key /etc/switchboard/switchboard.key",
        Kind::CopyKey,
    ),
    (
        "cargo run --release -- serve --listen 0.0.0.0:7878 --database postgres://postgres@127.0.0.1/switchboard --key-file /etc/switchboard/switchboard.key",
        Kind::InstanceA,
    ),
    (
        "cargo run --release -- serve --listen 0.0.0.0:7879 --database postgres://postgres@127.0.0.1/switchboard --key-file /etc/switchboard/switchboard.key",
        Kind::InstanceB,
    ),
    (
        r#"curl -s -u "$CLIENT_ID:$SECRET" -H 'Content-Type: application/json' -d "{\"grant_type\":\"password\",\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" http://127.0.0.1:7878/api/oauth/v1/token"#,
        Kind::Token,
    ),
    (
        r#"curl -s -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:7878/api/rest/v1"#,
        Kind::WebApiRoot,
    ),
    (
        r#"curl -sG -H "Authorization: Bearer $ACCESS_TOKEN" --data-urlencode 'limit=10' --data-urlencode 'search={"categories":[{"operator":"IN CHILDREN","value":["footwear"]}]}' http://127.0.0.1:7878/api/rest/v1/products"#,
        Kind::ProductSearch,
    ),
    (
        r#"curl -s -X PATCH -H "Authorization: Bearer $ACCESS_TOKEN" -H 'Content-Type: application/json' -d '{"values":{"name":[{"locale":"en_US","scope":null,"data":"Aero 2, ocean blue"}]}}' http://127.0.0.1:7878/api/rest/v1/products/RS-AERO-2-BLU-42"#,
        Kind::ProductPatch,
    ),
    ("cargo test", Kind::CargoTest),
    ("cargo run --release -- quota", Kind::Quota),
    ("cargo run --release -- quota set 200", Kind::QuotaSet),
    ("cargo bench", Kind::CargoBench),
    (
        "cargo run --release --features screenshots --bin render-screenshots",
        Kind::Screenshots,
    ),
];

/// The languages of the README's fenced blocks that hold commands.
const SHELLS: [&str; 5] = ["sh", "bash", "shell", "console", "zsh"];

fn readme_commands() -> Vec<ReadmeCommand> {
    let readme = std::fs::read_to_string(format!("{MANIFEST}/README.md")).unwrap();
    let mut commands: Vec<ReadmeCommand> = Vec::new();
    // Inside a fence: whether it is a shell block; the index of its first
    // command.
    let mut fence: Option<(bool, usize)> = None;
    let mut continued = false;
    for (i, line) in readme.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            fence = match fence {
                None => Some((SHELLS.contains(&lang.trim()), commands.len())),
                Some(_) => None,
            };
            assert!(!continued, "README line {}: a `\\` ends its block", i + 1);
            continue;
        }
        let Some((true, first)) = fence else {
            continue;
        };
        let (body, more) = match trimmed.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (trimmed, false),
        };
        if continued {
            let last = commands.last_mut().unwrap();
            last.text.push(' ');
            last.text.push_str(body);
        } else if trimmed.is_empty() {
            continue;
        } else if trimmed.starts_with('#') {
            if commands.len() > first {
                commands.last_mut().unwrap().shown.push(line.to_string());
            }
            continue;
        } else {
            commands.push(ReadmeCommand {
                text: body.to_string(),
                line: i + 1,
                shown: Vec::new(),
            });
        }
        continued = more;
    }
    commands
}

/// The text a command is known by.
fn key(text: &str) -> String {
    let text = text.find(" #").map_or(text, |at| &text[..at]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn kind_of(command: &ReadmeCommand) -> Option<Kind> {
    let key = key(&command.text);
    KNOWN.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

#[test]
fn every_readme_command_is_known() {
    let commands = readme_commands();
    let unknown: Vec<String> = commands
        .iter()
        .filter(|c| kind_of(c).is_none())
        .map(|c| format!("README line {}: {}", c.line, c.text))
        .collect();
    assert!(
        unknown.is_empty(),
        "README commands tests/readme_commands.rs does not run; add them to KNOWN and to \
         every_readme_command_runs:\n{}",
        unknown.join("\n")
    );
    for (text, kind) in KNOWN {
        assert!(
            commands.iter().any(|c| kind_of(c) == Some(*kind)),
            "{kind:?} ({text}) is no longer in the README: take it out of KNOWN"
        );
    }
}

/// Whether `real` is `shown` but for numbers and runs of spaces.
fn same_shape(real: &str, shown: &str) -> bool {
    let norm = |s: &str| {
        let mut out = String::new();
        let mut digits = false;
        for word in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !digits {
                        out.push('0');
                    }
                    digits = true;
                } else {
                    out.push(c);
                    digits = false;
                }
            }
            digits = false;
        }
        out
    };
    norm(real) == norm(shown)
}

/// Whether JSON `real` has the fields of `shown`, whose strings may end in
/// `…` (then `real`'s starts with what comes before it).
fn same_json_shape(real: &Value, shown: &Value) -> bool {
    match (real, shown) {
        (Value::Object(r), Value::Object(s)) => {
            r.len() == s.len()
                && s.iter()
                    .all(|(k, v)| r.get(k).is_some_and(|rv| same_json_shape(rv, v)))
        }
        (Value::String(r), Value::String(s)) => match s.split_once('…') {
            Some((head, tail)) => r.starts_with(head) && r.ends_with(tail) && r.len() > head.len(),
            None => r == s,
        },
        (r, s) => r == s,
    }
}

/// What a command printed.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A command running in the background, its standard output read line by
/// line; killed if still running when dropped.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: PathBuf,
}

impl Background {
    /// Waits for a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line starting {prefix:?}; it printed:\n{}\n--- stderr\n{}",
                    self.seen.join("\n"),
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                ),
            }
        }
    }

    /// SIGTERM, as an operator would: it must exit 0.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit 40 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "a graceful stop exits 0, got {status}:\n{}",
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        );
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tmux server of this test; killed when dropped.
struct Tmux(String);

impl Tmux {
    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0, "capture-pane", "-p", "-J", "-t", "readme"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, needle: &str) -> String {
        common::wait_for_screen(|| self.capture(), needle)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .status();
    }
}

/// Drops the test's PostgreSQL database, also when the test fails.
struct Database(String);

impl Database {
    /// The database `name`, after dropping those of earlier runs that were
    /// killed before they could (`sbreadme_<pid>_…` of a process gone).
    fn new(name: &str) -> Database {
        let listed = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
            ])
            .arg(r"SELECT datname FROM pg_database WHERE datname LIKE 'sbreadme\_%'")
            .output();
        for old in listed
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
            .lines()
        {
            let pid = old.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                drop(Database(old.to_string()));
            }
        }
        Database(name.to_string())
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("dropdb")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "--if-exists",
                "--force",
            ])
            .arg(&self.0)
            .status();
    }
}

/// The prepared environment.
struct Sandbox {
    root: tempfile::TempDir,
    home: PathBuf,
    path: String,
    /// Shell variables the README's prose defines, exported to commands.
    vars: Vec<(&'static str, String)>,
    /// The unique name standing for the database `switchboard`.
    db: String,
    scripts: usize,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        common::private_dir(&home);
        let bin = root.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_switchboard"), bin.join("switchboard"))
            .unwrap();
        let shim = bin.join("cargo");
        std::fs::write(
            &shim,
            "#!/bin/sh\n\
             # `cargo run --release [-- ARGS]`: the switchboard binary the test was built with.\n\
             if [ \"$1\" = run ] && [ \"$2\" = --release ]; then\n\
             \x20 shift 2\n\
             \x20 if [ \"$#\" -eq 0 ]; then exec switchboard; fi\n\
             \x20 if [ \"$1\" = -- ]; then shift; exec switchboard \"$@\"; fi\n\
             fi\n\
             echo \"cargo shim of tests/readme_commands.rs: cargo $* is not run here\" >&2\n\
             exit 97\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Sandbox {
            db: format!("sbreadme_{}_{nanos:x}", std::process::id()),
            root,
            home,
            path,
            vars: Vec::new(),
            scripts: 0,
        }
    }

    /// The environment a reader's shell would have.
    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| !k.starts_with("SWITCHBOARD_") && !k.starts_with("XDG_"))
            .filter(|(k, _)| !matches!(k.as_str(), "HOME" | "USER" | "LOGNAME" | "PATH"))
            .collect();
        env.extend([
            ("HOME".into(), self.home.display().to_string()),
            ("USER".into(), "readme".into()),
            ("LOGNAME".into(), "readme".into()),
            ("PATH".into(), self.path.clone()),
            ("TERM".into(), "xterm-256color".into()),
        ]);
        env.extend(self.vars.iter().map(|(k, v)| (k.to_string(), v.clone())));
        env
    }

    fn bash(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .env_clear()
            .envs(self.env())
            .current_dir(self.root.path());
        cmd
    }

    /// Runs `script` with `input` on its standard input.
    fn run(&self, script: &str, input: &str) -> Ran {
        eprintln!("$ {script}");
        let mut child = self
            .bash(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let read = |r: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = BufReader::new(r).read_to_string(&mut s);
                s
            })
        };
        let out = read(Box::new(child.stdout.take().unwrap()));
        let err = read(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("`{script}` did not finish within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ran {
            status: status.code(),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }

    /// Runs `script`; it must exit 0.
    fn ok(&self, script: &str) -> Ran {
        let ran = self.run(script, "");
        assert_eq!(ran.status, Some(0), "`{script}`: {ran:?}");
        ran
    }

    /// Starts `script` in the background.
    fn spawn(&mut self, script: &str) -> Background {
        eprintln!("$ {script} &");
        self.scripts += 1;
        let stderr = self
            .root
            .path()
            .join(format!("background-{}.err", self.scripts));
        let mut child = self
            .bash(&format!("exec {script}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Background {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Runs the console `script` in a terminal (tmux), waits for every one
    /// of `screen`, quits with `q` and wants exit status 0.
    fn console(&mut self, script: &str, screen: &[&str]) {
        eprintln!("$ {script}   (in tmux)");
        self.scripts += 1;
        let file = self
            .root
            .path()
            .join(format!("console-{}.sh", self.scripts));
        let exports: String = self
            .env()
            .iter()
            .filter(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
            .collect();
        std::fs::write(
            &file,
            format!(
                "{exports}cd '{}'\n{script}\necho EXIT=$?\nsleep 60\n",
                self.root.path().display()
            ),
        )
        .unwrap();
        let tmux = Tmux(format!("sb-readme-{}-{}", std::process::id(), self.scripts));
        let status = Command::new("tmux")
            .args(["-L", &tmux.0, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "readme", "-x", "120", "-y", "36", "bash"])
            .arg(&file)
            .status()
            .expect("tmux must be installed (see .ci/run)");
        assert!(status.success(), "tmux could not start");
        for needle in screen {
            tmux.wait_for(needle);
        }
        let status = Command::new("tmux")
            .args(["-L", &tmux.0, "send-keys", "-t", "readme", "q"])
            .status()
            .unwrap();
        assert!(status.success());
        tmux.wait_for("EXIT=0");
    }

    /// The command with the README's server address replaced by `url`'s.
    fn at(&self, text: &str, url: &str) -> String {
        text.replace("http://127.0.0.1:7878", url.trim_end_matches('/'))
    }

    /// The command with the README's database name and key file directory
    /// replaced by the test's.
    fn postgres(&self, text: &str) -> String {
        text.replace(
            "postgres://postgres@127.0.0.1/switchboard",
            &format!("postgres://postgres@127.0.0.1/{}", self.db),
        )
        .replace(
            "-U postgres switchboard",
            &format!("-U postgres {}", self.db),
        )
        .replace(
            "/etc/switchboard/",
            &format!("{}/etc/switchboard/", self.root.path().display()),
        )
        .replace("0.0.0.0:7878", "0.0.0.0:0")
        .replace("0.0.0.0:7879", "0.0.0.0:0")
    }
}

/// What the test made through the admin API, once the server is up.
struct Prepared {
    http: reqwest::Client,
    session: String,
}

impl Prepared {
    async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, url).bearer_auth(&self.session);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// The URL a `Switchboard serves URL (…)` line names.
fn served_url(line: &str) -> String {
    line.trim_start_matches("Switchboard serves ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn every_readme_command_runs() {
    let commands = readme_commands();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The application `erp_main` reaches: /health answers 200, /denied 401.
    let app = rt.block_on(FakeApp::start());
    let mut s = Sandbox::new();
    let mut main: Option<(Background, String, String)> = None;
    let mut prepared: Option<Prepared> = None;
    let mut instances: Vec<Background> = Vec::new();
    let mut database: Option<Database> = None;
    let mut checked_only: Vec<String> = Vec::new();
    let started = Instant::now();
    for command in &commands {
        let kind = kind_of(command).unwrap_or_else(|| {
            panic!(
                "README line {}: not known here: {}",
                command.line, command.text
            )
        });
        eprintln!("README line {} ({kind:?})", command.line);
        let text = command.text.as_str();
        let url = main.as_ref().map(|(_, url, _)| url.clone());
        let needs_server = || url.clone().expect("the README's `serve` runs first");
        if matches!(
            kind,
            Kind::TestConnection | Kind::Token | Kind::ProductSearch | Kind::ProductPatch
        ) && prepared.is_none()
        {
            let (_, url, password) = main.as_ref().expect("the README's `serve` runs first");
            prepared = Some(rt.block_on(prepare(url, password, &app.url)));
            let p = prepared.as_ref().unwrap();
            let created = rt.block_on(p.call(
                reqwest::Method::POST,
                &format!("{url}/api/v1/connections"),
                Some(json!({"label": "README app", "code": "readme_app", "flow_type": "source"})),
            ));
            // The Web API calls below edit a footwear product.
            rt.block_on(p.call(
                reqwest::Method::PATCH,
                &format!("{url}/api/v1/connections/readme_app"),
                Some(json!({"role": "catalog_editor", "group": "suppliers"})),
            ));
            let c = &created["connection"];
            s.vars.extend([
                ("CLIENT_ID", c["client_id"].as_str().unwrap().to_string()),
                ("SECRET", created["secret"].as_str().unwrap().to_string()),
                ("USERNAME", c["username"].as_str().unwrap().to_string()),
                (
                    "PASSWORD",
                    created["password"].as_str().unwrap().to_string(),
                ),
            ]);
        }
        match kind {
            Kind::Console => s.console(text, &["No connections yet"]),
            Kind::Serve => {
                let mut server = s.spawn(&format!("{text} --listen 127.0.0.1:0"));
                let url = served_url(&server.wait_for("Switchboard serves "));
                let at = server
                    .seen
                    .iter()
                    .position(|l| l.starts_with("One-time setup password"))
                    .expect("a first start prints the owner's one-time password");
                let password = server.seen[at + 1].trim().to_string();
                assert!(
                    server.seen.iter().any(|l| l == "The owner is readme."),
                    "{:?}",
                    server.seen
                );
                // The address to log in at is where it listens (port 0
                // resolved), not the --listen argument.
                let hint = format!("Log in with `switchboard login {url}`, then change it with");
                assert!(server.seen.contains(&hint), "{:?}", server.seen);
                main = Some((server, url, password));
            }
            Kind::Login => {
                let url = needs_server();
                let password = &main.as_ref().unwrap().2;
                let script = s.at(text, &url);
                // It asks for the username, then the password.
                let ran = s.run(&script, &format!("readme\n{password}\n"));
                assert_eq!(ran.status, Some(0), "{ran:?}");
                assert!(
                    ran.stdout
                        .contains(&format!("Logged in to {url} as readme (owner)")),
                    "{ran:?}"
                );
            }
            Kind::ServerConsole => {
                let url = needs_server();
                s.console(
                    &s.at(text, &url),
                    &[&format!("server {url}"), "readme (owner)"],
                );
            }
            Kind::TestConnection => {
                let shown: Vec<&str> = command
                    .shown
                    .iter()
                    .map(|l| l.trim_start_matches('#'))
                    .collect();
                assert_eq!(shown.len(), 3, "the README shows a pass and a failure");
                let ran = s.run(text, "");
                assert_eq!(ran.status, Some(0), "{ran:?}");
                assert!(
                    same_shape(&ran.stdout, shown[0]),
                    "{ran:?}\nshown: {}",
                    shown[0]
                );
                // Then the application refuses: exit status 1, as shown.
                let url = needs_server();
                let p = prepared.as_ref().unwrap();
                rt.block_on(p.call(
                    reqwest::Method::PATCH,
                    &format!("{url}/api/v1/connections/erp_main"),
                    Some(json!({"application": {"base_url": app.url, "ping_path": "/denied", "auth": {"kind": "none"}}})),
                ));
                let (failed, status) = shown[2]
                    .rsplit_once("(exit status ")
                    .expect("the README shows the exit status of a failure");
                let status: i32 = status.trim_end_matches(')').parse().unwrap();
                let ran = s.run(text, "");
                assert_eq!(ran.status, Some(status), "{ran:?}");
                assert!(
                    same_shape(&ran.stdout, &format!("{}\n{failed}", shown[1])),
                    "{ran:?}\nshown:\n{}\n{failed}",
                    shown[1]
                );
            }
            Kind::CreateDb => {
                database = Some(Database::new(&s.db));
                s.ok(&s.postgres(text));
            }
            Kind::StoreCopy => {
                let ran = s.ok(&s.postgres(text));
                assert!(
                    ran.stdout
                        .contains(&format!("into postgres://postgres@127.0.0.1/{}:", s.db)),
                    "{ran:?}"
                );
            }
            Kind::CopyKey => {
                s.ok(&s.postgres(text));
                let copied = s.root.path().join("etc/switchboard/switchboard.key");
                assert_eq!(
                    std::fs::read(&copied).unwrap(),
                    std::fs::read(s.home.join(".local/share/switchboard/switchboard.key")).unwrap()
                );
            }
            Kind::InstanceA | Kind::InstanceB => {
                let mut instance = s.spawn(&s.postgres(text));
                let url = served_url(&instance.wait_for("Switchboard serves "));
                let url = url.replace("0.0.0.0", "127.0.0.1");
                let ready = rt.block_on(async {
                    reqwest::get(format!("{url}/readyz"))
                        .await
                        .unwrap()
                        .status()
                });
                assert_eq!(ready, 200, "{url}/readyz");
                // The copied store is there: its connections' secrets read.
                if let Some(p) = &prepared {
                    let login = rt.block_on(async {
                        p.http
                            .post(format!("{url}/api/oauth/v1/token"))
                            .basic_auth(var(&s, "CLIENT_ID"), Some(var(&s, "SECRET")))
                            .json(&json!({"grant_type": "password", "username": var(&s, "USERNAME"), "password": var(&s, "PASSWORD")}))
                            .send()
                            .await
                            .unwrap()
                            .status()
                    });
                    assert_eq!(login, 200, "a token from {url}");
                }
                instances.push(instance);
            }
            Kind::Token => {
                let url = needs_server();
                let ran = s.ok(&s.at(text, &url));
                let real: Value = serde_json::from_str(&ran.stdout)
                    .unwrap_or_else(|_| panic!("not JSON: {ran:?}"));
                let shown = command
                    .shown
                    .iter()
                    .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("→ "))
                    .expect("the README shows the token answer");
                let shown: Value = serde_json::from_str(shown).unwrap();
                assert!(same_json_shape(&real, &shown), "{real}\nshown: {shown}");
                s.vars.push((
                    "ACCESS_TOKEN",
                    real["access_token"].as_str().unwrap().to_string(),
                ));
            }
            Kind::WebApiRoot => {
                let url = needs_server();
                let ran = s.ok(&s.at(text, &url));
                let root: Value = serde_json::from_str(&ran.stdout)
                    .unwrap_or_else(|_| panic!("not JSON: {ran:?}"));
                let text = root.to_string();
                for route in ["pim_api_product_list", "pim_api_product_partial_update"] {
                    assert!(text.contains(route), "{route} not in {root}");
                }
            }
            Kind::ProductSearch => {
                let url = needs_server();
                let ran = s.ok(&s.at(text, &url));
                let page: Value = serde_json::from_str(&ran.stdout)
                    .unwrap_or_else(|_| panic!("not JSON: {ran:?}"));
                let items = page["_embedded"]["items"].as_array().expect("a page");
                assert!(
                    !items.is_empty() && items.len() <= 10,
                    "{} items: {page}",
                    items.len()
                );
                for item in items {
                    let categories = item["categories"].as_array().unwrap();
                    assert!(
                        categories.iter().any(|c| matches!(
                            c.as_str(),
                            Some("footwear" | "running_shoes" | "boots")
                        )),
                        "not footwear: {item}"
                    );
                }
            }
            Kind::ProductPatch => {
                let url = needs_server();
                let ran = s.ok(&s.at(text, &url));
                assert_eq!(ran.stdout, "", "204, no body: {ran:?}");
                let product = rt.block_on(async {
                    reqwest::Client::new()
                        .get(format!("{url}/api/rest/v1/products/RS-AERO-2-BLU-42"))
                        .bearer_auth(var(&s, "ACCESS_TOKEN"))
                        .send()
                        .await
                        .unwrap()
                        .json::<Value>()
                        .await
                        .unwrap()
                });
                let names = product["values"]["name"].as_array().unwrap();
                assert!(
                    names
                        .iter()
                        .any(|v| v["locale"] == "en_US" && v["data"] == "Aero 2, ocean blue"),
                    "{product}"
                );
            }
            Kind::Quota => {
                let ran = s.ok(text);
                assert!(
                    same_shape(&ran.stdout, "connections 0 · limit 0"),
                    "{ran:?}"
                );
            }
            Kind::QuotaSet => {
                let ran = s.ok(text);
                assert!(ran.stdout.ends_with("· limit 200\n"), "{ran:?}");
                let ran = s.ok("switchboard quota");
                assert!(ran.stdout.ends_with("· limit 200\n"), "{ran:?}");
            }
            Kind::CargoTest => {
                let ci = std::fs::read_to_string(format!("{MANIFEST}/.ci/run")).unwrap();
                assert!(
                    ci.lines().any(|l| l.trim() == "cargo test"),
                    ".ci/run runs `cargo test`"
                );
                checked_only.push(text.to_string());
            }
            Kind::CargoBench => {
                benches_exist();
                checked_only.push(text.to_string());
            }
            Kind::Screenshots => {
                screenshot_binary_exists();
                checked_only.push(text.to_string());
            }
        }
    }
    for instance in instances {
        instance.stop();
    }
    if let Some((server, _, _)) = main {
        server.stop();
    }
    drop(database);
    eprintln!(
        "ran {} README commands in {:.1} s; only checked: {checked_only:?}",
        commands.len() - checked_only.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        checked_only,
        [
            "cargo test",
            "cargo bench",
            "cargo run --release --features screenshots --bin render-screenshots"
        ],
        "only these are checked instead of run"
    );
}

fn var(s: &Sandbox, name: &str) -> String {
    s.vars
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("${name} is not set"))
}

/// Logs in as the owner, loads the demo workspace (its catalog is what
/// the products examples name) and makes `erp_main` with an application
/// that answers.
async fn prepare(url: &str, password: &str, app: &str) -> Prepared {
    let http = reqwest::Client::new();
    let session: Value = http
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": "readme", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let p = Prepared {
        http,
        session: session["token"].as_str().expect("a session").to_string(),
    };
    p.call(reqwest::Method::POST, &format!("{url}/api/v1/demo"), None)
        .await;
    p.call(
        reqwest::Method::POST,
        &format!("{url}/api/v1/connections"),
        Some(json!({
            "label": "ERP main",
            "code": "erp_main",
            "flow_type": "source",
            "application": {"base_url": app, "ping_path": "/health", "auth": {"kind": "none"}},
        })),
    )
    .await;
    p
}

/// `cargo bench`: the benchmarks the README names are Cargo.toml's, each
/// with its file.
fn benches_exist() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(format!("{MANIFEST}/Cargo.toml")).unwrap())
            .unwrap();
    let benches: Vec<&str> = manifest["bench"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    for name in &benches {
        assert!(
            Path::new(&format!("{MANIFEST}/benches/{name}.rs")).exists(),
            "benches/{name}.rs"
        );
    }
    let readme = std::fs::read_to_string(format!("{MANIFEST}/README.md")).unwrap();
    let mut named = 0;
    for part in readme.split("`benches/").skip(1) {
        let name = part.split(".rs`").next().unwrap();
        assert!(
            benches.contains(&name),
            "the README names benches/{name}.rs, which Cargo.toml does not declare"
        );
        named += 1;
    }
    assert!(named >= benches.len(), "the README names every benchmark");
}

/// The screenshot command: the binary, its feature and its source.
fn screenshot_binary_exists() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(format!("{MANIFEST}/Cargo.toml")).unwrap())
            .unwrap();
    let bin = manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"].as_str() == Some("render-screenshots"))
        .expect("[[bin]] render-screenshots");
    assert_eq!(
        bin["required-features"].as_array().unwrap()[0].as_str(),
        Some("screenshots")
    );
    assert!(manifest["features"].get("screenshots").is_some());
    assert!(Path::new(&format!("{MANIFEST}/{}", bin["path"].as_str().unwrap())).exists());
}
