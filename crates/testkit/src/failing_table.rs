//! A [`Table`] that fails one chosen write, for tests that a crash at any step loses nothing.

use async_trait::async_trait;
use kyc_core::ports::table::{Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Forwards to another table, except that the `n`-th write after [`fail_write`](Self::fail_write)
/// fails with a backend error (and writes nothing), as a crash or an outage would.
pub struct FailingTable {
    inner: Arc<dyn Table>,
    /// Writes left before the failing one; 0 means no failure is armed.
    countdown: AtomicUsize,
}

impl FailingTable {
    /// Wraps `inner`, with no failure armed.
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, countdown: AtomicUsize::new(0) }
    }

    /// Arms a failure of the `n`-th write from now (1 = the next one).
    pub fn fail_write(&self, n: usize) {
        self.countdown.store(n, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        let before = self.countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match before {
            Ok(1) => Err(StoreError::Backend(anyhow::anyhow!("injected failure"))),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Table for FailingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put(item, condition).await
    }

    async fn update(&self, update: Update) -> Result<(), StoreError> {
        self.check()?;
        self.inner.update(update).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.check()?;
        self.inner.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
}
