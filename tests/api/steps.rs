use crate::helpers::{basic_workflow, form_workflow, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

fn about() -> Value {
    json!({"form_data": {"full_name": "Ada Lovelace", "date_of_birth": "1985-03-15"}})
}

fn contact() -> Value {
    json!({"form_data": {"email": "ada@example.com"}})
}

#[tokio::test]
async fn completing_every_required_step_in_order_finishes_the_session_into_review() {
    let app = TestApp::spawn().await;
    let (session_id, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;

    let first = app.complete_step(&token, "about", about()).await;
    let last = app.complete_step(&token, "contact", contact()).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        first.data(),
        &json!({"step_id": "about", "status": "completed", "next_step_id": "note", "session_completed": false})
    );
    assert_eq!(
        last.data(),
        &json!({"step_id": "contact", "status": "completed", "next_step_id": null, "session_completed": true})
    );
    let state = app.state(&token).await;
    assert_eq!(state["status"], "manual_review");
    assert_eq!(state["current_step_index"], 1, "the optional note step is still open");
    assert_eq!(state["steps_data"][0]["status"], "completed");
    assert_eq!(state["steps_data"][0]["form_data"], about()["form_data"]);
    assert!(state["steps_data"][0]["completed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app.outbox(&session_id).await, vec!["step.completed", "step.completed", "session.completed"]);
}

#[tokio::test]
async fn a_workflow_without_review_in_its_older_form_is_approved_at_its_last_step() {
    let app = TestApp::spawn().await;
    let mut workflow = form_workflow();
    workflow["review_required"] = json!(false);
    let (_, token) = app.create_session(&app.create_workflow(workflow).await).await;

    app.complete_step(&token, "about", about()).await;
    app.complete_step(&token, "contact", contact()).await;

    assert_eq!(app.state(&token).await["status"], "approved");
}

#[tokio::test]
async fn an_unknown_step_is_the_contracts_step_not_found() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;

    for step in ["nope", "bad%23id"] {
        app.complete_step(&token, step, json!({})).await.assert_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Step not found",
        );
    }
}

#[tokio::test]
async fn steps_complete_in_order_but_optional_ones_can_be_skipped() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;

    let early = app.complete_step(&token, "contact", contact()).await;
    app.complete_step(&token, "about", about()).await;
    let skipping_optional = app.complete_step(&token, "contact", contact()).await;

    early.assert_error(StatusCode::FORBIDDEN, "FORBIDDEN", "Complete step 'about' first");
    assert_eq!(skipping_optional.status, StatusCode::OK, "{}", skipping_optional.body);
}

#[tokio::test]
async fn a_completed_step_cannot_be_completed_again() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;
    app.complete_step(&token, "about", about()).await;

    app.complete_step(&token, "about", about()).await.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Step already completed",
    );
}

#[tokio::test]
async fn a_finished_session_accepts_no_more_changes() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;
    app.complete_step(&token, "about", about()).await;
    app.complete_step(&token, "contact", contact()).await;

    app.complete_step(&token, "note", json!({"form_data": {"note": "hi"}})).await.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Session is manual_review and no longer accepts changes",
    );
}

