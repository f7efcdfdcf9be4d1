//! The success half of the JSON envelope: `{"status":"success","data":…}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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

#[derive(Serialize)]
struct Body<'a, T> {
    status: &'static str,
    data: &'a T,
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        (self.status, axum::Json(Body { status: "success", data: &self.data })).into_response()
    }
}
