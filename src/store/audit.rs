//! The audit trail (R28): appended in the transaction of the change it
//! records, read per target. It never holds a secret value.

use super::db::{Tx, args};
use super::{Acting, Store, StoreError, from_millis};
use crate::model::{AuditRecord, FieldChange, Source};

impl Store {
    pub(super) async fn audit_in(
        &self,
        tx: &mut Tx,
        acting: &Acting<'_>,
        action: &str,
        target: &str,
        changes: &[FieldChange],
    ) -> Result<(), StoreError> {
        let changes = serde_json::to_string(changes).expect("field changes serialise");
        tx.exec(
            "INSERT INTO audit (at, actor, source, action, target, changes)
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                self.now_millis(),
                acting.user,
                acting.source.as_str(),
                action,
                target,
                changes
            ],
        )
        .await?;
        Ok(())
    }

    /// The audit trail of one target, newest first.
    pub async fn audit_for(
        &self,
        target: &str,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.db
            .rows(
                "SELECT id, at, actor, source, action, target, changes FROM audit
                 WHERE target = $1 ORDER BY id DESC LIMIT $2",
                args![target, limit],
                |r| {
                    let changes: String = r.get("changes")?;
                    let source: String = r.get("source")?;
                    Ok(AuditRecord {
                        id: r.get("id")?,
                        at: from_millis(r.get("at")?),
                        actor: r.get("actor")?,
                        source: Source::parse(&source).unwrap_or(Source::System),
                        action: r.get("action")?,
                        target: r.get("target")?,
                        changes: serde_json::from_str(&changes).unwrap_or_default(),
                    })
                },
            )
            .await
    }
}
