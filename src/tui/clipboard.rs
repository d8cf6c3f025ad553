//! Copying to the clipboard: one long-lived `arboard` clipboard (dropping it
//! loses the contents on X11); OSC 52 through the terminal when there is no
//! display or the session is remote (SSH), so copying works over SSH and in
//! tmux. Every copy reports which way it went, or why it failed, and never
//! more than was done: an OSC 52 sequence is only sent, its arrival cannot
//! be checked. Copied secrets are cleared again after a while ([`AutoClear`]).

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// How a copy went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    System,
    /// The sequence was written to the terminal; whether the terminal (or
    /// tmux) took it cannot be known.
    Osc52 {
        in_tmux: bool,
    },
    Failed(String),
}

impl CopyOutcome {
    pub fn describe(&self, what: &str) -> String {
        match self {
            CopyOutcome::System => format!("Copied {what} to the system clipboard"),
            CopyOutcome::Osc52 { in_tmux: false } => format!(
                "Sent {what} to the terminal's clipboard (OSC 52; the terminal must allow it)"
            ),
            CopyOutcome::Osc52 { in_tmux: true } => format!(
                "Sent {what} to tmux's clipboard (OSC 52; tmux needs set-clipboard on or external)"
            ),
            CopyOutcome::Failed(why) => format!("Could not copy {what}: {why}"),
        }
    }
}

enum Backend {
    System(Box<arboard::Clipboard>),
    Osc52,
    /// For tests: remembers the last text.
    Memory(Option<String>),
}

pub struct Clipboard {
    backend: Backend,
    /// Why the system clipboard is not used, when it is not.
    reason: Option<String>,
}

impl std::fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::System(_) => "Clipboard(system)",
            Backend::Osc52 => "Clipboard(osc52)",
            Backend::Memory(_) => "Clipboard(memory)",
        })
    }
}

