//! Liveness attempts (`LIVENESS#…` items) and the sandbox outcomes test-mode sessions use.

use super::ids::StepId;
use super::time::Timestamp;
use crate::ports::liveness::{ProviderResult, ProviderStatus};
use serde::{Deserialize, Serialize};

/// Where an attempt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Pending,
    Passed,
    Failed,
    Expired,
    /// Set aside by a resubmission of its step: neither a pass nor a failure any more.
    Superseded,
}

/// A deterministic outcome of a test-mode liveness check, chosen by the frontend developer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SandboxOutcome {
    /// Succeeds with confidence 99.2.
    #[default]
    Pass,
    /// Succeeds with confidence 42.0, below any sensible threshold.
    FailLowConfidence,
    /// The provider session expired before the user finished.
    Expired,
    /// The user has not finished yet.
    InProgress,
}

impl SandboxOutcome {
    /// What a provider would have answered.
    pub fn result(self, reference_image_key: String) -> ProviderResult {
        let (status, confidence) = match self {
            SandboxOutcome::Pass => (ProviderStatus::Succeeded, Some(99.2)),
            SandboxOutcome::FailLowConfidence => (ProviderStatus::Succeeded, Some(42.0)),
            SandboxOutcome::Expired => (ProviderStatus::Expired, None),
            SandboxOutcome::InProgress => (ProviderStatus::InProgress, None),
        };
        let reference_image_key = (status == ProviderStatus::Succeeded).then_some(reference_image_key);
        ProviderResult { status, confidence, reference_image_key }
    }
}

/// One liveness attempt of a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LivenessAttempt {
    /// The provider's session id (the one the browser SDK uses).
    pub liveness_session_id: String,
    /// The session's version after the attempt started: orders attempts.
    pub sequence: u64,
    pub step_id: StepId,
    pub status: AttemptStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_image_key: Option<String>,
    /// Set on test-mode attempts only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_outcome: Option<SandboxOutcome>,
    /// Similarity of the reference image to the ID document's portrait (face match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_similarity: Option<f64>,
    /// Why a failed attempt failed; tenant-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

impl LivenessAttempt {
    /// Whether the attempt counts against the step's attempt cap.
    pub fn is_failure(&self) -> bool {
        matches!(self.status, AttemptStatus::Failed | AttemptStatus::Expired)
    }
}
