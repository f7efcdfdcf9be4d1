//! `TestApp`: the full HTTP app on a fresh SQLite store, a manual clock and a round-trip
//! counter, with typed helpers for the calls tests make again and again.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use kyc_core::domain::idempotency::SealingKey;
use kyc_core::domain::secrets::Mode;
use kyc_core::services::{IdempotencySettings, Ports, Services, Settings, UploadSettings};
use kyc_http::{app, routes, AppState};
use kyc_local::{FsBlobs, LocalExtractor, SqliteTable};
use kyc_testkit::{CountingExtractor, CountingTable, ManualClock, ScriptedLiveness, ScriptedWebhooks};
use serde_json::{json, Value};
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

pub const BASE_URL: &str = "https://kyc.test";

pub struct TestApp {
    router: Router,
    pub services: Arc<Services>,
    pub table: Arc<CountingTable>,
    pub clock: Arc<ManualClock>,
    /// The live-mode liveness provider, scripted per test.
    pub liveness: Arc<ScriptedLiveness>,
    /// The test-mode extractor, counting its calls.
    pub extractor: Arc<CountingExtractor>,
    /// The webhook receiver side, scripted per test (unless the app sends for real).
    pub webhooks: Arc<ScriptedWebhooks>,
    /// The document store the services use (a failure can be armed per test).
    pub blobs: Arc<kyc_testkit::FailingBlobs>,
    pub dir: TempDir,
    /// A `sk_test_` key of the default tenant.
    pub api_key: String,
}

/// An HTTP answer: status, parsed JSON body, and headers of interest.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub request_id_header: Option<String>,
    /// The body exactly as sent.
    pub bytes: Vec<u8>,
    /// Whether the answer carried `Idempotent-Replayed: true`.
    pub replayed: bool,
}

impl Reply {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// Asserts an error answer in the envelope with this status, code and message.
    pub fn assert_error(&self, status: StatusCode, code: &str, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["status"], "error", "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert_eq!(self.body["error"]["message"], message, "body: {}", self.body);
    }

    /// Asserts an error answer whose message contains `fragment`.
    pub fn assert_error_containing(&self, status: StatusCode, code: &str, fragment: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(fragment), "message {message:?} lacks {fragment:?}");
    }
}

