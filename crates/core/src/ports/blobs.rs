//! The object store port (S3 on AWS, the filesystem locally).
//!
//! Uploads go straight from the browser to the store through a presigned PUT URL that is bound
//! to the object key, the content type and an expiry. What a store cannot enforce on the PUT
//! itself (S3 does not cap the size of a presigned PUT) is checked again when the upload is
//! confirmed, from [`ObjectMeta`] and the object's first bytes.

use async_trait::async_trait;
use time::OffsetDateTime;

/// Size and declared type of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
}

/// What a presigned PUT URL allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutGrant {
    pub key: String,
    pub content_type: String,
    pub max_bytes: u64,
    pub expires_at: OffsetDateTime,
}

/// Failures of the object store; causes are for logs only.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid object store request: {0}")]
    Invalid(String),
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

impl From<BlobError> for crate::Error {
    fn from(error: BlobError) -> Self {
        crate::Error::Unexpected(anyhow::Error::new(error).context("object store failed"))
    }
}

/// The document store.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// A URL the browser can PUT the object to, as the grant allows.
    async fn presign_put(&self, grant: &PutGrant) -> Result<String, BlobError>;
    /// A short-lived URL to download an object (for reviewers).
    async fn presign_get(&self, key: &str, expires_at: OffsetDateTime) -> Result<String, BlobError>;
    /// Size and type of an object; `None` when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError>;
    /// Up to `len` bytes from the start of an object (for magic-number and header checks).
    async fn read_prefix(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError>;
    /// Hex SHA-256 of a whole object.
    async fn sha256(&self, key: &str) -> Result<String, BlobError>;
    /// Stores an object whose bytes passed through the API (legacy base64 uploads).
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError>;
    /// Deletes an object; deleting a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}
