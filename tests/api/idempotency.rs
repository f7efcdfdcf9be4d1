//! `Idempotency-Key` on mutating tenant requests, through the router, on SQLite and on DynamoDB
//! (the emulator `make test` runs): every scenario below runs on both stores.

use crate::helpers::{basic_workflow, TestApp};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use kyc_core::codec::keys;
use kyc_core::domain::idempotency::{IdempotencyKey, IdempotencyScope};
use kyc_core::domain::secrets::Mode;
use kyc_core::services::{Idempotency, IdempotentRequest, StoredResponse};
use serde_json::{json, Value};
use std::sync::Arc;

on_both_stores!(
    a_replay_answers_the_same_bytes_and_creates_nothing,
    the_kept_response_never_holds_the_access_token_in_clear,
    the_same_key_with_another_body_or_path_is_refused_with_422,
    twenty_concurrent_requests_with_one_key_create_exactly_one_session,
    an_abandoned_request_can_be_retried_once_its_lease_expires,
    a_key_reused_after_24_hours_runs_again,
    two_tenants_may_use_the_same_key,
    a_client_error_is_replayed_but_a_server_error_releases_the_key,
    malformed_keys_are_refused_with_400_and_run_nothing,
    requests_that_are_not_mutating_tenant_requests_ignore_the_header,
);

