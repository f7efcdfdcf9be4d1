use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use kyc_core::domain::secrets::Mode;
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn workflow() -> Value {
    json!({"name": "Passport", "steps": [
        {"step_id": "passport", "name": "Passport", "type": "document_upload",
         "document_requirements": [{"document_type": "passport", "label": "Passport", "allow_multiple": true}]}
    ]})
}

/// Uploads a file to the passport step (init → PUT → confirm); returns its doc_id.
async fn upload(app: &TestApp, token: &str, mime: &str, bytes: Vec<u8>, file_name: &str) -> String {
    let body = json!({"step_id": "passport", "document_type": "passport", "file_name": file_name, "mime_type": mime});
    let init = app.public_post(&format!("/public/sessions/{token}/upload/init"), body).await.data().clone();
    assert_eq!(app.put_upload(init["upload_url"].as_str().unwrap(), mime, bytes).await, StatusCode::OK);
    let confirm = json!({"doc_id": init["doc_id"], "s3_key": init["s3_key"], "step_id": "passport",
                         "document_type": "passport", "mime_type": mime});
    let reply = app.public_post(&format!("/public/sessions/{token}/upload/confirm"), confirm).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    init["doc_id"].as_str().unwrap().to_owned()
}

async fn extract(app: &TestApp, token: &str, doc_id: &str, kind: &str) -> crate::helpers::Reply {
    app.public_post(
        &format!("/public/sessions/{token}/extract"),
        json!({"doc_id": doc_id, "document_type": kind}),
    )
    .await
}

#[tokio::test]
async fn a_passport_pdf_is_read_from_its_text_layer_with_mrz_evidence() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc = upload(&app, &token, "application/pdf", fixture("passport-specimen.pdf"), "passport.pdf").await;

    let reply = extract(&app, &token, &doc, "passport").await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let data = reply.data();
    assert_eq!(data["doc_id"], doc.as_str());
    assert_eq!(
        data["extracted_data"],
        json!({"full_name": "JOHN ALEXANDER DOE", "first_name": "JOHN ALEXANDER", "last_name": "DOE",
               "document_number": "AB1234567", "date_of_birth": "1985-03-15", "nationality": "US",
               "nationality_alpha3": "USA", "expiry_date": "2030-01-15", "gender": "M", "issuing_country": "US",
               "document_kind": "passport"})
    );
    assert_eq!(data["confidence_scores"]["document_number"], 0.99);
    assert!(data["confidence_scores"]["overall"].as_f64().unwrap() > 0.9);
    assert_eq!(
        data["mrz_check"],
        json!({"document_number": "valid", "date_of_birth": "valid", "date_of_expiry": "valid",
               "optional_data": "absent", "composite": "valid"})
    );
}

#[tokio::test]
async fn a_corrupted_check_digit_shows_as_invalid_evidence_with_low_confidence() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc =
        upload(&app, &token, "application/pdf", fixture("passport-corrupted.pdf"), "passport.pdf").await;

    let reply = extract(&app, &token, &doc, "passport").await;

    assert_eq!(reply.data()["mrz_check"]["date_of_birth"], "invalid", "{}", reply.body);
    assert_eq!(reply.data()["mrz_check"]["composite"], "invalid");
    assert_eq!(reply.data()["confidence_scores"]["date_of_birth"], 0.3);
}

#[tokio::test]
async fn an_id_card_td1_is_read_too() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc = upload(&app, &token, "application/pdf", fixture("id-card-td1.pdf"), "id.pdf").await;

    let reply = extract(&app, &token, &doc, "id_card").await;

    assert_eq!(reply.data()["extracted_data"]["full_name"], "MARIA LOPEZ", "{}", reply.body);
    assert_eq!(reply.data()["extracted_data"]["nationality"], "ES");
    assert_eq!(reply.data()["mrz_check"]["composite"], "valid");
}

#[tokio::test]
async fn the_stored_result_is_reused_and_the_tenant_can_refresh_it() {
    let app = TestApp::spawn().await;
    let (session, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc = upload(&app, &token, "application/pdf", fixture("passport-specimen.pdf"), "passport.pdf").await;

    let first = extract(&app, &token, &doc, "passport").await;
    let second = extract(&app, &token, &doc, "passport").await;
    let calls_after_public = app.extractor.calls();
    let path = format!("/v1/sessions/{session}/documents/{doc}/extract");
    let stored = app.tenant_post(&path, json!({"document_type": "passport"})).await;
    // A reading holds its document for a minute (a refresh within it gets that reading).
    app.clock.advance(time::Duration::seconds(61));
    let refreshed =
        app.tenant_post(&format!("{path}?refresh=true"), json!({"document_type": "passport"})).await;

    assert_eq!(first.data(), second.data());
    assert_eq!(calls_after_public, 1, "the second call answers from the store");
    assert_eq!(stored.data()["source"], "pdf_text_layer", "{}", stored.body);
    assert_eq!(refreshed.status, StatusCode::OK);
    assert_eq!(app.extractor.calls(), 2, "only refresh asks the provider again");
    let view = app.tenant_view(&session).await;
    assert_eq!(view["documents"][0]["extraction"]["extracted_data"]["document_number"], "AB1234567");
    let public = app.get(&format!("/public/sessions/{token}")).await.body.to_string();
    assert!(!public.contains("AB1234567"), "extraction results stay out of public state");
}

#[tokio::test]
async fn test_mode_images_get_a_labelled_sandbox_answer() {
    let app = TestApp::spawn().await;
    let (session, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc = upload(&app, &token, "image/png", fixture("id-card-sample.png"), "passport.png").await;
    let unreadable = upload(&app, &token, "image/png", fixture("id-card-sample.png"), "unreadable.png").await;

    let reply = extract(&app, &token, &doc, "passport").await;
    let refused = extract(&app, &token, &unreadable, "passport").await;

    assert_eq!(reply.data()["extracted_data"]["last_name"], "ERIKSSON", "{}", reply.body);
    let documents = app.tenant_view(&session).await["documents"].clone();
    let read = documents.as_array().unwrap().iter().find(|d| d["doc_id"] == doc.as_str()).unwrap().clone();
    assert_eq!(read["extraction"]["source"], "sandbox");
    refused.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "No identity data could be read from this document",
    );
}

#[tokio::test]
async fn live_mode_images_without_ocr_and_pdfs_without_mrz_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let live = app.new_tenant_key(Mode::Live).await;
    let created = app.call(Method::POST, "/v1/workflows", Some(&live), Some(workflow())).await;
    let body = json!({"workflow_id": created.data()["workflow_id"]});
    let session = app.call(Method::POST, "/v1/sessions", Some(&live), Some(body)).await;
    let token = session.data()["access_token"].as_str().unwrap().to_owned();
    let image = upload(&app, &token, "image/png", fixture("id-card-sample.png"), "passport.png").await;
    let no_mrz = upload(&app, &token, "application/pdf", fixture("no-mrz.pdf"), "scan.pdf").await;

    extract(&app, &token, &image, "passport").await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Reading images needs OCR",
    );
    extract(&app, &token, &no_mrz, "passport").await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "No machine-readable zone was found in the PDF's text",
    );
}

