//! What an end user's browser may see. These types are built field by field from the stored
//! records, so nothing internal (storage keys, tenant ids, token hashes, reviewer identity) can
//! reach a public response by accident.

use super::progress::Progress;
use crate::codec::SessionItems;
use crate::domain::correction::{CorrectionId, CorrectionStatus};
use crate::domain::document::DocId;
use crate::domain::ids::{DocumentType, FieldId, SessionId, StepId};
use crate::domain::liveness::AttemptStatus;
use crate::domain::session::{SessionStatus, StepStatus};
use crate::domain::time::Timestamp;
use crate::domain::workflow::{Branding, Step};
use serde::Serialize;

/// `GET /public/sessions/{token}`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicSessionState {
    pub session_id: SessionId,
    pub workflow_name: String,
    pub status: SessionStatus,
    /// 0-based index of the first step still to do (`total_steps` when none is left).
    pub current_step_index: usize,
    pub total_steps: usize,
    pub steps_data: Vec<PublicStep>,
    pub expires_at: i64,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    /// Where the frontend sends the end user when done: the session's own `redirect_url`, else
    /// the workflow's `completion_redirect_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// Why a rejected session was rejected, in words meant for the end user (never the
    /// reviewer's notes or identity).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejection_reasons: Vec<&'static str>,
}

/// One entry of `steps_data`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicStep {
    pub step_id: StepId,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<PublicDocument>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub liveness_sessions: Vec<PublicLivenessSession>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_data: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub correction_requests: Vec<PublicCorrection>,
}

/// A confirmed document, without its storage key.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicDocument {
    pub doc_id: DocId,
    #[serde(rename = "type")]
    pub document_type: DocumentType,
    pub file_name: String,
    pub mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<Timestamp>,
}

/// A liveness attempt, without scores or failure reasons.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicLivenessSession {
    pub liveness_session_id: String,
    pub status: AttemptStatus,
    pub created_at: Timestamp,
}

/// An open correction request, without reviewer identity or internal notes.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicCorrection {
    pub id: CorrectionId,
    pub step_id: StepId,
    pub field_ids: Vec<FieldId>,
    pub document_types: Vec<DocumentType>,
    pub message: String,
    pub status: CorrectionStatus,
    pub created_at: Timestamp,
}

/// `GET /public/sessions/{token}/workflow`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicWorkflow {
    pub workflow_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub total_steps: usize,
    /// The steps' definitions, less internal settings (see [`public_step`]).
    pub steps: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_redirect_url: Option<String>,
}

impl PublicSessionState {
    pub fn build(items: &SessionItems, now: Timestamp) -> Self {
        let session = &items.session;
        let progress = Progress::of(items);
        let steps_data: Vec<PublicStep> = progress
            .steps
            .iter()
            .map(|(step, status)| {
                let record = items.step(&step.step_id);
                PublicStep {
                    step_id: step.step_id.clone(),
                    status: *status,
                    started_at: record.and_then(|r| r.started_at),
                    completed_at: record.and_then(|r| r.completed_at),
                    documents: items
                        .documents
                        .iter()
                        .filter(|d| d.step_id == step.step_id && d.is_confirmed())
                        .map(|d| PublicDocument {
                            doc_id: d.doc_id.clone(),
                            document_type: d.document_type.clone(),
                            file_name: d.file_name.clone(),
                            mime_type: d.mime_type.clone(),
                            uploaded_at: d.uploaded_at,
                        })
                        .collect(),
                    liveness_sessions: items
                        .liveness
                        .iter()
                        .filter(|a| a.step_id == step.step_id)
                        .map(|a| PublicLivenessSession {
                            liveness_session_id: a.liveness_session_id.clone(),
                            status: a.status,
                            created_at: a.created_at,
                        })
                        .collect(),
                    form_data: record.and_then(|r| r.form_data.clone()),
                    correction_requests: items
                        .open_corrections(&step.step_id)
                        .map(|c| PublicCorrection {
                            id: c.id.clone(),
                            step_id: c.step_id.clone(),
                            field_ids: c.field_ids.clone(),
                            document_types: c.document_types.clone(),
                            message: c.message.clone(),
                            status: c.status,
                            created_at: c.created_at,
                        })
                        .collect(),
                }
            })
            .collect();
        Self {
            session_id: session.session_id,
            workflow_name: session.workflow.name.clone(),
            status: session.status_at(now),
            current_step_index: progress.current_index(),
            total_steps: steps_data.len(),
            steps_data,
            expires_at: session.expires_at,
            created_at: session.created_at,
            branding: session.workflow.branding.clone(),
            redirect_url: session
                .redirect_url
                .clone()
                .or_else(|| session.workflow.completion_redirect_url.clone()),
            rejection_reasons: session.decision.as_ref().map(|d| d.customer_reasons()).unwrap_or_default(),
        }
    }
}

impl PublicWorkflow {
    pub fn build(items: &SessionItems) -> Self {
        let workflow = &items.session.workflow;
        Self {
            workflow_name: workflow.name.clone(),
            description: workflow.description.clone(),
            total_steps: workflow.steps.len(),
            steps: workflow.steps.iter().map(public_step).collect(),
            completion_redirect_url: workflow.completion_redirect_url.clone(),
        }
    }
}

/// A step as the end user's browser may see it: without the thresholds it is judged by (face
/// match) and the internal ids of the workflows related parties go through.
fn public_step(step: &Step) -> serde_json::Value {
    let mut value = serde_json::to_value(step).unwrap_or_default();
    if let Some(liveness) = value.get_mut("liveness_config").and_then(|v| v.as_object_mut()) {
        liveness.remove("face_match");
    }
    if let Some(config) = value.get_mut("subsession_config").and_then(|v| v.as_object_mut()) {
        config.remove("workflow_id");
        config.remove("workflow_version");
    }
    value
}

impl super::Services {
    /// `GET /public/sessions/{token}`: the sanitized state of the session the token opens.
    pub async fn public_state(&self, token: &str) -> crate::Result<PublicSessionState> {
        let items = self.open_session(token).await?;
        Ok(PublicSessionState::build(&items, self.now()))
    }

    /// `GET /public/sessions/{token}/workflow`: the pinned workflow definition.
    pub async fn public_workflow(&self, token: &str) -> crate::Result<PublicWorkflow> {
        let items = self.open_session(token).await?;
        Ok(PublicWorkflow::build(&items))
    }
}
