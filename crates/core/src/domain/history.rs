//! What happened to a session: the audit trail (`AUDIT#…`) and the outbox of events to deliver
//! (`EVENT#…`). Both are written in the same transaction as the change they describe.

use super::document::DocId;
use super::ids::{ApiKeyId, SessionId, StepId, TenantId};
use super::session::SessionStatus;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The end user, through the session's access token.
    EndUser,
    /// The tenant, through one of its API keys.
    Tenant { key_id: ApiKeyId },
}

/// What kind of change an audit entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    StepCompleted,
    CorrectionsRequested,
    SessionCanceled,
    DocumentUploaded,
    /// A new upload replaced an earlier one of the same type (`allow_multiple: false`).
    DocumentReplaced,
    LivenessStarted,
    LivenessFailed,
    SubsessionCreated,
    SubsessionLinkRegenerated,
    SubsessionDeleted,
}

/// One entry of a session's audit trail. Records which form fields changed, never their values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: Actor,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<StepId>,
    pub from_status: SessionStatus,
    pub to_status: SessionStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
    /// Documents the change concerns: the new one first, then any it replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocId>,
}

/// Events the outbox delivers to tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "step.completed")]
    StepCompleted,
    /// The end user finished every required step.
    #[serde(rename = "session.completed")]
    SessionCompleted,
    #[serde(rename = "session.corrections_requested")]
    CorrectionsRequested,
    /// Corrections were resolved under `auto_process`: automatic processing should run.
    #[serde(rename = "session.processing_requested")]
    ProcessingRequested,
    #[serde(rename = "session.canceled")]
    SessionCanceled,
}

/// An event waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub session_id: SessionId,
    pub tenant_id: TenantId,
    /// The session's status after the change.
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<StepId>,
    pub created_at: Timestamp,
}
