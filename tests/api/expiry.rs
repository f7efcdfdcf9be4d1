//! The expiry sweeper: it persists `expired` for exactly the open sessions past their expiry.

use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

async fn session_expiring_in(app: &TestApp, workflow: &str, seconds: i64) -> (String, String) {
    let reply = app
        .tenant_post("/v1/sessions", json!({"workflow_id": workflow, "expires_in_seconds": seconds}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let data = reply.data();
    (data["session_id"].as_str().unwrap().to_owned(), data["access_token"].as_str().unwrap().to_owned())
}

fn one_step() -> serde_json::Value {
    json!({"name": "One step", "steps": [
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]})
}

async fn stored_status(app: &TestApp, session: &str) -> String {
    let id = kyc_core::domain::ids::SessionId::parse(session).unwrap();
    let item =
        kyc_core::ports::Table::get(app.table.as_ref(), &kyc_core::codec::keys::session(&id)).await.unwrap();
    match item.unwrap().get("status") {
        Some(kyc_core::ports::table::AttributeValue::S(status)) => status.clone(),
        other => panic!("no status: {other:?}"),
    }
}

#[tokio::test]
async fn two_concurrent_sweepers_expire_exactly_the_due_open_sessions_once() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(one_step()).await;
    let mut due = Vec::new();
    for _ in 0..12 {
        due.push(session_expiring_in(&app, &workflow, 60).await.0);
    }
    let (correcting, correcting_token) = session_expiring_in(&app, &workflow, 60).await;
    app.complete_step(&correcting_token, "info", json!({"form_data": {"full_name": "Ada"}})).await;
    let corrections = json!({"items": [{"step_id": "info", "field_ids": ["full_name"], "message": "Fix"}]});
    app.tenant_post(&format!("/v1/sessions/{correcting}/corrections"), corrections).await;
    due.push(correcting);
    let (finished, finished_token) = session_expiring_in(&app, &workflow, 60).await;
    app.complete_step(&finished_token, "info", json!({"form_data": {"full_name": "Ada"}})).await;
    let (later, _) = session_expiring_in(&app, &workflow, 3600).await;
    let (canceled, _) = session_expiring_in(&app, &workflow, 60).await;
    app.tenant_post(&format!("/v1/sessions/{canceled}/cancel"), json!({})).await;
    app.clock.advance(time::Duration::seconds(61));

    let services: Arc<_> = app.services.clone();
    let (a, b) = tokio::join!(services.sweep_expired(1000), app.services.sweep_expired(1000));
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(a.expired + b.expired, due.len(), "{a:?} {b:?}");
    for session in &due {
        assert_eq!(stored_status(&app, session).await, "expired");
        let expired_events = app.outbox(session).await.iter().filter(|e| *e == "session.expired").count();
        assert_eq!(expired_events, 1, "{session}");
    }
    assert_eq!(stored_status(&app, &finished).await, "manual_review");
    assert_eq!(stored_status(&app, &later).await, "active");
    assert_eq!(stored_status(&app, &canceled).await, "canceled");
    let view = app.tenant_view(&due[0]).await;
    let last = view["audit_trail"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "session_expired");
    assert_eq!(last["actor"], json!({"kind": "system"}));

    // Nothing is left to do: a third sweep finds no due session.
    let again = app.services.sweep_expired(1000).await.unwrap();
    assert_eq!((again.expired, again.skipped), (0, 0));
}

#[tokio::test]
async fn a_sweep_stops_at_its_limit_and_the_next_one_continues() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(one_step()).await;
    for _ in 0..5 {
        session_expiring_in(&app, &workflow, 60).await;
    }
    app.clock.advance(time::Duration::seconds(60));

    let first = app.services.sweep_expired(3).await.unwrap();
    let second = app.services.sweep_expired(3).await.unwrap();

    assert_eq!((first.expired, first.more), (3, true));
    assert_eq!((second.expired, second.more), (2, false));
}

#[tokio::test]
async fn an_expired_subsession_updates_its_parents_record() {
    let app = TestApp::spawn().await;
    let child_workflow = app.create_workflow(one_step()).await;
    let parent_workflow = app
        .create_workflow(json!({"name": "Parent", "steps": [
            {"step_id": "ubos", "name": "Owners", "type": "subsession_collection",
             "subsession_config": {"workflow_id": child_workflow, "max_allowed": 2}}
        ]}))
        .await;
    let (parent, parent_token) = session_expiring_in(&app, &parent_workflow, 120).await;
    let created = app
        .public_post(
            &format!("/public/sessions/{parent_token}/subsessions"),
            json!({"step_id": "ubos", "label": "Jane"}),
        )
        .await;
    let child = created.data()["subsession_id"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(121));

    let report = app.services.sweep_expired(100).await.unwrap();

    assert_eq!(report.expired, 2);
    let view = app.tenant_view(&parent).await;
    assert_eq!(view["subsessions"][0]["subsession_id"], child);
    assert_eq!(view["subsessions"][0]["status"], "expired");
}
