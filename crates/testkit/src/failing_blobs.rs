//! A [`Blobs`] store that fails one chosen delete, for tests that an interrupted erasure is
//! noticed and finished.

use async_trait::async_trait;
use kyc_core::ports::blobs::{BlobError, Blobs, ObjectMeta, PutGrant};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;

/// Forwards to another store, except that the `n`-th delete after
/// [`fail_delete`](Self::fail_delete) fails (and deletes nothing), as an outage would.
pub struct FailingBlobs {
    inner: Arc<dyn Blobs>,
    /// Deletes left before the failing one; 0 means no failure is armed.
    countdown: AtomicUsize,
}

impl FailingBlobs {
    /// Wraps `inner`, with no failure armed.
    pub fn new(inner: Arc<dyn Blobs>) -> Self {
        Self { inner, countdown: AtomicUsize::new(0) }
    }

    /// Arms a failure of the `n`-th delete from now (1 = the next one).
    pub fn fail_delete(&self, n: usize) {
        self.countdown.store(n, Ordering::SeqCst);
    }
}

#[async_trait]
impl Blobs for FailingBlobs {
    async fn presign_put(&self, grant: &PutGrant) -> Result<String, BlobError> {
        self.inner.presign_put(grant).await
    }

    async fn presign_get(&self, key: &str, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        self.inner.presign_get(key, expires_at).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        self.inner.head(key).await
    }

    async fn read_prefix(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError> {
        self.inner.read_prefix(key, len).await
    }

    async fn sha256(&self, key: &str) -> Result<String, BlobError> {
        self.inner.sha256(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.inner.put(key, bytes, content_type).await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        self.inner.copy(from, to).await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let before = self.countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if before == Ok(1) {
            return Err(BlobError::Backend(anyhow::anyhow!("injected failure")));
        }
        self.inner.delete(key).await
    }
}
