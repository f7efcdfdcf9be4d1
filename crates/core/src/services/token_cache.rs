//! Warm-function cache of token hash → session id, so a public read costs one Query.
//!
//! The cache is only a hint: the session item returned by that Query carries the hash of the
//! token that currently opens it, and a mismatch (regenerated or revoked token) is refused.

use crate::domain::ids::SessionId;
use crate::domain::secrets::SecretHash;
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept before the cache starts over; a Lambda instance serves far fewer sessions.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<SecretHash, SessionId>>,
}

impl TokenCache {
    pub(crate) fn get(&self, hash: &SecretHash) -> Option<SessionId> {
        self.entries.lock().ok()?.get(hash).copied()
    }

    pub(crate) fn insert(&self, hash: SecretHash, session: SessionId) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(hash, session);
        }
    }

    pub(crate) fn forget(&self, hash: &SecretHash) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }
}
