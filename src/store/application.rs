//! The application side of a connection (R26) and its test state (R27):
//! the columns that hold it, its secret value encrypted under the key ring
//! (never in clear, never read back but for a test), the offline flag and
//! the background re-test schedule that instances on one database share.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::db::{Row, Tx, args};
use super::{Acting, Store, StoreError, change, connection_target, from_millis, sealed};
use crate::domain::application::{self as rules, StoredApplication, ValidApplication};
use crate::model::{AuthKind, FieldChange};

/// The application's columns in [`super::connections::CONNECTION_COLUMNS`],
/// in the order [`stored_from_row`] reads them (its secret only as "is
/// there one").
pub(super) const APP_COLUMNS: &str = "app_base_url, app_ping_path, app_auth_kind, app_auth, \
     app_secret_ciphertext IS NOT NULL AS app_has_secret, offline_since, offline_reason";

/// The stored application side from a row's [`APP_COLUMNS`] at `at`.
pub(super) fn stored_from_row(
    r: &Row<'_>,
    at: usize,
) -> Result<Option<StoredApplication>, StoreError> {
    let Some(base_url) = r.get::<Option<String>>(at)? else {
        return Ok(None);
    };
    let kind: Option<String> = r.get(at + 2)?;
    let public: Option<String> = r.get(at + 3)?;
    Ok(Some(StoredApplication {
        base_url,
        ping_path: r.get(at + 1)?,
        kind: kind
            .as_deref()
            .and_then(AuthKind::parse)
            .unwrap_or(AuthKind::None),
        public: public
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default(),
        has_secret: r.get(at + 4)?,
    }))
}

/// The AAD field of the application's secret value: bound to the kind's
/// field, so a value cannot be read as another kind's.
fn secret_aad(kind: AuthKind) -> String {
    format!("application.{}", kind.secret_field().unwrap_or("secret"))
}

/// The application side's stored form: a stored application side, its
/// secret's ciphertext and key.
pub(super) struct AppRow {
    pub stored: Option<StoredApplication>,
    pub blob: Option<Vec<u8>>,
    pub key_id: Option<i64>,
}

/// The application side of `code` with its ciphertext, in `tx`.
pub(super) async fn app_row_in(tx: &mut Tx, code: &str) -> Result<AppRow, StoreError> {
    tx.one(
        &format!(
            "SELECT {APP_COLUMNS}, app_secret_ciphertext, app_secret_key_id
             FROM connections WHERE code = $1"
        ),
        args![code],
        |r| {
            Ok(AppRow {
                stored: stored_from_row(r, 0)?,
                blob: r.get(7)?,
                key_id: r.get(8)?,
            })
        },
    )
    .await
}

/// What to write into the application columns.
pub(super) struct AppWrite {
    pub stored: Option<StoredApplication>,
    pub blob: Option<Vec<u8>>,
    pub key_id: Option<i64>,
    /// The audit changes it makes.
    pub changes: Vec<FieldChange>,
}

