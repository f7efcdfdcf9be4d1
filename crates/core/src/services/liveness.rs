//! Face liveness: start an attempt, then complete it with the provider's verdict. The pass/fail
//! decision is made here from the provider's own answer, never from anything the browser says.

use super::changes::SessionChange;
use super::steps::{check_editable, finish_step};
use super::Services;
use crate::codec::{self, SessionItems};
use crate::domain::history::{Actor, AuditAction};
use crate::domain::ids::StepId;
use crate::domain::liveness::{AttemptStatus, LivenessAttempt, SandboxOutcome};
use crate::domain::secrets::Mode;
use crate::domain::session::SessionStatus;
use crate::domain::workflow::{LivenessConfig, Step, StepType};
use crate::error::{Error, Result};
use crate::ports::liveness::{ProviderResult, ProviderStatus};
use crate::ports::table::{AttributeValue, Condition, WriteOp};
use crate::ports::LivenessProvider;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `POST /public/sessions/{token}/liveness/start`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartLiveness {
    pub step_id: String,
    /// Test mode only: the outcome the sandbox will report.
    #[serde(default)]
    pub test_outcome: Option<SandboxOutcome>,
}

/// A started attempt.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LivenessStarted {
    pub liveness_session_id: String,
    pub step_id: StepId,
    pub message: &'static str,
}

/// `POST /public/sessions/{token}/liveness/complete`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompleteLiveness {
    pub liveness_session_id: String,
}

/// The verdict, as the contract shapes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LivenessCompleted {
    pub passed: bool,
    /// `null` when the workflow hides scores from the browser (`expose_confidence: false`).
    pub confidence: Option<f64>,
    pub reference_image_s3_key: Option<String>,
    pub step_completed: bool,
    pub session_completed: bool,
    pub next_step_id: Option<StepId>,
    pub message: &'static str,
}

const PASSED: &str = "Liveness check passed";
const FAILED: &str = "Liveness check failed; please try again";
/// Most liveness checks started per step (passed, failed, expired or abandoned alike).
pub const MAX_STARTS_PER_STEP: usize = 10;
const EXPIRED: &str = "The liveness check expired; start a new one";

fn liveness_step<'a>(items: &'a SessionItems, step_id: &str) -> Result<(&'a Step, LivenessConfig)> {
    let step = StepId::parse(step_id)
        .ok()
        .and_then(|id| items.session.workflow.step(&id))
        .filter(|s| s.step_type == StepType::Liveness)
        .ok_or_else(|| Error::validation("Liveness step not found"))?;
    Ok((step, step.liveness_config.clone().unwrap_or_default()))
}

