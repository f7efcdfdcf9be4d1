//! Listing filters: by status, by review state, by creation time; one index Query per page.

use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::{json, Value};

fn one_step() -> Value {
    json!({"name": "One step", "steps": [
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]})
}

/// Every page of a listing, following cursors; returns the session ids in order.
async fn all_pages(app: &TestApp, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = format!("/v1/sessions?limit=2&{query}");
    loop {
        app.table.reset();
        let page = app.tenant_get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(app.table.counts().query, 1, "one index Query per page");
        let sessions = page.data()["sessions"].as_array().unwrap().clone();
        assert!(sessions.len() <= 2);
        ids.extend(sessions.iter().map(|s| s["session_id"].as_str().unwrap().to_owned()));
        match page.data()["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/sessions?limit=2&{query}&cursor={cursor}"),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn listings_filter_by_status_review_and_creation_time_newest_first() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(one_step()).await;
    let mut created = Vec::new();
    for _ in 0..7 {
        let (session, token) = app.create_session(&workflow).await;
        created.push((session, token));
        app.clock.advance(time::Duration::seconds(10));
    }
    let start = app.clock_now();
    for (_, token) in &created[..5] {
        app.complete_step(token, "info", json!({"form_data": {"full_name": "Ada"}})).await;
    }
    app.tenant_post(&format!("/v1/sessions/{}/review", created[0].0), json!({"decision": "approved"})).await;
    app.tenant_post(&format!("/v1/sessions/{}/review", created[1].0), json!({"decision": "rejected"})).await;
    let newest_first =
        |indexes: &[usize]| indexes.iter().rev().map(|i| created[*i].0.clone()).collect::<Vec<_>>();

    assert_eq!(all_pages(&app, "review=pending").await, newest_first(&[2, 3, 4]));
    assert_eq!(all_pages(&app, "status=manual_review").await, newest_first(&[2, 3, 4]));
    assert_eq!(all_pages(&app, "review=approved").await, newest_first(&[0]));
    assert_eq!(all_pages(&app, "status=rejected").await, newest_first(&[1]));
    assert_eq!(all_pages(&app, "status=active").await, newest_first(&[5, 6]));
    assert_eq!(all_pages(&app, "").await, newest_first(&[0, 1, 2, 3, 4, 5, 6]));

    // Creation time: sessions were created 10 s apart from `start - 70 s`.
    let from =
        (start - time::Duration::seconds(50)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let to =
        (start - time::Duration::seconds(20)).format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(
        all_pages(&app, &format!("created_after={from}&created_before={to}")).await,
        newest_first(&[2, 3, 4])
    );
    assert_eq!(
        all_pages(&app, &format!("review=pending&created_after={from}")).await,
        newest_first(&[2, 3, 4])
    );
    assert_eq!(all_pages(&app, &format!("status=active&created_before={to}")).await, Vec::<String>::new());

    let page = app.tenant_get("/v1/sessions?review=approved").await;
    let summary = &page.data()["sessions"][0];
    assert_eq!(
        summary["decision"],
        json!({"outcome": "approved", "resolution": "manual", "decided_at": summary["decision"]["decided_at"]})
    );
}

#[tokio::test]
async fn expired_sessions_are_listed_as_expired_once_swept() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(one_step()).await;
    let reply =
        app.tenant_post("/v1/sessions", json!({"workflow_id": workflow, "expires_in_seconds": 60})).await;
    let session = reply.data()["session_id"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(61));

    let before = all_pages(&app, "status=expired").await;
    app.services.sweep_expired(100).await.unwrap();
    let after = all_pages(&app, "status=expired").await;

    assert!(before.is_empty());
    assert_eq!(after, [session]);
    assert!(all_pages(&app, "status=active").await.is_empty());
}

#[tokio::test]
async fn contradictory_or_malformed_filters_are_a_400() {
    let app = TestApp::spawn().await;

    let both = app.tenant_get("/v1/sessions?status=active&review=pending").await;
    let range = app
        .tenant_get("/v1/sessions?created_after=2026-01-02T00:00:00Z&created_before=2026-01-01T00:00:00Z")
        .await;
    let date = app.tenant_get("/v1/sessions?created_after=yesterday").await;
    let review = app.tenant_get("/v1/sessions?review=maybe").await;

    both.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "status=active and review select different sessions",
    );
    range.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "created_after must be earlier than created_before",
    );
    assert_eq!((date.status, review.status), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    let same = app.tenant_get("/v1/sessions?status=manual_review&review=pending").await;
    assert_eq!(same.status, StatusCode::OK);
}
