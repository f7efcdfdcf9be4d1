//! The queue that carries webhook deliveries to the delivery function on AWS (Amazon SQS). Locally
//! there is none: the dev server reads the due-delivery index instead.

use crate::domain::webhooks::WebhookEndpointId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One delivery to attempt: an event for an endpoint (the queue message's body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub endpoint_id: WebhookEndpointId,
    pub event_id: String,
}

/// Failures of the queue; causes are for logs only.
#[derive(Debug, thiserror::Error)]
#[error("delivery queue failed: {0:#}")]
pub struct QueueError(#[from] pub anyhow::Error);

impl From<QueueError> for crate::Error {
    fn from(error: QueueError) -> Self {
        crate::Error::Unexpected(error.into())
    }
}

/// Sends deliveries to be attempted as soon as possible.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError>;
}
