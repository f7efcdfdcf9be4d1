//! The webhook delivery queue on Amazon SQS: one message per delivery, whose visibility timeout
//! schedules its next attempt (a failed attempt hides the message until the retry is due).

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use kyc_core::ports::delivery_queue::{DeliveryQueue, QueueError, QueuedDelivery};

/// SQS's longest visibility timeout (12 hours): a longer wait is served in several hops.
pub const MAX_VISIBILITY_SECONDS: u64 = 12 * 3600;

/// A client for one SQS queue, optionally at an emulator's `endpoint`.
pub fn sqs_client(shared: &aws_config::SdkConfig, endpoint: Option<&str>) -> Client {
    let mut config = aws_sdk_sqs::config::Builder::from(shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

/// The queue the fan-out and the sweeper send to and the delivery function reads.
#[derive(Clone, Debug)]
pub struct SqsDeliveryQueue {
    client: Client,
    queue_url: String,
}

impl SqsDeliveryQueue {
    /// The queue at `queue_url`, reached with `client`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }

    /// Hides a received message for `seconds` (at most 12 hours), so it comes back when its
    /// delivery's next attempt is due.
    pub async fn delay(&self, receipt_handle: &str, seconds: u64) -> Result<(), QueueError> {
        let seconds = i32::try_from(seconds.min(MAX_VISIBILITY_SECONDS)).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| {
                QueueError(anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))
            })?;
        Ok(())
    }
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError> {
        for batch in deliveries.chunks(10) {
            let mut entries = Vec::with_capacity(batch.len());
            for (index, delivery) in batch.iter().enumerate() {
                let body = serde_json::to_string(delivery).map_err(|e| QueueError(e.into()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError(e.into()))?;
                entries.push(entry);
            }
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    QueueError(anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))
                })?;
            if let Some(failed) = sent.failed().first() {
                return Err(QueueError(anyhow::anyhow!(
                    "SQS refused {} of {} messages: {}",
                    sent.failed().len(),
                    batch.len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(())
    }
}
