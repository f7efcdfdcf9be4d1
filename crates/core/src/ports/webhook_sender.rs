//! The outbound HTTP port webhook deliveries go through. The adapter resolves the host itself and
//! connects only to addresses the request's [`AddressPolicy`] allows (the address it connects to
//! is the one it checked), follows no redirect, and gives up after the timeout.

use crate::domain::webhooks::AddressPolicy;
use async_trait::async_trait;
use std::time::Duration;

/// One signed POST.
#[derive(Clone, Debug)]
pub struct OutboundRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
    pub policy: AddressPolicy,
}

/// The receiver's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundResponse {
    pub status: u16,
    /// At most the first 1,024 bytes of the body.
    pub body_prefix: Vec<u8>,
    /// `Retry-After` in seconds, when the receiver sent one.
    pub retry_after: Option<u64>,
}

/// Why no answer came. Messages are safe to show to the tenant (no internal detail).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The host resolves only to addresses the policy refuses.
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connection(String),
}

/// Sends webhook requests.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, SendError>;
}
