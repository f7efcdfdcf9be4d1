//! Webhooks: endpoints, signed deliveries on the retry schedule, the delivery log and replay.

use crate::helpers::{Reply, TestApp};
use axum::http::{Method, StatusCode};
use kyc_core::domain::secrets::Mode;
use kyc_core::domain::webhooks::WebhookSecret;
use kyc_testkit::ScriptedWebhooks;
use serde_json::{json, Value};

const RECEIVER: &str = "http://127.0.0.1:4000/kyc-webhooks";

fn one_step() -> Value {
    json!({"name": "One step", "steps": [
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]})
}

async fn create_endpoint(app: &TestApp, events: Value) -> Value {
    let reply = app.tenant_post("/v1/webhook_endpoints", json!({"url": RECEIVER, "events": events})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.data().clone()
}

/// A session of a one-step workflow whose end user finished (→ manual_review).
async fn finished_session(app: &TestApp) -> String {
    let workflow = app.create_workflow(one_step()).await;
    let (session, token) = app.create_session(&workflow).await;
    let form = json!({"form_data": {"full_name": "Ada Lovelace"}});
    assert_eq!(app.complete_step(&token, "info", form).await.status, StatusCode::OK);
    session
}

async fn dispatch(app: &TestApp) -> kyc_core::services::DispatchReport {
    app.services.dispatch_webhooks(100).await.expect("dispatch")
}

async fn deliveries(app: &TestApp, endpoint: &str) -> Vec<Value> {
    let reply = app.tenant_get(&format!("/v1/webhook_endpoints/{endpoint}/deliveries?limit=100")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.data()["deliveries"].as_array().unwrap().clone()
}

fn advance(app: &TestApp, seconds: i64) {
    app.clock.advance(time::Duration::seconds(seconds));
}

#[tokio::test]
async fn an_endpoint_is_created_with_a_secret_shown_once_and_managed_by_its_tenant() {
    let app = TestApp::spawn().await;
    let created = create_endpoint(&app, json!(["session.completed"])).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(WebhookSecret::parse(created["secret"].as_str().unwrap()).is_some(), "{created}");
    assert_eq!((created["status"].as_str(), created["livemode"].as_bool()), (Some("enabled"), Some(false)));

    let listed = app.tenant_get("/v1/webhook_endpoints").await;
    let read = app.tenant_get(&format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!(listed.data()["endpoints"][0]["id"], id.as_str());
    assert!(
        listed.body.to_string().find("whsec_").is_none() && read.body.to_string().find("whsec_").is_none()
    );
    assert!(
        !String::from_utf8_lossy(&app.stored_bytes()).contains(created["secret"].as_str().unwrap()),
        "sealed at rest"
    );

    let patched = app
        .call(
            Method::PATCH,
            &format!("/v1/webhook_endpoints/{id}"),
            Some(&app.api_key),
            Some(json!({"events": ["*"], "enabled": false})),
        )
        .await;
    assert_eq!(
        (patched.data()["events"].clone(), patched.data()["status"].clone()),
        (json!(["*"]), json!("disabled"))
    );

    let stranger = app.new_tenant_key(Mode::Test).await;
    let other = app.call(Method::GET, &format!("/v1/webhook_endpoints/{id}"), Some(&stranger), None).await;
    other.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Webhook endpoint not found");

    let deleted =
        app.call(Method::DELETE, &format!("/v1/webhook_endpoints/{id}"), Some(&app.api_key), None).await;
    assert_eq!(deleted.data(), &json!({"id": id, "deleted": true}));
    assert_eq!(app.tenant_get(&format!("/v1/webhook_endpoints/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn endpoint_urls_and_events_are_checked_and_live_endpoints_need_https_to_public_hosts() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let post = |key: String, body: Value| {
        let app = &app;
        async move { app.call(Method::POST, "/v1/webhook_endpoints", Some(&key), Some(body)).await }
    };

    let http_live = post(live.clone(), json!({"url": RECEIVER, "events": ["*"]})).await;
    let metadata =
        post(live.clone(), json!({"url": "https://169.254.169.254/latest", "events": ["*"]})).await;
    let unknown = post(app.api_key.clone(), json!({"url": RECEIVER, "events": ["session.exploded"]})).await;
    let private = post(app.api_key.clone(), json!({"url": "http://10.0.0.8/hook", "events": ["*"]})).await;
    let https_live = post(live, json!({"url": "https://hooks.example.com/kyc", "events": ["*"]})).await;

    http_live.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "url must use https");
    metadata.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "url must point at a public address");
    unknown.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "events: 'session.exploded' is not an event type",
    );
    private.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "https");
    assert_eq!(
        (https_live.status, https_live.data()["livemode"].clone()),
        (StatusCode::CREATED, json!(true))
    );
    // The test-mode key sees only its own mode's endpoints.
    assert_eq!(app.tenant_get("/v1/webhook_endpoints").await.data()["endpoints"], json!([]));
}

#[tokio::test]
async fn a_finished_session_is_delivered_signed_with_ids_and_outcomes_only() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
    let secret = WebhookSecret::parse(endpoint["secret"].as_str().unwrap()).unwrap();
    let session = finished_session(&app).await;

    let report = dispatch(&app).await;

    assert_eq!((report.deliveries, report.attempts, report.delivered), (1, 1, 1), "{report:?}");
    let requests = app.webhooks.requests();
    assert_eq!(requests.len(), 1, "step.completed is not subscribed");
    let request = &requests[0];
    assert_eq!(request.url, RECEIVER);
    let id = ScriptedWebhooks::header(request, "webhook-id").unwrap();
    let timestamp: i64 = ScriptedWebhooks::header(request, "webhook-timestamp").unwrap().parse().unwrap();
    let signature = ScriptedWebhooks::header(request, "webhook-signature").unwrap();
    assert_eq!(signature, secret.sign(id, timestamp, &request.body));
    assert_eq!(timestamp, app.clock_now().unix_timestamp());
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "session.completed");
    assert_eq!(body["data"]["session_id"], session.as_str());
    assert_eq!(
        (body["data"]["status"].as_str(), body["data"]["livemode"].as_bool()),
        (Some("manual_review"), Some(false))
    );
    assert!(!String::from_utf8_lossy(&request.body).contains("Ada"), "no form values in a webhook");

    let log = deliveries(&app, endpoint["id"].as_str().unwrap()).await;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0]["status"].as_str(), log[0]["event_id"].as_str()), (Some("delivered"), Some(id)));
    assert_eq!(log[0]["attempts"][0]["status_code"], 200);
    assert_eq!(log[0]["attempts"][0]["response_body"], "ok");
    // Nothing more to do: the event left the outbox and the delivery is done.
    assert_eq!(dispatch(&app).await, Default::default());
}

