//! Sanctions screening as the configuration asks: the published index (loaded lazily), the
//! committed fixture lists, or none; and the refresh of the official lists.

use crate::config::ScreeningLists;
use crate::Config;
use kyc_core::ports::screener::Screener;
use kyc_core::ports::{Blobs, Clock, Table};
use kyc_screening::published::{PublishedScreener, DEFAULT_RECHECK};
use kyc_screening::screener::IndexScreener;
use kyc_screening::store::IndexStore;
use std::sync::Arc;

/// The screener of the deployment; `None` with `KYC_SCREENING=off`. Nothing is read until the
/// first screen.
pub(crate) fn screener(
    config: &Config,
    table: &Arc<dyn Table>,
    blobs: &Arc<dyn Blobs>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Option<Arc<dyn Screener>>> {
    Ok(match config.screening {
        ScreeningLists::Published => Some(Arc::new(PublishedScreener::new(
            IndexStore::new(Arc::clone(table), Arc::clone(blobs)),
            Arc::clone(clock),
            config.screening_threshold,
            DEFAULT_RECHECK,
        ))),
        ScreeningLists::Fixtures => {
            Some(Arc::new(IndexScreener::fixtures()?.with_threshold(config.screening_threshold)))
        }
        ScreeningLists::Off => None,
    })
}

/// Downloads the configured lists and publishes their index unless it looks broken (the
/// refresh function's whole job). An error leaves the index in service untouched.
#[cfg(feature = "screening-refresh")]
pub async fn refresh_lists(config: &Config) -> anyhow::Result<kyc_screening::store::Publication> {
    use kyc_core::domain::time::Timestamp;
    use kyc_core::ports::SystemClock;
    use std::time::Duration;

    /// The largest list file accepted (the OFAC SDN XML is about 30 MB).
    const MAX_LIST_BYTES: usize = 200 * 1024 * 1024;
    /// One download's deadline, well inside the function's timeout.
    const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);
    let (table, blobs) = crate::storage(config).await?;
    let downloader = kyc_outbound::download::HttpDownloader::new(MAX_LIST_BYTES, DOWNLOAD_TIMEOUT);
    Ok(kyc_screening::update::update_lists(
        &IndexStore::new(table, blobs),
        &downloader,
        &config.screening_refresh.lists,
        config.screening_refresh.policy,
        Timestamp::from_datetime(SystemClock.now()),
    )
    .await?)
}
