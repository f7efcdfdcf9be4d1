//! Webhooks: tenants' endpoints, the fan-out of outbox events into one delivery per subscribed
//! endpoint, and signed delivery attempts on the retry schedule.
//!
//! Every step is a conditional write, so a crash or a lost race anywhere loses no delivery and
//! marks none delivered that was not: at worst an attempt is sent twice, with the same
//! `webhook-id`, which receivers deduplicate on.

use super::Services;
use crate::codec::{self, keys};
use crate::domain::history::OutboxEvent;
use crate::domain::secrets::Mode;
use crate::domain::tenant::TenantPrincipal;
use crate::domain::time::Timestamp;
use crate::domain::webhooks::{
    self, AddressPolicy, AttemptOutcome, AttemptRecord, DeliveryRecord, DeliveryStatus, EndpointRecord,
    StoredSecret, WebhookEndpointId, WebhookSecret, WebhookUrl, DISABLE_AFTER_FAILING_SECONDS, KEPT_ATTEMPTS,
    MAX_ATTEMPTS,
};
use crate::error::{Error, Result};
use crate::ports::delivery_queue::{DeliveryQueue, QueuedDelivery};
use crate::ports::table::{
    AttributeValue, Condition, Cursor, Key, Query, StoreError, Update, WriteOp, GSI1PK, GSI1SK,
};
use crate::ports::webhook_sender::{OutboundRequest, SendError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Most endpoints a tenant may have (one fan-out transaction holds them all).
pub const MAX_ENDPOINTS_PER_TENANT: usize = 20;
/// How long a rotated-out secret keeps signing beside the new one.
pub const SECRET_OVERLAP_SECONDS: i64 = 24 * 3600;
/// How long an attempt holds its delivery before another dispatcher may try it.
const ATTEMPT_LEASE_SECONDS: i64 = 60;
const MAX_DESCRIPTION_CHARS: usize = 500;
const RESPONSE_BODY_KEPT: usize = 1_024;

/// Delivery settings.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Multiplies every retry delay (`KYC_WEBHOOK_RETRY_SCALE`; 1 in production, 0.01 turns
    /// 5 minutes into 3 seconds for demos and tests).
    pub retry_scale: f64,
    /// Each attempt's timeout.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { retry_scale: 1.0, timeout: Duration::from_secs(15) }
    }
}

/// `POST /v1/webhook_endpoints`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2048))]
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /v1/webhook_endpoints/{id}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An endpoint as the tenant sees it; `secret` only in the answers that create one.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointView {
    pub id: WebhookEndpointId,
    pub url: String,
    pub events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub livemode: bool,
    /// Shown once, when created or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl EndpointView {
    fn of(record: &EndpointRecord, secret: Option<&WebhookSecret>) -> Self {
        Self {
            id: record.endpoint_id.clone(),
            url: record.url.as_str().to_owned(),
            events: record.events.clone(),
            description: record.description.clone(),
            status: if record.enabled { "enabled" } else { "disabled" },
            disabled_reason: record.disabled_reason.clone(),
            livemode: record.mode == Mode::Live,
            secret: secret.map(|s| s.expose().to_owned()),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// A delivery as the tenant sees it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<crate::domain::ids::SessionId>,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    pub attempts: Vec<AttemptRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    pub created_at: Timestamp,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(record: DeliveryRecord) -> Self {
        Self {
            id: record.delivery_id(),
            event_id: record.event_id,
            event_type: record.event_type,
            session_id: record.session_id,
            status: record.status,
            attempt_count: record.attempt_count,
            attempts: record.attempts,
            next_attempt_at: record.next_attempt_at,
            created_at: record.created_at,
        }
    }
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What one dispatch run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Outbox events fanned out.
    pub events: usize,
    /// Deliveries of the events it fanned out (one a racing dispatcher created included).
    pub deliveries: usize,
    /// Attempts made, and how many of them delivered.
    pub attempts: usize,
    pub delivered: usize,
}

/// What one attempt concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Failed; the next attempt is due after this many seconds.
    RetryIn(u64),
    /// Failed for good (schedule exhausted, 410, endpoint disabled or deleted).
    GaveUp,
    /// Waiting: due (or free of another dispatcher's lease) after this many seconds.
    NotDue(u64),
    /// Nothing to do (not due, already delivered, or another dispatcher holds it).
    Skipped,
}

