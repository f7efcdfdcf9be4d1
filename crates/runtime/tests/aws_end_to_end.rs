//! The whole API on the AWS adapters, against the emulator `make test` runs (moto): the services
//! are built by `kyc_runtime::services` from the configuration a Lambda function reads
//! (`KYC_STORE=dynamodb`, `KYC_BLOBS=s3`, with endpoint overrides), and driven through the HTTP
//! router: create a session, upload a document (init → presigned PUT to S3 → confirm), complete
//! the steps, read the tenant's view and download the document, find the session waiting for
//! review and decide it; and the expiry sweeper on the same table.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use kyc_core::domain::secrets::Mode;
use kyc_http::{app, routes, AppState};
use kyc_testkit::emulator::{self, PlainHttp};
use kyc_testkit::png;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    router: axum::Router,
    key: String,
    /// The bucket (named like the table).
    bucket: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        tenant: bool,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let key = tenant.then_some(self.key.as_str());
        kyc_testkit::call_json(&self.router, method, uri, key, body).await
    }
}

/// The API on a fresh table and bucket of the emulator, configured as a Lambda function is.
async fn api_on_the_emulator() -> Option<Api> {
    api_configured_with(&[]).await.map(|(api, _)| api)
}

/// The API as [`api_on_the_emulator`], with more variables, and the configuration it read.
async fn api_configured_with(extra: &[(&str, String)]) -> Option<(Api, kyc_runtime::Config)> {
    let dynamodb = emulator::endpoint(emulator::DYNAMODB_ENDPOINT_VAR)?;
    let s3 = emulator::endpoint(emulator::S3_ENDPOINT_VAR)?;
    let name = format!("kyc-e2e-{}", uuid::Uuid::new_v4());
    let vars = [
        ("KYC_STORE", "dynamodb"),
        ("KYC_TABLE_NAME", name.as_str()),
        ("KYC_CURSOR_SECRET", "end-to-end cursor secret, not for production"),
        ("KYC_IDEMPOTENCY_SECRET", "end-to-end idempotency secret, not for production"),
        ("KYC_DYNAMODB_ENDPOINT", dynamodb.as_str()),
        ("KYC_BLOBS", "s3"),
        ("KYC_BUCKET", name.as_str()),
        ("KYC_S3_ENDPOINT", s3.as_str()),
        ("KYC_PUBLIC_BASE_URL", "https://kyc.example.com"),
    ];
    let config = kyc_runtime::Config::from_vars(|var| {
        let extra = extra.iter().map(|(name, value)| (*name, value.as_str()));
        vars.into_iter().chain(extra).find(|(name, _)| *name == var).map(|(_, value)| value.to_string())
    })
    .unwrap();
    kyc_runtime::create_emulator_store(&config).await.unwrap();
    let services = kyc_runtime::services(&config).await.unwrap();
    let tenant = services.create_tenant("End to end").await.unwrap();
    let key = services.create_api_key(&tenant.tenant_id, Mode::Test).await.unwrap();
    let router = app(routes::all(), AppState::new(services));
    Some((Api { router, key: key.secret.expose().to_owned(), bucket: name }, config))
}

