//! Completing a step from the public API: validation, ordering, gating by step type, correction
//! mode, and the session's move to its next status, all in one transaction.

use super::changes::SessionChange;
use super::progress::Progress;
use super::subsessions::Tally;
use super::Services;
use crate::codec::{self, SessionItems};
use crate::domain::checks;
use crate::domain::correction::CorrectionStatus;
use crate::domain::decision::Decision;
use crate::domain::form::{validate_form, FormData};
use crate::domain::history::{Actor, AuditAction, EventType};
use crate::domain::ids::StepId;
use crate::domain::session::{SessionEvent, SessionStatus, StepRecord, StepStatus};
use crate::domain::time::Timestamp;
use crate::domain::workflow::{CorrectionResolution, Step, StepType};
use crate::error::{Error, Result};
use crate::ports::table::{Condition, WriteOp};
use serde::Serialize;

/// The answer to a step completion, as the contract shapes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepCompleted {
    pub step_id: StepId,
    pub status: StepStatus,
    pub next_step_id: Option<StepId>,
    pub session_completed: bool,
}

impl Services {
    /// `POST /public/sessions/{token}/step/{step_id}/complete`.
    pub async fn complete_step(
        &self,
        token: &str,
        step_id: &str,
        form_data: Option<FormData>,
    ) -> Result<StepCompleted> {
        let items = self.open_session(token).await?;
        let session = &items.session;
        let status = session.status_at(self.now());
        if !status.accepts_end_user_input() {
            return Err(Error::forbidden(format!("Session is {status} and no longer accepts changes")));
        }
        let step_id = StepId::parse(step_id).map_err(|_| Error::validation("Step not found"))?;
        let step = session.workflow.step(&step_id).ok_or_else(|| Error::validation("Step not found"))?;
        let correcting = status == SessionStatus::AwaitingClientCorrection;
        check_editable(&items, step, correcting)?;
        check_step_type(&items, step, correcting, self.now())?;

        let previous = items.step(&step_id);
        let previous_form = previous.and_then(|p| p.form_data.clone()).unwrap_or_default();
        let submitted = form_data.unwrap_or_default();
        // In correction mode the end user sends only what they fix; the rest stays as it was.
        let form = if correcting {
            let mut merged = previous_form.clone();
            merged.extend(submitted);
            merged
        } else {
            submitted
        };
        validate_form(step, &form, |doc| items.has_confirmed_document(doc)).map_err(Error::Validation)?;
        let changed_fields = changed_fields(&previous_form, &form);

        let mut change = SessionChange::new(self, session, Actor::EndUser);
        let completed = finish_step(self, &items, step, form, &mut change).await?;
        change.audit(AuditAction::StepCompleted, Some(step_id), changed_fields);
        let outcome = change.next_status();
        change.commit(self).await?;
        count_completion(&completed, outcome);
        Ok(completed)
    }
}

/// Adds the completion of `step` to `change`: the step record, resolved corrections, the
/// session's next status and the events; when it finishes the session, the verification report
/// and (if the workflow resolves automatically) the decision it supports. Callers have checked
/// that the step may complete.
pub(crate) async fn finish_step(
    services: &Services,
    items: &SessionItems,
    step: &Step,
    form: FormData,
    change: &mut SessionChange<'_>,
) -> Result<StepCompleted> {
    let session = &items.session;
    let status = session.status_at(change.at());
    let correcting = status == SessionStatus::AwaitingClientCorrection;
    let step_id = step.step_id.clone();
    let previous = items.step(&step_id);
    let record = StepRecord {
        step_id: step_id.clone(),
        status: StepStatus::Completed,
        started_at: previous.and_then(|p| p.started_at).or(Some(change.at())),
        completed_at: Some(change.at()),
        form_data: (!form.is_empty()).then_some(form),
    };
    let after = items.with_step(record.clone());
    let progress = Progress::of(&after);
    change.write(WriteOp::Put {
        item: codec::step_item(&session.session_id, &record)?,
        condition: Condition::Always,
    });
    change.emit(EventType::StepCompleted, Some(step_id.clone()));

    let next_step = if correcting {
        for correction in items.open_corrections(&step_id) {
            let mut resolved = correction.clone();
            resolved.status = CorrectionStatus::Resolved;
            resolved.resolved_at = Some(change.at());
            let item = codec::correction_item(&session.session_id, &resolved)?;
            change.write(WriteOp::Put { item, condition: Condition::Always });
        }
        // A correction of a step the new answers skip no longer waits for the end user.
        let others_open = items.corrections.iter().any(|c| {
            c.is_open() && c.step_id != step_id && progress.status(&c.step_id) != StepStatus::Skipped
        });
        if !others_open {
            let mode = session.workflow.validation_config.correction_resolution;
            change.set_status(transition(status, SessionEvent::CorrectionsResolved(mode))?);
            if mode == CorrectionResolution::AutoProcess {
                change.emit(EventType::ProcessingRequested, None);
            }
            // The corrected evidence is checked again for the reviewer.
            change.set_verification(services.verification_report(&after, change.at()).await?);
        }
        progress.next_correction(&step_id)
    } else {
        if progress.all_required_done() {
            let waiting = transition(status, SessionEvent::StepsFinished)?;
            change.set_status(waiting);
            change.emit(EventType::SessionCompleted, None);
            let report = services.verification_report(&after, change.at()).await?;
            let config = session.workflow.verification_config.clone().unwrap_or_default();
            let automatic = session.workflow.resolution().decides_automatically();
            if let (true, checks::Resolution::Decided(outcome, reasons)) =
                (automatic, checks::resolve(&report, &config))
            {
                change.set_status(transition(waiting, SessionEvent::Decide(outcome))?);
                change.decide(Decision { reasons, ..Decision::automatic(outcome, change.at()) });
            }
            change.set_verification(report);
        }
        progress.next_after(&step_id)
    };
    let session_completed = !change.next_status().accepts_end_user_input();
    Ok(StepCompleted {
        step_id,
        status: StepStatus::Completed,
        next_step_id: if session_completed { None } else { next_step.map(|s| s.step_id.clone()) },
        session_completed,
    })
}

