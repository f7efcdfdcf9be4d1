//! Keeps each API key's `last_used_at` without putting a write on the request's critical path.
//!
//! The key's item is read by every authenticated request anyway (that read is the revocation
//! check), so the request knows when the key was last recorded. When that is a minute old or
//! more, the [`Tenant`](crate::extract::Tenant) extractor starts the conditional update as a task
//! running beside the handler, and this layer waits for it after the handler has answered, before
//! handing the response back. Waiting matters on Lambda, where a task left running after the
//! response may be frozen with the sandbox; running beside the handler keeps it off the critical
//! path. At most one UpdateItem per key per minute; its failure is logged, never sent.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The slot in which the extractor leaves the running update.
#[derive(Clone, Default)]
pub struct KeyUse(Arc<Mutex<Option<JoinHandle<()>>>>);

impl KeyUse {
    /// Hands over a started update, to be waited for once the handler has answered.
    pub fn hold(&self, task: JoinHandle<()>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(task);
        }
    }

    fn take(&self) -> Option<JoinHandle<()>> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Middleware: offers the slot to the request and waits for the update it holds, if any.
pub async fn key_use(mut request: Request, next: Next) -> Response {
    let slot = KeyUse::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    if let Some(task) = slot.take() {
        if let Err(err) = task.await {
            tracing::error!(error = %err, "recording an API key's use panicked");
        }
    }
    response
}