#[tokio::test]
async fn a_failing_receiver_is_retried_on_schedule_until_exactly_one_success() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
    app.webhooks.answer([Ok(500), Err("connection refused"), Ok(503)]);
    finished_session(&app).await;

    let mut delays = Vec::new();
    for _ in 0..4 {
        dispatch(&app).await;
        let log = deliveries(&app, endpoint["id"].as_str().unwrap()).await;
        let Some(due) = log[0]["next_attempt_at"].as_i64() else { break };
        let delay = due - app.clock_now().unix_timestamp();
        delays.push(delay);
        assert_eq!(dispatch(&app).await.attempts, 0, "nothing is attempted before it is due");
        advance(&app, delay);
    }

    let requests = app.webhooks.requests();
    assert_eq!(requests.len(), 4, "three failures, then the success");
    let ids: Vec<&str> =
        requests.iter().map(|r| ScriptedWebhooks::header(r, "webhook-id").unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the webhook-id is stable across retries");
    let log = deliveries(&app, endpoint["id"].as_str().unwrap()).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["attempt_count"].as_u64()), (Some("delivered"), Some(4)));
    let attempts = log[0]["attempts"].as_array().unwrap();
    let codes: Vec<Value> = attempts.iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), Value::Null, json!(503), json!(200)]);
    assert_eq!(attempts[1]["error"], "connection failed: connection refused");
    // 5 s, 5 min and 30 min, each within ±20 %.
    for (delay, base) in delays.iter().zip([5, 300, 1_800]) {
        let (low, high) = ((base as f64 * 0.8).floor() as i64, (base as f64 * 1.2).ceil() as i64);
        assert!((low..=high).contains(delay), "delay {delay} for {base}: {delays:?}");
    }
}

#[tokio::test]
async fn a_delivery_that_never_succeeds_is_given_up_after_eight_attempts() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
    app.webhooks.answer([Ok(500); 8]);
    finished_session(&app).await;

    for _ in 0..8 {
        dispatch(&app).await;
        advance(&app, 13 * 3600);
    }
    dispatch(&app).await;

    let log = deliveries(&app, endpoint["id"].as_str().unwrap()).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["attempt_count"].as_u64()), (Some("failed"), Some(8)));
    assert!(log[0].get("next_attempt_at").is_none());
    assert_eq!(app.webhooks.requests().len(), 8);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_later_events_are_not_sent() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["*"])).await;
    let id = endpoint["id"].as_str().unwrap();
    app.webhooks.answer([Ok(410)]);
    finished_session(&app).await;

    dispatch(&app).await;
    let before = app.webhooks.requests().len();
    finished_session(&app).await;
    dispatch(&app).await;

    let read = app.tenant_get(&format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!(read.data()["status"], "disabled");
    assert_eq!(read.data()["disabled_reason"], "the receiver answered 410 Gone");
    assert_eq!(app.webhooks.requests().len(), before, "a disabled endpoint gets no new delivery");
}

