use crate::helpers::{basic_workflow, pdf, png, TestApp, BASE_URL};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn init_put_confirm_then_the_document_shows_and_the_step_completes() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;

    let init = app.init_upload(&token, "step_1", "id", "image/png").await;
    assert_eq!(init.status, StatusCode::CREATED, "{}", init.body);
    let init = init.data().clone();
    let put = app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await;
    let confirm = app.confirm_upload(&token, &init, "step_1", "id", "image/png").await;
    let state = app.state(&token).await;
    let complete = app.complete_step(&token, "step_1", json!({})).await;

    let doc_id = init["doc_id"].as_str().unwrap();
    assert!(doc_id.starts_with("doc_"));
    assert!(init["upload_url"].as_str().unwrap().starts_with(&format!("{BASE_URL}/_blobs/")));
    assert!(
        init["s3_key"].as_str().unwrap().ends_with(&format!("/{session}/{doc_id}.png")),
        "{}",
        init["s3_key"]
    );
    assert!(init["expires_at"].as_i64().unwrap() > 0);
    assert_eq!(put, StatusCode::OK);
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert_eq!(confirm.data()["confirmed"], true);
    assert_eq!(confirm.data()["s3_key"], init["s3_key"]);
    let documents = &state["steps_data"][0]["documents"];
    assert_eq!(documents.as_array().unwrap().len(), 1);
    assert_eq!(
        documents[0],
        json!({"doc_id": doc_id, "type": "id", "file_name": "passport.png", "mime_type": "image/png",
               "uploaded_at": confirm.data()["uploaded_at"]})
    );
    assert_eq!(state["steps_data"][0]["status"], "in_progress");
    assert_eq!(complete.data()["next_step_id"], "step_2", "{}", complete.body);
}

#[tokio::test]
async fn public_state_never_shows_storage_keys() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let confirmed = app.upload_png(&token, "step_1", "id").await;

    let text = app.get(&format!("/public/sessions/{token}")).await.body.to_string();

    let key = confirmed["s3_key"].as_str().unwrap();
    assert!(!text.contains(key) && !text.contains("s3_key") && !text.contains("object_key"), "{text}");
    assert!(!text.contains("sha256") && !text.contains("ten_"), "{text}");
}

#[tokio::test]
async fn the_tenant_view_has_checksum_size_and_a_working_download_link() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;
    app.upload_png(&token, "step_1", "id").await;

    let document = app.tenant_view(&session).await["documents"][0].clone();

    assert_eq!(document["status"], "confirmed");
    assert_eq!(document["size_bytes"], 2048);
    use sha2::Digest;
    assert_eq!(document["sha256"], hex::encode(sha2::Sha256::digest(png(800, 600))));
    let (status, bytes) = app.download(document["download_url"].as_str().unwrap()).await;
    assert_eq!((status, bytes), (StatusCode::OK, png(800, 600)));
}

#[tokio::test]
async fn a_tampered_signature_or_wrong_content_type_is_refused_by_the_upload_url() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let init = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();
    let url = init["upload_url"].as_str().unwrap();

    let tampered = url.replace("X-Max-Bytes=1048576", "X-Max-Bytes=999999999");
    let other_key = url.replace(".png?", ".pdf?");

    assert_eq!(app.put_upload(&tampered, "image/png", png(800, 600)).await, StatusCode::FORBIDDEN);
    assert_eq!(app.put_upload(&other_key, "image/png", png(800, 600)).await, StatusCode::FORBIDDEN);
    assert_eq!(app.put_upload(url, "application/pdf", png(800, 600)).await, StatusCode::FORBIDDEN);
    assert_eq!(app.put_upload(url, "image/png", png(800, 600)).await, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_upload_url_is_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    app.clock.advance(time::Duration::seconds(-3600)); // the URL is issued an hour in the past
    let init = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();

    let status = app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await;

    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_oversize_body_is_refused_by_the_upload_url() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let init = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();
    let mut big = png(800, 600);
    big.resize(1024 * 1024 + 1, 0);

    let status = app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", big).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// init + PUT of `bytes` declared as `mime`, then confirm: returns the confirm reply.
async fn upload_as(app: &TestApp, token: &str, mime: &str, bytes: Vec<u8>) -> (Value, crate::helpers::Reply) {
    let init = app.init_upload(token, "step_1", "id", mime).await.data().clone();
    assert_eq!(app.put_upload(init["upload_url"].as_str().unwrap(), mime, bytes).await, StatusCode::OK);
    let confirm = app.confirm_upload(token, &init, "step_1", "id", mime).await;
    (init, confirm)
}

#[tokio::test]
async fn png_bytes_declared_as_pdf_are_refused_and_deleted() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;

    let (init, confirm) = upload_as(&app, &token, "application/pdf", png(800, 600)).await;
    let again = app.confirm_upload(&token, &init, "step_1", "id", "application/pdf").await;

    confirm.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "File content does not match its declared type (the content is image/png)",
    );
    again.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "The file has not been uploaded yet");
    assert!(app.state(&token).await["steps_data"][0].get("documents").is_none());
}

