//! End to end: the real binary in a real terminal (tmux). Creates a
//! connection with keys, sees it listed, quits, and finds the terminal
//! restored; a restart finds the data again.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn start(data_dir: &Path, tag: &str) -> Tmux {
        Tmux::start_with(data_dir, tag, &[])
    }

    fn start_with(data_dir: &Path, tag: &str, args: &[&str]) -> Tmux {
        let socket = format!("sb-e2e-{}-{tag}", std::process::id());
        let session = "e2e".to_string();
        let bin = env!("CARGO_BIN_EXE_switchboard");
        let args: String = args.iter().map(|a| format!(" '{a}'")).collect();
        let script = format!(
            "env TERM=xterm-256color SWITCHBOARD_DATA_DIR='{}' USER=tester '{bin}'{args}; echo EXIT=$?; stty -a; sleep 60",
            data_dir.display()
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                &session,
            ])
            .args(["-x", "120", "-y", "36", "sh", "-c", &script])
            .status()
            .expect("tmux must be installed (see .ci/run)");
        assert!(status.success(), "tmux could not start");
        Tmux { socket, session }
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-J",
                "-t",
                &self.session,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
        // Let the app read the keys as separate events (Esc + key would
        // otherwise read as Alt-key).
        std::thread::sleep(Duration::from_millis(150));
    }

    fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "send-keys",
                "-l",
                "-t",
                &self.session,
                text,
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn create_a_connection_with_keys_quit_and_find_the_terminal_restored() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), "a");
    tmux.wait_for("No connections yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("Magento Storefront");
    tmux.wait_for("magento_storefront  (from the label)");
    tmux.keys(&["Enter"]);
    let modal = tmux.wait_for("shown only this once");
    assert!(
        modal.contains("sbp_"),
        "the password is shown once:\n{modal}"
    );
    tmux.keys(&["Escape"]);
    let list = tmux.wait_for("Connections · 1");
    assert!(list.contains("Magento Storefront"));
    assert!(
        !list.contains("sbp_"),
        "the password is gone after the modal closes"
    );
    tmux.keys(&["q"]);
    let after = tmux.wait_for("EXIT=0");
    // Cooked mode again: canonical input and echo are on.
    assert!(
        after.contains(" icanon") && !after.contains("-icanon"),
        "{after}"
    );
    assert!(
        after.contains(" echo ") && !after.contains("-echo "),
        "{after}"
    );
    assert!(
        !after.contains("Connections · 1"),
        "the alternate screen was left"
    );
    drop(tmux);

    // A restart finds the connection.
    let tmux = Tmux::start(dir.path(), "b");
    let screen = tmux.wait_for("Magento Storefront");
    assert!(screen.contains("magento_storefro"));
    tmux.keys(&["C-c"]);
    tmux.wait_for("EXIT=0");
}

#[test]
fn open_credentials_reveal_regenerate_the_secret_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), "cred");
    tmux.wait_for("No connections yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("Shop Credentials");
    tmux.wait_for("shop_credentials  (from the label)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("shown only this once");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Connections · 1");
    // Enter opens the Credentials tab for the connection.
    tmux.keys(&["Enter"]);
    let card = tmux.wait_for("Credentials · Shop Credentials");
    assert!(card.contains("••••••••"), "masked:\n{card}");
    tmux.wait_for("0 access / 0 refresh tokens live");
    // v shows the secret; the app masks it again by itself.
    tmux.keys(&["v"]);
    let shown = tmux.wait_for("hidden again in");
    assert!(shown.contains("sbs_"), "{shown}");
    let masked = tmux.wait_for("v shows it for 10 s");
    assert!(!masked.contains("sbs_"), "{masked}");
    // s, y: a new secret; the status says what happened.
    tmux.keys(&["s"]);
    tmux.wait_for("Regenerate the secret of Shop Credentials");
    tmux.keys(&["y"]);
    let after = tmux.wait_for("tokens revoked");
    assert!(
        after.contains("New secret for Shop Credentials; 0 tokens revoked"),
        "{after}"
    );
    tmux.keys(&["q"]);
    let after = tmux.wait_for("EXIT=0");
    assert!(
        after.contains(" icanon") && !after.contains("-icanon"),
        "{after}"
    );
    assert!(
        !after.contains("Credentials · Shop Credentials"),
        "the alternate screen was left"
    );
}

/// A `switchboard serve` process on a free loopback port.
struct ServerProcess {
    child: std::process::Child,
    url: String,
}

impl ServerProcess {
    fn start(data_dir: &Path, port: u16, password_file: &Path) -> ServerProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--owner", "alice", "--owner-password-file"])
            .arg(password_file)
            .env("SWITCHBOARD_DATA_DIR", data_dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        ServerProcess { child, url }
    }

