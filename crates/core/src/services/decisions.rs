//! Deciding a session: a reviewer's approval or rejection (or override of an automatic
//! decision), and resubmission, which reopens steps for the end user to redo.

use super::changes::SessionChange;
use super::progress::Progress;
use super::review::reopened_step;
use super::sessions::TenantSessionView;
use super::Services;
use crate::codec::{self, keys, SessionItems};
use crate::domain::correction::{CorrectionId, CorrectionRecord, CorrectionStatus};
use crate::domain::decision::{Decision, Outcome, ReasonLabel, Resolution, MAX_NOTES_CHARS};
use crate::domain::document::DocId;
use crate::domain::history::{Actor, AuditAction, EventType};
use crate::domain::ids::{DocumentType, StepId};
use crate::domain::liveness::AttemptStatus;
use crate::domain::session::{SessionEvent, SessionStatus, StepStatus};
use crate::domain::tenant::TenantPrincipal;
use crate::domain::workflow::{Step, StepType};
use crate::error::{Error, Result};
use crate::ports::table::{AttributeValue, Condition, Update, WriteOp, MAX_TRANSACTION_ITEMS};
use serde::{Deserialize, Serialize};

const MAX_MESSAGE_CHARS: usize = 1_000;

/// `POST /v1/sessions/{id}/review`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewSession {
    pub decision: Outcome,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub reasons: Vec<ReasonLabel>,
}

/// `POST /v1/sessions/{id}/resubmit`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Resubmit {
    pub step_id: StepId,
    /// What the end user reads next to each reopened step.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub message: String,
}

/// The answer to a resubmission.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resubmitted {
    pub session_id: crate::domain::ids::SessionId,
    pub status: SessionStatus,
    /// The step asked for, then every later step that depended on it.
    pub reopened_steps: Vec<StepId>,
    pub correction_ids: Vec<CorrectionId>,
}

impl Services {
    /// Approves or rejects a session waiting for a decision, or overrides an automatic decision
    /// once. One read of the session (its log read alongside, for the answer) and one transaction.
    pub async fn review_session(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
        request: ReviewSession,
    ) -> Result<TenantSessionView> {
        let notes = request.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if notes.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
            return Err(Error::validation(format!("notes must be at most {MAX_NOTES_CHARS} characters")));
        }
        let mut reasons = request.reasons;
        let mut seen = Vec::with_capacity(reasons.len());
        reasons.retain(|r| {
            !seen.contains(r) && {
                seen.push(*r);
                true
            }
        });
        // A lost race is read again once: the winner's decision then answers 409 ALREADY_REVIEWED.
        for attempt in 1..=2 {
            let (mut items, mut audit_trail) = self.tenant_session_and_log(caller, session_id).await?;
            let session = &items.session;
            let status = session.status_at(self.now());
            let event = match (status, &session.decision) {
                (SessionStatus::ManualReview | SessionStatus::Completed | SessionStatus::Processing, _) => {
                    SessionEvent::Decide(request.decision)
                }
                (SessionStatus::Approved | SessionStatus::Rejected, Some(d)) if !d.is_human() => {
                    SessionEvent::Override(request.decision)
                }
                (SessionStatus::Approved | SessionStatus::Rejected, _) => {
                    return Err(Error::AlreadyDone {
                        code: "ALREADY_REVIEWED",
                        message: format!(
                            "Session was already reviewed and is {status}; the decision is final"
                        ),
                    })
                }
                _ => {
                    return Err(Error::WrongState {
                        code: "NOT_REVIEWABLE",
                        message: format!(
                            "Session is {status}; only sessions in manual_review or completed, or decided \
                             automatically, can be reviewed"
                        ),
                    })
                }
            };
            let next = status.on(event).map_err(|illegal| Error::Unexpected(illegal.into()))?;
            let mut change =
                SessionChange::new(self, session, Actor::Tenant { key_id: caller.key_id.clone() });
            let decision = Decision {
                outcome: request.decision,
                resolution: Resolution::Manual,
                decided_at: change.at(),
                reviewer_key_id: Some(caller.key_id.clone()),
                notes: notes.clone(),
                reasons: reasons.clone(),
                overrides: session.decision.clone().map(Box::new),
            };
            change.set_status(next);
            change.decide(decision.clone());
            change.audit(AuditAction::SessionReviewed, None, Vec::new());
            let at = change.at();
            match change.commit(self).await {
                Ok(entry) => {
                    let session = &mut items.session;
                    session.status = next;
                    session.version += 1;
                    session.updated_at = at;
                    session.decision = Some(decision);
                    audit_trail.extend(entry);
                    return self.tenant_view(items, audit_trail).await;
                }
                Err(Error::Conflict(_)) if attempt == 1 => continue,
                Err(other) => return Err(other),
            }
        }
        Err(Error::conflict(super::CONCURRENT_CHANGE))
    }

    /// Reopens a finished step, and every later step that used its data, for the end user to redo
    /// with the same link; their derived results (documents with their extraction, liveness
    /// attempts with their face match) are set aside and an automatic decision is withdrawn.
    pub async fn resubmit_step(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
        request: Resubmit,
    ) -> Result<Resubmitted> {
        let message = request.message.trim().to_owned();
        if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(Error::validation(format!("message must be 1 to {MAX_MESSAGE_CHARS} characters")));
        }
        let items = self.tenant_session_items(caller, session_id).await?;
        let session = &items.session;
        if session.decision.as_ref().is_some_and(Decision::is_human) {
            return Err(Error::AlreadyDone {
                code: "ALREADY_REVIEWED",
                message: "A reviewer already decided this session; it can no longer be resubmitted".into(),
            });
        }
        let now = self.now();
        let status = session.status_at(now);
        let next =
            status.on(SessionEvent::ResubmissionRequested).ok().filter(|_| now.unix() < session.expires_at);
        let Some(next) = next else {
            return Err(Error::WrongState {
                code: "NOT_RESUBMITTABLE",
                message: format!(
                    "Session is {status}; steps can be resubmitted once the end user finished them, before a \
                     reviewer's decision and before the session expires"
                ),
            });
        };
        let progress = Progress::of(&items);
        let reopened = steps_to_reopen(&items, &progress, &request.step_id)?;

        let mut change = SessionChange::new(self, session, Actor::Tenant { key_id: caller.key_id.clone() });
        let mut correction_ids = Vec::with_capacity(reopened.len());
        let mut retired: Vec<DocId> = Vec::new();
        for step in &reopened {
            let documents: Vec<_> =
                items.documents.iter().filter(|d| d.step_id == step.step_id && d.is_confirmed()).collect();
            for document in &documents {
                // Only the status changes: a reading stored meanwhile stays with the document.
                let set_aside = Update::new(
                    keys::document(&session.session_id, &document.doc_id),
                    Condition::AttrEquals("status".into(), AttributeValue::S("confirmed".into())),
                )
                .set("status", AttributeValue::S("replaced".into()));
                change.write(WriteOp::Update(set_aside));
                retired.push(document.doc_id.clone());
            }
            for attempt in items.liveness.iter().filter(|a| a.step_id == step.step_id) {
                if attempt.status != AttemptStatus::Superseded {
                    let mut set_aside = attempt.clone();
                    set_aside.status = AttemptStatus::Superseded;
                    let item = codec::liveness_item(&session.session_id, &set_aside)?;
                    change.write(WriteOp::Put { item, condition: Condition::Always });
                }
            }
            let mut document_types: Vec<DocumentType> = Vec::new();
            for document in &documents {
                if !document_types.contains(&document.document_type) {
                    document_types.push(document.document_type.clone());
                }
            }
            let correction = CorrectionRecord {
                id: CorrectionId::mint(),
                step_id: step.step_id.clone(),
                field_ids: Vec::new(),
                document_types,
                message: message.clone(),
                status: CorrectionStatus::Open,
                created_at: change.at(),
                resolved_at: None,
                requested_by: caller.key_id.clone(),
                internal_note: None,
                superseded_documents: documents.iter().map(|d| d.doc_id.clone()).collect(),
            };
            let item = codec::correction_item(&session.session_id, &correction)?;
            change.write(WriteOp::Put { item, condition: Condition::ItemAbsent });
            correction_ids.push(correction.id);
            let item = codec::step_item(&session.session_id, &reopened_step(&items, &step.step_id))?;
            change.write(WriteOp::Put { item, condition: Condition::Always });
        }
        // The session item, its index entries, the audit entry and the event come on top.
        if change.write_count() + 5 > MAX_TRANSACTION_ITEMS {
            return Err(Error::validation(
                "this resubmission would change too many items at once; resubmit a later step first",
            ));
        }
        change.set_status(next);
        if session.decision.is_some() {
            change.clear_decision();
        }
        if session.verification.is_some() {
            change.clear_verification();
        }
        change.emit(EventType::ResubmissionRequested, Some(request.step_id.clone()));
        change.audit(AuditAction::ResubmissionRequested, Some(request.step_id.clone()), Vec::new());
        change.concerning(retired);
        change.commit(self).await?;
        Ok(Resubmitted {
            session_id: session.session_id,
            status: next,
            reopened_steps: reopened.into_iter().map(|s| s.step_id.clone()).collect(),
            correction_ids,
        })
    }
}

