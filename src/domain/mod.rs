//! The rules of SPEC.md as pure functions. No I/O.

pub mod access;
pub mod application;
pub mod catalog;
pub mod credentials;
pub mod monitoring;
pub mod products;

use thiserror::Error;

/// Shortest and longest label, counted in characters after trimming (R1).
pub const LABEL_MIN: usize = 3;
pub const LABEL_MAX: usize = 100;
/// Shortest and longest code (R1).
pub const CODE_MIN: usize = 3;
pub const CODE_MAX: usize = 100;
/// Default quota of connections per account (R2).
pub const DEFAULT_MAX_CONNECTIONS: u64 = 50;
/// Longest path accepted for a user-named visual file.
pub const VISUAL_PATH_MAX: usize = 1024;

/// A broken rule, naming the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct RuleError {
    pub field: &'static str,
    pub message: String,
}

impl RuleError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        RuleError {
            field,
            message: message.into(),
        }
    }
}

/// The code a label suggests (R1): letters transliterated to ASCII first
/// (`Ü` → `u`, `ß` → `ss`, `Ø` → `o`); lowercase; every run of characters
/// outside `[a-z0-9]` becomes `_`; leading and trailing `_` removed; at most
/// 100 characters. The result may be too short to be valid; see
/// [`code_from_label`].
pub fn slug_from_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len().min(CODE_MAX));
    let mut pending_sep = false;
    // A character with no transliteration counts as a separator.
    let ascii = label
        .chars()
        .flat_map(|ch| deunicode::deunicode_char(ch).unwrap_or(" ").chars());
    for ch in ascii.flat_map(|c| c.to_lowercase()) {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(ch);
            if out.len() >= CODE_MAX {
                break;
            }
        } else {
            pending_sep = true;
        }
    }
    out.truncate(CODE_MAX);
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The code generated from a label, or a clear error when the label has too
/// few letters or digits to make one.
pub fn code_from_label(label: &str) -> Result<String, RuleError> {
    let code = slug_from_label(label);
    if code.len() < CODE_MIN {
        return Err(RuleError::new(
            "code",
            format!(
                "the label has too few letters or digits to make a code (at least {CODE_MIN} of a-z, 0-9); type a code"
            ),
        ));
    }
    Ok(code)
}

