//! Sessions: one end user's walk through a pinned workflow version, and the state machine that
//! governs it.
//!
//! ```text
//!                  steps done                      decide: a reviewer, or the workflow
//!   active ─────────────────────► manual_review ─── when it resolves automatically ───► approved | rejected
//!     │                             │        ▲                                             │   ▲
//!     │   corrections requested,    │        │ corrections resolved                        │   │ override: a reviewer
//!     │   resubmission              ▼        │ (correction_resolution = manual_review)     │   │ replaces an automatic
//!     │                   awaiting_client_correction ◄──────── resubmission ───────────────┘   │ decision, once
//!     │                             │        ▲  (before any human decision)                    │
//!     │   corrections resolved      │        │ corrections requested, resubmission             │
//!     │   (auto_process, completed) ▼        │                                                 │
//!     │                          completed ─────────────── decide (a reviewer) ────────────────┘
//!     │                             └──► processing ──► manual_review | approved | rejected
//!     ├──► expired   (time runs out while active or awaiting_client_correction; the sweeper stores it)
//!     └──► canceled  (the tenant cancels a session that is not approved, rejected, expired or canceled)
//! ```

use super::checks::VerificationReport;
use super::decision::{Decision, Outcome};
use super::ids::{SessionId, StepId, TenantId, WorkflowId};
use super::secrets::{Mode, SecretHash};
use super::time::Timestamp;
use super::workflow::{CorrectionResolution, WorkflowDefinition};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// The end user is working through the steps.
    Active,
    /// A reviewer asked the end user to fix some steps.
    AwaitingClientCorrection,
    /// Waiting for a reviewer's decision.
    ManualReview,
    /// Automatic checks are running.
    Processing,
    /// Every step is done and no review is pending.
    Completed,
    Approved,
    Rejected,
    /// The end user did not finish in time.
    Expired,
    /// The tenant called it off.
    Canceled,
}

/// Something that moves a session from one status to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// The end user completed the last required step.
    StepsFinished,
    /// A reviewer asked for corrections.
    CorrectionsRequested,
    /// The end user fixed the last open correction.
    CorrectionsResolved(CorrectionResolution),
    /// Automatic processing started.
    ProcessingStarted,
    /// Automatic processing finished and wants a human decision.
    ProcessingNeedsReview,
    /// A reviewer's decision, or the workflow's automatic one, on a session waiting for one.
    Decide(Outcome),
    /// A reviewer's decision replacing an automatic one (the service checks that it was).
    Override(Outcome),
    /// The tenant reopened steps for the end user to redo (the service checks that no human
    /// decision was made).
    ResubmissionRequested,
    /// The session's time ran out.
    Expire,
    Cancel,
}

/// A transition the state machine does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a session that is {from} cannot take '{event:?}'")]
pub struct IllegalTransition {
    pub from: SessionStatus,
    pub event: SessionEvent,
}

impl SessionStatus {
    /// The one transition function of the session state machine.
    pub fn on(self, event: SessionEvent) -> Result<SessionStatus, IllegalTransition> {
        use SessionEvent as E;
        use SessionStatus as S;
        let decided = |outcome| match outcome {
            Outcome::Approved => S::Approved,
            Outcome::Rejected => S::Rejected,
        };
        let next = match (self, event) {
            (S::Active, E::StepsFinished) => S::ManualReview,
            (S::ManualReview | S::Completed, E::CorrectionsRequested) => S::AwaitingClientCorrection,
            (S::AwaitingClientCorrection, E::CorrectionsResolved(mode)) => match mode {
                CorrectionResolution::ManualReview => S::ManualReview,
                CorrectionResolution::AutoProcess | CorrectionResolution::Completed => S::Completed,
            },
            (S::Completed, E::ProcessingStarted) => S::Processing,
            (S::Processing, E::ProcessingNeedsReview) => S::ManualReview,
            (S::ManualReview | S::Completed | S::Processing, E::Decide(outcome)) => decided(outcome),
            (S::Approved | S::Rejected, E::Override(outcome)) => decided(outcome),
            (
                S::ManualReview
                | S::Completed
                | S::Processing
                | S::AwaitingClientCorrection
                | S::Approved
                | S::Rejected,
                E::ResubmissionRequested,
            ) => S::AwaitingClientCorrection,
            (S::Active | S::AwaitingClientCorrection, E::Expire) => S::Expired,
            (s, E::Cancel) if !s.is_final() => S::Canceled,
            (from, event) => return Err(IllegalTransition { from, event }),
        };
        Ok(next)
    }

