//! CloudWatch embedded metric format: the business metrics core emits (tracing events with the
//! target [`kyc_core::metrics::TARGET`]) become JSON log lines that CloudWatch Logs turns into
//! metrics of the `KYC` namespace, so no metrics API call is made on the request path.

use std::io::Write;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The namespace the metrics appear under.
pub const NAMESPACE: &str = "KYC";

/// Writes one EMF line per metric event to its writer (stdout on Lambda).
pub struct EmfLayer<W: Write + Send + 'static> {
    writer: Mutex<W>,
}

impl EmfLayer<std::io::Stdout> {
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }
}

impl<W: Write + Send + 'static> EmfLayer<W> {
    pub fn new(writer: W) -> Self {
        Self { writer: Mutex::new(writer) }
    }
}

#[derive(Default)]
struct MetricFields {
    metric: Option<String>,
    dimension: Option<String>,
    value: Option<String>,
    count: u64,
}

impl Visit for MetricFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "metric" => self.metric = Some(value.to_owned()),
            "dimension" => self.dimension = Some(value.to_owned()),
            "value" => self.value = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "count" {
            self.count = value;
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The EMF document of one metric event.
fn document(fields: &MetricFields, timestamp_ms: u128) -> Option<serde_json::Value> {
    let metric = fields.metric.as_deref()?;
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [fields.dimension.iter().collect::<Vec<_>>()],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
    });
    line[metric] = serde_json::json!(fields.count);
    if let (Some(dimension), Some(value)) = (&fields.dimension, &fields.value) {
        line[dimension.as_str()] = serde_json::json!(value);
    }
    Some(line)
}

impl<S: Subscriber, W: Write + Send + 'static> Layer<S> for EmfLayer<W> {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != kyc_core::metrics::TARGET {
            return;
        }
        let mut fields = MetricFields::default();
        event.record(&mut fields);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        if let Some(line) = document(&fields, now) {
            if let Ok(mut writer) = self.writer.lock() {
                let _ = writeln!(writer, "{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyc_testkit::Captured;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn a_metric_event_becomes_one_emf_line_and_other_events_none() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(EmfLayer::new(captured.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "kyc_metrics", metric = "VerificationsCompleted", dimension = "outcome", value = "approved", count = 1u64);
            tracing::info!(target: "kyc_core::services", "an ordinary log line");
        });

        let text = captured.text();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line = &lines[0];
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "KYC");
        assert_eq!(directive["Dimensions"], serde_json::json!([["outcome"]]));
        assert_eq!(
            directive["Metrics"][0],
            serde_json::json!({"Name": "VerificationsCompleted", "Unit": "Count"})
        );
        assert_eq!(
            (line["VerificationsCompleted"].clone(), line["outcome"].clone()),
            (serde_json::json!(1), serde_json::json!("approved"))
        );
        assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