/// The key connections are listed by: the label without accents, in lower
/// case, so "Übersetzungsbüro" sorts with the u's, not after z.
pub fn sort_key(label: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    label
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Checks a label (R1) and returns it trimmed.
pub fn validate_label(label: &str) -> Result<String, RuleError> {
    let trimmed = label.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(RuleError::new("label", "label is required"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(RuleError::new(
            "label",
            "label must not contain control characters",
        ));
    }
    if len < LABEL_MIN {
        return Err(RuleError::new(
            "label",
            format!("label is too short: {len} characters, at least {LABEL_MIN}"),
        ));
    }
    if len > LABEL_MAX {
        return Err(RuleError::new(
            "label",
            format!("label is too long: {len} characters, at most {LABEL_MAX}"),
        ));
    }
    Ok(trimmed.to_string())
}

/// Checks a code (R1): `^[a-z0-9_]{3,100}$`.
pub fn validate_code(code: &str) -> Result<(), RuleError> {
    let len = code.chars().count();
    if len == 0 {
        return Err(RuleError::new("code", "code is required"));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(RuleError::new(
            "code",
            format!(
                "code may hold only lowercase letters a-z, digits and '_' (found {:?})",
                bad
            ),
        ));
    }
    if len < CODE_MIN {
        return Err(RuleError::new(
            "code",
            format!("code is too short: {len} characters, at least {CODE_MIN}"),
        ));
    }
    if len > CODE_MAX {
        return Err(RuleError::new(
            "code",
            format!("code is too long: {len} characters, at most {CODE_MAX}"),
        ));
    }
    Ok(())
}

/// Checks a username: 2–64 characters of letters, digits, `.`, `_`, `-`, `@`.
/// The longest username (in characters).
pub const USERNAME_MAX: usize = 64;

pub fn validate_username(name: &str) -> Result<(), RuleError> {
    let n = name.chars().count();
    if n == 0 {
        return Err(RuleError::new("username", "username is required"));
    }
    if !(2..=USERNAME_MAX).contains(&n) {
        return Err(RuleError::new(
            "username",
            format!("username must be 2 to {USERNAME_MAX} characters, not {n}"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(RuleError::new(
            "username",
            format!("username may hold letters, digits, '.', '_', '-' and '@' (found {bad:?})"),
        ));
    }
    Ok(())
}

/// Shortest and longest human password.
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 1024;

/// Checks a password a person chose (never echoes it).
pub fn validate_human_password(password: &str) -> Result<(), RuleError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(RuleError::new(
            "password",
            format!("password is too short: at least {PASSWORD_MIN} characters"),
        ));
    }
    if n > PASSWORD_MAX {
        return Err(RuleError::new(
            "password",
            format!("password is too long: at most {PASSWORD_MAX} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(RuleError::new(
            "password",
            "password must not contain control characters",
        ));
    }
    Ok(())
}

/// A bundled logo: its name (the file `assets/logos/<name>.png`) and what it stands for.
pub const BUNDLED_VISUALS: &[(&str, &str)] = &[
    ("analytics", "Analytics and BI"),
    ("crm", "CRM"),
    ("dam", "Digital asset management"),
    ("ecommerce", "E-commerce shop"),
    ("email", "E-mail and newsletters"),
    ("erp", "ERP"),
    ("marketplace", "Marketplace"),
    ("pim", "Product information"),
    ("print", "Print catalogue"),
    ("translation", "Translation"),
];

/// Whether a visual names a bundled logo (as opposed to an image file).
pub fn is_bundled_visual(visual: &str) -> bool {
    BUNDLED_VISUALS.iter().any(|(name, _)| *name == visual)
}

/// Checks a visual (R9): a bundled logo name, or an absolute path to a PNG or
/// JPEG file. Returns it trimmed; an empty value means "no visual".
pub fn validate_visual(visual: &str) -> Result<Option<String>, RuleError> {
    let v = visual.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if is_bundled_visual(v) {
        return Ok(Some(v.to_string()));
    }
    let lower = v.to_ascii_lowercase();
    let is_image = [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e));
    if (v.starts_with('/') || v.starts_with("~/")) && is_image {
        if v.len() > VISUAL_PATH_MAX || v.chars().any(char::is_control) {
            return Err(RuleError::new(
                "visual",
                format!(
                    "visual path must be at most {VISUAL_PATH_MAX} bytes, without control characters"
                ),
            ));
        }
        return Ok(Some(v.to_string()));
    }
    let names: Vec<&str> = BUNDLED_VISUALS.iter().map(|(n, _)| *n).collect();
    Err(RuleError::new(
        "visual",
        format!(
            "unknown visual {v:?}: use a bundled logo ({}) or an absolute path to a .png or .jpg file",
            names.join(", ")
        ),
    ))
}

/// Up to two initials for the badge drawn when no logo can be shown.
pub fn initials(label: &str) -> String {
    let words: Vec<&str> = label
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: String = match words.as_slice() {
        [] => String::new(),
        [one] => one.chars().take(2).collect(),
        [first, second, ..] => first
            .chars()
            .take(1)
            .chain(second.chars().take(1))
            .collect(),
    };
    out = out.to_uppercase();
    if out.is_empty() {
        out.push('?');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn r1_code_from_label_examples() {
        assert_eq!(
            code_from_label("Magento Storefront").unwrap(),
            "magento_storefront"
        );
        assert_eq!(
            code_from_label("  ERP (SAP) — prod ").unwrap(),
            "erp_sap_prod"
        );
        assert_eq!(
            code_from_label("Shopify---Plus  US").unwrap(),
            "shopify_plus_us"
        );
        assert_eq!(code_from_label("__abc__").unwrap(), "abc");
        assert_eq!(code_from_label("Übersetzung").unwrap(), "ubersetzung");
        assert_eq!(code_from_label("123 Go").unwrap(), "123_go");
    }

    #[test]
    fn r1_label_without_enough_letters_gives_a_clear_error() {
        let err = code_from_label("— ü —").unwrap_err();
        assert_eq!(err.field, "code");
        assert!(err.message.contains("type a code"));
        assert!(code_from_label("ab").is_err());
    }

    #[test]
    fn r1_code_is_capped_at_100_without_trailing_separator() {
        let label = format!("{} x", "a".repeat(99));
        let code = code_from_label(&label).unwrap();
        assert_eq!(code.len(), 99, "a trailing '_' left by the cut is removed");
        let long = "abc ".repeat(60);
        assert!(code_from_label(&long).unwrap().len() <= CODE_MAX);
    }

    #[test]
    fn r1_label_rules() {
        assert_eq!(validate_label("  Odoo  ").unwrap(), "Odoo");
        assert_eq!(validate_label("").unwrap_err().message, "label is required");
        assert_eq!(validate_label("   ").unwrap_err().field, "label");
        assert!(
            validate_label("ab")
                .unwrap_err()
                .message
                .contains("too short")
        );
        assert!(validate_label("abc").is_ok());
        assert!(validate_label(&"é".repeat(100)).is_ok());
        assert!(
            validate_label(&"é".repeat(101))
                .unwrap_err()
                .message
                .contains("too long")
        );
        assert!(
            validate_label("a\nbc")
                .unwrap_err()
                .message
                .contains("control")
        );
    }

    #[test]
    fn r1_code_rules() {
        assert!(validate_code("erp_sap").is_ok());
        assert!(validate_code("abc").is_ok());
        assert!(
            validate_code("ab")
                .unwrap_err()
                .message
                .contains("too short")
        );
        assert!(
            validate_code("Abc")
                .unwrap_err()
                .message
                .contains("lowercase")
        );
        assert!(validate_code("a-bc").is_err());
        assert!(validate_code("").unwrap_err().message.contains("required"));
        assert!(validate_code(&"a".repeat(100)).is_ok());
        assert!(
            validate_code(&"a".repeat(101))
                .unwrap_err()
                .message
                .contains("too long")
        );
    }

    #[test]
    fn r9_visual_rules() {
        assert_eq!(validate_visual("erp").unwrap().as_deref(), Some("erp"));
        assert_eq!(validate_visual("").unwrap(), None);
        assert!(validate_visual("/home/me/logo.png").is_ok());
        assert!(validate_visual("~/logos/shop.JPG").is_ok());
        let err = validate_visual("nope").unwrap_err();
        assert_eq!(err.field, "visual");
        assert!(err.message.contains("erp"));
        assert!(validate_visual("relative/logo.png").is_err());
        assert!(validate_visual("/etc/passwd").is_err());
    }

    #[test]
    fn usernames_and_human_passwords() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("a.b-c_d@x").is_ok());
        assert_eq!(validate_username("").unwrap_err().field, "username");
        assert!(validate_username("a").is_err());
        assert!(validate_username("bad name").is_err());
        assert!(validate_username(&"x".repeat(65)).is_err());
        assert!(validate_human_password("correct horse").is_ok());
        let e = validate_human_password("short").unwrap_err();
        assert_eq!(e.field, "password");
        assert!(!e.message.contains("short\""), "never echoes the password");
        assert!(validate_human_password(&"x".repeat(1025)).is_err());
        assert!(validate_human_password("twelve chars\n").is_err());
    }

    #[test]
    fn r1_code_transliterates_accented_letters_to_ascii() {
        assert_eq!(
            slug_from_label("Übersetzungsbüro Müller"),
            "ubersetzungsburo_muller"
        );
        assert_eq!(
            slug_from_label("Lieferantenportal Süd"),
            "lieferantenportal_sud"
        );
        assert_eq!(
            slug_from_label("Boutique Café Paris"),
            "boutique_cafe_paris"
        );
        assert_eq!(
            slug_from_label("Straße Øresund Ærø"),
            "strasse_oresund_aero"
        );
        assert_eq!(
            slug_from_label("Crème brûlée — façade"),
            "creme_brulee_facade"
        );
        assert_eq!(code_from_label("Ölé").unwrap(), "ole");
    }

    #[test]
    fn r1_code_from_untransliterable_label_is_a_clear_error() {
        // Private-use characters have no ASCII form: they separate, like
        // punctuation, so a label made only of them cannot make a code.
        let e = code_from_label("\u{E000}\u{E001}\u{E002}").unwrap_err();
        assert_eq!(e.field, "code");
        assert_eq!(slug_from_label("ab\u{E000}cd"), "ab_cd");
    }

    #[test]
    fn sort_key_folds_case_and_accents() {
        assert_eq!(
            sort_key("Übersetzungsbüro Müller"),
            "ubersetzungsburo muller"
        );
        assert_eq!(sort_key("Café"), "cafe");
        assert!(sort_key("Übersetzung") < sort_key("Vendor"));
    }

    #[test]
    fn initials_examples() {
        assert_eq!(initials("Magento Storefront"), "MS");
        assert_eq!(initials("odoo"), "OD");
        assert_eq!(initials("— —"), "?");
    }

    proptest! {
        #[test]
        fn r1_any_label_yields_a_valid_code_or_a_clear_error(label in any::<String>()) {
            match code_from_label(&label) {
                Ok(code) => prop_assert!(validate_code(&code).is_ok(), "invalid code {code:?}"),
                Err(e) => {
                    prop_assert_eq!(e.field, "code");
                    prop_assert!(slug_from_label(&label).len() < CODE_MIN);
                }
            }
        }

        #[test]
        fn r1_accents_do_not_change_the_code(label in "[a-zA-Z0-9 ]{0,120}") {
            let accented: String = label
                .chars()
                .map(|c| match c {
                    'a' => 'á',
                    'e' => 'è',
                    'u' => 'ü',
                    'o' => 'ö',
                    'c' => 'ç',
                    'n' => 'ñ',
                    'A' => 'Å',
                    'U' => 'Ü',
                    other => other,
                })
                .collect();
            prop_assert_eq!(slug_from_label(&accented), slug_from_label(&label));
        }

        #[test]
        fn r1_slug_is_idempotent(label in "\\PC{0,120}") {
            let once = slug_from_label(&label);
            prop_assert_eq!(slug_from_label(&once), once.clone());
        }

        #[test]
        fn r1_label_validation_never_panics(label in any::<String>()) {
            if let Ok(l) = validate_label(&label) {
                let n = l.chars().count();
                prop_assert!((LABEL_MIN..=LABEL_MAX).contains(&n));
            }
        }
    }
}
