//! Workflows as a catalog: listing, unique slugs, archiving and the default workflow, and how
//! `POST /v1/sessions` picks one; through the router, on SQLite and on DynamoDB (the emulator
//! `make test` runs): every scenario below runs on both stores.

use crate::helpers::{basic_workflow, Reply, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

on_both_stores!(
    the_listing_shows_each_workflow_once_at_its_latest_version_page_by_page,
    two_concurrent_creates_with_one_slug_let_exactly_one_win,
    a_session_starts_from_a_slug_and_reports_the_resolved_id_and_version,
    a_session_without_a_workflow_starts_on_the_default,
    without_a_default_a_session_needs_a_workflow_and_says_how_to_set_one,
    an_archived_workflow_starts_no_session_but_its_running_sessions_go_on,
    a_workflow_can_take_a_slug_later_and_give_up_the_old_one,
);

fn with(extra: Value) -> Value {
    let mut definition = basic_workflow();
    for (name, value) in extra.as_object().unwrap() {
        definition[name] = value.clone();
    }
    definition
}

impl TestApp {
    async fn workflows_page(&self, query: &str) -> Value {
        let reply = self.tenant_get(&format!("/v1/workflows{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.data().clone()
    }

    async fn patch_workflow(&self, id: &str, body: Value) -> Reply {
        self.call(Method::PATCH, &format!("/v1/workflows/{id}"), Some(&self.api_key.clone()), Some(body))
            .await
    }

    async fn start(&self, body: Value) -> Reply {
        self.tenant_post("/v1/sessions", body).await
    }
}

async fn the_listing_shows_each_workflow_once_at_its_latest_version_page_by_page(app: TestApp) {
    let first = app.create_workflow(with(json!({"name": "First"}))).await;
    app.create_workflow(with(json!({"name": "Second"}))).await;
    app.create_workflow(with(json!({"name": "Third"}))).await;
    let v2 =
        app.tenant_post(&format!("/v1/workflows/{first}/versions"), with(json!({"name": "First v2"}))).await;
    assert_eq!(v2.status, StatusCode::CREATED, "{}", v2.body);

    let page_one = app.workflows_page("?limit=2").await;
    let cursor = page_one["next_cursor"].as_str().expect("a second page").to_owned();
    let page_two = app.workflows_page(&format!("?limit=2&cursor={cursor}")).await;

    let listed: Vec<Value> = [&page_one, &page_two]
        .iter()
        .flat_map(|page| page["workflows"].as_array().unwrap().clone())
        .collect();
    assert_eq!(listed.len(), 3, "each workflow once: {listed:?}");
    let first_listed = listed.iter().find(|w| w["workflow_id"] == first.as_str()).unwrap();
    assert_eq!(first_listed["latest_version"], 2);
    assert_eq!(first_listed["name"], "First v2");
    assert_eq!(first_listed["archived"], false);
    assert!(page_two["next_cursor"].is_null());
}

async fn two_concurrent_creates_with_one_slug_let_exactly_one_win(app: TestApp) {
    let body = with(json!({"slug": "onboarding"}));

    let (a, b) =
        tokio::join!(app.tenant_post("/v1/workflows", body.clone()), app.tenant_post("/v1/workflows", body));

    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::CONFLICT { a } else { b };
    loser.assert_error_containing(StatusCode::CONFLICT, "SLUG_TAKEN", "onboarding");
    let listed = app.workflows_page("").await["workflows"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "the loser left nothing behind: {listed:?}");
    assert_eq!(listed[0]["slug"], "onboarding");
}

async fn a_session_starts_from_a_slug_and_reports_the_resolved_id_and_version(app: TestApp) {
    let id = app.create_workflow(with(json!({"slug": "basic-kyc"}))).await;
    app.tenant_post(&format!("/v1/workflows/{id}/versions"), basic_workflow()).await;

    let reply = app.start(json!({"workflow_slug": "basic-kyc"})).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.data()["workflow_id"], id.as_str());
    assert_eq!(reply.data()["workflow_version"], 2);
    app.start(json!({"workflow_slug": "nobody-has-this"})).await.assert_error_containing(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "nobody-has-this",
    );
    app.start(json!({"workflow_slug": "basic-kyc", "workflow_id": id})).await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "not both",
    );
}

async fn a_session_without_a_workflow_starts_on_the_default(app: TestApp) {
    app.create_workflow(basic_workflow()).await;
    let chosen = app.create_workflow(with(json!({"name": "Chosen", "default": true}))).await;
    let later = app.create_workflow(basic_workflow()).await;

    let on_first_default = app.start(json!({})).await;
    let switched = app.patch_workflow(&later, json!({"default": true})).await;
    let on_second_default = app.start(json!({})).await;

    assert_eq!(on_first_default.status, StatusCode::CREATED, "{}", on_first_default.body);
    assert_eq!(on_first_default.data()["workflow_id"], chosen.as_str());
    assert_eq!(on_first_default.data()["workflow_version"], 1);
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.body);
    assert_eq!(switched.data()["default"], true);
    assert_eq!(on_second_default.data()["workflow_id"], later.as_str());
    let listed = app.workflows_page("").await["workflows"].as_array().unwrap().clone();
    let defaults: Vec<&Value> = listed.iter().filter(|w| w["default"] == true).collect();
    assert_eq!(defaults.len(), 1, "one default per tenant: {listed:?}");
}

