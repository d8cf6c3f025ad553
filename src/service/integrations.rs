//! Integrations, flows and registration (SPEC §4): who may do what (R19),
//! the rules (R12–R17, in the store's transactions) and the R14 reminder.

use super::{Actor, Service, ServiceError};
use crate::domain::access::{self, FlowHome, Verdict};
use crate::domain::{self, RuleError};
use crate::model::{
    AccessGrant, AccessLevel, Flow, FlowInput, FlowSaved, Integration, IntegrationPatch,
    NewIntegration, Registered, ReplaceConnection, Replaced, Source, UsedBy, UserKind,
};
use crate::store::integrations::FlowDraft;

/// Most connections one registration takes.
pub const REGISTER_MAX: usize = 10_000;
/// Most steps in one flow.
pub const STEPS_MAX: usize = 200;

fn renamed(e: RuleError, field: &str) -> ServiceError {
    ServiceError::invalid(field, e.message.replace("label", field))
}

/// A name: the connection label's rules, reported under `field`.
fn valid_name(name: &str, field: &str) -> Result<String, ServiceError> {
    domain::validate_label(name).map_err(|e| renamed(e, field))
}

impl Service {
    fn store_err(e: crate::store::StoreError) -> ServiceError {
        ServiceError::from_store(e, None)
    }

    /// The acting user's level on an integration: admins manage everything.
    async fn level_on(
        &self,
        actor: &Actor,
        integration: &str,
    ) -> Result<Option<AccessLevel>, ServiceError> {
        if actor.is_admin() {
            return Ok(Some(AccessLevel::Manage));
        }
        let access = self
            .store
            .access_of(&actor.username)
            .await
            .map_err(Self::store_err)?;
        Ok(access
            .into_iter()
            .find(|(code, _)| code == integration)
            .map(|(_, level)| level))
    }

    /// R19: `manage` on the integration, or admin. A member without any
    /// access is told it does not exist (R18: never forbidden for unseen).
    pub(super) async fn require_manage(
        &self,
        actor: &Actor,
        integration: &str,
        what: &str,
    ) -> Result<(), ServiceError> {
        let level = self.level_on(actor, integration).await?;
        match access::on_integration(actor.kind, level) {
            Verdict::Allowed => Ok(()),
            Verdict::MonitorOnly => Err(ServiceError::Forbidden {
                message: format!(
                    "you monitor integration {integration:?}: only those who manage it may {what}"
                ),
            }),
            Verdict::Unseen => Err(ServiceError::NotFound {
                message: format!("integration {integration:?} not found"),
            }),
        }
    }

    /// Integrations the user may see: all for admins, their own for members;
    /// each says what the caller may do with it (R19).
    pub async fn list_integrations(&self, actor: &Actor) -> Result<Vec<Integration>, ServiceError> {
        let all = self
            .store
            .list_integrations()
            .await
            .map_err(Self::store_err)?;
        if actor.is_admin() {
            return Ok(all
                .into_iter()
                .map(|i| Integration {
                    access: Some(AccessLevel::Manage),
                    ..i
                })
                .collect());
        }
        let mine = self
            .store
            .access_of(&actor.username)
            .await
            .map_err(Self::store_err)?;
        Ok(all
            .into_iter()
            .filter_map(|i| {
                let level = mine.iter().find(|(code, _)| *code == i.code)?.1;
                Some(Integration {
                    access: Some(level),
                    ..i
                })
            })
            .collect())
    }

