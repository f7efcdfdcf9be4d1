//! The single-table layout: key builders and entity ↔ item mapping, shared by every adapter.
//!
//! | item            | pk                 | sk                     | gsi1pk                | gsi1sk                 |
//! |-----------------|--------------------|------------------------|-----------------------|------------------------|
//! | tenant          | `TENANT#t`         | `META`                 |                       |                        |
//! | API key         | `APIKEY#sha256`    | `META`                 | `TENANT#t#APIKEYS` (until revoked) | `created_at#key` |
//! | active-key count| `TENANT#t`         | `APIKEYS#mode`         |                       |                        |
//! | workflow version| `TENANT#t`         | `WORKFLOW#w#V#000001`  |                       |                        |
//! | workflow head   | `TENANT#t`         | `WFHEAD#w`             |                       |                        |
//! | workflow slug   | `TENANT#t`         | `WFSLUG#slug`          |                       |                        |
//! | default workflow| `TENANT#t`         | `WFDEFAULT`            |                       |                        |
//! | session         | `SESSION#s`        | `META`                 | `TENANT#t#mode#SESSIONS` | `created_at#s`      |
//! |   … on GSI2     |                    |                        | gsi2pk `TENANT#t#mode#STATUS#status` / gsi2sk `created_at#s` |
//! | open marker     | `SESSION#s`        | `OPEN`                 | `OPEN#shard`          | `expires_at#s`         |
//! | document number use | `DOCNUM#sha256(tenant, country, number)` | `SESSION#s#DOC#d` |                |                        |
//! | outbox event, until fanned out |  (as above)  |                        | `OUTBOX#shard`        | `created_at#event`     |
//! | webhook endpoint| `TENANT#t`         | `WEBHOOK#endpoint`     |                       |                        |
//! | webhook delivery| `WEBHOOK#endpoint` | `DELIVERY#event`       | `WEBHOOK_DUE#shard` (while pending) | `next_at#endpoint#event` |
//! | step progress   | `SESSION#s`        | `STEP#step_id`         |                       |                        |
//! | document        | `SESSION#s`        | `DOC#doc_id`           |                       |                        |
//! | correction      | `SESSION#s`        | `CORR#corr_id`         |                       |                        |
//! | subsession link | `SESSION#parent`   | `SUB#child_session`    |                       |                        |
//! | liveness attempt| `SESSION#s`        | `LIVENESS#provider_id` |                       |                        |
//! | audit entry     | `SESSION#s#LOG`    | `AUDIT#version#00`     |                       |                        |
//! | outbox event    | `SESSION#s#LOG`    | `EVENT#version#seq`    |                       |                        |
//! | access token    | `TOKEN#sha256`     | `TOKEN`                | (ttl = expiry)        |                        |
//! | idempotency rec.| `IDEMPOTENCY#t#sha256(method, route, key)` | `IDEMPOTENCY` | (ttl = expires_at) |     |
//! | sanctions index pointer | `SCREENING` | `INDEX`            |                       |                        |
//!
//! The open marker exists exactly while the session is `active` or `awaiting_client_correction`
//! (written and deleted in the same transaction as the status), so GSI1's `OPEN#shard` partitions
//! list the sessions that can expire, soonest first, for the sweeper; `shard` (0–7, from the
//! session id) spreads that write load over eight partitions.
//!
//! Everything a session's public view needs lives in its own partition, so one Query reads it;
//! the audit trail and outbox live in a sibling partition so that Query stays small however long
//! a session's history grows.

use crate::domain::correction::{CorrectionId, CorrectionRecord};
use crate::domain::document::{DocId, DocumentRecord};
use crate::domain::history::{AuditEntry, OutboxEvent};
use crate::domain::idempotency::{IdempotencyRecord, IdempotencyScope};
use crate::domain::ids::{SessionId, StepId, TenantId, WorkflowId};
use crate::domain::liveness::LivenessAttempt;
use crate::domain::screening::ScreeningIndexPointer;
use crate::domain::secrets::{Mode, SecretHash};
use crate::domain::session::{SessionRecord, SessionStatus, StepRecord, SubsessionRecord};
use crate::domain::tenant::{ApiKeyRecord, TenantRecord};
use crate::domain::webhooks::{
    DeliveryRecord, DeliveryStatus, EndpointRecord as WebhookEndpointRecord, WebhookEndpointId,
};
use crate::domain::workflow::{WorkflowHead, WorkflowRecord, WorkflowSlug};
use crate::ports::table::{AttributeValue, Item, Key, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK, TTL};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const META: &str = "META";