/// The sanctions lists a test app screens against.
enum Lists {
    /// The fixture lists, loaded at start.
    Fixtures,
    /// The published index, loaded lazily from the app's own table and blobs.
    Published,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteTable::open(dir.path().join("kyc.db")).expect("sqlite store");
        Self::spawn_on(Arc::new(sqlite), dir).await
    }

    /// The app on a fresh table of the DynamoDB emulator (`make test` runs it), or `None` when
    /// emulator tests are skipped on purpose.
    pub async fn spawn_on_dynamodb() -> Option<Self> {
        let endpoint = kyc_testkit::emulator::endpoint(kyc_testkit::emulator::DYNAMODB_ENDPOINT_VAR)?;
        let aws = kyc_aws::load_sdk_config().await;
        let client = kyc_aws::dynamodb_client(&aws, Some(&endpoint));
        let name = format!("kyc-api-{}", uuid::Uuid::new_v4());
        kyc_aws::create_table(&client, &name).await.expect("creating a table on the emulator");
        let table = kyc_aws::DynamoTable::new(client, name, b"api tests cursor secret, not for production");
        Some(Self::spawn_on(Arc::new(table), tempfile::tempdir().expect("temp dir")).await)
    }

    /// The app on a fresh SQLite store, delivering webhooks through `sender` (a real HTTP client).
    pub async fn spawn_sending_with(sender: Arc<dyn kyc_core::ports::WebhookSender>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteTable::open(dir.path().join("kyc.db")).expect("sqlite store");
        Self::spawn_with(Arc::new(sqlite), dir, Some(sender), Lists::Fixtures).await
    }

    /// The app on a fresh SQLite store, screening against the index the refresh publishes in its
    /// table and blob store (none until a test publishes one), as the Lambda functions do.
    pub async fn spawn_on_published_lists() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteTable::open(dir.path().join("kyc.db")).expect("sqlite store");
        Self::spawn_with(Arc::new(sqlite), dir, None, Lists::Published).await
    }

    /// The app on `store`, with documents and other files in `dir`.
    pub async fn spawn_on(store: Arc<dyn kyc_core::ports::Table>, dir: TempDir) -> Self {
        Self::spawn_with(store, dir, None, Lists::Fixtures).await
    }

    async fn spawn_with(
        store: Arc<dyn kyc_core::ports::Table>,
        dir: TempDir,
        sender: Option<Arc<dyn kyc_core::ports::WebhookSender>>,
        lists: Lists,
    ) -> Self {
        let table = Arc::new(CountingTable::new(store));
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let blobs = FsBlobs::open(dir.path().join("blobs"), BASE_URL).expect("blob folder");
        let liveness = Arc::new(ScriptedLiveness::default());
        let extractor = Arc::new(CountingExtractor::new(LocalExtractor::new(Arc::new(blobs.clone()), true)));
        let settings = Settings {
            public_base_url: BASE_URL.into(),
            default_session_ttl_seconds: 7 * 24 * 3600,
            uploads: UploadSettings { max_bytes: 1024 * 1024, ..UploadSettings::default() },
            liveness_max_failed_attempts: 3,
            idempotency: IdempotencySettings::new(
                SealingKey::derive("api tests idempotency secret, not for production").unwrap(),
            ),
            webhooks: kyc_core::services::WebhookSettings::default(),
            retention_days: 365,
        };
        let failing_blobs = Arc::new(kyc_testkit::FailingBlobs::new(Arc::new(blobs.clone())));
        let ports = Ports {
            table: table.clone(),
            blobs: failing_blobs.clone(),
            clock: clock.clone(),
            liveness: Some(liveness.clone()),
            test_extractor: extractor.clone(),
            live_extractor: Arc::new(LocalExtractor::new(Arc::new(blobs.clone()), false)),
        };
        let webhooks = Arc::new(ScriptedWebhooks::default());
        let sender = sender.unwrap_or_else(|| webhooks.clone());
        let screener: Arc<dyn kyc_core::ports::Screener> = match lists {
            Lists::Fixtures => {
                Arc::new(kyc_screening::screener::IndexScreener::fixtures().expect("fixture lists"))
            }
            Lists::Published => Arc::new(kyc_screening::published::PublishedScreener::new(
                kyc_screening::store::IndexStore::new(table.clone(), failing_blobs.clone()),
                clock.clone(),
                kyc_screening::matching::Threshold::default(),
                kyc_screening::published::DEFAULT_RECHECK,
            )),
        };
        let services = Services::new(ports, settings).with_webhook_sender(sender).with_screener(screener);
        let state = AppState::new(services);
        let services = state.services.clone();
        let routes = routes::all();
        let router = app(routes, state).merge(kyc_local::blob_server::router(blobs));
        let mut app = Self {
            router,
            services,
            table,
            clock,
            liveness,
            extractor,
            webhooks,
            blobs: failing_blobs,
            dir,
            api_key: String::new(),
        };
        app.api_key = app.new_tenant_key(Mode::Test).await;
        app
    }

    /// Creates another tenant (through the same service the admin CLI uses) and returns its key.
    pub async fn new_tenant_key(&self, mode: Mode) -> String {
        let tenant = self.services.create_tenant("Tenant").await.expect("tenant");
        let key = self.services.create_api_key(&tenant.tenant_id, mode).await.expect("key");
        key.secret.expose().to_owned()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("infallible router");
        let status = response.status();
        let request_id_header =
            response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let replayed = match response.headers().get("idempotent-replayed") {
            None => false,
            Some(value) => {
                assert_eq!(value, "true", "Idempotent-Replayed is only ever true");
                true
            }
        };
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!("response is not JSON: {:?}", String::from_utf8_lossy(&bytes));
        });
        Reply { status, body, request_id_header, bytes: bytes.to_vec(), replayed }
    }

    /// A tenant request with `Idempotency-Key: idempotency_key`, authorized by `api_key`.
    pub async fn keyed(
        &self,
        method: Method,
        uri: &str,
        api_key: &str,
        idempotency_key: &str,
        body: Option<Value>,
    ) -> Reply {
        let headers =
            [("authorization", format!("Bearer {api_key}")), ("idempotency-key", idempotency_key.to_owned())];
        self.request(method, uri, &headers, body).await
    }

    pub async fn call(&self, method: Method, uri: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let headers: Vec<(&str, String)> =
            key.map(|k| ("authorization", format!("Bearer {k}"))).into_iter().collect();
        self.request(method, uri, &headers, body).await
    }

    /// Sends a request with these headers and, when given, a JSON body.
    async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, String)],
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None, None).await
    }

    pub async fn tenant_get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, Some(&self.api_key.clone()), None).await
    }

    pub async fn tenant_post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(&self.api_key.clone()), Some(body)).await
    }

    /// Creates a workflow for the default tenant and returns its id.
    pub async fn create_workflow(&self, definition: Value) -> String {
        let reply = self.tenant_post("/v1/workflows", definition).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.data()["workflow_id"].as_str().expect("workflow_id").to_owned()
    }

    /// Creates a session on `workflow_id` and returns `(session_id, access_token)`.
    pub async fn create_session(&self, workflow_id: &str) -> (String, String) {
        let reply = self.tenant_post("/v1/sessions", json!({ "workflow_id": workflow_id })).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let data = reply.data();
        (data["session_id"].as_str().unwrap().to_owned(), data["access_token"].as_str().unwrap().to_owned())
    }

    /// A session on the basic three-step workflow of the public contract.
    pub async fn basic_session(&self) -> (String, String) {
        let workflow = self.create_workflow(basic_workflow()).await;
        self.create_session(&workflow).await
    }

    /// Every byte the table has written to disk, for "is this secret stored anywhere" checks.
    pub fn stored_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).expect("dir").flatten() {
            if entry.path().is_file() {
                all.extend(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        all
    }
}

/// The contract's "Basic KYC" workflow.
pub fn basic_workflow() -> Value {
    json!({
        "name": "Basic KYC",
        "description": "Standard KYC onboarding workflow",
        "completion_redirect_url": "https://example.com/kyc-complete",
        "branding": {
            "logo_url": "https://example.com/logo.png",
            "primary_color": "#10B981",
            "secondary_color": "#064E3B",
            "background_color": "#FFFFFF",
            "text_color": "#1F2937",
            "accent_color": "#34D399"
        },
        "steps": [
            {"step_id": "step_1", "name": "ID Document", "type": "document_upload",
             "document_requirements": [{"document_type": "id", "label": "Government ID", "required": true, "allow_multiple": false}]},
            {"step_id": "step_2", "name": "Liveness", "type": "liveness", "liveness_config": {"min_confidence": 90}},
            {"step_id": "step_3", "name": "Personal Information", "type": "form_fill", "custom_fields": [
                {"field_id": "full_name", "name": "Full Name", "type": "text", "required": true},
                {"field_id": "date_of_birth", "name": "Date of Birth", "type": "date", "required": true},
                {"field_id": "email", "name": "Email", "type": "email", "required": true}
            ]}
        ]
    })
}

impl TestApp {
    pub async fn public_post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, None, Some(body)).await
    }

    /// `POST /public/sessions/{token}/step/{step}/complete`.
    pub async fn complete_step(&self, token: &str, step: &str, body: Value) -> Reply {
        self.public_post(&format!("/public/sessions/{token}/step/{step}/complete"), body).await
    }

    /// Public session state (`data` only), asserting success.
    pub async fn state(&self, token: &str) -> Value {
        let reply = self.get(&format!("/public/sessions/{token}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["data"].clone()
    }

    /// The manual clock's time.
    pub fn clock_now(&self) -> time::OffsetDateTime {
        kyc_core::ports::Clock::now(self.clock.as_ref())
    }

    /// Tenant view of a session (`data` only), asserting success.
    pub async fn tenant_view(&self, session_id: &str) -> Value {
        let reply = self.tenant_get(&format!("/v1/sessions/{session_id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["data"].clone()
    }

    /// Stores a document for a step directly in the table (the upload flow has its own tests).
    pub async fn insert_document(
        &self,
        session_id: &str,
        step: &str,
        document_type: &str,
        confirmed: bool,
    ) -> String {
        use kyc_core::domain::document::{DocId, DocumentRecord, DocumentStatus};
        use kyc_core::domain::ids::{DocumentType, SessionId, StepId};
        use kyc_core::domain::time::Timestamp;
        let session = SessionId::parse(session_id).unwrap();
        let now = Timestamp::from_datetime(kyc_core::ports::Clock::now(self.clock.as_ref()));
        let record = DocumentRecord {
            doc_id: DocId::mint(),
            step_id: StepId::parse(step).unwrap(),
            document_type: DocumentType::parse(document_type).unwrap(),
            file_name: "passport.jpg".into(),
            mime_type: "image/jpeg".into(),
            status: if confirmed { DocumentStatus::Confirmed } else { DocumentStatus::Pending },
            object_key: format!("t/{session_id}/x.jpg"),
            upload_key: None,
            created_at: now,
            uploaded_at: confirmed.then_some(now),
            size_bytes: Some(1234),
            sha256: None,
            max_bytes: None,
            extraction: None,
        };
        let item = kyc_core::codec::document_item(&session, &record).unwrap();
        kyc_core::ports::Table::put(self.table.as_ref(), item, kyc_core::ports::table::Condition::ItemAbsent)
            .await
            .unwrap();
        record.doc_id.to_string()
    }

    /// The outbox event types written for a session, oldest first.
    pub async fn outbox(&self, session_id: &str) -> Vec<String> {
        let session = kyc_core::domain::ids::SessionId::parse(session_id).unwrap();
        let query =
            kyc_core::ports::table::Query::partition(kyc_core::codec::keys::session_log_partition(&session))
                .prefix("EVENT#");
        let page = kyc_core::ports::Table::query(self.table.as_ref(), query).await.unwrap();
        page.items
            .into_iter()
            .map(|item| match item.get("type") {
                Some(kyc_core::ports::table::AttributeValue::S(t)) => t.clone(),
                other => panic!("event without type: {other:?}"),
            })
            .collect()
    }
}

/// Two form steps (`about`, `contact`) covering every field type, plus an optional note step.
pub fn form_workflow() -> Value {
    json!({
        "name": "Forms",
        "steps": [
            {"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
                {"field_id": "full_name", "name": "Full name", "type": "text", "required": true},
                {"field_id": "bio", "name": "Bio", "type": "textarea"},
                {"field_id": "income", "name": "Income", "type": "number"},
                {"field_id": "date_of_birth", "name": "Birth date", "type": "date", "required": true},
                {"field_id": "plan", "name": "Plan", "type": "select", "options": ["basic", "pro"]},
                {"field_id": "tags", "name": "Tags", "type": "multiselect", "options": ["a", "b"]},
                {"field_id": "terms", "name": "Terms", "type": "checkbox"},
                {"field_id": "country", "name": "Country", "type": "country"}
            ]},
            {"step_id": "note", "name": "Anything else?", "type": "form_fill", "required": false, "custom_fields": [
                {"field_id": "note", "name": "Note", "type": "textarea"}
            ]},
            {"step_id": "contact", "name": "Contact", "type": "form_fill", "custom_fields": [
                {"field_id": "email", "name": "Email", "type": "email", "required": true},
                {"field_id": "phone", "name": "Phone", "type": "phone"}
            ]}
        ]
    })
}

pub use kyc_testkit::png;

/// A minimal PDF.
pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
}

impl TestApp {
    /// `POST …/upload/init`; returns the reply.
    pub async fn init_upload(&self, token: &str, step: &str, document_type: &str, mime: &str) -> Reply {
        let body = json!({"step_id": step, "document_type": document_type, "file_name": "passport.png", "mime_type": mime});
        self.public_post(&format!("/public/sessions/{token}/upload/init"), body).await
    }

    /// PUTs bytes to a presigned URL (served by the in-process blob server); returns the status.
    pub async fn put_upload(&self, url: &str, content_type: &str, bytes: Vec<u8>) -> StatusCode {
        let path = url.strip_prefix(BASE_URL).expect("upload URLs live under the public base URL");
        let request = Request::builder()
            .method(Method::PUT)
            .uri(path)
            .header("content-type", content_type)
            .body(Body::from(bytes))
            .unwrap();
        self.router.clone().oneshot(request).await.unwrap().status()
    }

    /// GETs a signed download URL; returns status and body.
    pub async fn download(&self, url: &str) -> (StatusCode, Vec<u8>) {
        let path = url.strip_prefix(BASE_URL).expect("download URLs live under the public base URL");
        let response =
            self.router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    /// `POST …/upload/confirm` for an init reply's document.
    pub async fn confirm_upload(
        &self,
        token: &str,
        init: &Value,
        step: &str,
        document_type: &str,
        mime: &str,
    ) -> Reply {
        let body = json!({"doc_id": init["doc_id"], "s3_key": init["s3_key"], "step_id": step,
                          "document_type": document_type, "file_name": "passport.png", "mime_type": mime});
        self.public_post(&format!("/public/sessions/{token}/upload/confirm"), body).await
    }

    /// init → PUT → confirm of a valid PNG; returns the confirm reply's data.
    pub async fn upload_png(&self, token: &str, step: &str, document_type: &str) -> Value {
        let init = self.init_upload(token, step, document_type, "image/png").await;
        assert_eq!(init.status, StatusCode::CREATED, "{}", init.body);
        let init = init.data().clone();
        let put = self.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await;
        assert_eq!(put, StatusCode::OK);
        let confirm = self.confirm_upload(token, &init, step, document_type, "image/png").await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
        confirm.data().clone()
    }
}

impl TestApp {
    /// Creates the KYB workflow of the privacy tests and returns its id: a passport read by OCR,
    /// a liveness check matching its portrait when `liveness`, a personal form (name, birth date,
    /// email, phone) and up to 3 related parties, each filling a one-field form.
    pub async fn kyb_workflow(&self, liveness: bool) -> String {
        let owner = self
            .create_workflow(json!({"name": "Owner", "steps": [
                {"step_id": "details", "name": "Owner", "type": "form_fill", "custom_fields": [
                    {"field_id": "full_name", "name": "Full name", "type": "text", "required": true}]}]}))
            .await;
        let mut steps =
            vec![json!({"step_id": "id_doc", "name": "Passport", "type": "document_upload", "extract": true,
                 "document_requirements": [{"document_type": "passport", "label": "Passport"}]})];
        if liveness {
            steps.push(json!({"step_id": "face", "name": "Liveness", "type": "liveness",
                 "liveness_config": {"face_match": {"document_type": "passport"}}}));
        }
        steps.push(json!({"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
                    {"field_id": "full_name", "name": "Full name", "type": "text", "required": true},
                    {"field_id": "date_of_birth", "name": "Date of birth", "type": "date", "required": true},
                    {"field_id": "email", "name": "Email", "type": "email", "required": true},
                    {"field_id": "phone", "name": "Phone", "type": "phone"}]}));
        steps.push(json!({"step_id": "owners", "name": "Owners", "type": "subsession_collection",
                 "subsession_config": {"workflow_id": owner, "tag": "ubo", "max_allowed": 3}}));
        self.create_workflow(json!({"name": "KYB", "steps": steps})).await
    }
}
