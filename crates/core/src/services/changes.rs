//! One change to a session, committed as one transaction: the session item (conditional on the
//! version that was read, so a lost race writes nothing), its index entries (status index, open
//! marker), the items the change touches, an audit entry and outbox events.

use super::Services;
use crate::codec::RetentionMarker;
use crate::codec::{self, keys};
use crate::domain::checks::VerificationReport;
use crate::domain::decision::{Decision, Resolution};
use crate::domain::document::DocId;
use crate::domain::history::{Actor, AuditAction, AuditEntry, EventType, OutboxEvent};
use crate::domain::ids::StepId;
use crate::domain::redaction::{redact_session, Redaction, RedactionStatus};
use crate::domain::session::{SessionRecord, SessionStatus};
use crate::domain::time::Timestamp;
use crate::domain::workflow::RETENTION_DAYS;
use crate::error::{Error, Result};
use crate::ports::table::{AttributeValue, Condition, StoreError, Update, WriteOp};

/// Why a redacted session (or one being redacted) refuses every other change.
pub const REDACTED_SESSION: &str = "The session's personal data was erased; it can no longer change";

/// Message of every lost optimistic-locking race.
pub const CONCURRENT_CHANGE: &str = "The session was changed by another request; reload and retry";

pub(crate) struct SessionChange<'a> {
    session: &'a SessionRecord,
    actor: Actor,
    at: Timestamp,
    next_status: SessionStatus,
    ops: Vec<WriteOp>,
    events: Vec<(EventType, Option<StepId>, Option<Resolution>)>,
    audit: Option<(AuditAction, Option<StepId>, Vec<String>)>,
    documents: Vec<DocId>,
    /// `Some(new)` replaces the stored decision (`Some(None)` removes it).
    decision: Option<Option<Decision>>,
    /// `Some(new)` replaces the stored verification report (`Some(None)` removes it).
    verification: Option<Option<VerificationReport>>,
    /// The session's redaction, when this change requests or finishes it.
    redaction: Option<Redaction>,
}

impl<'a> SessionChange<'a> {
    pub(crate) fn new(services: &Services, session: &'a SessionRecord, actor: Actor) -> Self {
        Self {
            session,
            actor,
            at: services.now(),
            next_status: session.status,
            ops: Vec::new(),
            events: Vec::new(),
            audit: None,
            documents: Vec::new(),
            decision: None,
            verification: None,
            redaction: None,
        }
    }

    pub(crate) fn at(&self) -> Timestamp {
        self.at
    }

    pub(crate) fn set_status(&mut self, status: SessionStatus) {
        self.next_status = status;
    }

    pub(crate) fn next_status(&self) -> SessionStatus {
        self.next_status
    }

    pub(crate) fn write(&mut self, op: WriteOp) {
        self.ops.push(op);
    }

    /// How many writes the change holds besides the session item and its log entries.
    pub(crate) fn write_count(&self) -> usize {
        self.ops.len()
    }

    pub(crate) fn emit(&mut self, event: EventType, step: Option<StepId>) {
        self.events.push((event, step, None));
    }

    /// Records a decision on the session and announces it.
    pub(crate) fn decide(&mut self, decision: Decision) {
        self.events.push((EventType::decided(decision.outcome), None, Some(decision.resolution)));
        self.decision = Some(Some(decision));
    }

    /// Removes the session's (automatic) decision: the evidence it rested on is being redone.
    pub(crate) fn clear_decision(&mut self) {
        self.decision = Some(None);
    }

    /// Stores a new verification report (its risk score goes on the change's events).
    pub(crate) fn set_verification(&mut self, report: VerificationReport) {
        self.verification = Some(Some(report));
    }

    /// Removes the verification report: its inputs are being redone.
    pub(crate) fn clear_verification(&mut self) {
        self.verification = Some(None);
    }

    /// Records the session's redaction; once it is [`RedactionStatus::Redacted`], the commit also
    /// replaces the session item's personal values (metadata, notes, check evidence).
    pub(crate) fn set_redaction(&mut self, redaction: Redaction) {
        self.redaction = Some(redaction);
    }

    pub(crate) fn audit(&mut self, action: AuditAction, step: Option<StepId>, changed_fields: Vec<String>) {
        self.audit = Some((action, step, changed_fields));
    }

    /// Names the documents the audit entry concerns.
    pub(crate) fn concerning(&mut self, documents: Vec<DocId>) {
        self.documents = documents;
    }