impl Services {
    /// Starts a liveness attempt for a liveness step.
    pub async fn start_liveness(&self, token: &str, request: StartLiveness) -> Result<LivenessStarted> {
        let items = self.open_session(token).await?;
        let session = &items.session;
        let status = session.status_at(self.now());
        if !status.accepts_end_user_input() {
            return Err(Error::forbidden(format!("Session is {status} and no longer accepts changes")));
        }
        let (step, _) = liveness_step(&items, &request.step_id)?;
        check_editable(&items, step, status == SessionStatus::AwaitingClientCorrection)?;
        // Each start may open a paid provider session: a ceiling per step, besides the failure cap.
        let started = items
            .liveness
            .iter()
            .filter(|a| a.step_id == step.step_id && a.status != AttemptStatus::Superseded)
            .count();
        if started >= MAX_STARTS_PER_STEP {
            return Err(Error::forbidden(format!(
                "Too many liveness checks were started for this step ({started}); the reviewer will contact you"
            )));
        }
        let failures = items.liveness.iter().filter(|a| a.step_id == step.step_id && a.is_failure()).count();
        if failures >= self.settings.liveness_max_failed_attempts {
            return Err(Error::forbidden(format!(
                "Too many failed liveness attempts ({failures}); the reviewer will contact you"
            )));
        }
        let (liveness_session_id, sandbox_outcome) = match session.mode {
            Mode::Test => (
                format!("liv_sandbox_{}", uuid::Uuid::new_v4().simple()),
                Some(request.test_outcome.unwrap_or_default()),
            ),
            Mode::Live => {
                if request.test_outcome.is_some() {
                    return Err(Error::validation("test_outcome is only accepted for test-mode sessions"));
                }
                let prefix = format!("{}/{}/liveness", session.tenant_id, session.session_id);
                (self.live_provider()?.create_session(&prefix).await?, None)
            }
        };
        let mut change = SessionChange::new(self, session, Actor::EndUser);
        let attempt = LivenessAttempt {
            liveness_session_id: liveness_session_id.clone(),
            sequence: session.version + 1,
            step_id: step.step_id.clone(),
            status: AttemptStatus::Pending,
            created_at: change.at(),
            completed_at: None,
            confidence: None,
            reference_image_key: None,
            sandbox_outcome,
            face_similarity: None,
            failure_reason: None,
        };
        change.write(WriteOp::Put {
            item: codec::liveness_item(&session.session_id, &attempt)?,
            condition: Condition::ItemAbsent,
        });
        change.audit(AuditAction::LivenessStarted, Some(step.step_id.clone()), Vec::new());
        change.commit(self).await?;
        Ok(LivenessStarted {
            liveness_session_id,
            step_id: step.step_id.clone(),
            message: "Use this session ID with the AWS Amplify Liveness SDK",
        })
    }

    /// Completes an attempt with the provider's verdict; a pass completes the step in the same
    /// transaction. Completing a decided attempt again returns the stored verdict.
    pub async fn complete_liveness(
        &self,
        token: &str,
        request: CompleteLiveness,
    ) -> Result<LivenessCompleted> {
        let items = self.open_session(token).await?;
        let session = &items.session;
        let attempt = items
            .liveness
            .iter()
            .find(|a| a.liveness_session_id == request.liveness_session_id)
            .ok_or_else(|| Error::not_found("Liveness session not found"))?
            .clone();
        let (step, config) = liveness_step(&items, attempt.step_id.as_str())?;
        if attempt.status != AttemptStatus::Pending {
            return Ok(stored_verdict(&items, &attempt, &config));
        }
        let status = session.status_at(self.now());
        if !status.accepts_end_user_input() {
            return Err(Error::forbidden(format!("Session is {status} and no longer accepts changes")));
        }
        let result = match attempt.sandbox_outcome {
            Some(outcome) => outcome.result(format!(
                "{}/{}/liveness/{}/reference.jpg",
                session.tenant_id, session.session_id, attempt.liveness_session_id
            )),
            None => {
                crate::metrics::count("ProviderCalls", "provider", "rekognition_liveness");
                self.live_provider()?.results(&attempt.liveness_session_id).await?
            }
        };
        let mut decided = attempt.clone();
        decided.confidence = result.confidence;
        decided.reference_image_key = result.reference_image_key.clone();
        let (verdict, message) = self.judge(&items, &config, &result, &mut decided).await?;
        if verdict == AttemptStatus::Pending {
            return Err(Error::conflict("Liveness check not finished"));
        }
        let mut change = SessionChange::new(self, session, Actor::EndUser);
        decided.status = verdict;
        decided.completed_at = Some(change.at());
        let pending = Condition::AttrEquals("status".into(), AttributeValue::S("pending".into()));
        change.write(WriteOp::Put {
            item: codec::liveness_item(&session.session_id, &decided)?,
            condition: pending,
        });
        let completed = if verdict == AttemptStatus::Passed {
            check_editable(&items, step, status == SessionStatus::AwaitingClientCorrection)?;
            let completed = finish_step(self, &items, step, Default::default(), &mut change).await?;
            change.audit(AuditAction::StepCompleted, Some(step.step_id.clone()), Vec::new());
            Some(completed)
        } else {
            change.audit(AuditAction::LivenessFailed, Some(step.step_id.clone()), Vec::new());
            None
        };
        let outcome = change.next_status();
        change.commit(self).await?;
        if let Some(completed) = &completed {
            super::steps::count_completion(completed, outcome);
        }
        Ok(LivenessCompleted {
            passed: verdict == AttemptStatus::Passed,
            confidence: decided.confidence.filter(|_| config.expose_confidence),
            reference_image_s3_key: decided.reference_image_key,
            step_completed: completed.is_some(),
            session_completed: completed.as_ref().is_some_and(|c| c.session_completed),
            next_step_id: completed.and_then(|c| c.next_step_id),
            message,
        })
    }