#[tokio::test]
async fn the_tenants_other_endpoints_are_told_when_one_is_disabled() {
    let app = TestApp::spawn().await;
    let gone = create_endpoint(&app, json!(["session.completed"])).await;
    let watcher = create_endpoint(&app, json!(["webhook_endpoint.disabled"])).await;
    app.webhooks.answer([Ok(410)]);
    finished_session(&app).await;

    dispatch(&app).await;
    dispatch(&app).await;

    let told = deliveries(&app, watcher["id"].as_str().unwrap()).await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0]["event_type"].as_str(), told[0]["status"].as_str()),
        (Some("webhook_endpoint.disabled"), Some("delivered"))
    );
    let request = app.webhooks.requests().pop().unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["data"]["endpoint_id"], gone["id"]);
    assert_eq!(body["data"]["reason"], "the receiver answered 410 Gone");
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_24_hours() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
    let id = endpoint["id"].as_str().unwrap();
    let old = WebhookSecret::parse(endpoint["secret"].as_str().unwrap()).unwrap();

    let rotated = app.tenant_post(&format!("/v1/webhook_endpoints/{id}/rotate_secret"), json!({})).await;
    let new = WebhookSecret::parse(rotated.data()["secret"].as_str().unwrap()).unwrap();
    assert_ne!(new, old);
    finished_session(&app).await;
    dispatch(&app).await;
    advance(&app, 24 * 3600);
    finished_session(&app).await;
    dispatch(&app).await;

    let requests = app.webhooks.requests();
    let signatures = |r: &kyc_core::ports::webhook_sender::OutboundRequest| {
        let id = ScriptedWebhooks::header(r, "webhook-id").unwrap();
        let ts: i64 = ScriptedWebhooks::header(r, "webhook-timestamp").unwrap().parse().unwrap();
        (
            ScriptedWebhooks::header(r, "webhook-signature").unwrap().to_owned(),
            new.sign(id, ts, &r.body),
            old.sign(id, ts, &r.body),
        )
    };
    let (header, by_new, by_old) = signatures(&requests[0]);
    assert_eq!(header, format!("{by_new} {by_old}"), "either secret verifies during the overlap");
    let (header, by_new, _) = signatures(&requests[1]);
    assert_eq!(header, by_new, "the old secret retired after 24 hours");
}

#[tokio::test]
async fn a_manual_retry_replays_a_delivery_with_the_same_webhook_id() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
    finished_session(&app).await;
    dispatch(&app).await;
    let delivery = deliveries(&app, endpoint["id"].as_str().unwrap()).await[0].clone();

    let retried: Reply = app
        .tenant_post(&format!("/v1/webhook_deliveries/{}/retry", delivery["id"].as_str().unwrap()), json!({}))
        .await;
    dispatch(&app).await;

    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    let requests = app.webhooks.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        ScriptedWebhooks::header(&requests[1], "webhook-id"),
        ScriptedWebhooks::header(&requests[0], "webhook-id")
    );
    let log = deliveries(&app, endpoint["id"].as_str().unwrap()).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["attempt_count"].as_u64()), (Some("delivered"), Some(1)));
    assert_eq!(log[0]["attempts"][1]["manual"], true);
    let unknown = app.tenant_post("/v1/webhook_deliveries/nope/retry", json!({})).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Delivery not found");
}

