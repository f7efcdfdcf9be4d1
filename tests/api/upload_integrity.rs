//! Evidence integrity and upload limits: a confirmed document is the bytes that were verified,
//! storage enforces a declared size, a session's open uploads and documents are capped even
//! under concurrency, and a retried confirmation re-checks the rules against the session as it
//! now is.

use crate::helpers::{png, TestApp};
use async_trait::async_trait;
use axum::http::StatusCode;
use kyc_core::ports::table::{Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp};
use kyc_local::SqliteTable;
use serde_json::{json, Value};
use sha2::Digest;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn passport_workflow() -> Value {
    json!({"name": "Passport", "steps": [
        {"step_id": "passport", "name": "Passport", "type": "document_upload",
         "document_requirements": [{"document_type": "passport", "label": "Passport"}]}
    ]})
}

/// `POST …/upload/init` with a declared size.
async fn init_sized(app: &TestApp, token: &str, size: u64) -> crate::helpers::Reply {
    let body = json!({"step_id": "step_1", "document_type": "id", "file_name": "id.png",
                      "mime_type": "image/png", "size_bytes": size});
    app.public_post(&format!("/public/sessions/{token}/upload/init"), body).await
}

// ------------------------------------------------------------------------------------------------
// 1. A confirmed document is immutable

#[tokio::test]
async fn bytes_put_to_the_old_url_after_confirm_change_neither_the_download_nor_the_hash_nor_the_extraction()
{
    let app = TestApp::spawn().await;
    let (session, token) = app.create_session(&app.create_workflow(passport_workflow()).await).await;
    let (genuine, forged) = (fixture("passport-specimen.pdf"), fixture("passport-corrupted.pdf"));
    let body = json!({"step_id": "passport", "document_type": "passport", "file_name": "p.pdf",
                      "mime_type": "application/pdf"});
    let init = app.public_post(&format!("/public/sessions/{token}/upload/init"), body).await.data().clone();
    let url = init["upload_url"].as_str().unwrap();
    assert_eq!(app.put_upload(url, "application/pdf", genuine.clone()).await, StatusCode::OK);
    let confirm = app.confirm_upload(&token, &init, "passport", "passport", "application/pdf").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);

    let late_put = app.put_upload(url, "application/pdf", forged).await;
    let document = app.tenant_view(&session).await["documents"][0].clone();
    let (status, downloaded) = app.download(document["download_url"].as_str().unwrap()).await;
    let extraction = app
        .public_post(
            &format!("/public/sessions/{token}/extract"),
            json!({"doc_id": init["doc_id"], "document_type": "passport"}),
        )
        .await;

    // The URL itself lives until it expires; what it writes no longer matters.
    assert_eq!(late_put, StatusCode::OK);
    assert_eq!(status, StatusCode::OK);
    assert!(downloaded == genuine, "the download is the confirmed file");
    assert_eq!(document["sha256"], sha256(&genuine));
    assert_eq!(document["size_bytes"], genuine.len());
    assert_eq!(extraction.status, StatusCode::OK, "{}", extraction.body);
    assert_eq!(extraction.data()["mrz_check"]["composite"], "valid", "{}", extraction.body);
    assert_eq!(extraction.data()["mrz_check"]["date_of_birth"], "valid");
    // The confirmation still answers with the key the client was issued.
    assert_eq!(confirm.data()["s3_key"], init["s3_key"]);
}

#[tokio::test]
async fn upload_urls_write_under_pending_and_confirmed_documents_live_elsewhere() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;
    let init = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();
    app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await;
    app.confirm_upload(&token, &init, "step_1", "id", "image/png").await;

    let key = init["s3_key"].as_str().unwrap();
    let blobs = app.dir.path().join("blobs/objects");
    let documents: Vec<_> = walk(&blobs.join("documents"));

    assert!(key.starts_with("pending/"), "{key}");
    assert!(!blobs.join(key).exists(), "the pending upload is deleted once pinned");
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert!(
        documents[0].contains(&session)
            && documents[0].ends_with(&format!("{}.png", init["doc_id"].as_str().unwrap()))
    );
}

/// The object files under `dir` (sidecars left out).
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else if !path.to_string_lossy().ends_with(".content-type") {
            found.push(path.to_string_lossy().into_owned());
        }
    }
    found
}

#[tokio::test]
async fn the_legacy_base64_upload_stores_outside_the_pending_prefix() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    use base64::Engine;
    let body = json!({"step_id": "step_1", "document_type": "id", "file_name": "id.png", "mime_type": "image/png",
                      "file_data": base64::engine::general_purpose::STANDARD.encode(png(640, 480))});

    let reply = app.public_post(&format!("/public/sessions/{token}/upload"), body).await;

    assert!(reply.data()["s3_key"].as_str().unwrap().starts_with("documents/"), "{}", reply.body);
}

