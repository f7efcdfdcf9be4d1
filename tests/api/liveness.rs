use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use kyc_core::domain::secrets::Mode;
use kyc_core::ports::liveness::ProviderStatus;
use serde_json::{json, Value};

fn workflow(liveness_config: Value) -> Value {
    json!({"name": "Face", "steps": [
        {"step_id": "id_doc", "name": "ID", "type": "document_upload", "required": false,
         "document_requirements": [{"document_type": "id", "label": "ID"}]},
        {"step_id": "face", "name": "Liveness", "type": "liveness", "liveness_config": liveness_config},
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]})
}

/// A session on the face workflow created with `key` (test or live).
async fn session(app: &TestApp, key: &str, liveness_config: Value) -> (String, String) {
    let created = app.call(Method::POST, "/v1/workflows", Some(key), Some(workflow(liveness_config))).await;
    let workflow_id = created.data()["workflow_id"].clone();
    let reply =
        app.call(Method::POST, "/v1/sessions", Some(key), Some(json!({"workflow_id": workflow_id}))).await;
    (
        reply.data()["session_id"].as_str().unwrap().to_owned(),
        reply.data()["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn start(app: &TestApp, token: &str, body: Value) -> crate::helpers::Reply {
    app.public_post(&format!("/public/sessions/{token}/liveness/start"), body).await
}

async fn complete(app: &TestApp, token: &str, id: &Value) -> crate::helpers::Reply {
    app.public_post(
        &format!("/public/sessions/{token}/liveness/complete"),
        json!({"liveness_session_id": id}),
    )
    .await
}

/// Starts and completes one attempt; returns the completion reply.
async fn attempt(app: &TestApp, token: &str, start_body: Value) -> crate::helpers::Reply {
    let started = start(app, token, start_body).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    complete(app, token, &started.data()["liveness_session_id"]).await
}

#[tokio::test]
async fn a_sandbox_check_passes_by_default_and_completes_the_step() {
    let app = TestApp::spawn().await;
    let (_, token) = session(&app, &app.api_key.clone(), json!({"min_confidence": 90})).await;

    let started = start(&app, &token, json!({"step_id": "face"})).await;
    let pending = app.state(&token).await;
    let completed = complete(&app, &token, &started.data()["liveness_session_id"]).await;

    assert_eq!(started.status, StatusCode::CREATED);
    assert_eq!(started.data()["step_id"], "face");
    assert_eq!(started.data()["message"], "Use this session ID with the AWS Amplify Liveness SDK");
    let id = started.data()["liveness_session_id"].clone();
    assert_eq!(pending["steps_data"][1]["liveness_sessions"][0]["liveness_session_id"], id);
    assert_eq!(pending["steps_data"][1]["liveness_sessions"][0]["status"], "pending");
    let data = completed.data();
    assert_eq!((data["passed"].clone(), data["confidence"].clone()), (json!(true), json!(99.2)));
    assert_eq!(
        (data["step_completed"].clone(), data["session_completed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(data["next_step_id"], "info");
    assert_eq!(data["message"], "Liveness check passed");
    assert!(data["reference_image_s3_key"].as_str().unwrap().ends_with("/reference.jpg"));
    let state = app.state(&token).await;
    assert_eq!(state["steps_data"][1]["status"], "completed");
    assert_eq!(state["steps_data"][1]["liveness_sessions"][0]["status"], "passed");
}

#[tokio::test]
async fn a_low_confidence_sandbox_check_fails_and_leaves_the_step_open() {
    let app = TestApp::spawn().await;
    let (session_id, token) = session(&app, &app.api_key.clone(), json!({"min_confidence": 90})).await;

    let reply =
        attempt(&app, &token, json!({"step_id": "face", "test_outcome": "fail_low_confidence"})).await;

    assert_eq!(reply.data()["passed"], false, "{}", reply.body);
    assert_eq!(reply.data()["step_completed"], false);
    assert_eq!(reply.data()["message"], "Liveness check failed; please try again");
    assert_eq!(app.state(&token).await["steps_data"][1]["status"], "pending");
    let attempts = app.tenant_view(&session_id).await["liveness_attempts"].clone();
    assert_eq!(attempts[0]["status"], "failed");
    assert!(attempts[0]["failure_reason"].as_str().unwrap().contains("below the threshold 90"));
}

#[tokio::test]
async fn sandbox_outcomes_cover_expiry_and_unfinished_checks() {
    let app = TestApp::spawn().await;
    let (_, token) = session(&app, &app.api_key.clone(), json!({})).await;

    let expired = attempt(&app, &token, json!({"step_id": "face", "test_outcome": "expired"})).await;
    let unfinished = attempt(&app, &token, json!({"step_id": "face", "test_outcome": "in_progress"})).await;

    assert_eq!(expired.data()["passed"], false);
    assert_eq!(expired.data()["message"], "The liveness check expired; start a new one");
    unfinished.assert_error(StatusCode::CONFLICT, "CONFLICT", "Liveness check not finished");
}

#[tokio::test]
async fn exactly_the_minimum_confidence_passes_and_just_below_fails() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let (_, token) = session(&app, &live, json!({"min_confidence": 90})).await;

    app.liveness.answer(ProviderStatus::Succeeded, Some(89.99));
    let below = attempt(&app, &token, json!({"step_id": "face"})).await;
    app.liveness.answer(ProviderStatus::Succeeded, Some(90.0));
    let exact = attempt(&app, &token, json!({"step_id": "face"})).await;

    assert_eq!(below.data()["passed"], false, "{}", below.body);
    assert_eq!(exact.data()["passed"], true, "{}", exact.body);
    assert_eq!(exact.data()["confidence"], 90.0);
}

#[tokio::test]
async fn provider_failures_and_expiry_fail_the_attempt() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let (_, token) = session(&app, &live, json!({})).await;

    app.liveness.answer(ProviderStatus::Failed, None);
    let failed = attempt(&app, &token, json!({"step_id": "face"})).await;
    app.liveness.answer(ProviderStatus::Expired, None);
    let expired = attempt(&app, &token, json!({"step_id": "face"})).await;
    app.liveness.answer(ProviderStatus::Created, None);
    let created = attempt(&app, &token, json!({"step_id": "face"})).await;

    assert_eq!(
        (failed.data()["passed"].clone(), expired.data()["passed"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(expired.data()["message"], "The liveness check expired; start a new one");
    created.assert_error(StatusCode::CONFLICT, "CONFLICT", "Liveness check not finished");
}

#[tokio::test]
async fn failed_attempts_are_capped() {
    let app = TestApp::spawn().await;
    let (_, token) = session(&app, &app.api_key.clone(), json!({})).await;
    for _ in 0..3 {
        attempt(&app, &token, json!({"step_id": "face", "test_outcome": "fail_low_confidence"})).await;
    }

    start(&app, &token, json!({"step_id": "face"})).await.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Too many failed liveness attempts (3); the reviewer will contact you",
    );
}

#[tokio::test]
async fn completing_twice_returns_the_stored_verdict_without_asking_the_provider_again() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let (_, token) = session(&app, &live, json!({})).await;
    let started = start(&app, &token, json!({"step_id": "face"})).await;
    let id = started.data()["liveness_session_id"].clone();

    let first = complete(&app, &token, &id).await;
    let second = complete(&app, &token, &id).await;

    assert_eq!(first.data(), second.data());
    assert_eq!(app.liveness.results_calls(), 1);
}

#[tokio::test]
async fn another_sessions_liveness_id_is_not_found() {
    let app = TestApp::spawn().await;
    let (_, mine) = session(&app, &app.api_key.clone(), json!({})).await;
    let (_, theirs) = session(&app, &app.api_key.clone(), json!({})).await;
    let started = start(&app, &theirs, json!({"step_id": "face"})).await;

    complete(&app, &mine, &started.data()["liveness_session_id"]).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Liveness session not found",
    );
    start(&app, &mine, json!({"step_id": "info"})).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Liveness step not found",
    );
}

#[tokio::test]
async fn the_sandbox_is_never_reachable_from_a_live_session() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let (session_id, token) = session(&app, &live, json!({})).await;
    app.liveness.answer(ProviderStatus::Succeeded, Some(10.0));

    let forced = start(&app, &token, json!({"step_id": "face", "test_outcome": "pass"})).await;
    let real = attempt(&app, &token, json!({"step_id": "face"})).await;

    forced.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "test_outcome is only accepted for test-mode sessions",
    );
    assert_eq!(real.data()["passed"], false, "the provider's low score decides, not the sandbox");
    let view = app.call(Method::GET, &format!("/v1/sessions/{session_id}"), Some(&live), None).await;
    let attempts = view.data()["liveness_attempts"].clone();
    assert!(attempts[0].get("sandbox_outcome").is_none());
    assert!(!attempts[0]["liveness_session_id"].as_str().unwrap().contains("sandbox"));
}

