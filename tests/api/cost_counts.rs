//! What one verification costs in calls: the demo verification flow walked through the real
//! routers on metering adapters, which count what DynamoDB, S3, Textract, Rekognition, API
//! Gateway, Lambda and the webhook receiver would each bill. The counts are committed as
//! `bench/cost-counts.json`, which `make cost` (`bench/cost.py`) prices; this test fails when the
//! flow's calls drift from the committed file, printing the command that writes it again.
//!
//! Capacity units follow DynamoDB's on-demand rules: a read is one unit per 4 KB (strongly
//! consistent; half on an index, which is eventually consistent), summed over a query's items
//! before rounding, and at least one even when nothing is found; a write is one unit per 1 KB of
//! the larger of the old and new item, plus the same for each index whose entry it adds, changes
//! or removes (a changed index key is a delete and a put); every action of a transaction costs
//! twice that, its condition checks included. Conditional writes that fail are billed too.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use kyc_core::domain::extraction::Extraction;
use kyc_core::domain::idempotency::SealingKey;
use kyc_core::domain::secrets::Mode;
use kyc_core::ports::blobs::{BlobError, Blobs, ObjectMeta, PutGrant};
use kyc_core::ports::extractor::{ExtractionError, ExtractionRequest, Extractor};
use kyc_core::ports::liveness::{LivenessProvider, ProviderError, ProviderResult};
use kyc_core::ports::table::{
    AttributeValue, Condition, Index, Item, Key, Page, Query, StoreError, Table, Update, WriteOp,
};
use kyc_core::services::{IdempotencySettings, Ports, Services, Settings, UploadSettings};
use kyc_http::{app, routes, AppState};
use kyc_local::{FsBlobs, LocalExtractor, SqliteTable};
use kyc_testkit::{ManualClock, ScriptedLiveness, ScriptedWebhooks};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tower::ServiceExt;

const BASE_URL: &str = "https://kyc.test";
/// Where the counts are committed, from the workspace root.
const COUNTS_FILE: &str = "bench/cost-counts.json";
/// The variable that makes this test write the file instead of comparing with it.
const REGENERATE_VAR: &str = "KYC_WRITE_COST_COUNTS";

/// What one flow made each service do.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
struct Meter {
    /// API Gateway requests, by the Lambda function that serves them.
    api_requests: BTreeMap<&'static str, u32>,
    dynamodb: DynamoMeter,
    s3: S3Meter,
    /// Live-mode document extractions (Textract on AWS), one per document read.
    live_extractions: u32,
    /// Test-mode (sandbox) extractions: no provider call.
    sandbox_extractions: u32,
    /// Rekognition calls, by API.
    rekognition: BTreeMap<&'static str, u32>,
    /// Outbox events fanned out and deliveries attempted to the tenant's webhook endpoint.
    webhook_events: u32,
    webhook_deliveries: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
struct DynamoMeter {
    /// On-demand read request units (half units for eventually consistent index reads).
    read_units: f64,
    /// On-demand write request units, index writes and transactions' doubling included.
    write_units: u32,
    /// Requests, by kind.
    requests: BTreeMap<&'static str, u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
struct S3Meter {
    /// PUT, COPY (billed as PUT) and the browser's presigned PUTs.
    put_requests: u32,
    /// GET and HEAD.
    get_requests: u32,
    /// DELETE (free).
    delete_requests: u32,
    /// Of the PUTs, the browser's presigned uploads (no function involved).
    browser_puts: u32,
    put_bytes: u64,
    get_bytes: u64,
}

/// The meter every adapter of one app writes to.
type Shared = Arc<Mutex<Meter>>;

fn record(meter: &Shared, change: impl FnOnce(&mut Meter)) {
    change(&mut meter.lock().unwrap());
}

/// DynamoDB's size of an attribute value, in bytes.
fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        // Numbers: about one byte per two significant digits, plus one.
        AttributeValue::N(number) => number.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(bytes) => bytes.len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(map) => {
            3 + map.iter().map(|(name, v)| name.len() + value_size(v) + 1).sum::<usize>()
        }
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(Vec::len).sum(),
    }
}

