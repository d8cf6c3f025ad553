//! End to end: the real binary in a real terminal (tmux). Creates a
//! connection with keys, sees it listed, quits, and finds the terminal
//! restored; a restart finds the data again.

mod common;
use common::ServerProcess;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use strum::VariantArray;

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn start(data_dir: &Path, tag: &str) -> Tmux {
        Tmux::start_with(data_dir, tag, &[])
    }

    fn start_with(data_dir: &Path, tag: &str, args: &[&str]) -> Tmux {
        Tmux::start_configured(data_dir, tag, args, Path::new("/dev/null"), "")
    }

    /// With a tmux configuration file, and `env` arguments before the
    /// binary (e.g. `-u DISPLAY`).
    fn start_configured(
        data_dir: &Path,
        tag: &str,
        args: &[&str],
        tmux_conf: &Path,
        env_args: &str,
    ) -> Tmux {
        let socket = format!("sb-e2e-{}-{tag}", std::process::id());
        let session = "e2e".to_string();
        let bin = env!("CARGO_BIN_EXE_switchboard");
        let args: String = args.iter().map(|a| format!(" '{a}'")).collect();
        let script = format!(
            "env {env_args} TERM=xterm-256color SWITCHBOARD_DATA_DIR='{}' USER=tester '{bin}'{args}; echo EXIT=$?; stty -a; sleep 60",
            data_dir.display()
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f"])
            .arg(tmux_conf)
            .args(["new-session", "-d", "-s", &session])
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
        common::wait_for_screen(|| self.capture(), needle)
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

    /// tmux's most recent paste buffer, if there is one.
    fn buffer(&self) -> Option<String> {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "show-buffer"])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
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
    // The new secret shows once, like a new password; Esc closes it.
    assert!(after.contains("sbs_"), "{after}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("v shows it for 10 s");
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
fn start_server(data_dir: &Path, port: u16, password_file: &Path) -> ServerProcess {
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
    let server = start_server(server_dir.path(), port, &password_file);
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
    let server = start_server(server_dir.path(), port, &password_file);
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

/// Inside tmux without a display, `c` on the password shown once sends a
/// plain OSC 52 sequence, which tmux (`set-clipboard on`) takes into its
/// paste buffer; a sequence wrapped in tmux's passthrough would be dropped
/// while the status line said it was sent.
#[test]
fn inside_tmux_c_puts_the_password_shown_once_into_the_tmux_buffer_via_osc52() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("tmux.conf");
    std::fs::write(&conf, "set -g set-clipboard on\n").unwrap();
    let data = dir.path().join("data");
    // No display and no SSH: the console takes the OSC 52 way.
    let tmux = Tmux::start_configured(
        &data,
        "osc52",
        &[],
        &conf,
        "-u DISPLAY -u WAYLAND_DISPLAY -u SSH_TTY -u SSH_CONNECTION -u SSH_CLIENT",
    );
    tmux.wait_for("No connections yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("Clipboard Shop");
    tmux.wait_for("clipboard_shop  (from the label)");
    tmux.keys(&["Enter"]);
    let modal = tmux.wait_for("shown only this once");
    let password = credential_on(&modal, "sbp_");
    assert!(password.len() > 20, "{password:?}\n{modal}");
    assert_eq!(tmux.buffer(), None, "no buffer before the copy");
    tmux.keys(&["c"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tmux.buffer() {
            Some(buffer) if !buffer.is_empty() => {
                assert_eq!(buffer, password, "tmux holds exactly the password");
                break;
            }
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "tmux never got the password; screen:\n{}",
                    tmux.capture()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    // The status line says what was done: sent, not "copied".
    let status = tmux.wait_for("Sent the password to tmux's clipboard (OSC 52");
    assert!(!status.contains("Copied the password"), "{status}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Connections · 1");
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
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
    let server = start_server(dir.path(), port, &password_file);
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
    tmux.keys(&["Escape"]);
    tmux.wait_for("v shows it for 10 s");
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

impl Tmux {
    /// Waits until `ready` holds for the screen (`what` names it in the
    /// failure message).
    fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the program to exit 0 (after `q`), and finds the
    /// terminal restored.
    fn quit(self) {
        self.keys(&["q"]);
        let after = self.wait_for("EXIT=");
        assert!(after.contains("EXIT=0"), "{after}");
        assert!(
            after.contains(" icanon") && !after.contains("-icanon"),
            "{after}"
        );
    }
}

/// The screen's text with the frames taken out and every run of blanks
/// made one space, so that a sentence wrapped over full-width lines (a
/// banner) reads as one.
fn flat(screen: &str) -> String {
    screen
        .chars()
        .map(|c| {
            if "│┃║╭╮╰╯┏┓┗┛╔╗╚╝─━═".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a line of the Connections table shows `code` (cut to the code
/// column's 8 characters) flagged stale.
fn row_flagged_stale(screen: &str, code: &str) -> bool {
    // The code cell may be cut (with "…") at this width.
    let cut: String = code.chars().take(10).collect();
    screen
        .lines()
        .any(|l| l.contains(&format!(" {cut}")) && l.contains(" stale "))
}

/// Issue 5's "done when", walked with the keyboard in the real binary: on
/// the demo workspace, three connections registered with an integration
/// (R12); a flow saved with connections not registered, and the reminder
/// naming them (R14); one of them deregistered while the flow keeps its
/// step (R15); the console as the member mia, seeing exactly what R18
/// allows; then a stale legacy connection still used by a flow is replaced
/// everywhere (R16a), flagged stale (R16b) and deleted (R8).
#[test]
fn issue5_done_when_register_reminder_deregister_view_as_member_replace_and_delete() {
    use switchboard::client::Client;
    use switchboard::model::Source;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let owner = || async {
        Client::embedded(dir.path(), "tester", Source::Cli)
            .await
            .unwrap()
    };
    // What the demo holds, from its file.
    let demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.json")).unwrap(),
    )
    .unwrap();
    let total = demo["connections"].as_array().unwrap().len();
    let integrations = demo["integrations"].as_array().unwrap().len();

    // 1. A fresh store: D loads the demo workspace.
    let tmux = Tmux::start(dir.path(), "issue5-owner");
    tmux.wait_for("No connections yet");
    tmux.keys(&["D"]);
    tmux.wait_for(&format!("Loaded the demo workspace: {total} connections"));
    tmux.wait_for(&format!("Connections · {total} "));

    // 2. Register tab: three connections registered with the first
    // integration (Marketing Assets, by name) in one confirmed action (R12).
    tmux.keys(&["2"]);
    let tab = tmux.wait_for(&format!("Integrations · {integrations} "));
    let before: usize = {
        let title = format!(" of {total} registered with Marketing Assets");
        let line = tab
            .lines()
            .find(|l| l.contains(&title))
            .unwrap_or_else(|| panic!("no {title:?}:\n{tab}"));
        let head = &line[..line.find(&title).unwrap()];
        head.rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(tab.contains("[ ] 1WorldSync GDSN Feed"), "{tab}");
    tmux.keys(&["Space"]);
    tmux.keys(&["Space"]);
    tmux.keys(&["Space"]);
    // (The pane's title is cut at this width: "…, 0 to deregis".)
    let pending = tmux.wait_for("3 pending: 3 to register, 0 to");
    assert!(pending.contains("[+] 1WorldSync GDSN Feed"), "{pending}");
    assert!(
        pending.contains("[+] Akeneo PIM (legacy import)"),
        "{pending}"
    );
    tmux.keys(&["Enter"]);
    let confirm = tmux.wait_for("Apply registrations");
    assert!(
        confirm.contains("Every user of Marketing Assets gets access"),
        "{confirm}"
    );
    tmux.keys(&["y"]);
    let done = tmux.wait_for("Registered 3, deregistered 0 with Marketing Assets");
    assert!(
        done.contains(&format!(
            "{} of {total} registered with Marketing Assets",
            before + 3
        )),
        "{done}"
    );
    for label in [
        "1WorldSync GDSN Feed",
        "Adobe Experience Manager Assets",
        "Akeneo PIM (legacy import)",
    ] {
        assert!(done.contains(&format!("[x] {label}")), "{label}:\n{done}");
    }

    // 3. A new flow in Product Syndication, on two connections not
    // registered with it, saved with Ctrl-S: the R14 reminder names them.
    tmux.keys(&["h", "j"]);
    let ps = tmux.wait_for(&format!(" of {total} registered with Product Syndication"));
    assert!(
        ps.contains("[ ] Klaviyo Campaigns  klaviyo_campaigns"),
        "{ps}"
    );
    assert!(
        ps.contains("[ ] Google Merchant Center  google_merchant_center"),
        "{ps}"
    );
    tmux.keys(&["f", "n"]);
    tmux.wait_for("A new flow in the integration Product Syndication.");
    tmux.text("Klaviyo Sync");
    tmux.wait_for("klaviyo_sync  (from the name)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("New flow · Klaviyo Sync");
    tmux.keys(&["a"]);
    tmux.wait_for("Add a step to Klaviyo Sync");
    tmux.text("Klaviyo");
    let picked = tmux.wait_for("▶ [ ] Klaviyo Campaigns  klaviyo_campaigns");
    assert!(
        picked.contains("klaviyo_campaigns  not yet: saving registers it (R14)"),
        "{picked}"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("1. export Klaviyo Campaigns (klaviyo_campaigns)");
    tmux.keys(&["a"]);
    tmux.wait_for("Add a step to Klaviyo Sync");
    tmux.text("Google Merchant");
    tmux.wait_for("▶ [ ] Google Merchant Center  google_merchant_center");
    tmux.keys(&["Enter"]);
    let steps = tmux.wait_for("2. import Google Merchant Center (google_merchant_center)");
    assert!(steps.contains("Steps · 2"), "{steps}");
    tmux.keys(&["C-s"]);
    let saved = tmux.wait_for("Connections registered (R14)");
    let reminder = flat(&saved);
    assert!(
        reminder.contains(
            "Saving flow “Klaviyo Sync” registered 2 connections with Product Syndication: \
             Klaviyo Campaigns (klaviyo_campaigns), Google Merchant Center (google_merchant_center). \
             Every user of Product Syndication now has access to them (R14)."
        ),
        "{saved}"
    );
    let saved = tmux.wait_for("[x] Google Merchant Center  google_merchant_center");
    assert!(
        saved.contains("[x] Klaviyo Campaigns  klaviyo_campaigns"),
        "{saved}"
    );
    assert!(saved.contains("Klaviyo Sync klaviyo_sync"), "{saved}");

    // 4. Deregister one connection the flow uses (R15): the flow keeps its
    // step, which stays savable; the connection is no longer registered.
    tmux.keys(&["l", "/"]);
    tmux.text("merchant");
    tmux.wait_for(&format!("1 of {total} match"));
    tmux.keys(&["Enter"]);
    tmux.keys(&["Space"]);
    tmux.wait_for("▶ [-] Google Merchant Center  google_merchant_center  to deregister");
    tmux.keys(&["Enter"]);
    let confirm = tmux.wait_for("Apply registrations");
    assert!(confirm.contains("0 to register,"), "{confirm}");
    assert!(
        confirm.contains("- Google Merchant Center  google_merchant_center"),
        "{confirm}"
    );
    assert!(
        confirm.contains("Deregistered connections stay in the flow steps"),
        "{confirm}"
    );
    tmux.keys(&["y"]);
    tmux.wait_for("Registered 0, deregistered 1 with Product Syndication");
    // Once reloaded.
    let after = tmux.wait_for("▶ [ ] Google Merchant Center  google_merchant_center");
    assert!(after.contains("Klaviyo Sync klaviyo_sync"), "{after}");
    assert!(after.contains("  export klaviyo_campaigns →"), "{after}");
    assert!(after.contains("  import google_merchant_center"), "{after}");
    assert!(
        after.contains("used by: klaviyo_sync step 2 (import, product_syndication)"),
        "{after}"
    );
    // The editor says the step is kept, and saving it again works.
    tmux.keys(&["e"]);
    let editor = tmux.wait_for("Edit flow · Klaviyo Sync");
    assert!(
        editor.contains(
            "2. import Google Merchant Center (google_merchant_center)  deregistered, kept by this flow (R15)"
        ),
        "{editor}"
    );
    tmux.keys(&["C-s"]);
    let resaved = tmux.wait_for("Saved flow Klaviyo Sync in Product Syndication: 2 steps");
    assert!(
        !resaved.contains("Connections registered (R14)"),
        "nothing registered again:\n{resaved}"
    );
    tmux.quit();

    // The store agrees; what mia may see is derived from it.
    let (registered_ps, only_marketing, mia_sees, flow) = rt.block_on(async {
        let client = owner().await;
        let ps = client
            .get_integration("product_syndication")
            .await
            .unwrap()
            .registered;
        let ma = client
            .get_integration("marketing_assets")
            .await
            .unwrap()
            .registered;
        let all = client.list_connections().await.unwrap();
        let only_marketing: Vec<(String, String)> = all
            .iter()
            .filter(|c| ma.contains(&c.code) && !ps.contains(&c.code))
            .map(|c| (c.code.clone(), c.label.clone()))
            .collect();
        let flow = client.get_flow("klaviyo_sync").await.unwrap();
        let mia = Client::embedded_as(dir.path(), "tester", "mia", Source::Cli)
            .await
            .unwrap();
        let mut sees: Vec<(String, String)> = mia
            .list_connections()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.code, c.label))
            .collect();
        sees.sort();
        (ps, only_marketing, sees, flow)
    });
    assert!(registered_ps.contains(&"klaviyo_campaigns".to_string()));
    assert!(!registered_ps.contains(&"google_merchant_center".to_string()));
    let kept: Vec<&str> = flow.steps.iter().map(|s| s.connection.as_str()).collect();
    assert_eq!(kept, ["klaviyo_campaigns", "google_merchant_center"], "R15");
    let mut expected = registered_ps.clone();
    expected.sort();
    let codes: Vec<String> = mia_sees.iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(
        codes, expected,
        "R18: mia sees the connections registered with product_syndication"
    );
    assert!(!only_marketing.is_empty());

    // 5. The console as mia (R18): her header, her count, her integration.
    let tmux = Tmux::start_with(dir.path(), "issue5-mia", &["--as", "mia"]);
    let n = mia_sees.len();
    let screen = tmux.wait_for(&format!("Connections · {n} "));
    assert!(screen.contains("user mia (member)"), "{screen}");
    tmux.keys(&["2"]);
    let tab = tmux.wait_for(&format!("{n} of {n} registered with Product Syndication"));
    assert!(tab.contains("Integrations · 1 "), "{tab}");
    assert!(tab.contains("▶ Product Syndication"), "{tab}");
    for other in ["Marketing Assets", "Translations", "Shopify Connector"] {
        assert!(!tab.contains(other), "mia does not see {other}:\n{tab}");
    }
    for (code, label) in &mia_sees {
        assert!(
            tab.contains(&format!("[x] {label}  {code}")),
            "{code}:\n{tab}"
        );
    }
    for (code, label) in only_marketing.iter().chain(
        [(
            "google_merchant_center".to_string(),
            "Google Merchant Center".to_string(),
        )]
        .iter(),
    ) {
        assert!(
            !tab.contains(&format!("] {label}  {code}")),
            "mia does not see {code}:\n{tab}"
        );
    }
    tmux.quit();

    // 6. The owner again: the legacy import, idle for months but still
    // used by a flow, cannot be deleted; replaced everywhere, it is stale
    // and goes.
    let legacy = "akeneo_pim_legacy_import";
    let used_by = rt.block_on(async { owner().await.used_by(legacy).await.unwrap() });
    assert_eq!(used_by.len(), 1, "{used_by:?}");
    let tmux = Tmux::start(dir.path(), "issue5-owner2");
    let screen = tmux.wait_for(&format!("Connections · {total} "));
    assert!(screen.contains("user tester (owner)"), "{screen}");
    tmux.keys(&["/"]);
    tmux.text(legacy);
    tmux.wait_for(&format!("1 of {total} match"));
    tmux.keys(&["Enter"]);
    // The flows are loaded (the detail pane lists the step) before `d`.
    tmux.wait_for("Used by 1 step:");
    tmux.keys(&["d"]);
    let in_use = tmux.wait_for("Cannot delete");
    assert!(
        in_use.contains("Akeneo PIM (legacy import) (akeneo_pim_legacy_import) cannot be deleted"),
        "{in_use}"
    );
    let step = &used_by[0];
    assert!(
        in_use.contains(&format!(
            "• {} ({}) step {}, {} · Product Syndication",
            step.flow_name,
            step.flow,
            step.position + 1,
            step.kind.as_str()
        )),
        "{in_use}"
    );
    // The dialog names the list's replace key; it opens the picker.
    tmux.keys(&["r"]);
    let picker = tmux.wait_for("Replace connection");
    assert!(picker.contains("Scope  [everywhere]"), "{picker}");
    tmux.text("sap_s_4hana");
    tmux.wait_for("▶ SAP S/4HANA Production  sap_s_4hana_production");
    tmux.keys(&["Enter"]);
    let review = tmux.wait_for("Steps that change (1 step):");
    assert!(
        review.contains(
            "Replace Akeneo PIM (legacy import) (akeneo_pim_legacy_import) by SAP S/4HANA"
        ),
        "{review}"
    );
    tmux.keys(&["y"]);
    tmux.wait_for(
        "Replaced Akeneo PIM (legacy import) by SAP S/4HANA Production in 1 step of 1 flow",
    );
    // After the reload (connections, then flows): used by no step, idle
    // for 30+ days (R16b).
    tmux.wait_until("the legacy import flagged stale and used by no flow", |s| {
        row_flagged_stale(s, legacy) && s.contains("not used by any flow")
    });
    tmux.keys(&["S"]);
    let stale = tmux.wait_for(&format!("stale only: 1 of {total} match"));
    assert!(row_flagged_stale(&stale, legacy), "{stale}");
    tmux.keys(&["d"]);
    let confirm = tmux.wait_for("Delete connection");
    assert!(
        confirm.contains("Delete Akeneo PIM (legacy import) (akeneo_pim_legacy_import)?"),
        "{confirm}"
    );
    tmux.keys(&["y"]);
    tmux.wait_for(&format!("Deleted {legacy}"));
    tmux.wait_for(&format!("stale only: 0 of {} match", total - 1));
    tmux.keys(&["Escape"]);
    tmux.keys(&["Escape"]);
    let all = tmux.wait_for(&format!("Connections · {} ", total - 1));
    assert!(!all.contains("akeneo_p"), "{all}");
    tmux.quit();

    // The store agrees: gone with its registrations (R8); the flow step now
    // uses the replacement (R16a).
    rt.block_on(async {
        let client = owner().await;
        let all = client.list_connections().await.unwrap();
        assert_eq!(all.len(), total - 1);
        assert!(all.iter().all(|c| c.code != legacy));
        assert!(client.get_connection(legacy).await.is_err());
        for i in client.list_integrations().await.unwrap() {
            assert!(!i.registered.iter().any(|c| c == legacy), "{}", i.code);
        }
        let flow = client.get_flow(&step.flow).await.unwrap();
        assert_eq!(
            flow.steps[step.position as usize].connection,
            "sap_s_4hana_production"
        );
    });
}

/// Issue 6's "done when", in the console: a connection's role changed in
/// the Permissions tab to a role made there, without `products.edit`, and
/// the connection's next Web API PATCH (an ordinary HTTP client with its
/// own credentials against `switchboard serve`) is refused with 403; then a
/// new, empty group given there, and its product list comes back empty.
#[test]
fn issue6_a_role_without_edit_given_in_the_permissions_tab_refuses_the_next_patch() {
    use switchboard::client::Client;
    use switchboard::model::{FlowType, NewCategory, NewConnection, NewRole, Permission, Source};
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("owner-password");
    std::fs::write(&password_file, "a long owner password\n").unwrap();
    let port = free_port();
    // The server and the embedded console share the data directory.
    let server = start_server(dir.path(), port, &password_file);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let root = format!("{}/api/rest/v1", server.url);

    // Through the admin API: a connection whose role may edit products, a
    // category, and the connection's credentials (a new password, shown
    // once, and its secret).
    let (client_id, secret, username, password) = rt.block_on(async {
        let api = Client::http(&server.url, None, None, Source::Cli).unwrap();
        api.login("alice", "a long owner password").await.unwrap();
        let created = api
            .create_connection(&NewConnection {
                label: "E2E Shop".into(),
                flow_type: FlowType::Source,
                ..Default::default()
            })
            .await
            .unwrap();
        let c = created.connection;
        api.create_role(&NewRole {
            code: "editor".into(),
            label: "Editor".into(),
            permissions: Permission::VARIANTS.to_vec(),
        })
        .await
        .unwrap();
        api.set_connection_permissions(&c.code, Some("editor"), None)
            .await
            .unwrap();
        api.create_category(&NewCategory {
            code: "shoes".into(),
            label: "Shoes".into(),
            parent: None,
        })
        .await
        .unwrap();
        let password = api.regenerate_password(&c.code).await.unwrap().password;
        let secret = api.reveal_secret(&c.code).await.unwrap().secret;
        (c.client_id, secret, c.username, password)
    });
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
    let send = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        rt.block_on(async {
            let mut req = http
                .request(method, format!("{root}{path}"))
                .bearer_auth(&token);
            if let Some(body) = body {
                req = req.json(&body);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
            (status, body)
        })
    };
    let change = serde_json::json!({
        "values": {"name": [{"locale": null, "scope": null, "data": "Runner"}]}
    });
    let created = send(
        reqwest::Method::POST,
        "/products",
        Some(serde_json::json!({"identifier": "runner", "categories": ["shoes"], "values": {}})),
    );
    assert_eq!(created.0, 201, "{created:?}");
    assert_eq!(
        send(
            reqwest::Method::PATCH,
            "/products/runner",
            Some(change.clone())
        )
        .0,
        204,
        "the editor role may edit"
    );

    // The console: Permissions tab, n makes a role (it starts with what
    // User grants: no products.edit), then the connection gets it.
    let tmux = Tmux::start(dir.path(), "issue6");
    tmux.wait_for("Connections · 1");
    tmux.keys(&["4"]);
    let tab = tmux.wait_for("E2E Shop · role and group");
    assert!(tab.contains("Role   Editor (editor)"), "{tab}");
    tmux.keys(&["n"]);
    tmux.wait_for("New role");
    tmux.text("Read Only");
    let form = tmux.wait_for("read_only  (from the label)");
    assert!(form.contains("It starts with what User grants"), "{form}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Created the role Read Only (read_only)");
    // ← to the connection's role and group; ↑ the role; Enter: the picker.
    tmux.keys(&["h"]);
    tmux.keys(&["k"]);
    tmux.keys(&["Enter"]);
    let picker = tmux.wait_for("Choose the role of E2E Shop");
    assert!(picker.contains("▶ Editor (editor) (current)"), "{picker}");
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    let done = tmux.wait_for("E2E Shop now has the role Read Only");
    assert!(
        flat(&done).contains("Role Read Only (read_only) · api.access, products.list"),
        "{done}"
    );

    // The same token's next PATCH: 403, naming what is missing; reads
    // still work.
    let (status, body) = send(reqwest::Method::PATCH, "/products/runner", Some(change));
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("products.edit"), "{body}");
    let (status, _) = send(reqwest::Method::GET, "/products/runner", None);
    assert_eq!(status, 200);

    // ] groups, n a new group (it grants nothing), given to the connection:
    // its product list comes back empty (not an error).
    tmux.text("]");
    tmux.keys(&["n"]);
    tmux.wait_for("New group");
    tmux.text("Nobody");
    tmux.wait_for("nobody  (from the label)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Created the group Nobody (nobody)");
    tmux.keys(&["h"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("Choose the group of E2E Shop");
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("E2E Shop is now in the group Nobody");
    let (status, page) = send(reqwest::Method::GET, "/products", None);
    assert_eq!(status, 200);
    assert_eq!(page["_embedded"]["items"], serde_json::json!([]), "{page}");

    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
    server.stop();
}

/// Issue 15's console part (R29), by keys only in the real binary, from an
/// empty store: an integration created in the Register tab (`N`), a member
/// added in the users window (`A`, then `n`; the password shown once) and
/// given `manage` access (`m`), a connection created and registered with
/// the integration. The store agrees, and the member sees what manage
/// access gives.
#[test]
fn r29_from_an_empty_store_integration_member_manage_access_and_a_registration_by_keys() {
    use switchboard::client::Client;
    use switchboard::model::{AccessLevel, Source};
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), "r29");
    tmux.wait_for("No connections yet");

    // The Register tab says which key makes an integration.
    tmux.keys(&["2"]);
    let empty = tmux.wait_for("No integrations yet");
    assert!(flat(&empty).contains("Press N to create one"), "{empty}");
    tmux.keys(&["N"]);
    tmux.wait_for("New integration");
    tmux.text("Orders");
    tmux.wait_for("orders  (from the name)");
    tmux.keys(&["Enter"]);
    let created = tmux.wait_for("Created integration Orders (orders)");
    assert!(created.contains("Integrations · 1"), "{created}");

    // A: the users window on Orders; n adds a member, shown once.
    tmux.keys(&["A"]);
    let window = tmux.wait_until("the users window", |s| {
        flat(s).contains("Access to ◀ Orders (orders) ▶")
    });
    assert!(flat(&window).contains("tester (you) owner"), "{window}");
    tmux.keys(&["n"]);
    tmux.wait_for("Add a user");
    tmux.text("mia");
    tmux.keys(&["Enter"]);
    let shown = tmux.wait_for("shown only this once");
    assert!(flat(&shown).contains("Added mia (member)"), "{shown}");
    let password: String = shown
        .lines()
        .find_map(|l| l.split("Password").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password is shown")
        .to_string();
    assert_eq!(password.len(), 24, "{shown}");
    tmux.keys(&["Escape"]);
    let back = tmux.wait_until("mia in the window", |s| {
        flat(s).contains("mia member password set") && !s.contains("shown only this once")
    });
    assert!(
        !back.contains(&password),
        "the password is gone once closed"
    );
    // m: manage, from her next request.
    tmux.keys(&["m"]);
    tmux.wait_for("mia now manages Orders");
    tmux.keys(&["Escape"]);
    tmux.wait_until("the window closed", |s| !s.contains("Access to  ◀"));

    // A connection, then registered with Orders in the Register tab.
    tmux.keys(&["1"]);
    tmux.wait_for("No connections yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("ERP One");
    tmux.wait_for("erp_one  (from the label)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("shown only this once");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Connections · 1");
    tmux.keys(&["2"]);
    tmux.wait_for("0 of 1 registered with Orders");
    tmux.keys(&["Space"]);
    tmux.wait_for("1 pending: 1 to register, 0 to deregister");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Apply registrations");
    tmux.keys(&["y"]);
    let done = tmux.wait_for("Registered 1, deregistered 0 with Orders");
    assert!(done.contains("1 of 1 registered with Orders"), "{done}");
    tmux.quit();

    // The store agrees; mia manages Orders and sees its connection (R18,
    // R19), and her password is the one shown once.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let owner = Client::embedded(dir.path(), "tester", Source::Cli)
            .await
            .unwrap();
        let orders = owner.get_integration("orders").await.unwrap();
        assert_eq!(orders.registered, vec!["erp_one"]);
        owner
            .login("mia", &password)
            .await
            .expect("the password shown once logs mia in");
        drop(owner);
        let mia = Client::embedded_as(dir.path(), "tester", "mia", Source::Cli)
            .await
            .unwrap();
        let theirs = mia.list_integrations().await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].code, "orders");
        assert_eq!(theirs[0].access, Some(AccessLevel::Manage));
        let seen: Vec<String> = mia
            .list_connections()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.code)
            .collect();
        assert_eq!(seen, vec!["erp_one"]);
    });
}

/// Issue 15's "Done when" for the application side (R26, R27), by keys
/// only in the real binary, from an empty store: a connection created with
/// its application's address and API key (a real application on a loopback
/// port, run by this test), `t` passes; the application stops, `t` again
/// fails and the connection is flagged offline with the reason.
#[test]
fn r26_r27_from_an_empty_store_a_connection_with_its_application_tests_ok_then_offline_by_keys() {
    use common::fake_app::FakeApp;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeApp::start());
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), "r27");
    tmux.wait_for("No connections yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New connection");
    tmux.text("ERP One");
    tmux.wait_for("erp_one  (from the label)");
    // Code, flow type, visual, then the application's base URL.
    for _ in 0..4 {
        tmux.keys(&["Tab"]);
    }
    let url = format!("{}/key", fake.url);
    tmux.text(&url);
    tmux.wait_for("Ping path");
    // The ping path stays empty; the auth kind: none → basic → api_key.
    tmux.keys(&["Tab"]);
    tmux.keys(&["Tab"]);
    tmux.keys(&["Right"]);
    tmux.keys(&["Right"]);
    let form = tmux.wait_for("[api_key]");
    assert!(form.contains("Header     X-API-Key"), "{form}");
    tmux.keys(&["Tab"]);
    tmux.keys(&["Tab"]);
    tmux.text(&fake.creds.key);
    let typed = tmux.wait_for("••••••");
    assert!(!typed.contains(&fake.creds.key), "typed blind:\n{typed}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("shown only this once");
    tmux.keys(&["Escape"]);
    let list = tmux.wait_for("Connections · 1");
    assert!(
        flat(&list).contains("api_key · header X-API-Key · key ******"),
        "{list}"
    );
    assert!(!list.contains(&fake.creds.key));

    // t: the application answers with the key.
    tmux.keys(&["t"]);
    let passed = tmux.wait_for("Test of ERP One passed");
    assert!(flat(&passed).contains("HTTP 200"), "{passed}");
    assert!(!passed.contains("✗ offline"), "{passed}");

    // The application stops: t again fails, and the row and the details
    // say offline, when and why.
    rt.block_on(fake.stop());
    tmux.keys(&["t"]);
    let failed = tmux.wait_for("Test of ERP One failed");
    let text = flat(&failed);
    assert!(text.contains("flagged offline"), "{failed}");
    let offline = tmux.wait_until("the offline flag", |s| {
        s.lines()
            .any(|l| l.contains("ERP One") && l.contains("✗ offline"))
            && flat(s).contains("✗ offline since")
    });
    assert!(flat(&offline).contains("connection refused"), "{offline}");
    tmux.quit();

    // The store agrees.
    rt.block_on(async {
        use switchboard::client::Client;
        use switchboard::model::Source;
        let owner = Client::embedded(dir.path(), "tester", Source::Cli)
            .await
            .unwrap();
        let c = owner.get_connection("erp_one").await.unwrap();
        assert!(c.offline);
        assert!(c.offline_reason.unwrap().contains("refused"));
    });
}