/// Whether this process runs in a remote (SSH) session.
fn is_remote() -> bool {
    ["SSH_TTY", "SSH_CONNECTION", "SSH_CLIENT"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

fn has_display() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// The OSC 52 sequence that sets the clipboard to `text`. The same inside
/// tmux: tmux (with `set-clipboard on` or `external`) takes the plain
/// sequence into its paste buffer and forwards it to the outer terminal,
/// whereas a sequence wrapped in tmux's passthrough (DCS) is dropped unless
/// `allow-passthrough` is on, and never reaches tmux's buffer.
pub fn osc52_sequence(text: &str) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    osc52_with(&payload)
}

/// The OSC 52 sequence that clears the clipboard: an empty payload (terminals
/// set the selection to nothing).
pub fn osc52_clear_sequence() -> String {
    osc52_with("")
}

fn osc52_with(payload: &str) -> String {
    format!("\x1b]52;c;{payload}\x07")
}

fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// When a copied secret is cleared again. Each copy through Switchboard gets
/// a generation; a timer set at copy time comes back with it, and only the
/// latest copy's timer clears anything, so a later copy (secret or not)
/// cancels the earlier clear. A timeout of zero never clears.
pub struct AutoClear {
    after: Duration,
    generation: u64,
    /// The secret of the latest copy, while its clear is pending.
    pending: Option<SecretString>,
}

impl AutoClear {
    pub fn new(after: Duration) -> AutoClear {
        AutoClear {
            after,
            generation: 0,
            pending: None,
        }
    }

    pub fn after(&self) -> Duration {
        self.after
    }

    pub fn set_after(&mut self, after: Duration) {
        self.after = after;
    }

    /// Notes a copy. For a secret (and a non-zero timeout) returns the
    /// generation to come back with after [`AutoClear::after`].
    pub fn copied(&mut self, secret: Option<SecretString>) -> Option<u64> {
        self.generation += 1;
        self.pending = secret.filter(|_| !self.after.is_zero());
        self.pending.as_ref().map(|_| self.generation)
    }

    /// The timer of `generation` is due: the secret to clear, if that copy is
    /// still the latest. Forgets it either way.
    pub fn expired(&mut self, generation: u64) -> Option<SecretString> {
        if generation == self.generation {
            self.pending.take()
        } else {
            None
        }
    }
}

impl Clipboard {
    /// Picks the system clipboard when there is a local display, else OSC 52.
    pub fn detect() -> Clipboard {
        if is_remote() {
            return Clipboard {
                backend: Backend::Osc52,
                reason: Some("remote session (SSH)".to_string()),
            };
        }
        if !has_display() {
            return Clipboard {
                backend: Backend::Osc52,
                reason: Some("no display".to_string()),
            };
        }
        match arboard::Clipboard::new() {
            Ok(cb) => Clipboard {
                backend: Backend::System(Box::new(cb)),
                reason: None,
            },
            Err(e) => Clipboard {
                backend: Backend::Osc52,
                reason: Some(format!("system clipboard unavailable: {e}")),
            },
        }
    }

    /// A clipboard that only remembers (tests, screenshots).
    pub fn memory() -> Clipboard {
        Clipboard {
            backend: Backend::Memory(None),
            reason: None,
        }
    }

    /// The last text copied to a memory clipboard.
    pub fn memory_contents(&self) -> Option<&str> {
        match &self.backend {
            Backend::Memory(text) => text.as_deref(),
            _ => None,
        }
    }

    pub fn describe_backend(&self) -> String {
        match (&self.backend, &self.reason) {
            (Backend::System(_), _) => "system clipboard".to_string(),
            (Backend::Osc52, Some(r)) => format!("OSC 52 ({r})"),
            (Backend::Osc52, None) => "OSC 52".to_string(),
            (Backend::Memory(_), _) => "memory".to_string(),
        }
    }

    /// Copies a secret; kept out of clipboard history where the platform
    /// allows it.
    pub fn copy_secret(&mut self, text: &SecretString) -> CopyOutcome {
        self.copy_text(text.expose_secret(), true)
    }

    /// Copies text that is not secret (a client id, a URL).
    pub fn copy_plain(&mut self, text: &str) -> CopyOutcome {
        self.copy_text(text, false)
    }

    /// Whether the clipboard can be read back (so a clear can check first).
    pub fn can_read_back(&self) -> bool {
        !matches!(self.backend, Backend::Osc52)
    }

    fn copy_text(&mut self, text: &str, secret: bool) -> CopyOutcome {
        match &mut self.backend {
            Backend::System(cb) => {
                let result = {
                    let set = cb.set();
                    let set = if secret {
                        exclude_from_history(set)
                    } else {
                        set
                    };
                    set.text(text.to_string())
                };
                match result {
                    Ok(()) => CopyOutcome::System,
                    Err(e) => CopyOutcome::Failed(e.to_string()),
                }
            }
            Backend::Osc52 => {
                let seq = osc52_sequence(text);
                let mut out = std::io::stdout();
                match out.write_all(seq.as_bytes()).and_then(|()| out.flush()) {
                    Ok(()) => CopyOutcome::Osc52 { in_tmux: in_tmux() },
                    Err(e) => CopyOutcome::Failed(e.to_string()),
                }
            }
            Backend::Memory(slot) => {
                *slot = Some(text.to_string());
                CopyOutcome::System
            }
        }
    }

    /// Clears the clipboard if it still holds `text` (after the secret
    /// timeout). Returns whether it cleared anything. OSC 52 cannot read the
    /// clipboard back: the caller clears only when nothing was copied through
    /// Switchboard since ([`AutoClear`]), and the terminal is told to clear.
    pub fn clear_if_still(&mut self, text: &SecretString) -> bool {
        match &mut self.backend {
            Backend::System(cb) => {
                let still = cb
                    .get_text()
                    .map(|t| t == text.expose_secret())
                    .unwrap_or(false);
                still && cb.clear().is_ok()
            }
            Backend::Osc52 => {
                let seq = osc52_clear_sequence();
                let mut out = std::io::stdout();
                out.write_all(seq.as_bytes())
                    .and_then(|()| out.flush())
                    .is_ok()
            }
            Backend::Memory(slot) => {
                if slot.as_deref() == Some(text.expose_secret()) {
                    *slot = None;
                    true
                } else {
                    false
                }
            }
        }
    }
}

/// Asks clipboard managers to leave a secret out of their history, in each
/// platform's way (arboard's extensions exist only on their platform).
fn exclude_from_history(set: arboard::Set<'_>) -> arboard::Set<'_> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "android", target_os = "emscripten"))
    ))]
    let set = {
        use arboard::SetExtLinux;
        set.exclude_from_history()
    };
    #[cfg(target_os = "macos")]
    let set = {
        use arboard::SetExtApple;
        set.exclude_from_history()
    };
    // Neither the local history nor the cloud clipboard (arboard advises
    // this one alone rather than combined with the other two).
    #[cfg(windows)]
    let set = {
        use arboard::SetExtWindows;
        set.exclude_from_monitoring()
    };
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_base64_in_one_plain_sequence_never_wrapped_for_tmux() {
        assert_eq!(osc52_sequence("hi"), "\x1b]52;c;aGk=\x07");
        // No DCS passthrough: tmux drops it by default.
        assert!(!osc52_sequence("hi").contains("\x1bP"));
    }

    #[test]
    fn osc52_clear_sends_an_empty_payload() {
        assert_eq!(osc52_clear_sequence(), "\x1b]52;c;\x07");
        assert_eq!(osc52_sequence(""), osc52_clear_sequence());
    }

    #[test]
    fn an_osc52_copy_says_it_was_sent_never_that_it_was_copied() {
        for in_tmux in [false, true] {
            let said = CopyOutcome::Osc52 { in_tmux }.describe("the password");
            assert!(said.starts_with("Sent the password to "), "{said}");
            assert!(said.contains("OSC 52"), "{said}");
            assert!(!said.to_lowercase().contains("copied"), "{said}");
        }
        let said = CopyOutcome::Osc52 { in_tmux: true }.describe("the password");
        assert!(
            said.contains("tmux") && said.contains("set-clipboard"),
            "{said}"
        );
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn auto_clear_clears_the_latest_secret_once() {
        let mut ac = AutoClear::new(Duration::from_secs(30));
        let generation = ac.copied(Some(secret("sbs_a"))).expect("a clear is due");
        let due = ac.expired(generation).expect("still the latest copy");
        assert_eq!(due.expose_secret(), "sbs_a");
        assert!(ac.expired(generation).is_none(), "cleared once");
    }

    #[test]
    fn auto_clear_a_later_copy_cancels_the_earlier_clear() {
        let mut ac = AutoClear::new(Duration::from_secs(30));
        let first = ac.copied(Some(secret("sbs_a"))).unwrap();
        let second = ac.copied(Some(secret("sbs_b"))).unwrap();
        assert!(ac.expired(first).is_none());
        assert_eq!(ac.expired(second).unwrap().expose_secret(), "sbs_b");
        // A plain copy after a secret also cancels its clear.
        let third = ac.copied(Some(secret("sbs_c"))).unwrap();
        assert_eq!(ac.copied(None), None, "nothing to clear for plain text");
        assert!(ac.expired(third).is_none());
    }

    #[test]
    fn auto_clear_with_timeout_zero_never_clears() {
        let mut ac = AutoClear::new(Duration::ZERO);
        assert_eq!(ac.copied(Some(secret("sbs_a"))), None);
        assert!(ac.expired(1).is_none());
    }

    #[test]
    fn memory_clipboard_clears_only_its_own_secret() {
        let mut cb = Clipboard::memory();
        let s = SecretString::from("sbp_x".to_string());
        assert_eq!(cb.copy_secret(&s), CopyOutcome::System);
        assert_eq!(cb.memory_contents(), Some("sbp_x"));
        assert!(!cb.clear_if_still(&SecretString::from("other".to_string())));
        assert!(cb.clear_if_still(&s));
        assert_eq!(cb.memory_contents(), None);
    }
}
