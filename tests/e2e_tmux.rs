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
        let socket = format!("sb-e2e-{}-{tag}", std::process::id());
        let session = "e2e".to_string();
        let bin = env!("CARGO_BIN_EXE_switchboard");
        let script = format!(
            "env TERM=xterm-256color SWITCHBOARD_DATA_DIR='{}' USER=tester '{bin}'; echo EXIT=$?; stty -a; sleep 60",
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
