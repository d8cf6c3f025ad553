//! Plain serde types shared by every layer: the API's request and response
//! bodies. No logic, no I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod application;
mod catalog;
mod integrations;
mod monitoring;
pub use application::{Application, ApplicationAuth, AuthKind, SECRET_MASK, TestResult, WriteOnly};
pub use catalog::{
    Category, CategoryGrant, CategoryLevel, CategoryPatch, DEFAULT_GROUP, DEFAULT_ROLE,
    EmbeddedProducts, Group, GroupPatch, ItemLinks, Link, NewCategory, NewGroup, NewRole,
    PageLinks, Permission, Product, ProductAssociation, ProductItem, ProductPage,
    QuantifiedAssociation, QuantifiedLink, RestValidationError, RestViolation, Role, RolePatch,
};
pub use integrations::{
    AccessGrant, AccessLevel, Flow, FlowInput, FlowSaved, FlowStep, Integration, IntegrationKind,
    IntegrationPatch, MemberAccess, NewIntegration, RegisterConnections, Registered,
    ReplaceConnection, Replaced, StepKind, UsedBy,
};
pub use monitoring::{
    ApiEvent, ConnectionMonitoring, Counted, DayCounts, EventCounts, MonitoringOverview,
};

/// Which way data flows between the outside application and the platform (R1).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Default,
    ToSchema,
    strum::VariantArray,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum FlowType {
    /// Data flows into the platform.
    #[default]
    Source,
    /// Data is extracted from the platform.
    Destination,
    /// Neither; not monitored.
    Other,
}

impl FlowType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<FlowType> {
        s.parse().ok()
    }
}

/// A connection as every reader sees it. Holds no secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Connection {
    pub code: String,
    pub label: String,
    pub flow_type: FlowType,
    /// A bundled logo name (see `GET /api/v1/visuals`) or a path to an image file.
    pub visual: Option<String>,
    pub client_id: String,
    pub username: String,
    pub role: String,
    pub group: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Goes up by one with every change; an update names the version it read.
    pub version: u64,
    /// The last time, within 7 days, that the connection's client id and
    /// secret came with another username (R24); the Credentials view says more.
    #[serde(default)]
    pub wrong_credentials_at: Option<DateTime<Utc>>,
    /// Whether a flow step uses it (R16; `GET …/used-by` lists them).
    #[serde(default)]
    pub in_use: bool,
    /// The last Web API activity (a token issued or refreshed; hourly).
    #[serde(default)]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// R16b: used by no step and no Web API activity for 30 days.
    #[serde(default)]
    pub stale: bool,
    /// How the platform reaches the application (R26); secret values read
    /// as `"******"`.
    #[serde(default)]
    pub application: Option<Application>,
    /// R27: the last test of the application failed (and no later one
    /// passed); `offline_since` and `offline_reason` say when and why.
    #[serde(default)]
    pub offline: bool,
    #[serde(default)]
    pub offline_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub offline_reason: Option<String>,
}

/// One page of `GET /api/v1/connections?offset=&limit=`, in list order
/// (label, then code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConnectionPage {
    pub items: Vec<Connection>,
    /// How many connections exist in all.
    pub total: u64,
    pub offset: u64,
}

/// Body of `POST /api/v1/connections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    pub label: String,
    /// Generated from the label when absent (R1).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub flow_type: FlowType,
    #[serde(default)]
    pub visual: Option<String>,
    /// Created from within this integration: registered with it at once (R13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    /// How the platform reaches the application (R26). Boxed: it is large,
    /// and requests travel inside enums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Application>)]
    pub application: Option<Box<Application>>,
}

/// Body of `PATCH /api/v1/connections/{code}`: only the named fields change.
/// `visual: null` removes the visual; an absent `visual` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_type: Option<FlowType>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<String>, nullable)]
    pub visual: Option<Option<String>>,
    /// The connection's role (R10), by code; it must exist. Takes effect on
    /// the connection's next Web API request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The connection's group (R11), by code; it must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The application side (R26), replaced whole; `null` removes it. A
    /// secret value omitted, or sent as `"******"`, keeps the stored one
    /// (when the kind stays the same).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<Application>, nullable)]
    pub application: Option<Option<Box<Application>>>,
    /// The version the change is based on; when another change came first,
    /// the update is refused with 409 instead of overwriting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// The answer to a create: the connection and its password, shown once (R4).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedConnection {
    pub connection: Connection,
    pub secret: String,
    pub password: String,
}

/// Redacts the credentials, so a stray `{:?}` cannot leak them.
impl std::fmt::Debug for CreatedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedConnection")
            .field("connection", &self.connection)
            .field("secret", &"******")
            .field("password", &"******")
            .finish()
    }
}

/// Whether another connection may be created (R2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quota {
    pub count: u64,
    /// 0 = unlimited.
    pub max_connections: u64,
    pub reached: bool,
}

