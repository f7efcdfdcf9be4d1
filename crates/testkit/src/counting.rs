use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use kyc_core::ports::table::{Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp};

/// Round trips made through a [`CountingTable`], per kind of request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundTrips {
    /// Calls to [`Table::get`].
    pub get: usize,
    /// Calls to [`Table::put`].
    pub put: usize,
    /// Calls to [`Table::update`].
    pub update: usize,
    /// Calls to [`Table::delete`].
    pub delete: usize,
    /// Calls to [`Table::transact`].
    pub transact: usize,
    /// Calls to [`Table::query`] (one per page).
    pub query: usize,
}

impl RoundTrips {
    /// All round trips, whatever their kind.
    pub fn total(&self) -> usize {
        self.get + self.put + self.update + self.delete + self.transact + self.query
    }
}

/// A [`Table`] that forwards to another and counts every call, failed ones included.
pub struct CountingTable {
    inner: Arc<dyn Table>,
    get: AtomicUsize,
    put: AtomicUsize,
    update: AtomicUsize,
    delete: AtomicUsize,
    transact: AtomicUsize,
    query: AtomicUsize,
}

impl CountingTable {
    /// Wraps `inner`, with every count at zero.
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            get: AtomicUsize::new(0),
            put: AtomicUsize::new(0),
            update: AtomicUsize::new(0),
            delete: AtomicUsize::new(0),
            transact: AtomicUsize::new(0),
            query: AtomicUsize::new(0),
        }
    }

    /// The wrapped table (calls made on it directly are not counted).
    pub fn inner(&self) -> &Arc<dyn Table> {
        &self.inner
    }

    /// The round trips counted since creation or the last [`reset`](Self::reset).
    pub fn counts(&self) -> RoundTrips {
        RoundTrips {
            get: self.get.load(Ordering::SeqCst),
            put: self.put.load(Ordering::SeqCst),
            update: self.update.load(Ordering::SeqCst),
            delete: self.delete.load(Ordering::SeqCst),
            transact: self.transact.load(Ordering::SeqCst),
            query: self.query.load(Ordering::SeqCst),
        }
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for counter in [&self.get, &self.put, &self.update, &self.delete, &self.transact, &self.query] {
            counter.store(0, Ordering::SeqCst);
        }
    }

    fn bump(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

impl fmt::Debug for CountingTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingTable").field("counts", &self.counts()).finish_non_exhaustive()
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Self::bump(&self.get);
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        Self::bump(&self.put);
        self.inner.put(item, condition).await
    }

    async fn update(&self, update: Update) -> Result<(), StoreError> {
        Self::bump(&self.update);
        self.inner.update(update).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        Self::bump(&self.delete);
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        Self::bump(&self.transact);
        self.inner.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        Self::bump(&self.query);
        self.inner.query(query).await
    }
}
