//! The object store port (S3 on AWS, the filesystem locally).
//!
//! Uploads go straight from the browser to the store through a presigned PUT URL that is bound
//! to the object key, the content type, an expiry and, when the client declared it, the exact
//! size. What a store cannot enforce on the PUT itself (S3 cannot cap the size of a presigned
//! PUT whose size was not declared) is checked again when the upload is confirmed, from
//! [`ObjectMeta`] and the object's first bytes.
//!
//! Upload URLs only ever target keys under [`PENDING_PREFIX`]. A confirmed upload is pinned by
//! [`Blobs::copy`]ing it to a key outside that prefix, which no URL can write: the bytes that
//! were checked are the bytes that stay.

use async_trait::async_trait;
use time::OffsetDateTime;

/// Size and declared type of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
}

/// First segment of the keys upload URLs write to; objects there are unconfirmed and expire
/// after a day (an S3 lifecycle rule; the dev server's sweeper locally).
pub const PENDING_PREFIX: &str = "pending/";

/// What a presigned PUT URL allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutGrant {
    pub key: String,
    pub content_type: String,
    /// Largest body allowed (enforced by stores that can, re-checked at confirmation).
    pub max_bytes: u64,
    /// The exact body size, when the client declared it: a signed `Content-Length`, so the
    /// store itself refuses a body of any other size.
    pub size_bytes: Option<u64>,
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
    /// Copies an object, bytes and content type, to another key (server-side on S3); replaces
    /// what `to` held. Copying a missing object fails.
    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError>;
    /// Deletes an object; deleting a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}