// ------------------------------------------------------------------------------------------------
// 2. Storage enforces the size; the session's uploads are capped

#[tokio::test]
async fn a_declared_size_is_signed_so_the_upload_url_refuses_any_other_size() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let file = png(800, 600);
    let init = init_sized(&app, &token, file.len() as u64).await;
    assert_eq!(init.status, StatusCode::CREATED, "{}", init.body);
    let init = init.data().clone();
    let url = init["upload_url"].as_str().unwrap();
    let mut longer = file.clone();
    longer.push(0);

    let too_long = app.put_upload(url, "image/png", longer).await;
    let too_short = app.put_upload(url, "image/png", file[..file.len() - 1].to_vec()).await;
    let resized = app.put_upload(&url.replace("X-Size=2048", "X-Size=2049"), "image/png", file.clone()).await;
    let exact = app.put_upload(url, "image/png", file).await;
    let confirm = app.confirm_upload(&token, &init, "step_1", "id", "image/png").await;

    assert_eq!(
        (too_long, too_short, resized),
        (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN)
    );
    assert_eq!(exact, StatusCode::OK);
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
}

#[tokio::test]
async fn a_declared_size_must_be_positive_and_within_the_limit() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;

    init_sized(&app, &token, 0).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "The uploaded file is empty",
    );
    init_sized(&app, &token, 1024 * 1024 + 1).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "The file is larger than 1 MB",
    );
    assert_eq!(init_sized(&app, &token, 1024 * 1024).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_session_has_at_most_twenty_uploads_open_at_once() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    for n in 0..20 {
        assert_eq!(
            app.init_upload(&token, "step_1", "id", "image/png").await.status,
            StatusCode::CREATED,
            "{n}"
        );
    }

    let twenty_first = app.init_upload(&token, "step_1", "id", "image/png").await;
    app.clock.advance(time::Duration::seconds(601)); // the open URLs expire
    let after_expiry = app.init_upload(&token, "step_1", "id", "image/png").await;

    twenty_first.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Too many uploads in progress for this session (at most 20); confirm or wait for them to expire",
    );
    assert_eq!(after_expiry.status, StatusCode::CREATED, "{}", after_expiry.body);
}

#[tokio::test]
async fn a_confirmed_upload_no_longer_counts_as_open() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    for _ in 0..19 {
        app.init_upload(&token, "step_1", "id", "image/png").await;
    }
    app.upload_png(&token, "step_1", "id").await;

    assert_eq!(app.init_upload(&token, "step_1", "id", "image/png").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn concurrent_inits_never_exceed_the_document_cap() {
    let app = Arc::new(TestApp::spawn().await);
    let (session, token) = app.basic_session().await;
    for _ in 0..95 {
        app.insert_document(&session, "step_1", "id", true).await;
    }

    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { app.init_upload(&token, "step_1", "id", "image/png").await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::CREATED => created += 1,
            StatusCode::BAD_REQUEST => {
                assert_eq!(reply.body["error"]["message"], "Too many uploads for this session (at most 100)")
            }
            // Lost every race for the session's version: nothing written either.
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }

    let documents = app.tenant_view(&session).await["documents"].as_array().unwrap().len();
    assert!(created <= 5, "{created} inits succeeded past the cap");
    assert_eq!(documents, 95 + created);
    assert!(documents <= 100);
}

#[tokio::test]
async fn concurrent_inits_never_exceed_the_open_upload_cap() {
    let app = Arc::new(TestApp::spawn().await);
    let (session, token) = app.basic_session().await;

    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { app.init_upload(&token, "step_1", "id", "image/png").await.status })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::CREATED {
            created += 1;
        }
    }

    let documents = app.tenant_view(&session).await["documents"].as_array().unwrap().len();
    assert!(created <= 20, "{created} uploads open at once");
    assert_eq!(documents, created);
}

// ------------------------------------------------------------------------------------------------
// 3. Every retry re-checks the rules

/// A SQLite table whose next transaction, once armed, waits until the test lets it go: the
/// test can then slip another change in between a request's read and its write.
struct PausingTable {
    inner: SqliteTable,
    armed: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

impl PausingTable {
    /// Arms a pause of the next transaction. The first receiver fires when it is reached; the
    /// sender lets it proceed.
    fn pause_next_transaction(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel();
        *self.armed.lock().unwrap() = Some((reached_tx, go_rx));
        (reached_rx, go_tx)
    }
}

#[async_trait]
impl Table for PausingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.inner.put(item, condition).await
    }
    async fn update(&self, update: Update) -> Result<(), StoreError> {
        self.inner.update(update).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let armed = self.armed.lock().unwrap().take();
        if let Some((reached, go)) = armed {
            let _ = reached.send(());
            let _ = go.await;
        }
        self.inner.transact(ops).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
}

