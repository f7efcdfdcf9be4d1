//! Redaction: erasing a session's personal data on request while keeping its operational record.
//!
//! It runs in four resumable phases, each idempotent, so a redaction interrupted anywhere (a
//! failed write, a timeout) is finished by asking again:
//!
//! 1. **request**: one session change closes the session (canceled if it was open), deletes its
//!    access token and records `redaction.status = in_progress`. From then on every other change
//!    of the session is refused, and public routes answer 404.
//! 2. **related parties**: each subsession is redacted the same way, before its parent.
//! 3. **objects**: every document, upload and liveness reference image is deleted from the store.
//! 4. **values**: every item of the partition is rewritten as its tombstone (form values, file
//!    names, extracted data, notes, labels replaced), with the document-number index entries; then
//!    one last session change replaces the session item's own values, marks the redaction
//!    `redacted` and emits `session.redacted`.
//!
//! Objects are deleted before the tombstone is written, so a session never says `redacted` while
//! one of its objects is still stored.

use super::changes::SessionChange;
use super::verification::document_partition;
use super::Services;
use crate::codec::{self, keys, DocumentNumberUse, RetentionMarker, SessionItems};
use crate::domain::document::DocumentStatus;
use crate::domain::history::{Actor, AuditAction, EventType};
use crate::domain::ids::ApiKeyId;
use crate::domain::redaction::{self as tombstone, Redaction, RedactionStatus, REDACTED};
use crate::domain::session::SessionEvent;
use crate::domain::tenant::TenantPrincipal;
use crate::error::Result;
use crate::ports::table::{Condition, WriteOp};
use std::future::Future;
use std::pin::Pin;

/// What one retention sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Sessions redacted (or whose interrupted redaction was finished) by this sweep.
    pub redacted: usize,
    /// Due markers with nothing to do yet: the session is gone or already redacted (the marker
    /// is removed), or its tenant's retention runs longer (the marker is moved).
    pub skipped: usize,
    /// Whether due sessions remain (the sweep stopped at its limit); the next run continues.
    pub more: bool,
}

/// What the sweeper did with one due retention marker.
enum MarkerOutcome {
    Redacted,
    /// The session's retention runs longer: the marker now says when.
    Moved,
    /// Nothing to do (the session is gone or already redacted).
    Removed,
}

/// Items rewritten per transaction (each document may add its document-number entry).
const ITEMS_PER_TRANSACTION: usize = 40;

impl Services {
    /// Redacts up to `limit` finished sessions whose retention period has passed, and finishes
    /// redactions that were interrupted. Reads only the retention index (GSI1 `RETAIN#shard`).
    pub async fn sweep_retention(&self, limit: usize) -> Result<RetentionReport> {
        let (markers, more) =
            self.due_markers::<RetentionMarker>(keys::retention_index, self.now().unix(), limit).await?;
        let mut report = RetentionReport { more, ..RetentionReport::default() };
        for marker in markers {
            match self.sweep_marker(marker).await? {
                MarkerOutcome::Redacted => report.redacted += 1,
                MarkerOutcome::Moved | MarkerOutcome::Removed => report.skipped += 1,
            }
        }
        Ok(report)
    }

    /// Redacts the session behind a due marker, moves the marker to the session's real due date
    /// (a retention from the tenant or the platform), or removes a marker with nothing to do.
    async fn sweep_marker(&self, marker: RetentionMarker) -> Result<MarkerOutcome> {
        let items = match self.load_session(&marker.session_id).await? {
            Some(items)
                if items.session.redaction.as_ref().is_none_or(|r| r.status != RedactionStatus::Redacted) =>
            {
                items
            }
            _ => {
                self.table.delete(&keys::retention_marker(&marker.session_id), Condition::Always).await?;
                return Ok(MarkerOutcome::Removed);
            }
        };
        if let Some(due_at) = self.retention_due(&items, &marker).await? {
            let moved = RetentionMarker { due_at, ..marker };
            self.table.put(codec::retention_marker_item(&moved)?, Condition::Always).await?;
            return Ok(MarkerOutcome::Moved);
        }
        let by = items.session.redaction.as_ref().and_then(|r| r.requested_by.clone());
        self.redact(items, by).await?;
        Ok(MarkerOutcome::Redacted)
    }

