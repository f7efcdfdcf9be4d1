//! An `Extractor` wrapper that counts how often the provider is really asked.

use async_trait::async_trait;
use kyc_core::domain::extraction::Extraction;
use kyc_core::ports::extractor::{ExtractionError, ExtractionRequest, Extractor};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the calls that reach the wrapped extractor.
pub struct CountingExtractor {
    inner: Box<dyn Extractor>,
    calls: AtomicUsize,
}

impl CountingExtractor {
    /// Wraps an extractor.
    pub fn new(inner: impl Extractor + 'static) -> Self {
        Self { inner: Box::new(inner), calls: AtomicUsize::new(0) }
    }

    /// Calls so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Extractor for CountingExtractor {
    async fn extract(&self, request: &ExtractionRequest) -> Result<Extraction, ExtractionError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.extract(request).await
    }
}
