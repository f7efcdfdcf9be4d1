//! Store round trips per request: pinned, because they are the latency budget.

use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};

/// Calls `path` and returns (status, round trips by kind) for that one request.
async fn measured(app: &TestApp, path: &str) -> (StatusCode, kyc_testkit::RoundTrips) {
    app.table.reset();
    let reply = app.get(path).await;
    (reply.status, app.table.counts())
}

#[tokio::test]
async fn reading_session_state_costs_one_query_warm_and_two_round_trips_cold() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let path = format!("/public/sessions/{token}");

    let (cold_status, cold) = measured(&app, &path).await;
    let (warm_status, warm) = measured(&app, &path).await;

    assert_eq!((cold_status, warm_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!((cold.get, cold.query, cold.total()), (1, 1, 2));
    assert_eq!((warm.query, warm.total()), (1, 1));
}

#[tokio::test]
async fn reading_the_workflow_costs_one_query_warm_and_two_round_trips_cold() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let path = format!("/public/sessions/{token}/workflow");

    let (cold_status, cold) = measured(&app, &path).await;
    let (warm_status, warm) = measured(&app, &path).await;

    assert_eq!((cold_status, warm_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!((cold.get, cold.query, cold.total()), (1, 1, 2));
    assert_eq!((warm.query, warm.total()), (1, 1));
}

/// Creates a session with or without an `Idempotency-Key`; returns (status, round trips).
async fn create_session_measured(
    app: &TestApp,
    workflow: &str,
    idempotency_key: Option<&str>,
) -> (StatusCode, kyc_testkit::RoundTrips) {
    let body = serde_json::json!({ "workflow_id": workflow });
    app.table.reset();
    let reply = match idempotency_key {
        Some(key) => app.keyed(Method::POST, "/v1/sessions", &app.api_key, key, Some(body)).await,
        None => app.call(Method::POST, "/v1/sessions", Some(&app.api_key), Some(body)).await,
    };
    (reply.status, app.table.counts())
}

#[tokio::test]
async fn an_idempotency_key_costs_one_conditional_put_before_and_one_update_after() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(crate::helpers::basic_workflow()).await;

    let (plain_status, plain) = create_session_measured(&app, &workflow, None).await;
    let (keyed_status, keyed) = create_session_measured(&app, &workflow, Some("rt-1")).await;
    let (replay_status, replay) = create_session_measured(&app, &workflow, Some("rt-1")).await;

    assert_eq!(
        (plain_status, keyed_status, replay_status),
        (StatusCode::CREATED, StatusCode::CREATED, StatusCode::CREATED)
    );
    // Without the header: the API key GetItem, the workflow Query, the session transaction.
    assert_eq!((plain.get, plain.query, plain.transact, plain.total()), (1, 1, 1, 3));
    // With it: the same, plus one conditional PutItem (the claim) and one UpdateItem (the
    // response); the API key is still read once (the layer hands the tenant to the handler).
    assert_eq!(keyed.put, plain.put + 1);
    assert_eq!(keyed.update, plain.update + 1);
    assert_eq!(
        (keyed.get, keyed.query, keyed.transact, keyed.delete),
        (plain.get, plain.query, plain.transact, 0)
    );
    assert_eq!(keyed.total(), plain.total() + 2);
    // A replay: the API key GetItem, the refused PutItem, one GetItem of the record; nothing runs.
    assert_eq!((replay.get, replay.put, replay.total()), (2, 1, 3));
}

#[tokio::test]
async fn starting_a_session_from_a_slug_or_the_default_costs_one_get_item_more() {
    let app = TestApp::spawn().await;
    let body = serde_json::json!({"slug": "basic", "default": true});
    let mut definition = crate::helpers::basic_workflow();
    for (name, value) in body.as_object().unwrap() {
        definition[name] = value.clone();
    }
    let workflow = app.create_workflow(definition).await;
    let measure = |body: serde_json::Value| async {
        app.table.reset();
        let reply = app.tenant_post("/v1/sessions", body).await;
        (reply.status, app.table.counts())
    };

    let (by_id_status, by_id) = measure(serde_json::json!({ "workflow_id": workflow })).await;
    let (by_slug_status, by_slug) = measure(serde_json::json!({ "workflow_slug": "basic" })).await;
    let (by_default_status, by_default) = measure(serde_json::json!({})).await;

    assert_eq!(
        (by_id_status, by_slug_status, by_default_status),
        (StatusCode::CREATED, StatusCode::CREATED, StatusCode::CREATED)
    );
    // By id: the API key, the workflow Query, the session transaction (which checks the workflow
    // is not archived; no read of its own).
    assert_eq!((by_id.get, by_id.query, by_id.transact, by_id.total()), (1, 1, 1, 3));
    // By slug or default: one GetItem of the slug claim or the default pointer more.
    assert_eq!((by_slug.get, by_slug.total()), (2, 4));
    assert_eq!((by_default.get, by_default.total()), (2, 4));
}
