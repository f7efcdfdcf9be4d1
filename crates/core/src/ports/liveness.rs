//! The face-liveness provider port (Amazon Rekognition Face Liveness in live mode).
//!
//! Test-mode sessions never reach a provider: they use the sandbox outcomes of
//! [`crate::domain::liveness`].

use async_trait::async_trait;

/// Where a provider session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderStatus {
    Created,
    InProgress,
    Succeeded,
    Failed,
    Expired,
}

/// A provider's verdict on one liveness session.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderResult {
    pub status: ProviderStatus,
    /// 0–100.
    pub confidence: Option<f64>,
    /// Object key of the reference image the provider wrote to the documents bucket.
    pub reference_image_key: Option<String>,
}

/// Failures of the provider; causes are for logs only.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("liveness provider failed: {0:#}")]
    Backend(#[from] anyhow::Error),
}

impl From<ProviderError> for crate::Error {
    fn from(error: ProviderError) -> Self {
        crate::Error::Unexpected(error.into())
    }
}

/// Face liveness and face comparison.
#[async_trait]
pub trait LivenessProvider: Send + Sync {
    /// Starts a provider session whose images are written under `output_prefix`; returns its id
    /// (the id the browser's liveness SDK needs).
    async fn create_session(&self, output_prefix: &str) -> Result<String, ProviderError>;
    /// The verdict of a provider session.
    async fn results(&self, session_id: &str) -> Result<ProviderResult, ProviderError>;
    /// Similarity (0–100) of the largest face in `source_key` to the best match in `target_key`,
    /// or `None` when no face matches.
    async fn compare_faces(&self, source_key: &str, target_key: &str) -> Result<Option<f64>, ProviderError>;
}