/// The refresh function's job on DynamoDB and S3: the fixture lists, served on loopback in their
/// official formats, are published once (a second run finds them unchanged), and the API screens
/// a session's end user against that index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refreshed_lists_are_published_to_dynamodb_and_s3_and_screened_against() {
    use kyc_screening::store::Publication;
    let lists = kyc_testkit::FileServer::start().await;
    for name in ["ofac_sdn.xml", "un_consolidated.xml"] {
        let path = format!("{}/../screening/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        lists.serve(name, StatusCode::OK, std::fs::read(path).unwrap());
    }
    let urls = format!(
        "ofac_sdn={},un_consolidated={}",
        lists.url("ofac_sdn.xml"),
        lists.url("un_consolidated.xml")
    );
    let Some((api, config)) = api_configured_with(&[("KYC_SCREENING_LISTS", urls)]).await else { return };

    let Publication::New(pointer) = kyc_runtime::screening::refresh_lists(&config).await.unwrap() else {
        panic!("the first refresh publishes");
    };
    let again = kyc_runtime::screening::refresh_lists(&config).await.unwrap();

    assert_eq!(again, Publication::Unchanged(pointer.clone()));
    let workflow = json!({"name": "Name", "review_required": false, "steps": [
        {"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full Name", "type": "text", "required": true}]}]});
    let (_, created) = api.call(Method::POST, "/v1/workflows", true, Some(workflow)).await;
    let workflow_id = created["data"]["workflow_id"].clone();
    let (_, created) =
        api.call(Method::POST, "/v1/sessions", true, Some(json!({"workflow_id": workflow_id}))).await;
    let session_id = created["data"]["session_id"].as_str().unwrap().to_owned();
    let token = created["data"]["access_token"].as_str().unwrap().to_owned();
    let form = json!({"form_data": {"full_name": "Hans-Juergen Mueller"}});
    let (status, step) = api
        .call(Method::POST, &format!("/public/sessions/{token}/step/about/complete"), false, Some(form))
        .await;
    assert_eq!(status, StatusCode::OK, "{step}");
    let (_, view) = api.call(Method::GET, &format!("/v1/sessions/{session_id}"), true, None).await;
    let checks = view["data"]["verification"]["checks"].as_array().unwrap();
    let screening = checks.iter().find(|c| c["check"] == "sanctions_screening").unwrap();
    assert_eq!(screening["status"], "needs_review", "{screening}");
    assert_eq!(screening["evidence"]["index_version"], pointer.version.as_str());
    assert_eq!(screening["evidence"]["hits"][0]["list"], "ofac_sdn");
    assert_eq!(view["data"]["status"], "manual_review");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_runs_from_creation_to_review_on_dynamodb_and_s3() {
    let Some(api) = api_on_the_emulator().await else { return };
    let workflow = json!({"name": "ID and name", "steps": [
        {"step_id": "step_1", "name": "ID Document", "type": "document_upload",
         "document_requirements": [{"document_type": "id", "label": "Government ID", "required": true}]},
        {"step_id": "step_2", "name": "About you", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full Name", "type": "text", "required": true}]}
    ]});
    let (status, created) = api.call(Method::POST, "/v1/workflows", true, Some(workflow)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let workflow_id = created["data"]["workflow_id"].clone();
    let (status, created) =
        api.call(Method::POST, "/v1/sessions", true, Some(json!({"workflow_id": workflow_id}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session_id = created["data"]["session_id"].as_str().unwrap().to_owned();
    let token = created["data"]["access_token"].as_str().unwrap().to_owned();
    let public = |path: &str| format!("/public/sessions/{token}{path}");

    // Upload: init, PUT to the presigned S3 URL (moto checks its signature), confirm.
    let document =
        json!({"step_id": "step_1", "document_type": "id", "file_name": "id.png", "mime_type": "image/png"});
    let (status, init) = api.call(Method::POST, &public("/upload/init"), false, Some(document.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{init}");
    let upload_url = init["data"]["upload_url"].as_str().unwrap();
    assert!(upload_url.starts_with(&emulator::endpoint(emulator::S3_ENDPOINT_VAR).unwrap()), "{upload_url}");
    let http = PlainHttp::default();
    assert_eq!(http.send("PUT", upload_url, Some("image/png"), png(800, 600)).await.0, 200);
    let mut confirm = document;
    confirm["doc_id"] = init["data"]["doc_id"].clone();
    confirm["s3_key"] = init["data"]["s3_key"].clone();
    let (status, confirmed) = api.call(Method::POST, &public("/upload/confirm"), false, Some(confirm)).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed["data"]["confirmed"], true);

    // Steps, in order; the second finishes the session into review.
    let (status, step) =
        api.call(Method::POST, &public("/step/step_1/complete"), false, Some(json!({}))).await;
    assert_eq!((status, &step["data"]["next_step_id"]), (StatusCode::OK, &json!("step_2")), "{step}");
    let form = json!({"form_data": {"full_name": "Ada Lovelace"}});
    let (status, step) = api.call(Method::POST, &public("/step/step_2/complete"), false, Some(form)).await;
    assert_eq!((status, &step["data"]["session_completed"]), (StatusCode::OK, &json!(true)), "{step}");
    let (status, state) = api.call(Method::GET, &public(""), false, None).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["data"]["status"], "manual_review");
    assert_eq!(state["data"]["steps_data"][1]["form_data"]["full_name"], "Ada Lovelace");

    // The tenant sees the stored document and downloads it through a presigned GET.
    let (status, view) = api.call(Method::GET, &format!("/v1/sessions/{session_id}"), true, None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let stored = &view["data"]["documents"][0];
    assert_eq!((stored["status"].as_str(), stored["size_bytes"].as_u64()), (Some("confirmed"), Some(2048)));
    let (status, bytes) = http.send("GET", stored["download_url"].as_str().unwrap(), None, Vec::new()).await;
    assert_eq!((status, bytes), (200, png(800, 600)));

    // It waits for a reviewer (GSI2), is approved once, and moves to the approved listing.
    let listed = |filter: &'static str| {
        let api = &api;
        async move {
            let (status, page) = api.call(Method::GET, &format!("/v1/sessions?{filter}"), true, None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["data"]["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["session_id"].clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("review=pending").await, [json!(session_id)]);
    let review = json!({"decision": "approved", "notes": "Matches the ID"});
    let path = format!("/v1/sessions/{session_id}/review");
    let (status, decided) = api.call(Method::POST, &path, true, Some(review.clone())).await;
    assert_eq!((status, &decided["data"]["status"]), (StatusCode::OK, &json!("approved")), "{decided}");
    let (status, again) = api.call(Method::POST, &path, true, Some(review)).await;
    assert_eq!((status, &again["error"]["code"]), (StatusCode::CONFLICT, &json!("ALREADY_REVIEWED")));
    assert!(listed("review=pending").await.is_empty());
    assert_eq!(listed("status=approved").await, [json!(session_id)]);

    // Redaction deletes every object of the session from S3 and keeps the tombstone.
    let objects = || async {
        let s3 = kyc_aws::s3_client(
            &kyc_aws::load_sdk_config().await,
            emulator::endpoint(emulator::S3_ENDPOINT_VAR).as_deref(),
        );
        let listed = s3.list_objects_v2().bucket(&api.bucket).send().await.unwrap();
        listed.contents().iter().filter_map(|o| o.key()).filter(|k| k.contains(&session_id)).count()
    };
    assert_eq!(objects().await, 1, "the confirmed copy (the upload was moved)");
    let path = format!("/v1/sessions/{session_id}/redact");
    let (status, redacted) = api.call(Method::POST, &path, true, Some(json!({}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{redacted}");
    assert_eq!(redacted["data"]["redaction"]["status"], "redacted");
    assert_eq!(objects().await, 0);
    let (status, view) = api.call(Method::GET, &format!("/v1/sessions/{session_id}"), true, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["data"]["steps"][1]["form_data"]["full_name"], "[redacted]");
    assert_eq!(view["data"]["decision"]["notes"], "[redacted]");
}

/// Services on a DynamoDB table of the emulator (documents in `dir`), on `clock`.
fn services_on_dynamodb(
    client: aws_sdk_dynamodb::Client,
    table: &str,
    dir: &std::path::Path,
    clock: std::sync::Arc<dyn kyc_core::ports::Clock>,
) -> kyc_core::services::Services {
    use kyc_core::services::{Ports, Services, Settings, UploadSettings};
    use std::sync::Arc;
    let blobs: Arc<kyc_local::FsBlobs> = Arc::new(kyc_local::FsBlobs::open(dir, "https://kyc.test").unwrap());
    let ports = Ports {
        table: Arc::new(kyc_aws::DynamoTable::new(
            client,
            table,
            "emulator test cursor secret, not for production",
        )),
        blobs: blobs.clone(),
        clock,
        liveness: None,
        test_extractor: Arc::new(kyc_local::LocalExtractor::new(blobs.clone(), true)),
        live_extractor: Arc::new(kyc_local::LocalExtractor::new(blobs, false)),
    };
    let settings = Settings {
        public_base_url: "https://kyc.test".into(),
        default_session_ttl_seconds: 3600,
        uploads: UploadSettings::default(),
        liveness_max_failed_attempts: 5,
        idempotency: kyc_core::services::IdempotencySettings::new(
            kyc_core::domain::idempotency::SealingKey::derive(
                "emulator test sealing secret, not for production",
            )
            .unwrap(),
        ),
        webhooks: kyc_core::services::WebhookSettings::default(),
        retention_days: 365,
    };
    Services::new(ports, settings)
}

/// Two sweepers racing on DynamoDB expire each due session exactly once, reading only the
/// expiry index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sweepers_expire_each_due_session_once_on_dynamodb() {
    use kyc_core::services::CreateSession;
    use std::sync::Arc;
    let Some(dynamodb) = emulator::endpoint(emulator::DYNAMODB_ENDPOINT_VAR) else { return };
    let name = format!("kyc-sweep-{}", uuid::Uuid::new_v4());
    let client = kyc_aws::dynamodb_client(&kyc_aws::load_sdk_config().await, Some(&dynamodb));
    kyc_aws::create_table(&client, &name).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(kyc_testkit::ManualClock::new(time::OffsetDateTime::now_utc()));
    let services = Arc::new(services_on_dynamodb(client, &name, dir.path(), clock.clone()));
    let tenant = services.create_tenant("Sweep").await.unwrap();
    let key = services.create_api_key(&tenant.tenant_id, Mode::Test).await.unwrap();
    let caller = services.authenticate(key.secret.expose()).await.unwrap();
    let definition =
        serde_json::from_value(json!({"name": "One", "steps": [{"step_id": "info", "name": "Info",
        "type": "form_fill", "custom_fields": [{"field_id": "n", "name": "N", "type": "text"}]}]}))
        .unwrap();
    let workflow = services.create_workflow(&caller, definition).await.unwrap();
    let new_session = |seconds: i64| CreateSession {
        workflow_id: Some(workflow.workflow_id.clone()),
        workflow_slug: None,
        workflow_version: None,
        external_reference: None,
        metadata: None,
        expires_in_seconds: Some(seconds),
        redirect_url: None,
        participants: Vec::new(),
    };
    let mut due = Vec::new();
    for _ in 0..6 {
        due.push(services.create_session(&caller, new_session(60)).await.unwrap().session.session_id);
    }
    let later = services.create_session(&caller, new_session(7200)).await.unwrap().session.session_id;
    clock.advance(time::Duration::seconds(61));

    let (a, b) = tokio::join!(services.sweep_expired(100), services.sweep_expired(100));

    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expired + b.expired, due.len(), "{a:?} {b:?}");
    for session in due.iter().chain([&later]) {
        let view = services.tenant_session(&caller, &session.to_string()).await.unwrap();
        let expired = view.audit_trail.iter().filter(|e| e.to_status.as_str() == "expired").count();
        assert_eq!(expired, usize::from(session != &later), "{session}");
    }
}

/// The duplicate-document check on DynamoDB: a document read in one session is found from another
/// session of the same tenant through its hashed number's partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_read_in_two_sessions_is_flagged_on_dynamodb() {
    let Some(api) = api_on_the_emulator().await else { return };
    let workflow = json!({"name": "Passport", "steps": [
        {"step_id": "id", "name": "Passport", "type": "document_upload", "extract": true,
         "document_requirements": [{"document_type": "passport", "label": "Passport"}]},
        {"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full Name", "type": "text", "required": true}]}
    ]});
    let (_, created) = api.call(Method::POST, "/v1/workflows", true, Some(workflow)).await;
    let workflow_id = created["data"]["workflow_id"].clone();
    let http = PlainHttp::default();
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let (_, created) =
            api.call(Method::POST, "/v1/sessions", true, Some(json!({"workflow_id": workflow_id}))).await;
        let token = created["data"]["access_token"].as_str().unwrap().to_owned();
        let public = |path: &str| format!("/public/sessions/{token}{path}");
        // The test-mode sandbox reads `duplicate` file names as one and the same passport.
        let document = json!({"step_id": "id", "document_type": "passport", "file_name": "duplicate.png",
                              "mime_type": "image/png"});
        let (_, init) = api.call(Method::POST, &public("/upload/init"), false, Some(document.clone())).await;
        let url = init["data"]["upload_url"].as_str().unwrap();
        assert_eq!(http.send("PUT", url, Some("image/png"), png(800, 600)).await.0, 200);
        let mut confirm = document;
        confirm["doc_id"] = init["data"]["doc_id"].clone();
        confirm["s3_key"] = init["data"]["s3_key"].clone();
        let (status, _) = api.call(Method::POST, &public("/upload/confirm"), false, Some(confirm)).await;
        assert_eq!(status, StatusCode::OK);
        api.call(Method::POST, &public("/step/id/complete"), false, Some(json!({}))).await;
        let form = json!({"form_data": {"full_name": "Anna Maria Eriksson"}});
        let (status, done) = api.call(Method::POST, &public("/step/about/complete"), false, Some(form)).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        sessions.push(created["data"]["session_id"].as_str().unwrap().to_owned());
    }

    let (_, view) = api.call(Method::GET, &format!("/v1/sessions/{}", sessions[1]), true, None).await;

    let checks = view["data"]["verification"]["checks"].as_array().unwrap();
    let duplicate = checks.iter().find(|c| c["check"] == "duplicate_document").unwrap();
    assert_eq!(duplicate["status"], "failed", "{duplicate}");
    assert_eq!(duplicate["evidence"]["other_sessions"], json!([sessions[0]]));
}

/// A session created with an `Idempotency-Key` is replayed, its kept answer sealed with the
/// secret the configuration names (`KYC_IDEMPOTENCY_SECRET`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_session_creation_is_replayed_on_the_lambda_configuration() {
    let Some(api) = api_on_the_emulator().await else { return };
    let workflow = json!({"name": "One form", "steps": [
        {"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full Name", "type": "text", "required": true}]}
    ]});
    let (status, created) = api.call(Method::POST, "/v1/workflows", true, Some(workflow)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let body = json!({"workflow_id": created["data"]["workflow_id"]}).to_string();
    let keyed = || {
        Request::post("/v1/sessions")
            .header("authorization", format!("Bearer {}", api.key))
            .header("idempotency-key", "e2e-create-1")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap()
    };

    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = api.router.clone().oneshot(keyed()).await.unwrap();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        let status = response.status();
        answers.push((status, replayed, response.into_body().collect().await.unwrap().to_bytes()));
    }

    // The secret from KYC_IDEMPOTENCY_SECRET seals the kept answer on DynamoDB and opens it again.
    assert_eq!((answers[0].0, answers[0].1), (StatusCode::CREATED, false));
    assert_eq!((answers[1].0, answers[1].1), (StatusCode::CREATED, true));
    assert_eq!(answers[0].2, answers[1].2, "the replay is byte-identical");
    let (status, list) = api.call(Method::GET, "/v1/sessions", true, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"]["sessions"].as_array().unwrap().len(), 1, "one session, not two");
}

/// Webhooks the AWS way, on the emulator: an outbox event as the table's stream hands it to the
/// fan-out function, a delivery queued on SQS, the delivery function attempting it (a failure
/// hides the message until its retry is due), then the success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_event_travels_stream_fan_out_sqs_and_delivery_on_the_emulator() {
    use kyc_core::services::{CreateEndpoint, CreateSession};
    use std::sync::Arc;
    let Some(endpoint) = emulator::endpoint(emulator::DYNAMODB_ENDPOINT_VAR) else { return };
    let aws = kyc_aws::load_sdk_config().await;
    let name = format!("kyc-webhooks-{}", uuid::Uuid::new_v4());
    let dynamodb = kyc_aws::dynamodb_client(&aws, Some(&endpoint));
    kyc_aws::create_table(&dynamodb, &name).await.unwrap();
    let sqs = kyc_aws::sqs_client(&aws, Some(&endpoint));
    let queue_url = sqs.create_queue().queue_name(&name).send().await.unwrap().queue_url.unwrap();
    let queue = kyc_aws::SqsDeliveryQueue::new(sqs.clone(), &queue_url);
    let dir = tempfile::tempdir().unwrap();
    let receiver = Arc::new(kyc_testkit::ScriptedWebhooks::default());
    receiver.answer([Ok(503)]);
    let clock = Arc::new(kyc_core::ports::SystemClock);
    let services = services_on_dynamodb(dynamodb.clone(), &name, dir.path(), clock)
        .with_webhook_sender(receiver.clone());
    let tenant = services.create_tenant("Hooks").await.unwrap();
    let key = services.create_api_key(&tenant.tenant_id, Mode::Test).await.unwrap();
    let caller = services.authenticate(key.secret.expose()).await.unwrap();
    let hook = CreateEndpoint {
        url: "http://127.0.0.1:9/hooks".into(),
        events: vec!["session.canceled".into()],
        description: None,
    };
    let hook = services.create_webhook_endpoint(&caller, hook).await.unwrap();
    let definition =
        serde_json::from_value(json!({"name": "One", "steps": [{"step_id": "info", "name": "Info",
        "type": "form_fill", "custom_fields": [{"field_id": "n", "name": "N", "type": "text"}]}]}))
        .unwrap();
    let workflow = services.create_workflow(&caller, definition).await.unwrap();
    let create = CreateSession {
        workflow_id: Some(workflow.workflow_id),
        workflow_slug: None,
        workflow_version: None,
        external_reference: Some("customer-7".into()),
        metadata: None,
        expires_in_seconds: None,
        redirect_url: None,
        participants: Vec::new(),
    };
    let session = services.create_session(&caller, create).await.unwrap().session.session_id;
    services.cancel_session(&caller, &session.to_string()).await.unwrap();

    // The stream hands the fan-out function the outbox item as DynamoDB JSON.
    let log = dynamodb
        .query()
        .table_name(&name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{session}#LOG")),
        )
        .send()
        .await
        .unwrap();
    let records: Vec<serde_json::Value> = log
        .items()
        .iter()
        .filter(|item| item.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with("EVENT#")))
        .enumerate()
        .map(|(i, item)| {
            let item = kyc_core::ports::table::Item::from(item.clone());
            json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": i.to_string(), "NewImage": item}})
        })
        .collect();
    let fanned =
        kyc_runtime::webhooks::fan_out_stream_batch(&services, &queue, &json!({"Records": records})).await;
    assert_eq!(fanned, json!({"batchItemFailures": []}));

    // One message for the one subscribed event; the first attempt fails and the message stays.
    let receive = || async {
        let received =
            sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
        received.messages().to_vec()
    };
    let messages = receive().await;
    assert_eq!(messages.len(), 1);
    let sqs_event = |messages: &[aws_sdk_sqs::types::Message]| json!({"Records": messages.iter().map(|m| json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body()})).collect::<Vec<_>>()});
    let first = kyc_runtime::webhooks::deliver_queue_batch(&services, &queue, &sqs_event(&messages)).await;
    assert_eq!(first["batchItemFailures"][0]["itemIdentifier"], json!(messages[0].message_id()));
    assert!(receive().await.is_empty(), "hidden until the retry is due");

    // The tenant retries by hand: the stream hands the changed delivery to the fan-out function,
    // which queues it at once, and the delivery function sends it.
    let delivery = services.list_webhook_deliveries(&caller, hook.id.as_str(), None, None).await.unwrap();
    let retried = services.retry_webhook_delivery(&caller, &delivery.deliveries[0].id).await.unwrap();
    let item = dynamodb
        .get_item()
        .table_name(&name)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("WEBHOOK#{}", hook.id)))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("DELIVERY#{}", retried.event_id)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let record = json!({"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "9", "NewImage": kyc_core::ports::table::Item::from(item)}});
    let queued =
        kyc_runtime::webhooks::fan_out_stream_batch(&services, &queue, &json!({"Records": [record]})).await;
    assert_eq!(queued, json!({"batchItemFailures": []}));
    let manual = receive().await;
    assert_eq!(manual.len(), 1, "the manual retry is queued at once");
    let second = kyc_runtime::webhooks::deliver_queue_batch(&services, &queue, &sqs_event(&manual)).await;
    assert_eq!(second, json!({"batchItemFailures": []}));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let body: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["data"]["external_reference"].as_str()),
        (Some("session.canceled"), Some("customer-7"))
    );
    let log = services.list_webhook_deliveries(&caller, hook.id.as_str(), None, None).await.unwrap();
    assert_eq!(log.deliveries[0].status, kyc_core::domain::webhooks::DeliveryStatus::Delivered);
    assert_eq!(retried.event_id, log.deliveries[0].event_id);
}