    /// Final statuses: the end user and the tenant's cancel can no longer change them. Only a
    /// reviewer may still override or reopen an *automatic* decision, once.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected | Self::Expired | Self::Canceled)
    }

    /// Whether the end user can still change the session.
    pub fn accepts_end_user_input(self) -> bool {
        matches!(self, Self::Active | Self::AwaitingClientCorrection)
    }

    /// Whether the session's public link still answers at all.
    pub fn is_publicly_visible(self) -> bool {
        !matches!(self, Self::Expired | Self::Canceled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::AwaitingClientCorrection => "awaiting_client_correction",
            Self::ManualReview => "manual_review",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Canceled => "canceled",
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one step of a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    InProgress,
    Completed,
    NeedsCorrection,
    /// The step's `conditional_logic` does not hold; computed on read, never stored.
    Skipped,
}

/// The stored session (its `META` item), including the workflow snapshot it pins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionRecord {
    pub session_id: SessionId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub workflow_id: WorkflowId,
    pub workflow_version: u32,
    pub workflow: WorkflowDefinition,
    pub status: SessionStatus,
    /// Optimistic-locking counter: every change writes `version + 1` on condition of `version`.
    pub version: u64,
    /// Hash of the one access token that currently opens this session.
    pub token_hash: SecretHash,
    /// Unix seconds after which the public link stops working.
    pub expires_at: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Set on a subsession: the session and step that collected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// Where the hosted frontend sends the end user when done (else the workflow's
    /// `completion_redirect_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The verdict, once approved or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The checks and risk score, computed when the end user finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationReport>,
    /// Set once the tenant (or retention) asked to erase the session's personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<super::redaction::Redaction>,
}

/// Where a subsession (a related party's session) belongs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParentLink {
    pub session_id: SessionId,
    pub step_id: StepId,
}

/// A parent's record of one of its subsessions (`SUB#…` item in the parent's partition). Its
/// `status` mirrors the child's, updated in the same transaction as every change of the child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubsessionRecord {
    pub subsession_id: SessionId,
    /// The parent's version after the creation: orders subsessions by creation.
    pub sequence: u64,
    pub step_id: StepId,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub workflow_id: WorkflowId,
    pub workflow_version: u32,
    pub status: SessionStatus,
    pub expires_at: i64,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// How many times the link was regenerated: the current link's token derives from it.
    #[serde(default)]
    pub link_generation: u32,
}

impl SubsessionRecord {
    /// The child's status as of `now` (a live child past its expiry reads as `expired`).
    pub fn status_at(&self, now: Timestamp) -> SessionStatus {
        if self.status.accepts_end_user_input() && now.unix() >= self.expires_at {
            SessionStatus::Expired
        } else {
            self.status
        }
    }
}

impl SessionStatus {
    /// Whether the end user has finished: every status after the last step, except failures.
    pub fn is_finished_by_end_user(self) -> bool {
        matches!(self, Self::ManualReview | Self::Processing | Self::Completed | Self::Approved)
    }
}

impl SessionRecord {
    /// The status as of `now`: a live session whose time ran out reads as `expired` even before a
    /// sweeper persists it.
    pub fn status_at(&self, now: Timestamp) -> SessionStatus {
        if self.status.accepts_end_user_input() && now.unix() >= self.expires_at {
            SessionStatus::Expired
        } else {
            self.status
        }
    }
}

