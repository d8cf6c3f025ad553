//! The real binary from the command line: what a user reads when something
//! is wrong (a keymap that binds one key twice).

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
