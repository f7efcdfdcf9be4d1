//! Business metrics: counts of verifications and paid provider calls, emitted as tracing events
//! with the target [`TARGET`]. Core knows nothing of CloudWatch; on Lambda the runtime turns these
//! events into embedded-metric-format log lines, which CloudWatch reads as metrics.

/// The tracing target of metric events.
pub const TARGET: &str = "kyc_metrics";

/// Counts one occurrence of `metric`, with one dimension (`dimension` = `value`).
pub(crate) fn count(metric: &'static str, dimension: &'static str, value: &str) {
    tracing::info!(target: "kyc_metrics", metric, dimension, value, count = 1u64);
}