impl Services {
    fn sealing_context(endpoint: &WebhookEndpointId) -> Vec<u8> {
        format!("webhook-secret:{endpoint}").into_bytes()
    }

    fn seal_secret(
        &self,
        endpoint: &WebhookEndpointId,
        secret: &WebhookSecret,
        at: Timestamp,
    ) -> Result<StoredSecret> {
        let sealed = self
            .settings
            .idempotency
            .sealing_key
            .seal(&Self::sealing_context(endpoint), secret.expose().as_bytes())?;
        Ok(StoredSecret { sealed, created_at: at, retires_at: None })
    }

    /// The secrets that sign now: the current one, and a rotated-out one within its overlap.
    fn signing_secrets(&self, endpoint: &EndpointRecord, now: i64) -> Result<Vec<WebhookSecret>> {
        endpoint
            .secrets
            .iter()
            .filter(|s| s.retires_at.is_none_or(|at| now < at))
            .map(|s| {
                let opened = self
                    .settings
                    .idempotency
                    .sealing_key
                    .open(&Self::sealing_context(&endpoint.endpoint_id), &s.sealed);
                opened
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .and_then(|text| WebhookSecret::parse(&text))
                    .ok_or_else(|| {
                        Error::Unexpected(anyhow::anyhow!(
                            "a webhook secret does not open with the sealing key"
                        ))
                    })
            })
            .collect()
    }

    fn address_policy(mode: Mode) -> AddressPolicy {
        match mode {
            Mode::Live => AddressPolicy::PublicOnly,
            Mode::Test => AddressPolicy::PublicAndLoopback,
        }
    }

