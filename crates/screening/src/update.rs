//! The scheduled refresh: download each configured official list, parse it, build one index,
//! and publish it unless the guard finds it broken. Any failure keeps the index in service.

use kyc_core::domain::time::Timestamp;
use kyc_core::ports::downloads::{DownloadError, FileDownloader};

use crate::index::{check_refresh, Index, RefreshPolicy, RefreshRefused};
use crate::source::{ListId, SourceError};
use crate::store::{pointer_stats, IndexStore, Publication, StoreFailure};

/// One configured list: its format and where its official file is downloaded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListUrl {
    pub list: ListId,
    pub url: String,
}

/// Why a refresh published nothing; the previous index stays in service.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("no sanctions list is configured")]
    NoLists,
    #[error("downloading {list} failed: {source}")]
    Download { list: ListId, source: DownloadError },
    #[error("{list} could not be read: {source}")]
    Parse { list: ListId, source: SourceError },
    #[error("the new index was refused: {0}")]
    Refused(#[from] RefreshRefused),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// Downloads and parses every list, then publishes the index they make if the guard accepts it
/// against the one in service.
pub async fn update_lists(
    store: &IndexStore,
    downloader: &dyn FileDownloader,
    lists: &[ListUrl],
    policy: RefreshPolicy,
    at: Timestamp,
) -> Result<Publication, UpdateError> {
    if lists.is_empty() {
        return Err(UpdateError::NoLists);
    }
    let mut entries = Vec::new();
    for ListUrl { list, url } in lists {
        let list = *list;
        let bytes =
            downloader.download(url).await.map_err(|source| UpdateError::Download { list, source })?;
        let parsed = list.source().parse(&bytes).map_err(|source| UpdateError::Parse { list, source })?;
        tracing::info!(%list, bytes = bytes.len(), entries = parsed.len(), "sanctions list downloaded");
        entries.extend(parsed);
    }
    let index = Index::build(entries);
    let current = store.current().await?;
    check_refresh(current.as_ref().map(pointer_stats).as_ref(), &index.stats(), policy)?;
    Ok(store.publish(&index, current.as_ref(), at).await?)
}