/// Key builders: the only place that knows the key layout.
pub mod keys {
    use super::*;

    pub fn tenant(tenant: &TenantId) -> Key {
        Key::new(format!("TENANT#{tenant}"), META)
    }

    pub fn api_key(hash: &SecretHash) -> Key {
        Key::new(format!("APIKEY#{}", hash.as_str()), META)
    }

    /// The count of a tenant's active keys of one mode (the record that keeps the last one).
    pub fn api_key_counter(tenant: &TenantId, mode: Mode) -> Key {
        Key::new(tenant_partition(tenant), format!("APIKEYS#{}", mode.as_str()))
    }

    /// GSI1 partition listing a tenant's unrevoked API keys (both modes) by creation time.
    pub fn tenant_api_keys_index(tenant: &TenantId) -> String {
        format!("TENANT#{tenant}#APIKEYS")
    }

    pub fn tenant_partition(tenant: &TenantId) -> String {
        format!("TENANT#{tenant}")
    }

    pub fn workflow_version(tenant: &TenantId, workflow: &WorkflowId, version: u32) -> Key {
        Key::new(tenant_partition(tenant), format!("{}{version:06}", workflow_versions_prefix(workflow)))
    }

    /// A workflow's head: name, latest version, slug, archived.
    pub fn workflow_head(tenant: &TenantId, workflow: &WorkflowId) -> Key {
        Key::new(tenant_partition(tenant), format!("{WORKFLOW_HEADS_PREFIX}{workflow}"))
    }

    /// Sort-key prefix of a tenant's workflow heads (the workflow listing).
    pub const WORKFLOW_HEADS_PREFIX: &str = "WFHEAD#";

    /// The claim of a slug by one of the tenant's workflows: its existence makes slugs unique.
    pub fn workflow_slug(tenant: &TenantId, slug: &WorkflowSlug) -> Key {
        Key::new(tenant_partition(tenant), format!("WFSLUG#{slug}"))
    }

    /// The tenant's default workflow (absent when none is set).
    pub fn default_workflow(tenant: &TenantId) -> Key {
        Key::new(tenant_partition(tenant), "WFDEFAULT")
    }

    /// Sort-key prefix of every version of one workflow; versions sort numerically.
    pub fn workflow_versions_prefix(workflow: &WorkflowId) -> String {
        format!("WORKFLOW#{workflow}#V#")
    }

    pub fn session_partition(session: &SessionId) -> String {
        format!("SESSION#{session}")
    }

    pub fn session(session: &SessionId) -> Key {
        Key::new(session_partition(session), META)
    }

    pub fn step(session: &SessionId, step: &StepId) -> Key {
        Key::new(session_partition(session), format!("STEP#{step}"))
    }

    pub fn document(session: &SessionId, doc: &DocId) -> Key {
        Key::new(session_partition(session), format!("DOC#{doc}"))
    }

    pub fn correction(session: &SessionId, correction: &CorrectionId) -> Key {
        Key::new(session_partition(session), format!("CORR#{correction}"))
    }

    pub fn liveness(session: &SessionId, liveness_session_id: &str) -> Key {
        Key::new(session_partition(session), format!("LIVENESS#{liveness_session_id}"))
    }

    pub fn subsession(parent: &SessionId, child: &SessionId) -> Key {
        Key::new(session_partition(parent), format!("SUB#{child}"))
    }

    /// Partition of a session's audit trail and outbox.
    pub fn session_log_partition(session: &SessionId) -> String {
        format!("SESSION#{session}#LOG")
    }

    pub fn token(hash: &SecretHash) -> Key {
        Key::new(format!("TOKEN#{}", hash.as_str()), "TOKEN")
    }

    /// The record of one idempotency key: its own partition, so records never contend.
    pub fn idempotency(scope: &IdempotencyScope) -> Key {
        Key::new(format!("IDEMPOTENCY#{}#{}", scope.tenant_id, scope.digest), "IDEMPOTENCY")
    }

    /// GSI1 partition listing a tenant's sessions of one mode by creation time.
    pub fn tenant_sessions_index(tenant: &TenantId, mode: Mode) -> String {
        format!("TENANT#{tenant}#{}#SESSIONS", mode.as_str())
    }

    /// GSI2 partition listing a tenant's sessions of one mode in one status by creation time.
    pub fn tenant_status_index(tenant: &TenantId, mode: Mode, status: SessionStatus) -> String {
        format!("TENANT#{tenant}#{}#STATUS#{status}", mode.as_str())
    }

