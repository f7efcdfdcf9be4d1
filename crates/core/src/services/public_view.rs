//! What an end user's browser may see. These types are built field by field from the stored
//! records, so nothing internal (storage keys, tenant ids, token hashes, reviewer identity) can
//! reach a public response by accident.

use crate::codec::SessionItems;
use crate::domain::ids::{SessionId, StepId};
use crate::domain::session::{SessionStatus, StepStatus};
use crate::domain::time::Timestamp;
use crate::domain::workflow::{Branding, Step};
use serde::Serialize;

/// `GET /public/sessions/{token}`.
#[derive(Clone, Debug, Serialize)]
pub struct PublicSessionState {
    pub session_id: SessionId,
    pub workflow_name: String,
    pub status: SessionStatus,
    /// 0-based index of the first step that is not completed (`total_steps` when all are).
    pub current_step_index: usize,
    pub total_steps: usize,
    pub steps_data: Vec<PublicStep>,
    pub expires_at: i64,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
}

/// One entry of `steps_data`.
#[derive(Clone, Debug, Serialize)]
pub struct PublicStep {
    pub step_id: StepId,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_data: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `GET /public/sessions/{token}/workflow`.
#[derive(Clone, Debug, Serialize)]
pub struct PublicWorkflow {
    pub workflow_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub total_steps: usize,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_redirect_url: Option<String>,
}

impl PublicSessionState {
    pub fn build(items: &SessionItems, now: Timestamp) -> Self {
        let session = &items.session;
        let steps_data: Vec<PublicStep> = session
            .workflow
            .steps
            .iter()
            .map(|step| match items.step(&step.step_id) {
                Some(record) => PublicStep {
                    step_id: step.step_id.clone(),
                    status: record.status,
                    started_at: record.started_at,
                    completed_at: record.completed_at,
                    form_data: record.form_data.clone(),
                },
                None => PublicStep {
                    step_id: step.step_id.clone(),
                    status: StepStatus::Pending,
                    started_at: None,
                    completed_at: None,
                    form_data: None,
                },
            })
            .collect();
        let current_step_index =
            steps_data.iter().position(|s| s.status != StepStatus::Completed).unwrap_or(steps_data.len());
        Self {
            session_id: session.session_id,
            workflow_name: session.workflow.name.clone(),
            status: session.status_at(now),
            current_step_index,
            total_steps: steps_data.len(),
            steps_data,
            expires_at: session.expires_at,
            created_at: session.created_at,
            branding: session.workflow.branding.clone(),
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
            steps: workflow.steps.clone(),
            completion_redirect_url: workflow.completion_redirect_url.clone(),
        }
    }
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
