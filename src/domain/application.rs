//! The application side of a connection (R26) and the rules of its test
//! (R27), as pure functions: validation of what a client sends (every error
//! names its field and never echoes a secret value), the masked view every
//! read answers, the audit changes (secret values as `******`), the
//! addresses a test may not reach, and the re-test backoff.

use std::net::IpAddr;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::RuleError;
use crate::model::{Application, ApplicationAuth, AuthKind, FieldChange, SECRET_MASK, WriteOnly};

/// Longest `base_url` and `token_url`.
pub const URL_MAX: usize = 2048;
/// Longest `ping_path`.
pub const PING_PATH_MAX: usize = 1024;
/// Longest username, header name, client id.
pub const NAME_MAX: usize = 256;
/// Longest scope.
pub const SCOPE_MAX: usize = 1024;
/// Longest secret value.
pub const SECRET_MAX: usize = 4096;

/// The non-secret fields of the auth (stored in clear, shown to readers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// An application side as stored, without its secret value: what reads,
/// the audit trail and the "keep the stored secret" rule need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApplication {
    pub base_url: String,
    pub ping_path: Option<String>,
    pub kind: AuthKind,
    pub public: PublicAuth,
    /// Whether a secret value is stored (every kind but `none` has one).
    pub has_secret: bool,
}

impl StoredApplication {
    /// What every read answers: the secret value as `******`.
    pub fn masked(&self) -> Application {
        let mask = || self.has_secret.then(WriteOnly::mask);
        let p = &self.public;
        let auth = match self.kind {
            AuthKind::None => ApplicationAuth::none(),
            AuthKind::Basic => ApplicationAuth {
                kind: AuthKind::Basic,
                username: p.username.clone(),
                password: mask(),
                ..Default::default()
            },
            AuthKind::ApiKey => ApplicationAuth {
                kind: AuthKind::ApiKey,
                header: p.header.clone(),
                key: mask(),
                ..Default::default()
            },
            AuthKind::Bearer => ApplicationAuth {
                kind: AuthKind::Bearer,
                token: mask(),
                ..Default::default()
            },
            AuthKind::Oauth2ClientCredentials => ApplicationAuth {
                kind: AuthKind::Oauth2ClientCredentials,
                token_url: p.token_url.clone(),
                client_id: p.client_id.clone(),
                client_secret: mask(),
                scope: p.scope.clone(),
                ..Default::default()
            },
        };
        Application {
            base_url: self.base_url.clone(),
            ping_path: self.ping_path.clone(),
            auth,
        }
    }
}

/// A validated application side. `secret: None` keeps the stored value
/// (the value was omitted or sent as the mask); whether there is one to
/// keep is the caller's check ([`keep_secret_error`]).
#[derive(Debug, Clone)]
pub struct ValidApplication {
    pub base_url: String,
    pub ping_path: Option<String>,
    pub kind: AuthKind,
    pub public: PublicAuth,
    pub secret: Option<SecretString>,
}

impl ValidApplication {
    /// As stored, once its secret is (`has_secret`).
    pub fn stored(&self, has_secret: bool) -> StoredApplication {
        StoredApplication {
            base_url: self.base_url.clone(),
            ping_path: self.ping_path.clone(),
            kind: self.kind,
            public: self.public.clone(),
            has_secret,
        }
    }
}

fn secret_field_name(kind: AuthKind) -> Option<&'static str> {
    match kind {
        AuthKind::None => None,
        AuthKind::Basic => Some("application.auth.password"),
        AuthKind::ApiKey => Some("application.auth.key"),
        AuthKind::Bearer => Some("application.auth.token"),
        AuthKind::Oauth2ClientCredentials => Some("application.auth.client_secret"),
    }
}

