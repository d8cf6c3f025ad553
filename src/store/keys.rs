//! The server key and what is derived from it: encryption of re-displayable
//! secrets (R5) and keyed hashes of passwords (R4). The key lives in a file
//! outside the database (mode 0600), so a stolen database yields ciphertext and
//! digests only.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::domain::credentials::random_bytes;

type HmacSha256 = Hmac<Sha256>;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Prefix of a stored password hash, so the scheme can change later.
const PASSWORD_SCHEME: &str = "hmac-sha256$v1$";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the key file {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("the key file {path} is damaged: it must hold exactly {KEY_LEN} bytes")]
    BadLength { path: String },
    #[error("a stored secret cannot be decrypted with this key file")]
    Decrypt,
}

/// Keys derived from the 32-byte master key.
pub struct Keys {
    enc: Zeroizing<[u8; KEY_LEN]>,
    mac: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Reads the key file, creating it (0600, 32 random bytes) when absent.
    pub fn load_or_create(path: &Path) -> Result<Keys, KeyError> {
        let io = |error| KeyError::Io {
            path: path.display().to_string(),
            error,
        };
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(path) {
            Ok(mut file) => {
                let master = Zeroizing::new(random_bytes::<KEY_LEN>());
                file.write_all(master.as_ref()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(Keys::from_master(&master))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mut buf = Zeroizing::new(Vec::new());
                std::fs::File::open(path)
                    .and_then(|mut f| f.read_to_end(&mut buf))
                    .map_err(io)?;
                let master: [u8; KEY_LEN] =
                    buf.as_slice().try_into().map_err(|_| KeyError::BadLength {
                        path: path.display().to_string(),
                    })?;
                Ok(Keys::from_master(&Zeroizing::new(master)))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Derives independent sub-keys with HMAC as a PRF.
    pub fn from_master(master: &[u8; KEY_LEN]) -> Keys {
        let derive = |label: &[u8]| {
            let mut m =
                <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
            m.update(label);
            let mut out = Zeroizing::new([0u8; KEY_LEN]);
            out.copy_from_slice(&m.finalize().into_bytes());
            out
        };
        Keys {
            enc: derive(b"switchboard/v1/encryption"),
            mac: derive(b"switchboard/v1/mac"),
        }
    }

    fn aad(code: &str, field: &str) -> Vec<u8> {
        format!("switchboard/v1|connection={code}|field={field}").into_bytes()
    }

    /// Encrypts a secret bound to its connection and field: nonce ‖ ciphertext.
    pub fn encrypt(&self, code: &str, field: &str, plain: &SecretString) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.enc.as_ref().into());
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let aad = Keys::aad(code, field);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plain.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a short message cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts what [`Keys::encrypt`] made for the same connection and field.
    pub fn decrypt(&self, code: &str, field: &str, blob: &[u8]) -> Result<SecretString, KeyError> {
        if blob.len() < NONCE_LEN {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.enc.as_ref().into());
        let aad = Keys::aad(code, field);
        let plain = Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| KeyError::Decrypt)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| KeyError::Decrypt)?;
        Ok(SecretString::from(text.to_string()))
    }

    /// Hex HMAC-SHA256 of a value under the MAC key.
    pub fn mac_hex(&self, value: &str) -> String {
        let mut m = <HmacSha256 as Mac>::new_from_slice(self.mac.as_ref()).expect("any key length");
        m.update(value.as_bytes());
        hex(&m.finalize().into_bytes())
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
        let computed = self.mac_hex(password);
        computed.as_bytes().ct_eq(digest.as_bytes()).into()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_master(&[7u8; 32])
    }

    #[test]
    fn r5_secret_round_trips_and_is_bound_to_its_connection() {
        let k = keys();
        let secret = SecretString::from("sbs_abc".to_string());
        let blob = k.encrypt("erp", "secret", &secret);
        assert!(!blob.windows(7).any(|w| w == b"sbs_abc"), "no plain text");
        assert_eq!(
            k.decrypt("erp", "secret", &blob).unwrap().expose_secret(),
            "sbs_abc"
        );
        assert!(
            k.decrypt("shop", "secret", &blob).is_err(),
            "AAD binds the code"
        );
        assert!(
            Keys::from_master(&[8u8; 32])
                .decrypt("erp", "secret", &blob)
                .is_err()
        );
        assert!(k.decrypt("erp", "secret", &blob[..10]).is_err());
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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            Keys::load_or_create(&path),
            Err(KeyError::BadLength { .. })
        ));
    }
}
