//! Integrations, flows, registrations and used-by (SPEC §4). Each change is
//! one transaction with its audit record.

use std::collections::HashMap;

use super::db::{Row, Tx, args};
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
async fn integration_row(tx: &mut Tx, code: &str) -> Result<(i64, IntegrationKind), StoreError> {
    let row: Option<(i64, String)> = tx
        .opt(
            "SELECT id, kind FROM integrations WHERE code = $1",
            args![code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .await?;
    let (id, kind) = row.ok_or_else(|| StoreError::Missing {
        what: "integration",
        code: code.to_string(),
    })?;
    Ok((id, IntegrationKind::parse(&kind).unwrap_or_default()))
}

/// Connection ids by code (in order); an unknown code is an error naming it.
async fn connection_ids(tx: &mut Tx, codes: &[String]) -> Result<Vec<i64>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    // One read of the codes that exist; the order (and the first unknown
    // code) is the input's.
    let sql = format!(
        "SELECT c.code, c.id FROM connections c
         WHERE c.code IN (SELECT j.value FROM {})",
        tx.dialect().json_each("$1", "j")
    );
    let found: HashMap<String, i64> = tx
        .rows(
            &sql,
            args![serde_json::to_string(codes).expect("strings serialise")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .await?
        .into_iter()
        .collect();
    codes
        .iter()
        .map(|code| {
            found.get(code).copied().ok_or_else(|| StoreError::Missing {
                what: "connection",
                code: code.clone(),
            })
        })
        .collect()
}

/// The registration state of a connection with an integration: `None` never
/// registered, `Some(true)` registered, `Some(false)` deregistered.
async fn registration(
    tx: &mut Tx,
    integration_id: i64,
    connection_id: i64,
) -> Result<Option<bool>, StoreError> {
    let active: Option<i64> = tx
        .opt(
            "SELECT active FROM registrations WHERE integration_id = $1 AND connection_id = $2",
            args![integration_id, connection_id],
            |r| r.get(0),
        )
        .await?;
    Ok(active.map(|a| a == 1))
}

impl Store {
    async fn integration_in(&self, tx: &mut Tx, code: &str) -> Result<Integration, StoreError> {
        let (id, mut integration) = tx
            .opt(
                "SELECT i.id, i.code, i.name, i.kind, i.version, i.created_at, i.updated_at,
                    (SELECT COUNT(*) FROM flows f WHERE f.integration_id = i.id) AS flows
                 FROM integrations i WHERE i.code = $1",
                args![code],
                |row| {
                    let id: i64 = row.get("id")?;
                    let kind: String = row.get("kind")?;
                    Ok((
                        id,
                        Integration {
                            code: row.get("code")?,
                            name: row.get("name")?,
                            kind: IntegrationKind::parse(&kind).unwrap_or_default(),
                            registered: Vec::new(),
                            flows: u64::try_from(row.get::<i64>("flows")?).unwrap_or(0),
                            version: u64::try_from(row.get::<i64>("version")?).unwrap_or(1),
                            created_at: from_millis(row.get("created_at")?),
                            updated_at: from_millis(row.get("updated_at")?),
                            access: None,
                        },
                    ))
                },
            )
            .await?
            .ok_or_else(|| StoreError::Missing {
                what: "integration",
                code: code.to_string(),
            })?;
        integration.registered = tx
            .rows(
                "SELECT c.code FROM registrations r JOIN connections c ON c.id = r.connection_id
                 WHERE r.integration_id = $1 AND r.active = 1 ORDER BY c.code",
                args![id],
                |r| r.get(0),
            )
            .await?;
        Ok(integration)
    }

    /// One integration with its registrations.
    pub async fn get_integration(&self, code: &str) -> Result<Integration, StoreError> {
        let mut tx = self.read_tx().await?;
        let i = self.integration_in(&mut tx, code).await?;
        tx.commit().await?;
        Ok(i)
    }

    /// Every integration, by name.
    pub async fn list_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        let mut tx = self.read_tx().await?;
        let codes: Vec<String> = tx
            .rows(
                "SELECT code FROM integrations ORDER BY lower(name), code",
                args![],
                |r| r.get(0),
            )
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
        tx.exec(
            "INSERT INTO integrations (code, name, kind, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
            args![code, name, kind.as_str(), now],
        )
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
            tx.exec(
                "UPDATE integrations SET name = $1, version = version + 1, updated_at = $2
                 WHERE code = $3",
                args![name, self.now_millis(), code],
            )
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
        tx.exec("DELETE FROM integrations WHERE code = $1", args![code])
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
        tx: &mut Tx,
        acting: &Acting<'_>,
        integration: &str,
        integration_id: i64,
        codes: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let now = self.now_millis();
        // Set-based: one read of what is not registered yet, one upsert.
        let wanted = serde_json::to_string(codes).expect("strings serialise");
        let sql = format!(
            "SELECT c.code FROM connections c
             WHERE c.code IN (SELECT j.value FROM {})
               AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.integration_id = $1
                               AND r.connection_id = c.id AND r.active = 1)",
            tx.dialect().json_each("$2", "j")
        );
        let missing: std::collections::HashSet<String> = tx
            .rows(&sql, args![integration_id, &wanted], |r| r.get(0))
            .await?
            .into_iter()
            .collect();
        // In the order asked, each once.
        let mut added: Vec<String> = Vec::with_capacity(missing.len());
        let mut seen = std::collections::HashSet::new();
        for code in codes {
            if missing.contains(code) && seen.insert(code.clone()) {
                added.push(code.clone());
            }
        }
        if !added.is_empty() {
            let sql = format!(
                "INSERT INTO registrations (integration_id, connection_id, active, changed_at)
                 SELECT CAST($1 AS BIGINT), c.id, 1, CAST($3 AS BIGINT)
                 FROM {} JOIN connections c ON c.code = j.value
                 WHERE true
                 ON CONFLICT (integration_id, connection_id) DO UPDATE SET active = 1, changed_at = $3",
                tx.dialect().json_each("$2", "j")
            );
            tx.exec(
                &sql,
                args![
                    integration_id,
                    serde_json::to_string(&added).expect("strings serialise"),
                    now
                ],
            )
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
        tx: &mut Tx,
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
            let n = tx
                .exec(
                    "UPDATE registrations SET active = 0, changed_at = $3
                     WHERE integration_id = $1 AND connection_id = $2 AND active = 1",
                    args![integration_id, *id, now],
                )
                .await?;
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
        let changed = tx
            .exec(
                "UPDATE registrations SET active = 0, changed_at = $3
                 WHERE integration_id = $1 AND connection_id = $2 AND active = 1",
                args![integration_id, ids[0], self.now_millis()],
            )
            .await?
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

    async fn flow_in(&self, tx: &mut Tx, code: &str) -> Result<Option<(i64, Flow)>, StoreError> {
        let Some((id, mut flow)) = tx
            .opt(
                "SELECT f.id, f.code, f.name, i.code AS integration, f.version, f.updated_at
                 FROM flows f LEFT JOIN integrations i ON i.id = f.integration_id WHERE f.code = $1",
                args![code],
                |row| {
                    let id: i64 = row.get("id")?;
                    Ok((
                        id,
                        Flow {
                            code: row.get("code")?,
                            name: row.get("name")?,
                            integration: row.get("integration")?,
                            steps: Vec::new(),
                            version: u64::try_from(row.get::<i64>("version")?).unwrap_or(1),
                            updated_at: from_millis(row.get("updated_at")?),
                            partial: false,
                        },
                    ))
                },
            )
            .await?
        else {
            return Ok(None);
        };
        flow.steps = tx
            .rows(
                "SELECT s.kind, c.code FROM flow_steps s JOIN connections c ON c.id = s.connection_id
                 WHERE s.flow_id = $1 ORDER BY s.position",
                args![id],
                |r| {
                    let kind: String = r.get("kind")?;
                    Ok(FlowStep {
                        kind: StepKind::parse(&kind).unwrap_or(StepKind::Export),
                        connection: r.get("code")?,
                    })
                },
            )
            .await?;
        Ok(Some((id, flow)))
    }

    pub async fn get_flow(&self, code: &str) -> Result<Flow, StoreError> {
        let mut tx = self.read_tx().await?;
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
                tx.exec(
                    "UPDATE flows SET name = $1, integration_id = $2, version = version + 1,
                         updated_at = $3 WHERE id = $4",
                    args![&draft.name, integration_id, now, *id],
                )
                .await?;
                tx.exec("DELETE FROM flow_steps WHERE flow_id = $1", args![*id])
                    .await?;
                *id
            }
            None => {
                tx.one(
                    "INSERT INTO flows (code, name, integration_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
                    args![&draft.code, &draft.name, integration_id, now],
                    |r| r.get::<i64>(0),
                )
                .await?
            }
        };
        for (position, (step, id)) in draft.steps.iter().zip(&ids).enumerate() {
            tx.exec(
                "INSERT INTO flow_steps (flow_id, position, kind, connection_id)
                 VALUES ($1, $2, $3, $4)",
                args![flow_id, position as i64, step.kind.as_str(), *id],
            )
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
        let mut tx = self.read_tx().await?;
        let codes: Vec<String> = match integration {
            None => {
                tx.rows("SELECT code FROM flows ORDER BY code", args![], |r| {
                    r.get(0)
                })
                .await?
            }
            Some(None) => {
                tx.rows(
                    "SELECT code FROM flows WHERE integration_id IS NULL ORDER BY code",
                    args![],
                    |r| r.get(0),
                )
                .await?
            }
            Some(Some(code)) => {
                let (id, _) = integration_row(&mut tx, code).await?;
                tx.rows(
                    "SELECT code FROM flows WHERE integration_id = $1 ORDER BY code",
                    args![id],
                    |r| r.get(0),
                )
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
        tx.exec("DELETE FROM flows WHERE id = $1", args![id])
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
        let user_id: i64 = tx
            .opt(
                "SELECT id FROM users WHERE username = $1",
                args![username],
                |r| r.get(0),
            )
            .await?
            .ok_or_else(|| StoreError::Missing {
                what: "user",
                code: username.to_string(),
            })?;
        let old: Option<String> = tx
            .opt(
                "SELECT level FROM integration_access WHERE user_id = $1 AND integration_id = $2",
                args![user_id, integration_id],
                |r| r.get(0),
            )
            .await?;
        let new = level.map(AccessLevel::as_str);
        if old.as_deref() == new {
            return Ok(());
        }
        match level {
            Some(level) => {
                tx.exec(
                    "INSERT INTO integration_access (user_id, integration_id, level) VALUES ($1, $2, $3)
                     ON CONFLICT (user_id, integration_id) DO UPDATE SET level = $3",
                    args![user_id, integration_id, level.as_str()],
                )
                .await?;
            }
            None => {
                tx.exec(
                    "DELETE FROM integration_access WHERE user_id = $1 AND integration_id = $2",
                    args![user_id, integration_id],
                )
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
        let best: Option<i64> = self
            .db
            .one(
                "SELECT MAX(CASE a.level WHEN 'manage' THEN 2 ELSE 1 END)
                 FROM registrations r
                 JOIN connections c ON c.id = r.connection_id
                 JOIN integration_access a ON a.integration_id = r.integration_id
                 JOIN users u ON u.id = a.user_id
                 WHERE u.username = $1 AND c.code = $2 AND r.active = 1",
                args![username, connection],
                |r| r.get(0),
            )
            .await?;
        Ok(match best {
            Some(2) => Some(AccessLevel::Manage),
            Some(1) => Some(AccessLevel::Monitor),
            _ => None,
        })
    }

    /// Who has access to an integration, by username, with their level.
    pub async fn access_to(
        &self,
        integration: &str,
    ) -> Result<Vec<(String, AccessLevel)>, StoreError> {
        let mut tx = self.read_tx().await?;
        integration_row(&mut tx, integration).await?;
        let rows: Vec<(String, String)> = tx
            .rows(
                "SELECT u.username, a.level FROM integration_access a
                 JOIN integrations i ON i.id = a.integration_id
                 JOIN users u ON u.id = a.user_id
                 WHERE i.code = $1 ORDER BY u.username",
                args![integration],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|(user, level)| AccessLevel::parse(&level).map(|l| (user, l)))
            .collect())
    }

    /// A user's access, integration code → level.
    pub async fn access_of(
        &self,
        username: &str,
    ) -> Result<Vec<(String, AccessLevel)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .db
            .rows(
                "SELECT i.code, a.level FROM integration_access a
                 JOIN integrations i ON i.id = a.integration_id
                 JOIN users u ON u.id = a.user_id
                 WHERE u.username = $1 ORDER BY i.code",
                args![username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
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
        let rows: Vec<(i64, String, Option<i64>, i64)> = tx
            .rows(
                "SELECT f.id, f.code, f.integration_id, s.position FROM flow_steps s
                 JOIN flows f ON f.id = s.flow_id
                 WHERE s.connection_id = $1 AND ($2 IS NULL OR f.code = $2)
                   AND ($3 IS NULL OR s.position = $3)
                 ORDER BY f.code, s.position",
                args![old_id, flow, position.map(i64::from)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
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
            tx.exec(
                "UPDATE flow_steps SET connection_id = $1 WHERE flow_id = $2 AND position = $3",
                args![new_id, *flow_id, *pos],
            )
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
            tx.exec(
                "UPDATE flows SET version = version + 1, updated_at = $1 WHERE id = $2",
                args![now, *flow_id],
            )
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
            let (icode, kind): (String, String) = tx
                .one(
                    "SELECT code, kind FROM integrations WHERE id = $1",
                    args![*iid],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
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
        self.db
            .rows(USED_BY_SQL, args![connection], used_by_row)
            .await
    }
}

/// The steps that use a connection (by code), in flow order.
const USED_BY_SQL: &str =
    "SELECT f.code AS flow, f.name AS flow_name, i.code AS integration, s.position, s.kind
     FROM flow_steps s
     JOIN connections c ON c.id = s.connection_id
     JOIN flows f ON f.id = s.flow_id
     LEFT JOIN integrations i ON i.id = f.integration_id
     WHERE c.code = $1 ORDER BY f.code, s.position";

fn used_by_row(r: &Row<'_>) -> Result<UsedBy, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(UsedBy {
        flow: r.get("flow")?,
        flow_name: r.get("flow_name")?,
        integration: r.get("integration")?,
        position: u32::try_from(r.get::<i64>("position")?).unwrap_or(0),
        kind: StepKind::parse(&kind).unwrap_or(StepKind::Export),
    })
}

/// The steps that use a connection (by code), read in `tx`.
pub(super) async fn used_by_in(tx: &mut Tx, connection: &str) -> Result<Vec<UsedBy>, StoreError> {
    tx.rows(USED_BY_SQL, args![connection], used_by_row).await
}
