use crate::helpers::{form_workflow, TestApp};
use axum::http::{Method, StatusCode};
use kyc_core::domain::secrets::Mode;
use serde_json::{json, Value};

/// A finished session on the form workflow with `correction_resolution = mode`.
async fn finished_session(app: &TestApp, mode: &str) -> (String, String) {
    let mut workflow = form_workflow();
    workflow["validation_config"] = json!({"correction_resolution": mode});
    let (session, token) = app.create_session(&app.create_workflow(workflow).await).await;
    let about =
        json!({"form_data": {"full_name": "Jon Doe", "date_of_birth": "1985-03-15", "country": "US"}});
    assert_eq!(app.complete_step(&token, "about", about).await.status, StatusCode::OK);
    let contact = json!({"form_data": {"email": "jon@example.com"}});
    assert_eq!(app.complete_step(&token, "contact", contact).await.data()["session_completed"], true);
    (session, token)
}

async fn request(app: &TestApp, session: &str, items: Value) -> crate::helpers::Reply {
    app.tenant_post(&format!("/v1/sessions/{session}/corrections"), json!({ "items": items })).await
}

fn name_fix() -> Value {
    json!([{"step_id": "about", "field_ids": ["full_name"], "message": "Please correct your legal name so it matches your ID.",
            "internal_note": "Name on passport is JOHN DOE"}])
}

#[tokio::test]
async fn requesting_corrections_reopens_only_the_named_steps_with_customer_facing_guidance() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, "manual_review").await;

    let reply = request(&app, &session, name_fix()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.data()["status"], "awaiting_client_correction");
    let id = reply.data()["correction_ids"][0].as_str().unwrap().to_owned();
    assert!(id.starts_with("corr_"));
    let state = app.state(&token).await;
    assert_eq!(state["status"], "awaiting_client_correction");
    assert_eq!(state["steps_data"][0]["status"], "needs_correction");
    assert_eq!(state["steps_data"][2]["status"], "completed");
    assert_eq!(state["steps_data"][0]["form_data"]["full_name"], "Jon Doe");
    let correction = &state["steps_data"][0]["correction_requests"][0];
    let created_at = correction["created_at"].clone();
    assert!(created_at.as_str().unwrap().ends_with('Z'));
    assert_eq!(
        correction,
        &json!({"id": id, "step_id": "about", "field_ids": ["full_name"], "document_types": [],
                "message": "Please correct your legal name so it matches your ID.", "status": "open",
                "created_at": created_at})
    );
}

#[tokio::test]
async fn public_state_never_shows_internal_notes_or_the_reviewer() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, "manual_review").await;
    request(&app, &session, name_fix()).await;
    let view = app.tenant_view(&session).await;
    let key_id = view["corrections"][0]["requested_by"].as_str().unwrap().to_owned();
    assert!(key_id.starts_with("key_"));
    assert_eq!(view["corrections"][0]["internal_note"], "Name on passport is JOHN DOE");

    let public = app.get(&format!("/public/sessions/{token}")).await.body.to_string();

    assert!(!public.contains("internal_note") && !public.contains("JOHN DOE"), "{public}");
    assert!(!public.contains("requested_by") && !public.contains(&key_id), "{public}");
}

#[tokio::test]
async fn only_steps_with_open_corrections_can_be_edited() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, "manual_review").await;
    request(&app, &session, name_fix()).await;

    app.complete_step(&token, "contact", json!({"form_data": {"email": "x@example.com"}}))
        .await
        .assert_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Only steps with open correction requests can be edited",
        );
}

#[tokio::test]
async fn a_correction_is_fixed_by_sending_only_the_changed_fields() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, "manual_review").await;
    request(&app, &session, name_fix()).await;

    let bad = app.complete_step(&token, "about", json!({"form_data": {"full_name": ""}})).await;
    let fixed = app.complete_step(&token, "about", json!({"form_data": {"full_name": "John Doe"}})).await;

    bad.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Campos requeridos: full_name");
    assert_eq!(
        fixed.data(),
        &json!({"step_id": "about", "status": "completed", "next_step_id": null, "session_completed": true})
    );
    let view = app.tenant_view(&session).await;
    assert_eq!(view["status"], "manual_review");
    assert_eq!(
        view["steps"][0]["form_data"],
        json!({"full_name": "John Doe", "date_of_birth": "1985-03-15", "country": "US"})
    );
    assert_eq!(view["corrections"][0]["status"], "resolved");
    assert!(view["corrections"][0]["resolved_at"].is_string());
    let state = app.state(&token).await;
    assert!(
        state["steps_data"][0].get("correction_requests").is_none(),
        "resolved corrections are not shown"
    );
}

#[tokio::test]
async fn each_resolution_mode_moves_the_session_as_configured() {
    for (mode, status, processing) in [
        ("manual_review", "manual_review", false),
        ("auto_process", "completed", true),
        ("completed", "completed", false),
    ] {
        let app = TestApp::spawn().await;
        let (session, token) = finished_session(&app, mode).await;
        request(&app, &session, name_fix()).await;

        app.complete_step(&token, "about", json!({"form_data": {"full_name": "John Doe"}})).await;

        assert_eq!(app.tenant_view(&session).await["status"], status, "{mode}");
        let outbox = app.outbox(&session).await;
        assert_eq!(
            outbox.contains(&"session.processing_requested".to_owned()),
            processing,
            "{mode}: {outbox:?}"
        );
        assert!(outbox.contains(&"session.corrections_requested".to_owned()));
    }
}