#[tokio::test]
async fn empty_small_and_unreadable_files_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;

    let (_, empty) = upload_as(&app, &token, "image/png", Vec::new()).await;
    let (_, tiny) = upload_as(&app, &token, "image/png", png(120, 90)).await;
    let (_, pdf_ok) = upload_as(&app, &token, "application/pdf", pdf()).await;

    empty.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "The uploaded file is empty");
    tiny.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "image is too small (120x90 px)",
    );
    assert_eq!(pdf_ok.status, StatusCode::OK, "{}", pdf_ok.body);
}

#[tokio::test]
async fn confirm_checks_the_issued_key_and_the_document() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(basic_workflow()).await;
    let (_, token) = app.create_session(&workflow).await;
    let (_, other_token) = app.create_session(&workflow).await;
    let mine = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();
    let theirs = app.init_upload(&other_token, "step_1", "id", "image/png").await.data().clone();

    let mut foreign_key = mine.clone();
    foreign_key["s3_key"] = theirs["s3_key"].clone();
    let wrong_key = app.confirm_upload(&token, &foreign_key, "step_1", "id", "image/png").await;
    let foreign_doc = app.confirm_upload(&token, &theirs, "step_1", "id", "image/png").await;
    let wrong_type = app.confirm_upload(&token, &mine, "step_1", "id", "application/pdf").await;
    let not_uploaded = app.confirm_upload(&token, &mine, "step_1", "id", "image/png").await;

    wrong_key.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "s3_key does not match the upload issued for this document",
    );
    foreign_doc.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Document not found");
    wrong_type.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "step_id, document_type and mime_type must match the initialized upload",
    );
    not_uploaded.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "The file has not been uploaded yet",
    );
}

#[tokio::test]
async fn init_validates_step_type_mime_and_file_name() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let cases = [
        ("nope", "id", "image/png", StatusCode::BAD_REQUEST, "Step not found"),
        ("step_1", "selfie", "image/png", StatusCode::BAD_REQUEST, "Document type not allowed for this step"),
        ("step_3", "id", "image/png", StatusCode::BAD_REQUEST, "This step does not accept uploads"),
        (
            "step_1",
            "id",
            "image/gif",
            StatusCode::BAD_REQUEST,
            "mime_type must be one of: image/jpeg, image/png, image/heic, image/heif, image/webp, application/pdf",
        ),
    ];
    for (step, document_type, mime, status, message) in cases {
        let reply = app.init_upload(&token, step, document_type, mime).await;
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.body["error"]["message"], message);
    }
    let body =
        json!({"step_id": "step_1", "document_type": "id", "file_name": "../", "mime_type": "image/png"});
    app.public_post(&format!("/public/sessions/{token}/upload/init"), body).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "file_name must name a file",
    );
}

#[tokio::test]
async fn file_names_are_cleaned_and_never_reach_the_key() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let body = json!({"step_id": "step_1", "document_type": "id", "file_name": "../../etc/pass\u{0007}port.png", "mime_type": "image/png"});

    let init = app.public_post(&format!("/public/sessions/{token}/upload/init"), body).await.data().clone();
    app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await;
    app.confirm_upload(&token, &init, "step_1", "id", "image/png").await;

    assert!(!init["s3_key"].as_str().unwrap().contains("passport"));
    assert_eq!(app.state(&token).await["steps_data"][0]["documents"][0]["file_name"], "passport.png");
}