/// The tenant's sessions, as the listing shows them.
async fn session_ids(app: &TestApp, api_key: &str) -> Vec<String> {
    let reply = app.call(Method::GET, "/v1/sessions?limit=100", Some(api_key), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.data()["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect()
}

fn create_body(workflow_id: &str) -> Value {
    json!({"workflow_id": workflow_id, "external_reference": "customer-42", "metadata": {"plan": "gold"}})
}

async fn a_replay_answers_the_same_bytes_and_creates_nothing(app: TestApp) {
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();

    let first =
        app.keyed(Method::POST, "/v1/sessions", &key, "create-42", Some(create_body(&workflow))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!first.replayed);
    let session_id = first.data()["session_id"].as_str().unwrap().to_owned();
    let events = app.outbox(&session_id).await;

    // The same JSON document, serialized differently (key order, spacing), is the same request.
    let reordered =
        r#"{ "metadata": {"plan": "gold"}, "external_reference": "customer-42", "workflow_id": "WF" }"#
            .replace("WF", &workflow);
    let request = Request::post("/v1/sessions")
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", "create-42")
        .header("content-type", "application/json")
        .body(Body::from(reordered))
        .unwrap();
    let second = app.send(request).await;

    assert_eq!(second.status, StatusCode::CREATED);
    assert!(second.replayed, "a replay says so");
    assert_eq!(second.bytes, first.bytes, "a replay is byte-identical, access token included");
    assert_ne!(second.request_id_header, first.request_id_header, "the answer itself is new");
    assert_eq!(session_ids(&app, &key).await, vec![session_id.clone()], "no second session");
    assert_eq!(app.outbox(&session_id).await, events, "no second outbox event");

    // The token the replay hands out opens the one session; the stored copy is sealed.
    let token = first.data()["access_token"].as_str().unwrap();
    assert_eq!(app.state(token).await["session_id"], session_id.as_str());
}

async fn the_kept_response_never_holds_the_access_token_in_clear(app: TestApp) {
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();
    let created =
        app.keyed(Method::POST, "/v1/sessions", &key, "secret-1", Some(create_body(&workflow))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = created.data()["access_token"].as_str().unwrap().to_owned();

    // The record as the store holds it: completed, with a sealed body and no token in clear.
    let caller = app.services.authenticate(&key).await.unwrap();
    let scope = IdempotencyScope::new(
        &caller.tenant_id,
        "POST",
        "/v1/sessions",
        &IdempotencyKey::parse("secret-1").unwrap(),
    );
    let item = kyc_core::ports::Table::get(app.table.as_ref(), &keys::idempotency(&scope))
        .await
        .unwrap()
        .expect("the record is stored");
    let raw = serde_json::to_string(&item).unwrap();
    assert!(raw.contains("completed") && raw.contains("sealed_body"), "{raw}");
    assert!(!raw.contains(&token), "the stored item holds the access token in clear");
    assert!(!raw.contains("secret-1"), "the raw idempotency key is not stored either");
    // Nor does any byte the embedded store wrote to disk (on DynamoDB the directory is empty).
    let disk = app.stored_bytes();
    assert!(!disk.windows(token.len()).any(|w| w == token.as_bytes()), "the token is on disk in clear");

    // A replay still hands the token out: a client that lost the first answer needs it.
    let replay =
        app.keyed(Method::POST, "/v1/sessions", &key, "secret-1", Some(create_body(&workflow))).await;
    assert!(replay.replayed);
    assert_eq!(replay.data()["access_token"], token.as_str());
}

async fn the_same_key_with_another_body_or_path_is_refused_with_422(app: TestApp) {
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();
    let first = app.keyed(Method::POST, "/v1/sessions", &key, "k-1", Some(create_body(&workflow))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    let mut other = create_body(&workflow);
    other["external_reference"] = json!("customer-43");
    let conflict = app.keyed(Method::POST, "/v1/sessions", &key, "k-1", Some(other)).await;
    conflict.assert_error_containing(
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_CONFLICT",
        "already used with a different request",
    );
    assert!(!conflict.replayed);
    assert_eq!(session_ids(&app, &key).await.len(), 1);

    // Keys are scoped by route template: the same key on two sessions' cancel routes meets itself.
    let (a, _) = app.create_session(&workflow).await;
    let (b, _) = app.create_session(&workflow).await;
    let cancel = |id: &str| format!("/v1/sessions/{id}/cancel");
    let canceled = app.keyed(Method::POST, &cancel(&a), &key, "cancel-1", None).await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.body);
    let other_session = app.keyed(Method::POST, &cancel(&b), &key, "cancel-1", None).await;
    other_session.assert_error_containing(
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_CONFLICT",
        "different",
    );
    assert_eq!(app.tenant_view(&b).await["status"], "active", "the second cancel did not run");
    // ...while another route has a scope of its own.
    let workflow_reply =
        app.keyed(Method::POST, "/v1/workflows", &key, "cancel-1", Some(basic_workflow())).await;
    assert_eq!(workflow_reply.status, StatusCode::CREATED, "{}", workflow_reply.body);
}

async fn twenty_concurrent_requests_with_one_key_create_exactly_one_session(app: TestApp) {
    let app = Arc::new(app);
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, key, workflow, barrier) = (app.clone(), key.clone(), workflow.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.keyed(Method::POST, "/v1/sessions", &key, "race-1", Some(create_body(&workflow))).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }

    let executed: Vec<_> =
        replies.iter().filter(|r| r.status == StatusCode::CREATED && !r.replayed).collect();
    assert_eq!(executed.len(), 1, "exactly one request runs");
    for reply in &replies {
        match (reply.status, reply.replayed) {
            (StatusCode::CREATED, false) => {}
            (StatusCode::CREATED, true) => assert_eq!(reply.bytes, executed[0].bytes),
            (StatusCode::CONFLICT, false) => {
                assert_eq!(reply.body["error"]["code"], "IDEMPOTENCY_IN_PROGRESS")
            }
            other => panic!("unexpected answer {other:?}: {}", reply.body),
        }
    }
    assert_eq!(session_ids(&app, &key).await.len(), 1, "exactly one session");
    // Once the first finished, a retry is a replay.
    let retry = app.keyed(Method::POST, "/v1/sessions", &key, "race-1", Some(create_body(&workflow))).await;
    assert!(retry.replayed);
    assert_eq!(retry.bytes, executed[0].bytes);
}

async fn an_abandoned_request_can_be_retried_once_its_lease_expires(app: TestApp) {
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();
    let body = create_body(&workflow);
    // A request that claimed the key and died before answering (its process was killed).
    let caller = app.services.authenticate(&key).await.unwrap();
    let idempotency_key = IdempotencyKey::parse("crashed-1").unwrap();
    let claimed = app
        .services
        .claim_idempotency_key(
            &caller,
            IdempotentRequest {
                key: &idempotency_key,
                method: "POST",
                route: "/v1/sessions",
                path_and_query: "/v1/sessions",
                body: body.to_string().as_bytes(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(claimed, Idempotency::Execute(_)));

    let busy = app.keyed(Method::POST, "/v1/sessions", &key, "crashed-1", Some(body.clone())).await;
    busy.assert_error_containing(StatusCode::CONFLICT, "IDEMPOTENCY_IN_PROGRESS", "still in progress");
    app.clock.advance(time::Duration::seconds(30));
    let still_busy = app.keyed(Method::POST, "/v1/sessions", &key, "crashed-1", Some(body.clone())).await;
    assert_eq!(still_busy.status, StatusCode::CONFLICT);
    assert!(session_ids(&app, &key).await.is_empty());

    app.clock.advance(time::Duration::seconds(31));
    let retried = app.keyed(Method::POST, "/v1/sessions", &key, "crashed-1", Some(body.clone())).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    assert!(!retried.replayed);
    // The abandoned request cannot overwrite the record its successor completed.
    if let Idempotency::Execute(stale) = claimed {
        let late = StoredResponse { status: 201, content_type: None, body: b"{}".to_vec() };
        app.services.finish_idempotent(stale, &late).await.unwrap();
    }
    let replay = app.keyed(Method::POST, "/v1/sessions", &key, "crashed-1", Some(body)).await;
    assert!(replay.replayed);
    assert_eq!(replay.bytes, retried.bytes);
    assert_eq!(session_ids(&app, &key).await.len(), 1);
}

async fn a_key_reused_after_24_hours_runs_again(app: TestApp) {
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();
    let send = || app.keyed(Method::POST, "/v1/sessions", &key, "daily-1", Some(create_body(&workflow)));
    let first = send().await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    app.clock.advance(time::Duration::hours(24));
    let within = send().await;
    assert!(within.replayed, "still replayed at exactly 24 hours");
    assert_eq!(within.bytes, first.bytes);

    app.clock.advance(time::Duration::seconds(1));
    let after = send().await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
    assert!(!after.replayed, "an expired key runs anew");
    assert_ne!(after.data()["session_id"], first.data()["session_id"]);
    assert_eq!(session_ids(&app, &key).await.len(), 2);
    let again = send().await;
    assert!(again.replayed);
    assert_eq!(again.bytes, after.bytes);
}

async fn two_tenants_may_use_the_same_key(app: TestApp) {
    let tenant_a = app.api_key.clone();
    let tenant_b = app.new_tenant_key(Mode::Test).await;
    let a = app.keyed(Method::POST, "/v1/workflows", &tenant_a, "shared-key", Some(basic_workflow())).await;
    let b = app.keyed(Method::POST, "/v1/workflows", &tenant_b, "shared-key", Some(basic_workflow())).await;
    assert_eq!((a.status, b.status), (StatusCode::CREATED, StatusCode::CREATED), "{} / {}", a.body, b.body);
    assert!(!a.replayed && !b.replayed, "B's request is not A's replay");
    assert_ne!(a.data()["workflow_id"], b.data()["workflow_id"]);
    // B's workflow belongs to B.
    let b_id = b.data()["workflow_id"].as_str().unwrap();
    let read = app.call(Method::GET, &format!("/v1/workflows/{b_id}"), Some(&tenant_b), None).await;
    assert_eq!(read.status, StatusCode::OK);
    let foreign = app.call(Method::GET, &format!("/v1/workflows/{b_id}"), Some(&tenant_a), None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

async fn a_client_error_is_replayed_but_a_server_error_releases_the_key(app: TestApp) {
    let key = app.api_key.clone();
    let invalid = json!({"workflow_id": "wf_doesnotexist", "expires_in_seconds": 5});
    let first = app.keyed(Method::POST, "/v1/sessions", &key, "bad-1", Some(invalid.clone())).await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST, "{}", first.body);
    let second = app.keyed(Method::POST, "/v1/sessions", &key, "bad-1", Some(invalid)).await;
    assert!(second.replayed, "a 4xx answer is kept");
    assert_eq!((second.status, &second.bytes), (first.status, &first.bytes));

    // A 5xx (or a lost race, 409) is not kept: the key is free again for the client's retry.
    let caller = app.services.authenticate(&key).await.unwrap();
    let idempotency_key = IdempotencyKey::parse("flaky-1").unwrap();
    let request = IdempotentRequest {
        key: &idempotency_key,
        method: "POST",
        route: "/v1/workflows",
        path_and_query: "/v1/workflows",
        body: b"{}",
    };
    for status in [500, 503, 409] {
        let Idempotency::Execute(claim) = app.services.claim_idempotency_key(&caller, request).await.unwrap()
        else {
            panic!("the key was not released after a {status}");
        };
        let failed = StoredResponse { status, content_type: None, body: b"{}".to_vec() };
        app.services.finish_idempotent(claim, &failed).await.unwrap();
    }
    let Idempotency::Execute(claim) = app.services.claim_idempotency_key(&caller, request).await.unwrap()
    else {
        panic!("the key was not released");
    };
    let done =
        StoredResponse { status: 201, content_type: Some("application/json".into()), body: b"{}".to_vec() };
    app.services.finish_idempotent(claim, &done).await.unwrap();
    match app.services.claim_idempotency_key(&caller, request).await.unwrap() {
        Idempotency::Replay(stored) => assert_eq!(stored, done),
        Idempotency::Execute(_) => panic!("a 201 must be kept"),
    }
}

async fn malformed_keys_are_refused_with_400_and_run_nothing(app: TestApp) {
    let workflow = app.create_workflow(basic_workflow()).await;
    let key = app.api_key.clone();
    let long = "k".repeat(256);
    let bad_values: Vec<HeaderValue> = vec![
        HeaderValue::from_static(""),
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_static("tab\there"),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
    ];
    for value in bad_values {
        let request = Request::post("/v1/sessions")
            .header("authorization", format!("Bearer {key}"))
            .header("idempotency-key", value.clone())
            .header("content-type", "application/json")
            .body(Body::from(create_body(&workflow).to_string()))
            .unwrap();
        let reply = app.send(request).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        );
    }
    let twice = Request::post("/v1/sessions")
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .header("content-type", "application/json")
        .body(Body::from(create_body(&workflow).to_string()))
        .unwrap();
    app.send(twice).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Send at most one Idempotency-Key header",
    );
    assert!(session_ids(&app, &key).await.is_empty(), "nothing ran");

    // The longest key is fine; a wrong API key is refused before any record is written.
    let longest = "k".repeat(255);
    let ok = app.keyed(Method::POST, "/v1/sessions", &key, &longest, Some(create_body(&workflow))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let wrong_key = "sk_test_".to_owned() + &"0".repeat(64);
    let unauthorized =
        app.keyed(Method::POST, "/v1/sessions", &wrong_key, "x", Some(create_body(&workflow))).await;
    unauthorized.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Invalid or missing API key");

    // Without credentials the answer is 401 whatever else is wrong (found by Schemathesis: an
    // empty key was reported before the missing Authorization header).
    let anonymous = Request::post("/v1/sessions")
        .header("idempotency-key", "")
        .header("content-type", "application/json")
        .body(Body::from(create_body(&workflow).to_string()))
        .unwrap();
    app.send(anonymous).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "Invalid or missing API key",
    );
}

async fn requests_that_are_not_mutating_tenant_requests_ignore_the_header(app: TestApp) {
    let (session_id, token) = app.basic_session().await;
    let key = app.api_key.clone();
    let path = format!("/v1/sessions/{session_id}");
    let first = app.keyed(Method::GET, &path, &key, "read-1", None).await;
    app.clock.advance(time::Duration::seconds(5));
    let second = app.keyed(Method::GET, &path, &key, "read-1", None).await;
    assert_eq!((first.status, second.status), (StatusCode::OK, StatusCode::OK));
    assert!(!first.replayed && !second.replayed, "reads are never replayed");

    // Public routes have no tenant: the header changes nothing there either.
    let request = |n: u8| {
        Request::post(format!("/public/sessions/{token}/step/step_3/complete"))
            .header("idempotency-key", "public-1")
            .header("content-type", "application/json")
            .body(Body::from(json!({"form_data": {"full_name": format!("Jon {n}")}}).to_string()))
            .unwrap()
    };
    let a = app.send(request(1)).await;
    let b = app.send(request(2)).await;
    assert!(!a.replayed && !b.replayed);
    assert_ne!(a.bytes, b.bytes);
}
