//! The use cases: one function per action, taking the acting user, checking
//! the domain rules, running one transaction (in the store) that also writes
//! the audit record.

mod application;
pub use application::RetestPass;
pub mod catalog;
mod credentials;
pub mod integrations;
pub mod monitoring;
pub mod oauth;
pub mod probe;
pub mod products;
pub mod users;

use secrecy::ExposeSecret;

use crate::domain::access::{self, Verdict};
use crate::domain::{self, RuleError};
use crate::model::{
    AccountPatch, AuditRecord, Connection, ConnectionPage, ConnectionPatch, CreatedConnection,
    DemoLoaded, FlowType, Me, NewConnection, Quota, Source, UserKind, Visual,
};
use crate::store::{Acting, ConnectionChange, ConnectionDraft, Store, StoreError};

/// The one error type of the backend; the server maps it to HTTP once and the
/// client maps it back, so every transport shows the same message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{message}")]
    QuotaReached { max: u64, message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    Unauthenticated { message: String },
    #[error("{message}")]
    TooLarge { message: String },
    /// The record changed since the version the request was based on.
    #[error("{message}")]
    Stale { message: String },
    #[error("{message}")]
    TooManyRequests {
        retry_after_secs: u64,
        message: String,
    },
    /// The database cannot be reached now (a 503; the request may be
    /// retried).
    #[error("{message}")]
    Unavailable { message: String },
    /// A fault of ours; the message never carries details that could hold a secret.
    #[error("{message}")]
    Internal { message: String },
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid { field, .. } | ServiceError::Conflict { field, .. } => {
                Some(field)
            }
            ServiceError::QuotaReached { .. } => Some("max_connections"),
            ServiceError::Stale { .. } => Some("version"),
            _ => None,
        }
    }
}

impl From<RuleError> for ServiceError {
    fn from(e: RuleError) -> Self {
        ServiceError::invalid(e.field, e.message)
    }
}

fn connection_not_found(code: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("connection {code:?} not found"),
    }
}

/// The one conversion of store errors into service errors. A store's
/// `NotFound` is a connection's unless the caller says otherwise
/// ([`ServiceError::from_store`]).
impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound {
                message: "not found".to_string(),
            },
            e @ StoreError::Missing { .. } => ServiceError::NotFound {
                message: e.to_string(),
            },
            StoreError::InUse { message, .. } => ServiceError::Conflict {
                field: "connection".to_string(),
                message,
            },
            StoreError::Conflict { field, message } => ServiceError::Conflict {
                field: field.to_string(),
                message,
            },
            StoreError::Invalid { field, message } => ServiceError::Invalid {
                field: field.to_string(),
                message,
            },
            StoreError::Stale { message } => ServiceError::Stale { message },
            StoreError::QuotaReached { max } => ServiceError::QuotaReached {
                max,
                message: format!(
                    "the connection limit is reached: this account holds at most {max} connections; delete one or raise max_connections"
                ),
            },
            e @ StoreError::KeyRingBehind { .. } => {
                tracing::error!(error = %e, "refused to encrypt with an old key");
                ServiceError::Unavailable {
                    message: e.to_string(),
                }
            }
            e @ StoreError::NulInText => ServiceError::invalid("input", e.to_string()),
            StoreError::Unavailable(why) => {
                tracing::error!(error = %why, "the database is unavailable");
                ServiceError::Unavailable {
                    message: "the database is unavailable; try again shortly".to_string(),
                }
            }
            other => {
                // Store errors never carry secret values (they are bound as
                // parameters, never formatted into SQL or messages).
                tracing::error!(error = %other, "store failure");
                ServiceError::Internal {
                    message: "internal error; see the server log".to_string(),
                }
            }
        }
    }
}

impl ServiceError {
    /// As the conversion, a `NotFound` naming connection `code`.
    fn from_store(e: StoreError, code: Option<&str>) -> Self {
        match e {
            StoreError::NotFound => connection_not_found(code.unwrap_or("?")),
            e => ServiceError::from(e),
        }
    }
}

/// Which connections a list keeps (all when both are false).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// R16b: only the stale ones.
    pub stale: bool,
    /// R27: only the offline ones.
    pub offline: bool,
}

