//! Reviewer-requested corrections (`CORR#…` items).

use super::document::DocId;
use super::ids::{ApiKeyId, DocumentType, FieldId, StepId};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

crate::domain::ids::minted_id!(
    /// A correction request.
    CorrectionId,
    "corr_"
);

/// Whether the end user still has to act on a correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CorrectionStatus {
    Open,
    Resolved,
}

/// One thing a reviewer asked the end user to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectionRecord {
    pub id: CorrectionId,
    pub step_id: StepId,
    pub field_ids: Vec<FieldId>,
    pub document_types: Vec<DocumentType>,
    /// Guidance for the end user.
    pub message: String,
    pub status: CorrectionStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// The API key that asked; tenant-only.
    pub requested_by: ApiKeyId,
    /// Reviewer's note to colleagues; tenant-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_note: Option<String>,
    /// The documents of the requested types that existed when the correction was made: the end
    /// user must upload new ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_documents: Vec<DocId>,
}

impl CorrectionRecord {
    pub fn is_open(&self) -> bool {
        self.status == CorrectionStatus::Open
    }
}