#[tokio::test]
async fn the_legacy_base64_upload_works_on_both_paths() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;

    let mut replies = Vec::new();
    for path in ["upload", "documents"] {
        let body = json!({"step_id": "step_1", "document_type": "id", "file_data": b64(&png(640, 480)),
                          "file_name": "id.png", "mime_type": "image/png"});
        replies.push(app.public_post(&format!("/public/sessions/{token}/{path}"), body).await);
    }

    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.data()["s3_key"].as_str().unwrap().contains(&session));
        assert!(reply.data()["uploaded_at"].is_string());
    }
    let documents = app.state(&token).await["steps_data"][0]["documents"].clone();
    assert_eq!(documents.as_array().unwrap().len(), 1, "the second upload replaced the first");
    assert_eq!(documents[0]["doc_id"], replies[1].data()["doc_id"]);
}

#[tokio::test]
async fn the_legacy_upload_refuses_bad_base64_and_mismatched_content() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let path = format!("/public/sessions/{token}/upload");
    let body = |data: String, mime: &str| json!({"step_id": "step_1", "document_type": "id", "file_data": data, "file_name": "id.png", "mime_type": mime});

    let invalid = app.public_post(&path, body("not base64 at all!".into(), "image/png")).await;
    let mismatch = app.public_post(&path, body(b64(&pdf()), "image/png")).await;
    let data_url = app
        .public_post(&path, body(format!("data:image/png;base64,{}", b64(&png(300, 300))), "image/png"))
        .await;

    invalid.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "file_data is not valid base64");
    mismatch.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "File content does not match its declared type (the content is application/pdf)",
    );
    assert_eq!(data_url.status, StatusCode::OK, "{}", data_url.body);
}

#[tokio::test]
async fn a_new_upload_replaces_the_old_one_when_only_one_is_allowed() {
    let app = TestApp::spawn().await;
    let (session, token) = app.basic_session().await;

    let first = app.upload_png(&token, "step_1", "id").await;
    let second = app.upload_png(&token, "step_1", "id").await;

    let public = app.state(&token).await["steps_data"][0]["documents"].clone();
    assert_eq!(public.as_array().unwrap().len(), 1);
    assert_eq!(public[0]["doc_id"], second["doc_id"]);
    let view = app.tenant_view(&session).await;
    let statuses: Vec<(Value, Value)> = view["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["doc_id"].clone(), d["status"].clone()))
        .collect();
    assert!(statuses.contains(&(first["doc_id"].clone(), json!("replaced"))), "{statuses:?}");
    assert!(statuses.contains(&(second["doc_id"].clone(), json!("confirmed"))), "{statuses:?}");
    let replaced =
        view["audit_trail"].as_array().unwrap().iter().find(|e| e["action"] == "document_replaced").unwrap();
    assert_eq!(replaced["documents"], json!([second["doc_id"], first["doc_id"]]));
}

#[tokio::test]
async fn concurrent_confirms_of_one_document_record_it_once() {
    let app = Arc::new(TestApp::spawn().await);
    let (session, token) = app.basic_session().await;
    let init = app.init_upload(&token, "step_1", "id", "image/png").await.data().clone();
    app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await;

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (app, token, init) = (app.clone(), token.clone(), init.clone());
            tokio::spawn(async move { app.confirm_upload(&token, &init, "step_1", "id", "image/png").await })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        bodies.push(reply.data().clone());
    }

    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every confirm answers the same: {bodies:?}");
    let view = app.tenant_view(&session).await;
    assert_eq!(view["documents"].as_array().unwrap().len(), 1);
    let uploads =
        view["audit_trail"].as_array().unwrap().iter().filter(|e| e["action"] == "document_uploaded").count();
    assert_eq!(uploads, 1);
}

#[tokio::test]
async fn uploads_to_a_completed_step_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    app.upload_png(&token, "step_1", "id").await;
    app.complete_step(&token, "step_1", json!({})).await;

    app.init_upload(&token, "step_1", "id", "image/png").await.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Step already completed",
    );
}