    /// The marker that lists an open session in the expiry index.
    pub fn open_marker(session: &SessionId) -> Key {
        Key::new(session_partition(session), "OPEN")
    }

    /// GSI1 partition of one shard of the open sessions, by expiry.
    pub fn open_sessions_index(shard: u8) -> String {
        format!("OPEN#{shard}")
    }

    /// The marker that lists a finished session in the retention index.
    pub fn retention_marker(session: &SessionId) -> Key {
        Key::new(session_partition(session), "RETAIN")
    }

    /// GSI1 partition of one shard of the finished sessions, by the day their data is erased.
    pub fn retention_index(shard: u8) -> String {
        format!("RETAIN#{shard}")
    }

    /// The lease of a document's reading in progress (one provider call at a time per document).
    pub fn extraction_lease(session: &SessionId, doc: &DocId) -> Key {
        Key::new(session_partition(session), format!("EXTRACTING#{doc}"))
    }

    /// The counter of a session's provider readings.
    pub fn extraction_count(session: &SessionId) -> Key {
        Key::new(session_partition(session), "EXTRACTIONS")
    }

    /// The pointer to the sanctions index in service (one item per deployment).
    pub fn screening_index() -> Key {
        Key::new("SCREENING", "INDEX")
    }

    /// GSI1 partition of one shard of the events not yet fanned out to webhook endpoints.
    pub fn outbox_index(shard: u8) -> String {
        format!("OUTBOX#{shard}")
    }

    /// A tenant's webhook endpoint.
    pub fn webhook_endpoint(tenant: &TenantId, endpoint: &WebhookEndpointId) -> Key {
        Key::new(tenant_partition(tenant), format!("WEBHOOK#{endpoint}"))
    }

    /// Sort-key prefix of a tenant's webhook endpoints.
    pub const WEBHOOK_ENDPOINTS_PREFIX: &str = "WEBHOOK#";

    /// Partition of one endpoint's deliveries.
    pub fn deliveries_partition(endpoint: &WebhookEndpointId) -> String {
        format!("WEBHOOK#{endpoint}")
    }

    /// One delivery: an event for an endpoint.
    pub fn delivery(endpoint: &WebhookEndpointId, event_id: &str) -> Key {
        Key::new(deliveries_partition(endpoint), format!("DELIVERY#{event_id}"))
    }

    /// GSI1 partition of one shard of the deliveries waiting for an attempt, by due time.
    pub fn due_deliveries_index(shard: u8) -> String {
        format!("WEBHOOK_DUE#{shard}")
    }
}

/// The partition listing every use of one identity document (number and issuing country) in a
/// tenant's sessions. Hashed, so the table never holds the number in a key.
pub fn document_number_partition(tenant: &TenantId, country: &str, number: &str) -> String {
    use sha2::{Digest, Sha256};
    let clean =
        |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    let digest = Sha256::digest(format!("{tenant}|{}|{}", clean(country), clean(number)));
    format!("DOCNUM#{}", hex::encode(digest))
}

/// One use of an identity document: the session and document it was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentNumberUse {
    pub session_id: SessionId,
    pub doc_id: DocId,
}

/// The key of the item recording that `use_` read the document behind `partition`.
pub fn document_number_key(partition: &str, use_: &DocumentNumberUse) -> Key {
    Key::new(partition, format!("SESSION#{}#DOC#{}", use_.session_id, use_.doc_id))
}

/// The item recording that `use_` read the document behind `partition`.
pub fn document_number_item(partition: &str, use_: &DocumentNumberUse) -> Result<Item, CodecError> {
    encode(&document_number_key(partition, use_), use_)
}

/// How many partitions the expiry index spreads open sessions over.
pub const OPEN_SHARDS: u8 = 8;

/// The expiry-index shard of a session.
pub fn open_shard(session: &SessionId) -> u8 {
    session.as_uuid().as_bytes()[0] % OPEN_SHARDS
}

/// The expiry-index sort key: zero-padded unix seconds, so text order is time order.
pub fn expiry_sort_key(expires_at: i64, session: &SessionId) -> String {
    format!("{:012}#{session}", expires_at.max(0))
}

/// An open session in the expiry index (`OPEN` item of its partition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenMarker {
    pub session_id: SessionId,
    pub expires_at: i64,
}

