//! A live-mode liveness provider whose answers a test scripts, counting the calls it gets.

use async_trait::async_trait;
use kyc_core::ports::liveness::{LivenessProvider, ProviderError, ProviderResult, ProviderStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Answers `results` with the scripted verdict (a confident success by default) and
/// `compare_faces` with the scripted similarity (none by default).
pub struct ScriptedLiveness {
    verdict: Mutex<ProviderResult>,
    similarity: Mutex<Option<f64>>,
    results_calls: AtomicUsize,
}

impl Default for ScriptedLiveness {
    fn default() -> Self {
        Self {
            verdict: Mutex::new(ProviderResult {
                status: ProviderStatus::Succeeded,
                confidence: Some(99.5),
                reference_image_key: Some("reference.jpg".into()),
            }),
            similarity: Mutex::new(None),
            results_calls: AtomicUsize::new(0),
        }
    }
}

impl ScriptedLiveness {
    /// The verdict every later `results` call returns.
    pub fn answer(&self, status: ProviderStatus, confidence: Option<f64>) {
        let mut verdict = self.verdict.lock().unwrap_or_else(|e| e.into_inner());
        verdict.status = status;
        verdict.confidence = confidence;
    }

    /// The similarity every later `compare_faces` call returns.
    pub fn similarity(&self, similarity: Option<f64>) {
        *self.similarity.lock().unwrap_or_else(|e| e.into_inner()) = similarity;
    }

    /// How many times `results` was called.
    pub fn results_calls(&self) -> usize {
        self.results_calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl LivenessProvider for ScriptedLiveness {
    async fn create_session(&self, _output_prefix: &str) -> Result<String, ProviderError> {
        Ok(uuid::Uuid::new_v4().to_string())
    }

    async fn results(&self, _session_id: &str) -> Result<ProviderResult, ProviderError> {
        self.results_calls.fetch_add(1, Ordering::SeqCst);
        Ok(self.verdict.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    async fn compare_faces(&self, _source: &str, _target: &str) -> Result<Option<f64>, ProviderError> {
        Ok(*self.similarity.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