/// DynamoDB's size of an item: its attribute names and values.
fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

/// Units of `size` bytes at `unit` bytes each, at least one.
fn units(size: usize, unit: usize) -> u32 {
    u32::try_from(size.div_ceil(unit).max(1)).expect("small")
}

/// Write units of replacing `old` with `new` (either may be absent), indexes included.
fn write_units(old: Option<&Item>, new: Option<&Item>) -> u32 {
    let size = |item: Option<&Item>| item.map_or(0, item_size);
    let mut total = units(size(old).max(size(new)), 1024);
    for index in Index::SECONDARY {
        let (pk, sk) = index.key_attributes();
        let entry = |item: Option<&Item>| item.and_then(|i| Some((i.get(pk)?.clone(), i.get(sk)?.clone())));
        total += match (entry(old), entry(new)) {
            (None, None) => 0,
            (Some(_), None) => units(size(old), 1024),
            (None, Some(_)) => units(size(new), 1024),
            (Some(before), Some(after)) if before == after => units(size(old).max(size(new)), 1024),
            (Some(_), Some(_)) => units(size(old), 1024) + units(size(new), 1024),
        };
    }
    total
}

/// A table that meters capacity units on another (its own reads of the old item are free).
struct MeteredTable {
    inner: SqliteTable,
    meter: Shared,
}

impl MeteredTable {
    fn request(&self, kind: &'static str, read_units: f64, write_units: u32) {
        record(&self.meter, |m| {
            *m.dynamodb.requests.entry(kind).or_default() += 1;
            m.dynamodb.read_units += read_units;
            m.dynamodb.write_units += write_units;
        });
    }

    /// Write units of one action on its key's current item.
    async fn action_units(&self, op: &WriteOp) -> Result<u32, StoreError> {
        let old = self.inner.get(&op.key()?).await?;
        Ok(match op {
            WriteOp::Put { item, .. } => write_units(old.as_ref(), Some(item)),
            WriteOp::Update(update) => {
                write_units(old.as_ref(), Some(&update.apply_to(old.clone()).unwrap_or_default()))
            }
            WriteOp::Delete { .. } => write_units(old.as_ref(), None),
            WriteOp::Check { .. } => units(old.as_ref().map_or(0, item_size), 1024),
        })
    }
}

#[async_trait]
impl Table for MeteredTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(key).await?;
        self.request("get", f64::from(units(item.as_ref().map_or(0, item_size), 4096)), 0);
        Ok(item)
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        let op = WriteOp::Put { item, condition };
        self.request("put", 0.0, self.action_units(&op).await?);
        let WriteOp::Put { item, condition } = op else { unreachable!() };
        self.inner.put(item, condition).await
    }

    async fn update(&self, update: Update) -> Result<(), StoreError> {
        let op = WriteOp::Update(update);
        self.request("update", 0.0, self.action_units(&op).await?);
        let WriteOp::Update(update) = op else { unreachable!() };
        self.inner.update(update).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let op = WriteOp::Delete { key: key.clone(), condition };
        self.request("delete", 0.0, self.action_units(&op).await?);
        let WriteOp::Delete { key, condition } = op else { unreachable!() };
        self.inner.delete(&key, condition).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let mut total = 0;
        for op in &ops {
            total += 2 * self.action_units(op).await?;
        }
        self.request("transact_write", 0.0, total);
        self.inner.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let eventually_consistent = query.index != Index::Primary;
        let page = self.inner.query(query).await?;
        let size = page.items.iter().map(item_size).sum();
        let read = f64::from(units(size, 4096)) * if eventually_consistent { 0.5 } else { 1.0 };
        self.request("query", read, 0);
        Ok(page)
    }
}

/// A document store that counts S3 requests and bytes on another.
struct MeteredBlobs {
    inner: FsBlobs,
    meter: Shared,
}