    /// One integration as `actor` sees it, with their access level.
    async fn integration_for(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Integration, ServiceError> {
        let Some(level) = self.level_on(actor, code).await? else {
            return Err(ServiceError::NotFound {
                message: format!("integration {code:?} not found"),
            });
        };
        let integration = self
            .store
            .get_integration(code)
            .await
            .map_err(Self::store_err)?;
        Ok(Integration {
            access: Some(level),
            ..integration
        })
    }

    pub async fn get_integration(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Integration, ServiceError> {
        self.integration_for(actor, code).await
    }

    pub async fn create_integration(
        &self,
        actor: &Actor,
        source: Source,
        new: NewIntegration,
    ) -> Result<Integration, ServiceError> {
        Self::require_admin(actor, "create integrations")?;
        let name = valid_name(&new.name, "name")?;
        let code = match new.code.as_deref() {
            Some(code) => {
                domain::validate_code(code)?;
                code.to_string()
            }
            None => domain::code_from_label(&name).map_err(|e| renamed(e, "name"))?,
        };
        let created = self
            .store
            .create_integration(&actor.acting(source), &code, &name, new.kind)
            .await
            .map_err(Self::store_err)?;
        Ok(Integration {
            access: Some(AccessLevel::Manage),
            ..created
        })
    }

    pub async fn rename_integration(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        patch: IntegrationPatch,
    ) -> Result<Integration, ServiceError> {
        self.require_manage(actor, code, "rename it").await?;
        let name = valid_name(&patch.name, "name")?;
        self.store
            .rename_integration(&actor.acting(source), code, &name)
            .await
            .map_err(Self::store_err)?;
        self.integration_for(actor, code).await
    }

    pub async fn delete_integration(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<(), ServiceError> {
        Self::require_admin(actor, "delete integrations")?;
        self.store
            .delete_integration(&actor.acting(source), code)
            .await
            .map_err(Self::store_err)
    }

    /// R12 (and R15): registers several connections and deregisters others,
    /// in one transaction.
    pub async fn register(
        &self,
        actor: &Actor,
        source: Source,
        integration: &str,
        connections: Vec<String>,
        deregister: Vec<String>,
    ) -> Result<Registered, ServiceError> {
        self.require_manage(actor, integration, "register connections")
            .await?;
        if connections.is_empty() && deregister.is_empty() {
            return Err(ServiceError::invalid(
                "connections",
                "name at least one connection code to register or deregister",
            ));
        }
        for (field, list) in [("connections", &connections), ("deregister", &deregister)] {
            if list.len() > REGISTER_MAX {
                return Err(ServiceError::invalid(
                    field,
                    format!("at most {REGISTER_MAX} connections at once"),
                ));
            }
            for code in list {
                domain::validate_code(code).map_err(|e| ServiceError::invalid(field, e.message))?;
            }
        }
        self.require_visible(
            actor,
            connections
                .iter()
                .map(|c| ("connections".to_string(), c.as_str()))
                .chain(
                    deregister
                        .iter()
                        .map(|c| ("deregister".to_string(), c.as_str())),
                ),
            &Default::default(),
        )
        .await?;
        let (registered, deregistered) = self
            .store
            .apply_registrations(
                &actor.acting(source),
                integration,
                &connections,
                &deregister,
            )
            .await
            .map_err(Self::store_err)?;
        let integration = self.integration_for(actor, integration).await?;
        Ok(Registered {
            integration,
            registered,
            deregistered,
        })
    }

    /// R15.
    pub async fn deregister(
        &self,
        actor: &Actor,
        source: Source,
        integration: &str,
        connection: &str,
    ) -> Result<Integration, ServiceError> {
        self.require_manage(actor, integration, "deregister connections")
            .await?;
        let was = self
            .store
            .deregister(&actor.acting(source), integration, connection)
            .await
            .map_err(Self::store_err)?;
        if !was {
            return Err(ServiceError::NotFound {
                message: format!(
                    "connection {connection:?} is not registered with integration {integration:?}"
                ),
            });
        }
        self.integration_for(actor, integration).await
    }

    /// What of `flow` a member sees (R18): all of a flow of their
    /// integrations; of any other flow, the steps on connections registered
    /// with one of theirs (marked partial); `None` when nothing.
    fn member_view(
        flow: Flow,
        mine: &[(String, AccessLevel)],
        visible: &std::collections::HashSet<String>,
    ) -> Option<Flow> {
        if flow
            .integration
            .as_ref()
            .is_some_and(|i| mine.iter().any(|(code, _)| code == i))
        {
            return Some(flow);
        }
        let steps: Vec<_> = flow
            .steps
            .iter()
            .filter(|s| visible.contains(&s.connection))
            .cloned()
            .collect();
        if steps.is_empty() {
            return None;
        }
        Some(Flow {
            steps,
            partial: true,
            ..flow
        })
    }

    /// A member's integrations and visible connection codes.
    async fn member_scope(
        &self,
        actor: &Actor,
    ) -> Result<
        (
            Vec<(String, AccessLevel)>,
            std::collections::HashSet<String>,
        ),
        ServiceError,
    > {
        let mine = self
            .store
            .access_of(&actor.username)
            .await
            .map_err(Self::store_err)?;
        let (visible, _) = self
            .store
            .list_connections_for(0, None, Some(&actor.username), None)
            .await
            .map_err(Self::store_err)?;
        Ok((mine, visible.into_iter().map(|c| c.code).collect()))
    }

    /// R12/R18: a member may only name connections they can see; any other
    /// code is reported as not found, whether it exists or not. `known`
    /// codes (a flow's existing steps) pass.
    async fn require_visible<'a>(
        &self,
        actor: &Actor,
        codes: impl IntoIterator<Item = (String, &'a str)>,
        known: &std::collections::HashSet<&str>,
    ) -> Result<(), ServiceError> {
        if actor.is_admin() {
            return Ok(());
        }
        let (_, visible) = self.member_scope(actor).await?;
        for (field, code) in codes {
            if !visible.contains(code) && !known.contains(code) {
                return Err(ServiceError::NotFound {
                    message: format!("{field}: connection {code:?} not found"),
                });
            }
        }
        Ok(())
    }

    pub async fn list_flows(&self, actor: &Actor) -> Result<Vec<Flow>, ServiceError> {
        let all = self.store.list_flows(None).await.map_err(Self::store_err)?;
        if actor.is_admin() {
            return Ok(all);
        }
        let (mine, visible) = self.member_scope(actor).await?;
        Ok(all
            .into_iter()
            .filter_map(|f| Self::member_view(f, &mine, &visible))
            .collect())
    }

    pub async fn get_flow(&self, actor: &Actor, code: &str) -> Result<Flow, ServiceError> {
        let not_found = || ServiceError::NotFound {
            message: format!("flow {code:?} not found"),
        };
        let flow = self.store.get_flow(code).await.map_err(|e| match e {
            crate::store::StoreError::Missing { .. } => not_found(),
            e => Self::store_err(e),
        })?;
        if actor.is_admin() {
            return Ok(flow);
        }
        let (mine, visible) = self.member_scope(actor).await?;
        Self::member_view(flow, &mine, &visible).ok_or_else(not_found)
    }

    /// R14: saving a flow registers what its steps use, with a reminder.
    pub async fn save_flow(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        input: FlowInput,
    ) -> Result<FlowSaved, ServiceError> {
        domain::validate_code(code)?;
        let name = valid_name(&input.name, "name")?;
        if input.steps.len() > STEPS_MAX {
            return Err(ServiceError::invalid(
                "steps",
                format!("a flow has at most {STEPS_MAX} steps"),
            ));
        }
        for (i, step) in input.steps.iter().enumerate() {
            domain::validate_code(&step.connection)
                .map_err(|e| ServiceError::invalid(format!("steps[{i}].connection"), e.message))?;
        }
        // Standalone flows, and moving a flow out of an integration, are for
        // admins; otherwise manage on the (old and new) integration.
        let existing = match self.store.get_flow(code).await {
            Ok(f) => Some(f),
            Err(crate::store::StoreError::Missing { .. }) => None,
            Err(e) => return Err(Self::store_err(e)),
        };
        for integration in [
            input.integration.clone(),
            existing.as_ref().and_then(|f| f.integration.clone()),
        ]
        .into_iter()
        .flatten()
        {
            self.require_manage(actor, &integration, "save its flows")
                .await?;
        }
        if input.integration.is_none() || existing.as_ref().is_some_and(|f| f.integration.is_none())
        {
            Self::require_that(
                access::may_change_flows(actor.kind, FlowHome::Standalone),
                "save standalone flows",
            )?;
        }
        // A member's new steps use connections they see; steps the flow
        // already has stay, even on a connection since hidden from them.
        let kept: std::collections::HashSet<&str> = existing
            .iter()
            .flat_map(|f| f.steps.iter().map(|s| s.connection.as_str()))
            .collect();
        self.require_visible(
            actor,
            input
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("steps[{i}].connection"), s.connection.as_str())),
            &kept,
        )
        .await?;
        let draft = FlowDraft {
            code: code.to_string(),
            name,
            integration: input.integration.clone(),
            steps: input.steps,
            expected_version: input.version,
        };
        let (flow, registered) = self
            .store
            .save_flow(&actor.acting(source), &draft)
            .await
            .map_err(Self::store_err)?;
        let reminder = match (&flow.integration, registered.is_empty()) {
            (Some(i), false) => Some(format!(
                "Registered {} with integration {i}: every user of {i} can now see and use {}.",
                registered.join(", "),
                if registered.len() == 1 { "it" } else { "them" }
            )),
            _ => None,
        };
        Ok(FlowSaved {
            flow,
            registered,
            reminder,
        })
    }

    pub async fn delete_flow(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<(), ServiceError> {
        let flow = self.get_flow(actor, code).await?;
        match &flow.integration {
            Some(i) => self.require_manage(actor, i, "delete its flows").await?,
            None => Self::require_that(
                access::may_change_flows(actor.kind, FlowHome::Standalone),
                "delete standalone flows",
            )?,
        }
        self.store
            .delete_flow(&actor.acting(source), code)
            .await
            .map_err(Self::store_err)
    }

    /// R16a: replaces a connection by another in one step, one flow, or
    /// everywhere, in one transaction. Admins; or a member who manages every
    /// integration whose flows change and sees both connections.
    pub async fn replace_connection(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        req: ReplaceConnection,
    ) -> Result<Replaced, ServiceError> {
        domain::validate_code(&req.with).map_err(|e| ServiceError::invalid("with", e.message))?;
        if let Some(flow) = &req.flow {
            domain::validate_code(flow).map_err(|e| ServiceError::invalid("flow", e.message))?;
        }
        if req.position.is_some() && req.flow.is_none() {
            return Err(ServiceError::invalid(
                "position",
                "a step position needs its flow",
            ));
        }
        self.get_connection(actor, code).await?;
        self.get_connection(actor, &req.with).await.map_err(|_| {
            ServiceError::invalid("with", format!("connection {:?} not found", req.with))
        })?;
        if !actor.is_admin() {
            let used = self.store.used_by(code).await.map_err(Self::store_err)?;
            for u in used
                .iter()
                .filter(|u| req.flow.as_ref().is_none_or(|f| *f == u.flow))
            {
                match &u.integration {
                    Some(i) => {
                        self.require_manage(actor, i, "replace connections in its flows")
                            .await?
                    }
                    None => Self::require_that(
                        access::may_change_flows(actor.kind, FlowHome::Standalone),
                        "change standalone flows",
                    )?,
                }
            }
        }
        self.store
            .replace_connection(
                &actor.acting(source),
                code,
                &req.with,
                req.flow.as_deref(),
                req.position,
            )
            .await
            .map_err(Self::store_err)
    }

    /// R16: the steps that use a connection.
    pub async fn used_by(&self, actor: &Actor, code: &str) -> Result<Vec<UsedBy>, ServiceError> {
        self.get_connection(actor, code).await?;
        self.store.used_by(code).await.map_err(Self::store_err)
    }

    /// R19, R29: the members' access to an integration (admins only: it
    /// says who may see what).
    pub async fn integration_access(
        &self,
        actor: &Actor,
        integration: &str,
    ) -> Result<Vec<crate::model::MemberAccess>, ServiceError> {
        Self::require_admin(actor, "see members' access to integrations")?;
        Ok(self
            .store
            .access_to(integration)
            .await
            .map_err(Self::store_err)?
            .into_iter()
            .map(|(username, level)| crate::model::MemberAccess { username, level })
            .collect())
    }

    /// R19: an admin grants a member `manage` or `monitor` on an integration
    /// (or takes it away).
    pub async fn set_access(
        &self,
        actor: &Actor,
        source: Source,
        integration: &str,
        username: &str,
        grant: AccessGrant,
    ) -> Result<(), ServiceError> {
        Self::require_admin(actor, "grant access to integrations")?;
        let user = self
            .store
            .user_by_name(username)
            .await
            .map_err(Self::store_err)?
            .ok_or_else(|| ServiceError::NotFound {
                message: format!("user {username:?} not found"),
            })?;
        if user.user.kind != UserKind::Member && grant.level.is_some() {
            return Err(ServiceError::invalid(
                "username",
                format!(
                    "{username} is an {}: they already see and manage everything",
                    user.user.kind.as_str()
                ),
            ));
        }
        self.store
            .set_access(&actor.acting(source), username, integration, grant.level)
            .await
            .map_err(Self::store_err)
    }
}
