use crate::helpers::{basic_workflow, TestApp, BASE_URL};
use axum::http::{Method, StatusCode};
use kyc_core::domain::secrets::Mode;
use serde_json::json;

#[tokio::test]
async fn creating_a_workflow_returns_its_id_and_first_version() {
    let app = TestApp::spawn().await;

    let reply = app.tenant_post("/v1/workflows", basic_workflow()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert!(reply.data()["workflow_id"].as_str().unwrap().starts_with("wf_"));
    assert_eq!(reply.data()["version"], 1);
}

#[tokio::test]
async fn invalid_definitions_are_refused_with_a_message_naming_the_culprit() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/steps/2/step_id", json!("step_1"), "duplicate step_id 'step_1'"),
        ("/steps/0/type", json!("video_call"), "unknown variant `video_call`"),
        ("/steps/2/custom_fields/0/type", json!("select"), "field 'full_name': a select field needs options"),
        ("/steps/1/liveness_config/min_confidence", json!(101), "min_confidence must be between 0 and 100"),
        ("/branding/text_color", json!("black"), "expected #RRGGBB"),
        ("/steps/2/custom_fields/1/type", json!("birthday"), "unknown variant `birthday`"),
    ];
    for (pointer, value, message) in cases {
        let mut definition = basic_workflow();
        *definition.pointer_mut(pointer).unwrap() = value;

        let reply = app.tenant_post("/v1/workflows", definition).await;

        reply.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message);
    }
}

#[tokio::test]
async fn new_versions_are_numbered_and_each_stays_readable() {
    let app = TestApp::spawn().await;
    let id = app.create_workflow(basic_workflow()).await;
    let mut v2 = basic_workflow();
    v2["name"] = json!("Basic KYC v2");

    let created = app.tenant_post(&format!("/v1/workflows/{id}/versions"), v2).await;

    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.data()["version"], 2);
    let latest = app.tenant_get(&format!("/v1/workflows/{id}")).await;
    assert_eq!(
        (latest.data()["version"].clone(), latest.data()["name"].clone()),
        (json!(2), json!("Basic KYC v2"))
    );
    let first = app.tenant_get(&format!("/v1/workflows/{id}?version=1")).await;
    assert_eq!(
        (first.data()["version"].clone(), first.data()["name"].clone()),
        (json!(1), json!("Basic KYC"))
    );
    app.tenant_get(&format!("/v1/workflows/{id}?version=9")).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Workflow not found",
    );
    app.tenant_get(&format!("/v1/workflows/{id}?version=x")).await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Invalid query string",
    );
}

#[tokio::test]
async fn racing_version_creations_never_share_a_number() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let id = app.create_workflow(basic_workflow()).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move {
                app.tenant_post(&format!("/v1/workflows/{id}/versions"), basic_workflow()).await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::CREATED => versions.push(reply.data()["version"].as_u64().unwrap()),
            StatusCode::CONFLICT => assert_eq!(reply.body["error"]["code"], "CONFLICT"),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    let mut unique = versions.clone();
    unique.dedup();
    assert_eq!(unique.len(), versions.len(), "a version number was handed out twice: {versions:?}");
    assert!(!versions.is_empty());
}

#[tokio::test]
async fn creating_a_session_returns_the_token_link_and_a_seven_day_expiry() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;

    let reply = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "external_reference": "cus_42", "metadata": {"plan": "gold"}}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let data = reply.data();
    let token = data["access_token"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(token).is_ok());
    assert_eq!(data["public_url"], format!("{BASE_URL}/public/sessions/{token}"));
    assert_eq!(data["status"], "active");
    assert_eq!(data["workflow_id"], workflow.as_str());
    assert_eq!(data["workflow_version"], 1);
    let created = time::OffsetDateTime::parse(
        data["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(data["expires_at"].as_i64().unwrap() - created.unix_timestamp(), 7 * 24 * 3600);
}

#[tokio::test]
async fn session_requests_are_validated() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let cases = [
        (json!({"workflow_id": workflow, "expires_in_seconds": 5}), "expires_in_seconds must be between"),
        (json!({"workflow_id": workflow, "external_reference": ""}), "external_reference must be"),
        (json!({"workflow_id": workflow, "colour": "red"}), "unknown field `colour`"),
        (json!({"workflow_id": "not-a-workflow"}), "invalid wf id"),
    ];
    for (body, message) in cases {
        app.tenant_post("/v1/sessions", body).await.assert_error_containing(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            message,
        );
    }
    app.tenant_post("/v1/sessions", json!({"workflow_id": "wf_doesnotexist"})).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Workflow not found",
    );
}

