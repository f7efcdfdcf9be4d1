//! Webhook delivery on AWS: the handlers of the fan-out function (DynamoDB stream records of outbox
//! events, and of deliveries a tenant asked to send now) and of the delivery function (SQS
//! messages of deliveries), and the queue they share.
//! Both answer with partial batch failures, so one bad record is retried alone.

use crate::config::Config;
use kyc_aws::SqsDeliveryQueue;
use kyc_core::domain::history::OutboxEvent;
use kyc_core::domain::webhooks::{DeliveryRecord, DeliveryStatus};
use kyc_core::ports::delivery_queue::{DeliveryQueue, QueuedDelivery};
use kyc_core::ports::table::{Item, Key};
use kyc_core::services::{AttemptResult, Services};
use serde_json::{json, Value};
use std::sync::Arc;

/// The webhook queue the config names.
pub async fn webhook_queue(config: &Config) -> anyhow::Result<SqsDeliveryQueue> {
    let queue = config.webhook_queue.as_ref().ok_or_else(|| {
        anyhow::anyhow!("KYC_WEBHOOK_QUEUE_URL is not set: the webhook functions need their queue")
    })?;
    let client = kyc_aws::sqs_client(crate::AWS.get().await, queue.endpoint.as_deref());
    Ok(SqsDeliveryQueue::new(client, &queue.url))
}

/// The services of a delivering process: they send webhooks over HTTPS.
pub fn delivering(services: kyc_core::services::Services) -> Services {
    services.with_webhook_sender(Arc::new(kyc_outbound::HttpWebhookSender::new()))
}

/// Fans out the outbox events of a DynamoDB stream batch and queues their deliveries (and queues
/// the deliveries a tenant retried or tested by hand). A record
/// that fails is reported by its sequence number, and the stream retries it (fan-out and
/// enqueueing are both safe to repeat).
pub async fn fan_out_stream_batch(services: &Services, queue: &dyn DeliveryQueue, event: &Value) -> Value {
    let mut failures = Vec::new();
    for record in event["Records"].as_array().into_iter().flatten() {
        let sequence = record["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_owned();
        if let Err(error) = fan_out_record(services, queue, record).await {
            tracing::error!(sequence = %sequence, error = %error, "fan-out failed; the stream retries it");
            failures.push(json!({"itemIdentifier": sequence}));
        }
    }
    json!({"batchItemFailures": failures})
}

async fn fan_out_record(
    services: &Services,
    queue: &dyn DeliveryQueue,
    record: &Value,
) -> anyhow::Result<()> {
    let image: Item = serde_json::from_value(record["dynamodb"]["NewImage"].clone())?;
    let key = Key::of(&image)?;
    if key.sk.starts_with("EVENT#") {
        let event: OutboxEvent = kyc_core::codec::decode(image)?;
        let deliveries = services.fan_out(&key, &event).await?;
        queue.enqueue(&deliveries).await?;
    } else if key.sk.starts_with("DELIVERY#") {
        // A tenant's manual retry or test event: queued at once rather than by the sweeper.
        let delivery: DeliveryRecord = kyc_core::codec::decode(image)?;
        if delivery.manual_retry && delivery.status == DeliveryStatus::Pending {
            queue
                .enqueue(&[QueuedDelivery { endpoint_id: delivery.endpoint_id, event_id: delivery.event_id }])
                .await?;
        }
    }
    // The stream filter sends nothing else.
    Ok(())
}

/// Attempts the deliveries of an SQS batch. A delivered (or abandoned) one is done; one that
/// failed, or is not due yet, stays in the queue, hidden until its next attempt is due.
pub async fn deliver_queue_batch(services: &Services, queue: &SqsDeliveryQueue, event: &Value) -> Value {
    let mut failures = Vec::new();
    for message in event["Records"].as_array().into_iter().flatten() {
        let id = message["messageId"].as_str().unwrap_or_default().to_owned();
        let receipt = message["receiptHandle"].as_str().unwrap_or_default();
        let delivery: Result<QueuedDelivery, _> =
            serde_json::from_str(message["body"].as_str().unwrap_or_default());
        let Ok(delivery) = delivery else {
            tracing::error!(message_id = %id, "a queue message that is not a delivery; dropped");
            continue;
        };
        let retry_in = match services.attempt_delivery(&delivery.endpoint_id, &delivery.event_id).await {
            Ok(AttemptResult::RetryIn(seconds) | AttemptResult::NotDue(seconds)) => Some(seconds),
            Ok(_) => None,
            Err(error) => {
                tracing::error!(message_id = %id, error = %error, "delivery attempt failed; retried");
                Some(60)
            }
        };
        if let Some(seconds) = retry_in {
            if let Err(error) = queue.delay(receipt, seconds).await {
                // The message comes back after the queue's own visibility timeout instead.
                tracing::warn!(message_id = %id, error = %error, "could not delay the message");
            }
            failures.push(json!({"itemIdentifier": id}));
        }
    }
    json!({"batchItemFailures": failures})
}