impl MeteredBlobs {
    fn get(&self, bytes: u64) {
        record(&self.meter, |m| {
            m.s3.get_requests += 1;
            m.s3.get_bytes += bytes;
        });
    }

    fn put(&self, bytes: u64) {
        record(&self.meter, |m| {
            m.s3.put_requests += 1;
            m.s3.put_bytes += bytes;
        });
    }
}

#[async_trait]
impl Blobs for MeteredBlobs {
    async fn presign_put(&self, grant: &PutGrant) -> Result<String, BlobError> {
        self.inner.presign_put(grant).await
    }

    async fn presign_get(&self, key: &str, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        self.inner.presign_get(key, expires_at).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        self.get(0);
        self.inner.head(key).await
    }

    async fn read_prefix(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError> {
        let bytes = self.inner.read_prefix(key, len).await?;
        self.get(bytes.len() as u64);
        Ok(bytes)
    }

    async fn sha256(&self, key: &str) -> Result<String, BlobError> {
        // S3Blobs streams the whole object through the hash.
        self.get(self.inner.head(key).await?.map_or(0, |meta| meta.size));
        self.inner.sha256(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.put(bytes.len() as u64);
        self.inner.put(key, bytes, content_type).await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        // A server-side copy: one PUT-class request, no bytes through the function.
        self.put(0);
        self.inner.copy(from, to).await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        record(&self.meter, |m| m.s3.delete_requests += 1);
        self.inner.delete(key).await
    }
}

/// An extractor that counts its calls, as live (a Textract document) or sandbox ones.
struct MeteredExtractor {
    inner: LocalExtractor,
    live: bool,
    meter: Shared,
}

#[async_trait]
impl Extractor for MeteredExtractor {
    async fn extract(&self, request: &ExtractionRequest) -> Result<Extraction, ExtractionError> {
        record(&self.meter, |m| match self.live {
            true => m.live_extractions += 1,
            false => m.sandbox_extractions += 1,
        });
        self.inner.extract(request).await
    }
}

/// The scripted liveness provider, counting calls by Rekognition API.
struct MeteredLiveness {
    inner: ScriptedLiveness,
    meter: Shared,
}

impl MeteredLiveness {
    fn call(&self, api: &'static str) {
        record(&self.meter, |m| *m.rekognition.entry(api).or_default() += 1);
    }
}

#[async_trait]
impl LivenessProvider for MeteredLiveness {
    async fn create_session(&self, output_prefix: &str) -> Result<String, ProviderError> {
        self.call("CreateFaceLivenessSession");
        self.inner.create_session(output_prefix).await
    }

    async fn results(&self, session_id: &str) -> Result<ProviderResult, ProviderError> {
        self.call("GetFaceLivenessSessionResults");
        self.inner.results(session_id).await
    }

    async fn compare_faces(&self, source: &str, target: &str) -> Result<Option<f64>, ProviderError> {
        self.call("CompareFaces");
        self.inner.compare_faces(source, target).await
    }
}

/// The Lambda function (template.yaml) that serves a path.
fn function_of(path: &str) -> &'static str {
    if path.starts_with("/v1/") {
        "tenant"
    } else if path.contains("/upload") || path.ends_with("/documents") {
        "uploads"
    } else if path.ends_with("/extract") {
        "extract"
    } else if path.contains("/liveness/") {
        "liveness"
    } else if path.contains("/subsessions") {
        "subsessions"
    } else {
        "sessions"
    }
}

/// The whole API on metering adapters over a fresh SQLite file.
struct MeteredApp {
    router: Router,
    services: Arc<Services>,
    meter: Shared,
    _dir: tempfile::TempDir,
}

impl MeteredApp {
    async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let meter = Shared::default();
        let sqlite = SqliteTable::open(dir.path().join("kyc.db")).unwrap();
        let table = Arc::new(MeteredTable { inner: sqlite, meter: meter.clone() });
        let files = FsBlobs::open(dir.path().join("blobs"), BASE_URL).unwrap();
        let blobs: Arc<dyn Blobs> = Arc::new(MeteredBlobs { inner: files.clone(), meter: meter.clone() });
        let extractor = |live: bool| MeteredExtractor {
            inner: LocalExtractor::new(Arc::new(files.clone()), !live),
            live,
            meter: meter.clone(),
        };
        let liveness = ScriptedLiveness::default();
        liveness.similarity(Some(97.0));
        let ports = Ports {
            table,
            blobs,
            clock: Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
            liveness: Some(Arc::new(MeteredLiveness { inner: liveness, meter: meter.clone() })),
            test_extractor: Arc::new(extractor(false)),
            live_extractor: Arc::new(extractor(true)),
        };
        let settings = Settings {
            public_base_url: BASE_URL.into(),
            default_session_ttl_seconds: 7 * 24 * 3600,
            uploads: UploadSettings::default(),
            liveness_max_failed_attempts: 3,
            idempotency: IdempotencySettings::new(
                SealingKey::derive("cost counts secret, not for production").unwrap(),
            ),
            webhooks: kyc_core::services::WebhookSettings::default(),
            retention_days: 365,
        };
        let services =
            Services::new(ports, settings).with_webhook_sender(Arc::new(ScriptedWebhooks::default()));
        let state = AppState::new(services);
        let services = state.services.clone();
        let router = app(routes::all(), state).merge(kyc_local::blob_server::router(files));
        Self { router, services, meter, _dir: dir }
    }