#[tokio::test]
async fn the_tenant_view_shows_the_full_session() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let reply = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "external_reference": "cus_42", "metadata": {"plan": "gold"}}),
        )
        .await;
    let session_id = reply.data()["session_id"].as_str().unwrap().to_owned();

    let view = app.tenant_get(&format!("/v1/sessions/{session_id}")).await;

    assert_eq!(view.status, StatusCode::OK);
    let data = view.data();
    assert_eq!(data["session_id"], session_id.as_str());
    assert_eq!(data["status"], "active");
    assert_eq!(data["mode"], "test");
    assert_eq!(data["external_reference"], "cus_42");
    assert_eq!(data["metadata"], json!({"plan": "gold"}));
    assert_eq!(data["workflow_name"], "Basic KYC");
}

#[tokio::test]
async fn a_missing_or_wrong_api_key_is_unauthorized() {
    let app = TestApp::spawn().await;
    let wrong = format!("sk_test_{}", "0".repeat(64));
    for key in [None, Some("sk_test_short"), Some(wrong.as_str()), Some("Basic abc")] {
        let reply = app.call(Method::GET, "/v1/workflows/wf_x", key, None).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Invalid or missing API key");
    }
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_leak_nothing() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let (session_id, _) = app.create_session(&workflow).await;
    let other = app.new_tenant_key(Mode::Test).await;

    let session = app.call(Method::GET, &format!("/v1/sessions/{session_id}"), Some(&other), None).await;
    let read = app.call(Method::GET, &format!("/v1/workflows/{workflow}"), Some(&other), None).await;
    let version = app
        .call(
            Method::POST,
            &format!("/v1/workflows/{workflow}/versions"),
            Some(&other),
            Some(basic_workflow()),
        )
        .await;
    let start =
        app.call(Method::POST, "/v1/sessions", Some(&other), Some(json!({"workflow_id": workflow}))).await;

    session.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Session not found");
    read.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Workflow not found");
    version.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Workflow not found");
    start.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Workflow not found");
}

#[tokio::test]
async fn live_keys_create_live_sessions() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    assert!(live.starts_with("sk_live_"));
    let created = app.call(Method::POST, "/v1/workflows", Some(&live), Some(basic_workflow())).await;
    let workflow = created.data()["workflow_id"].clone();
    let session =
        app.call(Method::POST, "/v1/sessions", Some(&live), Some(json!({"workflow_id": workflow}))).await;
    let id = session.data()["session_id"].as_str().unwrap();

    let view = app.call(Method::GET, &format!("/v1/sessions/{id}"), Some(&live), None).await;

    assert_eq!(view.data()["mode"], "live");
}

#[tokio::test]
async fn listing_pages_through_the_tenants_own_sessions_newest_first() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let reply = app
            .tenant_post(
                "/v1/sessions",
                json!({"workflow_id": workflow, "external_reference": format!("cus_{i}")}),
            )
            .await;
        created.push(reply.data()["session_id"].as_str().unwrap().to_owned());
        app.clock.advance(time::Duration::seconds(1));
    }
    let other = app.new_tenant_key(Mode::Test).await;
    let theirs = app.call(Method::POST, "/v1/workflows", Some(&other), Some(basic_workflow())).await;
    app.call(
        Method::POST,
        "/v1/sessions",
        Some(&other),
        Some(json!({"workflow_id": theirs.data()["workflow_id"]})),
    )
    .await;

    let first = app.tenant_get("/v1/sessions?limit=2").await;
    let cursor = first.data()["next_cursor"].as_str().unwrap().to_owned();
    let mut seen: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        seen.extend(
            page.data()["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["session_id"].as_str().unwrap().to_owned()),
        );
        let Some(next) = page.data()["next_cursor"].as_str().map(str::to_owned) else { break };
        page = app.tenant_get(&format!("/v1/sessions?limit=2&cursor={next}")).await;
    }
    let filtered = app.tenant_get("/v1/sessions?external_reference=cus_3").await;

    assert!(!cursor.is_empty());
    created.reverse();
    assert_eq!(seen, created, "every own session once, newest first, none of the other tenant's");
    assert_eq!(filtered.data()["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(filtered.data()["sessions"][0]["external_reference"], "cus_3");
    app.tenant_get("/v1/sessions?limit=0").await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "limit must be between 1 and 100",
    );
    app.tenant_get("/v1/sessions?cursor=garbage").await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "cursor is not valid for this listing",
    );
}

