//! Real API Gateway (HTTP API, payload v2) events from `events/`, fed through `lambda_http` into
//! the routers exactly as a deployed function receives them.

use axum::http::StatusCode;
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

fn state(dir: &tempfile::TempDir) -> AppState {
    let db = dir.path().join("kyc.db").display().to_string();
    let blobs = dir.path().join("blobs").display().to_string();
    let config = kyc_runtime::Config::from_vars(|name| match name {
        "KYC_SQLITE_PATH" => Some(db.clone()),
        "KYC_BLOB_DIR" => Some(blobs.clone()),
        _ => None,
    })
    .unwrap();
    AppState::new(kyc_runtime::services(&config).unwrap())
}

#[tokio::test]
async fn public_read_events_reach_their_routes_and_answer_with_api_gateways_request_id() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["sessions-get-state.json", "sessions-get-workflow.json"] {
        let router = app(routes::sessions::router(), state(&dir));

        let (status, body, event) = invoke(router, file).await;

        assert_eq!(status, StatusCode::NOT_FOUND, "{file}: {body}");
        assert_eq!(body["error"]["message"], "Session not found or expired", "{file}");
        assert_eq!(body["meta"]["request_id"], event["requestContext"]["requestId"], "{file}");
    }
}

#[tokio::test]
async fn tenant_events_reach_the_tenant_router() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(routes::tenant::router(), state(&dir));

    let (status, body, event) = invoke(router, "tenant-create-session.json").await;

    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["meta"]["request_id"], event["requestContext"]["requestId"]);
}
