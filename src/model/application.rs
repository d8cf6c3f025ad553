//! The application side of a connection (R26): how the platform reaches the
//! outside application, and what a test of it answered (R27).

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// What every read answers in place of a stored secret value (R26, R28).
pub const SECRET_MASK: &str = "******";

/// A write-only secret value of the application side: a password, an API
/// key, a bearer token or an OAuth2 client secret. Sent as written (a
/// client sets it); every read of a stored one answers [`SECRET_MASK`]; held
/// in a [`SecretString`] (zeroed when dropped), and `Debug` never shows it.
#[derive(Clone, Default)]
pub struct WriteOnly(SecretString);

impl WriteOnly {
    pub fn new(value: impl Into<String>) -> Self {
        WriteOnly(SecretString::from(value.into()))
    }

    /// The mask, as reads answer it (sent back, it keeps the stored value).
    pub fn mask() -> Self {
        WriteOnly::new(SECRET_MASK)
    }

    /// Whether this is the mask (or nothing): "keep the stored value".
    pub fn is_mask(&self) -> bool {
        self.0.expose_secret() == SECRET_MASK
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl From<SecretString> for WriteOnly {
    fn from(s: SecretString) -> Self {
        WriteOnly(s)
    }
}

impl std::fmt::Debug for WriteOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(SECRET_MASK)
    }
}

impl PartialEq for WriteOnly {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for WriteOnly {}

impl Serialize for WriteOnly {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for WriteOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(WriteOnly::new)
    }
}

/// How the platform authenticates to the application.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    ToSchema,
    strum::VariantArray,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuthKind {
    /// No credentials.
    #[default]
    None,
    /// HTTP Basic: `username` and `password`.
    Basic,
    /// A key in a header: `header` (e.g. `X-API-Key`) and `key`.
    ApiKey,
    /// `Authorization: Bearer <token>`: `token`.
    Bearer,
    /// OAuth 2.0 client credentials: a token from `token_url` with
    /// `client_id` and `client_secret` (HTTP Basic) and `scope` if set, then
    /// sent as a bearer token.
    #[serde(rename = "oauth2_client_credentials")]
    #[strum(serialize = "oauth2_client_credentials")]
    Oauth2ClientCredentials,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<AuthKind> {
        s.parse().ok()
    }

    /// The name of the kind's one secret field, if it has one.
    pub fn secret_field(self) -> Option<&'static str> {
        match self {
            AuthKind::None => None,
            AuthKind::Basic => Some("password"),
            AuthKind::ApiKey => Some("key"),
            AuthKind::Bearer => Some("token"),
            AuthKind::Oauth2ClientCredentials => Some("client_secret"),
        }
    }
}

/// The application's auth: `kind` and the fields of that kind (the others
/// absent). Secret values (`password`, `key`, `token`, `client_secret`) are
/// write-only: reads answer `"******"`; an update that omits one, or sends
/// the mask, keeps the stored value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationAuth {
    pub kind: AuthKind,
    /// `basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `basic`; write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<WriteOnly>,
    /// `api_key`: the header that carries the key, e.g. `X-API-Key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// `api_key`; write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password)]
    pub key: Option<WriteOnly>,
    /// `bearer`; write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password)]
    pub token: Option<WriteOnly>,
    /// `oauth2_client_credentials`: the token endpoint (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// `oauth2_client_credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `oauth2_client_credentials`; write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password)]
    pub client_secret: Option<WriteOnly>,
    /// `oauth2_client_credentials`, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl ApplicationAuth {
    pub fn none() -> Self {
        ApplicationAuth::default()
    }

    /// HTTP Basic; `password: None` keeps the stored one (on an update).
    pub fn basic(username: impl Into<String>, password: Option<&str>) -> Self {
        ApplicationAuth {
            kind: AuthKind::Basic,
            username: Some(username.into()),
            password: password.map(WriteOnly::new),
            ..Default::default()
        }
    }

    /// A key in `header`; `key: None` keeps the stored one.
    pub fn api_key(header: impl Into<String>, key: Option<&str>) -> Self {
        ApplicationAuth {
            kind: AuthKind::ApiKey,
            header: Some(header.into()),
            key: key.map(WriteOnly::new),
            ..Default::default()
        }
    }

    /// A bearer token; `None` keeps the stored one.
    pub fn bearer(token: Option<&str>) -> Self {
        ApplicationAuth {
            kind: AuthKind::Bearer,
            token: token.map(WriteOnly::new),
            ..Default::default()
        }
    }

    /// OAuth 2.0 client credentials; `client_secret: None` keeps the stored one.
    pub fn oauth2_client_credentials(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<&str>,
        scope: Option<&str>,
    ) -> Self {
        ApplicationAuth {
            kind: AuthKind::Oauth2ClientCredentials,
            token_url: Some(token_url.into()),
            client_id: Some(client_id.into()),
            client_secret: client_secret.map(WriteOnly::new),
            scope: scope.map(str::to_string),
            ..Default::default()
        }
    }

    /// The secret value given for the kind's secret field, if any.
    pub fn secret(&self) -> Option<&WriteOnly> {
        match self.kind {
            AuthKind::None => None,
            AuthKind::Basic => self.password.as_ref(),
            AuthKind::ApiKey => self.key.as_ref(),
            AuthKind::Bearer => self.token.as_ref(),
            AuthKind::Oauth2ClientCredentials => self.client_secret.as_ref(),
        }
    }
}

/// How the platform reaches the outside application (R26).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// `http://` or `https://`, without credentials in it.
    #[serde(default)]
    pub base_url: String,
    /// What a test GETs, appended to `base_url` (starts with `/`); absent:
    /// `base_url` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_path: Option<String>,
    #[serde(default)]
    pub auth: ApplicationAuth,
}

impl Application {
    pub fn new(base_url: impl Into<String>, auth: ApplicationAuth) -> Self {
        Application {
            base_url: base_url.into(),
            ping_path: None,
            auth,
        }
    }

    pub fn with_ping_path(mut self, path: impl Into<String>) -> Self {
        self.ping_path = Some(path.into());
        self
    }
}

/// `POST /api/v1/connections/{code}/test` (R27): what calling the
/// application answered. A failure marks the connection offline; a success
/// clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TestResult {
    pub ok: bool,
    /// The application's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What happened, in words an administrator understands.
    pub message: String,
    pub latency_ms: u64,
    pub tested_at: DateTime<Utc>,
}