/// The error when a value is to be kept but none of this kind is stored
/// (a new application, or one of another kind before).
pub fn keep_secret_error(kind: AuthKind, stored: Option<&StoredApplication>) -> Option<RuleError> {
    let field = secret_field_name(kind)?;
    let keepable = stored.is_some_and(|s| s.kind == kind && s.has_secret);
    (!keepable).then(|| {
        let name = kind.secret_field().unwrap_or("secret");
        RuleError::new(
            field,
            format!(
                "{field} is required for auth kind {kind}: there is no stored {name} to keep",
                kind = kind.as_str()
            ),
        )
    })
}

/// Checks a URL the application side names (`base_url`, `token_url`):
/// absolute, http or https, with a host, without credentials or fragment.
pub fn parse_http_url(field: &'static str, raw: &str) -> Result<url::Url, RuleError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(RuleError::new(field, format!("{field} is required")));
    }
    if raw.chars().count() > URL_MAX {
        return Err(RuleError::new(
            field,
            format!("{field} is too long: at most {URL_MAX} characters"),
        ));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RuleError::new(
            field,
            format!("{field} must not contain spaces or control characters"),
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => RuleError::new(
            field,
            format!("{field} has no scheme: write it as https://host/path (or http://)"),
        ),
        other => RuleError::new(field, format!("{field} is not a valid URL: {other}")),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(RuleError::new(
            field,
            format!(
                "{field} must start with http:// or https:// (it starts with {}:)",
                url.scheme()
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RuleError::new(
            field,
            format!(
                "{field} must not hold credentials (user:password@host): put them in application.auth"
            ),
        ));
    }
    if url.host().is_none() || url.host_str().is_some_and(str::is_empty) {
        return Err(RuleError::new(field, format!("{field} has no host")));
    }
    if url.fragment().is_some() {
        return Err(RuleError::new(
            field,
            format!("{field} must not have a fragment (#…)"),
        ));
    }
    Ok(url)
}

fn check_ping_path(path: &str) -> Result<(), RuleError> {
    const F: &str = "application.ping_path";
    if !path.starts_with('/') {
        return Err(RuleError::new(
            F,
            format!("{F} must start with '/' (it is appended to base_url), e.g. /health"),
        ));
    }
    if path.chars().count() > PING_PATH_MAX {
        return Err(RuleError::new(
            F,
            format!("{F} is too long: at most {PING_PATH_MAX} characters"),
        ));
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RuleError::new(
            F,
            format!("{F} must not contain spaces or control characters"),
        ));
    }
    if path.contains('#') {
        return Err(RuleError::new(
            F,
            format!("{F} must not have a fragment (#…)"),
        ));
    }
    Ok(())
}

/// What a test GETs: `base_url` with `ping_path` appended to its path (a
/// query in `ping_path` replaces the base's), or `base_url` itself.
pub fn ping_url(base_url: &str, ping_path: Option<&str>) -> Result<url::Url, RuleError> {
    let mut url = parse_http_url("application.base_url", base_url)?;
    if let Some(p) = ping_path {
        check_ping_path(p)?;
        let (path, query) = match p.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (p, None),
        };
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        if let Some(q) = query {
            url.set_query(Some(q));
        }
    }
    Ok(url)
}

