//! Credential generation (R3): every random part comes from the OS CSPRNG,
//! with at least 128 bits of entropy, in a URL-safe alphabet.

use secrecy::SecretString;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters in the random body of a client id: 22 × log2(62) ≈ 131 bits.
pub const CLIENT_ID_BODY: usize = 22;
/// Characters in the random body of a secret or password: 43 × log2(62) ≈ 256 bits.
pub const SECRET_BODY: usize = 43;

pub const CLIENT_ID_PREFIX: &str = "sbc_";
pub const SECRET_PREFIX: &str = "sbs_";
pub const PASSWORD_PREFIX: &str = "sbp_";
pub const SESSION_PREFIX: &str = "sbu_";

/// Fills `n` characters of base62 from the OS CSPRNG, without modulo bias
/// (bytes ≥ 248 = 4 × 62 are rejected).
pub fn random_base62(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        // The OS generator failing is unrecoverable: no credential may be made
        // from anything weaker.
        getrandom::fill(&mut buf).expect("the OS random number generator failed");
        for &b in &buf {
            if b < 248 {
                out.push(BASE62[(b % 62) as usize] as char);
                if out.len() == n {
                    break;
                }
            }
        }
    }
    out
}

/// Random bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf
}

pub fn new_client_id() -> String {
    format!("{CLIENT_ID_PREFIX}{}", random_base62(CLIENT_ID_BODY))
}

pub fn new_secret() -> SecretString {
    SecretString::from(format!("{SECRET_PREFIX}{}", random_base62(SECRET_BODY)))
}

pub fn new_password() -> SecretString {
    SecretString::from(format!("{PASSWORD_PREFIX}{}", random_base62(SECRET_BODY)))
}

/// A login session token (≈256 bits).
pub fn new_session_token() -> SecretString {
    SecretString::from(format!("{SESSION_PREFIX}{}", random_base62(SECRET_BODY)))
}

/// A generated password for a person (setup, reset): 24 base62 characters,
/// ≈143 bits.
pub fn new_human_password() -> SecretString {
    SecretString::from(random_base62(24))
}

/// An API username candidate: `<code>_<4 digits>` (R3). The caller retries on
/// collision.
pub fn new_username(code: &str) -> String {
    let bytes = random_bytes::<2>();
    let n = u16::from_le_bytes(bytes) % 10_000;
    format!("{code}_{n:04}")
}

/// Whether a string only uses the credential alphabet (base62 and `_`).
pub fn is_url_safe(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashSet;

    #[test]
    fn r3_credentials_have_the_promised_length_and_alphabet() {
        let id = new_client_id();
        assert_eq!(id.len(), CLIENT_ID_PREFIX.len() + CLIENT_ID_BODY);
        assert!(is_url_safe(&id));
        let secret = new_secret();
        assert_eq!(
            secret.expose_secret().len(),
            SECRET_PREFIX.len() + SECRET_BODY
        );
        assert!(is_url_safe(secret.expose_secret()));
        let password = new_password();
        assert!(password.expose_secret().starts_with(PASSWORD_PREFIX));
        assert!(is_url_safe(password.expose_secret()));
        // at least 128 bits of entropy in every random body
        assert!((CLIENT_ID_BODY as f64) * 62f64.log2() >= 128.0);
        assert!((SECRET_BODY as f64) * 62f64.log2() >= 128.0);
    }

    #[test]
    fn r3_username_is_code_and_four_digits() {
        for _ in 0..200 {
            let u = new_username("magento");
            let (code, digits) = u.rsplit_once('_').unwrap();
            assert_eq!(code, "magento");
            assert_eq!(digits.len(), 4);
            assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn r3_credentials_are_unique() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_client_id()).collect();
        assert_eq!(ids.len(), 10_000);
        let secrets: HashSet<String> = (0..10_000)
            .map(|_| new_secret().expose_secret().to_string())
            .collect();
        assert_eq!(secrets.len(), 10_000);
    }

    #[test]
    fn r3_base62_is_roughly_uniform() {
        // 62,000 draws: every symbol should appear about 1,000 times; a biased
        // `% 62` mapping would not change this much, but a broken table would.
        let s = random_base62(62_000);
        let mut counts = [0u32; 62];
        for b in s.bytes() {
            let i = BASE62.iter().position(|&c| c == b).unwrap();
            counts[i] += 1;
        }
        assert!(
            counts.iter().all(|&c| (700..1300).contains(&c)),
            "{counts:?}"
        );
    }

    proptest::proptest! {
        #[test]
        fn r3_random_base62_has_requested_length(n in 0usize..300) {
            let s = random_base62(n);
            proptest::prop_assert_eq!(s.len(), n);
            proptest::prop_assert!(is_url_safe(&s));
        }
    }
}
