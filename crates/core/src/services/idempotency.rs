//! Idempotent retries of mutating tenant requests.
//!
//! The HTTP layer calls [`Services::claim_idempotency_key`] before running a keyed request and
//! [`Services::finish_idempotent`] after it; everything that decides what a retry gets is here.
//!
//! - Claim: one conditional put of an in-progress record carrying the request's fingerprint and a
//!   lease (60 s), allowed when no record is stored or the stored one expired. If it fails, one
//!   read says why: same fingerprint and completed → replay the stored response; same fingerprint
//!   and in progress → `IdempotencyInProgress`; another fingerprint → `IdempotencyConflict`.
//! - Finish: one conditional update stores status and body (sealed with AES-256-GCM) for 24 h, or,
//!   for answers a retry could change (5xx, 409, 429), one conditional delete releases the key.
//!   Both are conditional on the lease, so a request that outlived its lease and was taken over
//!   cannot overwrite its successor.

use super::Services;
use crate::codec::{self, keys};
use crate::domain::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyScope, IdempotencyState, SealingKey,
};
use crate::domain::tenant::TenantPrincipal;
use crate::error::{Error, Result};
use crate::ports::table::{AttributeValue, Condition, StoreError};

/// How long the first request holds its key before a retry may run it again.
pub const IDEMPOTENCY_LEASE_SECONDS: i64 = 60;
/// How long a completed request's response is replayed.
pub const IDEMPOTENCY_RETENTION_SECONDS: i64 = 24 * 3600;
/// Larger response bodies are not kept (DynamoDB items are limited to 400 KB); a retry then runs
/// again. No tenant route answers anywhere near this.
pub const MAX_STORED_RESPONSE_BYTES: usize = 256 * 1024;

/// Idempotency settings: the key that seals stored responses, and the two lifetimes.
#[derive(Clone, Debug)]
pub struct IdempotencySettings {
    pub sealing_key: SealingKey,
    pub lease_seconds: i64,
    pub retention_seconds: i64,
}

impl IdempotencySettings {
    /// The documented lifetimes (60 s lease, 24 h retention) with this key.
    pub fn new(sealing_key: SealingKey) -> Self {
        Self {
            sealing_key,
            lease_seconds: IDEMPOTENCY_LEASE_SECONDS,
            retention_seconds: IDEMPOTENCY_RETENTION_SECONDS,
        }
    }
}

/// A keyed request as the HTTP layer sees it.
#[derive(Clone, Copy, Debug)]
pub struct IdempotentRequest<'a> {
    pub key: &'a IdempotencyKey,
    /// `POST`, `PATCH`, `DELETE`.
    pub method: &'a str,
    /// The route template (`/v1/sessions/{session_id}/cancel`): the key's scope.
    pub route: &'a str,
    /// The concrete path with its query: part of the fingerprint.
    pub path_and_query: &'a str,
    pub body: &'a [u8],
}

/// A response to keep, or a kept one to replay.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    /// The exact bytes the first request answered.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for StoredResponse {
    // Bodies may carry secrets shown once.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// What to do with a keyed request.
#[derive(Debug)]
pub enum Idempotency {
    /// First time (or the earlier attempt expired): run it, then call
    /// [`Services::finish_idempotent`] with its response.
    Execute(IdempotencyClaim),
    /// Seen and finished: answer this instead of running it.
    Replay(StoredResponse),
}

/// The in-progress record this request holds.
#[derive(Debug)]
pub struct IdempotencyClaim {
    scope: IdempotencyScope,
    record: IdempotencyRecord,
    lease: String,
}

/// How many times a claim is attempted when the record it found vanished or expired meanwhile.
const CLAIM_ATTEMPTS: usize = 3;