    /// Commits the change; returns the audit entry it wrote, if any.
    pub(crate) async fn commit(self, services: &Services) -> Result<Option<AuditEntry>> {
        let session = self.session;
        if session.redaction.is_some() && self.redaction.is_none() {
            return Err(Error::conflict(REDACTED_SESSION));
        }
        let mut update =
            Update::new(keys::session(&session.session_id), Condition::VersionIs(session.version))
                .set("status", AttributeValue::S(self.next_status.as_str().into()))
                .set("version", AttributeValue::N((session.version + 1).to_string()))
                .set("updated_at", AttributeValue::S(self.at.rfc3339()));
        match self.decision {
            None => {}
            Some(Some(decision)) => update = update.set("decision", encode_value(&decision)?),
            Some(None) => update = update.remove("decision"),
        }
        let risk_score = match &self.verification {
            None => session.verification.as_ref().map(|r| r.risk_score),
            Some(report) => report.as_ref().map(|r| r.risk_score),
        };
        match self.verification {
            None => {}
            Some(Some(report)) => update = update.set("verification", encode_value(&report)?),
            Some(None) => update = update.remove("verification"),
        }
        if let Some(redaction) = &self.redaction {
            if redaction.status == RedactionStatus::Redacted {
                let mut tombstone = session.clone();
                redact_session(&mut tombstone);
                if let Some(metadata) = tombstone.metadata {
                    update = update.set("metadata", encode_value(&metadata)?);
                }
                if let Some(decision) = tombstone.decision {
                    update = update.set("decision", encode_value(&decision)?);
                }
                if let Some(report) = tombstone.verification {
                    update = update.set("verification", encode_value(&report)?);
                }
            }
            update = update.set("redaction", encode_value(redaction)?);
        }
        let mut ops = Vec::with_capacity(self.ops.len() + 4);
        if self.next_status != session.status {
            for (name, value) in codec::status_index_attributes(session, self.next_status) {
                update = update.set(name, value);
            }
            ops.extend(open_marker_change(session, session.status, self.next_status)?);
        }
        ops.extend(retention_marker_change(session, self.next_status, self.redaction.as_ref(), self.at)?);
        ops.insert(0, WriteOp::Update(update));
        ops.extend(self.ops);
        if let Some(parent) = &session.parent {
            // The parent's record of this subsession follows every change, in the same transaction;
            // if the parent deleted it meanwhile, the change fails instead of resurrecting it.
            let mut mirror =
                Update::new(keys::subsession(&parent.session_id, &session.session_id), Condition::ItemExists)
                    .set("status", AttributeValue::S(self.next_status.as_str().into()));
            if self.next_status.is_finished_by_end_user() && !session.status.is_finished_by_end_user() {
                mirror = mirror.set("completed_at", AttributeValue::S(self.at.rfc3339()));
            }
            ops.push(WriteOp::Update(mirror));
        }
        let mut written = None;
        if let Some((action, step_id, changed_fields)) = self.audit {
            let entry = AuditEntry {
                at: self.at,
                actor: self.actor,
                action,
                step_id,
                from_status: session.status,
                to_status: self.next_status,
                changed_fields,
                documents: self.documents,
            };
            ops.push(put_new(codec::audit_item(&session.session_id, session.version + 1, &entry)?));
            written = Some(entry);
        }
        for (seq, (event_type, step_id, resolution)) in self.events.into_iter().enumerate() {
            let event = OutboxEvent {
                event_id: OutboxEvent::mint_id(services.now_millis()),
                event_type,
                session_id: session.session_id,
                tenant_id: session.tenant_id.clone(),
                status: self.next_status,
                step_id,
                resolution,
                risk_score,
                livemode: session.mode == crate::domain::secrets::Mode::Live,
                external_reference: session.external_reference.clone(),
                created_at: self.at,
            };
            ops.push(put_new(codec::event_item(session.version + 1, seq, &event)?));
        }
        match services.table.transact(ops).await {
            Ok(()) => Ok(written),
            Err(StoreError::ConditionFailed { .. }) => Err(Error::conflict(CONCURRENT_CHANGE)),
            Err(other) => Err(other.into()),
        }
    }
}

fn encode_value<T: serde::Serialize>(value: &T) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| Error::Unexpected(anyhow::Error::new(e).context("encoding a session attribute")))
}

fn put_new(item: crate::ports::table::Item) -> WriteOp {
    WriteOp::Put { item, condition: Condition::ItemAbsent }
}

/// Lists a session in the retention index when it first reaches a final status (due after its
/// retention period), lists a requested redaction as due at once (so an interrupted one is
/// finished by the sweeper), and removes the entry once the session is redacted.
fn retention_marker_change(
    session: &SessionRecord,
    to: SessionStatus,
    redaction: Option<&Redaction>,
    at: Timestamp,
) -> Result<Option<WriteOp>> {
    let put = |marker: RetentionMarker| -> Result<Option<WriteOp>> {
        Ok(Some(WriteOp::Put { item: codec::retention_marker_item(&marker)?, condition: Condition::Always }))
    };
    match redaction.map(|r| r.status) {
        Some(RedactionStatus::Redacted) => Ok(Some(WriteOp::Delete {
            key: keys::retention_marker(&session.session_id),
            condition: Condition::Always,
        })),
        Some(RedactionStatus::InProgress) => put(RetentionMarker::requested(session.session_id, at.unix())),
        None if to.is_final() && !session.status.is_final() => {
            // Without a workflow retention the tenant's (read by the sweeper) or the platform's
            // applies, never shorter than the shortest allowed.
            let days = session.workflow.retention_days.unwrap_or(*RETENTION_DAYS.start());
            put(RetentionMarker::finished(session.session_id, at.unix(), days))
        }
        None => Ok(None),
    }
}

/// Keeps the open marker (the expiry index entry) in step with a status change: it exists
/// exactly while the session accepts end-user input.
pub(crate) fn open_marker_change(
    session: &SessionRecord,
    from: SessionStatus,
    to: SessionStatus,
) -> Result<Option<WriteOp>> {
    let key = keys::open_marker(&session.session_id);
    Ok(match (from.accepts_end_user_input(), to.accepts_end_user_input()) {
        (false, true) => Some(WriteOp::Put {
            item: codec::open_marker_item(&session.session_id, session.expires_at)?,
            condition: Condition::Always,
        }),
        (true, false) => Some(WriteOp::Delete { key, condition: Condition::Always }),
        _ => None,
    })
}
