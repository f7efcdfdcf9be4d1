//! The published sanctions index: which index object the screening functions load.

use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The table item naming the index in service. The refresh writes a new index object first,
/// then swaps this pointer with a condition on the version it replaced, so two refreshes never
/// both win and a reader never sees a pointer to an object that is not written yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningIndexPointer {
    /// Publication time and content digest, e.g. `20261202T060000Z-3f2a9c1b7d4e`: what checks
    /// report as the lists they screened against.
    pub version: String,
    /// The index object in the blob store.
    pub object_key: String,
    /// SHA-256 of the index object, checked when a function loads it.
    pub sha256: String,
    /// Entries per list (`ofac_sdn`, `un_consolidated`, …).
    pub entries: BTreeMap<String, u64>,
    pub published_at: Timestamp,
    /// The object this pointer replaced, kept for readers that loaded the old pointer, and
    /// deleted when the next index replaces this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_object_key: Option<String>,
}
