//! The server's key ring and what is done with it: encryption of
//! re-displayable secrets (R5) and keyed digests of passwords and tokens
//! (R4, R25). The ring lives in a file outside the database (mode 0600), so a
//! stolen database yields ciphertext and digests only.
//!
//! The file is text:
//!
//! ```text
//! # Switchboard key ring …
//! mac <base64 32 bytes>
//! key 1 <base64 32 bytes>
//! key 2 <base64 32 bytes>
//! ```
//!
//! The last `key` encrypts new secrets; every key decrypts. `mac` keys the
//! digests and never rotates (rotating it would invalidate every password and
//! token). A file of exactly 32 raw bytes (the first format) is read as a
//! master key from which the MAC key and encryption key 0 are derived.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::credentials::random_bytes;

type HmacSha256 = Hmac<Sha256>;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Prefix of a stored password hash, so the scheme can change later.
const PASSWORD_SCHEME: &str = "hmac-sha256$v1$";
const HEADER: &str =
    "# Switchboard key ring. Keep this file secret (mode 0600) and identical on every
# server instance. The last `key` line encrypts new secrets, every key decrypts;
# `mac` keys the password and token digests and never changes.
# `switchboard keyring rotate` adds a key and re-encrypts every secret with it.
";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("the key file {path} is damaged: {why}")]
    Damaged { path: String, why: String },
    #[error("a stored secret cannot be decrypted with this key ring")]
    Decrypt,
    #[error(
        "a stored secret was encrypted with key {0}, which this key ring lacks: copy the key file from the instance that rotated it"
    )]
    UnknownKey(u32),
}

type Key = Zeroizing<[u8; KEY_LEN]>;

/// The keys in memory.
#[derive(Clone)]
struct Ring {
    mac: Key,
    /// (id, key), in file order; the last one is active. Id 0 is the key
    /// derived from a first-format master key (its AAD names no key id).
    keys: Vec<(u32, Key)>,
    /// Whether the file is in the first (raw 32 bytes) format.
    legacy: bool,
}

/// The key ring, reloaded from its file when a ciphertext names a key it
/// does not hold yet (another process rotated it).
pub struct Keys {
    path: Option<PathBuf>,
    ring: RwLock<Ring>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn derive(master: &[u8], label: &[u8]) -> Key {
    let mut m = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    m.update(label);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    out.copy_from_slice(&m.finalize().into_bytes());
    out
}

fn damaged(path: &Path, why: impl Into<String>) -> KeyError {
    KeyError::Damaged {
        path: path.display().to_string(),
        why: why.into(),
    }
}

impl Ring {
    fn from_master(master: &[u8; KEY_LEN]) -> Ring {
        Ring {
            mac: derive(master, b"switchboard/v1/mac"),
            keys: vec![(0, derive(master, b"switchboard/v1/encryption"))],
            legacy: true,
        }
    }

    fn fresh() -> Ring {
        Ring {
            mac: Zeroizing::new(random_bytes::<KEY_LEN>()),
            keys: vec![(1, Zeroizing::new(random_bytes::<KEY_LEN>()))],
            legacy: false,
        }
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Ring, KeyError> {
        if bytes.len() == KEY_LEN && !bytes.starts_with(b"#") {
            let master: [u8; KEY_LEN] = bytes.try_into().expect("length checked");
            return Ok(Ring::from_master(&Zeroizing::new(master)));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| damaged(path, format!("it is neither text nor {KEY_LEN} raw bytes")))?;
        let decode = |b64: &str, line: usize| -> Result<Key, KeyError> {
            let raw = Zeroizing::new(
                B64.decode(b64.trim())
                    .map_err(|_| damaged(path, format!("line {line}: the key is not base64")))?,
            );
            let key: [u8; KEY_LEN] = raw.as_slice().try_into().map_err(|_| {
                damaged(path, format!("line {line}: a key must be {KEY_LEN} bytes"))
            })?;
            Ok(Zeroizing::new(key))
        };
        let mut mac = None;
        let mut keys: Vec<(u32, Key)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("mac"), Some(b64), None, None) => mac = Some(decode(b64, n)?),
                (Some("key"), Some(id), Some(b64), None) => {
                    let id: u32 = id
                        .parse()
                        .map_err(|_| damaged(path, format!("line {n}: bad key id {id:?}")))?;
                    if keys.iter().any(|(k, _)| *k == id) {
                        return Err(damaged(path, format!("line {n}: key {id} appears twice")));
                    }
                    keys.push((id, decode(b64, n)?));
                }
                _ => {
                    return Err(damaged(
                        path,
                        format!("line {n}: expected `mac <base64>` or `key <id> <base64>`"),
                    ));
                }
            }
        }
        let mac = mac.ok_or_else(|| damaged(path, "it has no `mac` line"))?;
        if keys.is_empty() {
            return Err(damaged(path, "it has no `key` line"));
        }
        Ok(Ring {
            mac,
            keys,
            legacy: false,
        })
    }

    fn to_text(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::from(HEADER));
        s.push_str(&format!("mac {}\n", B64.encode(self.mac.as_ref())));
        for (id, key) in &self.keys {
            s.push_str(&format!("key {id} {}\n", B64.encode(key.as_ref())));
        }
        s
    }

    fn active(&self) -> &(u32, Key) {
        self.keys.last().expect("a ring always holds a key")
    }

    fn key(&self, id: u32) -> Option<&Key> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, k)| k)
    }
}

