//! What the Web API did, for monitoring (R23).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A product event a Web API call of a connection caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiEvent {
    /// Products created (source connections).
    Created,
    /// Products updated (source connections).
    Updated,
    /// Products read (destination connections).
    Read,
}

/// Put by a Web API handler into its response's extensions: what the call
/// did and to how many products. The monitoring layer counts it together
/// with the response status (4xx business error, 5xx technical error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub event: ApiEvent,
    pub count: u32,
}

/// What a connection's Web API calls did over some time (R23).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventCounts {
    /// Products created (source connections).
    pub created: u64,
    /// Products updated (source connections).
    pub updated: u64,
    /// Products read (destination connections).
    pub read: u64,
    /// Calls answered 4xx after the token was accepted.
    pub business_errors: u64,
    /// Calls answered 5xx after the token was accepted.
    pub technical_errors: u64,
}

/// The counts of one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayCounts {
    /// The day (UTC), `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date, example = "2025-01-31")]
    pub date: chrono::NaiveDate,
    #[serde(flatten)]
    pub counts: EventCounts,
}

/// `GET /api/v1/connections/{code}/monitoring`: one connection's last 7
/// days (R23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConnectionMonitoring {
    pub code: String,
    pub label: String,
    pub flow_type: super::FlowType,
    /// False for `other` connections, which are not monitored: no days and
    /// no total then.
    pub monitored: bool,
    /// The last 7 days (UTC), oldest first, today last; days without calls
    /// are there with zeros. Empty when not monitored.
    pub days: Vec<DayCounts>,
    /// The 7 days together; null when not monitored.
    pub total: Option<EventCounts>,
    /// Some of these counts are the demo workspace's made-up history, not
    /// real Web API calls.
    #[serde(default)]
    pub demo: bool,
}

/// `GET /api/v1/monitoring`: every connection the user may see (R18), by
/// day and together (R23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MonitoringOverview {
    /// The window's first day (UTC), six days before `to`.
    #[schema(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    /// The window's last day: today (UTC).
    #[schema(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
    /// When the counts were read: every call answered before is in them.
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// The monitored connections together, per day, oldest first.
    pub days: Vec<DayCounts>,
    /// The monitored connections together over the 7 days.
    pub total: EventCounts,
    /// Each connection the user may see, in list order.
    pub connections: Vec<ConnectionMonitoring>,
    /// Some of these counts are the demo workspace's made-up history.
    #[serde(default)]
    pub demo: bool,
}
