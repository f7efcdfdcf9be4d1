//! The error half of the envelope, and the single mapping from core errors to HTTP.

use crate::observe;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kyc_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer: status, stable code, and a message safe to show.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(message) => Self::not_found(message),
            Error::Validation(message) => Self::validation(message),
            Error::Conflict(message) => Self::new(StatusCode::CONFLICT, "CONFLICT", message),
            Error::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message),
            Error::AlreadyDone { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            Error::WrongState { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            Error::Upstream { code, message } => Self::new(StatusCode::BAD_GATEWAY, code, message),
            Error::IdempotencyConflict(message) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_CONFLICT", message)
            }
            Error::IdempotencyInProgress(message) => {
                Self::new(StatusCode::CONFLICT, "IDEMPOTENCY_IN_PROGRESS", message)
            }
            Error::Unauthorized => Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", error.to_string()),
            Error::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "unexpected failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal server error")
            }
        }
    }
}

/// The `status` of an error answer: always `"error"`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStatus {
    Error,
}

/// An error answer's body, as written and as documented.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub status: ErrorStatus,
    pub error: ErrorDetail,
    pub meta: ErrorMeta,
}

/// What went wrong: a stable code and a message safe to show.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `VALIDATION_ERROR`, `NOT_FOUND`, `UNAUTHORIZED`, `CONFLICT`, …
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    pub message: String,
}

/// Where and when: quote the request id when reporting a problem.
#[derive(Serialize, ToSchema)]
pub struct ErrorMeta {
    pub request_id: String,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status: ErrorStatus::Error,
            error: ErrorDetail { code: self.code.to_owned(), message: self.message },
            meta: ErrorMeta { request_id: observe::current_request_id(), timestamp: observe::now_rfc3339() },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Fallback for paths no route matches.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("Route not found")
}

/// Fallback for a known path called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "Method not allowed on this route")
}