async fn pausing_app() -> (TestApp, Arc<PausingTable>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let inner = SqliteTable::open(dir.path().join("kyc.db")).expect("sqlite store");
    let table = Arc::new(PausingTable { inner, armed: Mutex::new(None) });
    (TestApp::spawn_on(table.clone(), dir).await, table)
}

/// A session whose step_1 holds a confirmed ID, plus a second ID uploaded but not confirmed.
async fn session_with_an_unconfirmed_second_upload(app: &TestApp) -> (String, String, Value) {
    let (session, token) = app.basic_session().await;
    app.upload_png(&token, "step_1", "id").await;
    let init = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();
    app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(900, 700)).await;
    (session, token, init)
}

/// Runs `confirm` until its write is about to commit, then `racer` to completion, then lets the
/// confirm's (now stale) write go; returns the confirm's reply and the racer's.
async fn race<C, R>(
    table: &PausingTable,
    confirm: C,
    racer: R,
) -> (crate::helpers::Reply, crate::helpers::Reply)
where
    C: std::future::Future<Output = crate::helpers::Reply>,
    R: std::future::Future<Output = crate::helpers::Reply>,
{
    let (reached, go) = table.pause_next_transaction();
    tokio::join!(confirm, async {
        reached.await.expect("the confirm reaches its write");
        let reply = racer.await;
        let _ = go.send(());
        reply
    })
}

#[tokio::test]
async fn a_confirm_racing_a_cancel_never_attaches_evidence_to_the_canceled_session() {
    let (app, table) = pausing_app().await;
    let (session, token, init) = session_with_an_unconfirmed_second_upload(&app).await;

    let (confirm, cancel) = race(
        &table,
        app.confirm_upload(&token, &init, "step_1", "id", "image/png"),
        app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})),
    )
    .await;

    assert!(cancel.status.is_success(), "{}", cancel.body);
    confirm.assert_error_containing(StatusCode::FORBIDDEN, "FORBIDDEN", "no longer accepts changes");
    let view = app.tenant_view(&session).await;
    let second =
        view["documents"].as_array().unwrap().iter().find(|d| d["doc_id"] == init["doc_id"]).unwrap().clone();
    assert_eq!(second["status"], "pending", "{second}");
    assert!(!view["audit_trail"].as_array().unwrap().iter().any(|e| e["action"] == "document_replaced"));
    assert!(walk(&app.dir.path().join("blobs/objects/documents")).len() == 1, "the losing copy is removed");
}

#[tokio::test]
async fn a_confirm_racing_the_step_completion_never_attaches_evidence_to_the_completed_step() {
    let (app, table) = pausing_app().await;
    let (session, token, init) = session_with_an_unconfirmed_second_upload(&app).await;

    let (confirm, complete) = race(
        &table,
        app.confirm_upload(&token, &init, "step_1", "id", "image/png"),
        app.complete_step(&token, "step_1", json!({})),
    )
    .await;

    assert_eq!(complete.status, StatusCode::OK, "{}", complete.body);
    confirm.assert_error(StatusCode::FORBIDDEN, "FORBIDDEN", "Step already completed");
    let documents = app.tenant_view(&session).await["documents"].clone();
    let statuses: Vec<(Value, Value)> =
        documents.as_array().unwrap().iter().map(|d| (d["doc_id"].clone(), d["status"].clone())).collect();
    assert!(statuses.contains(&(init["doc_id"].clone(), json!("pending"))), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|(_, s)| s == "confirmed").count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn a_base64_upload_racing_a_cancel_never_attaches_evidence_to_the_canceled_session() {
    use base64::Engine;
    let (app, table) = pausing_app().await;
    let (session, token) = app.basic_session().await;
    let body = json!({"step_id": "step_1", "document_type": "id", "file_name": "id.png", "mime_type": "image/png",
                      "file_data": base64::engine::general_purpose::STANDARD.encode(png(640, 480))});

    let (upload, cancel) = race(
        &table,
        app.public_post(&format!("/public/sessions/{token}/upload"), body),
        app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})),
    )
    .await;

    assert!(cancel.status.is_success(), "{}", cancel.body);
    upload.assert_error_containing(StatusCode::FORBIDDEN, "FORBIDDEN", "no longer accepts changes");
    assert_eq!(app.tenant_view(&session).await["documents"], json!([]));
    assert!(walk(&app.dir.path().join("blobs/objects/documents")).is_empty(), "the stored file is removed");
}