    /// Stops it the way an operator would (SIGTERM) and waits.
    fn stop(mut self) {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_console_over_http_logs_in_creates_and_survives_a_server_restart() {
    let server_dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let password_file = server_dir.path().join("owner-password");
    std::fs::write(&password_file, "correct horse battery\n").unwrap();
    let port = free_port();
    let server = ServerProcess::start(server_dir.path(), port, &password_file);
    let url = server.url.clone();

    // `switchboard login URL` keeps the session in the client's data directory.
    let login = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["login", &url, "--username", "alice", "--password-file"])
        .arg(&password_file)
        .env("SWITCHBOARD_DATA_DIR", client_dir.path())
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert!(String::from_utf8_lossy(&login.stdout).contains("Logged in"));

    let tmux = Tmux::start_with(client_dir.path(), "http", &["--server", &url]);
    let screen = tmux.wait_for("No connections yet");
    assert!(screen.contains(&format!("server {url}")) && screen.contains("alice (owner)"));
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("Remote Shop");
    tmux.wait_for("remote_shop  (from the label)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("shown only this once");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Connections · 1");

    // The server goes away: a banner says so, and the console keeps working.
    server.stop();
    tmux.keys(&["C-r"]);
    tmux.wait_for("Cannot reach the server");
    // It comes back on the same database: the console recovers by itself.
    let server = ServerProcess::start(server_dir.path(), port, &password_file);
    let screen = tmux.wait_for("Reconnected");
    assert!(!screen.contains("Cannot reach the server"), "{screen}");
    assert!(screen.contains("Remote Shop"));
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
    drop(server);
}

/// The longest run of credential characters starting with `prefix`.
fn credential_on(screen: &str, prefix: &str) -> String {
    let start = screen
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} on screen:\n{screen}"));
    screen[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The issue's "done when": a connection made in the console gets a token
/// from `switchboard serve` through an ordinary HTTP client, and `s` in the
/// console makes the same call fail at once.
#[test]
fn r6_a_connection_made_in_the_console_gets_a_token_and_s_makes_it_fail_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("owner-password");
    std::fs::write(&password_file, "a long owner password\n").unwrap();
    let port = free_port();
    // The server and the embedded console share the data directory.
    let server = ServerProcess::start(dir.path(), port, &password_file);
    let tmux = Tmux::start(dir.path(), "done");
    tmux.wait_for("No connections yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("Done When App");
    tmux.wait_for("done_when_app  (from the label)");
    tmux.keys(&["Enter"]);
    let shown = tmux.wait_for("shown only this once");
    let client_id = credential_on(&shown, "sbc_");
    let secret = credential_on(&shown, "sbs_");
    let password = credential_on(&shown, "sbp_");
    let username = credential_on(&shown, "done_when_app_");
    assert_eq!(secret.len(), 4 + 43 + 6, "{shown}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Connections · 1");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let root = format!("{}/api/rest/v1", server.url);
    let token = rt.block_on(async {
        let resp = http
            .post(format!("{}/api/oauth/v1/token", server.url))
            .basic_auth(&client_id, Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", username.as_str()),
                ("password", password.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    });
    let call = |token: &str| {
        rt.block_on(async {
            http.get(&root)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(call(&token), 200);

    // The card counts the live token; s, y regenerates the secret.
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 access / 1 refresh tokens live");
    tmux.keys(&["s"]);
    tmux.wait_for("Regenerate the secret of Done When App");
    tmux.keys(&["y"]);
    tmux.wait_for("New secret for Done When App; 2 tokens revoked");
    assert_eq!(call(&token), 401, "the old token fails at once");
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
    server.stop();
}

/// Issue 5's "done when", in the console: three connections registered with
/// an integration using only the keyboard, in one confirmed action.
#[test]
fn r12_register_three_connections_by_keyboard_in_the_register_tab() {
    use switchboard::client::Client;
    use switchboard::model::{IntegrationKind, NewConnection, NewIntegration, Source};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Made before the console starts, then closed.
        let client = Client::embedded(dir.path(), "tester", Source::Cli)
            .await
            .unwrap();
        for label in ["Alpha ERP", "Beta Shop", "Gamma DAM"] {
            client
                .create_connection(&NewConnection {
                    label: label.into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        client
            .create_integration(&NewIntegration {
                name: "Orders".into(),
                code: None,
                kind: IntegrationKind::Standard,
            })
            .await
            .unwrap();
    });
    let tmux = Tmux::start(dir.path(), "register");
    tmux.wait_for("Connections · 3");
    tmux.keys(&["2"]);
    let tab = tmux.wait_for("Integrations · 1");
    assert!(tab.contains("0 of 3 registered with Orders"), "{tab}");
    tmux.keys(&["Space"]);
    tmux.keys(&["Space"]);
    tmux.keys(&["Space"]);
    let pending = tmux.wait_for("3 pending: 3 to register, 0 to deregister");
    assert!(pending.contains("[+] Alpha ERP"), "{pending}");
    assert!(pending.contains("[+] Gamma DAM"), "{pending}");
    tmux.keys(&["Enter"]);
    let confirm = tmux.wait_for("Apply registrations");
    assert!(
        confirm.contains("Every user of Orders gets access"),
        "{confirm}"
    );
    tmux.keys(&["y"]);
    let done = tmux.wait_for("Registered 3, deregistered 0 with Orders");
    assert!(done.contains("3 of 3 registered with Orders"), "{done}");
    assert!(done.contains("[x] Beta Shop"), "{done}");
    tmux.keys(&["q"]);
    let after = tmux.wait_for("EXIT=0");
    assert!(
        after.contains(" icanon") && !after.contains("-icanon"),
        "{after}"
    );
    assert!(
        !after.contains("Integrations · 1"),
        "the alternate screen was left"
    );
    drop(tmux);
    // The store agrees.
    let registered = rt.block_on(async {
        let client = Client::embedded(dir.path(), "tester", Source::Cli)
            .await
            .unwrap();
        client.get_integration("orders").await.unwrap().registered
    });
    assert_eq!(registered, vec!["alpha_erp", "beta_shop", "gamma_dam"]);
}
