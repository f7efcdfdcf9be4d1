//! One change to a session, committed as one transaction: the session item (conditional on the
//! version that was read, so a lost race writes nothing), the items the change touches, an audit
//! entry and outbox events.

use super::Services;
use crate::codec::{self, keys};
use crate::domain::document::DocId;
use crate::domain::history::{Actor, AuditAction, AuditEntry, EventType, OutboxEvent};
use crate::domain::ids::StepId;
use crate::domain::session::{SessionRecord, SessionStatus};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::table::{AttributeValue, Condition, StoreError, Update, WriteOp};

/// Message of every lost optimistic-locking race.
pub const CONCURRENT_CHANGE: &str = "The session was changed by another request; reload and retry";

pub(crate) struct SessionChange<'a> {
    session: &'a SessionRecord,
    actor: Actor,
    at: Timestamp,
    next_status: SessionStatus,
    ops: Vec<WriteOp>,
    events: Vec<(EventType, Option<StepId>)>,
    audit: Option<(AuditAction, Option<StepId>, Vec<String>)>,
    documents: Vec<DocId>,
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

    pub(crate) fn emit(&mut self, event: EventType, step: Option<StepId>) {
        self.events.push((event, step));
    }

    pub(crate) fn audit(&mut self, action: AuditAction, step: Option<StepId>, changed_fields: Vec<String>) {
        self.audit = Some((action, step, changed_fields));
    }

    /// Names the documents the audit entry concerns.
    pub(crate) fn concerning(&mut self, documents: Vec<DocId>) {
        self.documents = documents;
    }

    pub(crate) async fn commit(self, services: &Services) -> Result<()> {
        let session = self.session;
        let mut ops = vec![WriteOp::Update(
            Update::new(keys::session(&session.session_id), Condition::VersionIs(session.version))
                .set("status", AttributeValue::S(self.next_status.as_str().into()))
                .set("version", AttributeValue::N((session.version + 1).to_string()))
                .set("updated_at", AttributeValue::S(self.at.rfc3339())),
        )];
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
        }
        for (seq, (event_type, step_id)) in self.events.into_iter().enumerate() {
            let event = OutboxEvent {
                event_id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
                event_type,
                session_id: session.session_id,
                tenant_id: session.tenant_id.clone(),
                status: self.next_status,
                step_id,
                created_at: self.at,
            };
            ops.push(put_new(codec::event_item(session.version + 1, seq, &event)?));
        }
        match services.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { .. }) => Err(Error::conflict(CONCURRENT_CHANGE)),
            Err(other) => Err(other.into()),
        }
    }
}

fn put_new(item: crate::ports::table::Item) -> WriteOp {
    WriteOp::Put { item, condition: Condition::ItemAbsent }
}
