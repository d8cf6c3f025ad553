//! Integrations, flows and registration (SPEC §4): the API's bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `standard`, or `app` (a packaged integration; no registration, R17).
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
pub enum IntegrationKind {
    #[default]
    Standard,
    App,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<IntegrationKind> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Integration {
    pub code: String,
    pub name: String,
    pub kind: IntegrationKind,
    /// Codes of the connections registered with it, in code order.
    pub registered: Vec<String>,
    /// How many flows it holds.
    pub flows: u64,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The calling user's access to it (R19): `manage` for the owner and
    /// admins, the member's own level otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessLevel>,
}

/// `export` reads from an application, `import` writes to one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
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
pub enum StepKind {
    Export,
    Import,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<StepKind> {
        s.parse().ok()
    }
}

/// One step of a flow: what it does, with which connection (by code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowStep {
    pub kind: StepKind,
    pub connection: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Flow {
    pub code: String,
    pub name: String,
    /// The integration's code; `None` for a standalone flow.
    pub integration: Option<String>,
    pub steps: Vec<FlowStep>,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
    /// For a member, a flow of an integration they have no access to: only
    /// the steps whose connection is registered with one of theirs are shown
    /// (R18's transitive exposure).
    #[serde(default)]
    pub partial: bool,
}

/// The answer to a flow save: the flow, the connections the save registered
/// with its integration (R14), and the reminder to show when there are any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FlowSaved {
    pub flow: Flow,
    pub registered: Vec<String>,
    pub reminder: Option<String>,
}

/// R16: one step that uses a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsedBy {
    pub flow: String,
    pub flow_name: String,
    /// `None` for a standalone flow.
    pub integration: Option<String>,
    /// 0-based position of the step in its flow.
    pub position: u32,
    pub kind: StepKind,
}

/// A member's access to one integration (R19).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
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
pub enum AccessLevel {
    /// Read-only.
    Monitor,
    /// May register, deregister, save flows, and act on the connections
    /// registered with the integration.
    Manage,
}

impl AccessLevel {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<AccessLevel> {
        s.parse().ok()
    }
}

/// Body of `POST /api/v1/integrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegration {
    pub name: String,
    /// Generated from the name when absent (the connection code rules).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub kind: IntegrationKind,
}

/// Body of `PATCH /api/v1/integrations/{code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    pub name: String,
}

/// Body of `POST /api/v1/integrations/{code}/registrations` (R12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterConnections {
    /// Connection codes to register; at most 10,000 at once.
    pub connections: Vec<String>,
    /// Connection codes to deregister in the same transaction (R15).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deregister: Vec<String>,
}

/// The answer to a registration: the integration and what was new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Registered {
    pub integration: Integration,
    pub registered: Vec<String>,
    /// What the same request deregistered.
    #[serde(default)]
    pub deregistered: Vec<String>,
}

/// Body of `PUT /api/v1/flows/{code}`: the whole flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowInput {
    pub name: String,
    /// The integration's code; absent or null for a standalone flow.
    #[serde(default)]
    pub integration: Option<String>,
    pub steps: Vec<FlowStep>,
    /// The version read, to refuse a stale save.
    #[serde(default)]
    pub version: Option<u64>,
}

/// Body of `PUT /api/v1/integrations/{code}/access/{username}`; `null`
/// takes the access away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessGrant {
    pub level: Option<AccessLevel>,
}

/// One member's access to an integration, as
/// `GET /api/v1/integrations/{code}/access` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberAccess {
    pub username: String,
    pub level: AccessLevel,
}

/// Body of `POST /api/v1/connections/{code}/replace` (R16a): replace the
/// connection by `with` in one step (`flow` and `position`), in one flow
/// (`flow`), or everywhere (neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceConnection {
    pub with: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// 0-based step position in `flow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// The answer to a replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replaced {
    /// How many steps now use the replacement.
    pub steps: u64,
    /// The flows changed, by code.
    pub flows: Vec<String>,
    /// Integrations the replacement was registered with on the way (R14).
    pub registered_with: Vec<String>,
}
