//! The success half of the JSON envelope: `{"status":"success","data":…}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A successful answer with its status code.
pub struct Success<T> {
    status: StatusCode,
    data: T,
}

/// 200 with `data`.
pub fn ok<T: Serialize>(data: T) -> Success<T> {
    Success { status: StatusCode::OK, data }
}

/// 201 with `data`.
pub fn created<T: Serialize>(data: T) -> Success<T> {
    Success { status: StatusCode::CREATED, data }
}

/// 202 with `data`: the work is queued.
pub fn accepted<T: Serialize>(data: T) -> Success<T> {
    Success { status: StatusCode::ACCEPTED, data }
}

/// The `status` of a successful answer: always `"success"`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuccessStatus {
    Success,
}

/// A successful answer's body, as written and as documented.
#[derive(Serialize, ToSchema)]
pub struct SuccessBody<T> {
    pub status: SuccessStatus,
    pub data: T,
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        (self.status, axum::Json(SuccessBody { status: SuccessStatus::Success, data: self.data }))
            .into_response()
    }
}