/// The open marker of a session that accepts end-user input and expires at `expires_at`.
pub fn open_marker_item(session: &SessionId, expires_at: i64) -> Result<Item, CodecError> {
    let marker = OpenMarker { session_id: *session, expires_at };
    let item = encode(&keys::open_marker(session), &marker)?;
    Ok(with_index(item, keys::open_sessions_index(open_shard(session)), expiry_sort_key(expires_at, session)))
}

/// A finished session in the retention index (`RETAIN` item of its partition): it is redacted
/// once `due_at` passes. A redaction in progress is listed as due at once, so an interrupted one
/// is finished by the sweeper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionMarker {
    pub session_id: SessionId,
    pub due_at: i64,
    /// When the session first reached a final status; `None` for a requested redaction. A
    /// session whose retention comes from its tenant is listed at the shortest retention and
    /// moved to its real date when the sweeper first reads it (the tenant may change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

impl RetentionMarker {
    /// The marker of a session that reached its first final status at `finished_at` and is
    /// kept `days`.
    pub fn finished(session_id: SessionId, finished_at: i64, days: u32) -> Self {
        Self { session_id, due_at: finished_at + i64::from(days) * 86_400, finished_at: Some(finished_at) }
    }

    /// The marker of a requested redaction: due at once.
    pub fn requested(session_id: SessionId, at: i64) -> Self {
        Self { session_id, due_at: at, finished_at: None }
    }
}

/// The retention marker item.
pub fn retention_marker_item(marker: &RetentionMarker) -> Result<Item, CodecError> {
    let session = &marker.session_id;
    let item = encode(&keys::retention_marker(session), marker)?;
    Ok(with_index(item, keys::retention_index(open_shard(session)), expiry_sort_key(marker.due_at, session)))
}

/// The sanctions index pointer item; its `version` attribute is the one the next swap is
/// conditioned on.
pub fn screening_index_item(pointer: &ScreeningIndexPointer) -> Result<Item, CodecError> {
    encode(&keys::screening_index(), pointer)
}

/// The GSI2 key attributes of a session in `status`.
pub fn status_index_attributes(
    session: &SessionRecord,
    status: SessionStatus,
) -> [(&'static str, AttributeValue); 2] {
    [
        (GSI2PK, AttributeValue::S(keys::tenant_status_index(&session.tenant_id, session.mode, status))),
        (GSI2SK, AttributeValue::S(created_sort_key(session))),
    ]
}

/// Sessions sort by creation time in the tenant indexes (ties broken by id).
fn created_sort_key(session: &SessionRecord) -> String {
    format!("{}#{}", session.created_at.rfc3339(), session.session_id)
}

/// Maps a token hash to the session it opens. Carries a TTL so the store can drop it once dead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub session_id: SessionId,
    pub expires_at: i64,
}

/// Failures to map between items and entities: always a bug or corrupted data.
#[derive(Debug, thiserror::Error)]
#[error("cannot map item {key}: {source}")]
pub struct CodecError {
    key: String,
    #[source]
    source: serde_dynamo::Error,
}

impl From<CodecError> for crate::error::Error {
    fn from(error: CodecError) -> Self {
        crate::error::Error::Unexpected(error.into())
    }
}

fn encode<T: Serialize>(key: &Key, entity: &T) -> Result<Item, CodecError> {
    let mut item: Item = serde_dynamo::to_item(entity)
        .map_err(|source| CodecError { key: format!("{}/{}", key.pk, key.sk), source })?;
    item.insert(PK.into(), AttributeValue::S(key.pk.clone()));
    item.insert(SK.into(), AttributeValue::S(key.sk.clone()));
    Ok(item)
}

fn with_index(mut item: Item, pk: String, sk: String) -> Item {
    item.insert(GSI1PK.into(), AttributeValue::S(pk));
    item.insert(GSI1SK.into(), AttributeValue::S(sk));
    item
}