#[tokio::test]
async fn test_keys_see_test_sessions_only_and_live_keys_live_ones() {
    let app = TestApp::spawn().await;
    let tenant = app.services.authenticate(&app.api_key).await.unwrap().tenant_id;
    let live_key = app.services.create_api_key(&tenant, Mode::Live).await.unwrap().secret.expose().to_owned();
    let (test_session, _) = app.basic_session().await;
    let live_workflow = app
        .call(Method::POST, "/v1/workflows", Some(&live_key), Some(crate::helpers::basic_workflow()))
        .await
        .data()["workflow_id"]
        .clone();
    let live_session = app
        .call(Method::POST, "/v1/sessions", Some(&live_key), Some(json!({"workflow_id": live_workflow})))
        .await
        .data()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let live_reads_test =
        app.call(Method::GET, &format!("/v1/sessions/{test_session}"), Some(&live_key), None).await;
    let live_cancels_test = app
        .call(Method::POST, &format!("/v1/sessions/{test_session}/cancel"), Some(&live_key), Some(json!({})))
        .await;
    let test_reads_live = app.tenant_get(&format!("/v1/sessions/{live_session}")).await;
    let test_listing = app.tenant_get("/v1/sessions").await;
    let live_listing = app.call(Method::GET, "/v1/sessions", Some(&live_key), None).await;

    for reply in [&live_reads_test, &live_cancels_test, &test_reads_live] {
        reply.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Session not found");
    }
    let ids = |reply: &crate::helpers::Reply| {
        reply.data()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["session_id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&test_listing), [json!(test_session)]);
    assert_eq!(ids(&live_listing), [json!(live_session)]);
    assert_eq!(live_listing.data()["sessions"][0]["livemode"], true);
    assert_eq!(test_listing.data()["sessions"][0]["livemode"], false);
    assert_eq!(app.tenant_view(&test_session).await["livemode"], false);
}

#[tokio::test]
async fn workflows_are_capped_in_size_and_cannot_chain_related_parties() {
    let app = TestApp::spawn().await;
    let huge = json!({"name": "Huge", "steps": [{"step_id": "a", "name": "A", "type": "form_fill",
        "description": "x".repeat(4_000),
        "custom_fields": (0..100).map(|i| json!({"field_id": format!("f{i}"), "name": "y".repeat(400), "type": "text",
            "help_text": "z".repeat(1_000)})).collect::<Vec<_>>()}]});
    let party = app
        .create_workflow(json!({"name": "Party", "steps": [{"step_id": "a", "name": "A", "type": "form_fill",
        "custom_fields": [{"field_id": "n", "name": "N", "type": "text"}]}]}))
        .await;
    let collecting = |workflow_id: &str| {
        json!({"name": "Collects", "steps": [{"step_id": "ubos", "name": "Owners", "type": "subsession_collection",
            "subsession_config": {"workflow_id": workflow_id, "max_allowed": 2}}]})
    };
    let parent = app.create_workflow(collecting(&party)).await;

    let too_big = app.tenant_post("/v1/workflows", huge).await;
    let itself = app.tenant_post(&format!("/v1/workflows/{parent}/versions"), collecting(&parent)).await;
    let chained = app.tenant_post("/v1/workflows", collecting(&parent)).await;

    too_big.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "at most 100 KB is accepted",
    );
    itself.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "step 'ubos': a workflow cannot collect related parties through itself",
    );
    chained.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "a related party's workflow cannot",
    );
}

#[tokio::test]
async fn a_sessions_redirect_url_reaches_the_frontend_and_falls_back_to_the_workflows() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let live = app.new_tenant_key(Mode::Live).await;

    let own = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "redirect_url": "http://localhost:8080/done"}),
        )
        .await;
    let (_, fallback) = app.create_session(&workflow).await;
    let bad = app
        .tenant_post("/v1/sessions", json!({"workflow_id": workflow, "redirect_url": "javascript:alert(1)"}))
        .await;
    let live_http = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(&live),
            Some(json!({"workflow_id": workflow, "redirect_url": "http://shop.example.com"})),
        )
        .await;

    let token = own.data()["access_token"].as_str().unwrap();
    assert_eq!(app.state(token).await["redirect_url"], "http://localhost:8080/done");
    assert_eq!(app.state(&fallback).await["redirect_url"], "https://example.com/kyc-complete");
    bad.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "redirect_url must be an absolute https URL (http is accepted in test mode)",
    );
    assert_eq!(live_http.status, StatusCode::BAD_REQUEST, "{}", live_http.body);
}