    /// Sends a request (JSON body when given) and returns status and JSON answer, counting it
    /// as an API Gateway request of the function that serves it.
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        record(&self.meter, |m| *m.api_requests.entry(function_of(path)).or_default() += 1);
        kyc_testkit::call_json(&self.router, method, path, key, body).await
    }

    /// A call that must answer 200 or 201; returns its `data`.
    async fn ok(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, key, body).await;
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer["data"].clone()
    }

    /// The browser's PUT to the presigned URL: straight to S3, no API Gateway or Lambda.
    async fn browser_put(&self, url: &str, content_type: &str, bytes: Vec<u8>) {
        record(&self.meter, |m| {
            m.s3.put_requests += 1;
            m.s3.browser_puts += 1;
            m.s3.put_bytes += bytes.len() as u64;
        });
        let path = url.strip_prefix(BASE_URL).unwrap();
        let request =
            Request::put(path).header("content-type", content_type).body(Body::from(bytes)).unwrap();
        assert_eq!(self.router.clone().oneshot(request).await.unwrap().status(), StatusCode::OK);
    }

    fn take(&self) -> Meter {
        std::mem::take(&mut *self.meter.lock().unwrap())
    }
}

/// The verification the counts describe: an identity document read automatically on upload,
/// liveness with a face match against it (live mode), and personal details.
fn verification_workflow() -> Value {
    json!({"name": "Verification", "steps": [
        {"step_id": "id_document", "name": "ID document", "type": "document_upload", "extract": true,
         "document_requirements": [{"document_type": "passport", "label": "ID", "allow_multiple": true}]},
        {"step_id": "liveness", "name": "Liveness", "type": "liveness",
         "liveness_config": {"min_confidence": 90, "face_match": {"document_type": "passport", "min_similarity": 90}}},
        {"step_id": "personal_info", "name": "Personal information", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full name", "type": "text", "required": true},
            {"field_id": "date_of_birth", "name": "Date of birth", "type": "date", "required": true},
            {"field_id": "email", "name": "Email", "type": "email", "required": true}]}
    ]})
}

