//! The real binary from the command line: what a user reads when something
//! is wrong (a keymap that binds one key twice, a command to a server without
//! a session), and a server log redirected to a file holds plain text.

mod common;
use common::ServerProcess;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary with a clean environment: nothing from the developer's shell
/// (a server, a log filter, `NO_COLOR`) changes what it does.
fn switchboard_command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for var in [
        "SWITCHBOARD_SERVER",
        "SWITCHBOARD_LOG",
        "SWITCHBOARD_CA_CERT",
        "SWITCHBOARD_CONFIG_DIR",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SWITCHBOARD_DATA_DIR", data_dir)
        .env("USER", "tester")
        .stdin(Stdio::null());
    cmd
}

/// Runs to the end, at most 60 s; (success, stdout + stderr).
fn run(mut cmd: Command) -> (bool, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the command did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_keymap_binding_one_key_to_two_actions_stops_the_start_naming_both() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let keymap = config.path().join("keymap.toml");
    // `j` keeps its default action, down, in the Connections tab.
    std::fs::write(&keymap, "[list]\ndelete = [\"j\"]\n").unwrap();
    let mut cmd = switchboard_command(data.path());
    cmd.env("SWITCHBOARD_CONFIG_DIR", config.path());
    let (ok, out) = run(cmd);
    assert!(!ok, "the console must not start:\n{out}");
    assert!(
        out.contains(&format!(
            "{}: [list] \"j\" is bound to both delete and down",
            keymap.display()
        )),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");

    // Moving `down` off `j` in the same file resolves it.
    std::fs::write(&keymap, "[list]\ndelete = [\"j\"]\ndown = [\"down\"]\n").unwrap();
    let mut cmd = switchboard_command(data.path());
    cmd.env("SWITCHBOARD_CONFIG_DIR", config.path()).arg("keys");
    let (ok, out) = run(cmd);
    assert!(ok, "{out}");
    assert!(out.contains("| `j` | delete"), "{out}");
}

/// `switchboard serve` on a free loopback port, its standard error going to
/// a file (as under a service manager).
fn start_server(data_dir: &Path, stderr_file: &Path) -> ServerProcess {
    common::start_serve_with(switchboard_command(data_dir), data_dir, &[], stderr_file)
}

#[test]
fn a_server_log_redirected_to_a_file_has_no_colour_codes() {
    let server_dir = tempfile::tempdir().unwrap();
    let cli_dir = tempfile::tempdir().unwrap();
    let password = server_dir.path().join("owner-password");
    std::fs::write(&password, "correct horse battery\n").unwrap();
    let wrong = server_dir.path().join("wrong-password");
    std::fs::write(&wrong, "not the password\n").unwrap();
    let log = server_dir.path().join("serve.log");
    let server = start_server(server_dir.path(), &log);
    // A failed login gives the server something to warn about.
    let mut cmd = switchboard_command(cli_dir.path());
    cmd.args([
        "login",
        &server.url,
        "--username",
        "alice",
        "--password-file",
    ])
    .arg(&wrong);
    let (ok, out) = run(cmd);
    assert!(!ok, "{out}");
    assert!(out.contains("wrong username or password"), "{out}");
    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("listening"), "the server logged:\n{text}");
    assert!(
        text.contains("/api/v1/session"),
        "requests are logged:\n{text}"
    );
    assert!(
        !text.contains("\x1b["),
        "no ANSI escape sequence in a redirected log:\n{text:?}"
    );
}