/// Reads an entity back from its item (key attributes are ignored).
pub fn decode<T: DeserializeOwned>(item: Item) -> Result<T, CodecError> {
    let key = match (item.get(PK), item.get(SK)) {
        (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => format!("{pk}/{sk}"),
        _ => "<no key>".into(),
    };
    serde_dynamo::from_item(item).map_err(|source| CodecError { key, source })
}

pub fn tenant_item(tenant: &TenantRecord) -> Result<Item, CodecError> {
    encode(&keys::tenant(&tenant.tenant_id), tenant)
}

pub fn api_key_item(key: &ApiKeyRecord) -> Result<Item, CodecError> {
    let item = encode(&keys::api_key(&key.secret_hash), key)?;
    Ok(with_index(
        item,
        keys::tenant_api_keys_index(&key.tenant_id),
        format!("{}#{}", key.created_at.rfc3339(), key.key_id),
    ))
}

/// The number of active keys in an active-key count item.
pub const ACTIVE_KEYS: &str = "active";

pub fn workflow_item(workflow: &WorkflowRecord) -> Result<Item, CodecError> {
    encode(&keys::workflow_version(&workflow.tenant_id, &workflow.workflow_id, workflow.version), workflow)
}

pub fn workflow_head_item(head: &WorkflowHead) -> Result<Item, CodecError> {
    encode(&keys::workflow_head(&head.tenant_id, &head.workflow_id), head)
}

/// What a slug claim or the default-workflow item points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowPointer {
    pub workflow_id: WorkflowId,
}

/// The attribute naming the workflow a pointer item points at (for conditions).
pub const POINTER_WORKFLOW_ID: &str = "workflow_id";

pub fn workflow_slug_item(
    tenant: &TenantId,
    slug: &WorkflowSlug,
    workflow: &WorkflowId,
) -> Result<Item, CodecError> {
    encode(&keys::workflow_slug(tenant, slug), &WorkflowPointer { workflow_id: workflow.clone() })
}

pub fn default_workflow_item(tenant: &TenantId, workflow: &WorkflowId) -> Result<Item, CodecError> {
    encode(&keys::default_workflow(tenant), &WorkflowPointer { workflow_id: workflow.clone() })
}

pub fn session_item(session: &SessionRecord) -> Result<Item, CodecError> {
    let item = encode(&keys::session(&session.session_id), session)?;
    let mut item = with_index(
        item,
        keys::tenant_sessions_index(&session.tenant_id, session.mode),
        created_sort_key(session),
    );
    for (name, value) in status_index_attributes(session, session.status) {
        item.insert(name.into(), value);
    }
    Ok(item)
}

pub fn token_item(hash: &SecretHash, token: &TokenRecord) -> Result<Item, CodecError> {
    let mut item = encode(&keys::token(hash), token)?;
    item.insert(TTL.into(), AttributeValue::N(token.expires_at.to_string()));
    Ok(item)
}

/// The numeric attribute an idempotency record expires by (see [`idempotency_replaceable`]).
pub const IDEMPOTENCY_EXPIRES_AT: &str = "expires_at";

/// An idempotency record, with a TTL at its expiry.
pub fn idempotency_item(scope: &IdempotencyScope, record: &IdempotencyRecord) -> Result<Item, CodecError> {
    let mut item = encode(&keys::idempotency(scope), record)?;
    item.insert(TTL.into(), AttributeValue::N(record.expires_at.to_string()));
    Ok(item)
}

/// The condition under which a new record may be written: none is stored, or the stored one
/// expired before `now` (DynamoDB deletes expired items lazily, so "expired" must count as absent).
pub fn idempotency_replaceable(now: i64) -> crate::ports::table::Condition {
    crate::ports::table::Condition::absent_or_expired(IDEMPOTENCY_EXPIRES_AT, now)
}

/// Turns the stored record into `record` in place (one UpdateItem), if the record still holds
/// `lease`: attributes `record` has are set, the optional ones it lacks removed.
pub fn idempotency_update(
    scope: &IdempotencyScope,
    record: &IdempotencyRecord,
    lease: &str,
) -> Result<crate::ports::table::Update, CodecError> {
    use crate::ports::table::{Condition, Update};
    let key = keys::idempotency(scope);
    let mut item = idempotency_item(scope, record)?;
    item.remove(PK);
    item.remove(SK);
    let condition = Condition::AttrEquals("lease".into(), AttributeValue::S(lease.to_owned()));
    let mut update = Update::new(key, condition);
    for optional in ["lease", "completed_at", "status", "content_type", "sealed_body"] {
        if !item.contains_key(optional) {
            update = update.remove(optional);
        }
    }
    let mut attributes: Vec<(String, AttributeValue)> = item.into_inner().into_iter().collect();
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in attributes {
        update = update.set(name, value);
    }
    Ok(update)
}

pub fn step_item(session: &SessionId, step: &StepRecord) -> Result<Item, CodecError> {
    encode(&keys::step(session, &step.step_id), step)
}

pub fn document_item(session: &SessionId, document: &DocumentRecord) -> Result<Item, CodecError> {
    encode(&keys::document(session, &document.doc_id), document)
}

pub fn correction_item(session: &SessionId, correction: &CorrectionRecord) -> Result<Item, CodecError> {
    encode(&keys::correction(session, &correction.id), correction)
}

