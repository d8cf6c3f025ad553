//! Integrations, flows, registrations and used-by (SPEC §4). Each change is
//! one transaction with its audit record.

use std::collections::HashMap;

use sqlx::{Row, Sqlite, Transaction};

use super::{Acting, Store, StoreError, change, conflict, ensure_code_free, from_millis};
use crate::model::{
    AccessLevel, Flow, FlowStep, Integration, IntegrationKind, Replaced, StepKind, UsedBy,
};

/// A validated flow about to be saved (created, or replaced by code).
#[derive(Debug, Clone)]
pub struct FlowDraft {
    pub code: String,
    pub name: String,
    /// `None`: standalone.
    pub integration: Option<String>,
    pub steps: Vec<FlowStep>,
    /// When set, the save applies only to this version of an existing flow.
    pub expected_version: Option<u64>,
}

pub fn integration_target(code: &str) -> String {
    format!("integration:{code}")
}

pub fn flow_target(code: &str) -> String {
    format!("flow:{code}")
}

/// R17: integration apps own their connections.
fn app_refusal(integration: &str) -> StoreError {
    conflict(
        "integration",
        format!(
            "{integration:?} is an integration app: its connections are its own and cannot be registered (R17)"
        ),
    )
}

/// The integration row: id and kind.
async fn integration_row(
    tx: &mut Transaction<'static, Sqlite>,
    code: &str,
) -> Result<(i64, IntegrationKind), StoreError> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, kind FROM integrations WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut **tx)
            .await?;
    let (id, kind) = row.ok_or_else(|| StoreError::Missing {
        what: "integration",
        code: code.to_string(),
    })?;
    Ok((id, IntegrationKind::parse(&kind).unwrap_or_default()))
}

/// Connection ids by code (in order); an unknown code is an error naming it.
async fn connection_ids(
    tx: &mut Transaction<'static, Sqlite>,
    codes: &[String],
) -> Result<Vec<i64>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT j.value, c.id FROM json_each($1) j LEFT JOIN connections c ON c.code = j.value
         ORDER BY j.key",
    )
    .bind(serde_json::to_string(codes).expect("strings serialise"))
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(code, id)| {
            id.ok_or(StoreError::Missing {
                what: "connection",
                code,
            })
        })
        .collect()
}