    /// `Some(real due date)` when a due marker is early: the session's retention comes from its
    /// tenant (or the platform) and has not passed yet.
    async fn retention_due(&self, items: &SessionItems, marker: &RetentionMarker) -> Result<Option<i64>> {
        let Some(finished_at) = marker.finished_at else { return Ok(None) };
        if items.session.redaction.is_some() || items.session.workflow.retention_days.is_some() {
            return Ok(None);
        }
        let tenant = self.tenant(&items.session.tenant_id).await?;
        let days = tenant.retention_days.unwrap_or(self.settings.retention_days);
        let due_at = RetentionMarker::finished(marker.session_id, finished_at, days).due_at;
        Ok((self.now().unix() < due_at).then_some(due_at))
    }

    /// `POST /v1/sessions/{id}/redact`: erases the session's personal data (and its related
    /// parties'), or finishes an earlier request; answers the redaction as it now stands.
    pub async fn redact_session(&self, caller: &TenantPrincipal, session_id: &str) -> Result<Redaction> {
        let items = self.tenant_session_items(caller, session_id).await?;
        self.redact(items, Some(caller.key_id.clone())).await
    }

    /// Runs (or resumes) the redaction of one session and its related parties.
    fn redact(
        &self,
        items: SessionItems,
        by: Option<ApiKeyId>,
    ) -> Pin<Box<dyn Future<Output = Result<Redaction>> + Send + '_>> {
        Box::pin(async move {
            let (items, redaction) = match items.session.redaction.clone() {
                Some(done) if done.status == RedactionStatus::Redacted => return Ok(done),
                Some(in_progress) => (items, in_progress),
                None => self.request_redaction(items, by.clone()).await?,
            };
            for subsession in &items.subsessions {
                if let Some(child) = self.load_session(&subsession.subsession_id).await? {
                    self.redact(child, by.clone()).await?;
                }
            }
            self.delete_objects(&items).await?;
            self.write_tombstones(&items).await?;
            // A writer that does not take the session's version (an extraction finishing late)
            // may have stored a value after the first pass: check, and pass again if so.
            let mut items = self.reload_session(&items).await?;
            if !is_erased(&items) {
                self.delete_objects(&items).await?;
                self.write_tombstones(&items).await?;
                items = self.reload_session(&items).await?;
            }
            let done = redaction.completed(self.now());
            let actor = actor_of(&redaction);
            let mut change = SessionChange::new(self, &items.session, actor);
            change.set_redaction(done.clone());
            change.emit(EventType::SessionRedacted, None);
            change.audit(AuditAction::SessionRedacted, None, Vec::new());
            change.commit(self).await?;
            tracing::info!(session_id = %items.session.session_id, "session redacted");
            Ok(done)
        })
    }

    /// Phase 1: closes the session, revokes its link and marks the redaction in progress.
    async fn request_redaction(
        &self,
        items: SessionItems,
        by: Option<ApiKeyId>,
    ) -> Result<(SessionItems, Redaction)> {
        let redaction = Redaction::requested(self.now(), by);
        let session = &items.session;
        let mut change = SessionChange::new(self, session, actor_of(&redaction));
        if let Ok(next) = session.status_at(self.now()).on(SessionEvent::Cancel) {
            if next != session.status {
                change.set_status(next);
                change.emit(EventType::SessionCanceled, None);
            }
        }
        change.write(WriteOp::Delete { key: keys::token(&session.token_hash), condition: Condition::Always });
        change.set_redaction(redaction.clone());
        change.audit(AuditAction::RedactionRequested, None, Vec::new());
        change.commit(self).await?;
        self.tokens.forget(&session.token_hash);
        Ok((self.reload_session(&items).await?, redaction))
    }

    /// Phase 3: every stored object of the session (deleting a missing one is not an error).
    async fn delete_objects(&self, items: &SessionItems) -> Result<()> {
        let mut keys: Vec<String> = Vec::new();
        for document in &items.documents {
            keys.push(document.object_key.clone());
            keys.extend(document.upload_key.clone());
        }
        keys.extend(items.liveness.iter().filter_map(|a| a.reference_image_key.clone()));
        for key in &keys {
            self.blobs.delete(key).await?;
        }
        Ok(())
    }

    /// Phase 4a: every item of the partition but the session item, as its tombstone.
    async fn write_tombstones(&self, items: &SessionItems) -> Result<()> {
        let session_id = &items.session.session_id;
        let mut ops = Vec::new();
        for step in &items.steps {
            let mut step = step.clone();
            tombstone::redact_step(&mut step);
            ops.push(existing(codec::step_item(session_id, &step)?));
        }
        for document in &items.documents {
            if let Some(partition) = document
                .extraction
                .as_ref()
                .and_then(|e| document_partition(&items.session, &e.extracted_data))
            {
                let use_ = DocumentNumberUse { session_id: *session_id, doc_id: document.doc_id.clone() };
                let key = codec::document_number_key(&partition, &use_);
                ops.push(WriteOp::Delete { key, condition: Condition::Always });
            }
            let mut document = document.clone();
            tombstone::redact_document(&mut document);
            if document.status == DocumentStatus::Pending {
                // Never confirmed: nothing was checked, and its object is gone.
                ops.push(WriteOp::Delete {
                    key: keys::document(session_id, &document.doc_id),
                    condition: Condition::Always,
                });
            } else {
                ops.push(existing(codec::document_item(session_id, &document)?));
            }
        }
        for correction in &items.corrections {
            let mut correction = correction.clone();
            tombstone::redact_correction(&mut correction);
            ops.push(existing(codec::correction_item(session_id, &correction)?));
        }
        for subsession in &items.subsessions {
            let mut subsession = subsession.clone();
            tombstone::redact_subsession(&mut subsession);
            ops.push(existing(codec::subsession_item(session_id, &subsession)?));
        }
        for attempt in &items.liveness {
            let mut attempt = attempt.clone();
            tombstone::redact_liveness(&mut attempt);
            ops.push(existing(codec::liveness_item(session_id, &attempt)?));
        }
        while !ops.is_empty() {
            let rest = ops.split_off(ops.len().min(ITEMS_PER_TRANSACTION));
            self.table.transact(std::mem::replace(&mut ops, rest)).await?;
        }
        Ok(())
    }
}

/// Rewrites an item that must still exist (a concurrent delete is not undone).
fn existing(item: crate::ports::table::Item) -> WriteOp {
    WriteOp::Put { item, condition: Condition::ItemExists }
}

fn actor_of(redaction: &Redaction) -> Actor {
    match &redaction.requested_by {
        Some(key_id) => Actor::Tenant { key_id: key_id.clone() },
        None => Actor::System,
    }
}

/// Whether no item of the partition holds a personal value any more.
fn is_erased(items: &SessionItems) -> bool {
    let redacted = |map: &Option<serde_json::Map<String, serde_json::Value>>| {
        map.as_ref().is_none_or(|m| m.values().all(|v| v.as_str() == Some(REDACTED)))
    };
    items.steps.iter().all(|s| redacted(&s.form_data))
        && items.documents.iter().all(|d| d.extraction.is_none() && d.file_name == REDACTED)
        && items.subsessions.iter().all(|s| s.label == REDACTED && redacted(&s.metadata))
        && items.corrections.iter().all(|c| c.message == REDACTED)
        && items.liveness.iter().all(|a| a.reference_image_key.is_none())
}