/// The stored progress of one step (`STEP#…` item). Steps without an item are pending.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepRecord {
    pub step_id: StepId,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_data: Option<serde_json::Map<String, serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::SessionEvent as E;
    use super::SessionStatus as S;
    use super::*;

    const ALL: [S; 9] = [
        S::Active,
        S::AwaitingClientCorrection,
        S::ManualReview,
        S::Processing,
        S::Completed,
        S::Approved,
        S::Rejected,
        S::Expired,
        S::Canceled,
    ];

    const EVENTS: [E; 14] = [
        E::StepsFinished,
        E::CorrectionsRequested,
        E::CorrectionsResolved(CorrectionResolution::ManualReview),
        E::CorrectionsResolved(CorrectionResolution::AutoProcess),
        E::CorrectionsResolved(CorrectionResolution::Completed),
        E::ProcessingStarted,
        E::ProcessingNeedsReview,
        E::Decide(Outcome::Approved),
        E::Decide(Outcome::Rejected),
        E::Override(Outcome::Approved),
        E::Override(Outcome::Rejected),
        E::ResubmissionRequested,
        E::Expire,
        E::Cancel,
    ];

    const APPROVE: E = E::Decide(Outcome::Approved);
    const REJECT: E = E::Decide(Outcome::Rejected);

    /// The whole transition table: every (status, event) pair not listed here must be refused.
    fn allowed() -> Vec<(S, E, S)> {
        vec![
            (S::Active, E::StepsFinished, S::ManualReview),
            (S::ManualReview, E::CorrectionsRequested, S::AwaitingClientCorrection),
            (S::Completed, E::CorrectionsRequested, S::AwaitingClientCorrection),
            (
                S::AwaitingClientCorrection,
                E::CorrectionsResolved(CorrectionResolution::ManualReview),
                S::ManualReview,
            ),
            (
                S::AwaitingClientCorrection,
                E::CorrectionsResolved(CorrectionResolution::AutoProcess),
                S::Completed,
            ),
            (
                S::AwaitingClientCorrection,
                E::CorrectionsResolved(CorrectionResolution::Completed),
                S::Completed,
            ),
            (S::Completed, E::ProcessingStarted, S::Processing),
            (S::Processing, E::ProcessingNeedsReview, S::ManualReview),
            (S::ManualReview, APPROVE, S::Approved),
            (S::Completed, APPROVE, S::Approved),
            (S::Processing, APPROVE, S::Approved),
            (S::ManualReview, REJECT, S::Rejected),
            (S::Completed, REJECT, S::Rejected),
            (S::Processing, REJECT, S::Rejected),
            (S::Approved, E::Override(Outcome::Approved), S::Approved),
            (S::Approved, E::Override(Outcome::Rejected), S::Rejected),
            (S::Rejected, E::Override(Outcome::Approved), S::Approved),
            (S::Rejected, E::Override(Outcome::Rejected), S::Rejected),
            (S::ManualReview, E::ResubmissionRequested, S::AwaitingClientCorrection),
            (S::Completed, E::ResubmissionRequested, S::AwaitingClientCorrection),
            (S::Processing, E::ResubmissionRequested, S::AwaitingClientCorrection),
            (S::AwaitingClientCorrection, E::ResubmissionRequested, S::AwaitingClientCorrection),
            (S::Approved, E::ResubmissionRequested, S::AwaitingClientCorrection),
            (S::Rejected, E::ResubmissionRequested, S::AwaitingClientCorrection),
            (S::Active, E::Expire, S::Expired),
            (S::AwaitingClientCorrection, E::Expire, S::Expired),
            (S::Active, E::Cancel, S::Canceled),
            (S::AwaitingClientCorrection, E::Cancel, S::Canceled),
            (S::ManualReview, E::Cancel, S::Canceled),
            (S::Processing, E::Cancel, S::Canceled),
            (S::Completed, E::Cancel, S::Canceled),
        ]
    }

    #[test]
    fn every_listed_transition_is_allowed_and_every_other_is_refused() {
        let table = allowed();
        for from in ALL {
            for event in EVENTS {
                let expected = table.iter().find(|(f, e, _)| *f == from && *e == event).map(|(_, _, to)| *to);
                match (from.on(event), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from} + {event:?}"),
                    (Err(err), None) => assert_eq!(err, IllegalTransition { from, event }),
                    (got, want) => panic!("{from} + {event:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn final_statuses_take_no_event_but_a_reviewers_override_or_resubmission() {
        for from in ALL.into_iter().filter(|s| s.is_final()) {
            for event in EVENTS {
                let reviewer_only = matches!(event, E::Override(_) | E::ResubmissionRequested);
                let decided = matches!(from, S::Approved | S::Rejected);
                assert_eq!(from.on(event).is_ok(), decided && reviewer_only, "{from} + {event:?}");
            }
        }
    }

    #[test]
    fn statuses_render_as_the_contract_spells_them() {
        for status in ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), serde_json::json!(status.as_str()));
        }
    }
}
