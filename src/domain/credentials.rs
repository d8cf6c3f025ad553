//! Credential generation (R3): every random part comes from the OS CSPRNG,
//! with at least 128 bits of entropy, in a URL-safe alphabet.

use secrecy::SecretString;
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters in the random body of a client id: 22 × log2(62) ≈ 131 bits.
pub const CLIENT_ID_BODY: usize = 22;
/// Characters in the random body of a secret, password or token:
/// 43 × log2(62) ≈ 256 bits.
pub const SECRET_BODY: usize = 43;
/// Characters of the base62 CRC32 checksum at the end of every credential.
pub const CHECKSUM_LEN: usize = 6;

/// The kinds of machine-generated credential, each with its own prefix, so a
/// leaked value says what it is and scanners can recognise it (GitHub-style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ClientId,
    Secret,
    Password,
    AccessToken,
    RefreshToken,
    Session,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::ClientId,
        Kind::Secret,
        Kind::Password,
        Kind::AccessToken,
        Kind::RefreshToken,
        Kind::Session,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::ClientId => "sbc_",
            Kind::Secret => "sbs_",
            Kind::Password => "sbp_",
            Kind::AccessToken => "sba_",
            Kind::RefreshToken => "sbr_",
            Kind::Session => "sbu_",
        }
    }

    fn body_len(self) -> usize {
        match self {
            Kind::ClientId => CLIENT_ID_BODY,
            _ => SECRET_BODY,
        }
    }

    /// The full length of a credential of this kind.
    pub fn full_len(self) -> usize {
        self.prefix().len() + self.body_len() + CHECKSUM_LEN
    }

    /// Whether values of this kind are issued tokens, which carry a row id.
    pub fn is_token(self) -> bool {
        matches!(self, Kind::AccessToken | Kind::RefreshToken)
    }

    /// A new credential: prefix, random body from the OS CSPRNG, checksum.
    /// (A token kind gets a random id; issued tokens come from
    /// [`Kind::compose_token`].)
    pub fn generate(self) -> String {
        if self.is_token() {
            let id = u64::from_le_bytes(random_bytes::<8>()) >> 1;
            return self.compose_token(id, &random_base62(SECRET_BODY));
        }
        let body = random_base62(self.body_len());
        let mut out = String::with_capacity(self.full_len());
        out.push_str(self.prefix());
        out.push_str(&body);
        out.push_str(&checksum(&out));
        out
    }

    /// An issued token: `<prefix><id>_<verifier><checksum>`. The id (base62)
    /// selects the token's row, so issuing appends to the table instead of
    /// inserting at a random place; the verifier (256 random bits) is checked
    /// against its keyed digest in constant time (split-token pattern).
    pub fn compose_token(self, id: u64, verifier: &str) -> String {
        let mut out = String::with_capacity(4 + 12 + 1 + SECRET_BODY + CHECKSUM_LEN);
        out.push_str(self.prefix());
        out.push_str(&base62_u64(id));
        out.push('_');
        out.push_str(verifier);
        out.push_str(&checksum(&out));
        out
    }

    /// The id and verifier of a well-formed token of this kind.
    pub fn parse_token(self, value: &str) -> Option<(u64, &str)> {
        if !self.is_token() || !value.is_ascii() {
            return None;
        }
        let rest = value.strip_prefix(self.prefix())?;
        let (id, tail) = rest.split_once('_')?;
        if id.is_empty()
            || id.len() > 11
            || tail.len() != SECRET_BODY + CHECKSUM_LEN
            || !id
                .bytes()
                .chain(tail.bytes())
                .all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let (head, sum) = value.split_at(value.len() - CHECKSUM_LEN);
        if !bool::from(checksum(head).as_bytes().ct_eq(sum.as_bytes())) {
            return None;
        }
        let id = parse_base62_u64(id)?;
        Some((id, &tail[..SECRET_BODY]))
    }

    /// Whether `value` is well-formed for this kind: prefix, length,
    /// alphabet and checksum. Lets the server reject garbage, and scanners
    /// reject look-alikes, without a database.
    pub fn is_well_formed(self, value: &str) -> bool {
        if self.is_token() {
            return self.parse_token(value).is_some();
        }
        value.len() == self.full_len()
            && value.starts_with(self.prefix())
            && value
                .bytes()
                .skip(self.prefix().len())
                .all(|b| b.is_ascii_alphanumeric())
            && {
                let (head, sum) = value.split_at(value.len() - CHECKSUM_LEN);
                checksum(head).as_bytes().ct_eq(sum.as_bytes()).into()
            }
    }
}

/// `n` in base62, most significant digit first.
fn base62_u64(mut n: u64) -> String {
    let mut digits = Vec::with_capacity(11);
    loop {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&b| b as char).collect()
}

fn parse_base62_u64(s: &str) -> Option<u64> {
    s.bytes().try_fold(0u64, |n, b| {
        let d = BASE62.iter().position(|&c| c == b)? as u64;
        n.checked_mul(62)?.checked_add(d)
    })
}

/// The random part of a new token (43 base62 characters, ≈256 bits).
pub fn new_verifier() -> SecretString {
    SecretString::from(random_base62(SECRET_BODY))
}