    /// Registers an endpoint; the answer carries its signing secret, shown this once.
    pub async fn create_webhook_endpoint(
        &self,
        caller: &TenantPrincipal,
        request: CreateEndpoint,
    ) -> Result<EndpointView> {
        let url =
            WebhookUrl::parse(&request.url, Self::address_policy(caller.mode)).map_err(Error::Validation)?;
        webhooks::check_event_filter(&request.events).map_err(Error::Validation)?;
        let description = check_description(request.description)?;
        let existing = self.endpoints_of(caller).await?;
        if existing.len() >= MAX_ENDPOINTS_PER_TENANT {
            return Err(Error::validation(format!(
                "a tenant has at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints"
            )));
        }
        let now = self.now();
        let endpoint_id = WebhookEndpointId::mint();
        let secret = WebhookSecret::mint();
        let record = EndpointRecord {
            secrets: vec![self.seal_secret(&endpoint_id, &secret, now)?],
            endpoint_id,
            tenant_id: caller.tenant_id.clone(),
            mode: caller.mode,
            url,
            events: request.events,
            description,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.table.put(codec::endpoint_item(&record)?, Condition::ItemAbsent).await?;
        Ok(EndpointView::of(&record, Some(&secret)))
    }

    /// The caller's endpoints (of its key's mode).
    pub async fn list_webhook_endpoints(&self, caller: &TenantPrincipal) -> Result<Vec<EndpointView>> {
        Ok(self.endpoints_of(caller).await?.iter().map(|e| EndpointView::of(e, None)).collect())
    }

    pub async fn webhook_endpoint(&self, caller: &TenantPrincipal, id: &str) -> Result<EndpointView> {
        Ok(EndpointView::of(&self.endpoint_of(caller, id).await?, None))
    }

    /// Changes an endpoint's URL, events, description or enabled flag (re-enabling clears the
    /// failure streak).
    pub async fn update_webhook_endpoint(
        &self,
        caller: &TenantPrincipal,
        id: &str,
        request: UpdateEndpoint,
    ) -> Result<EndpointView> {
        let mut record = self.endpoint_of(caller, id).await?;
        let version = record.version;
        if let Some(url) = request.url {
            record.url =
                WebhookUrl::parse(&url, Self::address_policy(record.mode)).map_err(Error::Validation)?;
        }
        if let Some(events) = request.events {
            webhooks::check_event_filter(&events).map_err(Error::Validation)?;
            record.events = events;
        }
        if request.description.is_some() {
            record.description = check_description(request.description)?;
        }
        if let Some(enabled) = request.enabled {
            if enabled && !record.enabled {
                record.disabled_reason = None;
                record.failing_since = None;
            }
            if !enabled && record.enabled {
                record.disabled_reason = Some("disabled by the tenant".into());
            }
            record.enabled = enabled;
        }
        record.updated_at = self.now();
        record.version += 1;
        self.table.put(codec::endpoint_item(&record)?, Condition::VersionIs(version)).await?;
        Ok(EndpointView::of(&record, None))
    }

    /// Deletes an endpoint; its pending deliveries are canceled when their turn comes.
    pub async fn delete_webhook_endpoint(&self, caller: &TenantPrincipal, id: &str) -> Result<()> {
        let record = self.endpoint_of(caller, id).await?;
        self.table
            .delete(&keys::webhook_endpoint(&record.tenant_id, &record.endpoint_id), Condition::ItemExists)
            .await?;
        Ok(())
    }

    /// A new signing secret (shown once); the previous one keeps signing beside it for 24 hours.
    pub async fn rotate_webhook_secret(&self, caller: &TenantPrincipal, id: &str) -> Result<EndpointView> {
        let mut record = self.endpoint_of(caller, id).await?;
        let version = record.version;
        let now = self.now();
        let secret = WebhookSecret::mint();
        let mut kept: Vec<StoredSecret> = record
            .secrets
            .into_iter()
            .filter(|s| s.retires_at.is_none_or(|at| now.unix() < at))
            .map(|s| StoredSecret {
                retires_at: Some(s.retires_at.unwrap_or(now.unix() + SECRET_OVERLAP_SECONDS)),
                ..s
            })
            .collect();
        kept.insert(0, self.seal_secret(&record.endpoint_id, &secret, now)?);
        record.secrets = kept;
        record.updated_at = now;
        record.version += 1;
        self.table.put(codec::endpoint_item(&record)?, Condition::VersionIs(version)).await?;
        Ok(EndpointView::of(&record, Some(&secret)))
    }

    /// An endpoint's deliveries, newest first, one Query per page.
    pub async fn list_webhook_deliveries(
        &self,
        caller: &TenantPrincipal,
        id: &str,
        limit: Option<usize>,
        cursor: Option<String>,
    ) -> Result<DeliveryPage> {
        let endpoint = self.endpoint_of(caller, id).await?;
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit must be between 1 and 100"));
        }
        let query = Query::partition(keys::deliveries_partition(&endpoint.endpoint_id))
            .prefix("DELIVERY#")
            .descending()
            .limit(limit)
            .after(cursor.map(Cursor));
        let page = self.table.query(query).await.map_err(|e| match e {
            StoreError::Invalid(_) => Error::validation("cursor is not valid for this listing"),
            other => other.into(),
        })?;
        let deliveries = page
            .items
            .into_iter()
            .map(|item| codec::decode::<DeliveryRecord>(item).map(DeliveryView::from))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DeliveryPage { deliveries, next_cursor: page.next.map(|c| c.0) })
    }

    /// Sends a delivery again now, with the same `webhook-id` (a replay). Its scheduled attempts
    /// are not reset: a manual attempt does not count among them.
    pub async fn retry_webhook_delivery(
        &self,
        caller: &TenantPrincipal,
        delivery_id: &str,
    ) -> Result<DeliveryView> {
        let not_found = || Error::not_found("Delivery not found");
        let (endpoint_id, event_id) = webhooks::parse_delivery_id(delivery_id).ok_or_else(not_found)?;
        let endpoint = self.endpoint_of(caller, endpoint_id.as_str()).await?;
        if !endpoint.enabled {
            return Err(Error::forbidden("The endpoint is disabled; enable it before retrying"));
        }
        let item = self.table.get(&keys::delivery(&endpoint_id, &event_id)).await?.ok_or_else(not_found)?;
        let mut record: DeliveryRecord = codec::decode(item)?;
        let version = record.version;
        record.status = DeliveryStatus::Pending;
        record.next_attempt_at = Some(self.now().unix());
        record.updated_at = self.now();
        record.version += 1;
        record.manual_retry = true;
        self.table.put(codec::delivery_item(&record)?, Condition::VersionIs(version)).await?;
        Ok(record.into())
    }

    /// Queues a `webhook.test` event for one endpoint.
    pub async fn send_test_webhook(&self, caller: &TenantPrincipal, id: &str) -> Result<DeliveryView> {
        let endpoint = self.endpoint_of(caller, id).await?;
        let now = self.now();
        // Asked for by the tenant: a manual attempt, sent at once (on AWS the stream queues it).
        let record = DeliveryRecord {
            manual_retry: true,
            ..DeliveryRecord::new(
                &endpoint,
                OutboxEvent::mint_id(self.now_millis()),
                webhooks::TEST_EVENT.into(),
                None,
                webhooks::test_payload(&endpoint, now),
                now,
            )
        };
        self.table.put(codec::delivery_item(&record)?, Condition::ItemAbsent).await?;
        Ok(record.into())
    }

    async fn endpoints_of(&self, caller: &TenantPrincipal) -> Result<Vec<EndpointRecord>> {
        Ok(self
            .tenant_endpoints(&caller.tenant_id)
            .await?
            .into_iter()
            .filter(|e| e.mode == caller.mode)
            .collect())
    }

    async fn tenant_endpoints(&self, tenant: &crate::domain::ids::TenantId) -> Result<Vec<EndpointRecord>> {
        let query = Query::partition(keys::tenant_partition(tenant)).prefix(keys::WEBHOOK_ENDPOINTS_PREFIX);
        let page = self.table.query(query).await?;
        Ok(page.items.into_iter().map(codec::decode).collect::<Result<Vec<_>, _>>()?)
    }

    /// One of the caller's endpoints; another tenant's (or another mode's) is "not found".
    async fn endpoint_of(&self, caller: &TenantPrincipal, id: &str) -> Result<EndpointRecord> {
        let not_found = || Error::not_found("Webhook endpoint not found");
        let id = WebhookEndpointId::parse(id).ok_or_else(not_found)?;
        let item =
            self.table.get(&keys::webhook_endpoint(&caller.tenant_id, &id)).await?.ok_or_else(not_found)?;
        let record: EndpointRecord = codec::decode(item)?;
        if record.mode != caller.mode {
            return Err(not_found());
        }
        Ok(record)
    }

    /// Fans out pending outbox events, then makes the attempts that are due: the dev server's
    /// in-process dispatcher (on AWS the table stream and a queue drive the same two steps).
    pub async fn dispatch_webhooks(&self, limit: usize) -> Result<DispatchReport> {
        let mut report = DispatchReport::default();
        for shard in 0..codec::DISPATCH_SHARDS {
            let page = self.table.query(Query::gsi1(keys::outbox_index(shard)).limit(limit)).await?;
            for item in page.items {
                let key = Key::of(&item)?;
                let event: OutboxEvent = codec::decode(item)?;
                report.events += 1;
                report.deliveries += self.fan_out(&key, &event).await?.len();
            }
        }
        let (low, high) = codec::due_range(self.now().unix());
        for shard in 0..codec::DISPATCH_SHARDS {
            let due = Query::gsi1(keys::due_deliveries_index(shard))
                .between(low.clone(), high.clone())
                .limit(limit);
            for item in self.table.query(due).await?.items {
                let record: DeliveryRecord = codec::decode(item)?;
                match self.attempt_delivery(&record.endpoint_id, &record.event_id).await? {
                    AttemptResult::Skipped | AttemptResult::NotDue(_) => {}
                    AttemptResult::Delivered => {
                        report.attempts += 1;
                        report.delivered += 1;
                    }
                    _ => report.attempts += 1,
                }
            }
        }
        Ok(report)
    }

    /// The safety net of queue-driven delivery (on AWS, run by the sweeper): events still in the
    /// outbox `older_than` seconds after they were written (their stream record was lost) are
    /// fanned out, and deliveries overdue by as long (their queue message was lost) are queued
    /// again. Returns how many deliveries were queued.
    pub async fn requeue_stragglers(
        &self,
        queue: &dyn DeliveryQueue,
        older_than: i64,
        limit: usize,
    ) -> Result<usize> {
        let cutoff = self.now().unix() - older_than;
        let mut queued = 0;
        let before = Timestamp::from_unix(cutoff).map(|t| t.rfc3339()).unwrap_or_default();
        for shard in 0..codec::DISPATCH_SHARDS {
            let stale = Query::gsi1(keys::outbox_index(shard)).between("0", before.clone()).limit(limit);
            for item in self.table.query(stale).await?.items {
                let key = Key::of(&item)?;
                let event: OutboxEvent = codec::decode(item)?;
                let deliveries = self.fan_out(&key, &event).await?;
                queue.enqueue(&deliveries).await?;
                queued += deliveries.len();
            }
        }
        let (low, high) = codec::due_range(cutoff);
        for shard in 0..codec::DISPATCH_SHARDS {
            let overdue = Query::gsi1(keys::due_deliveries_index(shard))
                .between(low.clone(), high.clone())
                .limit(limit);
            let deliveries = self
                .table
                .query(overdue)
                .await?
                .items
                .into_iter()
                .map(|item| {
                    codec::decode::<DeliveryRecord>(item)
                        .map(|d| QueuedDelivery { endpoint_id: d.endpoint_id, event_id: d.event_id })
                })
                .collect::<Result<Vec<_>, _>>()?;
            queue.enqueue(&deliveries).await?;
            queued += deliveries.len();
        }
        Ok(queued)
    }

    /// Creates one delivery per enabled endpoint of the event's tenant and mode that subscribes
    /// to it, and takes the event out of the outbox index, in one transaction. Running it twice
    /// for one event creates nothing the second time. Returns the event's deliveries (created now
    /// or by the earlier run), for a queue: enqueuing one twice is harmless, losing one is not.
    pub async fn fan_out(&self, event_key: &Key, event: &OutboxEvent) -> Result<Vec<QueuedDelivery>> {
        let mode = if event.livemode { Mode::Live } else { Mode::Test };
        let type_name = event.type_name();
        let endpoints = self.tenant_endpoints(&event.tenant_id).await?;
        let now = self.now();
        let payload = webhooks::payload(event);
        let mut ops = vec![WriteOp::Update(
            Update::new(
                event_key.clone(),
                Condition::AttrEquals(
                    GSI1PK.into(),
                    AttributeValue::S(keys::outbox_index(codec::shard_of(&event.event_id))),
                ),
            )
            .remove(GSI1PK)
            .remove(GSI1SK),
        )];
        for endpoint in
            endpoints.iter().filter(|e| e.enabled && e.mode == mode && e.subscribes_to(&type_name))
        {
            let record = DeliveryRecord::new(
                endpoint,
                event.event_id.clone(),
                type_name.clone(),
                Some(event.session_id),
                payload.clone(),
                now,
            );
            ops.push(WriteOp::Put { item: codec::delivery_item(&record)?, condition: Condition::ItemAbsent });
        }
        let deliveries: Vec<QueuedDelivery> = endpoints
            .iter()
            .filter(|e| e.enabled && e.mode == mode && e.subscribes_to(&type_name))
            .map(|e| QueuedDelivery { endpoint_id: e.endpoint_id.clone(), event_id: event.event_id.clone() })
            .collect();
        match self.table.transact(ops).await {
            // Or fanned out already (by a racing dispatcher, or an earlier run that crashed after it).
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(deliveries),
            Err(other) => Err(other.into()),
        }
    }

    /// Makes one attempt of a due delivery: claims it (so a racing dispatcher does not send it
    /// too), sends it signed, and records the outcome with the next due time.
    pub async fn attempt_delivery(
        &self,
        endpoint_id: &WebhookEndpointId,
        event_id: &str,
    ) -> Result<AttemptResult> {
        let Some(item) = self.table.get(&keys::delivery(endpoint_id, event_id)).await? else {
            return Ok(AttemptResult::Skipped);
        };
        let mut record: DeliveryRecord = codec::decode(item)?;
        let now = self.now();
        match (record.status, record.next_attempt_at) {
            (DeliveryStatus::Pending, Some(at)) if at > now.unix() => {
                return Ok(AttemptResult::NotDue((at - now.unix()) as u64))
            }
            (DeliveryStatus::Pending, Some(_)) => {}
            _ => return Ok(AttemptResult::Skipped),
        }
        let manual = record.manual_retry;
        // Claim: a lease keeps other dispatchers away while this one sends; if it crashes, the
        // delivery falls due again when the lease ends (as a scheduled attempt).
        let claimed_version = record.version + 1;
        let mut claim = record.clone();
        claim.version = claimed_version;
        claim.next_attempt_at = Some(now.unix() + ATTEMPT_LEASE_SECONDS);
        claim.manual_retry = false;
        match self.table.put(codec::delivery_item(&claim)?, Condition::VersionIs(record.version)).await {
            Ok(()) => record = claim,
            Err(StoreError::ConditionFailed { .. }) => return Ok(AttemptResult::Skipped),
            Err(other) => return Err(other.into()),
        }

        let endpoint_key = keys::webhook_endpoint(&record.tenant_id, &record.endpoint_id);
        let endpoint = match self.table.get(&endpoint_key).await? {
            Some(item) => Some(codec::decode::<EndpointRecord>(item)?),
            None => None,
        };
        let Some(endpoint) = endpoint.filter(|e| e.enabled) else {
            record.status = DeliveryStatus::Canceled;
            record.next_attempt_at = None;
            return self.record_attempt(record, claimed_version, AttemptResult::GaveUp).await;
        };

        let secrets = self.signing_secrets(&endpoint, now.unix())?;
        let timestamp = now.unix();
        let body = record.payload.clone().into_bytes();
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), "kyc-webhooks/1".to_owned()),
            ("webhook-id".to_owned(), record.event_id.clone()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            (
                "webhook-signature".to_owned(),
                webhooks::signature_header(&secrets, &record.event_id, timestamp, &body),
            ),
        ];
        let sender = self
            .webhook_sender
            .as_ref()
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("this process has no webhook sender")))?;
        let started = std::time::Instant::now();
        let sent = sender
            .send(OutboundRequest {
                url: endpoint.url.as_str().to_owned(),
                headers,
                body,
                timeout: self.settings.webhooks.timeout,
                policy: Self::address_policy(endpoint.mode),
            })
            .await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

        let (outcome, attempt, retry_after) = match sent {
            Ok(response) => (
                AttemptOutcome::of_status(response.status),
                AttemptRecord {
                    at: now,
                    status_code: Some(response.status),
                    duration_ms,
                    error: None,
                    response_body: Some(
                        String::from_utf8_lossy(
                            &response.body_prefix[..response.body_prefix.len().min(RESPONSE_BODY_KEPT)],
                        )
                        .into_owned(),
                    ),
                    manual,
                },
                response.retry_after,
            ),
            Err(error) => {
                let message = match &error {
                    SendError::Timeout => "timed out".to_owned(),
                    other => other.to_string(),
                };
                (
                    AttemptOutcome::Failed,
                    AttemptRecord {
                        at: now,
                        status_code: None,
                        duration_ms,
                        error: Some(message),
                        response_body: None,
                        manual,
                    },
                    None,
                )
            }
        };
        record.attempts.push(attempt);
        if record.attempts.len() > KEPT_ATTEMPTS {
            record.attempts.remove(0);
        }
        if !manual {
            record.attempt_count += 1;
        }
        let result = match outcome {
            AttemptOutcome::Delivered => {
                record.status = DeliveryStatus::Delivered;
                record.next_attempt_at = None;
                AttemptResult::Delivered
            }
            AttemptOutcome::Gone => {
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at = None;
                AttemptResult::GaveUp
            }
            AttemptOutcome::Failed => match self.next_delay(record.attempt_count, retry_after) {
                Some(delay) if record.attempt_count < MAX_ATTEMPTS => {
                    record.next_attempt_at = Some(now.unix() + delay as i64);
                    AttemptResult::RetryIn(delay)
                }
                _ => {
                    record.status = DeliveryStatus::Failed;
                    record.next_attempt_at = None;
                    AttemptResult::GaveUp
                }
            },
        };
        crate::metrics::count(
            "WebhookAttempts",
            "outcome",
            match outcome {
                AttemptOutcome::Delivered => "delivered",
                AttemptOutcome::Gone => "gone",
                AttemptOutcome::Failed => "failed",
            },
        );
        let recorded = self.record_attempt(record, claimed_version, result).await?;
        self.track_endpoint_health(&endpoint, outcome, now).await?;
        Ok(recorded)
    }

    /// The next retry delay, scaled by the configured factor (never below a second).
    fn next_delay(&self, attempt_count: u32, retry_after: Option<u64>) -> Option<u64> {
        let mut jitter = [0u8; 1];
        getrandom::fill(&mut jitter).ok()?;
        let delay = webhooks::retry_delay(attempt_count, f64::from(jitter[0]) / 255.0, retry_after)?;
        Some(((delay as f64 * self.settings.webhooks.retry_scale).round() as u64).max(1))
    }

    async fn record_attempt(
        &self,
        record: DeliveryRecord,
        claimed: u64,
        result: AttemptResult,
    ) -> Result<AttemptResult> {
        let mut next = record;
        next.updated_at = self.now();
        next.version = claimed + 1;
        match self.table.put(codec::delivery_item(&next)?, Condition::VersionIs(claimed)).await {
            Ok(()) => Ok(result),
            // Another dispatcher took over after our lease ended; its record stands.
            Err(StoreError::ConditionFailed { .. }) => Ok(AttemptResult::Skipped),
            Err(other) => Err(other.into()),
        }
    }

    /// Success clears an endpoint's failure streak; 410 or five days of failures disable it.
    async fn track_endpoint_health(
        &self,
        endpoint: &EndpointRecord,
        outcome: AttemptOutcome,
        now: Timestamp,
    ) -> Result<()> {
        let key = keys::webhook_endpoint(&endpoint.tenant_id, &endpoint.endpoint_id);
        const GONE: &str = "the receiver answered 410 Gone";
        const FAILING: &str = "every delivery failed for five days";
        let update = match outcome {
            AttemptOutcome::Delivered if endpoint.failing_since.is_some() => {
                Some((Update::new(key, Condition::ItemExists).remove("failing_since"), None))
            }
            AttemptOutcome::Delivered => None,
            AttemptOutcome::Gone => Some((disable(key, GONE), Some(GONE))),
            AttemptOutcome::Failed => match endpoint.failing_since {
                None => Some((
                    Update::new(key, Condition::ItemExists)
                        .set("failing_since", AttributeValue::S(now.rfc3339())),
                    None,
                )),
                Some(since) if now.unix() - since.unix() >= DISABLE_AFTER_FAILING_SECONDS => {
                    Some((disable(key, FAILING), Some(FAILING)))
                }
                Some(_) => None,
            },
        };
        let Some((update, disabled)) = update else { return Ok(()) };
        match self.table.update(update).await {
            Ok(()) => {}
            // Deleted meanwhile: nothing to track.
            Err(StoreError::ConditionFailed { .. }) => return Ok(()),
            Err(other) => return Err(other.into()),
        }
        if let Some(reason) = disabled {
            tracing::warn!(endpoint_id = %endpoint.endpoint_id, reason, "webhook endpoint disabled");
            self.announce_disabled(endpoint, reason, now).await?;
        }
        Ok(())
    }

    /// Tells the tenant's other endpoints (of the same mode, subscribed to it) that one was
    /// disabled: a `webhook_endpoint.disabled` delivery each, sent at once.
    async fn announce_disabled(&self, disabled: &EndpointRecord, reason: &str, now: Timestamp) -> Result<()> {
        let event_id = OutboxEvent::mint_id(self.now_millis());
        let payload = webhooks::endpoint_disabled_payload(disabled, reason, now);
        let others = self.tenant_endpoints(&disabled.tenant_id).await?;
        let listeners = others.iter().filter(|e| {
            e.endpoint_id != disabled.endpoint_id
                && e.enabled
                && e.mode == disabled.mode
                && e.subscribes_to(webhooks::ENDPOINT_DISABLED_EVENT)
        });
        for endpoint in listeners {
            let record = DeliveryRecord {
                manual_retry: true,
                ..DeliveryRecord::new(
                    endpoint,
                    event_id.clone(),
                    webhooks::ENDPOINT_DISABLED_EVENT.into(),
                    None,
                    payload.clone(),
                    now,
                )
            };
            self.table.put(codec::delivery_item(&record)?, Condition::ItemAbsent).await?;
        }
        Ok(())
    }
}

fn disable(key: Key, reason: &str) -> Update {
    Update::new(key, Condition::ItemExists)
        .set("enabled", AttributeValue::Bool(false))
        .set("disabled_reason", AttributeValue::S(reason.into()))
}

fn check_description(description: Option<String>) -> Result<Option<String>> {
    let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(Error::validation(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(description)
}