#[test]
fn a_cli_command_without_a_session_says_to_run_switchboard_login_with_the_url() {
    let server_dir = tempfile::tempdir().unwrap();
    let cli_dir = tempfile::tempdir().unwrap();
    let password = server_dir.path().join("owner-password");
    std::fs::write(&password, "correct horse battery\n").unwrap();
    let server = start_server(server_dir.path(), &server_dir.path().join("log"));
    let url = server.url.clone();
    let cli = |args: &[&str]| {
        let mut cmd = switchboard_command(cli_dir.path());
        cmd.args(["--server", &url]).args(args);
        run(cmd)
    };

    // Never logged in.
    let (ok, out) = cli(&["users", "list"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "not logged in to {url}: run `switchboard login {url}`"
        )),
        "{out}"
    );
    assert!(!out.contains("Authorization"), "no HTTP talk:\n{out}");

    // Logged in, then the session ends on the server (a new password ends
    // the user's sessions).
    let mut cmd = switchboard_command(cli_dir.path());
    cmd.args(["login", &url, "--username", "alice", "--password-file"])
        .arg(&password);
    let (ok, out) = run(cmd);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["users", "list"]);
    assert!(ok && out.contains("alice"), "{out}");
    let (ok, out) = cli(&["users", "set-password", "alice"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["quota"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "the session with {url} has ended or was refused: run `switchboard login {url}` again"
        )),
        "{out}"
    );

    // The HTTP API still tells an API user which request logs in.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(async {
            let client = switchboard::client::Client::http(
                &url,
                None,
                None,
                switchboard::model::Source::Cli,
            )
            .unwrap();
            client.list_connections().await
        })
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("unauthenticated"));
    assert!(err.to_string().contains("POST /api/v1/session"), "{err}");
    server.stop();
}

/// Issue 14: every file in the data directory is 0600 (the log file was
/// 0644), and a data directory others may read is used with a warning.
#[test]
fn the_log_file_is_private_and_an_open_data_directory_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    // A data directory Switchboard makes itself (0700).
    let data = tmp.path().join("data");
    let mut cmd = switchboard_command(&data);
    cmd.args(["users", "list"]);
    let (ok, out) = run(cmd);
    assert!(ok, "{out}");
    assert!(!out.contains("warning"), "{out}");
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
    }
    assert!(data.join("switchboard.log").exists());
    // A log file made before, readable by others, is made private again.
    let log = data.join("switchboard.log");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = switchboard_command(&data);
    cmd.args(["users", "list"]);
    let (ok, out) = run(cmd);
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: the data directory") && out.contains("chmod 700"),
        "{out}"
    );
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Issue 14: a bad TLS certificate is said before a database or an owner is
/// made.
#[test]
fn a_bad_certificate_is_refused_before_the_database_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cert = tmp.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let mut cmd = switchboard_command(&data);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--owner", "alice"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert);
    let (ok, out) = run(cmd);
    assert!(!ok, "{out}");
    assert!(out.contains("cannot use the TLS certificate"), "{out}");
    assert!(!data.join("switchboard.db").exists(), "a database was made");
    assert!(!out.contains("setup password"), "{out}");
}