impl Store {
    /// The application columns for `new` on connection `code` whose stored
    /// side is `old`: a new secret value encrypted under the active key
    /// (the caller made sure the ring is current), an omitted one kept
    /// (refused when there is none of the kind to keep), the same value
    /// sent again left as it is.
    pub(super) fn app_write(
        &self,
        code: &str,
        old: &AppRow,
        new: Option<&ValidApplication>,
    ) -> Result<AppWrite, StoreError> {
        let Some(new) = new else {
            return Ok(AppWrite {
                changes: rules::audit_changes(old.stored.as_ref(), None, false),
                stored: None,
                blob: None,
                key_id: None,
            });
        };
        let invalid = |e: crate::domain::RuleError| StoreError::Invalid {
            field: e.field,
            message: e.message,
        };
        let same_kind = old
            .stored
            .as_ref()
            .is_some_and(|s| s.kind == new.kind && s.has_secret);
        let (blob, key_id, secret_changed) = match (new.kind.secret_field(), &new.secret) {
            (None, _) => (None, None, false),
            (Some(_), None) => {
                if let Some(e) = rules::keep_secret_error(new.kind, old.stored.as_ref()) {
                    return Err(invalid(e));
                }
                (old.blob.clone(), old.key_id, false)
            }
            (Some(_), Some(value)) => {
                let unchanged = match (same_kind, &old.blob, old.key_id) {
                    (true, Some(blob), Some(key_id)) => {
                        let stored = self.keys.decrypt(
                            code,
                            &secret_aad(new.kind),
                            &sealed(blob.clone(), key_id),
                        )?;
                        bool::from(
                            stored
                                .expose_secret()
                                .as_bytes()
                                .ct_eq(value.expose_secret().as_bytes()),
                        )
                    }
                    _ => false,
                };
                if unchanged {
                    (old.blob.clone(), old.key_id, false)
                } else {
                    let sealed = self.keys.encrypt(code, &secret_aad(new.kind), value);
                    (Some(sealed.blob), Some(i64::from(sealed.key_id)), true)
                }
            }
        };
        let stored = new.stored(blob.is_some());
        Ok(AppWrite {
            changes: rules::audit_changes(old.stored.as_ref(), Some(&stored), secret_changed),
            stored: Some(stored),
            blob,
            key_id,
        })
    }

    /// Writes `w` into connection `code`'s application columns. A removed
    /// application takes the offline state with it; a changed one, on an
    /// offline connection, is re-tested at the next background pass.
    pub(super) async fn write_app_in(
        &self,
        tx: &mut Tx,
        code: &str,
        w: &AppWrite,
    ) -> Result<(), StoreError> {
        let s = w.stored.as_ref();
        let public = s.map(|s| serde_json::to_string(&s.public).expect("plain fields serialise"));
        tx.exec(
            "UPDATE connections SET app_base_url = $1, app_ping_path = $2, app_auth_kind = $3,
                 app_auth = $4, app_secret_ciphertext = $5, app_secret_key_id = $6
             WHERE code = $7",
            args![
                s.map(|s| s.base_url.as_str()),
                s.and_then(|s| s.ping_path.as_deref()),
                s.map(|s| s.kind.as_str()),
                public,
                w.blob,
                w.key_id,
                code
            ],
        )
        .await?;
        if s.is_none() {
            tx.exec(
                "UPDATE connections SET offline_since = NULL, offline_reason = NULL,
                     retest_at = NULL, retest_delay_ms = NULL
                 WHERE code = $1",
                args![code],
            )
            .await?;
        } else {
            tx.exec(
                "UPDATE connections SET retest_at = $1, retest_delay_ms = 0
                 WHERE code = $2 AND offline_since IS NOT NULL",
                args![self.now_millis(), code],
            )
            .await?;
        }
        Ok(())
    }

    /// The application side of `code` and its secret value, decrypted,
    /// for a test (R27); `None` when it has none.
    pub async fn application_for_test(
        &self,
        code: &str,
    ) -> Result<Option<(StoredApplication, Option<SecretString>)>, StoreError> {
        let mut tx = self.read_tx().await?;
        let row = app_row_in(&mut tx, code).await;
        tx.commit().await?;
        let row = row?;
        let Some(stored) = row.stored else {
            return Ok(None);
        };
        let secret = match (&row.blob, row.key_id) {
            (Some(blob), Some(key_id)) => Some(self.keys.decrypt(
                code,
                &secret_aad(stored.kind),
                &sealed(blob.clone(), key_id),
            )?),
            _ => None,
        };
        Ok(Some((stored, secret)))
    }

