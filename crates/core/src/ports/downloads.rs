//! Downloads of public files named by the operator (the official sanctions lists).

use async_trait::async_trait;

/// Why a file could not be downloaded; the caller keeps what it had.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("invalid download URL: {0}")]
    InvalidUrl(String),
    #[error("connection failed: {0}")]
    Connection(String),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("too many redirects")]
    TooManyRedirects,
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
    #[error("no answer within {0} seconds")]
    Timeout(u64),
}

/// Fetches a whole file by URL.
#[async_trait]
pub trait FileDownloader: Send + Sync {
    async fn download(&self, url: &str) -> Result<Vec<u8>, DownloadError>;
}
