//! Uploaded documents of a session (`DOC#…` items).

use super::ids::{DocumentType, StepId};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

crate::domain::ids::minted_id!(
    /// A document of a session.
    DocId,
    "doc_"
);

/// Where an upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// An upload URL was issued; the bytes are not verified yet.
    Pending,
    /// The object exists and passed verification.
    Confirmed,
    /// A later confirmed upload of the same type took its place (`allow_multiple: false`).
    Replaced,
}

/// One document of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentRecord {
    pub doc_id: DocId,
    pub step_id: StepId,
    pub document_type: DocumentType,
    pub file_name: String,
    pub mime_type: String,
    pub status: DocumentStatus,
    /// Storage key of the object; never shown in public session state. For a confirmed
    /// presigned upload, the pinned copy that was verified (no upload URL can write it).
    pub object_key: String,
    /// The key the presigned upload URL writes to (under `pending/`); absent for base64 uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_key: Option<String>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Largest size the upload may have (pending uploads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Identity data read from the document, once extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<super::extraction::Extraction>,
}

impl DocumentRecord {
    pub fn is_confirmed(&self) -> bool {
        self.status == DocumentStatus::Confirmed
    }
}