/// One verification from the tenant's `POST /v1/sessions` to its read of the result after the
/// webhook, with `pages` document uploads (each read once), the browser reading the session state
/// when it opens and after each step. Returns what it cost in calls.
async fn one_verification(mode: Mode, pages: usize) -> Meter {
    let app = MeteredApp::spawn().await;
    let tenant = app.services.create_tenant("Tenant").await.unwrap();
    let key = app.services.create_api_key(&tenant.tenant_id, mode).await.unwrap().secret.expose().to_owned();
    let key = Some(key.as_str());
    let workflow = app.ok(Method::POST, "/v1/workflows", key, Some(verification_workflow())).await;
    let endpoint = json!({"url": "https://tenant.example.com/kyc-webhooks", "events": ["*"]});
    app.ok(Method::POST, "/v1/webhook_endpoints", key, Some(endpoint)).await;
    app.take(); // the tenant's one-time setup is not part of a verification

    let session = app
        .ok(Method::POST, "/v1/sessions", key, Some(json!({"workflow_id": workflow["workflow_id"]})))
        .await;
    let public = format!("/public/sessions/{}", session["access_token"].as_str().unwrap());
    app.ok(Method::GET, &public, None, None).await;
    app.ok(Method::GET, &format!("{public}/workflow"), None, None).await;

    let pdf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/passport-specimen.pdf")).unwrap();
    for page in 0..pages {
        let file = json!({"step_id": "id_document", "document_type": "passport",
                          "file_name": format!("page-{page}.pdf"), "mime_type": "application/pdf"});
        let init = app.ok(Method::POST, &format!("{public}/upload/init"), None, Some(file)).await;
        app.browser_put(init["upload_url"].as_str().unwrap(), "application/pdf", pdf.clone()).await;
        let confirm = json!({"doc_id": init["doc_id"], "s3_key": init["s3_key"], "step_id": "id_document",
                             "document_type": "passport", "mime_type": "application/pdf"});
        app.ok(Method::POST, &format!("{public}/upload/confirm"), None, Some(confirm)).await;
    }
    app.ok(Method::POST, &format!("{public}/step/id_document/complete"), None, Some(json!({}))).await;
    app.ok(Method::GET, &public, None, None).await;

    let start = app
        .ok(Method::POST, &format!("{public}/liveness/start"), None, Some(json!({"step_id": "liveness"})))
        .await;
    let attempt = json!({"liveness_session_id": start["liveness_session_id"]});
    let verdict = app.ok(Method::POST, &format!("{public}/liveness/complete"), None, Some(attempt)).await;
    assert_eq!(verdict["passed"], true, "{verdict}");
    app.ok(Method::GET, &public, None, None).await;

    let form = json!({"form_data": {"full_name": "John Alexander Doe", "date_of_birth": "1985-03-15",
                                    "email": "john@example.com"}});
    app.ok(Method::POST, &format!("{public}/step/personal_info/complete"), None, Some(form)).await;
    app.ok(Method::GET, &public, None, None).await;

    let report = app.services.dispatch_webhooks(100).await.unwrap();
    let view = app
        .ok(Method::GET, &format!("/v1/sessions/{}", session["session_id"].as_str().unwrap()), key, None)
        .await;
    assert_ne!(view["status"], "in_progress", "{view}");
    let mut meter = app.take();
    meter.webhook_events = u32::try_from(report.events).unwrap();
    meter.webhook_deliveries = u32::try_from(report.attempts).unwrap();
    meter
}

#[tokio::test]
async fn the_committed_cost_counts_are_what_one_verification_makes_each_service_do() {
    let flows = json!({
        "mrz": one_verification(Mode::Live, 1).await,
        "analyze_id_two_pages": one_verification(Mode::Live, 2).await,
        "test_mode": one_verification(Mode::Test, 1).await,
    });
    let counts = json!({
        "about": "Calls of one verification per flow, counted by tests/api/cost_counts.rs; priced by bench/cost.py (make cost).",
        "regenerate": "make cost-counts",
        "flows": flows,
    });
    let text = serde_json::to_string_pretty(&counts).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(COUNTS_FILE);
    if std::env::var_os(REGENERATE_VAR).is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{COUNTS_FILE} is out of date with the flow's calls; write it again with\n    \
         {REGENERATE_VAR}=1 cargo test -p kyc-api-tests --test api cost_counts\nnew counts:\n{text}"
    );
}
