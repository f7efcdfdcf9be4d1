//! Where a session stands step by step: which steps apply (conditional logic), which are done,
//! which step comes next. Pure functions of the session's items.

use crate::codec::SessionItems;
use crate::domain::ids::StepId;
use crate::domain::session::{StepRecord, StepStatus};
use crate::domain::workflow::Step;

/// The effective status of every step of a session, in workflow order.
pub(crate) struct Progress<'a> {
    pub(crate) steps: Vec<(&'a Step, StepStatus)>,
}

impl<'a> Progress<'a> {
    pub(crate) fn of(items: &'a SessionItems) -> Self {
        let steps = items
            .session
            .workflow
            .steps
            .iter()
            .map(|step| {
                let status = if !applies(step, items) {
                    StepStatus::Skipped
                } else {
                    items.step(&step.step_id).map_or(StepStatus::Pending, |record| record.status)
                };
                (step, status)
            })
            .collect();
        Self { steps }
    }

    pub(crate) fn status(&self, step: &StepId) -> StepStatus {
        self.steps.iter().find(|(s, _)| &s.step_id == step).map_or(StepStatus::Pending, |(_, status)| *status)
    }

    /// The first required step before `step` that is still open.
    pub(crate) fn blocker_before(&self, step: &StepId) -> Option<&'a Step> {
        self.steps
            .iter()
            .take_while(|(s, _)| &s.step_id != step)
            .find(|(s, status)| s.required && !is_done(*status))
            .map(|(s, _)| *s)
    }

    /// Whether every required step that applies is completed.
    pub(crate) fn all_required_done(&self) -> bool {
        self.steps.iter().all(|(s, status)| !s.required || is_done(*status))
    }

    /// The first step after `step` that applies and is not completed.
    pub(crate) fn next_after(&self, step: &StepId) -> Option<&'a Step> {
        self.steps
            .iter()
            .skip_while(|(s, _)| &s.step_id != step)
            .skip(1)
            .find(|(_, status)| !is_done(*status))
            .map(|(s, _)| *s)
    }

    /// The first step that needs correction, other than `except`.
    pub(crate) fn next_correction(&self, except: &StepId) -> Option<&'a Step> {
        self.steps
            .iter()
            .find(|(s, status)| &s.step_id != except && *status == StepStatus::NeedsCorrection)
            .map(|(s, _)| *s)
    }

    /// 0-based index of the first step still to do (`total_steps` when none is left).
    pub(crate) fn current_index(&self) -> usize {
        self.steps.iter().position(|(_, status)| !is_done(*status)).unwrap_or(self.steps.len())
    }
}

fn is_done(status: StepStatus) -> bool {
    matches!(status, StepStatus::Completed | StepStatus::Skipped)
}

/// A step applies unless its `conditional_logic` names an earlier field whose stored value differs.
fn applies(step: &Step, items: &SessionItems) -> bool {
    let Some(logic) = &step.conditional_logic else { return true };
    items
        .step(&logic.step_id)
        .and_then(|record| record.form_data.as_ref())
        .and_then(|data| data.get(logic.field_id.as_str()))
        == Some(&logic.equals)
}

impl SessionItems {
    /// These items with one step record replaced (to evaluate progress after a change).
    pub(crate) fn with_step(&self, record: StepRecord) -> SessionItems {
        let mut next = self.clone();
        next.steps.retain(|s| s.step_id != record.step_id);
        next.steps.push(record);
        next
    }
}