#[tokio::test]
async fn initializing_an_upload_costs_one_query_and_one_transaction() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    app.state(&token).await;
    app.table.reset();

    app.init_upload(&token, "step_1", "id", "image/png").await;

    let counts = app.table.counts();
    assert_eq!((counts.query, counts.transact, counts.total()), (1, 1, 2));
}

#[tokio::test]
async fn a_correction_asking_for_a_document_reopens_uploads_for_that_type_only() {
    let app = TestApp::spawn().await;
    let workflow = json!({"name": "Docs", "steps": [
        {"step_id": "docs", "name": "Documents", "type": "document_upload",
         "document_requirements": [{"document_type": "id", "label": "ID"},
                                   {"document_type": "proof_of_address", "label": "Bill", "required": false}]},
        {"step_id": "info", "name": "Info", "type": "form_fill",
         "custom_fields": [{"field_id": "full_name", "name": "Name", "type": "text", "required": true}]}
    ]});
    let (session, token) = app.create_session(&app.create_workflow(workflow).await).await;
    app.upload_png(&token, "docs", "id").await;
    app.complete_step(&token, "docs", json!({})).await;
    app.complete_step(&token, "info", json!({"form_data": {"full_name": "Ada"}})).await;
    let items =
        json!({"items": [{"step_id": "docs", "document_types": ["id"], "message": "The photo is blurry"}]});
    assert_eq!(
        app.tenant_post(&format!("/v1/sessions/{session}/corrections"), items).await.status,
        StatusCode::CREATED
    );

    let stale = app.complete_step(&token, "docs", json!({})).await;
    let other_type = app.init_upload(&token, "docs", "proof_of_address", "image/png").await;
    app.upload_png(&token, "docs", "id").await;
    let fixed = app.complete_step(&token, "docs", json!({})).await;

    stale.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Upload a new 'id' document before completing this step",
    );
    other_type.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "Only documents requested in a correction can be uploaded",
    );
    assert_eq!(fixed.data()["session_completed"], true, "{}", fixed.body);
    assert_eq!(app.tenant_view(&session).await["status"], "manual_review");
}

/// A `multipart/form-data` body: text fields, then the `file` part.
fn multipart(fields: &[(&str, &str)], file: &[u8], file_type: &str) -> (String, Vec<u8>) {
    let boundary = "kycboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"id.png\"\r\nContent-Type: {file_type}\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    app: &TestApp,
    token: &str,
    content_type: String,
    body: Vec<u8>,
) -> crate::helpers::Reply {
    let request = axum::http::Request::builder()
        .method(axum::http::Method::POST)
        .uri(format!("/public/sessions/{token}/upload"))
        .header("content-type", content_type)
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn older_clients_may_upload_the_file_as_multipart_with_the_same_checks() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let fields = [("step_id", "step_1"), ("document_type", "id")];

    let (kind, good) = multipart(&fields, &png(640, 480), "image/png");
    let accepted = post_multipart(&app, &token, kind, good).await;
    let (kind, wrong) = multipart(&fields, &pdf(), "image/png");
    let mismatch = post_multipart(&app, &token, kind, wrong).await;
    let (kind, huge) = multipart(&fields, &vec![0u8; 8 * 1024 * 1024], "image/png");
    let oversized = post_multipart(&app, &token, kind, huge).await;
    let (kind, incomplete) = multipart(&[("step_id", "step_1")], &png(640, 480), "image/png");
    let missing = post_multipart(&app, &token, kind, incomplete).await;

    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert!(accepted.data()["s3_key"].as_str().unwrap().starts_with("documents/"));
    let documents = app.state(&token).await["steps_data"][0]["documents"].clone();
    assert_eq!(
        (documents[0]["doc_id"].clone(), documents[0]["file_name"].clone()),
        (accepted.data()["doc_id"].clone(), json!("id.png"))
    );
    mismatch.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "does not match its declared type",
    );
    oversized.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        "The file is larger than 7 MB; use /upload/init for larger files",
    );
    missing.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Missing multipart field 'document_type'",
    );
}
