//! One JSON request through a router, as the tests that drive whole flows send them.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Sends `method uri` to `router`, with the API key as a bearer token and `body` as JSON when
/// given; returns the status and the answer as JSON (`Null` when it is not JSON).
pub async fn call_json(
    router: &axum::Router,
    method: Method,
    uri: &str,
    api_key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(key) = api_key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response =
        router.clone().oneshot(request.body(body).expect("a valid request")).await.expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("a readable body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}
