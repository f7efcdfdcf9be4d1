//! The document extractors that do not call AWS: the PDF text-layer reader, which answers every
//! test-mode session and live ones off AWS, in the functions built with the `extraction`
//! feature (extract, uploads, tenant: the routes that extract).
//!
//! The other functions (sessions, liveness, subsessions) never extract and leave the PDF parser
//! out of their binaries; their services get an extractor that refuses, should a route ever
//! reach it.

use kyc_core::ports::{Blobs, Extractor};
use std::sync::Arc;

/// The extractor of test-mode sessions: the text layer, or a labelled sandbox answer for images.
pub fn test_mode(blobs: &Arc<dyn Blobs>) -> Arc<dyn Extractor> {
    reader(blobs, true)
}

/// The extractor of live sessions whose documents AWS cannot read (local files, an S3 emulator).
pub fn off_aws(blobs: &Arc<dyn Blobs>) -> Arc<dyn Extractor> {
    reader(blobs, false)
}

#[cfg(feature = "extraction")]
fn reader(blobs: &Arc<dyn Blobs>, test_mode: bool) -> Arc<dyn Extractor> {
    Arc::new(kyc_local::LocalExtractor::new(blobs.clone(), test_mode))
}

#[cfg(not(feature = "extraction"))]
fn reader(_: &Arc<dyn Blobs>, _: bool) -> Arc<dyn Extractor> {
    Arc::new(Unavailable)
}

/// Refuses every extraction, in a function built without the `extraction` feature.
#[cfg(not(feature = "extraction"))]
struct Unavailable;

#[cfg(not(feature = "extraction"))]
#[async_trait::async_trait]
impl Extractor for Unavailable {
    async fn extract(
        &self,
        _: &kyc_core::ports::extractor::ExtractionRequest,
    ) -> Result<kyc_core::domain::extraction::Extraction, kyc_core::ports::extractor::ExtractionError> {
        Err(anyhow::anyhow!(
            "this function is built without document extraction (cargo feature `extraction`)"
        )
        .into())
    }
}
