//! Store round trips per public read: pinned, because they are the latency budget.

use crate::helpers::TestApp;
use axum::http::StatusCode;

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
