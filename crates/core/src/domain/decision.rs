//! The verdict on a session: approved or rejected, by a reviewer or by the workflow's automatic
//! resolution, with reasons from a fixed catalogue.

use super::ids::ApiKeyId;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Rejected,
}

/// Who decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A reviewer, through the tenant API.
    Manual,
    /// The workflow's `resolution_config`, when the last step completed.
    Automatic,
}

/// Why a session was decided the way it was: the catalogue reviewers choose from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReasonLabel {
    DocumentUnreadable,
    DocumentExpired,
    DataMismatch,
    FaceMismatch,
    LivenessFailed,
    SuspectedFraud,
    Underage,
    Other,
}

impl ReasonLabel {
    /// Every label, in catalogue order.
    pub const ALL: [ReasonLabel; 8] = [
        Self::DocumentUnreadable,
        Self::DocumentExpired,
        Self::DataMismatch,
        Self::FaceMismatch,
        Self::LivenessFailed,
        Self::SuspectedFraud,
        Self::Underage,
        Self::Other,
    ];

    /// What the end user reads when a rejection carries this reason. It never names the
    /// reviewer's suspicion (fraud reads as a generic refusal).
    pub fn customer_message(self) -> &'static str {
        match self {
            Self::DocumentUnreadable => "We could not read your identity document.",
            Self::DocumentExpired => "Your identity document has expired.",
            Self::DataMismatch => "The details you entered do not match your identity document.",
            Self::FaceMismatch => "We could not confirm that your photo matches your identity document.",
            Self::LivenessFailed => "We could not complete the liveness check.",
            Self::Underage => "You do not meet the minimum age requirement.",
            Self::SuspectedFraud | Self::Other => "We could not verify your identity.",
        }
    }

    /// Whether the end user could fix this with a new attempt (so a reviewer would rather ask
    /// for a correction or a resubmission), or the decision on it is final.
    pub fn retry_allowed(self) -> bool {
        matches!(
            self,
            Self::DocumentUnreadable
                | Self::DocumentExpired
                | Self::DataMismatch
                | Self::FaceMismatch
                | Self::LivenessFailed
        )
    }
}

/// Longest reviewer note, in characters.
pub const MAX_NOTES_CHARS: usize = 2_000;

/// A decision on a session, stored on the session item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub outcome: Outcome,
    pub resolution: Resolution,
    pub decided_at: Timestamp,
    /// The API key the reviewer used (manual decisions); tenant-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer_key_id: Option<ApiKeyId>,
    /// Internal notes; tenant-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<ReasonLabel>,
    /// The automatic decision a reviewer overrode (at most once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub overrides: Option<Box<Decision>>,
}

impl Decision {
    /// The workflow's own decision.
    pub fn automatic(outcome: Outcome, at: Timestamp) -> Self {
        Self {
            outcome,
            resolution: Resolution::Automatic,
            decided_at: at,
            reviewer_key_id: None,
            notes: None,
            reasons: Vec::new(),
            overrides: None,
        }
    }

    /// Whether a human made (or overrode) this decision: after that it is final.
    pub fn is_human(&self) -> bool {
        self.resolution == Resolution::Manual
    }

    /// What the end user may read of it: the customer-facing text of each reason of a rejection.
    pub fn customer_reasons(&self) -> Vec<&'static str> {
        if self.outcome != Outcome::Rejected {
            return Vec::new();
        }
        let mut texts: Vec<&'static str> = Vec::new();
        for reason in &self.reasons {
            let text = reason.customer_message();
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
        texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_a_customer_message_without_internal_words() {
        for label in ReasonLabel::ALL {
            let message = label.customer_message().to_lowercase();
            assert!(!message.is_empty());
            assert!(!message.contains("fraud") && !message.contains("review"), "{label:?}: {message}");
        }
    }

    #[test]
    fn labels_spell_as_the_api_documents_them() {
        let names: Vec<String> = ReasonLabel::ALL
            .iter()
            .map(|l| serde_json::to_value(l).unwrap().as_str().unwrap().into())
            .collect();
        assert_eq!(
            names,
            [
                "document_unreadable",
                "document_expired",
                "data_mismatch",
                "face_mismatch",
                "liveness_failed",
                "suspected_fraud",
                "underage",
                "other"
            ]
        );
        assert!(!ReasonLabel::SuspectedFraud.retry_allowed() && ReasonLabel::DocumentExpired.retry_allowed());
    }

    #[test]
    fn only_a_rejection_shows_reasons_to_the_end_user_each_once() {
        let at = Timestamp::from_unix(1_700_000_000).unwrap();
        let mut decision = Decision::automatic(Outcome::Rejected, at);
        decision.reasons = vec![ReasonLabel::SuspectedFraud, ReasonLabel::Other, ReasonLabel::Underage];
        assert_eq!(
            decision.customer_reasons(),
            ["We could not verify your identity.", "You do not meet the minimum age requirement."]
        );
        decision.outcome = Outcome::Approved;
        assert!(decision.customer_reasons().is_empty());
    }
}
