//! Request observation: a request id for every answer and exactly one log line per request.
//!
//! The log names the route template (`/public/sessions/{access_token}`), never the raw path,
//! because public paths carry bearer tokens.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// A request id chosen upstream (API Gateway's, on Lambda). Without one, a local id is minted.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served (empty outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Now, as RFC 3339.
pub fn now_rfc3339() -> String {
    kyc_core::domain::time::Timestamp::from_datetime(time::OffsetDateTime::now_utc()).rfc3339()
}

/// Middleware: scope the request id, run the request, log the outcome once.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = match request.extensions().get::<RequestId>() {
        Some(RequestId(id)) => id.clone(),
        None => format!("req_{}", uuid::Uuid::new_v4().simple()),
    };
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "<unmatched>".to_owned());
    let mut response = REQUEST_ID.scope(request_id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id,
        "request"
    );
    response
}
