//! Automatic resolution: whether a session whose last required step completed can be decided
//! without a reviewer. A pure function of the session's items, kept behind one entry point so the
//! verification checks and risk score can replace the rule without touching the write paths.

use super::progress::Progress;
use crate::codec::SessionItems;
use crate::domain::decision::Outcome;
use crate::domain::liveness::AttemptStatus;
use crate::domain::session::{SessionStatus, StepStatus};
use crate::domain::workflow::StepType;

/// What automatic resolution concludes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The session can be decided now.
    Decided(Outcome),
    /// A reviewer must look; the reason is for logs and tests.
    NeedsReview(String),
}

/// The rule until verification checks exist: approve when every required step is done, every
/// liveness step that was attempted ended with a pass (face match included: a mismatch fails the
/// attempt), and no related party's session was rejected, expired or canceled. Nothing is
/// rejected automatically.
pub(crate) fn verdict(items: &SessionItems) -> Verdict {
    let progress = Progress::of(items);
    if !progress.all_required_done() {
        return Verdict::NeedsReview("required steps are still open".into());
    }
    for (step, status) in &progress.steps {
        if step.step_type != StepType::Liveness || *status == StepStatus::Skipped {
            continue;
        }
        let latest = items
            .liveness
            .iter()
            .filter(|a| a.step_id == step.step_id && a.status != AttemptStatus::Pending)
            .filter(|a| a.status != AttemptStatus::Superseded)
            .max_by_key(|a| a.sequence);
        if let Some(attempt) = latest.filter(|a| a.status != AttemptStatus::Passed) {
            return Verdict::NeedsReview(format!(
                "the last liveness attempt of step '{}' is {:?}",
                step.step_id, attempt.status
            ));
        }
    }
    let failed_party = items.subsessions.iter().find(|s| {
        matches!(s.status, SessionStatus::Rejected | SessionStatus::Expired | SessionStatus::Canceled)
    });
    if let Some(party) = failed_party {
        return Verdict::NeedsReview(format!("related party '{}' is {}", party.label, party.status));
    }
    Verdict::Decided(Outcome::Approved)
}
