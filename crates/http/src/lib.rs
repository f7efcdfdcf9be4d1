//! HTTP layer: one axum router per route group, the JSON envelope, and the one place where core
//! errors become status codes.
//!
//! Every binary builds its router the same way: `app(routes, state)` adds the envelope fallbacks
//! and the request observer to the route group(s) it serves.

pub mod envelope;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod key_use;
pub mod observe;
pub mod openapi;
pub mod routes;

use axum::Router;
use kyc_core::services::Services;
use std::sync::Arc;

pub use observe::RequestId;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        Self { services: Arc::new(services) }
    }
}

/// Finishes one or more merged route groups into a servable app: unknown routes and methods
/// answer in the envelope, mutating tenant requests honour `Idempotency-Key`, and every request
/// is observed (request id, one log line; outermost, so idempotency answers carry the id too).
pub fn app(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn(key_use::key_use))
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state)
}
