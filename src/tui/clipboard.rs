//! Copying to the clipboard: one long-lived `arboard` clipboard (dropping it
//! loses the contents on X11); OSC 52 through the terminal when there is no
//! display or the session is remote (SSH), so copying works over SSH and in
//! tmux. Every copy reports which way it went, or why it failed.

use std::io::Write;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// How a copy went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    System,
    Osc52,
    Failed(String),
}

impl CopyOutcome {
    pub fn describe(&self, what: &str) -> String {
        match self {
            CopyOutcome::System => format!("Copied {what} to the system clipboard"),
            CopyOutcome::Osc52 => format!(
                "Sent {what} to the terminal clipboard (OSC 52; the terminal must allow it)"
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

/// The OSC 52 sequence that sets the clipboard to `text`. Inside tmux, the
/// sequence is passed through to the outer terminal.
pub fn osc52_sequence(text: &str, in_tmux: bool) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let seq = format!("\x1b]52;c;{payload}\x07");
    if in_tmux {
        format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
    } else {
        seq
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

    fn copy_text(&mut self, text: &str, secret: bool) -> CopyOutcome {
        match &mut self.backend {
            Backend::System(cb) => {
                let result = {
                    let set = cb.set();
                    #[cfg(all(unix, not(target_os = "macos")))]
                    let set = if secret {
                        use arboard::SetExtLinux;
                        set.exclude_from_history()
                    } else {
                        set
                    };
                    #[cfg(not(all(unix, not(target_os = "macos"))))]
                    let _ = secret;
                    set.text(text.to_string())
                };
                match result {
                    Ok(()) => CopyOutcome::System,
                    Err(e) => CopyOutcome::Failed(e.to_string()),
                }
            }
            Backend::Osc52 => {
                let in_tmux = std::env::var_os("TMUX").is_some();
                let seq = osc52_sequence(text, in_tmux);
                let mut out = std::io::stdout();
                match out.write_all(seq.as_bytes()).and_then(|()| out.flush()) {
                    Ok(()) => CopyOutcome::Osc52,
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
    /// clipboard back, so it is left alone rather than clobber a later copy.
    pub fn clear_if_still(&mut self, text: &SecretString) -> bool {
        match &mut self.backend {
            Backend::System(cb) => {
                let still = cb
                    .get_text()
                    .map(|t| t == text.expose_secret())
                    .unwrap_or(false);
                still && cb.clear().is_ok()
            }
            Backend::Osc52 => false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_base64_and_wraps_for_tmux() {
        assert_eq!(osc52_sequence("hi", false), "\x1b]52;c;aGk=\x07");
        let wrapped = osc52_sequence("hi", true);
        assert!(wrapped.starts_with("\x1bPtmux;\x1b\x1b]52;c;aGk="));
        assert!(wrapped.ends_with("\x1b\\"));
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