/// Where a ciphertext belongs: the AAD binds it to its row and field (and
/// key), so it cannot be moved onto another connection.
fn aad(key_id: u32, code: &str, field: &str) -> Vec<u8> {
    if key_id == 0 {
        format!("switchboard/v1|connection={code}|field={field}").into_bytes()
    } else {
        format!("switchboard/v2|key={key_id}|connection={code}|field={field}").into_bytes()
    }
}

/// A secret encrypted for storage: which key, and nonce ‖ ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: u32,
    pub blob: Vec<u8>,
}

/// What a key ring file holds, for `switchboard keyring list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingInfo {
    pub key_ids: Vec<u32>,
    pub active: u32,
    pub legacy: bool,
}

fn write_private(path: &Path, text: &str) -> Result<(), KeyError> {
    let io = |error| KeyError::Io {
        path: path.display().to_string(),
        error,
    };
    // Write beside, then rename: a crash leaves the old file or the new one.
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

impl Keys {
    /// Reads the key file, creating it (0600, a fresh ring) when absent.
    pub fn load_or_create(path: &Path) -> Result<Keys, KeyError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                Ok(Keys {
                    path: Some(path.to_path_buf()),
                    ring: RwLock::new(Ring::parse(path, &bytes)?),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = Ring::fresh();
                // create_new: two processes starting at once cannot both
                // write a different ring.
                let mut opts = OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                match opts.open(path) {
                    Ok(mut file) => {
                        let io = |error| KeyError::Io {
                            path: path.display().to_string(),
                            error,
                        };
                        file.write_all(ring.to_text().as_bytes()).map_err(io)?;
                        file.sync_all().map_err(io)?;
                        Ok(Keys {
                            path: Some(path.to_path_buf()),
                            ring: RwLock::new(ring),
                        })
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Keys::load_existing(path)
                    }
                    Err(error) => Err(KeyError::Io {
                        path: path.display().to_string(),
                        error,
                    }),
                }
            }
            Err(error) => Err(KeyError::Io {
                path: path.display().to_string(),
                error,
            }),
        }
    }

    /// Reads a key file that must exist.
    pub fn load_existing(path: &Path) -> Result<Keys, KeyError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|error| KeyError::Io {
            path: path.display().to_string(),
            error,
        })?);
        Ok(Keys {
            path: Some(path.to_path_buf()),
            ring: RwLock::new(Ring::parse(path, &bytes)?),
        })
    }

    /// A ring derived from a master key, in memory only (tests).
    pub fn from_master(master: &[u8; KEY_LEN]) -> Keys {
        Keys {
            path: None,
            ring: RwLock::new(Ring::from_master(master)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ids of the keys, the active one, and the format.
    pub fn info(&self) -> RingInfo {
        let ring = self.read();
        RingInfo {
            key_ids: ring.keys.iter().map(|(id, _)| *id).collect(),
            active: ring.active().0,
            legacy: ring.legacy,
        }
    }

    /// Adds a new key, makes it the active one and saves the file. Secrets
    /// encrypted before stay readable with their old key until re-encrypted.
    pub fn rotate(&self) -> Result<u32, KeyError> {
        let Some(path) = &self.path else {
            return Err(KeyError::Io {
                path: "(memory)".to_string(),
                error: std::io::Error::other("an in-memory key ring cannot be saved"),
            });
        };
        let mut ring = self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = ring.clone();
        let id = next.keys.iter().map(|(k, _)| *k).max().unwrap_or(0) + 1;
        next.keys
            .push((id, Zeroizing::new(random_bytes::<KEY_LEN>())));
        next.legacy = false;
        write_private(path, &next.to_text())?;
        *ring = next;
        Ok(id)
    }

    /// Re-reads the file (another process rotated the ring).
    pub(crate) fn reload(&self) -> Result<(), KeyError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|error| KeyError::Io {
            path: path.display().to_string(),
            error,
        })?);
        let fresh = Ring::parse(path, &bytes)?;
        let mut ring = self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if fresh.mac.as_ref() != ring.mac.as_ref() {
            return Err(damaged(
                path,
                "its `mac` key differs from the one this process started with",
            ));
        }
        *ring = fresh;
        Ok(())
    }

    /// Encrypts a secret with the active key, bound to its connection and
    /// field.
    pub fn encrypt(&self, code: &str, field: &str, plain: &SecretString) -> Sealed {
        let ring = self.read();
        let (key_id, key) = ring.active();
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let aad = aad(*key_id, code, field);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plain.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a short message cannot fail");
        let mut blob = Vec::with_capacity(NONCE_LEN + ct.len());
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&ct);
        Sealed {
            key_id: *key_id,
            blob,
        }
    }

    /// Decrypts what [`Keys::encrypt`] made for the same connection and field.
    pub fn decrypt(
        &self,
        code: &str,
        field: &str,
        sealed: &Sealed,
    ) -> Result<SecretString, KeyError> {
        if self.read().key(sealed.key_id).is_none() {
            self.reload()?;
        }
        let ring = self.read();
        let key = ring
            .key(sealed.key_id)
            .ok_or(KeyError::UnknownKey(sealed.key_id))?;
        if sealed.blob.len() < NONCE_LEN {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ct) = sealed.blob.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let aad = aad(sealed.key_id, code, field);
        let plain = Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| KeyError::Decrypt)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| KeyError::Decrypt)?;
        Ok(SecretString::from(text.to_string()))
    }

    /// Hex HMAC-SHA256 of a value under the MAC key: the stored form of a
    /// token, and the constant-time check of a client secret.
    pub fn mac_hex(&self, value: &str) -> String {
        let ring = self.read();
        let mut m = <HmacSha256 as Mac>::new_from_slice(ring.mac.as_ref()).expect("any key length");
        m.update(value.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Constant-time comparison of `value`'s MAC with a stored one.
    pub fn mac_matches(&self, value: &str, stored_hex: &str) -> bool {
        let mut stored = [0u8; 32];
        if hex::decode_to_slice(stored_hex, &mut stored).is_err() {
            return false;
        }
        let ring = self.read();
        let mut m = <HmacSha256 as Mac>::new_from_slice(ring.mac.as_ref()).expect("any key length");
        m.update(value.as_bytes());
        // hmac compares in constant time.
        m.verify_slice(&stored).is_ok()
    }

    /// The stored form of a machine-generated password: a keyed hash. The
    /// password has 256 random bits, so a fast keyed hash resists offline
    /// guessing as well as a slow one (research/security.md §2.2).
    pub fn hash_password(&self, password: &SecretString) -> String {
        format!(
            "{PASSWORD_SCHEME}{}",
            self.mac_hex(password.expose_secret())
        )
    }

    /// Constant-time check of a password against its stored hash.
    pub fn verify_password(&self, password: &str, stored: &str) -> bool {
        let Some(digest) = stored.strip_prefix(PASSWORD_SCHEME) else {
            return false;
        };
        self.mac_matches(password, digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_master(&[7u8; 32])
    }

    fn secret() -> SecretString {
        SecretString::from("sbs_abcdefghij".to_string())
    }

    #[test]
    fn a_mac_matches_its_value_only_and_a_malformed_stored_mac_never() {
        let k = keys();
        let stored = k.mac_hex("sbt_value");
        assert_eq!(stored.len(), 64);
        assert!(k.mac_matches("sbt_value", &stored));
        assert!(!k.mac_matches("sbt_valuf", &stored));
        assert!(!k.mac_matches("sbt_value", &stored[..62]), "short");
        assert!(!k.mac_matches("sbt_value", &format!("{stored}00")), "long");
        let mut flipped = stored.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        assert!(!k.mac_matches("sbt_value", &String::from_utf8(flipped).unwrap()));
        assert!(!k.mac_matches("sbt_value", &"zz".repeat(32)), "not hex");
        assert!(!Keys::from_master(&[8u8; 32]).mac_matches("sbt_value", &stored));
    }

    #[test]
    fn r5_secret_round_trips() {
        let k = keys();
        let sealed = k.encrypt("erp", "secret", &secret());
        assert!(
            !sealed.blob.windows(10).any(|w| w == b"abcdefghij"),
            "no plain text"
        );
        assert_eq!(
            k.decrypt("erp", "secret", &sealed).unwrap().expose_secret(),
            "sbs_abcdefghij"
        );
    }

    #[test]
    fn r5_a_flipped_bit_fails_cleanly() {
        let k = keys();
        let sealed = k.encrypt("erp", "secret", &secret());
        for i in [0, NONCE_LEN, sealed.blob.len() - 1] {
            let mut bad = sealed.clone();
            bad.blob[i] ^= 0x01;
            assert!(matches!(
                k.decrypt("erp", "secret", &bad),
                Err(KeyError::Decrypt)
            ));
        }
        let short = Sealed {
            key_id: sealed.key_id,
            blob: sealed.blob[..10].to_vec(),
        };
        assert!(k.decrypt("erp", "secret", &short).is_err());
    }

    #[test]
    fn r5_a_ciphertext_moved_to_another_row_or_field_fails() {
        let k = keys();
        let sealed = k.encrypt("erp", "secret", &secret());
        assert!(matches!(
            k.decrypt("shop", "secret", &sealed),
            Err(KeyError::Decrypt)
        ));
        assert!(matches!(
            k.decrypt("erp", "app_password", &sealed),
            Err(KeyError::Decrypt)
        ));
    }

    #[test]
    fn r5_a_wrong_key_fails_cleanly() {
        let sealed = keys().encrypt("erp", "secret", &secret());
        assert!(matches!(
            Keys::from_master(&[8u8; 32]).decrypt("erp", "secret", &sealed),
            Err(KeyError::Decrypt)
        ));
        let unknown = Sealed {
            key_id: 9,
            ..sealed
        };
        assert!(matches!(
            keys().decrypt("erp", "secret", &unknown),
            Err(KeyError::UnknownKey(9))
        ));
    }

    #[test]
    fn r4_password_hash_verifies_and_hides_the_password() {
        let k = keys();
        let pw = SecretString::from("sbp_secretvalue".to_string());
        let stored = k.hash_password(&pw);
        assert!(!stored.contains("secretvalue"));
        assert!(k.verify_password("sbp_secretvalue", &stored));
        assert!(!k.verify_password("sbp_other", &stored));
        assert!(!k.verify_password("sbp_secretvalue", "plain"));
    }

    #[test]
    fn key_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = Keys::load_or_create(&path).unwrap();
        let b = Keys::load_or_create(&path).unwrap();
        assert_eq!(a.mac_hex("x"), b.mac_hex("x"));
        assert_eq!(a.info().active, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            Keys::load_or_create(&path),
            Err(KeyError::Damaged { .. })
        ));
    }

    #[test]
    fn a_first_format_key_file_still_reads_its_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, [7u8; 32]).unwrap();
        let old = keys().encrypt("erp", "secret", &secret());
        assert_eq!(old.key_id, 0);
        let k = Keys::load_or_create(&path).unwrap();
        assert!(k.info().legacy);
        assert_eq!(
            k.decrypt("erp", "secret", &old).unwrap().expose_secret(),
            "sbs_abcdefghij"
        );
        assert_eq!(k.mac_hex("x"), keys().mac_hex("x"));
    }

    #[test]
    fn rotation_adds_a_key_keeps_old_ones_and_other_processes_follow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, [7u8; 32]).unwrap();
        let a = Keys::load_or_create(&path).unwrap();
        let b = Keys::load_or_create(&path).unwrap();
        let before = a.encrypt("erp", "secret", &secret());
        assert_eq!(a.rotate().unwrap(), 1);
        let after = a.encrypt("erp", "secret", &secret());
        assert_eq!(after.key_id, 1);
        // the rotating process reads both
        assert!(a.decrypt("erp", "secret", &before).is_ok());
        assert!(a.decrypt("erp", "secret", &after).is_ok());
        // another process reloads the file when it meets the new key
        assert_eq!(
            b.decrypt("erp", "secret", &after).unwrap().expose_secret(),
            "sbs_abcdefghij"
        );
        // digests are unchanged by rotation
        assert_eq!(a.mac_hex("x"), b.mac_hex("x"));
        let c = Keys::load_existing(&path).unwrap();
        assert_eq!(c.info().key_ids, vec![0, 1]);
        assert!(!c.info().legacy);
        assert_eq!(c.mac_hex("x"), a.mac_hex("x"));
    }
}