/// The CRC32 of `head` in 6 base62 characters (62⁶ > 2³²).
fn checksum(head: &str) -> String {
    let mut n = u64::from(crc32fast::hash(head.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

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
    Kind::ClientId.generate()
}

pub fn new_secret() -> SecretString {
    SecretString::from(Kind::Secret.generate())
}

pub fn new_password() -> SecretString {
    SecretString::from(Kind::Password.generate())
}

/// A login session token (≈256 bits).
pub fn new_session_token() -> SecretString {
    SecretString::from(Kind::Session.generate())
}

/// A generated password for a person (setup, reset): 24 base62 characters,
/// ≈143 bits.
pub fn new_human_password() -> SecretString {
    SecretString::from(random_base62(24))
}

/// An API username candidate: `<code>_<4 digits>` (R3), the digits uniform
/// (rejection sampling). The caller retries on collision.
pub fn new_username(code: &str) -> String {
    loop {
        let n = u16::from_le_bytes(random_bytes::<2>());
        // 60000 = 6 × 10000: below it, `% 10000` is unbiased.
        if n < 60_000 {
            return format!("{code}_{:04}", n % 10_000);
        }
    }
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
    fn r3_credentials_have_the_promised_length_alphabet_and_checksum() {
        for kind in Kind::ALL {
            let v = kind.generate();
            if !kind.is_token() {
                assert_eq!(v.len(), kind.full_len(), "{kind:?}");
            }
            assert!(v.starts_with(kind.prefix()));
            assert!(is_url_safe(&v));
            assert!(kind.is_well_formed(&v), "{kind:?}");
            for other in Kind::ALL.into_iter().filter(|k| *k != kind) {
                assert!(!other.is_well_formed(&v), "{kind:?} taken for {other:?}");
            }
        }
        assert!(new_secret().expose_secret().starts_with("sbs_"));
        assert!(new_password().expose_secret().starts_with("sbp_"));
        assert!(Kind::AccessToken.generate().starts_with("sba_"));
        assert!(Kind::RefreshToken.generate().starts_with("sbr_"));
        // at least 128 bits of entropy in every random body (256 for secrets)
        assert!((CLIENT_ID_BODY as f64) * 62f64.log2() >= 128.0);
        assert!((SECRET_BODY as f64) * 62f64.log2() >= 255.0);
    }

    #[test]
    fn r25_tokens_carry_their_row_id_and_a_256_bit_verifier() {
        for id in [0u64, 1, 61, 62, 123_456_789, u64::MAX >> 1, u64::MAX] {
            let verifier = random_base62(SECRET_BODY);
            let t = Kind::AccessToken.compose_token(id, &verifier);
            assert_eq!(
                Kind::AccessToken.parse_token(&t),
                Some((id, verifier.as_str()))
            );
            assert!(Kind::RefreshToken.parse_token(&t).is_none());
            assert!(is_url_safe(&t));
        }
        assert!(Kind::Secret.parse_token(&Kind::Secret.generate()).is_none());
        // an id too large for 64 bits
        let t = Kind::AccessToken.compose_token(0, &random_base62(SECRET_BODY));
        let big = t.replacen("sba_0_", "sba_zzzzzzzzzzz_", 1);
        assert!(Kind::AccessToken.parse_token(&big).is_none());
    }

    #[test]
    fn r3_garbage_fails_the_checksum() {
        assert!(!Kind::Secret.is_well_formed(""));
        assert!(!Kind::Secret.is_well_formed("sbs_"));
        assert!(!Kind::AccessToken.is_well_formed(&format!("sba_{}", "a".repeat(49))));
        assert!(!Kind::AccessToken.is_well_formed(&format!("sba_1_{}", "a".repeat(49))));
        let v = Kind::AccessToken.generate();
        assert!(!Kind::AccessToken.is_well_formed(&format!("{v}x")));
        assert!(!Kind::AccessToken.is_well_formed(&v[..v.len() - 1]));
        // a non-ASCII character of the same byte length must not panic
        let mut odd = v.clone();
        odd.replace_range(10..12, "é");
        assert!(!Kind::AccessToken.is_well_formed(&odd));
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
        fn any_string_is_judged_without_panicking(s in ".{0,80}") {
            for kind in Kind::ALL {
                let _ = kind.is_well_formed(&s);
                let _ = kind.parse_token(&s);
            }
        }

        #[test]
        fn r3_any_one_character_change_breaks_the_checksum(
            kind_index in 0usize..6, pos in 0usize..60, replacement in 0usize..62,
        ) {
            let kind = Kind::ALL[kind_index];
            let v = kind.generate();
            let pos = kind.prefix().len() + pos % (v.len() - kind.prefix().len());
            let new = BASE62[replacement] as char;
            proptest::prop_assume!(v.as_bytes()[pos] as char != new);
            let mut changed = v.clone();
            changed.replace_range(pos..=pos, &new.to_string());
            proptest::prop_assert!(!kind.is_well_formed(&changed));
        }

        #[test]
        fn r3_random_base62_has_requested_length(n in 0usize..300) {
            let s = random_base62(n);
            proptest::prop_assert_eq!(s.len(), n);
            proptest::prop_assert!(is_url_safe(&s));
        }
    }
}
