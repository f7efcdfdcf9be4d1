//! The published index: an immutable index object in the blob store, named by a pointer item in
//! the table that every screening function reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use kyc_core::codec::{self, keys};
use kyc_core::domain::screening::ScreeningIndexPointer;
use kyc_core::domain::time::Timestamp;
use kyc_core::ports::table::{AttributeValue, Condition, StoreError};
use kyc_core::ports::{Blobs, Table};
use sha2::{Digest, Sha256};

use crate::index::{Index, IndexError, IndexStats};
use crate::source::ListId;

/// Key prefix of the index objects (outside the upload prefix: no presigned URL writes there).
pub const OBJECT_PREFIX: &str = "screening/index/";
/// Largest index object a function loads (the real lists make a few MB).
pub const MAX_OBJECT_BYTES: usize = 64 * 1024 * 1024;

/// Failures to read or publish the index; the caller keeps the index it has.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    #[error("reading or writing the index pointer failed: {0}")]
    Table(#[from] StoreError),
    #[error("the index pointer cannot be read: {0}")]
    Pointer(#[from] codec::CodecError),
    #[error("reading or writing the index object failed: {0}")]
    Blobs(#[from] kyc_core::ports::blobs::BlobError),
    #[error("the index object {key} does not match its pointer's digest")]
    Digest { key: String },
    #[error("the index object {key} is larger than {MAX_OBJECT_BYTES} bytes")]
    TooLarge { key: String },
    #[error("the index object cannot be loaded: {0}")]
    Index(#[from] IndexError),
    #[error("another refresh published version {0} first")]
    Raced(String),
}

/// Reads and publishes the index through the table and blob ports.
#[derive(Clone)]
pub struct IndexStore {
    table: Arc<dyn Table>,
    blobs: Arc<dyn Blobs>,
}

impl IndexStore {
    pub fn new(table: Arc<dyn Table>, blobs: Arc<dyn Blobs>) -> Self {
        Self { table, blobs }
    }

    /// The pointer in service; `None` before the first refresh.
    pub async fn current(&self) -> Result<Option<ScreeningIndexPointer>, StoreFailure> {
        match self.table.get(&keys::screening_index()).await? {
            Some(item) => Ok(Some(codec::decode(item)?)),
            None => Ok(None),
        }
    }

    /// Loads the index a pointer names, refusing an object whose bytes are not the published ones.
    pub async fn load(&self, pointer: &ScreeningIndexPointer) -> Result<Index, StoreFailure> {
        let key = &pointer.object_key;
        let bytes = self.blobs.read_prefix(key, MAX_OBJECT_BYTES + 1).await?;
        if bytes.len() > MAX_OBJECT_BYTES {
            return Err(StoreFailure::TooLarge { key: key.clone() });
        }
        if hex::encode(Sha256::digest(&bytes)) != pointer.sha256 {
            return Err(StoreFailure::Digest { key: key.clone() });
        }
        Ok(Index::from_bytes(&bytes)?)
    }

    /// Publishes an index: writes its object, then swaps the pointer on the condition that
    /// `previous` is still the one in service, then deletes the object `previous` had replaced.
    /// An index with the same bytes as `previous` is not written again.
    pub async fn publish(
        &self,
        index: &Index,
        previous: Option<&ScreeningIndexPointer>,
        at: Timestamp,
    ) -> Result<Publication, StoreFailure> {
        let bytes = index.to_bytes();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(previous) = previous.filter(|p| p.sha256 == sha256) {
            return Ok(Publication::Unchanged(previous.clone()));
        }
        let stamp = at.rfc3339().replace(['-', ':'], "");
        let version = format!("{stamp}-{}", &sha256[..12]);
        let object_key = format!("{OBJECT_PREFIX}{version}.json");
        self.blobs.put(&object_key, bytes, "application/json").await?;
        let pointer = ScreeningIndexPointer {
            version,
            object_key,
            sha256,
            entries: entry_counts(&index.stats()),
            published_at: at,
            previous_object_key: previous.map(|p| p.object_key.clone()),
        };
        let condition = match previous {
            Some(previous) => {
                Condition::AttrEquals("version".into(), AttributeValue::S(previous.version.clone()))
            }
            None => Condition::ItemAbsent,
        };
        match self.table.put(codec::screening_index_item(&pointer)?, condition).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => {
                // The object is nobody's: the winner's pointer names its own.
                self.blobs.delete(&pointer.object_key).await?;
                let winner = self.current().await?.map(|p| p.version).unwrap_or_default();
                return Err(StoreFailure::Raced(winner));
            }
            Err(error) => return Err(error.into()),
        }
        if let Some(stale) = previous.and_then(|p| p.previous_object_key.as_deref()) {
            self.blobs.delete(stale).await?;
        }
        Ok(Publication::New(pointer))
    }
}

/// What a publication left in service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Publication {
    /// A new index, under this pointer.
    New(ScreeningIndexPointer),
    /// The lists had not changed: the pointer in service stays.
    Unchanged(ScreeningIndexPointer),
}

/// The pointer's entry counts, by list name.
fn entry_counts(stats: &IndexStats) -> BTreeMap<String, u64> {
    stats.counts.iter().map(|(list, &count)| (list.as_str().to_owned(), count as u64)).collect()
}

/// The stats a pointer recorded, for the refresh guard (lists this build no longer knows are
/// left out).
pub fn pointer_stats(pointer: &ScreeningIndexPointer) -> IndexStats {
    let counts = ListId::ALL
        .iter()
        .filter_map(|&list| pointer.entries.get(list.as_str()).map(|&n| (list, n as usize)))
        .collect();
    IndexStats { counts }
}
