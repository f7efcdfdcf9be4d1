//! The document-extraction port (Amazon Textract in live mode, local text-layer parsing and
//! sandbox answers in test mode).

use crate::domain::extraction::{DocumentKind, Extraction};
use async_trait::async_trait;

/// What to extract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractionRequest {
    pub object_key: String,
    pub mime_type: String,
    pub file_name: String,
    pub kind: DocumentKind,
    /// Today's date, to resolve two-digit MRZ years.
    pub today: time::Date,
}

/// Why extraction produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum ExtractionError {
    /// The document holds nothing this extractor can read; the message is safe to show.
    #[error("{0}")]
    Unreadable(String),
    /// The provider failed or answered nonsense; the cause is for logs only.
    #[error("extraction provider failed: {0:#}")]
    Provider(#[from] anyhow::Error),
}

/// Reads identity data from a stored document.
#[async_trait]
pub trait Extractor: Send + Sync {
    async fn extract(&self, request: &ExtractionRequest) -> Result<Extraction, ExtractionError>;
}