pub fn liveness_item(session: &SessionId, attempt: &LivenessAttempt) -> Result<Item, CodecError> {
    encode(&keys::liveness(session, &attempt.liveness_session_id), attempt)
}

pub fn subsession_item(parent: &SessionId, sub: &SubsessionRecord) -> Result<Item, CodecError> {
    encode(&keys::subsession(parent, &sub.subsession_id), sub)
}

/// Sort key of a log entry. `version` is the session version the change wrote: every change is
/// conditional on the version before it, so the keys are unique and in commit order.
fn log_sort_key(kind: &str, version: u64, seq: usize) -> String {
    format!("{kind}#{version:010}#{seq:02}")
}

/// An audit entry of the change that wrote session `version`.
pub fn audit_item(session: &SessionId, version: u64, entry: &AuditEntry) -> Result<Item, CodecError> {
    encode(&Key::new(keys::session_log_partition(session), log_sort_key("AUDIT", version, 0)), entry)
}

/// The `seq`-th outbox event of the change that wrote session `version`, listed in the outbox
/// index until it is fanned out to webhook endpoints.
pub fn event_item(version: u64, seq: usize, event: &OutboxEvent) -> Result<Item, CodecError> {
    let item = encode(&event_key(&event.session_id, version, seq), event)?;
    Ok(with_index(
        item,
        keys::outbox_index(shard_of(&event.event_id)),
        format!("{}#{}", event.created_at.rfc3339(), event.event_id),
    ))
}

/// The key of an outbox event item.
pub fn event_key(session: &SessionId, version: u64, seq: usize) -> Key {
    Key::new(keys::session_log_partition(session), log_sort_key("EVENT", version, seq))
}

/// A lease item: held until `lease_until` (unix seconds), then free to be taken again (and
/// dropped by the store's TTL).
pub fn lease_item(key: &Key, lease_until: i64) -> Result<Item, CodecError> {
    #[derive(Serialize)]
    struct Lease {
        lease_until: i64,
    }
    let mut item = encode(key, &Lease { lease_until })?;
    item.insert(TTL.into(), AttributeValue::N((lease_until + 3600).to_string()));
    Ok(item)
}

/// How many partitions the outbox and due-delivery indexes spread their entries over.
pub const DISPATCH_SHARDS: u8 = 8;

/// The shard of an id in the dispatch indexes.
pub fn shard_of(id: &str) -> u8 {
    let sum: u32 = id.bytes().map(u32::from).sum();
    (sum % u32::from(DISPATCH_SHARDS)) as u8
}

/// A webhook endpoint (in its tenant's partition).
pub fn endpoint_item(endpoint: &WebhookEndpointRecord) -> Result<Item, CodecError> {
    encode(&keys::webhook_endpoint(&endpoint.tenant_id, &endpoint.endpoint_id), endpoint)
}

/// A webhook delivery, listed in the due index while it waits for an attempt.
pub fn delivery_item(delivery: &DeliveryRecord) -> Result<Item, CodecError> {
    let item = encode(&keys::delivery(&delivery.endpoint_id, &delivery.event_id), delivery)?;
    Ok(match (delivery.status, delivery.next_attempt_at) {
        (DeliveryStatus::Pending, Some(at)) => with_index(
            item,
            keys::due_deliveries_index(shard_of(&delivery.event_id)),
            format!("{:012}#{}#{}", at.max(0), delivery.endpoint_id, delivery.event_id),
        ),
        _ => item,
    })
}

/// The sort keys of the time-ordered indexes (expiry, retention, due deliveries: zero-padded
/// unix seconds first) that are due at `now`, as an inclusive range.
pub fn due_range(now: i64) -> (String, String) {
    (format!("{:012}", 0), format!("{:012}#~", now.max(0)))
}

/// Every item of one session partition, sorted out by kind.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionItems {
    pub session: SessionRecord,
    pub steps: Vec<StepRecord>,
    pub documents: Vec<DocumentRecord>,
    pub corrections: Vec<CorrectionRecord>,
    pub subsessions: Vec<SubsessionRecord>,
    pub liveness: Vec<LivenessAttempt>,
}

