//! Decisions: review (approve, reject, override of an automatic decision), automatic
//! resolution, resubmission, and what the end user may see of them.

use crate::helpers::{Reply, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// One form step, with the given `resolution_config` (or none).
fn one_step(resolution: Option<Value>) -> Value {
    let mut workflow = json!({"name": "One step", "steps": [
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]});
    if let Some(resolution) = resolution {
        workflow["resolution_config"] = resolution;
    }
    workflow
}

async fn finish(app: &TestApp, token: &str) {
    let reply = app.complete_step(token, "info", json!({"form_data": {"full_name": "Ada Lovelace"}})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// A session of `workflow` whose end user finished every step.
async fn finished_session(app: &TestApp, workflow: Value) -> (String, String) {
    let (session, token) = app.create_session(&app.create_workflow(workflow).await).await;
    finish(app, &token).await;
    (session, token)
}

async fn review(app: &TestApp, session: &str, body: Value) -> Reply {
    app.tenant_post(&format!("/v1/sessions/{session}/review"), body).await
}

async fn resubmit(app: &TestApp, session: &str, body: Value) -> Reply {
    app.tenant_post(&format!("/v1/sessions/{session}/resubmit"), body).await
}

#[tokio::test]
async fn approving_a_session_in_review_records_the_decision_and_announces_it() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, one_step(None)).await;
    assert_eq!(app.state(&token).await["status"], "manual_review");

    let reply =
        review(&app, &session, json!({"decision": "approved", "notes": "Checked against the passport"}))
            .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let view = reply.data();
    assert_eq!(view["status"], "approved");
    assert_eq!(view["decision"]["outcome"], "approved");
    assert_eq!(view["decision"]["resolution"], "manual");
    assert_eq!(view["decision"]["notes"], "Checked against the passport");
    assert!(view["decision"]["reviewer_key_id"].as_str().unwrap().starts_with("key_"));
    let last = view["audit_trail"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["to_status"].as_str()),
        (Some("session_reviewed"), Some("approved"))
    );
    assert_eq!(app.tenant_view(&session).await, *view, "the answer is the stored tenant view");
    assert_eq!(app.outbox(&session).await.last().map(String::as_str), Some("session.approved"));
    assert_eq!(app.state(&token).await["status"], "approved");
}

#[tokio::test]
async fn a_rejection_shows_the_end_user_only_customer_facing_reasons() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, one_step(None)).await;

    let reply = review(
        &app,
        &session,
        json!({"decision": "rejected", "notes": "Photo is a screenshot of a screen", "reasons": ["suspected_fraud", "document_expired"]}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.data()["decision"]["reasons"], json!(["suspected_fraud", "document_expired"]));
    let public = app.get(&format!("/public/sessions/{token}")).await;
    assert_eq!(public.data()["status"], "rejected");
    assert_eq!(
        public.data()["rejection_reasons"],
        json!(["We could not verify your identity.", "Your identity document has expired."])
    );
    let public_text = public.body.to_string();
    let reviewer = reply.data()["decision"]["reviewer_key_id"].as_str().unwrap();
    for secret in ["screenshot", "suspected_fraud", "notes", reviewer, "reviewer"] {
        assert!(!public_text.contains(secret), "public state leaks {secret:?}: {public_text}");
    }
    let workflow = app.get(&format!("/public/sessions/{token}/workflow")).await.body.to_string();
    assert!(!workflow.contains("screenshot") && !workflow.contains(reviewer));
    assert_eq!(app.outbox(&session).await.last().map(String::as_str), Some("session.rejected"));
}

#[tokio::test]
async fn a_second_human_decision_is_refused_with_already_reviewed() {
    let app = TestApp::spawn().await;
    let (session, _) = finished_session(&app, one_step(None)).await;
    assert_eq!(review(&app, &session, json!({"decision": "approved"})).await.status, StatusCode::OK);

    let again = review(&app, &session, json!({"decision": "rejected"})).await;

    again.assert_error(
        StatusCode::CONFLICT,
        "ALREADY_REVIEWED",
        "Session was already reviewed and is approved; the decision is final",
    );
    assert_eq!(app.tenant_view(&session).await["status"], "approved");
}

#[tokio::test]
async fn two_concurrent_reviews_let_exactly_one_decide() {
    let app = TestApp::spawn().await;
    let (session, _) = finished_session(&app, one_step(None)).await;

    let (a, b) = tokio::join!(
        review(&app, &session, json!({"decision": "approved"})),
        review(&app, &session, json!({"decision": "rejected"}))
    );

    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{} / {}", a.body, b.body);
    let winner = if a.status == StatusCode::OK { &a } else { &b };
    assert_eq!(app.tenant_view(&session).await["status"], winner.data()["status"]);
    let decisions = app
        .outbox(&session)
        .await
        .into_iter()
        .filter(|e| e.starts_with("session.approved") || e.starts_with("session.rejected"))
        .count();
    assert_eq!(decisions, 1);
}