#[tokio::test]
async fn every_field_rule_refuses_a_bad_value_and_accepts_a_good_one() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(form_workflow()).await;
    let cases: Vec<(Value, Value, &str)> = vec![
        (
            json!({"full_name": null, "date_of_birth": null}),
            json!({}),
            "Campos requeridos: full_name, date_of_birth",
        ),
        (json!({"full_name": ""}), json!({"full_name": "Ada"}), "Campos requeridos: full_name"),
        (json!({"income": "lots"}), json!({"income": 52000}), "Field 'income' must be a number"),
        (
            json!({"date_of_birth": "1985-02-30"}),
            json!({"date_of_birth": "1984-02-29"}),
            "Field 'date_of_birth' must be a real date",
        ),
        (json!({"plan": "gold"}), json!({"plan": "pro"}), "Field 'plan' must be one of the listed options"),
        (
            json!({"tags": ["a", "z"]}),
            json!({"tags": ["a", "b"]}),
            "Field 'tags' must only contain listed options",
        ),
        (json!({"terms": "yes"}), json!({"terms": true}), "Field 'terms' must be true or false"),
        (json!({"country": "Argentina"}), json!({"country": "AR"}), "Field 'country' must be an ISO 3166-1"),
        (
            json!({"bio": "x".repeat(10_001)}),
            json!({"bio": "x".repeat(10_000)}),
            "Field 'bio' must be at most 10000",
        ),
        (json!({"nickname": "Ada"}), json!({}), "Unknown fields: nickname"),
    ];
    for (bad, good, message) in cases {
        let base = json!({"full_name": "Ada Lovelace", "date_of_birth": "1985-03-15"});
        let with = |extra: &Value| {
            let mut data = base.clone();
            data.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!({ "form_data": data })
        };
        let (_, token) = app.create_session(&workflow).await;

        let refused = app.complete_step(&token, "about", with(&bad)).await;
        let accepted = app.complete_step(&token, "about", with(&good)).await;

        refused.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message);
        assert_eq!(accepted.status, StatusCode::OK, "{message}: {}", accepted.body);
    }
}

#[tokio::test]
async fn contact_fields_are_checked_on_their_own_step() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(form_workflow()).await;
    let cases = [
        (
            json!({"email": "ada@example"}),
            json!({"email": "ada@example.com"}),
            "Field 'email' must be a valid email",
        ),
        (
            json!({"email": "ada@example.com", "phone": "011 5555"}),
            json!({"email": "ada@example.com", "phone": "+541155556666"}),
            "Field 'phone' must be a phone number in international format",
        ),
    ];
    for (bad, good, message) in cases {
        let (_, token) = app.create_session(&workflow).await;
        app.complete_step(&token, "about", about()).await;

        app.complete_step(&token, "contact", json!({"form_data": bad})).await.assert_error_containing(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            message,
        );
        assert_eq!(
            app.complete_step(&token, "contact", json!({"form_data": good})).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn form_data_must_be_an_object_and_the_body_must_be_json() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;

    app.complete_step(&token, "about", json!({"form_data": ["x"]})).await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Invalid JSON body",
    );
    app.complete_step(&token, "about", json!({"formdata": {}})).await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "unknown field `formdata`",
    );
}

fn file_workflow() -> Value {
    json!({"name": "Proof", "steps": [
        {"step_id": "docs", "name": "Documents", "type": "document_upload",
         "document_requirements": [{"document_type": "id", "label": "ID"}],
         "custom_fields": [{"field_id": "proof", "name": "Proof of address", "type": "file"}]}
    ]})
}

#[tokio::test]
async fn a_file_field_takes_only_a_confirmed_document_of_the_same_session() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(file_workflow()).await;
    let (session, token) = app.create_session(&workflow).await;
    let (other_session, _) = app.create_session(&workflow).await;
    app.insert_document(&session, "docs", "id", true).await;
    let pending = app.insert_document(&session, "docs", "id", false).await;
    let foreign = app.insert_document(&other_session, "docs", "id", true).await;
    let mine = app.insert_document(&session, "docs", "id", true).await;

    for doc in [pending, foreign, "doc_missing".to_owned()] {
        app.complete_step(&token, "docs", json!({"form_data": {"proof": doc}})).await.assert_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Field 'proof' must be the doc_id of a confirmed upload of this session",
        );
    }
    let ok = app.complete_step(&token, "docs", json!({"form_data": {"proof": mine}})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn a_document_step_completes_only_once_each_required_document_is_confirmed() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;

    let without = app.complete_step(&token, "step_1", json!({})).await;
    app.insert_document(&session, "step_1", "id", false).await;
    let pending_only = app.complete_step(&token, "step_1", json!({})).await;
    app.insert_document(&session, "step_1", "id", true).await;
    let confirmed = app.complete_step(&token, "step_1", json!({})).await;

    without.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Missing required documents: id");
    pending_only.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Missing required documents: id");
    assert_eq!(confirmed.data()["next_step_id"], "step_2", "{}", confirmed.body);
    let state = app.state(&token).await;
    assert_eq!(state["steps_data"][0]["documents"].as_array().unwrap().len(), 1);
    assert!(state["steps_data"][0]["documents"][0].get("object_key").is_none());
}