#[tokio::test]
async fn hidden_confidence_is_null_publicly_but_kept_for_the_tenant() {
    let app = TestApp::spawn().await;
    let (session_id, token) = session(&app, &app.api_key.clone(), json!({"expose_confidence": false})).await;

    let reply = attempt(&app, &token, json!({"step_id": "face"})).await;

    assert_eq!(reply.data()["passed"], true);
    assert_eq!(reply.data()["confidence"], Value::Null);
    assert_eq!(app.tenant_view(&session_id).await["liveness_attempts"][0]["confidence"], 99.2);
}

#[tokio::test]
async fn face_match_compares_the_reference_image_with_the_id_portrait() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let config = json!({"face_match": {"document_type": "id", "min_similarity": 95}});
    let (session_id, token) = session(&app, &live, config).await;
    app.insert_document(&session_id, "id_doc", "id", true).await;

    app.liveness.similarity(Some(80.0));
    let mismatch = attempt(&app, &token, json!({"step_id": "face"})).await;
    app.liveness.similarity(Some(97.5));
    let matched = attempt(&app, &token, json!({"step_id": "face"})).await;

    assert_eq!(mismatch.data()["passed"], false);
    assert_eq!(mismatch.data()["message"], "Liveness check failed; please try again", "a neutral message");
    assert_eq!(matched.data()["passed"], true, "{}", matched.body);
    let view = app.call(Method::GET, &format!("/v1/sessions/{session_id}"), Some(&live), None).await;
    let attempts = view.data()["liveness_attempts"].clone();
    assert_eq!(attempts[0]["face_similarity"], 80.0);
    assert_eq!(attempts[0]["failure_reason"], "face match: similarity 80 is below 95");
    assert_eq!(attempts[1]["face_similarity"], 97.5);
}

#[tokio::test]
async fn liveness_checks_started_per_step_are_capped() {
    let app = TestApp::spawn().await;
    let (_, token) = session(&app, &app.api_key.clone(), json!({"min_confidence": 90})).await;

    // Started and abandoned: nothing fails, yet each start may cost a provider session.
    for _ in 0..10 {
        assert_eq!(start(&app, &token, json!({"step_id": "face"})).await.status, StatusCode::CREATED);
    }
    let refused = start(&app, &token, json!({"step_id": "face"})).await;

    refused.assert_error_containing(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Too many liveness checks were started",
    );
}