/// Body of `PATCH /api/v1/account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    pub max_connections: u64,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::VariantArray,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum UserKind {
    Owner,
    Admin,
    Member,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<UserKind> {
        s.parse().ok()
    }
}

/// A person who administers (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub username: String,
    pub kind: UserKind,
    /// Whether the user has a password (and so can log in to a server).
    pub can_log_in: bool,
    pub version: u64,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/users`. Without a password, one is generated and
/// returned once.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub kind: UserKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Body of `PUT /api/v1/users/{username}/password`. Without a password, one
/// is generated and returned once.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange(..)")
    }
}

/// A user and, when the server generated it, their password, shown once.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct UserWithPassword {
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

impl std::fmt::Debug for UserWithPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserWithPassword")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Body of `POST /api/v1/session`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The answer to a login: a bearer token for `Authorization: Bearer …`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionToken {
    pub token: String,
    pub user: User,
    /// The session ends after this many seconds without a request.
    pub idle_timeout_secs: u64,
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The acting user, as `GET /api/v1/me` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub kind: UserKind,
}

/// Where a change came from (R28).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Default,
    ToSchema,
    strum::VariantArray,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Source {
    Tui,
    #[default]
    Api,
    Cli,
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Source> {
        s.parse().ok()
    }
}

/// One changed field in an audit record; secret values appear as `******`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Who did what to which record, when (R28).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub source: Source,
    pub action: String,
    pub target: String,
    pub changes: Vec<FieldChange>,
}

/// A bundled logo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Visual {
    pub name: String,
    pub description: String,
}

/// The answer to loading the demo workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct DemoLoaded {
    /// Connections created.
    pub created: u64,
    #[serde(default)]
    pub integrations: u64,
    #[serde(default)]
    pub flows: u64,
    /// Members added (without a password: the owner sees what they see with
    /// `switchboard --as NAME`).
    #[serde(default)]
    pub members: u64,
    /// Roles, groups and categories created (R10, R11).
    #[serde(default)]
    pub roles: u64,
    #[serde(default)]
    pub groups: u64,
    #[serde(default)]
    pub categories: u64,
    /// Products created for the Web API (R22).
    #[serde(default)]
    pub products: u64,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A redacting `Debug` for types that carry a secret value.
macro_rules! redacted_debug {
    ($t:ty, $($field:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

/// R24: one username that came with this connection's client id and secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WrongCredentials {
    pub username: String,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub attempts: u64,
}

/// `GET /api/v1/connections/{code}/credentials`: everything about a
/// connection's credentials except their secret values. The secret comes
/// from `POST …/secret/reveal`; the password from nowhere (R4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CredentialsInfo {
    pub code: String,
    pub client_id: String,
    pub username: String,
    /// The token endpoint's path on the server that serves this API.
    pub token_path: String,
    /// Unexpired access tokens of the connection.
    pub active_access_tokens: u64,
    /// Unexpired refresh tokens of the connection.
    pub active_refresh_tokens: u64,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub password_rotated_at: Option<DateTime<Utc>>,
    /// The last 7 days of R24 warnings, newest first.
    pub wrong_credentials: Vec<WrongCredentials>,
}

/// `POST /api/v1/connections/{code}/secret/reveal` (R5; audited).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RevealedSecret {
    pub client_id: String,
    pub secret: String,
}
redacted_debug!(RevealedSecret, client_id);

/// `POST /api/v1/connections/{code}/secret`: a new secret (R6). Every token
/// of the connection was revoked with the old one.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RegeneratedSecret {
    pub client_id: String,
    pub secret: String,
    pub revoked_tokens: u64,
}
redacted_debug!(RegeneratedSecret, client_id, revoked_tokens);

/// `POST /api/v1/connections/{code}/password`: the new password, in this
/// answer only (R4, R7). Every token of the connection was revoked.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RegeneratedPassword {
    pub username: String,
    pub password: String,
    pub revoked_tokens: u64,
}
redacted_debug!(RegeneratedPassword, username, revoked_tokens);

/// The token endpoint's success answer (R21), in the de-facto PIM API shape.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Seconds: 3600.
    pub expires_in: u64,
    /// Always `bearer`.
    pub token_type: String,
    /// Always null.
    pub scope: Option<String>,
    pub refresh_token: String,
}
redacted_debug!(TokenResponse, expires_in);

/// The token endpoint's error answer: RFC 6749 fields and the PIM API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unsupported_grant_type` (RFC 6749 §5.2).
    pub error: String,
    pub error_description: String,
    /// The HTTP status.
    pub code: u16,
    pub message: String,
}

/// The Web API's error answer (`/api/rest/v1/…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RestError {
    /// The HTTP status.
    pub code: u16,
    pub message: String,
}

/// Serde helper telling an absent field (`None`) from an explicit `null`
/// (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
