//! Screening against the published index, loaded lazily: nothing is read until the first screen,
//! and the pointer is read again at most once per recheck interval, so a warm function follows
//! each refresh within minutes at one table read per interval.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kyc_core::ports::screener::{Screener, ScreenerError, Screening, ScreeningSubject};
use kyc_core::ports::Clock;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::matching::Threshold;
use crate::screener::IndexScreener;
use crate::store::IndexStore;

/// How often a warm function reads the pointer again.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(5 * 60);

/// The index a function has loaded, and when it last compared it with the pointer.
struct Loaded {
    version: String,
    screener: Arc<IndexScreener>,
    checked_at: OffsetDateTime,
}

/// Screens against whichever index the pointer names, keeping the one it has when a newer one
/// cannot be loaded: a broken read never leaves a warm function without lists.
pub struct PublishedScreener {
    store: IndexStore,
    clock: Arc<dyn Clock>,
    threshold: Threshold,
    recheck: Duration,
    loaded: Mutex<Option<Loaded>>,
}

impl PublishedScreener {
    pub fn new(store: IndexStore, clock: Arc<dyn Clock>, threshold: Threshold, recheck: Duration) -> Self {
        Self { store, clock, threshold, recheck, loaded: Mutex::new(None) }
    }

    /// The screener of the current index, reading the pointer (and loading a new index) when
    /// the last check is older than the recheck interval.
    async fn current(&self) -> Result<Arc<IndexScreener>, ScreenerError> {
        let mut loaded = self.loaded.lock().await;
        let now = self.clock.now();
        if let Some(current) = loaded.as_ref().filter(|l| now - l.checked_at < self.recheck) {
            return Ok(Arc::clone(&current.screener));
        }
        let fresh = self.refreshed(loaded.as_ref()).await;
        match (fresh, loaded.as_mut()) {
            (Ok(Some((version, screener))), _) => {
                *loaded = Some(Loaded { version, screener: Arc::clone(&screener), checked_at: now });
                Ok(screener)
            }
            (Ok(None), Some(current)) => {
                current.checked_at = now;
                Ok(Arc::clone(&current.screener))
            }
            (Ok(None), None) => {
                Err(ScreenerError(anyhow::anyhow!("no sanctions index has been published yet")))
            }
            (Err(error), Some(current)) => {
                tracing::warn!(error = %error, version = %current.version, "keeping the loaded sanctions index");
                current.checked_at = now;
                Ok(Arc::clone(&current.screener))
            }
            (Err(error), None) => Err(ScreenerError(error)),
        }
    }

    /// The version and screener of a newly loaded index, when the pointer names another version
    /// than `loaded`'s.
    async fn refreshed(
        &self,
        loaded: Option<&Loaded>,
    ) -> anyhow::Result<Option<(String, Arc<IndexScreener>)>> {
        let Some(pointer) = self.store.current().await? else { return Ok(None) };
        if loaded.is_some_and(|l| l.version == pointer.version) {
            return Ok(None);
        }
        let index = self.store.load(&pointer).await?;
        tracing::info!(version = %pointer.version, entries = index.entries().len(), "sanctions index loaded");
        let screener = IndexScreener::new(index, pointer.version.clone(), self.threshold);
        Ok(Some((pointer.version, Arc::new(screener))))
    }
}

#[async_trait]
impl Screener for PublishedScreener {
    async fn screen(&self, subject: &ScreeningSubject) -> Result<Screening, ScreenerError> {
        self.current().await?.screen(subject).await
    }
}