async fn without_a_default_a_session_needs_a_workflow_and_says_how_to_set_one(app: TestApp) {
    app.create_workflow(basic_workflow()).await;

    let reply = app.start(json!({})).await;

    reply.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "\"default\": true");
}

async fn an_archived_workflow_starts_no_session_but_its_running_sessions_go_on(app: TestApp) {
    let id = app.create_workflow(with(json!({"slug": "retired", "default": true}))).await;
    let (running, token) = app.create_session(&id).await;

    let archived = app.patch_workflow(&id, json!({"archived": true})).await;

    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    assert_eq!(archived.data()["archived"], true);
    assert_eq!(archived.data()["default"], false, "archiving the default clears it");
    for body in [json!({"workflow_id": id}), json!({"workflow_slug": "retired"})] {
        app.start(body).await.assert_error_containing(
            StatusCode::UNPROCESSABLE_ENTITY,
            "WORKFLOW_ARCHIVED",
            "archived",
        );
    }
    app.start(json!({})).await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "default",
    );
    assert_eq!(app.state(&token).await["status"], "active", "the running session is unaffected");
    assert_eq!(app.tenant_view(&running).await["status"], "active");
    app.patch_workflow(&id, json!({"default": true})).await.assert_error_containing(
        StatusCode::UNPROCESSABLE_ENTITY,
        "WORKFLOW_ARCHIVED",
        "unarchive",
    );
    let restored = app.patch_workflow(&id, json!({"archived": false, "default": true})).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(app.start(json!({"workflow_slug": "retired"})).await.status, StatusCode::CREATED);
    assert_eq!(app.start(json!({})).await.status, StatusCode::CREATED, "the default again");
}

async fn a_workflow_can_take_a_slug_later_and_give_up_the_old_one(app: TestApp) {
    let id = app.create_workflow(basic_workflow()).await;
    let other = app.create_workflow(with(json!({"slug": "taken"}))).await;

    let first = app.patch_workflow(&id, json!({"slug": "kyc-v1"})).await;
    let renamed = app.patch_workflow(&id, json!({"slug": "kyc-v2"})).await;
    let clash = app.patch_workflow(&id, json!({"slug": "taken"})).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(renamed.data()["slug"], "kyc-v2");
    clash.assert_error_containing(StatusCode::CONFLICT, "SLUG_TAKEN", "taken");
    assert_eq!(app.start(json!({"workflow_slug": "kyc-v2"})).await.data()["workflow_id"], id.as_str());
    assert_eq!(app.start(json!({"workflow_slug": "kyc-v1"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.start(json!({"workflow_slug": "taken"})).await.data()["workflow_id"], other.as_str());
    // The freed slug can be claimed by another workflow.
    assert_eq!(app.patch_workflow(&other, json!({"slug": "kyc-v1"})).await.status, StatusCode::OK);
    app.patch_workflow(&id, json!({"slug": "Not A Slug"})).await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "slug",
    );
}