/// Runs to the end, at most 60 s; (exit code, stdout + stderr).
fn run_code(mut cmd: Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// `switchboard test CODE` (R27), on the embedded store and with
/// `--server`: one line with what the application answered; exit 0 when
/// it passed, 1 when it did not (or there is nothing to test).
#[test]
fn switchboard_test_exits_0_when_the_application_answers_and_1_when_not() {
    use switchboard::client::Client;
    use switchboard::model::{Application, ApplicationAuth, NewConnection, Source};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(common::fake_app::FakeApp::start());
    let create = |client: Client| {
        let app_url = app.url.clone();
        async move {
            for (label, path) in [
                ("Cli Up", Some("/health")),
                ("Cli Refused", Some("/denied")),
                ("Cli Plain", None),
            ] {
                client
                    .create_connection(&NewConnection {
                        label: label.into(),
                        application: path.map(|p| {
                            Box::new(Application::new(
                                format!("{app_url}{p}"),
                                ApplicationAuth::none(),
                            ))
                        }),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        }
    };
    let check = |cli: &dyn Fn(&str) -> (Option<i32>, String)| {
        let (code, out) = cli("cli_up");
        assert_eq!(code, Some(0), "{out}");
        assert!(
            out.starts_with("ok      cli_up: the application answered HTTP 200 OK ("),
            "{out}"
        );
        let (code, out) = cli("cli_refused");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.starts_with(
                "FAILED  cli_refused: the application refused the credentials (HTTP 401 Unauthorized) ("
            ),
            "{out}"
        );
        assert!(
            out.contains("cli_refused is marked offline until a test passes."),
            "{out}"
        );
        assert!(
            !out.contains("switchboard:"),
            "said once, not twice:\n{out}"
        );
        let (code, out) = cli("cli_plain");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains("cli_plain has no application side to test"),
            "{out}"
        );
        let (code, out) = cli("nothing_here");
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains("connection \"nothing_here\" not found"),
            "{out}"
        );
    };

    // Embedded: the store in the data directory, as its owner.
    let data = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let client = Client::embedded(data.path(), "tester", Source::Cli)
            .await
            .unwrap();
        create(client).await;
    });
    check(&|code: &str| {
        let mut cmd = switchboard_command(data.path());
        cmd.args(["test", code]);
        run_code(cmd)
    });

    // A server, logged in.
    let server_dir = tempfile::tempdir().unwrap();
    let cli_dir = tempfile::tempdir().unwrap();
    let server = start_server(server_dir.path(), &server_dir.path().join("log"));
    let url = server.url.clone();
    rt.block_on(async {
        let client = Client::http(&url, None, None, Source::Cli).unwrap();
        client
            .login("alice", common::SERVE_OWNER_PASSWORD)
            .await
            .unwrap();
        create(client).await;
    });
    let password = server_dir.path().join("owner-password");
    let mut cmd = switchboard_command(cli_dir.path());
    cmd.args(["login", &url, "--username", "alice", "--password-file"])
        .arg(&password);
    let (ok, out) = run(cmd);
    assert!(ok, "{out}");
    check(&|code: &str| {
        let mut cmd = switchboard_command(cli_dir.path());
        cmd.args(["--server", &url, "test", code]);
        run_code(cmd)
    });
    server.stop();
}

/// `serve --test-deny` adds to the refused addresses, `--test-allow`
/// exempts, `--test-timeout` bounds a test: the options reach the tests.
#[test]
fn serve_test_options_deny_allow_and_time_out() {
    use switchboard::client::Client;
    use switchboard::model::{Application, ApplicationAuth, NewConnection, Source};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(common::fake_app::FakeApp::start());
    let tested = |extra: &[&str], path: &str| {
        let dir = tempfile::tempdir().unwrap();
        let server = common::start_serve_with(
            switchboard_command(dir.path()),
            dir.path(),
            extra,
            &dir.path().join("log"),
        );
        let result = rt.block_on(async {
            let client = Client::http(&server.url, None, None, Source::Cli).unwrap();
            client
                .login("alice", common::SERVE_OWNER_PASSWORD)
                .await
                .unwrap();
            let code = client
                .create_connection(&NewConnection {
                    label: "Served Test".into(),
                    application: Some(Box::new(Application::new(
                        format!("{}{path}", app.url),
                        ApplicationAuth::none(),
                    ))),
                    ..Default::default()
                })
                .await
                .unwrap()
                .connection
                .code;
            client.test_connection(&code).await.unwrap()
        });
        server.stop();
        result
    };
    let hits = app.hits();
    let t = tested(&["--test-deny", "127.0.0.0/8,::1"], "/health");
    assert!(
        !t.ok && t.message.starts_with("refused: 127.0.0.1,"),
        "{t:?}"
    );
    assert_eq!(app.hits(), hits, "no request reached the application");
    let t = tested(
        &["--test-deny", "127.0.0.0/8", "--test-allow", "127.0.0.1"],
        "/health",
    );
    assert!(t.ok, "{t:?}");
    let t = tested(&["--test-timeout", "1"], "/hang");
    assert_eq!(
        t.message,
        "no answer within 1 s (timed out): the application is down, overloaded or unreachable"
    );
    assert!((1_000..10_000).contains(&t.latency_ms), "{t:?}");
}