impl Services {
    /// Claims `request.key` for the calling tenant, or says why the request must not run.
    pub async fn claim_idempotency_key(
        &self,
        caller: &TenantPrincipal,
        request: IdempotentRequest<'_>,
    ) -> Result<Idempotency> {
        let scope = IdempotencyScope::new(&caller.tenant_id, request.method, request.route, request.key);
        let fingerprint = Fingerprint::of(request.method, request.path_and_query, request.body);
        let key = keys::idempotency(&scope);
        for _ in 0..CLAIM_ATTEMPTS {
            let now = self.now();
            let lease = uuid::Uuid::new_v4().simple().to_string();
            let record = IdempotencyRecord {
                tenant_id: caller.tenant_id.clone(),
                state: IdempotencyState::InProgress,
                fingerprint: fingerprint.clone(),
                expires_at: now.unix() + self.settings.idempotency.lease_seconds,
                created_at: now,
                lease: Some(lease.clone()),
                completed_at: None,
                status: None,
                content_type: None,
                sealed_body: None,
            };
            let item = codec::idempotency_item(&scope, &record)?;
            match self.table.put(item, codec::idempotency_replaceable(now.unix())).await {
                Ok(()) => return Ok(Idempotency::Execute(IdempotencyClaim { scope, record, lease })),
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(other) => return Err(other.into()),
            }
            // A live record holds the key: find out whose and in which state.
            let Some(item) = self.table.get(&key).await? else { continue };
            let stored: IdempotencyRecord = codec::decode(item)?;
            if !stored.is_live(self.now().unix()) {
                continue;
            }
            if stored.fingerprint != fingerprint {
                return Err(Error::IdempotencyConflict(
                    "This Idempotency-Key was already used with a different request (method, path or \
                     body); use a new key for a new request"
                        .into(),
                ));
            }
            return match stored.state {
                IdempotencyState::InProgress => Err(in_progress()),
                IdempotencyState::Completed => {
                    Ok(Idempotency::Replay(self.stored_response(&key.pk, stored)?))
                }
            };
        }
        // The record kept changing under us: another request with this key is busy with it.
        Err(in_progress())
    }

    /// Keeps the response of a claimed request for replays, or releases the key when a retry
    /// could get another answer (5xx, 409, 429) or the body is too large to keep.
    ///
    /// Failing to keep it does not undo the request: callers log the error and answer anyway.
    pub async fn finish_idempotent(&self, claim: IdempotencyClaim, response: &StoredResponse) -> Result<()> {
        let IdempotencyClaim { scope, record, lease } = claim;
        let key = keys::idempotency(&scope);
        if !is_replayable(response.status) || response.body.len() > MAX_STORED_RESPONSE_BYTES {
            let condition = Condition::AttrEquals("lease".into(), AttributeValue::S(lease));
            return match self.table.delete(&key, condition).await {
                // Taken over by a retry after the lease ran out: the record is the retry's now.
                Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
                Err(other) => Err(other.into()),
            };
        }
        let now = self.now();
        let sealed = self.settings.idempotency.sealing_key.seal(key.pk.as_bytes(), &response.body)?;
        let completed = IdempotencyRecord {
            state: IdempotencyState::Completed,
            expires_at: now.unix() + self.settings.idempotency.retention_seconds,
            lease: None,
            completed_at: Some(now),
            status: Some(response.status),
            content_type: response.content_type.clone(),
            sealed_body: Some(sealed),
            ..record
        };
        match self.table.update(codec::idempotency_update(&scope, &completed, &lease)?).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { .. }) => {
                tracing::warn!("an idempotent request outlived its lease; its response was not kept");
                Ok(())
            }
            Err(other) => Err(other.into()),
        }
    }

    fn stored_response(&self, context: &str, stored: IdempotencyRecord) -> Result<StoredResponse> {
        let (Some(status), Some(sealed)) = (stored.status, stored.sealed_body.as_deref()) else {
            return Err(Error::Unexpected(anyhow::anyhow!("a completed idempotency record has no response")));
        };
        let body =
            self.settings.idempotency.sealing_key.open(context.as_bytes(), sealed).ok_or_else(|| {
                Error::Unexpected(anyhow::anyhow!(
                    "a stored idempotent response does not open with the configured key (was it changed?)"
                ))
            })?;
        Ok(StoredResponse { status, content_type: stored.content_type, body })
    }
}

/// Whether an answer is kept for replays: everything but server errors and answers a retry of
/// the same request may change (a lost race, a rate limit).
pub fn is_replayable(status: u16) -> bool {
    !(status >= 500 || status == 409 || status == 429)
}

fn in_progress() -> Error {
    Error::IdempotencyInProgress(
        "A request with this Idempotency-Key is still in progress; retry later".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successes_and_client_errors_are_kept_but_not_answers_a_retry_may_change() {
        for kept in [200, 201, 204, 400, 401, 403, 404, 413, 422] {
            assert!(is_replayable(kept), "{kept}");
        }
        for released in [409, 429, 500, 502, 503, 504] {
            assert!(!is_replayable(released), "{released}");
        }
    }
}
