use crate::helpers::{basic_workflow, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn session_state_follows_the_contract() {
    let app = TestApp::spawn().await;
    let (session_id, token) = app.basic_session().await;

    let reply = app.get(&format!("/public/sessions/{token}")).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let data = reply.data();
    assert_eq!(data["session_id"], session_id.as_str());
    assert_eq!(data["workflow_name"], "Basic KYC");
    assert_eq!(data["status"], "active");
    assert_eq!(data["current_step_index"], 0);
    assert_eq!(data["total_steps"], 3);
    assert_eq!(
        data["steps_data"],
        json!([
            {"step_id": "step_1", "status": "pending"},
            {"step_id": "step_2", "status": "pending"},
            {"step_id": "step_3", "status": "pending"}
        ])
    );
    assert!(data["expires_at"].is_i64());
    assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(data["branding"]["primary_color"], "#10B981");
    assert_eq!(data["branding"]["logo_url"], "https://example.com/logo.png");
}

#[tokio::test]
async fn the_workflow_definition_follows_the_contract() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;

    let reply = app.get(&format!("/public/sessions/{token}/workflow")).await;

    assert_eq!(reply.status, StatusCode::OK);
    let data = reply.data();
    assert_eq!(data["workflow_name"], "Basic KYC");
    assert_eq!(data["description"], "Standard KYC onboarding workflow");
    assert_eq!(data["total_steps"], 3);
    assert_eq!(data["completion_redirect_url"], "https://example.com/kyc-complete");
    assert_eq!(
        data["steps"][0],
        json!({
            "step_id": "step_1", "order": 1, "name": "ID Document", "type": "document_upload", "required": true,
            "required_documents": ["id"],
            "document_requirements": [{"document_type": "id", "label": "Government ID", "required": true, "allow_multiple": false}],
            "custom_fields": [], "fields": []
        })
    );
    assert_eq!(data["steps"][1]["liveness_config"]["min_confidence"], 90.0);
    assert_eq!(
        data["steps"][2]["custom_fields"][1],
        json!({"field_id": "date_of_birth", "name": "Date of Birth", "type": "date", "required": true})
    );
}

#[tokio::test]
async fn a_session_keeps_the_workflow_version_it_started_on() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let (_, token) = app.create_session(&workflow).await;
    let mut v2 = basic_workflow();
    v2["name"] = json!("Changed");
    app.tenant_post(&format!("/v1/workflows/{workflow}/versions"), v2).await;

    let reply = app.get(&format!("/public/sessions/{token}/workflow")).await;

    assert_eq!(reply.data()["workflow_name"], "Basic KYC");
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_not_found() {
    let app = TestApp::spawn().await;
    app.basic_session().await;
    for token in ["770e8400-e29b-41d4-a716-446655440002", "not-a-token", "%27%20OR%201%3D1"] {
        for suffix in ["", "/workflow"] {
            app.get(&format!("/public/sessions/{token}{suffix}")).await.assert_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "Session not found or expired",
            );
        }
    }
}

#[tokio::test]
async fn an_expired_session_is_gone_publicly_but_readable_by_the_tenant_as_expired() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let reply =
        app.tenant_post("/v1/sessions", json!({"workflow_id": workflow, "expires_in_seconds": 3600})).await;
    let (session_id, token) = (
        reply.data()["session_id"].as_str().unwrap().to_owned(),
        reply.data()["access_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(app.get(&format!("/public/sessions/{token}")).await.status, StatusCode::OK);

    app.clock.advance(time::Duration::seconds(3600));

    app.get(&format!("/public/sessions/{token}")).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    app.get(&format!("/public/sessions/{token}/workflow")).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    let tenant = app.tenant_get(&format!("/v1/sessions/{session_id}")).await;
    assert_eq!(tenant.status, StatusCode::OK);
    assert_eq!(tenant.data()["status"], "expired");
}

/// Collects every object key in a JSON document.
fn keys(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                into.push(key.clone());
                keys(child, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

#[tokio::test]
async fn public_answers_carry_no_storage_keys_or_internal_fields() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let internal = [
        "pk",
        "sk",
        "gsi1pk",
        "gsi1sk",
        "ttl",
        "version",
        "token_hash",
        "tenant_id",
        "mode",
        "workflow_id",
        "workflow_version",
        "external_reference",
        "metadata",
        "key_id",
        "s3_key",
        "updated_at",
    ];

    for path in [format!("/public/sessions/{token}"), format!("/public/sessions/{token}/workflow")] {
        let reply = app.get(&path).await;
        let mut found = Vec::new();
        keys(&reply.body, &mut found);
        let leaked: Vec<_> = found.iter().filter(|k| internal.contains(&k.as_str())).collect();
        assert!(leaked.is_empty(), "{path} leaks {leaked:?}");
        let text = reply.body.to_string();
        assert!(!text.contains("TENANT#") && !text.contains("SESSION#") && !text.contains("ten_"), "{text}");
    }
}

#[tokio::test]
async fn the_raw_access_token_is_never_stored() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    app.get(&format!("/public/sessions/{token}")).await;

    let stored = app.stored_bytes();

    assert!(!stored.is_empty());
    let needle = token.as_bytes();
    assert!(!stored.windows(needle.len()).any(|w| w == needle), "the raw token was written to the store");
}

#[tokio::test]
async fn the_public_workflow_leaves_out_face_match_thresholds_and_internal_workflow_ids() {
    let app = TestApp::spawn().await;
    let child = app
        .create_workflow(serde_json::json!({"name": "Party", "steps": [{"step_id": "a", "name": "A",
        "type": "form_fill", "custom_fields": [{"field_id": "n", "name": "N", "type": "text"}]}]}))
        .await;
    let workflow = app
        .create_workflow(serde_json::json!({"name": "Internal", "steps": [
            {"step_id": "id", "name": "ID", "type": "document_upload",
             "document_requirements": [{"document_type": "id", "label": "ID"}]},
            {"step_id": "face", "name": "Face", "type": "liveness",
             "liveness_config": {"min_confidence": 90, "face_match": {"document_type": "id", "min_similarity": 97}}},
            {"step_id": "ubos", "name": "Owners", "type": "subsession_collection",
             "subsession_config": {"workflow_id": child, "max_allowed": 2}}
        ]}))
        .await;
    let (_, token) = app.create_session(&workflow).await;

    let reply = app.get(&format!("/public/sessions/{token}/workflow")).await;

    let text = reply.body.to_string();
    assert!(
        !text.contains("min_similarity") && !text.contains("face_match") && !text.contains(&child),
        "{text}"
    );
    assert_eq!(reply.data()["steps"][1]["liveness_config"]["min_confidence"], 90.0);
    assert_eq!(reply.data()["steps"][2]["subsession_config"]["max_allowed"], 2);
}
