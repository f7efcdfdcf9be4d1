//! The `Idempotency-Key` layer of the tenant API: a thin adapter around the core service
//! ([`Services::claim_idempotency_key`](kyc_core::services::Services::claim_idempotency_key)).
//!
//! On `POST`, `PATCH` and `DELETE` under `/v1/` with an `Idempotency-Key` header, the layer
//! authenticates the caller once (and hands the [`TenantPrincipal`] to the
//! [`Tenant`](crate::extract::Tenant) extractor, so the handler costs no second lookup), claims
//! the key, runs the handler and keeps its response; a retry gets that response back,
//! byte-identical, with `Idempotent-Replayed: true`. Requests without the header pass through
//! untouched and cost nothing extra. Handlers know nothing of it.

use crate::error::ApiError;
use crate::extract::bearer;
use crate::AppState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kyc_core::domain::idempotency::IdempotencyKey;
use kyc_core::services::{Idempotency, IdempotentRequest, StoredResponse};

/// The request header carrying the client's key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header marking a replayed answer.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// Largest request body a keyed request may have (axum's default limit for JSON bodies).
const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

/// Middleware: makes keyed mutating tenant requests idempotent (see the module docs).
pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mutating = matches!(*request.method(), Method::POST | Method::PATCH | Method::DELETE);
    let tenant_route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_owned())
        .filter(|route| route.starts_with("/v1/"));
    let (Some(route), true) = (tenant_route, mutating) else {
        return next.run(request).await;
    };
    if !request.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(request).await;
    }
    match keyed(&state, &route, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn keyed(state: &AppState, route: &str, request: Request, next: Next) -> Result<Response, ApiError> {
    // Authentication first: a caller without a valid key learns only that (401), whatever else
    // is wrong with the request.
    let caller = state.services.authenticate(bearer(request.headers())?).await?;
    let key = presented_key(&request)?;
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(caller.clone());
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "Request body is too large")
    })?;
    let path_and_query = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str()).to_owned();
    let claim = state
        .services
        .claim_idempotency_key(
            &caller,
            IdempotentRequest {
                key: &key,
                method: parts.method.as_str(),
                route,
                path_and_query: &path_and_query,
                body: &body,
            },
        )
        .await?;
    let claim = match claim {
        Idempotency::Replay(stored) => return Ok(replay(stored)),
        Idempotency::Execute(claim) => claim,
    };

    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            // The handler's answer is lost; release the key so that a retry runs again.
            tracing::error!(error = %err, "reading a response body failed");
            let failed = StoredResponse { status: 500, content_type: None, body: Vec::new() };
            if let Err(err) = state.services.finish_idempotent(claim, &failed).await {
                tracing::error!(error = format!("{err:#}"), "releasing an idempotency key failed");
            }
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "Internal server error",
            ));
        }
    };
    let kept = StoredResponse {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    if let Err(err) = state.services.finish_idempotent(claim, &kept).await {
        // The request ran; its answer goes out even if it could not be kept for retries.
        tracing::error!(error = format!("{err:#}"), "keeping an idempotent response failed");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The one `Idempotency-Key` header, checked.
fn presented_key(request: &Request) -> Result<IdempotencyKey, ApiError> {
    let mut values = request.headers().get_all(IDEMPOTENCY_KEY).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::validation("Send at most one Idempotency-Key header"));
    };
    let text = value.to_str().map_err(|_| {
        kyc_core::Error::validation("Idempotency-Key must be 1 to 255 printable ASCII characters")
    })?;
    Ok(IdempotencyKey::parse(text)?)
}

/// The kept answer, as it was first sent, marked as a replay.
fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(value) = stored.content_type.and_then(|text| HeaderValue::from_str(&text).ok()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}