/// The acting user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub kind: UserKind,
}

impl Actor {
    /// Who acts and from where, for the store's audit records.
    fn acting(&self, source: Source) -> Acting<'_> {
        Acting {
            user: &self.username,
            source,
        }
    }

    fn is_admin(&self) -> bool {
        access::is_admin(self.kind)
    }
}

/// The demo workspace bundled in the binary.
const DEMO_JSON: &str = include_str!("../../assets/demo.json");

#[derive(serde::Deserialize)]
struct DemoFile {
    connections: Vec<NewConnection>,
    #[serde(default)]
    integrations: Vec<DemoIntegration>,
    #[serde(default)]
    flows: Vec<DemoFlow>,
    #[serde(default)]
    members: Vec<DemoMember>,
    #[serde(default)]
    history: Vec<DemoHistory>,
    /// A made-up week of Web API calls (R23), so the Monitor tab shows what
    /// it is for; marked as demo history.
    #[serde(default)]
    monitoring: Vec<DemoMonitoring>,
    /// Made-up wrong-credentials warnings (R24).
    #[serde(default)]
    wrong_credentials: Vec<DemoWrongCredentials>,
    #[serde(default)]
    categories: Vec<crate::model::NewCategory>,
    #[serde(default)]
    roles: Vec<crate::model::NewRole>,
    #[serde(default)]
    groups: Vec<crate::model::NewGroup>,
    /// Demo connections with another role or group than the defaults.
    #[serde(default)]
    permissions: Vec<DemoPermissions>,
    #[serde(default)]
    products: Vec<DemoProduct>,
}

#[derive(serde::Deserialize)]
struct DemoPermissions {
    connection: String,
    role: String,
    group: String,
}

/// A demo product, created `age_days` ago.
#[derive(serde::Deserialize)]
struct DemoProduct {
    identifier: String,
    enabled: bool,
    family: Option<String>,
    categories: Vec<String>,
    values: serde_json::Map<String, serde_json::Value>,
    age_days: u32,
}

/// A demo connection's past: when it was created and last used.
#[derive(serde::Deserialize)]
struct DemoHistory {
    connection: String,
    created_days_ago: u32,
    active_days_ago: Option<u32>,
}

#[derive(serde::Deserialize)]
struct DemoMonitoring {
    connection: String,
    /// The history ends this many days before the load (at the
    /// connection's last activity in `history`); 0: the hour before.
    #[serde(default)]
    until_days_ago: u32,
    #[serde(flatten)]
    traffic: crate::domain::monitoring::DemoTraffic,
}

#[derive(serde::Deserialize)]
struct DemoWrongCredentials {
    connection: String,
    /// The connection whose API username came with `connection`'s client
    /// id and secret.
    username_of: String,
    hours_ago: u32,
}

#[derive(serde::Deserialize)]
struct DemoIntegration {
    name: String,
    code: String,
    kind: crate::model::IntegrationKind,
    register: Vec<String>,
}

#[derive(serde::Deserialize)]
struct DemoFlow {
    code: String,
    name: String,
    integration: Option<String>,
    steps: Vec<crate::model::FlowStep>,
}

#[derive(serde::Deserialize)]
struct DemoMember {
    username: String,
    access: Vec<DemoAccess>,
}

#[derive(serde::Deserialize)]
struct DemoAccess {
    integration: String,
    level: crate::model::AccessLevel,
}

/// Most audit records one call returns.
const AUDIT_LIMIT: u32 = 200;

pub struct Service {
    store: Store,
    catalog: catalog::CatalogCache,
    /// Tokens each client may be issued, per second (a token bucket each,
    /// per instance).
    token_limit: catalog::WebApiLimit,
    /// The most live tokens a connection keeps (the oldest go past it).
    live_token_cap: u32,
    /// How tests of applications reach them (R27).
    test_policy: probe::TestPolicy,
}