/// A plain text field of the auth: required (or not), bounded, without
/// control characters.
fn text(
    field: &'static str,
    value: Option<&String>,
    required: bool,
    max: usize,
) -> Result<Option<String>, RuleError> {
    let Some(v) = value.map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return if required {
            Err(RuleError::new(field, format!("{field} is required")))
        } else {
            Ok(None)
        };
    };
    if v.chars().count() > max {
        return Err(RuleError::new(
            field,
            format!("{field} is too long: at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(RuleError::new(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(Some(v.to_string()))
}

/// A secret value as sent: `None` (omitted or the mask) keeps the stored
/// one. Messages never hold the value. `header_safe`: it travels as a
/// header value as is (printable ASCII only).
fn secret(
    field: &'static str,
    value: Option<&WriteOnly>,
    header_safe: bool,
) -> Result<Option<SecretString>, RuleError> {
    let Some(v) = value.filter(|v| !v.is_mask()) else {
        return Ok(None);
    };
    let s = v.expose();
    if s.is_empty() {
        return Err(RuleError::new(
            field,
            format!(
                "{field} must not be empty (omit it, or send {SECRET_MASK:?}, to keep the stored value)"
            ),
        ));
    }
    if s.chars().count() > SECRET_MAX {
        return Err(RuleError::new(
            field,
            format!("{field} is too long: at most {SECRET_MAX} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(RuleError::new(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    if header_safe && !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(RuleError::new(
            field,
            format!("{field} may hold only printable ASCII characters (it is sent in a header)"),
        ));
    }
    Ok(Some(v.secret().clone()))
}

/// Headers an API key must not be sent in: they frame the request.
const FRAMING_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-connection",
];

/// Checks an application side as a client sent it (R26).
pub fn validate_application(app: &Application) -> Result<ValidApplication, RuleError> {
    let ping_path = app
        .ping_path
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    // Checks the base URL and the path, and that they make a URL.
    ping_url(&app.base_url, ping_path.as_deref())?;
    let a = &app.auth;
    let kind = a.kind;
    // Fields of another kind are refused, naming them.
    let present: [(&'static str, bool, &[AuthKind]); 9] = [
        (
            "application.auth.username",
            a.username.is_some(),
            &[AuthKind::Basic],
        ),
        (
            "application.auth.password",
            a.password.is_some(),
            &[AuthKind::Basic],
        ),
        (
            "application.auth.header",
            a.header.is_some(),
            &[AuthKind::ApiKey],
        ),
        ("application.auth.key", a.key.is_some(), &[AuthKind::ApiKey]),
        (
            "application.auth.token",
            a.token.is_some(),
            &[AuthKind::Bearer],
        ),
        (
            "application.auth.token_url",
            a.token_url.is_some(),
            &[AuthKind::Oauth2ClientCredentials],
        ),
        (
            "application.auth.client_id",
            a.client_id.is_some(),
            &[AuthKind::Oauth2ClientCredentials],
        ),
        (
            "application.auth.client_secret",
            a.client_secret.is_some(),
            &[AuthKind::Oauth2ClientCredentials],
        ),
        (
            "application.auth.scope",
            a.scope.is_some(),
            &[AuthKind::Oauth2ClientCredentials],
        ),
    ];
    for (field, given, kinds) in present {
        if given && !kinds.contains(&kind) {
            return Err(RuleError::new(
                field,
                format!(
                    "{field} does not belong to auth kind {}; send only the fields of that kind",
                    kind.as_str()
                ),
            ));
        }
    }
    let mut public = PublicAuth::default();
    let secret_value = match kind {
        AuthKind::None => None,
        AuthKind::Basic => {
            const F: &str = "application.auth.username";
            let username = text(F, a.username.as_ref(), true, NAME_MAX)?;
            if username.as_deref().is_some_and(|u| u.contains(':')) {
                return Err(RuleError::new(
                    F,
                    format!(
                        "{F} must not contain ':' (HTTP Basic separates it from the password with one)"
                    ),
                ));
            }
            public.username = username;
            secret("application.auth.password", a.password.as_ref(), false)?
        }
        AuthKind::ApiKey => {
            const F: &str = "application.auth.header";
            let header = text(F, a.header.as_ref(), true, NAME_MAX)?.unwrap_or_default();
            if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(RuleError::new(
                    F,
                    format!(
                        "{F} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only), e.g. X-API-Key"
                    ),
                ));
            }
            if FRAMING_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
                return Err(RuleError::new(
                    F,
                    format!("{F} cannot be {header}: that header frames the request"),
                ));
            }
            public.header = Some(header);
            secret("application.auth.key", a.key.as_ref(), true)?
        }
        AuthKind::Bearer => secret("application.auth.token", a.token.as_ref(), true)?,
        AuthKind::Oauth2ClientCredentials => {
            const F: &str = "application.auth.token_url";
            let token_url = text(F, a.token_url.as_ref(), true, URL_MAX)?.unwrap_or_default();
            parse_http_url(F, &token_url)?;
            public.token_url = Some(token_url);
            public.client_id = text(
                "application.auth.client_id",
                a.client_id.as_ref(),
                true,
                NAME_MAX,
            )?;
            public.scope = text("application.auth.scope", a.scope.as_ref(), false, SCOPE_MAX)?;
            secret(
                "application.auth.client_secret",
                a.client_secret.as_ref(),
                false,
            )?
        }
    };
    Ok(ValidApplication {
        base_url: app.base_url.trim().to_string(),
        ping_path,
        kind,
        public,
        secret: secret_value,
    })
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
    }
}

/// The audit changes from `old` to `new` (either absent: created or
/// removed), per field; a secret value changed (`secret_changed`), set or
/// removed appears as `******` (R28).
pub fn audit_changes(
    old: Option<&StoredApplication>,
    new: Option<&StoredApplication>,
    secret_changed: bool,
) -> Vec<FieldChange> {
    fn fields(a: &StoredApplication) -> Vec<(&'static str, Option<String>)> {
        let p = &a.public;
        vec![
            ("application.base_url", Some(a.base_url.clone())),
            ("application.ping_path", a.ping_path.clone()),
            ("application.auth.kind", Some(a.kind.as_str().to_string())),
            ("application.auth.username", p.username.clone()),
            ("application.auth.header", p.header.clone()),
            ("application.auth.token_url", p.token_url.clone()),
            ("application.auth.client_id", p.client_id.clone()),
            ("application.auth.scope", p.scope.clone()),
        ]
    }
    let none = |a: Option<&StoredApplication>| -> Vec<(&'static str, Option<String>)> {
        match a {
            Some(a) => fields(a),
            None => fields(&StoredApplication {
                base_url: String::new(),
                ping_path: None,
                kind: AuthKind::None,
                public: PublicAuth::default(),
                has_secret: false,
            })
            .into_iter()
            .map(|(f, _)| (f, None))
            .collect(),
        }
    };
    let mut out: Vec<FieldChange> = none(old)
        .into_iter()
        .zip(none(new))
        .filter(|((_, o), (_, n))| o != n)
        .map(|((f, o), (_, n))| change(f, o.as_deref(), n.as_deref()))
        .collect();
    let secret_of = |a: Option<&StoredApplication>| {
        a.filter(|a| a.has_secret)
            .and_then(|a| secret_field_name(a.kind))
    };
    let (old_secret, new_secret) = (secret_of(old), secret_of(new));
    match (old_secret, new_secret) {
        (Some(o), Some(n)) if o == n => {
            if secret_changed {
                out.push(change(n, Some(SECRET_MASK), Some(SECRET_MASK)));
            }
        }
        (o, n) => {
            if let Some(o) = o {
                out.push(change(o, Some(SECRET_MASK), None));
            }
            if let Some(n) = n {
                out.push(change(n, None, Some(SECRET_MASK)));
            }
        }
    }
    out
}

// ----- tests of the application (R27) ---------------------------------------

/// The first re-test of an offline connection comes this long after it
/// went offline; each later one twice as long after the one before, at
/// most [`RETEST_MAX_MS`].
pub const RETEST_FIRST_MS: i64 = 60_000;
pub const RETEST_MAX_MS: i64 = 3_600_000;

/// The delay before the re-test after one that waited `previous_ms` (0:
/// none yet).
pub fn next_retest_delay(previous_ms: i64) -> i64 {
    if previous_ms <= 0 {
        RETEST_FIRST_MS
    } else {
        previous_ms.saturating_mul(2).min(RETEST_MAX_MS)
    }
}

/// The addresses a test refuses to reach unless allowed: link-local
/// (169.254.0.0/16, fe80::/10: among them the cloud metadata address
/// 169.254.169.254) and the other clouds' metadata addresses (AWS's IPv6
/// fd00:ec2::254, Alibaba's 100.100.100.200).
pub fn default_denied() -> Vec<IpNet> {
    [
        "169.254.0.0/16",
        "fe80::/10",
        "fd00:ec2::254/128",
        "100.100.100.200/32",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// Which addresses a test may reach: none in `deny` unless also in `allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPolicy {
    pub deny: Vec<IpNet>,
    pub allow: Vec<IpNet>,
}

impl Default for AddressPolicy {
    fn default() -> Self {
        AddressPolicy {
            deny: default_denied(),
            allow: Vec::new(),
        }
    }
}

impl AddressPolicy {
    /// The policy with `deny` added to the defaults and `allow` exempted.
    pub fn with(deny: &[IpNet], allow: &[IpNet]) -> Self {
        let mut p = AddressPolicy::default();
        p.deny.extend_from_slice(deny);
        p.allow.extend_from_slice(allow);
        p
    }

    /// Whether a test must not reach `ip` (an IPv4-mapped IPv6 address is
    /// judged as the IPv4 address it maps).
    pub fn refuses(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        !self.allow.iter().any(|n| n.contains(&ip)) && self.deny.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Application;

    fn app(base: &str, auth: ApplicationAuth) -> Application {
        Application::new(base, auth)
    }

    fn field_of(a: &Application) -> &'static str {
        validate_application(a).unwrap_err().field
    }

    #[test]
    fn r26_urls_need_a_scheme_http_a_host_and_no_credentials() {
        let none = ApplicationAuth::none;
        for bad in [
            "erp.example.com/api",
            "ftp://erp.example.com",
            "localhost:8080",
            "https://user:pw@erp.example.com",
            "https://user@erp.example.com",
            "https://",
            "",
            "https://erp.example.com/a b",
            "https://erp.example.com/#x",
        ] {
            assert_eq!(
                field_of(&app(bad, none())),
                "application.base_url",
                "{bad:?}"
            );
        }
        let err = validate_application(&app("https://u:hunter2@x.example", none())).unwrap_err();
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        let long = format!("https://x.example/{}", "a".repeat(URL_MAX));
        assert_eq!(field_of(&app(&long, none())), "application.base_url");
        assert!(validate_application(&app("http://127.0.0.1:8080/api", none())).is_ok());
    }

    #[test]
    fn r26_ping_path_starts_with_a_slash_and_is_appended() {
        let mut a = app("https://erp.example.com/api/", ApplicationAuth::none());
        a.ping_path = Some("health".into());
        assert_eq!(field_of(&a), "application.ping_path");
        a.ping_path = Some("/health?deep=1".into());
        assert!(validate_application(&a).is_ok());
        assert_eq!(
            ping_url(&a.base_url, a.ping_path.as_deref())
                .unwrap()
                .as_str(),
            "https://erp.example.com/api/health?deep=1"
        );
        assert_eq!(
            ping_url("https://erp.example.com", Some("//evil.example/x"))
                .unwrap()
                .host_str(),
            Some("erp.example.com")
        );
        assert_eq!(
            ping_url("https://erp.example.com/api?v=1", None)
                .unwrap()
                .as_str(),
            "https://erp.example.com/api?v=1"
        );
    }

    #[test]
    fn r26_each_kind_needs_its_fields_and_refuses_the_others() {
        let base = "https://erp.example.com";
        let mut basic = ApplicationAuth::basic("", Some("pw"));
        assert_eq!(
            field_of(&app(base, basic.clone())),
            "application.auth.username"
        );
        basic.username = Some("a:b".into());
        assert_eq!(field_of(&app(base, basic)), "application.auth.username");
        let mut key = ApplicationAuth::api_key("X-API-Key", Some("k"));
        key.token = Some(WriteOnly::new("t"));
        assert_eq!(field_of(&app(base, key)), "application.auth.token");
        assert_eq!(
            field_of(&app(base, ApplicationAuth::api_key("X API", Some("k")))),
            "application.auth.header"
        );
        assert_eq!(
            field_of(&app(base, ApplicationAuth::api_key("Host", Some("k")))),
            "application.auth.header"
        );
        assert_eq!(
            field_of(&app(base, ApplicationAuth::bearer(Some("")))),
            "application.auth.token"
        );
        assert_eq!(
            field_of(&app(base, ApplicationAuth::bearer(Some("tök")))),
            "application.auth.token"
        );
        let o = ApplicationAuth::oauth2_client_credentials("token", "id", Some("s"), None);
        assert_eq!(field_of(&app(base, o)), "application.auth.token_url");
        let o = ApplicationAuth::oauth2_client_credentials(base, "", Some("s"), None);
        assert_eq!(field_of(&app(base, o)), "application.auth.client_id");
        let huge = "s".repeat(SECRET_MAX + 1);
        let err =
            validate_application(&app(base, ApplicationAuth::bearer(Some(&huge)))).unwrap_err();
        assert_eq!(err.field, "application.auth.token");
        assert!(!err.message.contains(&huge));
        let mut none = ApplicationAuth::none();
        none.username = Some("u".into());
        assert_eq!(field_of(&app(base, none)), "application.auth.username");
    }

    #[test]
    fn r26_an_omitted_or_masked_secret_means_keep() {
        let base = "https://erp.example.com";
        for auth in [
            ApplicationAuth::basic("u", None),
            ApplicationAuth::basic("u", Some(SECRET_MASK)),
        ] {
            let v = validate_application(&app(base, auth)).unwrap();
            assert!(v.secret.is_none());
            assert!(keep_secret_error(v.kind, None).is_some());
            let stored = v.stored(true);
            assert!(keep_secret_error(v.kind, Some(&stored)).is_none());
            let other = StoredApplication {
                kind: AuthKind::Bearer,
                ..stored
            };
            assert_eq!(
                keep_secret_error(v.kind, Some(&other)).unwrap().field,
                "application.auth.password"
            );
        }
    }

    #[test]
    fn r26_reads_and_audit_show_the_mask_only() {
        let v = validate_application(&app(
            "https://erp.example.com",
            ApplicationAuth::api_key("X-API-Key", Some("the-key")),
        ))
        .unwrap();
        let stored = v.stored(true);
        let read = serde_json::to_string(&stored.masked()).unwrap();
        assert!(
            !read.contains("the-key") && read.contains(SECRET_MASK),
            "{read}"
        );
        let created = audit_changes(None, Some(&stored), true);
        assert!(
            created
                .iter()
                .any(|c| c.field == "application.auth.key" && c.new.as_deref() == Some(SECRET_MASK))
        );
        assert!(audit_changes(Some(&stored), Some(&stored), false).is_empty());
        let rotated = audit_changes(Some(&stored), Some(&stored), true);
        assert_eq!(rotated.len(), 1);
        let removed = audit_changes(Some(&stored), None, false);
        assert!(removed.iter().all(|c| c.new.is_none()));
    }

    #[test]
    fn r27_the_deny_list_refuses_link_local_and_metadata_unless_allowed() {
        let p = AddressPolicy::default();
        for ip in [
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "fd00:ec2::254",
            "100.100.100.200",
            "::ffff:169.254.169.254",
        ] {
            assert!(p.refuses(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["127.0.0.1", "10.0.0.1", "::1", "93.184.216.34"] {
            assert!(!p.refuses(ip.parse().unwrap()), "{ip}");
        }
        let p = AddressPolicy::with(
            &["127.0.0.0/8".parse().unwrap()],
            &["169.254.169.254/32".parse().unwrap()],
        );
        assert!(p.refuses("127.0.0.1".parse().unwrap()));
        assert!(!p.refuses("169.254.169.254".parse().unwrap()));
        assert!(p.refuses("169.254.169.253".parse().unwrap()));
    }

    #[test]
    fn r27_retests_back_off_from_a_minute_to_an_hour() {
        let mut d = 0;
        let mut seen = Vec::new();
        for _ in 0..9 {
            d = next_retest_delay(d);
            seen.push(d / 60_000);
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
