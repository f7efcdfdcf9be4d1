//! Extractors whose rejections answer in the envelope instead of axum's plain text.

use crate::error::ApiError;
use crate::key_use::KeyUse;
use crate::AppState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use kyc_core::domain::tenant::TenantPrincipal;
use serde::de::DeserializeOwned;

/// A JSON body; malformed or mistyped bodies are a 400 `VALIDATION_ERROR` naming the problem.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::validation("Content-Type must be application/json"));
        }
        let bytes = match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "Request body is too large",
                ))
            }
            Err(rejection) => {
                return Err(ApiError::validation(format!("Invalid body: {}", rejection.body_text())))
            }
        };
        // Every body of this API is an object; serde would also read a struct from an array of
        // its fields in order (Schemathesis found `[null, null]` creating a session).
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::validation("Invalid JSON body: expected a JSON object"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                Err(ApiError::validation(format!("Invalid JSON body: {}", rejection.body_text())))
            }
        }
    }
}

/// `application/json`, or a `+json` type, as axum's own JSON extractor accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Path parameters; a segment that cannot be decoded (bad percent-encoding, not UTF-8) is a 400
/// `VALIDATION_ERROR` in the envelope.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection: PathRejection| {
                ApiError::validation(format!("Invalid path: {}", rejection.body_text()))
            })
    }
}

/// A query string; bad parameters are a 400 `VALIDATION_ERROR`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::validation(format!("Invalid query string: {}", rejection.body_text()))
            })
    }
}

/// The tenant calling the tenant API, from `Authorization: Bearer sk_…`.
///
/// A layer that already authenticated the request (the idempotency layer) leaves the
/// [`TenantPrincipal`] in the request's extensions; it is used as is, without a second lookup.
/// When the key's `last_used_at` is due, its update starts here (see [`crate::key_use`]).
pub struct Tenant(pub TenantPrincipal);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = match parts.extensions.get::<TenantPrincipal>() {
            Some(principal) => principal.clone(),
            None => state.services.authenticate(bearer(&parts.headers)?).await?,
        };
        if let (Some(slot), true) = (parts.extensions.get::<KeyUse>(), state.services.key_use_due(&principal))
        {
            let (services, caller) = (state.services.clone(), principal.clone());
            slot.hold(tokio::spawn(async move {
                if let Err(err) = services.record_key_use(&caller).await {
                    tracing::error!(error = format!("{err:#}"), "recording an API key's use failed");
                }
            }));
        }
        Ok(Self(principal))
    }
}

/// The secret of `Authorization: Bearer …`.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, kyc_core::Error> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(kyc_core::Error::Unauthorized)
}
