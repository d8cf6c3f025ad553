//! What the backend returned, in one place: every tab reads it, and only
//! the answers to the app's commands change it.

use super::tabs::register::UsageIndex;
use std::collections::HashMap;

use crate::model::{AccessLevel, AuditRecord, Connection, Flow, Integration, Me, Quota};

#[derive(Default)]
pub struct Data {
    /// Who is acting (from `GET /api/v1/me`).
    pub me: Option<Me>,
    pub quota: Option<Quota>,
    pub connections: Vec<Connection>,
    /// How many connections the backend holds (more than loaded while the
    /// rest of the first load is in flight).
    pub total: u64,
    /// Whether the connections have arrived once.
    pub loaded: bool,
    /// The integrations and flows the user sees.
    pub integrations: Vec<Integration>,
    pub flows: Vec<Flow>,
    /// Whether the integrations and flows have arrived once.
    pub integrations_loaded: bool,
    /// Registrations and used-by per connection code (built per load).
    pub usage: UsageIndex,
    /// The audit trail of one connection, by code.
    pub audit: Option<(String, Result<Vec<AuditRecord>, String>)>,
    /// Members' access by (integration code, username), as the server
    /// answered when the users window loaded and as this console set it
    /// since: `None` is no access; a pair missing could not be read.
    pub grants: HashMap<(String, String), Option<AccessLevel>>,
}