/// Counts a verification the end user finished, by where it landed (approved, rejected,
/// manual_review, completed).
pub(crate) fn count_completion(completed: &StepCompleted, outcome: SessionStatus) {
    if completed.session_completed {
        crate::metrics::count("VerificationsCompleted", "outcome", outcome.as_str());
    }
}

fn transition(status: SessionStatus, event: SessionEvent) -> Result<SessionStatus> {
    status.on(event).map_err(|illegal| Error::Unexpected(illegal.into()))
}

/// Whether the end user may (re)complete this step now.
pub(crate) fn check_editable(items: &SessionItems, step: &Step, correcting: bool) -> Result<()> {
    let progress = Progress::of(items);
    let current = progress.status(&step.step_id);
    if current == StepStatus::Skipped {
        return Err(Error::forbidden("This step does not apply to the session"));
    }
    if correcting {
        if current != StepStatus::NeedsCorrection {
            return Err(Error::forbidden("Only steps with open correction requests can be edited"));
        }
        return Ok(());
    }
    if current == StepStatus::Completed {
        return Err(Error::forbidden("Step already completed"));
    }
    if let Some(blocker) = progress.blocker_before(&step.step_id) {
        return Err(Error::forbidden(format!("Complete step '{}' first", blocker.step_id)));
    }
    Ok(())
}

/// Step types that complete through their own flow, or only once their documents are in.
fn check_step_type(items: &SessionItems, step: &Step, correcting: bool, now: Timestamp) -> Result<()> {
    match step.step_type {
        StepType::FormFill => Ok(()),
        StepType::Liveness => {
            Err(Error::forbidden("Liveness steps are completed by passing the liveness check"))
        }
        StepType::SubsessionCollection => {
            let config =
                step.subsession_config.as_ref().ok_or_else(|| Error::validation("Step not found"))?;
            match Tally::of(items, &step.step_id, now).blocker(config) {
                Some(reason) => Err(Error::forbidden(reason)),
                None => Ok(()),
            }
        }
        StepType::DocumentUpload | StepType::Selfie => {
            let confirmed = |document_type: &_| {
                items.documents.iter().any(|d| {
                    d.is_confirmed() && d.step_id == step.step_id && &d.document_type == document_type
                })
            };
            let missing: Vec<String> = step
                .document_requirements
                .iter()
                .filter(|r| r.required && !confirmed(&r.document_type))
                .map(|r| r.document_type.to_string())
                .collect();
            if !missing.is_empty() {
                return Err(Error::validation(format!("Missing required documents: {}", missing.join(", "))));
            }
            if step.extract_required {
                let unread: Vec<String> = step
                    .document_requirements
                    .iter()
                    .filter(|r| r.required)
                    .filter(|r| {
                        !items.documents.iter().any(|d| {
                            d.is_confirmed()
                                && d.step_id == step.step_id
                                && d.document_type == r.document_type
                                && d.extraction.is_some()
                        })
                    })
                    .map(|r| r.document_type.to_string())
                    .collect();
                if !unread.is_empty() {
                    return Err(Error::validation(format!(
                        "The data of these documents could not be read yet: {}; call /extract or upload a clearer copy",
                        unread.join(", ")
                    )));
                }
            }
            if correcting {
                // A requested document must be uploaded again after the request was made.
                for correction in items.open_corrections(&step.step_id) {
                    for document_type in &correction.document_types {
                        let fresh = items.documents.iter().any(|d| {
                            d.is_confirmed()
                                && d.step_id == step.step_id
                                && &d.document_type == document_type
                                && !correction.superseded_documents.contains(&d.doc_id)
                        });
                        if !fresh {
                            return Err(Error::validation(format!(
                                "Upload a new '{document_type}' document before completing this step"
                            )));
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// Ids of the fields whose values differ between two submissions (values are never recorded).
fn changed_fields(before: &FormData, after: &FormData) -> Vec<String> {
    let mut changed: Vec<String> =
        after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
    changed.extend(before.keys().filter(|k| !after.contains_key(*k)).cloned());
    changed.sort();
    changed
}