#[tokio::test]
async fn a_test_event_reaches_the_endpoint_and_events_follow_the_subscription_and_mode() {
    let app = TestApp::spawn().await;
    let all = create_endpoint(&app, json!(["*"])).await;
    let approvals = create_endpoint(&app, json!(["session.approved"])).await;
    let tested = app
        .tenant_post(&format!("/v1/webhook_endpoints/{}/test", approvals["id"].as_str().unwrap()), json!({}))
        .await;
    assert_eq!(tested.status, StatusCode::ACCEPTED);

    finished_session(&app).await;
    dispatch(&app).await;

    let types_to = |endpoint: &Value| {
        let id = endpoint["id"].as_str().unwrap().to_owned();
        let app = &app;
        async move {
            let log = deliveries(app, &id).await;
            let mut types: Vec<String> =
                log.iter().map(|d| d["event_type"].as_str().unwrap().to_owned()).collect();
            types.sort();
            types
        }
    };
    assert_eq!(types_to(&all).await, ["session.completed", "step.completed"]);
    assert_eq!(types_to(&approvals).await, ["webhook.test"]);
    let test_body: Value = serde_json::from_slice(
        &app.webhooks
            .requests()
            .iter()
            .find(|r| String::from_utf8_lossy(&r.body).contains("webhook.test"))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(test_body["data"]["endpoint_id"], approvals["id"]);
    // A live endpoint never receives test-mode sessions' events.
    let live = app.new_tenant_key(Mode::Live).await;
    let live_endpoint = app
        .call(
            Method::POST,
            "/v1/webhook_endpoints",
            Some(&live),
            Some(json!({"url": "https://hooks.example.com/x", "events": ["*"]})),
        )
        .await;
    let live_id = live_endpoint.data()["id"].as_str().unwrap().to_owned();
    finished_session(&app).await;
    dispatch(&app).await;
    let live_log = app
        .call(Method::GET, &format!("/v1/webhook_endpoints/{live_id}/deliveries"), Some(&live), None)
        .await;
    assert_eq!(live_log.data()["deliveries"], json!([]));
}

#[tokio::test]
async fn two_dispatchers_at_once_send_each_delivery_once() {
    let app = TestApp::spawn().await;
    create_endpoint(&app, json!(["session.completed"])).await;
    for _ in 0..5 {
        finished_session(&app).await;
    }

    let (a, b) = tokio::join!(app.services.dispatch_webhooks(100), app.services.dispatch_webhooks(100));

    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.delivered + b.delivered <= 5, "{a:?} {b:?}");
    dispatch(&app).await;
    let ids: std::collections::BTreeSet<String> = app
        .webhooks
        .requests()
        .iter()
        .map(|r| ScriptedWebhooks::header(r, "webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!((app.webhooks.requests().len(), ids.len()), (5, 5));
}

/// A failure at each write of a dispatch (the fan-out, the claim, the attempt's record, the
/// endpoint's health) loses no delivery and marks none delivered that was not: once the store
/// is back and the lease has passed, each event is delivered, at worst twice with one webhook-id.
#[tokio::test]
async fn a_failure_at_any_write_of_a_dispatch_loses_no_delivery() {
    for n in 1..=4 {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = kyc_local::SqliteTable::open(dir.path().join("kyc.db")).unwrap();
        let failing = std::sync::Arc::new(kyc_testkit::FailingTable::new(std::sync::Arc::new(sqlite)));
        let app = TestApp::spawn_on(failing.clone(), dir).await;
        let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
        app.webhooks.answer([Ok(500)]);
        finished_session(&app).await;

        failing.fail_write(n);
        let _ = app.services.dispatch_webhooks(100).await;
        for _ in 0..4 {
            advance(&app, 61);
            dispatch(&app).await;
        }
        advance(&app, 400);
        dispatch(&app).await;

        let log = deliveries(&app, endpoint["id"].as_str().unwrap()).await;
        assert_eq!(log.len(), 1, "write {n}: one delivery");
        assert_eq!(log[0]["status"], "delivered", "write {n}: {}", log[0]);
        let requests = app.webhooks.requests();
        let ids: std::collections::BTreeSet<&str> =
            requests.iter().map(|r| ScriptedWebhooks::header(r, "webhook-id").unwrap()).collect();
        assert_eq!(ids.len(), 1, "write {n}: one webhook-id");
        let recorded = log[0]["attempts"].as_array().unwrap().len();
        assert!(
            requests.len() >= 2 && recorded <= requests.len(),
            "write {n}: {} sent, {recorded} recorded",
            requests.len()
        );
    }
}

#[tokio::test]
async fn an_endpoint_that_fails_for_five_days_without_a_success_is_disabled() {
    let app = TestApp::spawn().await;
    let endpoint = create_endpoint(&app, json!(["session.completed"])).await;
    let id = endpoint["id"].as_str().unwrap();
    app.webhooks.answer([Ok(500); 20]);
    finished_session(&app).await;
    dispatch(&app).await;
    advance(&app, 5 * 24 * 3600);
    finished_session(&app).await;
    dispatch(&app).await;

    let read = app.tenant_get(&format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!(read.data()["status"], "disabled");
    assert_eq!(read.data()["disabled_reason"], "every delivery failed for five days");
}