    /// Records a test's outcome (R27): a failure marks the connection
    /// offline (since now, the first re-test a minute later) or, when it
    /// already is, updates the reason; a success clears it. A flip is in the
    /// audit trail. Returns whether the connection is offline now.
    pub async fn record_test(
        &self,
        acting: &Acting<'_>,
        code: &str,
        ok: bool,
        message: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let was: Option<Option<i64>> = tx
            .opt(
                "SELECT offline_since FROM connections WHERE code = $1",
                args![code],
                |r| r.get(0),
            )
            .await?;
        let was_offline = was.ok_or(StoreError::NotFound)?.is_some();
        let target = connection_target(code);
        match (ok, was_offline) {
            (true, false) => {}
            (true, true) => {
                tx.exec(
                    "UPDATE connections SET offline_since = NULL, offline_reason = NULL,
                         retest_at = NULL, retest_delay_ms = NULL
                     WHERE code = $1",
                    args![code],
                )
                .await?;
                self.audit_in(
                    &mut tx,
                    acting,
                    "connection.online",
                    &target,
                    &[change("offline", Some("true"), Some("false"))],
                )
                .await?;
            }
            (false, true) => {
                tx.exec(
                    "UPDATE connections SET offline_reason = $1 WHERE code = $2",
                    args![message, code],
                )
                .await?;
            }
            (false, false) => {
                let delay = rules::next_retest_delay(0);
                tx.exec(
                    "UPDATE connections SET offline_since = $1, offline_reason = $2,
                         retest_at = $3, retest_delay_ms = $4
                     WHERE code = $5",
                    args![now, message, now + delay, delay, code],
                )
                .await?;
                self.audit_in(
                    &mut tx,
                    acting,
                    "connection.offline",
                    &target,
                    &[
                        change("offline", Some("false"), Some("true")),
                        change("offline_reason", None, Some(message)),
                    ],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(!ok)
    }

    /// Claims up to `max` offline connections whose re-test is due (R27),
    /// moving each one's next re-test forward by its doubled delay (a
    /// minute at first, at most an hour) in the same write: another
    /// instance's pass does not claim them again.
    pub async fn claim_retests(&self, max: u32) -> Result<Vec<String>, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let due: Vec<(String, Option<i64>)> = tx
            .rows(
                "SELECT code, retest_delay_ms FROM connections
                 WHERE retest_at IS NOT NULL AND retest_at <= $1
                   AND offline_since IS NOT NULL AND app_base_url IS NOT NULL
                 ORDER BY retest_at, code LIMIT $2",
                args![now, max],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        for (code, delay) in &due {
            let next = rules::next_retest_delay(delay.unwrap_or(0));
            tx.exec(
                "UPDATE connections SET retest_at = $1, retest_delay_ms = $2 WHERE code = $3",
                args![now + next, next, code],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(due.into_iter().map(|(code, _)| code).collect())
    }

    /// When the background will re-test `code` next, and after which delay
    /// (tests, diagnostics).
    pub async fn retest_schedule(
        &self,
        code: &str,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, i64)>, StoreError> {
        let row: Option<(Option<i64>, Option<i64>)> = self
            .db
            .opt(
                "SELECT retest_at, retest_delay_ms FROM connections WHERE code = $1",
                args![code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        let (at, delay) = row.ok_or(StoreError::NotFound)?;
        Ok(at.map(|at| (from_millis(at), delay.unwrap_or(0))))
    }

    /// Re-encrypts, in `tx`, every application secret not under key
    /// `active`; how many.
    pub(super) async fn reencrypt_app_secrets_in(
        &self,
        tx: &mut Tx,
        active: i64,
    ) -> Result<u64, StoreError> {
        let rows: Vec<(i64, String, String, Vec<u8>, i64)> = tx
            .rows(
                "SELECT id, code, app_auth_kind, app_secret_ciphertext, app_secret_key_id
                 FROM connections
                 WHERE app_secret_ciphertext IS NOT NULL AND app_secret_key_id <> $1",
                args![active],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .await?;
        for (id, code, kind, blob, key_id) in &rows {
            let aad = secret_aad(AuthKind::parse(kind).unwrap_or(AuthKind::None));
            let secret = self
                .keys
                .decrypt(code, &aad, &sealed(blob.clone(), *key_id))?;
            let fresh = self.keys.encrypt(code, &aad, &secret);
            tx.exec(
                "UPDATE connections SET app_secret_ciphertext = $1, app_secret_key_id = $2
                 WHERE id = $3",
                args![&fresh.blob, i64::from(fresh.key_id), id],
            )
            .await?;
        }
        Ok(rows.len() as u64)
    }
}