/// The registration state of a connection with an integration: `None` never
/// registered, `Some(true)` registered, `Some(false)` deregistered.
async fn registration(
    tx: &mut Transaction<'static, Sqlite>,
    integration_id: i64,
    connection_id: i64,
) -> Result<Option<bool>, StoreError> {
    let active: Option<i64> = sqlx::query_scalar(
        "SELECT active FROM registrations WHERE integration_id = $1 AND connection_id = $2",
    )
    .bind(integration_id)
    .bind(connection_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(active.map(|a| a == 1))
}

impl Store {
    async fn integration_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        code: &str,
    ) -> Result<Integration, StoreError> {
        let row = sqlx::query(
            "SELECT i.id, i.code, i.name, i.kind, i.version, i.created_at, i.updated_at,
                (SELECT COUNT(*) FROM flows f WHERE f.integration_id = i.id) AS flows
             FROM integrations i WHERE i.code = $1",
        )
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "integration",
            code: code.to_string(),
        })?;
        let id: i64 = row.try_get("id")?;
        let registered: Vec<String> = sqlx::query_scalar(
            "SELECT c.code FROM registrations r JOIN connections c ON c.id = r.connection_id
             WHERE r.integration_id = $1 AND r.active = 1 ORDER BY c.code",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        let kind: String = row.try_get("kind")?;
        Ok(Integration {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            kind: IntegrationKind::parse(&kind).unwrap_or_default(),
            registered,
            flows: u64::try_from(row.try_get::<i64, _>("flows")?).unwrap_or(0),
            version: u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(1),
            created_at: from_millis(row.try_get("created_at")?),
            updated_at: from_millis(row.try_get("updated_at")?),
            access: None,
        })
    }

    /// One integration with its registrations.
    pub async fn get_integration(&self, code: &str) -> Result<Integration, StoreError> {
        let mut tx = self.pool.begin().await?;
        let i = self.integration_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(i)
    }

    /// Every integration, by name.
    pub async fn list_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let codes: Vec<String> =
            sqlx::query_scalar("SELECT code FROM integrations ORDER BY name COLLATE NOCASE, code")
                .fetch_all(&mut *tx)
                .await?;
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            out.push(self.integration_in(&mut tx, &code).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn create_integration(
        &self,
        acting: &Acting<'_>,
        code: &str,
        name: &str,
        kind: IntegrationKind,
    ) -> Result<Integration, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        ensure_code_free(&mut tx, "integrations", "integration", code).await?;
        sqlx::query(
            "INSERT INTO integrations (code, name, kind, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(code)
        .bind(name)
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.audit_in(
            &mut tx,
            acting,
            "integration.create",
            &integration_target(code),
            &[
                change("code", None, Some(code)),
                change("name", None, Some(name)),
                change("kind", None, Some(kind.as_str())),
            ],
        )
        .await?;
        let created = self.integration_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn rename_integration(
        &self,
        acting: &Acting<'_>,
        code: &str,
        name: &str,
    ) -> Result<Integration, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = self.integration_in(&mut tx, code).await?;
        if old.name != name {
            sqlx::query(
                "UPDATE integrations SET name = $1, version = version + 1, updated_at = $2
                 WHERE code = $3",
            )
            .bind(name)
            .bind(self.now_millis())
            .bind(code)
            .execute(&mut *tx)
            .await?;
            self.audit_in(
                &mut tx,
                acting,
                "integration.update",
                &integration_target(code),
                &[change("name", Some(&old.name), Some(name))],
            )
            .await?;
        }
        let renamed = self.integration_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(renamed)
    }

    /// Deletes an integration without flows (its registrations and access
    /// grants go with it).
    pub async fn delete_integration(
        &self,
        acting: &Acting<'_>,
        code: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = self.integration_in(&mut tx, code).await?;
        if old.flows > 0 {
            return Err(conflict(
                "integration",
                format!(
                    "integration {code:?} holds {} flow(s): delete them or move them out first",
                    old.flows
                ),
            ));
        }
        sqlx::query("DELETE FROM integrations WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await?;
        self.audit_in(
            &mut tx,
            acting,
            "integration.delete",
            &integration_target(code),
            &[
                change("code", Some(code), None),
                change("name", Some(&old.name), None),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// R12: registers several connections at once, in one transaction.
    /// Returns the codes that were not registered before.
    pub async fn register(
        &self,
        acting: &Acting<'_>,
        integration: &str,
        connections: &[String],
    ) -> Result<Vec<String>, StoreError> {
        self.apply_registrations(acting, integration, connections, &[])
            .await
            .map(|(added, _)| added)
    }

    async fn register_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        acting: &Acting<'_>,
        integration: &str,
        integration_id: i64,
        codes: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let now = self.now_millis();
        // Set-based: one read of what is not registered yet, one upsert.
        let wanted = serde_json::to_string(codes).expect("strings serialise");
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT c.code FROM json_each($2) j JOIN connections c ON c.code = j.value
             WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.integration_id = $1
                               AND r.connection_id = c.id AND r.active = 1)
             ORDER BY j.key",
        )
        .bind(integration_id)
        .bind(&wanted)
        .fetch_all(&mut **tx)
        .await?;
        let mut added: Vec<String> = Vec::with_capacity(missing.len());
        let mut seen = std::collections::HashSet::new();
        for code in missing {
            if seen.insert(code.clone()) {
                added.push(code);
            }
        }
        if !added.is_empty() {
            sqlx::query(
                "INSERT INTO registrations (integration_id, connection_id, active, changed_at)
                 SELECT $1, c.id, 1, $3 FROM json_each($2) j JOIN connections c ON c.code = j.value
                 WHERE true
                 ON CONFLICT (integration_id, connection_id) DO UPDATE SET active = 1, changed_at = $3",
            )
            .bind(integration_id)
            .bind(serde_json::to_string(&added).expect("strings serialise"))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        if !added.is_empty() {
            let list = added.join(", ");
            self.audit_in(
                tx,
                acting,
                "integration.register",
                &integration_target(integration),
                &[change("registered", None, Some(&list))],
            )
            .await?;
        }
        Ok(added)
    }

    /// R13: registers a connection just created in this transaction.
    pub(super) async fn register_created_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        acting: &Acting<'_>,
        integration: &str,
        connection: &str,
    ) -> Result<(), StoreError> {
        let (integration_id, kind) = integration_row(tx, integration).await?;
        if kind == IntegrationKind::App {
            return Err(app_refusal(integration));
        }
        let codes = [connection.to_string()];
        connection_ids(tx, &codes).await?;
        self.register_in(tx, acting, integration, integration_id, &codes)
            .await?;
        Ok(())
    }

    /// Registers some connections and deregisters others in one transaction
    /// (the Register tab's pending changes). Returns (registered, deregistered),
    /// each only what actually changed.
    pub async fn apply_registrations(
        &self,
        acting: &Acting<'_>,
        integration: &str,
        register: &[String],
        deregister: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut tx = self.write_tx().await?;
        let (integration_id, kind) = integration_row(&mut tx, integration).await?;
        if kind == IntegrationKind::App && !register.is_empty() {
            return Err(app_refusal(integration));
        }
        connection_ids(&mut tx, register).await?;
        let added = self
            .register_in(&mut tx, acting, integration, integration_id, register)
            .await?;
        let gone_ids = connection_ids(&mut tx, deregister).await?;
        let now = self.now_millis();
        let mut removed = Vec::new();
        for (code, id) in deregister.iter().zip(&gone_ids) {
            let n = sqlx::query(
                "UPDATE registrations SET active = 0, changed_at = $3
                 WHERE integration_id = $1 AND connection_id = $2 AND active = 1",
            )
            .bind(integration_id)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                removed.push(code.clone());
            }
        }
        if !removed.is_empty() {
            let list = removed.join(", ");
            self.audit_in(
                &mut tx,
                acting,
                "integration.deregister",
                &integration_target(integration),
                &[change("registered", Some(&list), None)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok((added, removed))
    }

    /// R15: removes the registration; the integration's existing steps keep
    /// the connection. Returns whether it was registered.
    pub async fn deregister(
        &self,
        acting: &Acting<'_>,
        integration: &str,
        connection: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let (integration_id, _) = integration_row(&mut tx, integration).await?;
        let ids = connection_ids(&mut tx, &[connection.to_string()]).await?;
        let changed = sqlx::query(
            "UPDATE registrations SET active = 0, changed_at = $3
             WHERE integration_id = $1 AND connection_id = $2 AND active = 1",
        )
        .bind(integration_id)
        .bind(ids[0])
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            self.audit_in(
                &mut tx,
                acting,
                "integration.deregister",
                &integration_target(integration),
                &[change("registered", Some(connection), None)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn flow_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        code: &str,
    ) -> Result<Option<(i64, Flow)>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT f.id, f.code, f.name, i.code AS integration, f.version, f.updated_at
             FROM flows f LEFT JOIN integrations i ON i.id = f.integration_id WHERE f.code = $1",
        )
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let steps = sqlx::query(
            "SELECT s.kind, c.code FROM flow_steps s JOIN connections c ON c.id = s.connection_id
             WHERE s.flow_id = $1 ORDER BY s.position",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(FlowStep {
                kind: StepKind::parse(&kind).unwrap_or(StepKind::Export),
                connection: r.try_get("code")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some((
            id,
            Flow {
                code: row.try_get("code")?,
                name: row.try_get("name")?,
                integration: row.try_get("integration")?,
                steps,
                version: u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(1),
                updated_at: from_millis(row.try_get("updated_at")?),
                partial: false,
            },
        )))
    }

    pub async fn get_flow(&self, code: &str) -> Result<Flow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let flow = self.flow_in(&mut tx, code).await?;
        tx.commit().await?;
        flow.map(|(_, f)| f).ok_or_else(|| StoreError::Missing {
            what: "flow",
            code: code.to_string(),
        })
    }

    /// Saves a flow with its steps (R14, R15, R17): in a standard
    /// integration, connections never registered with it are registered now
    /// (and returned, for the reminder); a deregistered connection may stay
    /// in the steps that already used it, but a new step on it is refused.
    pub async fn save_flow(
        &self,
        acting: &Acting<'_>,
        draft: &FlowDraft,
    ) -> Result<(Flow, Vec<String>), StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let old = self.flow_in(&mut tx, &draft.code).await?;
        if let (Some(expected), Some((_, old))) = (draft.expected_version, &old)
            && expected != old.version
        {
            return Err(StoreError::Stale {
                message: format!(
                    "flow {:?} was changed since you read it (version {} now, {expected} read); reload it and save again",
                    draft.code, old.version
                ),
            });
        }
        let integration = match &draft.integration {
            Some(code) => Some(integration_row(&mut tx, code).await?),
            None => None,
        };
        let codes: Vec<String> = draft.steps.iter().map(|s| s.connection.clone()).collect();
        let ids = connection_ids(&mut tx, &codes).await?;
        let mut to_register: Vec<(String, i64)> = Vec::new();
        if let (Some((integration_id, IntegrationKind::Standard)), Some(int_code)) =
            (integration, &draft.integration)
        {
            // How many steps used each connection before, in this same
            // integration: those may stay after a deregistration.
            let mut before: HashMap<&str, usize> = HashMap::new();
            if let Some((_, f)) = &old
                && f.integration.as_deref() == Some(int_code.as_str())
            {
                for s in &f.steps {
                    *before.entry(s.connection.as_str()).or_default() += 1;
                }
            }
            let mut now_count: HashMap<&str, usize> = HashMap::new();
            for (code, id) in codes.iter().zip(&ids) {
                let n = now_count.entry(code.as_str()).or_default();
                *n += 1;
                match registration(&mut tx, integration_id, *id).await? {
                    Some(true) => {}
                    Some(false) => {
                        if *n > before.get(code.as_str()).copied().unwrap_or(0) {
                            return Err(conflict(
                                "steps",
                                format!(
                                    "connection {code:?} was deregistered from integration {int_code:?}: its existing steps keep it, but a new step needs it registered again"
                                ),
                            ));
                        }
                    }
                    None => {
                        if !to_register.iter().any(|(c, _)| c == code) {
                            to_register.push((code.clone(), *id));
                        }
                    }
                }
            }
        }
        let integration_id = integration.map(|(id, _)| id);
        let flow_id = match &old {
            Some((id, _)) => {
                sqlx::query(
                    "UPDATE flows SET name = $1, integration_id = $2, version = version + 1,
                         updated_at = $3 WHERE id = $4",
                )
                .bind(&draft.name)
                .bind(integration_id)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM flow_steps WHERE flow_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                *id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO flows (code, name, integration_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
                )
                .bind(&draft.code)
                .bind(&draft.name)
                .bind(integration_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        for (position, (step, id)) in draft.steps.iter().zip(&ids).enumerate() {
            sqlx::query(
                "INSERT INTO flow_steps (flow_id, position, kind, connection_id)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(flow_id)
            .bind(position as i64)
            .bind(step.kind.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let registered = match (&draft.integration, integration_id) {
            (Some(code), Some(iid)) if !to_register.is_empty() => {
                let codes: Vec<String> = to_register.into_iter().map(|(c, _)| c).collect();
                self.register_in(&mut tx, acting, code, iid, &codes).await?
            }
            _ => Vec::new(),
        };
        let describe = |f: &Flow| {
            f.steps
                .iter()
                .map(|s| format!("{} {}", s.kind.as_str(), s.connection))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let saved = self
            .flow_in(&mut tx, &draft.code)
            .await?
            .map(|(_, f)| f)
            .ok_or(StoreError::NotFound)?;
        let (action, changes) = match &old {
            None => (
                "flow.create",
                vec![
                    change("name", None, Some(&saved.name)),
                    change("integration", None, saved.integration.as_deref()),
                    change("steps", None, Some(&describe(&saved))),
                ],
            ),
            Some((_, o)) => (
                "flow.update",
                [
                    ("name", Some(o.name.clone()), Some(saved.name.clone())),
                    (
                        "integration",
                        o.integration.clone(),
                        saved.integration.clone(),
                    ),
                    ("steps", Some(describe(o)), Some(describe(&saved))),
                ]
                .into_iter()
                .filter(|(_, a, b)| a != b)
                .map(|(f, a, b)| change(f, a.as_deref(), b.as_deref()))
                .collect(),
            ),
        };
        if !changes.is_empty() {
            self.audit_in(&mut tx, acting, action, &flow_target(&draft.code), &changes)
                .await?;
        }
        tx.commit().await?;
        Ok((saved, registered))
    }

    /// Every flow, by code: of one integration, or the standalone ones
    /// (`Some(None)`), or all (`None`).
    pub async fn list_flows(
        &self,
        integration: Option<Option<&str>>,
    ) -> Result<Vec<Flow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let codes: Vec<String> = match integration {
            None => {
                sqlx::query_scalar("SELECT code FROM flows ORDER BY code")
                    .fetch_all(&mut *tx)
                    .await?
            }
            Some(None) => {
                sqlx::query_scalar(
                    "SELECT code FROM flows WHERE integration_id IS NULL ORDER BY code",
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Some(Some(code)) => {
                let (id, _) = integration_row(&mut tx, code).await?;
                sqlx::query_scalar("SELECT code FROM flows WHERE integration_id = $1 ORDER BY code")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            if let Some((_, f)) = self.flow_in(&mut tx, &code).await? {
                out.push(f);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes a flow (its steps go with it).
    pub async fn delete_flow(&self, acting: &Acting<'_>, code: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let Some((id, old)) = self.flow_in(&mut tx, code).await? else {
            return Err(StoreError::Missing {
                what: "flow",
                code: code.to_string(),
            });
        };
        sqlx::query("DELETE FROM flows WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.audit_in(
            &mut tx,
            acting,
            "flow.delete",
            &flow_target(code),
            &[
                change("name", Some(&old.name), None),
                change("integration", old.integration.as_deref(), None),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// R19: gives a user `level` on an integration (replacing what they had),
    /// or takes it away (`None`).
    pub async fn set_access(
        &self,
        acting: &Acting<'_>,
        username: &str,
        integration: &str,
        level: Option<AccessLevel>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let (integration_id, _) = integration_row(&mut tx, integration).await?;
        let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Missing {
                what: "user",
                code: username.to_string(),
            })?;
        let old: Option<String> = sqlx::query_scalar(
            "SELECT level FROM integration_access WHERE user_id = $1 AND integration_id = $2",
        )
        .bind(user_id)
        .bind(integration_id)
        .fetch_optional(&mut *tx)
        .await?;
        let new = level.map(AccessLevel::as_str);
        if old.as_deref() == new {
            return Ok(());
        }
        match level {
            Some(level) => {
                sqlx::query(
                    "INSERT INTO integration_access (user_id, integration_id, level) VALUES ($1, $2, $3)
                     ON CONFLICT (user_id, integration_id) DO UPDATE SET level = $3",
                )
                .bind(user_id)
                .bind(integration_id)
                .bind(level.as_str())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM integration_access WHERE user_id = $1 AND integration_id = $2",
                )
                .bind(user_id)
                .bind(integration_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        self.audit_in(
            &mut tx,
            acting,
            "integration.access",
            &integration_target(integration),
            &[change(&format!("access:{username}"), old.as_deref(), new)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// R18/R20: a member's best level on a connection, through the
    /// integrations it is registered with; `None` when they cannot see it.
    pub async fn member_level_on_connection(
        &self,
        username: &str,
        connection: &str,
    ) -> Result<Option<AccessLevel>, StoreError> {
        let best: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(CASE a.level WHEN 'manage' THEN 2 ELSE 1 END)
             FROM registrations r
             JOIN connections c ON c.id = r.connection_id
             JOIN integration_access a ON a.integration_id = r.integration_id
             JOIN users u ON u.id = a.user_id
             WHERE u.username = $1 AND c.code = $2 AND r.active = 1",
        )
        .bind(username)
        .bind(connection)
        .fetch_one(&self.pool)
        .await?;
        Ok(match best {
            Some(2) => Some(AccessLevel::Manage),
            Some(1) => Some(AccessLevel::Monitor),
            _ => None,
        })
    }

    /// A user's access, integration code → level.
    pub async fn access_of(
        &self,
        username: &str,
    ) -> Result<Vec<(String, AccessLevel)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT i.code, a.level FROM integration_access a
             JOIN integrations i ON i.id = a.integration_id
             JOIN users u ON u.id = a.user_id
             WHERE u.username = $1 ORDER BY i.code",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(code, level)| AccessLevel::parse(&level).map(|l| (code, l)))
            .collect())
    }

    /// R16a: replaces `old` by `new` in one step, one flow, or every step,
    /// in one transaction; `new` is registered with each standard
    /// integration whose flows now use it. `scope`: (flow, position).
    pub async fn replace_connection(
        &self,
        acting: &Acting<'_>,
        old: &str,
        new: &str,
        flow: Option<&str>,
        position: Option<u32>,
    ) -> Result<Replaced, StoreError> {
        let mut tx = self.write_tx().await?;
        let ids = connection_ids(&mut tx, &[old.to_string(), new.to_string()]).await?;
        let (old_id, new_id) = (ids[0], ids[1]);
        if old_id == new_id {
            return Err(conflict(
                "with",
                "a connection cannot replace itself".to_string(),
            ));
        }
        // The steps in scope: (flow id, flow code, integration id, position).
        let rows: Vec<(i64, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT f.id, f.code, f.integration_id, s.position FROM flow_steps s
             JOIN flows f ON f.id = s.flow_id
             WHERE s.connection_id = $1 AND ($2 IS NULL OR f.code = $2)
               AND ($3 IS NULL OR s.position = $3)
             ORDER BY f.code, s.position",
        )
        .bind(old_id)
        .bind(flow)
        .bind(position.map(i64::from))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            let place = match (flow, position) {
                (Some(f), Some(p)) => format!("step {} of flow {f:?}", p + 1),
                (Some(f), None) => format!("flow {f:?}"),
                _ => "any flow".to_string(),
            };
            return Err(StoreError::Missing {
                what: "use of the connection in",
                code: format!("{old} ({place})"),
            });
        }
        for (flow_id, _, _, pos) in &rows {
            sqlx::query(
                "UPDATE flow_steps SET connection_id = $1 WHERE flow_id = $2 AND position = $3",
            )
            .bind(new_id)
            .bind(flow_id)
            .bind(pos)
            .execute(&mut *tx)
            .await?;
        }
        let now = self.now_millis();
        let mut flows: Vec<String> = Vec::new();
        let mut registered_with = Vec::new();
        for (flow_id, code, integration_id, _) in &rows {
            if flows.contains(code) {
                continue;
            }
            flows.push(code.clone());
            sqlx::query("UPDATE flows SET version = version + 1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(flow_id)
                .execute(&mut *tx)
                .await?;
            let n = rows.iter().filter(|r| r.1 == *code).count().to_string();
            self.audit_in(
                &mut tx,
                acting,
                "flow.replace_connection",
                &flow_target(code),
                &[
                    change("connection", Some(old), Some(new)),
                    change("steps", None, Some(&n)),
                ],
            )
            .await?;
            let Some(iid) = integration_id else { continue };
            let (icode, kind): (String, String) =
                sqlx::query_as("SELECT code, kind FROM integrations WHERE id = $1")
                    .bind(iid)
                    .fetch_one(&mut *tx)
                    .await?;
            if IntegrationKind::parse(&kind) == Some(IntegrationKind::Standard)
                && registration(&mut tx, *iid, new_id).await? != Some(true)
            {
                let added = self
                    .register_in(&mut tx, acting, &icode, *iid, &[new.to_string()])
                    .await?;
                if !added.is_empty() && !registered_with.contains(&icode) {
                    registered_with.push(icode);
                }
            }
        }
        tx.commit().await?;
        Ok(Replaced {
            steps: rows.len() as u64,
            flows,
            registered_with,
        })
    }

    /// R16: every step that uses the connection, with its flow and
    /// integration, in flow order.
    pub async fn used_by(&self, connection: &str) -> Result<Vec<UsedBy>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        used_by_in(&mut conn, connection).await
    }
}

/// The steps that use a connection (by code), read on `conn`.
pub(super) async fn used_by_in(
    conn: &mut sqlx::SqliteConnection,
    connection: &str,
) -> Result<Vec<UsedBy>, StoreError> {
    let rows = sqlx::query(
        "SELECT f.code AS flow, f.name AS flow_name, i.code AS integration, s.position, s.kind
         FROM flow_steps s
         JOIN connections c ON c.id = s.connection_id
         JOIN flows f ON f.id = s.flow_id
         LEFT JOIN integrations i ON i.id = f.integration_id
         WHERE c.code = $1 ORDER BY f.code, s.position",
    )
    .bind(connection)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(UsedBy {
                flow: r.try_get("flow")?,
                flow_name: r.try_get("flow_name")?,
                integration: r.try_get("integration")?,
                position: u32::try_from(r.try_get::<i64, _>("position")?).unwrap_or(0),
                kind: StepKind::parse(&kind).unwrap_or(StepKind::Export),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::Db)
}
