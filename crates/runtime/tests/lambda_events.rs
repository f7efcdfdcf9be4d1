//! Real API Gateway (HTTP API, payload v2) events from `events/`, fed through `lambda_http` into
//! the routers exactly as a deployed function receives them.

mod common;

use axum::http::StatusCode;
use common::state;
use http_body_util::BodyExt;
use kyc_http::{app, routes, AppState};
use serde_json::Value;
use tower::ServiceExt;

async fn invoke(router: axum::Router, event_file: &str) -> (StatusCode, Value, Value) {
    let path = format!("{}/../../events/{event_file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("event file");
    let event: Value = serde_json::from_str(&text).unwrap();
    let request = lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event");
    let request = kyc_runtime::with_api_gateway_request_id(request);
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap(), event)
}

/// The route group whose function serves an event, from the event file's name.
fn group_router(file_name: &str) -> axum::Router<AppState> {
    match file_name.split('-').next() {
        Some("sessions") => routes::sessions::router(),
        Some("uploads") => routes::uploads::router(),
        Some("subsessions") => routes::subsessions::router(),
        Some("extract") => routes::extract::router(),
        Some("liveness") => routes::liveness::router(),
        Some("tenant") => routes::tenant::router(),
        other => panic!("no route group for event {file_name} ({other:?})"),
    }
}

#[tokio::test]
async fn every_event_reaches_a_route_of_its_function_and_answers_with_api_gateways_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let events = std::fs::read_dir(format!("{}/../../events", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut names: Vec<String> = events
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 22, "{names:?}");
    for name in names {
        let router = app(group_router(&name), state(&dir).await);

        let (status, body, event) = invoke(router, &name).await;

        assert_eq!(body["meta"]["request_id"], event["requestContext"]["requestId"], "{name}: {body}");
        let (expected_status, message) = if name.starts_with("tenant") {
            (StatusCode::UNAUTHORIZED, "Invalid or missing API key")
        } else {
            (StatusCode::NOT_FOUND, "Session not found or expired")
        };
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (expected_status, Some(message)),
            "{name}: {body}"
        );
    }
}