impl SessionItems {
    /// Sorts the items of a session partition by their sort-key prefix. `None` when the partition
    /// has no session item.
    pub fn from_items(items: Vec<Item>) -> Result<Option<Self>, CodecError> {
        let mut session = None;
        let (mut steps, mut documents, mut corrections, mut subsessions, mut liveness) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for item in items {
            let sk = match item.get(SK) {
                Some(AttributeValue::S(sk)) => sk.clone(),
                _ => continue,
            };
            if sk == META {
                session = Some(decode::<SessionRecord>(item)?);
            } else if sk.starts_with("STEP#") {
                steps.push(decode::<StepRecord>(item)?);
            } else if sk.starts_with("DOC#") {
                documents.push(decode::<DocumentRecord>(item)?);
            } else if sk.starts_with("CORR#") {
                corrections.push(decode::<CorrectionRecord>(item)?);
            } else if sk.starts_with("SUB#") {
                subsessions.push(decode::<SubsessionRecord>(item)?);
            } else if sk.starts_with("LIVENESS#") {
                liveness.push(decode::<LivenessAttempt>(item)?);
            }
        }
        corrections.sort_by_key(|c: &CorrectionRecord| c.created_at);
        documents.sort_by_key(|d: &DocumentRecord| d.created_at);
        subsessions.sort_by_key(|s: &SubsessionRecord| s.sequence);
        liveness.sort_by_key(|l: &LivenessAttempt| l.sequence);
        Ok(session.map(|session| Self { session, steps, documents, corrections, subsessions, liveness }))
    }

    pub fn step(&self, step: &StepId) -> Option<&StepRecord> {
        self.steps.iter().find(|s| &s.step_id == step)
    }

    /// Whether `doc_id` names a confirmed document of this session.
    pub fn has_confirmed_document(&self, doc_id: &str) -> bool {
        self.documents.iter().any(|d| d.doc_id.as_str() == doc_id && d.is_confirmed())
    }