    /// Turns the provider's answer into a verdict: pending, passed or failed (with the reason
    /// kept for the tenant).
    async fn judge(
        &self,
        items: &SessionItems,
        config: &LivenessConfig,
        result: &ProviderResult,
        attempt: &mut LivenessAttempt,
    ) -> Result<(AttemptStatus, &'static str)> {
        match result.status {
            ProviderStatus::Created | ProviderStatus::InProgress => return Ok((AttemptStatus::Pending, "")),
            ProviderStatus::Expired => {
                attempt.failure_reason = Some("the provider session expired".into());
                return Ok((AttemptStatus::Expired, EXPIRED));
            }
            ProviderStatus::Failed => {
                attempt.failure_reason = Some("the provider reported a failure".into());
                return Ok((AttemptStatus::Failed, FAILED));
            }
            ProviderStatus::Succeeded => {}
        }
        let confidence = result.confidence.unwrap_or(0.0);
        if confidence < config.min_confidence {
            attempt.failure_reason =
                Some(format!("confidence {confidence} is below the threshold {}", config.min_confidence));
            return Ok((AttemptStatus::Failed, FAILED));
        }
        if let (Some(face_match), Mode::Live) = (&config.face_match, items.session.mode) {
            let portrait = items
                .documents
                .iter()
                .rev()
                .find(|d| d.is_confirmed() && d.document_type == face_match.document_type)
                .map(|d| d.object_key.clone());
            let (Some(reference), Some(portrait)) = (result.reference_image_key.as_deref(), portrait) else {
                attempt.failure_reason =
                    Some("face match: no reference image or ID document to compare".into());
                return Ok((AttemptStatus::Failed, FAILED));
            };
            let similarity = self.live_provider()?.compare_faces(reference, &portrait).await?;
            attempt.face_similarity = similarity;
            if similarity.unwrap_or(0.0) < face_match.min_similarity {
                attempt.failure_reason = Some(format!(
                    "face match: similarity {} is below {}",
                    similarity.map_or("none".into(), |s| s.to_string()),
                    face_match.min_similarity
                ));
                return Ok((AttemptStatus::Failed, FAILED));
            }
        }
        Ok((AttemptStatus::Passed, PASSED))
    }

    fn live_provider(&self) -> Result<&Arc<dyn LivenessProvider>> {
        self.liveness.as_ref().ok_or_else(|| {
            Error::forbidden(
                "Live liveness checks are not available in this deployment; use a test-mode session",
            )
        })
    }
}

/// The answer for an attempt that was already decided.
fn stored_verdict(
    items: &SessionItems,
    attempt: &LivenessAttempt,
    config: &LivenessConfig,
) -> LivenessCompleted {
    let passed = attempt.status == AttemptStatus::Passed;
    let progress = super::progress::Progress::of(items);
    let session_completed = !items.session.status.accepts_end_user_input();
    LivenessCompleted {
        passed,
        confidence: attempt.confidence.filter(|_| config.expose_confidence),
        reference_image_s3_key: attempt.reference_image_key.clone(),
        step_completed: passed,
        session_completed: passed && session_completed,
        next_step_id: if passed && !session_completed {
            progress.next_after(&attempt.step_id).map(|s| s.step_id.clone())
        } else {
            None
        },
        message: match attempt.status {
            AttemptStatus::Passed => PASSED,
            AttemptStatus::Expired | AttemptStatus::Superseded => EXPIRED,
            _ => FAILED,
        },
    }
}
