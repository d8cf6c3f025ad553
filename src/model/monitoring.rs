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