    /// Open corrections of one step.
    pub fn open_corrections<'a>(&'a self, step: &'a StepId) -> impl Iterator<Item = &'a CorrectionRecord> {
        self.corrections.iter().filter(move |c| c.is_open() && &c.step_id == step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::secrets::{AccessToken, Mode};
    use crate::domain::session::{SessionStatus, StepStatus};
    use crate::domain::time::Timestamp;
    use crate::domain::workflow::WorkflowDefinition;

    fn session() -> SessionRecord {
        let workflow: WorkflowDefinition = serde_json::from_value(serde_json::json!({
            "name": "KYC",
            "steps": [{"step_id": "info", "name": "Info", "type": "form_fill",
                       "custom_fields": [{"field_id": "n", "name": "N", "type": "text"}]}]
        }))
        .unwrap();
        let now = Timestamp::from_unix(1_700_000_000).unwrap();
        SessionRecord {
            session_id: SessionId::mint(),
            tenant_id: TenantId::mint(),
            mode: Mode::Test,
            workflow_id: WorkflowId::mint(),
            workflow_version: 1,
            workflow: workflow.validate().unwrap(),
            status: SessionStatus::Active,
            version: 1,
            token_hash: AccessToken::mint().hash(),
            expires_at: now.unix() + 60,
            created_at: now,
            updated_at: now,
            external_reference: Some("cus_1".into()),
            metadata: Some(serde_json::json!({"plan": "gold", "seats": 3}).as_object().unwrap().clone()),
            parent: None,
            redirect_url: None,
            decision: None,
            verification: None,
            redaction: None,
        }
    }

    #[test]
    fn keys_follow_the_documented_layout() {
        let tenant = TenantId::parse("ten_abc").unwrap();
        let workflow = WorkflowId::parse("wf_x").unwrap();
        assert_eq!(keys::tenant(&tenant), Key::new("TENANT#ten_abc", "META"));
        assert_eq!(
            keys::workflow_version(&tenant, &workflow, 12),
            Key::new("TENANT#ten_abc", "WORKFLOW#wf_x#V#000012")
        );
        assert_eq!(keys::workflow_head(&tenant, &workflow), Key::new("TENANT#ten_abc", "WFHEAD#wf_x"));
        let slug = WorkflowSlug::parse("basic-kyc").unwrap();
        assert_eq!(keys::workflow_slug(&tenant, &slug), Key::new("TENANT#ten_abc", "WFSLUG#basic-kyc"));
        assert_eq!(keys::default_workflow(&tenant), Key::new("TENANT#ten_abc", "WFDEFAULT"));
        assert_eq!(keys::api_key_counter(&tenant, Mode::Live), Key::new("TENANT#ten_abc", "APIKEYS#live"));
        let session = SessionId::parse("660e8400-e29b-41d4-a716-446655440001").unwrap();
        assert_eq!(keys::session(&session), Key::new("SESSION#660e8400-e29b-41d4-a716-446655440001", "META"));
        assert_eq!(keys::step(&session, &StepId::parse("info").unwrap()).sk, "STEP#info");
    }

    #[test]
    fn a_session_round_trips_and_is_indexed_by_tenant_and_creation_time() {
        let record = session();
        let item = session_item(&record).unwrap();
        assert_eq!(
            item.get(GSI1PK),
            Some(&AttributeValue::S(format!("TENANT#{}#test#SESSIONS", record.tenant_id)))
        );
        assert_eq!(item.get("version"), Some(&AttributeValue::N("1".into())));
        let parsed = SessionItems::from_items(vec![item]).unwrap().unwrap();
        assert_eq!(parsed.session, record);
    }

    #[test]
    fn a_token_item_carries_its_ttl_and_no_raw_token() {
        let token = AccessToken::mint();
        let item = token_item(&token.hash(), &TokenRecord { session_id: SessionId::mint(), expires_at: 42 })
            .unwrap();
        assert_eq!(item.get(TTL), Some(&AttributeValue::N("42".into())));
        assert!(!serde_json::to_string(&item).unwrap().contains(&token.expose()));
    }

    #[test]
    fn an_idempotency_record_lives_in_its_own_partition_with_a_ttl_and_no_raw_key() {
        use crate::domain::idempotency::{Fingerprint, IdempotencyKey, IdempotencyState};
        let tenant = TenantId::parse("ten_abc").unwrap();
        let key = IdempotencyKey::parse("order-42-create").unwrap();
        let scope = IdempotencyScope::new(&tenant, "POST", "/v1/sessions", &key);
        assert_eq!(
            keys::idempotency(&scope),
            Key::new(format!("IDEMPOTENCY#ten_abc#{}", scope.digest), "IDEMPOTENCY")
        );
        let record = IdempotencyRecord {
            tenant_id: tenant,
            state: IdempotencyState::InProgress,
            fingerprint: Fingerprint::of("POST", "/v1/sessions", b"{}"),
            expires_at: 1_700_000_060,
            created_at: Timestamp::from_unix(1_700_000_000).unwrap(),
            lease: Some("lease-1".into()),
            completed_at: None,
            status: None,
            content_type: None,
            sealed_body: None,
        };
        let item = idempotency_item(&scope, &record).unwrap();
        assert_eq!(item.get(TTL), Some(&AttributeValue::N("1700000060".into())));
        assert_eq!(item.get(IDEMPOTENCY_EXPIRES_AT), Some(&AttributeValue::N("1700000060".into())));
        assert!(!serde_json::to_string(&item).unwrap().contains("order-42"));
        assert_eq!(decode::<IdempotencyRecord>(item.clone()).unwrap(), record);

        // Completing keeps the key, sets the new attributes and drops the lease.
        let completed = IdempotencyRecord {
            state: IdempotencyState::Completed,
            lease: None,
            status: Some(201),
            expires_at: 1_700_086_400,
            ..record.clone()
        };
        let update = idempotency_update(&scope, &completed, "lease-1").unwrap();
        assert_eq!(update.key, keys::idempotency(&scope));
        assert!(update.remove.contains(&"lease".to_string()));
        let applied = update.apply_to(Some(item)).unwrap();
        assert_eq!(decode::<IdempotencyRecord>(applied.clone()).unwrap(), completed);
        assert_eq!(applied.get(TTL), Some(&AttributeValue::N("1700086400".into())));
        assert!(idempotency_replaceable(1_700_086_401).holds_for(Some(&applied)));
        assert!(!idempotency_replaceable(1_700_086_400).holds_for(Some(&applied)));
        assert!(idempotency_replaceable(0).holds_for(None));
    }

    #[test]
    fn step_items_are_grouped_with_their_session() {
        let record = session();
        let step = StepRecord {
            step_id: StepId::parse("info").unwrap(),
            status: StepStatus::Completed,
            started_at: None,
            completed_at: Some(record.created_at),
            form_data: None,
        };
        let items = vec![step_item(&record.session_id, &step).unwrap(), session_item(&record).unwrap()];
        let parsed = SessionItems::from_items(items).unwrap().unwrap();
        assert_eq!(parsed.steps, vec![step]);
        assert!(
            parsed.documents.is_empty() && parsed.corrections.is_empty() && parsed.subsessions.is_empty()
        );
        assert!(SessionItems::from_items(vec![]).unwrap().is_none());
    }
}
