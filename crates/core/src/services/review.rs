//! What a tenant's reviewer does to a session: request corrections, cancel.

use super::changes::SessionChange;
use super::Services;
use crate::codec::{self, SessionItems};
use crate::domain::correction::{CorrectionId, CorrectionRecord, CorrectionStatus};
use crate::domain::history::{Actor, AuditAction, EventType};
use crate::domain::ids::{DocumentType, FieldId, StepId};
use crate::domain::session::{SessionEvent, SessionStatus, StepRecord, StepStatus};
use crate::domain::tenant::TenantPrincipal;
use crate::error::{Error, Result};
use crate::ports::table::{Condition, WriteOp};
use serde::Deserialize;

/// Most corrections one request may ask for.
pub const MAX_CORRECTIONS_PER_REQUEST: usize = 20;
const MAX_MESSAGE_CHARS: usize = 1_000;
const MAX_NOTE_CHARS: usize = 2_000;

/// `POST /v1/sessions/{id}/corrections`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestCorrections {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 20))]
    pub items: Vec<CorrectionItem>,
}

/// One thing to fix.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CorrectionItem {
    pub step_id: StepId,
    #[serde(default)]
    pub field_ids: Vec<FieldId>,
    #[serde(default)]
    pub document_types: Vec<DocumentType>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub message: String,
    #[serde(default)]
    pub internal_note: Option<String>,
}

impl Services {
    /// Sends a finished session back to the end user with things to fix.
    pub async fn request_corrections(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
        request: RequestCorrections,
    ) -> Result<Vec<CorrectionRecord>> {
        let items = self.tenant_session_items(caller, session_id).await?;
        let session = &items.session;
        if request.items.is_empty() || request.items.len() > MAX_CORRECTIONS_PER_REQUEST {
            return Err(Error::validation(format!(
                "items must list 1 to {MAX_CORRECTIONS_PER_REQUEST} corrections"
            )));
        }
        for (index, item) in request.items.iter().enumerate() {
            check_item(&items, item).map_err(|m| Error::validation(format!("items[{index}]: {m}")))?;
        }
        let status = session.status_at(self.now());
        let next = status.on(SessionEvent::CorrectionsRequested).map_err(|_| {
            Error::conflict(format!(
                "Corrections can only be requested while the session is in manual_review or completed; it is {status}"
            ))
        })?;
        let mut change = SessionChange::new(self, session, Actor::Tenant { key_id: caller.key_id.clone() });
        change.set_status(next);
        let mut created = Vec::with_capacity(request.items.len());
        let mut flagged: Vec<StepId> = Vec::new();
        for item in request.items {
            let superseded_documents = items
                .documents
                .iter()
                .filter(|d| {
                    d.is_confirmed()
                        && d.step_id == item.step_id
                        && item.document_types.contains(&d.document_type)
                })
                .map(|d| d.doc_id.clone())
                .collect();
            let record = CorrectionRecord {
                id: CorrectionId::mint(),
                step_id: item.step_id,
                field_ids: item.field_ids,
                document_types: item.document_types,
                message: item.message.trim().to_owned(),
                status: CorrectionStatus::Open,
                created_at: change.at(),
                resolved_at: None,
                requested_by: caller.key_id.clone(),
                internal_note: item.internal_note.filter(|n| !n.trim().is_empty()),
                superseded_documents,
            };
            let item = codec::correction_item(&session.session_id, &record)?;
            change.write(WriteOp::Put { item, condition: Condition::ItemAbsent });
            if !flagged.contains(&record.step_id) {
                flagged.push(record.step_id.clone());
            }
            created.push(record);
        }
        for step_id in flagged {
            let item = codec::step_item(&session.session_id, &reopened_step(&items, &step_id))?;
            change.write(WriteOp::Put { item, condition: Condition::Always });
        }
        change.emit(EventType::CorrectionsRequested, None);
        change.audit(AuditAction::CorrectionsRequested, None, Vec::new());
        change.commit(self).await?;
        Ok(created)
    }

    /// Cancels a session that is not final yet; its public link stops working at once.
    pub async fn cancel_session(&self, caller: &TenantPrincipal, session_id: &str) -> Result<SessionStatus> {
        let items = self.tenant_session_items(caller, session_id).await?;
        let status = items.session.status_at(self.now());
        let next = status
            .on(SessionEvent::Cancel)
            .map_err(|_| Error::conflict(format!("Session is already {status} and cannot be canceled")))?;
        let mut change =
            SessionChange::new(self, &items.session, Actor::Tenant { key_id: caller.key_id.clone() });
        change.set_status(next);
        change.emit(EventType::SessionCanceled, None);
        change.audit(AuditAction::SessionCanceled, None, Vec::new());
        change.commit(self).await?;
        Ok(next)
    }
}

/// A step's record marked `needs_correction`, keeping what the end user entered.
pub(crate) fn reopened_step(items: &SessionItems, step_id: &StepId) -> StepRecord {
    match items.step(step_id) {
        Some(existing) => StepRecord { status: StepStatus::NeedsCorrection, ..existing.clone() },
        None => StepRecord {
            step_id: step_id.clone(),
            status: StepStatus::NeedsCorrection,
            started_at: None,
            completed_at: None,
            form_data: None,
        },
    }
}

fn check_item(items: &SessionItems, item: &CorrectionItem) -> Result<(), String> {
    let step = items
        .session
        .workflow
        .step(&item.step_id)
        .ok_or_else(|| format!("step '{}' not found", item.step_id))?;
    if super::progress::Progress::of(items).status(&step.step_id) == StepStatus::Skipped {
        return Err(format!(
            "step '{}' does not apply to this session (its condition does not hold)",
            step.step_id
        ));
    }
    if let Some(unknown) =
        item.field_ids.iter().find(|f| !step.all_fields().any(|field| &field.field_id == *f))
    {
        return Err(format!("step '{}' has no field '{unknown}'", step.step_id));
    }
    let accepts = |t: &DocumentType| {
        step.document_requirements.iter().any(|r| &r.document_type == t) || step.document_types.contains(t)
    };
    if let Some(unknown) = item.document_types.iter().find(|t| !accepts(t)) {
        return Err(format!("step '{}' does not take '{unknown}' documents", step.step_id));
    }
    let message = item.message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(format!("message must be 1 to {MAX_MESSAGE_CHARS} characters"));
    }
    if item.internal_note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(format!("internal_note must be at most {MAX_NOTE_CHARS} characters"));
    }
    Ok(())
}
