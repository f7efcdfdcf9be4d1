use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

#[tokio::test]
async fn unknown_routes_answer_in_the_envelope_with_a_request_id_and_timestamp() {
    let app = TestApp::spawn().await;

    let reply = app.get("/no/such/route").await;

    reply.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Route not found");
    let request_id = reply.body["meta"]["request_id"].as_str().unwrap();
    assert!(request_id.starts_with("req_"));
    assert_eq!(reply.request_id_header.as_deref(), Some(request_id));
    let timestamp = reply.body["meta"]["timestamp"].as_str().unwrap();
    assert!(time::OffsetDateTime::parse(timestamp, &Rfc3339).is_ok(), "{timestamp}");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_in_the_envelope() {
    let app = TestApp::spawn().await;

    let reply = app.call(Method::DELETE, "/v1/sessions", Some(&app.api_key), None).await;

    reply.assert_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method not allowed on this route",
    );
}

#[tokio::test]
async fn malformed_json_is_a_validation_error_not_plain_text() {
    let app = TestApp::spawn().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/workflows")
        .header("authorization", format!("Bearer {}", app.api_key))
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();

    let reply = app.send(request).await;

    reply.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Invalid JSON body");
}

/// Serde reads a struct from an array of its fields in order, so `[null, null]` once created a
/// session with every field absent (found by Schemathesis). Every body of this API is an object.
#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    for body in ["[null, null]", "[]", "0", "\"text\"", "null"] {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/sessions")
            .header("authorization", format!("Bearer {}", app.api_key))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();

        let reply = app.send(request).await;

        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Invalid JSON body: expected a JSON object",
        );
    }
    let listed = app.call(Method::GET, "/v1/sessions", Some(&app.api_key.clone()), None).await;
    assert_eq!(listed.data()["sessions"], json!([]), "nothing was created");
}

#[tokio::test]
async fn a_body_without_json_content_type_is_refused_in_the_envelope() {
    let app = TestApp::spawn().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/sessions")
        .header("authorization", format!("Bearer {}", app.api_key))
        .body(Body::from(json!({"workflow_id": "wf_x"}).to_string()))
        .unwrap();

    let reply = app.send(request).await;

    reply.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Content-Type must be application/json");
}

#[tokio::test]
async fn success_answers_carry_status_and_data_only() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;

    let reply = app.get(&format!("/public/sessions/{token}")).await;

    assert_eq!(reply.status, StatusCode::OK);
    let mut keys: Vec<_> = reply.body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, vec!["data".to_owned(), "status".to_owned()]);
    assert_eq!(reply.body["status"], "success");
}

#[tokio::test]
async fn a_path_segment_that_cannot_be_decoded_answers_in_the_envelope() {
    let app = TestApp::spawn().await;

    let public = app.get("/public/sessions/%FF%FE/workflow").await;
    let tenant = app.tenant_get("/v1/sessions/%C3%28").await;

    for reply in [public, tenant] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.body["error"]["code"], "VALIDATION_ERROR");
        assert!(
            reply.body["error"]["message"].as_str().unwrap().starts_with("Invalid path"),
            "{}",
            reply.body
        );
        assert!(reply.body["meta"]["request_id"].is_string());
    }
}

/// The document is served as committed, to anyone (it describes the API, not a tenant's data).
#[tokio::test]
async fn the_openapi_document_is_served_without_credentials() {
    let app = TestApp::spawn().await;

    let reply = app.get("/openapi.json").await;

    assert_eq!(reply.status, StatusCode::OK);
    let generated: serde_json::Value = serde_json::from_str(&kyc_http::openapi::document_json()).unwrap();
    assert_eq!(reply.body, generated);
}