#[tokio::test]
async fn corrections_on_two_steps_are_resolved_one_by_one() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, "completed").await;
    let items = json!([
        {"step_id": "about", "field_ids": ["full_name"], "message": "Fix your name"},
        {"step_id": "contact", "field_ids": ["email"], "message": "Use your work email"}
    ]);
    assert_eq!(request(&app, &session, items).await.data()["correction_ids"].as_array().unwrap().len(), 2);

    let first = app.complete_step(&token, "about", json!({"form_data": {"full_name": "John Doe"}})).await;
    let between = app.state(&token).await;
    let second =
        app.complete_step(&token, "contact", json!({"form_data": {"email": "john@acme.example"}})).await;

    assert_eq!(first.data()["session_completed"], false);
    assert_eq!(first.data()["next_step_id"], "contact");
    assert_eq!(between["status"], "awaiting_client_correction");
    assert_eq!(between["steps_data"][0]["status"], "completed");
    assert_eq!(between["steps_data"][2]["status"], "needs_correction");
    assert_eq!(second.data()["session_completed"], true);
    assert_eq!(app.state(&token).await["status"], "completed");
}

#[tokio::test]
async fn corrections_are_only_for_finished_sessions() {
    let app = TestApp::spawn().await;
    let (session, _) = app.create_session(&app.create_workflow(form_workflow()).await).await;

    request(&app, &session, name_fix()).await.assert_error(
        StatusCode::CONFLICT,
        "CONFLICT",
        "Corrections can only be requested while the session is in manual_review or completed; it is active",
    );
}

#[tokio::test]
async fn correction_requests_are_validated() {
    let app = TestApp::spawn().await;
    let (session, _) = finished_session(&app, "manual_review").await;
    let many: Vec<Value> = (0..21).map(|_| json!({"step_id": "about", "message": "x"})).collect();
    let cases = [
        (json!([]), "items must list 1 to 20 corrections"),
        (json!(many), "items must list 1 to 20 corrections"),
        (json!([{"step_id": "nope", "message": "x"}]), "items[0]: step 'nope' not found"),
        (
            json!([{"step_id": "about", "field_ids": ["shoe_size"], "message": "x"}]),
            "has no field 'shoe_size'",
        ),
        (
            json!([{"step_id": "about", "document_types": ["id"], "message": "x"}]),
            "does not take 'id' documents",
        ),
        (json!([{"step_id": "about", "message": "  "}]), "message must be 1 to 1000 characters"),
    ];
    for (items, message) in cases {
        request(&app, &session, items).await.assert_error_containing(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            message,
        );
    }
    assert_eq!(app.tenant_view(&session).await["status"], "manual_review", "nothing was written");
}

#[tokio::test]
async fn another_tenant_cannot_request_corrections() {
    let app = TestApp::spawn().await;
    let (session, _) = finished_session(&app, "manual_review").await;
    let other = app.new_tenant_key(Mode::Test).await;

    let reply = app
        .call(
            Method::POST,
            &format!("/v1/sessions/{session}/corrections"),
            Some(&other),
            Some(json!({"items": name_fix()})),
        )
        .await;

    reply.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Session not found");
}

#[tokio::test]
async fn the_audit_trail_records_who_changed_what_but_never_values() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, "manual_review").await;
    request(&app, &session, name_fix()).await;
    app.complete_step(&token, "about", json!({"form_data": {"full_name": "John Doe"}})).await;

    let view = app.tenant_view(&session).await;

    let trail = view["audit_trail"].as_array().unwrap();
    let summary: Vec<(String, String, String, String)> = trail
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (
                text("action"),
                e["actor"]["kind"].as_str().unwrap().to_owned(),
                text("from_status"),
                text("to_status"),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str, d: &str| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned());
    assert_eq!(
        summary,
        vec![
            s("step_completed", "end_user", "active", "active"),
            s("step_completed", "end_user", "active", "manual_review"),
            s("corrections_requested", "tenant", "manual_review", "awaiting_client_correction"),
            s("step_completed", "end_user", "awaiting_client_correction", "manual_review"),
        ]
    );
    assert_eq!(trail[3]["changed_fields"], json!(["full_name"]));
    assert!(trail[2]["actor"]["key_id"].as_str().unwrap().starts_with("key_"));
    assert!(!serde_json::to_string(trail).unwrap().contains("John Doe"));
}

#[tokio::test]
async fn a_correction_cannot_target_a_step_the_sessions_answers_skip() {
    let app = TestApp::spawn().await;
    let workflow = app
        .create_workflow(json!({"name": "Conditional", "steps": [
            {"step_id": "kind", "name": "Kind", "type": "form_fill", "custom_fields": [
                {"field_id": "business", "name": "Business?", "type": "checkbox"}]},
            {"step_id": "company", "name": "Company", "type": "form_fill",
             "conditional_logic": {"step_id": "kind", "field_id": "business", "equals": true},
             "custom_fields": [{"field_id": "name", "name": "Name", "type": "text"}]}
        ]}))
        .await;
    let (session, token) = app.create_session(&workflow).await;
    app.complete_step(&token, "kind", json!({"form_data": {"business": false}})).await;
    assert_eq!(app.state(&token).await["status"], "manual_review");

    let reply = app
        .tenant_post(
            &format!("/v1/sessions/{session}/corrections"),
            json!({"items": [{"step_id": "company", "message": "Fix the company name"}]}),
        )
        .await;

    reply.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "items[0]: step 'company' does not apply to this session (its condition does not hold)",
    );
}
