//! What happened to a session: the audit trail (`AUDIT#…`) and the outbox of events to deliver
//! (`EVENT#…`). Both are written in the same transaction as the change they describe.

use super::decision::{Outcome, Resolution};
use super::document::DocId;
use super::ids::{ApiKeyId, SessionId, StepId, TenantId};
use super::session::SessionStatus;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The end user, through the session's access token.
    EndUser,
    /// The tenant, through one of its API keys.
    Tenant { key_id: ApiKeyId },
    /// The platform itself: automatic resolution, the expiry sweeper.
    System,
}

/// What kind of change an audit entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// A reviewer approved or rejected the session (or overrode an automatic decision).
    SessionReviewed,
    /// The tenant reopened steps for the end user to redo.
    ResubmissionRequested,
    /// The sweeper found the session past its expiry.
    SessionExpired,
    /// The tenant asked to erase the session's personal data (the session is closed).
    RedactionRequested,
    /// Every object of the session is deleted and every personal value replaced.
    SessionRedacted,
    /// The tenant had the checks run again (sanctions lists change): a new report was stored.
    SessionRescreened,
}

/// One entry of a session's audit trail. Records which form fields changed, never their values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[serde(rename = "session.approved")]
    SessionApproved,
    #[serde(rename = "session.rejected")]
    SessionRejected,
    #[serde(rename = "session.resubmission_requested")]
    ResubmissionRequested,
    #[serde(rename = "session.expired")]
    SessionExpired,
    #[serde(rename = "session.redacted")]
    SessionRedacted,
}

impl EventType {
    /// The event announcing a decision with this outcome.
    pub fn decided(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Approved => Self::SessionApproved,
            Outcome::Rejected => Self::SessionRejected,
        }
    }
}

/// An event waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxEvent {
    /// `evt_` + milliseconds since the epoch (12 hex digits) + 80 random bits: unique, and in
    /// creation order as text. Webhook deliveries use it as `webhook-id`.
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub session_id: SessionId,
    pub tenant_id: TenantId,
    /// The session's status after the change.
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<StepId>,
    /// Who decided, on `session.approved` / `session.rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The session's risk score after the change, once its checks ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u8>,
    /// Whether the session is a live-mode one (test-mode events reach test-mode endpoints only).
    #[serde(default)]
    pub livemode: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    pub created_at: Timestamp,
}

impl OutboxEvent {
    /// A new event id, ordered by creation time.
    pub fn mint_id(at_millis: u128) -> String {
        let mut random = [0u8; 10];
        getrandom::fill(&mut random).expect("the operating system's random source failed");
        format!("evt_{:012x}{}", at_millis & 0xffff_ffff_ffff, hex::encode(random))
    }

    /// The event's name as webhooks carry it (`session.completed`).
    pub fn type_name(&self) -> String {
        serde_json::to_value(self.event_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}