#[tokio::test]
async fn liveness_steps_cannot_be_completed_by_hand() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;
    app.insert_document(&session, "step_1", "id", true).await;
    app.complete_step(&token, "step_1", json!({})).await;

    app.complete_step(&token, "step_2", json!({})).await.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Liveness steps are completed by passing the liveness check",
    );
}

#[tokio::test]
async fn conditional_steps_are_skipped_when_their_condition_does_not_hold() {
    let app = TestApp::spawn().await;
    let workflow = json!({"name": "Conditional", "review_required": false, "steps": [
        {"step_id": "kind", "name": "Kind", "type": "form_fill", "custom_fields": [
            {"field_id": "is_business", "name": "Business?", "type": "checkbox"}]},
        {"step_id": "company", "name": "Company", "type": "form_fill",
         "conditional_logic": {"step_id": "kind", "field_id": "is_business", "equals": true},
         "custom_fields": [{"field_id": "company_name", "name": "Company", "type": "text", "required": true}]}
    ]});
    let workflow = app.create_workflow(workflow).await;
    let (_, person) = app.create_session(&workflow).await;
    let (_, business) = app.create_session(&workflow).await;

    let person_done = app.complete_step(&person, "kind", json!({"form_data": {"is_business": false}})).await;
    let business_next =
        app.complete_step(&business, "kind", json!({"form_data": {"is_business": true}})).await;

    assert_eq!(person_done.data()["session_completed"], true, "{}", person_done.body);
    assert_eq!(app.state(&person).await["steps_data"][1]["status"], "skipped");
    app.complete_step(&person, "company", json!({})).await.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Session is approved and no longer accepts changes",
    );
    assert_eq!(business_next.data()["next_step_id"], "company");
    assert_eq!(business_next.data()["session_completed"], false);
}

#[tokio::test]
async fn fifty_concurrent_completions_of_one_step_let_exactly_one_win() {
    let app = Arc::new(TestApp::spawn().await);
    let (session_id, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let body =
                    json!({"form_data": {"full_name": format!("Racer {i}"), "date_of_birth": "1985-03-15"}});
                (i, app.complete_step(&token, "about", body).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (i, reply) = task.await.unwrap();
        match reply.status {
            StatusCode::OK => winners.push(i),
            StatusCode::CONFLICT => assert_eq!(
                reply.body["error"]["message"],
                "The session was changed by another request; reload and retry"
            ),
            StatusCode::FORBIDDEN => assert_eq!(reply.body["error"]["message"], "Step already completed"),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }

    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = &app.tenant_view(&session_id).await["steps"][0]["form_data"]["full_name"];
    assert_eq!(stored, &json!(format!("Racer {}", winners[0])));
    assert_eq!(app.outbox(&session_id).await, vec!["step.completed"]);
}

#[tokio::test]
async fn completing_a_step_costs_one_query_and_one_transaction() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(form_workflow()).await).await;
    app.state(&token).await; // warm the token cache, as a browser's first read does
    app.table.reset();

    let reply = app.complete_step(&token, "about", about()).await;

    assert_eq!(reply.status, StatusCode::OK);
    let counts = app.table.counts();
    assert_eq!((counts.query, counts.transact, counts.total()), (1, 1, 2));
}

#[tokio::test]
async fn an_expired_session_refuses_completion_with_the_contracts_404() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(basic_workflow()).await).await;
    app.clock.advance(time::Duration::days(8));

    app.complete_step(&token, "step_3", json!({})).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
}
