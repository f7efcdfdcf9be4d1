use crate::helpers::{basic_workflow, TestApp};
use axum::http::{Method, StatusCode};
use kyc_core::domain::secrets::Mode;
use serde_json::json;

#[tokio::test]
async fn canceling_a_session_kills_its_public_link_at_once() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;
    app.state(&token).await; // the warm cache must not keep it alive

    let canceled = app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})).await;

    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.body);
    assert_eq!(canceled.data(), &json!({"session_id": session, "status": "canceled"}));
    app.get(&format!("/public/sessions/{token}")).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    app.complete_step(&token, "step_3", json!({})).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    assert_eq!(app.tenant_view(&session).await["status"], "canceled");
    assert_eq!(app.outbox(&session).await, vec!["session.canceled"]);
}

#[tokio::test]
async fn a_final_session_cannot_be_canceled() {
    let app = TestApp::spawn().await;
    let (session, _) = app.basic_session().await;
    app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})).await;

    app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})).await.assert_error(
        StatusCode::CONFLICT,
        "CONFLICT",
        "Session is already canceled and cannot be canceled",
    );
}

#[tokio::test]
async fn an_expired_session_is_expired_for_the_tenant_and_cannot_be_canceled() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let created =
        app.tenant_post("/v1/sessions", json!({"workflow_id": workflow, "expires_in_seconds": 60})).await;
    let session = created.data()["session_id"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(61));

    let view = app.tenant_view(&session).await;
    let cancel = app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})).await;

    assert_eq!(view["status"], "expired");
    cancel.assert_error(
        StatusCode::CONFLICT,
        "CONFLICT",
        "Session is already expired and cannot be canceled",
    );
}

#[tokio::test]
async fn another_tenant_cannot_cancel() {
    let app = TestApp::spawn().await;
    let (session, _) = app.basic_session().await;
    let other = app.new_tenant_key(Mode::Test).await;

    let reply = app
        .call(Method::POST, &format!("/v1/sessions/{session}/cancel"), Some(&other), Some(json!({})))
        .await;

    reply.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Session not found");
    assert_eq!(app.tenant_view(&session).await["status"], "active");
}

#[tokio::test]
async fn the_token_item_expires_but_the_session_item_does_not() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;
    let hash = kyc_core::domain::secrets::AccessToken::parse(&token).unwrap().hash();
    let session_id = kyc_core::domain::ids::SessionId::parse(&session).unwrap();

    let token_item =
        kyc_core::ports::Table::get(app.table.as_ref(), &kyc_core::codec::keys::token(&hash)).await.unwrap();
    let session_item =
        kyc_core::ports::Table::get(app.table.as_ref(), &kyc_core::codec::keys::session(&session_id))
            .await
            .unwrap();

    assert!(token_item.unwrap().contains_key("ttl"));
    assert!(!session_item.unwrap().contains_key("ttl"));
}

#[tokio::test]
async fn the_public_link_of_a_finished_session_also_dies_at_its_expiry() {
    let app = TestApp::spawn().await;
    let workflow = json!({"name": "One", "steps": [{"step_id": "a", "name": "A", "type": "form_fill",
        "custom_fields": [{"field_id": "x", "name": "X", "type": "text", "required": true}]}]});
    let workflow = app.create_workflow(workflow).await;
    let created =
        app.tenant_post("/v1/sessions", json!({"workflow_id": workflow, "expires_in_seconds": 3600})).await;
    let (session, token) = (
        created.data()["session_id"].as_str().unwrap().to_owned(),
        created.data()["access_token"].as_str().unwrap().to_owned(),
    );
    app.complete_step(&token, "a", json!({"form_data": {"x": "y"}})).await;
    assert_eq!(app.state(&token).await["status"], "manual_review");

    app.clock.advance(time::Duration::seconds(3600));

    app.get(&format!("/public/sessions/{token}")).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    assert_eq!(
        app.tenant_view(&session).await["status"],
        "manual_review",
        "the tenant still sees the real status"
    );
}