/// The step asked for and every later step that depends on its data, transitively: a step whose
/// `conditional_logic` reads a reopened step's field, or a liveness step whose face match compares
/// with a document type a reopened step collects. Only steps the end user had finished reopen.
fn steps_to_reopen<'a>(
    items: &'a SessionItems,
    progress: &Progress<'a>,
    step_id: &StepId,
) -> Result<Vec<&'a Step>> {
    let workflow = &items.session.workflow;
    let first =
        workflow.step(step_id).ok_or_else(|| Error::validation(format!("step '{step_id}' not found")))?;
    match progress.status(step_id) {
        StepStatus::Completed | StepStatus::NeedsCorrection => {}
        StepStatus::Skipped => {
            return Err(Error::validation(format!("step '{step_id}' does not apply to this session")))
        }
        StepStatus::Pending | StepStatus::InProgress => {
            return Err(Error::validation(format!("step '{step_id}' has not been completed yet")))
        }
    }
    let mut reopened = vec![first];
    for later in workflow.steps.iter().skip_while(|s| &s.step_id != step_id).skip(1) {
        let reads_reopened_field = later
            .conditional_logic
            .as_ref()
            .is_some_and(|logic| reopened.iter().any(|s| s.step_id == logic.step_id));
        let compares_reopened_document = later.step_type == StepType::Liveness
            && later.liveness_config.as_ref().and_then(|c| c.face_match.as_ref()).is_some_and(|m| {
                reopened.iter().any(|s| {
                    s.document_requirements.iter().any(|r| r.document_type == m.document_type)
                        || s.document_types.contains(&m.document_type)
                })
            });
        let finished =
            matches!(progress.status(&later.step_id), StepStatus::Completed | StepStatus::NeedsCorrection);
        if (reads_reopened_field || compares_reopened_document) && finished {
            reopened.push(later);
        }
    }
    Ok(reopened)
}