impl Service {
    pub fn new(store: Store) -> Self {
        Service {
            store,
            catalog: catalog::CatalogCache::default(),
            token_limit: catalog::WebApiLimit::new(
                oauth::DEFAULT_TOKENS_PER_SECOND,
                oauth::DEFAULT_TOKEN_BURST,
            ),
            live_token_cap: oauth::DEFAULT_LIVE_TOKENS,
            test_policy: probe::TestPolicy::default(),
        }
    }

    /// Sets the most live tokens (access and refresh) each connection keeps;
    /// issuing past it revokes the oldest. At least 2 (one pair).
    pub fn with_live_token_cap(mut self, cap: u32) -> Self {
        self.live_token_cap = cap.max(2);
        self
    }

    /// Sets how many tokens each client may be issued per second, and the
    /// burst (`per_second` 0: no limit).
    pub fn with_token_limit(mut self, per_second: u32, burst: u32) -> Self {
        self.token_limit = catalog::WebApiLimit::new(per_second, burst);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where the data lives (for the header).
    pub fn backend_location(&self) -> &str {
        self.store.location()
    }

    fn require_admin(actor: &Actor, what: &str) -> Result<(), ServiceError> {
        Self::require_that(actor.is_admin(), what)
    }

    /// Refuses with "only the owner or an admin may {what}" unless `allowed`.
    fn require_that(allowed: bool, what: &str) -> Result<(), ServiceError> {
        if allowed {
            Ok(())
        } else {
            Err(ServiceError::Forbidden {
                message: format!("only the owner or an admin may {what}"),
            })
        }
    }

    pub fn me(&self, actor: &Actor) -> Me {
        Me {
            username: actor.username.clone(),
            kind: actor.kind,
        }
    }

    pub fn visuals(&self) -> Vec<Visual> {
        domain::BUNDLED_VISUALS
            .iter()
            .map(|(name, description)| Visual {
                name: name.to_string(),
                description: description.to_string(),
            })
            .collect()
    }

    pub async fn quota(&self, _actor: &Actor) -> Result<Quota, ServiceError> {
        self.store
            .quota()
            .await
            .map_err(|e| ServiceError::from_store(e, None))
    }

    pub async fn update_account(
        &self,
        actor: &Actor,
        source: Source,
        patch: AccountPatch,
    ) -> Result<Quota, ServiceError> {
        if actor.kind != UserKind::Owner {
            return Err(ServiceError::Forbidden {
                message: "only the owner may change the connection limit".to_string(),
            });
        }
        if patch.max_connections > i64::MAX as u64 {
            return Err(ServiceError::invalid(
                "max_connections",
                "max_connections is too large",
            ));
        }
        let acting = actor.acting(source);
        self.store
            .set_max_connections(&acting, patch.max_connections)
            .await
            .map_err(|e| ServiceError::from_store(e, None))
    }

    /// R18: everything for owner and admins; for a member, the connections
    /// registered with an integration they have access to.
    pub async fn list_connections(
        &self,
        actor: &Actor,
        offset: u64,
        limit: Option<u64>,
    ) -> Result<ConnectionPage, ServiceError> {
        self.list_connections_filtered(actor, offset, limit, false)
            .await
    }

    /// As [`Service::list_connections`]; `stale_only` keeps the stale ones
    /// (R16b).
    pub async fn list_connections_filtered(
        &self,
        actor: &Actor,
        offset: u64,
        limit: Option<u64>,
        stale_only: bool,
    ) -> Result<ConnectionPage, ServiceError> {
        self.list_connections_where(
            actor,
            offset,
            limit,
            ListFilter {
                stale: stale_only,
                offline: false,
            },
        )
        .await
    }

    /// As [`Service::list_connections`], keeping only the stale (R16b)
    /// and/or the offline (R27) connections as `filter` says.
    pub async fn list_connections_where(
        &self,
        actor: &Actor,
        offset: u64,
        limit: Option<u64>,
        filter: ListFilter,
    ) -> Result<ConnectionPage, ServiceError> {
        let member = (!actor.is_admin()).then_some(actor.username.as_str());
        let stale_before = filter
            .stale
            .then(|| self.store.now_millis() - credentials::STALE_DAYS * 24 * 3600 * 1000);
        let (items, total) = self
            .store
            .list_connections_where(offset, limit, member, stale_before, filter.offline)
            .await
            .map_err(|e| ServiceError::from_store(e, None))?;
        Ok(ConnectionPage {
            items: items.into_iter().map(|c| self.age_warning(c)).collect(),
            total,
            offset,
        })
    }

    /// R18: a connection a member may not see does not exist for them.
    pub async fn get_connection(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Connection, ServiceError> {
        if !actor.is_admin() && self.member_level(actor, code).await?.is_none() {
            return Err(connection_not_found(code));
        }
        self.store
            .get_connection(code)
            .await
            .map(|c| self.age_warning(c))
            .map_err(|e| ServiceError::from_store(e, Some(code)))
    }

    /// A member's best level on a connection (R18, R20).
    async fn member_level(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Option<crate::model::AccessLevel>, ServiceError> {
        self.store
            .member_level_on_connection(&actor.username, code)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))
    }

    /// R20: owner and admins act on every connection; a member only on those
    /// registered with an integration they manage. Unseen: not found.
    pub(crate) async fn require_connection_manage(
        &self,
        actor: &Actor,
        code: &str,
        what: &str,
    ) -> Result<(), ServiceError> {
        // Admins need no lookup: the rule lets them act whatever the level.
        let level = if actor.is_admin() {
            None
        } else {
            self.member_level(actor, code).await?
        };
        match access::on_connection(actor.kind, level) {
            Verdict::Allowed => Ok(()),
            Verdict::MonitorOnly => Err(ServiceError::Forbidden {
                message: format!(
                    "you only monitor the integrations {code:?} is registered with: managing one of them is needed to {what}"
                ),
            }),
            Verdict::Unseen => Err(connection_not_found(code)),
        }
    }

    fn draft(new: &NewConnection) -> Result<ConnectionDraft, ServiceError> {
        let label = domain::validate_label(&new.label)?;
        let code = match new.code.as_deref() {
            Some(code) => {
                domain::validate_code(code)?;
                code.to_string()
            }
            None => domain::code_from_label(&label)?,
        };
        let visual = match new.visual.as_deref() {
            Some(v) => domain::validate_visual(v)?,
            None => None,
        };
        Ok(ConnectionDraft {
            code,
            label,
            flow_type: new.flow_type,
            visual,
        })
    }

    /// R1–R4: validates, checks the quota, generates credentials; the password
    /// is in this response and nowhere else, ever.
    pub async fn create_connection(
        &self,
        actor: &Actor,
        source: Source,
        new: NewConnection,
    ) -> Result<CreatedConnection, ServiceError> {
        let draft = Self::draft(&new)?;
        let application = new
            .application
            .as_ref()
            .map(|a| domain::application::validate_application(a))
            .transpose()?;
        match &new.integration {
            // R13, R19: those who manage an integration create inside it
            // (`access::may_create_connection_in`: the R19 verdict, whose
            // refusal `require_manage` words).
            Some(integration) => {
                domain::validate_code(integration)
                    .map_err(|e| ServiceError::invalid("integration", e.message))?;
                self.require_manage(actor, integration, "create connections in it")
                    .await?;
            }
            None => Self::require_that(
                access::may_create_connection_outside(actor.kind),
                "create connections outside an integration",
            )?,
        }
        let acting = actor.acting(source);
        let (connection, creds) = self
            .store
            .create_connection_with(
                &acting,
                &draft,
                new.integration.as_deref(),
                application.as_ref(),
            )
            .await
            .map_err(|e| ServiceError::from_store(e, Some(&draft.code)))?;
        tracing::info!(code = %connection.code, "connection created");
        Ok(CreatedConnection {
            connection,
            secret: creds.secret.expose_secret().to_string(),
            password: creds.password.expose_secret().to_string(),
        })
    }

    pub async fn update_connection(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        patch: ConnectionPatch,
    ) -> Result<Connection, ServiceError> {
        self.require_connection_manage(actor, code, "edit it")
            .await?;
        let change = ConnectionChange {
            expected_version: patch.version,
            label: patch
                .label
                .as_deref()
                .map(domain::validate_label)
                .transpose()?,
            flow_type: patch.flow_type,
            visual: match patch.visual {
                None => None,
                Some(None) => Some(None),
                Some(Some(v)) => Some(domain::validate_visual(&v)?),
            },
            role: patch.role,
            group: patch.group,
            application: match &patch.application {
                None => None,
                Some(None) => Some(None),
                Some(Some(app)) => Some(Some(domain::application::validate_application(app)?)),
            },
        };
        let acting = actor.acting(source);
        self.store
            .update_connection(&acting, code, &change)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))
    }

    /// R8: deletes the connection and its credentials.
    pub async fn delete_connection(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<(), ServiceError> {
        Self::require_that(
            access::may_delete_connection(actor.kind),
            "delete connections",
        )?;
        let acting = actor.acting(source);
        self.store
            .delete_connection(&acting, code)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        tracing::info!(code, "connection deleted");
        Ok(())
    }

    /// R28: the audit trail of one connection, newest first.
    pub async fn connection_audit(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<AuditRecord>, ServiceError> {
        // Seeing the trail requires seeing the connection; a deleted
        // connection's trail stays readable to admins.
        if !actor.is_admin() {
            self.get_connection(actor, code).await?;
        }
        self.store
            .audit_for(&crate::store::connection_target(code), AUDIT_LIMIT)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))
    }

    /// Loads the bundled demo workspace into an empty workspace.
    /// The demo's week of monitoring history and its wrong-credentials
    /// warnings, on the store's clock: the hours from the first day of the
    /// 7-day window up to the hour the demo is loaded in (real calls count
    /// from that hour on, in hours of their own).
    async fn load_demo_monitoring(&self, demo: &DemoFile) -> Result<(), ServiceError> {
        use crate::domain::monitoring::{self as rules, DAY_MS, HOUR_MS, WINDOW_DAYS};
        let now = self.store.now_millis();
        let this_hour = rules::hour_start(now);
        let from = (rules::day_number(now) - (WINDOW_DAYS as i64 - 1)) * DAY_MS;
        let mut hours = Vec::new();
        for (seed, m) in (1u64..).zip(&demo.monitoring) {
            let until = this_hour.min(now - i64::from(m.until_days_ago) * DAY_MS);
            hours.extend(
                rules::demo_history(&m.traffic, from, until, seed)
                    .into_iter()
                    .map(|(hour, counts)| (m.connection.clone(), hour, counts)),
            );
        }
        self.store
            .insert_demo_monitoring(&hours)
            .await
            .map_err(|e| ServiceError::from_store(e, None))?;
        for w in &demo.wrong_credentials {
            let username = self
                .store
                .get_connection(&w.username_of)
                .await
                .map_err(|e| ServiceError::from_store(e, Some(&w.username_of)))?
                .username;
            self.store
                .insert_demo_wrong_credentials(
                    &w.connection,
                    &username,
                    now - i64::from(w.hours_ago) * HOUR_MS,
                )
                .await
                .map_err(|e| ServiceError::from_store(e, Some(&w.connection)))?;
        }
        Ok(())
    }

    pub async fn load_demo(
        &self,
        actor: &Actor,
        source: Source,
    ) -> Result<DemoLoaded, ServiceError> {
        Self::require_admin(actor, "load the demo workspace")?;
        let demo: DemoFile = serde_json::from_str(DEMO_JSON).map_err(|e| {
            tracing::error!(error = %e, "bundled demo.json is malformed");
            ServiceError::Internal {
                message: "the bundled demo workspace is malformed".to_string(),
            }
        })?;
        let drafts = demo
            .connections
            .iter()
            .map(Self::draft)
            .collect::<Result<Vec<_>, _>>()?;
        let mut loaded = self.import_drafts(actor, source, &drafts).await?;
        // Some have a past: long idle ones show as stale (R16b).
        for h in &demo.history {
            self.store
                .set_demo_history(&h.connection, h.created_days_ago, h.active_days_ago)
                .await
                .map_err(|e| ServiceError::from_store(e, Some(&h.connection)))?;
        }
        self.load_demo_monitoring(&demo).await?;
        // The catalog the Web API serves (R10, R11, R22): categories, roles
        // and groups (kept when a workspace already has one of the same
        // code), some connections given them, and products.
        for c in &demo.categories {
            if self.store.get_category(&c.code).await.is_err() {
                self.create_category(actor, source, c.clone()).await?;
                loaded.categories += 1;
            }
        }
        for r in &demo.roles {
            if self.store.get_role(&r.code).await.is_err() {
                self.create_role(actor, source, r.clone()).await?;
                loaded.roles += 1;
            }
        }
        for g in &demo.groups {
            if self.store.get_group(&g.code).await.is_err() {
                self.create_group(actor, source, g.clone()).await?;
                loaded.groups += 1;
            }
        }
        for p in &demo.permissions {
            self.update_connection(
                actor,
                source,
                &p.connection,
                ConnectionPatch {
                    role: Some(p.role.clone()),
                    group: Some(p.group.clone()),
                    ..Default::default()
                },
            )
            .await?;
        }
        let products: Vec<(crate::store::ProductRow, u32)> = demo
            .products
            .iter()
            .map(|p| {
                (
                    crate::store::ProductRow {
                        uuid: String::new(),
                        identifier: p.identifier.clone(),
                        enabled: p.enabled,
                        family: p.family.clone(),
                        categories: p.categories.clone(),
                        values: crate::store::ProductRow::values_from(&p.values),
                        created_ms: 0,
                        updated_ms: 0,
                        relations: Default::default(),
                    },
                    p.age_days,
                )
            })
            .collect();
        loaded.products = self
            .store
            .insert_products(&products)
            .await
            .map_err(|e| ServiceError::from_store(e, None))?;
        // Then integrations (one an app), flows (two standalone) and members
        // with different access, enough to show every rule of SPEC §4.
        for i in &demo.integrations {
            self.create_integration(
                actor,
                source,
                crate::model::NewIntegration {
                    name: i.name.clone(),
                    code: Some(i.code.clone()),
                    kind: i.kind,
                },
            )
            .await?;
            if !i.register.is_empty() {
                self.register(actor, source, &i.code, i.register.clone(), Vec::new())
                    .await?;
            }
            loaded.integrations += 1;
        }
        for f in &demo.flows {
            self.save_flow(
                actor,
                source,
                &f.code,
                crate::model::FlowInput {
                    name: f.name.clone(),
                    integration: f.integration.clone(),
                    steps: f.steps.clone(),
                    version: None,
                },
            )
            .await?;
            loaded.flows += 1;
        }
        for m in &demo.members {
            let exists = self
                .store
                .user_by_name(&m.username)
                .await
                .map_err(|e| ServiceError::from_store(e, None))?;
            if exists.is_none() {
                self.store
                    .create_user(&actor.acting(source), &m.username, UserKind::Member, None)
                    .await
                    .map_err(|e| ServiceError::from_store(e, None))?;
                loaded.members += 1;
            }
            for a in &m.access {
                self.set_access(
                    actor,
                    source,
                    &a.integration,
                    &m.username,
                    crate::model::AccessGrant {
                        level: Some(a.level),
                    },
                )
                .await?;
            }
        }
        Ok(loaded)
    }

    /// Inserts validated connections into an empty workspace in one
    /// transaction (used by the demo and by benchmarks).
    pub async fn import_drafts(
        &self,
        actor: &Actor,
        source: Source,
        drafts: &[ConnectionDraft],
    ) -> Result<DemoLoaded, ServiceError> {
        Self::require_admin(actor, "import connections")?;
        let acting = actor.acting(source);
        let created = self
            .store
            .insert_into_empty(&acting, drafts)
            .await
            .map_err(|e| ServiceError::from_store(e, None))?;
        Ok(DemoLoaded {
            created,
            ..DemoLoaded::default()
        })
    }
}

/// A draft for a connection from a label alone (benchmarks, tests).
pub fn draft_from_label(label: &str, flow_type: FlowType) -> Result<ConnectionDraft, ServiceError> {
    Service::draft(&NewConnection {
        label: label.to_string(),
        code: None,
        flow_type,
        visual: None,
        integration: None,
        application: None,
    })
}
