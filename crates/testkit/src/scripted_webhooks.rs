//! A webhook sender whose answers a test scripts, keeping every request it was given.

use async_trait::async_trait;
use kyc_core::ports::webhook_sender::{OutboundRequest, OutboundResponse, SendError, WebhookSender};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Answers each request with the next scripted status (200 once the script runs out).
#[derive(Default)]
pub struct ScriptedWebhooks {
    script: Mutex<VecDeque<Result<u16, &'static str>>>,
    requests: Mutex<Vec<OutboundRequest>>,
}

impl ScriptedWebhooks {
    /// Queues answers: `Ok(status)`, or `Err(reason)` for a connection that fails.
    pub fn answer(&self, answers: impl IntoIterator<Item = Result<u16, &'static str>>) {
        self.script.lock().unwrap().extend(answers);
    }

    /// Every request sent so far, oldest first.
    pub fn requests(&self) -> Vec<OutboundRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The value of one header of a request.
    pub fn header<'a>(request: &'a OutboundRequest, name: &str) -> Option<&'a str> {
        request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[async_trait]
impl WebhookSender for ScriptedWebhooks {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, SendError> {
        self.requests.lock().unwrap().push(request);
        match self.script.lock().unwrap().pop_front().unwrap_or(Ok(200)) {
            Ok(status) => Ok(OutboundResponse { status, body_prefix: b"ok".to_vec(), retry_after: None }),
            Err(reason) => Err(SendError::Connection(reason.into())),
        }
    }
}