#[tokio::test]
async fn sessions_that_are_not_waiting_for_a_decision_are_not_reviewable() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(one_step(None)).await;

    let (active, _) = app.create_session(&workflow).await;
    let (awaiting, _) = finished_session(&app, one_step(None)).await;
    let corrections =
        json!({"items": [{"step_id": "info", "field_ids": ["full_name"], "message": "Fix it"}]});
    assert_eq!(
        app.tenant_post(&format!("/v1/sessions/{awaiting}/corrections"), corrections).await.status,
        StatusCode::CREATED
    );
    let (canceled, _) = app.create_session(&workflow).await;
    app.tenant_post(&format!("/v1/sessions/{canceled}/cancel"), json!({})).await;
    let reply =
        app.tenant_post("/v1/sessions", json!({"workflow_id": workflow, "expires_in_seconds": 60})).await;
    let expired = reply.data()["session_id"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(61));

    for (session, status) in [
        (active, "active"),
        (awaiting, "awaiting_client_correction"),
        (canceled, "canceled"),
        (expired, "expired"),
    ] {
        let reply = review(&app, &session, json!({"decision": "approved"})).await;
        reply.assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NOT_REVIEWABLE",
            &format!(
                "Session is {status}; only sessions in manual_review or completed, or decided automatically, can be reviewed"
            ),
        );
    }
}

#[tokio::test]
async fn review_bodies_are_checked() {
    let app = TestApp::spawn().await;
    let (session, _) = finished_session(&app, one_step(None)).await;

    let long = review(&app, &session, json!({"decision": "approved", "notes": "x".repeat(2001)})).await;
    let unknown = review(&app, &session, json!({"decision": "rejected", "reasons": ["looks_odd"]})).await;
    let decision = review(&app, &session, json!({"decision": "maybe"})).await;
    let other = app.new_tenant_key(kyc_core::domain::secrets::Mode::Test).await;
    let stranger = app
        .call(
            axum::http::Method::POST,
            &format!("/v1/sessions/{session}/review"),
            Some(&other),
            Some(json!({"decision": "approved"})),
        )
        .await;

    long.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "notes must be at most 2000 characters");
    unknown.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "unknown variant `looks_odd`",
    );
    decision.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "unknown variant `maybe`");
    stranger.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Session not found");
    let exactly_2000 =
        review(&app, &session, json!({"decision": "approved", "notes": "é".repeat(2000)})).await;
    assert_eq!(exactly_2000.status, StatusCode::OK, "{}", exactly_2000.body);
}

#[tokio::test]
async fn auto_resolve_and_final_review_choose_between_approval_and_manual_review() {
    let app = TestApp::spawn().await;
    for (auto_resolve, final_review, expected) in [
        (false, false, "manual_review"),
        (false, true, "manual_review"),
        (true, true, "manual_review"),
        (true, false, "approved"),
    ] {
        let config = json!({"auto_resolve": auto_resolve, "final_manual_review_required": final_review});
        let (session, token) = finished_session(&app, one_step(Some(config))).await;

        assert_eq!(
            app.state(&token).await["status"],
            expected,
            "auto_resolve {auto_resolve}, final {final_review}"
        );
        let events = app.outbox(&session).await;
        if expected == "approved" {
            let view = app.tenant_view(&session).await;
            assert_eq!(view["decision"]["resolution"], "automatic");
            assert!(view["decision"].get("reviewer_key_id").is_none());
            assert_eq!(events[events.len() - 2..], ["session.completed", "session.approved"]);
        } else {
            assert_eq!(events.last().map(String::as_str), Some("session.completed"));
        }
    }
}