#[tokio::test]
async fn only_this_sessions_confirmed_documents_of_known_kinds_are_extracted() {
    let app = TestApp::spawn().await;
    let workflow_id = app.create_workflow(workflow()).await;
    let (_, token) = app.create_session(&workflow_id).await;
    let (_, other) = app.create_session(&workflow_id).await;
    let theirs = upload(&app, &other, "application/pdf", fixture("passport-specimen.pdf"), "p.pdf").await;
    let mine = upload(&app, &token, "application/pdf", fixture("passport-specimen.pdf"), "p.pdf").await;
    let init = json!({"step_id": "passport", "document_type": "passport", "file_name": "p.pdf", "mime_type": "application/pdf"});
    let pending = app.public_post(&format!("/public/sessions/{token}/upload/init"), init).await.data()
        ["doc_id"]
        .clone();

    extract(&app, &token, &theirs, "passport").await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Document not found",
    );
    extract(&app, &token, pending.as_str().unwrap(), "passport").await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "The document upload has not been confirmed",
    );
    extract(&app, &token, &mine, "library_card").await.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "document_type must be one of",
    );
}

#[tokio::test]
async fn a_step_with_extract_reads_uploads_automatically_and_extract_required_gates_completion() {
    let app = TestApp::spawn().await;
    let workflow = json!({"name": "Passport", "steps": [
        {"step_id": "passport", "name": "Passport", "type": "document_upload", "extract": true, "extract_required": true,
         "document_requirements": [{"document_type": "passport", "label": "Passport"}]}
    ]});
    let (session, token) = app.create_session(&app.create_workflow(workflow).await).await;

    upload(&app, &token, "application/pdf", fixture("no-mrz.pdf"), "scan.pdf").await;
    let unread = app.complete_step(&token, "passport", json!({})).await;
    upload(&app, &token, "application/pdf", fixture("passport-specimen.pdf"), "passport.pdf").await;
    let done = app.complete_step(&token, "passport", json!({})).await;

    unread.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "could not be read yet: passport",
    );
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(app.extractor.calls(), 2, "each confirmed upload was read once, automatically");
    let documents = app.tenant_view(&session).await["documents"].clone();
    let read = documents.as_array().unwrap().iter().find(|d| d["status"] == "confirmed").unwrap().clone();
    assert_eq!(read["extraction"]["extracted_data"]["last_name"], "DOE");
}

#[tokio::test]
async fn concurrent_extractions_of_one_document_make_one_provider_call() {
    let app = TestApp::spawn().await;
    let (_, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc = upload(&app, &token, "image/png", crate::helpers::png(800, 600), "passport.png").await;

    let replies = futures_join_all((0..6).map(|_| extract(&app, &token, &doc, "passport"))).await;

    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.data()["extracted_data"], replies[0].data()["extracted_data"]);
    }
    assert_eq!(app.extractor.calls(), 1, "one reading, shared by every request");
}

#[tokio::test]
async fn a_session_has_a_ceiling_of_provider_readings_and_a_closed_session_none() {
    let app = TestApp::spawn().await;
    let (session, token) = app.create_session(&app.create_workflow(workflow()).await).await;
    let doc = upload(&app, &token, "image/png", crate::helpers::png(800, 600), "passport.png").await;
    let refresh = format!("/v1/sessions/{session}/documents/{doc}/extract?refresh=true");

    for _ in 0..20 {
        // A reading holds its document for a minute; then a refresh reads it again.
        app.clock.advance(time::Duration::seconds(61));
        let reply = app.tenant_post(&refresh, json!({"document_type": "passport"})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    app.clock.advance(time::Duration::seconds(61));
    let over = app.tenant_post(&refresh, json!({"document_type": "passport"})).await;
    app.tenant_post(&format!("/v1/sessions/{session}/cancel"), json!({})).await;
    let closed = extract(&app, &token, &doc, "passport").await;

    over.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "This session reached its limit of 20 document readings",
    );
    assert_eq!(
        app.extractor.calls(),
        20,
        "the automatic reading at upload was none: the step does not extract"
    );
    closed.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Session not found or expired");
}

/// Runs the futures concurrently on this task and collects their outputs.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs = Vec::new();
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => {
                        results[i] = Some(output);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.extend(results.into_iter().map(|r| r.expect("every future finished")));
    outputs
}
