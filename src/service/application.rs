//! Testing a connection's application (R27): on demand by those who may
//! act on the connection (R20), and in the background for offline ones.

use futures::StreamExt as _;

use super::probe::{Probe, TestPolicy};
use super::{Actor, Service, ServiceError};
use crate::model::{Source, TestResult};
use crate::store::Acting;

/// Offline connections one background pass claims at most.
const RETEST_BATCH: u32 = 32;
/// Tests a background pass runs at once.
const RETEST_PARALLEL: usize = 8;

/// What one background pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetestPass {
    /// Offline connections whose re-test was due and ran.
    pub tested: usize,
    /// Of those, how many passed (and are online again).
    pub online: usize,
}

impl Service {
    /// How tests reach applications: timeout and refused addresses
    /// (`serve --test-timeout`, `--test-deny`, `--test-allow`).
    pub fn with_test_policy(mut self, policy: TestPolicy) -> Self {
        self.test_policy = policy;
        self
    }

    pub fn test_policy(&self) -> &TestPolicy {
        &self.test_policy
    }

    /// R27: calls the connection's application for real and records the
    /// outcome: a failure marks the connection offline, a success clears it.
    pub async fn test_connection(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<TestResult, ServiceError> {
        self.require_connection_manage(actor, code, "test it")
            .await?;
        self.test_as(&actor.acting(source), code).await
    }

    async fn test_as(&self, acting: &Acting<'_>, code: &str) -> Result<TestResult, ServiceError> {
        let app = self
            .store
            .application_for_test(code)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        let Some((stored, secret)) = app else {
            return Err(ServiceError::Conflict {
                field: "application".to_string(),
                message: format!(
                    "{code} has no application side to test: set its base_url and auth first (PATCH with `application`)"
                ),
            });
        };
        let probe = Probe::new(&stored, secret).map_err(|why| {
            tracing::error!(code, why = %why, "a stored application side cannot be tested");
            ServiceError::Internal {
                message: format!("the stored application side of {code} cannot be tested: {why}"),
            }
        })?;
        let outcome = probe.run(&self.test_policy).await;
        self.store
            .record_test(acting, code, outcome.ok, &outcome.message)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        let latency_ms = u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            code,
            ok = outcome.ok,
            status = outcome.status,
            latency_ms,
            by = acting.user,
            message = %outcome.message,
            "application tested"
        );
        Ok(TestResult {
            ok: outcome.ok,
            status: outcome.status,
            message: outcome.message,
            latency_ms,
            tested_at: self.store.now(),
        })
    }

    /// One background pass (R27): re-tests the offline connections whose
    /// re-test is due, as `system`. `serve` runs it every few seconds; the
    /// schedule (a minute after going offline, then doubling to an hour)
    /// lives in the database, so instances on one database share it and a
    /// connection is re-tested by one of them.
    pub async fn retest_offline(&self) -> Result<RetestPass, ServiceError> {
        let codes = self
            .store
            .claim_retests(RETEST_BATCH)
            .await
            .map_err(|e| ServiceError::from_store(e, None))?;
        let acting = Acting {
            user: "system",
            source: Source::System,
        };
        // The futures first, then the stream: a stream mapping with a
        // closure over borrowed codes would not be `Send` for `spawn`.
        let tests: Vec<_> = codes
            .iter()
            .map(|code| Box::pin(self.test_as(&acting, code)))
            .collect();
        let results: Vec<Result<TestResult, ServiceError>> = futures::stream::iter(tests)
            .buffer_unordered(RETEST_PARALLEL)
            .collect()
            .await;
        let mut pass = RetestPass::default();
        for r in results {
            match r {
                Ok(t) => {
                    pass.tested += 1;
                    pass.online += usize::from(t.ok);
                }
                // Deleted or changed meanwhile: nothing to re-test.
                Err(ServiceError::NotFound { .. } | ServiceError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(pass)
    }
}