#[tokio::test]
async fn the_workflow_definition_keeps_its_resolution_config_per_version() {
    let app = TestApp::spawn().await;
    let id = app.create_workflow(one_step(Some(json!({"auto_resolve": true})))).await;

    let read = app.tenant_get(&format!("/v1/workflows/{id}")).await;
    let bad = app.tenant_post("/v1/workflows", one_step(Some(json!({"auto_resolve": 1})))).await;

    assert_eq!(
        read.data()["resolution_config"],
        json!({"auto_resolve": true, "final_manual_review_required": false})
    );
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

/// Liveness (optional, in test mode) then the form, resolving automatically.
fn liveness_then_form() -> Value {
    json!({"name": "Face", "resolution_config": {"auto_resolve": true}, "steps": [
        {"step_id": "face", "name": "Liveness", "type": "liveness", "required": false},
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]})
}

async fn liveness_attempt(app: &TestApp, token: &str, outcome: &str) -> Reply {
    let started = app
        .public_post(
            &format!("/public/sessions/{token}/liveness/start"),
            json!({"step_id": "face", "test_outcome": outcome}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.data()["liveness_session_id"].clone();
    app.public_post(
        &format!("/public/sessions/{token}/liveness/complete"),
        json!({"liveness_session_id": id}),
    )
    .await
}

#[tokio::test]
async fn automatic_resolution_sends_a_failed_liveness_check_to_a_reviewer() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(liveness_then_form()).await;

    let (failed, failed_token) = app.create_session(&workflow).await;
    liveness_attempt(&app, &failed_token, "fail_low_confidence").await;
    finish(&app, &failed_token).await;
    let (retried, retried_token) = app.create_session(&workflow).await;
    liveness_attempt(&app, &retried_token, "fail_low_confidence").await;
    assert_eq!(liveness_attempt(&app, &retried_token, "pass").await.data()["passed"], true);
    finish(&app, &retried_token).await;

    assert_eq!(app.tenant_view(&failed).await["status"], "manual_review");
    assert_eq!(app.tenant_view(&retried).await["status"], "approved");
}

#[tokio::test]
async fn a_reviewer_may_override_an_automatic_decision_once() {
    let app = TestApp::spawn().await;
    let (session, token) = finished_session(&app, one_step(Some(json!({"auto_resolve": true})))).await;
    assert_eq!(app.state(&token).await["status"], "approved");

    let overridden =
        review(&app, &session, json!({"decision": "rejected", "reasons": ["data_mismatch"]})).await;
    let again = review(&app, &session, json!({"decision": "approved"})).await;

    assert_eq!(overridden.status, StatusCode::OK, "{}", overridden.body);
    let decision = &overridden.data()["decision"];
    assert_eq!(
        (decision["outcome"].as_str(), decision["resolution"].as_str()),
        (Some("rejected"), Some("manual"))
    );
    assert_eq!(decision["overrides"]["outcome"], "approved");
    assert_eq!(decision["overrides"]["resolution"], "automatic");
    assert_eq!(
        app.state(&token).await["rejection_reasons"],
        json!(["The details you entered do not match your identity document."])
    );
    again.assert_error_containing(StatusCode::CONFLICT, "ALREADY_REVIEWED", "final");
}

/// An ID document, a form with a conditional step, and a liveness check matching the ID.
fn resubmittable() -> Value {
    json!({"name": "Resubmit", "steps": [
        {"step_id": "id_doc", "name": "ID", "type": "document_upload",
         "document_requirements": [{"document_type": "passport", "label": "Passport"}]},
        {"step_id": "about", "name": "About", "type": "form_fill", "custom_fields": [
            {"field_id": "business", "name": "Business?", "type": "checkbox"}]},
        {"step_id": "company", "name": "Company", "type": "form_fill",
         "conditional_logic": {"step_id": "about", "field_id": "business", "equals": true},
         "custom_fields": [{"field_id": "company_name", "name": "Company", "type": "text", "required": true}]},
        {"step_id": "face", "name": "Liveness", "type": "liveness",
         "liveness_config": {"face_match": {"document_type": "passport"}}}
    ]})
}

/// A resubmittable session walked to manual_review; returns (session, token).
async fn walked(app: &TestApp) -> (String, String) {
    let (session, token) = app.create_session(&app.create_workflow(resubmittable()).await).await;
    app.upload_png(&token, "id_doc", "passport").await;
    for (step, body) in [
        ("id_doc", json!({})),
        ("about", json!({"form_data": {"business": true}})),
        ("company", json!({"form_data": {"company_name": "Acme"}})),
    ] {
        let reply = app.complete_step(&token, step, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{step}: {}", reply.body);
    }
    assert_eq!(liveness_attempt(app, &token, "pass").await.data()["passed"], true);
    assert_eq!(app.state(&token).await["status"], "manual_review");
    (session, token)
}

fn step_statuses(state: &Value) -> Vec<(String, String)> {
    state["steps_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step_id"].as_str().unwrap().to_owned(), s["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn resubmitting_a_document_step_reopens_it_and_the_liveness_check_that_compared_with_it() {
    let app = TestApp::spawn().await;
    let (session, token) = walked(&app).await;

    let reply =
        resubmit(&app, &session, json!({"step_id": "id_doc", "message": "Please upload a sharper photo"}))
            .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.data()["status"], "awaiting_client_correction");
    assert_eq!(reply.data()["reopened_steps"], json!(["id_doc", "face"]));
    let state = app.state(&token).await;
    let statuses: Vec<(String, String)> = step_statuses(&state);
    let expect = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(
        statuses,
        expect(&[
            ("id_doc", "needs_correction"),
            ("about", "completed"),
            ("company", "completed"),
            ("face", "needs_correction")
        ])
    );
    assert!(state["steps_data"][0].get("documents").is_none(), "the old document is set aside: {state}");
    assert_eq!(state["steps_data"][0]["correction_requests"][0]["message"], "Please upload a sharper photo");
    assert_eq!(state["steps_data"][3]["liveness_sessions"][0]["status"], "superseded");
    let view = app.tenant_view(&session).await;
    assert_eq!(view["documents"][0]["status"], "replaced", "kept for the record");
    assert_eq!(app.outbox(&session).await.last().map(String::as_str), Some("session.resubmission_requested"));

    // The end user redoes both steps with the same link; the session returns to review.
    let refused = app.complete_step(&token, "id_doc", json!({})).await;
    refused.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Missing required documents: passport");
    app.upload_png(&token, "id_doc", "passport").await;
    assert_eq!(app.complete_step(&token, "id_doc", json!({})).await.status, StatusCode::OK);
    assert_eq!(liveness_attempt(&app, &token, "pass").await.data()["passed"], true);
    assert_eq!(app.state(&token).await["status"], "manual_review");
}

#[tokio::test]
async fn resubmitting_a_form_step_reopens_the_steps_its_answers_decide() {
    let app = TestApp::spawn().await;
    let (session, token) = walked(&app).await;

    let reply = resubmit(&app, &session, json!({"step_id": "about", "message": "Tell us again"})).await;

    assert_eq!(reply.data()["reopened_steps"], json!(["about", "company"]), "{}", reply.body);
    let statuses = step_statuses(&app.state(&token).await);
    assert_eq!(statuses[0].1, "completed");
    assert_eq!(statuses[3].1, "completed");
    let fixed = app.complete_step(&token, "about", json!({"form_data": {"business": false}})).await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.body);
    let state = app.state(&token).await;
    assert_eq!(step_statuses(&state)[2].1, "skipped", "no longer a business");
    assert_eq!(state["status"], "manual_review");
}

#[tokio::test]
async fn resubmission_withdraws_an_automatic_decision_but_not_a_human_one() {
    let app = TestApp::spawn().await;
    let (automatic, token) = finished_session(&app, one_step(Some(json!({"auto_resolve": true})))).await;
    let (human, _) = finished_session(&app, one_step(None)).await;
    review(&app, &human, json!({"decision": "approved"})).await;

    let reopened =
        resubmit(&app, &automatic, json!({"step_id": "info", "message": "Use your legal name"})).await;
    let refused = resubmit(&app, &human, json!({"step_id": "info", "message": "Use your legal name"})).await;

    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    assert!(app.tenant_view(&automatic).await.get("decision").is_none());
    assert_eq!(app.state(&token).await["status"], "awaiting_client_correction");
    refused.assert_error(
        StatusCode::CONFLICT,
        "ALREADY_REVIEWED",
        "A reviewer already decided this session; it can no longer be resubmitted",
    );
}

#[tokio::test]
async fn resubmission_needs_a_finished_step_of_a_session_the_end_user_finished() {
    let app = TestApp::spawn().await;
    let (active, _) = app.create_session(&app.create_workflow(resubmittable()).await).await;
    let (session, _) = walked(&app).await;

    let too_early = resubmit(&app, &active, json!({"step_id": "id_doc", "message": "Again"})).await;
    let unknown = resubmit(&app, &session, json!({"step_id": "nope", "message": "Again"})).await;
    let empty = resubmit(&app, &session, json!({"step_id": "about", "message": " "})).await;

    too_early.assert_error_containing(
        StatusCode::UNPROCESSABLE_ENTITY,
        "NOT_RESUBMITTABLE",
        "Session is active",
    );
    unknown.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "step 'nope' not found");
    empty.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "message must be 1 to 1000 characters");
}

#[tokio::test]
async fn a_review_costs_one_read_round_trip_and_one_transaction() {
    let app = TestApp::spawn().await;
    let (session, _) = finished_session(&app, one_step(None)).await;

    app.table.reset();
    let reply = review(&app, &session, json!({"decision": "approved"})).await;
    let counts = app.table.counts();

    assert_eq!(reply.status, StatusCode::OK);
    // The API key (GetItem), the session and its log (two Queries sent together), the change.
    assert_eq!((counts.get, counts.query, counts.transact, counts.total()), (1, 2, 1, 4));
}
