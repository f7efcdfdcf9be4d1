//! Erasing a session's personal data on request (GDPR Art. 17) while keeping its operational
//! record: what each stored record becomes once redacted (its tombstone), as pure functions.
//!
//! A tombstone keeps ids, the workflow and its version, statuses and timestamps, the decision's
//! outcome and reasons, each check's name and outcome, and the audit trail (which never holds
//! values). Everything an end user or a reviewer typed or a provider read is replaced by
//! [`REDACTED`]; form fields and metadata keep their keys so the record still says what was asked.

use super::checks::VerificationReport;
use super::correction::CorrectionRecord;
use super::decision::Decision;
use super::document::DocumentRecord;
use super::ids::ApiKeyId;
use super::liveness::LivenessAttempt;
use super::session::{SessionRecord, StepRecord, SubsessionRecord};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What replaces every erased value.
pub const REDACTED: &str = "[redacted]";

/// Where a session's redaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RedactionStatus {
    /// Requested: the session is closed and its tokens revoked; objects and values are being erased.
    InProgress,
    /// Every object is deleted and every personal value replaced.
    Redacted,
}

/// A session's redaction: who asked, when, and whether it is finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redaction {
    pub status: RedactionStatus,
    pub requested_at: Timestamp,
    /// The API key that asked; `None` when the retention sweeper did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<ApiKeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

impl Redaction {
    /// A redaction just asked for.
    pub fn requested(at: Timestamp, by: Option<ApiKeyId>) -> Self {
        Self { status: RedactionStatus::InProgress, requested_at: at, requested_by: by, completed_at: None }
    }

    /// The same redaction, finished at `at`.
    pub fn completed(&self, at: Timestamp) -> Self {
        Self { status: RedactionStatus::Redacted, completed_at: Some(at), ..self.clone() }
    }
}

fn marker() -> Value {
    Value::String(REDACTED.into())
}

/// Every value replaced, keys kept.
fn redact_map(map: &mut Map<String, Value>) {
    for value in map.values_mut() {
        *value = marker();
    }
}

/// The session item's personal values: metadata, reviewer notes, check evidence and reasons.
pub fn redact_session(session: &mut SessionRecord) {
    if let Some(metadata) = &mut session.metadata {
        redact_map(metadata);
    }
    if let Some(decision) = &mut session.decision {
        redact_decision(decision);
    }
    if let Some(report) = &mut session.verification {
        redact_report(report);
    }
}

fn redact_decision(decision: &mut Decision) {
    if decision.notes.is_some() {
        decision.notes = Some(REDACTED.into());
    }
    if let Some(overridden) = &mut decision.overrides {
        redact_decision(overridden);
    }
}

/// Check names, outcomes and the score stay; what they read (evidence, explanations) goes.
fn redact_report(report: &mut VerificationReport) {
    for check in &mut report.checks {
        check.evidence.clear();
        check.reason = REDACTED.into();
    }
    for contribution in &mut report.contributions {
        contribution.why = REDACTED.into();
    }
}

/// Form values.
pub fn redact_step(step: &mut StepRecord) {
    if let Some(form) = &mut step.form_data {
        redact_map(form);
    }
}

/// The file name and everything read from the document; the object itself is deleted separately.
pub fn redact_document(document: &mut DocumentRecord) {
    document.file_name = REDACTED.into();
    document.extraction = None;
}

/// The reviewer's message and internal note.
pub fn redact_correction(correction: &mut CorrectionRecord) {
    correction.message = REDACTED.into();
    if correction.internal_note.is_some() {
        correction.internal_note = Some(REDACTED.into());
    }
}

/// A related party's label (often a name) and metadata.
pub fn redact_subsession(subsession: &mut SubsessionRecord) {
    subsession.label = REDACTED.into();
    if let Some(metadata) = &mut subsession.metadata {
        redact_map(metadata);
    }
}

/// The reference image goes with the objects; scores and outcomes stay.
pub fn redact_liveness(attempt: &mut LivenessAttempt) {
    attempt.reference_image_key = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_keep_their_keys_and_lose_every_value() {
        let mut map =
            json!({"full_name": "Ada", "nested": {"a": 1}, "list": ["x"]}).as_object().unwrap().clone();
        redact_map(&mut map);
        assert_eq!(Value::Object(map), json!({"full_name": REDACTED, "nested": REDACTED, "list": REDACTED}));
    }

    #[test]
    fn a_completed_redaction_keeps_who_asked_and_when() {
        let asked = Timestamp::from_unix(1_700_000_000).expect("a time");
        let done = Timestamp::from_unix(1_700_000_060).expect("a time");
        let redaction = Redaction::requested(asked, None).completed(done);
        assert_eq!(redaction.status, RedactionStatus::Redacted);
        assert_eq!((redaction.requested_at, redaction.completed_at), (asked, Some(done)));
    }
}
