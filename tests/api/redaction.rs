//! Redaction (`POST /v1/sessions/{id}/redact`): every object and personal value of a session and
//! its related parties erased, its tombstone and audit trail kept; idempotent and resumable.

use crate::helpers::{Reply, TestApp, BASE_URL};
use axum::http::StatusCode;
use kyc_core::ports::table::Query;
use kyc_core::ports::Table;
use serde_json::json;

on_both_stores!(
    a_redacted_session_keeps_its_tombstone_and_nothing_personal,
    asking_again_answers_the_same_redaction,
    an_open_session_is_canceled_and_refuses_every_later_change,
    retention_redacts_exactly_the_finished_sessions_past_their_period,
    a_tenant_retention_applies_where_the_workflow_sets_none,
);

/// Values the walk submits or the sandbox reads; none may survive a redaction.
const PERSONAL: [&str; 8] = [
    "Ingrid Vasquez",
    "1974-08-12",
    "ingrid@example.org",
    "Tobias Owner",
    "tobias@example.net",
    "Reviewed by hand against the passport",
    "ERIKSSON",
    "passport-of-ingrid.png",
];

struct Walked {
    session: String,
    token: String,
    child_token: String,
    child: String,
}

/// A KYB session with a declared owner who finished their own form, walked to its end (a passport
/// read by OCR, a form), then approved with a note.
async fn walked(app: &TestApp) -> Walked {
    let workflow = app.kyb_workflow(false).await;
    let created = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "metadata": {"customer": "Ingrid Vasquez"}, "participants": [
                {"role": "ubo", "display_name": "Tobias Owner", "email": "tobias@example.net"}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let data = created.data();
    let token = data["access_token"].as_str().unwrap().to_owned();
    let participant = &data["participants"][0];
    let child_token = participant["access_link"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("{BASE_URL}/public/sessions/"))
        .unwrap()
        .to_owned();
    let owner_form = json!({"form_data": {"full_name": "Tobias Owner"}});
    assert_eq!(app.complete_step(&child_token, "details", owner_form).await.status, StatusCode::OK);

    let body = json!({"step_id": "id_doc", "document_type": "passport", "file_name": "passport-of-ingrid.png", "mime_type": "image/png"});
    let init = app.public_post(&format!("/public/sessions/{token}/upload/init"), body).await;
    let init = init.data().clone();
    app.put_upload(init["upload_url"].as_str().unwrap(), "image/png", crate::helpers::png(800, 600)).await;
    let confirm = json!({"doc_id": init["doc_id"], "s3_key": init["s3_key"], "step_id": "id_doc",
                         "document_type": "passport", "file_name": "passport-of-ingrid.png", "mime_type": "image/png"});
    assert_eq!(
        app.public_post(&format!("/public/sessions/{token}/upload/confirm"), confirm).await.status,
        StatusCode::OK
    );
    assert_eq!(app.complete_step(&token, "id_doc", json!({})).await.status, StatusCode::OK);
    let form = json!({"form_data": {"full_name": "Ingrid Vasquez", "date_of_birth": "1974-08-12", "email": "ingrid@example.org"}});
    assert_eq!(app.complete_step(&token, "about", form).await.status, StatusCode::OK);
    let done = app.complete_step(&token, "owners", json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let session = data["session_id"].as_str().unwrap().to_owned();
    let reviewed = app
        .tenant_post(
            &format!("/v1/sessions/{session}/review"),
            json!({"decision": "approved", "notes": "Reviewed by hand against the passport"}),
        )
        .await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    let child = participant["subsession_id"].as_str().unwrap().to_owned();
    Walked { session, token, child_token, child }
}

async fn redact(app: &TestApp, session: &str) -> Reply {
    app.tenant_post(&format!("/v1/sessions/{session}/redact"), json!({})).await
}

/// Every item stored for a session (its partition and its log partition), as text.
async fn stored(app: &TestApp, session: &str) -> String {
    let mut text = String::new();
    for partition in [format!("SESSION#{session}"), format!("SESSION#{session}#LOG")] {
        let page = app.table.query(Query::partition(partition)).await.unwrap();
        text.push_str(&format!("{:?}", page.items));
    }
    text
}

/// Paths of the stored objects whose key names the session.
fn objects_of(app: &TestApp, session: &str) -> Vec<String> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(&app.dir.path().join("blobs"), &mut found);
    found.retain(|p| p.contains(session));
    found
}

async fn a_redacted_session_keeps_its_tombstone_and_nothing_personal(app: TestApp) {
    let walked = walked(&app).await;
    let before = stored(&app, &walked.session).await;
    assert!(before.contains("Ingrid Vasquez") && before.contains("ERIKSSON"), "the walk stored its values");
    assert!(!objects_of(&app, &walked.session).is_empty(), "the walk stored its passport");

    let reply = redact(&app, &walked.session).await;

    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.data()["redaction"]["status"], "redacted");
    for session in [&walked.session, &walked.child] {
        let text = stored(&app, session).await;
        for value in PERSONAL {
            assert!(!text.contains(value), "{value:?} is still stored for {session}: {text}");
        }
        assert!(objects_of(&app, session).is_empty(), "objects left: {:?}", objects_of(&app, session));
    }
    let view = app.tenant_view(&walked.session).await;
    assert_eq!(view["status"], "approved", "the decision stays");
    assert_eq!(view["decision"]["outcome"], "approved");
    assert_eq!(view["decision"]["notes"], "[redacted]");
    assert_eq!(view["metadata"]["customer"], "[redacted]");
    assert_eq!(view["redaction"]["status"], "redacted");
    assert!(view["redaction"]["completed_at"].is_string());
    assert!(view["redaction"]["requested_by"].as_str().unwrap().starts_with("key_"));
    let about = view["steps"].as_array().unwrap().iter().find(|s| s["step_id"] == "about").unwrap();
    assert_eq!(about["status"], "completed");
    assert_eq!(
        about["form_data"],
        json!({"full_name": "[redacted]", "date_of_birth": "[redacted]", "email": "[redacted]"})
    );
    let document = &view["documents"][0];
    assert_eq!(document["file_name"], "[redacted]");
    assert!(document.get("extraction").is_none() && document.get("download_url").is_none(), "{document}");
    assert!(document["sha256"].is_string(), "the checksum stays: {document}");
    let checks = view["verification"]["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c.get("evidence").is_none() && c["status"].is_string()), "{checks:?}");
    let actions: Vec<&str> =
        view["audit_trail"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"step_completed")
            && actions.ends_with(&["redaction_requested", "session_redacted"]),
        "{actions:?}"
    );
    assert!(app.outbox(&walked.session).await.contains(&"session.redacted".to_owned()));
    assert_eq!(app.tenant_view(&walked.child).await["redaction"]["status"], "redacted");
    for token in [&walked.token, &walked.child_token] {
        assert_eq!(app.get(&format!("/public/sessions/{token}")).await.status, StatusCode::NOT_FOUND);
    }
}

async fn asking_again_answers_the_same_redaction(app: TestApp) {
    let walked = walked(&app).await;
    let first = redact(&app, &walked.session).await;
    let again = redact(&app, &walked.session).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.data()["redaction"], first.data()["redaction"]);
    let other_tenant = app.new_tenant_key(kyc_core::domain::secrets::Mode::Test).await;
    let foreign = app
        .call(
            axum::http::Method::POST,
            &format!("/v1/sessions/{}/redact", walked.session),
            Some(&other_tenant),
            Some(json!({})),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

async fn an_open_session_is_canceled_and_refuses_every_later_change(app: TestApp) {
    let (session, token) = app.basic_session().await;
    app.upload_png(&token, "step_1", "id").await;

    let reply = redact(&app, &session).await;

    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let view = app.tenant_view(&session).await;
    assert_eq!(view["status"], "canceled");
    assert!(app.outbox(&session).await.contains(&"session.canceled".to_owned()));
    assert_eq!(app.get(&format!("/public/sessions/{token}")).await.status, StatusCode::NOT_FOUND);
    let corrections = app
        .tenant_post(
            &format!("/v1/sessions/{session}/corrections"),
            json!({"items": [{"step_id": "step_1", "document_types": ["id"], "message": "again"}]}),
        )
        .await;
    assert!(corrections.status.is_client_error(), "{}", corrections.body);
    assert!(objects_of(&app, &session).is_empty());
}

/// A store failure at any write of a redaction leaves a state from which asking again finishes
/// it; no run ends with the session marked redacted while an object or a value is left.
#[tokio::test]
async fn a_redaction_interrupted_at_any_write_is_finished_by_asking_again() {
    for n in 1..=8 {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = kyc_local::SqliteTable::open(dir.path().join("kyc.db")).unwrap();
        let failing = std::sync::Arc::new(kyc_testkit::FailingTable::new(std::sync::Arc::new(sqlite)));
        let app = TestApp::spawn_on(failing.clone(), dir).await;
        let walked = walked(&app).await;

        failing.fail_write(n);
        let interrupted = redact(&app, &walked.session).await;
        let view = app.tenant_view(&walked.session).await;
        if view["redaction"]["status"] == "redacted" {
            assert_eq!(interrupted.status, StatusCode::ACCEPTED, "write {n}: {}", interrupted.body);
            assert!(objects_of(&app, &walked.session).is_empty(), "write {n}: redacted with objects left");
        } else {
            assert_eq!(
                interrupted.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "write {n}: {}",
                interrupted.body
            );
        }
        let finished = redact(&app, &walked.session).await;

        assert_eq!(finished.status, StatusCode::ACCEPTED, "write {n}: {}", finished.body);
        for session in [&walked.session, &walked.child] {
            let text = stored(&app, session).await;
            for value in PERSONAL {
                assert!(!text.contains(value), "write {n}: {value:?} is still stored");
            }
            assert!(objects_of(&app, session).is_empty(), "write {n}: objects left");
        }
    }
}

/// A one-form workflow decided automatically, kept `retention_days` (or the default: 365 days in
/// these tests) once finished.
async fn retained_workflow(app: &TestApp, retention_days: Option<u32>) -> String {
    let mut definition = json!({"name": "Retained", "resolution_config": {"auto_resolve": true}, "steps": [
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full name", "type": "text", "required": true}]}]});
    if let Some(days) = retention_days {
        definition["retention_days"] = json!(days);
    }
    app.create_workflow(definition).await
}

async fn finished(app: &TestApp, workflow: &str) -> String {
    let (session, token) = app.create_session(workflow).await;
    let form = json!({"form_data": {"full_name": "Ingrid Vasquez"}});
    assert_eq!(app.complete_step(&token, "info", form).await.status, StatusCode::OK);
    assert_eq!(app.tenant_view(&session).await["status"], "approved");
    session
}

fn advance_days(app: &TestApp, days: i64) {
    app.clock.advance(time::Duration::days(days));
}

async fn retention_redacts_exactly_the_finished_sessions_past_their_period(app: TestApp) {
    let thirty = retained_workflow(&app, Some(30)).await;
    let default = retained_workflow(&app, None).await;
    let due = finished(&app, &thirty).await;
    let kept_longer = finished(&app, &default).await;
    let (still_open, _) = app.create_session(&thirty).await;

    advance_days(&app, 29);
    let early = app.services.sweep_retention(100).await.unwrap();
    advance_days(&app, 2);
    let swept = app.services.sweep_retention(100).await.unwrap();
    let again = app.services.sweep_retention(100).await.unwrap();

    assert_eq!(early.redacted, 0);
    assert_eq!((swept.redacted, swept.more), (1, false));
    assert_eq!(again.redacted + again.skipped, 0, "the redacted session left the index");
    let view = app.tenant_view(&due).await;
    assert_eq!(view["redaction"]["status"], "redacted");
    assert!(view["redaction"].get("requested_by").is_none(), "the platform asked: {view}");
    assert_eq!(view["steps"][0]["form_data"]["full_name"], "[redacted]");
    assert!(!stored(&app, &due).await.contains("Ingrid Vasquez"));
    for kept in [&kept_longer, &still_open] {
        assert!(app.tenant_view(kept).await.get("redaction").is_none(), "{kept} was redacted early");
    }
    advance_days(&app, 365);
    assert_eq!(app.services.sweep_retention(100).await.unwrap().redacted, 1, "the default period ended");
    assert_eq!(app.tenant_view(&kept_longer).await["redaction"]["status"], "redacted");
}

/// An object store failure at any delete leaves the redaction in progress (never `redacted` with
/// an object left); asking again finishes it.
#[tokio::test]
async fn a_redaction_interrupted_at_any_object_delete_is_finished_by_asking_again() {
    for n in 1..=4 {
        let app = TestApp::spawn().await;
        let walked = walked(&app).await;

        app.blobs.fail_delete(n);
        let interrupted = redact(&app, &walked.session).await;
        let view = app.tenant_view(&walked.session).await;
        if view["redaction"]["status"] == "redacted" {
            assert!(objects_of(&app, &walked.session).is_empty(), "delete {n}: redacted with objects left");
        } else {
            assert_eq!(interrupted.status, StatusCode::INTERNAL_SERVER_ERROR, "delete {n}");
            assert_eq!(view["redaction"]["status"], "in_progress", "delete {n}");
        }
        let finished = redact(&app, &walked.session).await;

        assert_eq!(finished.status, StatusCode::ACCEPTED, "delete {n}: {}", finished.body);
        assert!(objects_of(&app, &walked.session).is_empty(), "delete {n}: objects left");
        assert!(!stored(&app, &walked.session).await.contains("Ingrid Vasquez"), "delete {n}");
    }
}

#[tokio::test]
async fn a_redaction_interrupted_by_a_failure_is_finished_by_the_sweeper() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = kyc_local::SqliteTable::open(dir.path().join("kyc.db")).unwrap();
    let failing = std::sync::Arc::new(kyc_testkit::FailingTable::new(std::sync::Arc::new(sqlite)));
    let app = TestApp::spawn_on(failing.clone(), dir).await;
    let walked = walked(&app).await;

    failing.fail_write(3);
    let interrupted = redact(&app, &walked.session).await;
    let report = app.services.sweep_retention(100).await.unwrap();

    assert_eq!(interrupted.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", interrupted.body);
    // The parent, and its related party if its own marker came first in the index.
    assert!((1..=2).contains(&report.redacted), "{report:?}");
    let view = app.tenant_view(&walked.session).await;
    assert_eq!(view["redaction"]["status"], "redacted");
    assert!(view["redaction"]["requested_by"].as_str().unwrap().starts_with("key_"), "who asked is kept");
    assert!(objects_of(&app, &walked.session).is_empty());
}

#[tokio::test]
async fn a_retention_outside_30_days_to_10_years_is_refused() {
    let app = TestApp::spawn().await;
    let definition = json!({"name": "Short", "retention_days": 7, "steps": [
        {"step_id": "info", "name": "Info", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full name", "type": "text"}]}]});
    app.tenant_post("/v1/workflows", definition).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "retention_days must be between 30 and 3650",
    );
}

/// The key the test app signs with (its idempotency secret).
fn signing_key() -> kyc_core::domain::idempotency::SealingKey {
    kyc_core::domain::idempotency::SealingKey::derive("api tests idempotency secret, not for production")
        .unwrap()
}

#[tokio::test]
async fn the_evidence_bundle_holds_what_an_auditor_needs_and_verifies_until_changed() {
    use kyc_core::domain::evidence::{self, EvidenceBundle};
    let app = TestApp::spawn().await;
    let walked = walked(&app).await;

    let reply = app.tenant_get(&format!("/v1/sessions/{}/evidence", walked.session)).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let bundle: EvidenceBundle = serde_json::from_value(reply.data().clone()).unwrap();
    assert_eq!(evidence::verify(&bundle, &signing_key()), Ok(()));
    let manifest = &bundle.manifest;
    assert_eq!(manifest["format"], "kyc-evidence-bundle/1");
    assert_eq!(manifest["workflow"]["name"], "KYB");
    let session = &manifest["session"];
    assert_eq!(session["decision"]["outcome"], "approved");
    assert!(session["verification"]["checks"].as_array().is_some_and(|c| !c.is_empty()));
    assert!(session["audit_trail"].as_array().is_some_and(|a| a.len() >= 3));
    let about = session["steps"].as_array().unwrap().iter().find(|s| s["step_id"] == "about").unwrap();
    assert_eq!(about["form_data"]["full_name"], "Ingrid Vasquez");
    let document = &session["documents"][0];
    assert_eq!(document["extraction"]["mrz_check"]["composite"], "valid");
    assert!(document.get("download_url").is_none(), "links change; they stay out of the signed part");
    assert_eq!(bundle.files.len(), 1);
    let (status, bytes) = app.download(&bundle.files[0].download_url).await;
    assert_eq!(status, StatusCode::OK);
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert_eq!(Some(digest.as_str()), document["sha256"].as_str(), "the file is the bytes the manifest pins");

    let mut changed = bundle.clone();
    changed.manifest["session"]["decision"]["outcome"] = json!("rejected");
    assert!(evidence::verify(&changed, &signing_key()).is_err());
    let other_tenant = app.new_tenant_key(kyc_core::domain::secrets::Mode::Test).await;
    let foreign = app
        .call(
            axum::http::Method::GET,
            &format!("/v1/sessions/{}/evidence", walked.session),
            Some(&other_tenant),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

async fn a_tenant_retention_applies_where_the_workflow_sets_none(app: TestApp) {
    let patch = |body| app.call(axum::http::Method::PATCH, "/v1/tenant", Some(&app.api_key), Some(body));
    let before = app.tenant_get("/v1/tenant").await;
    let set = patch(json!({"retention_days": 60})).await;
    let too_short = patch(json!({"retention_days": 7})).await;
    let workflow = retained_workflow(&app, None).await;
    let session = finished(&app, &workflow).await;

    advance_days(&app, 31);
    let first = app.services.sweep_retention(100).await.unwrap();
    advance_days(&app, 28);
    let second = app.services.sweep_retention(100).await.unwrap();
    advance_days(&app, 2);
    let third = app.services.sweep_retention(100).await.unwrap();

    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.data()["retention_days"], json!(null));
    assert_eq!(before.data()["default_retention_days"], 365);
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.data()["retention_days"], 60);
    too_short.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "retention_days must be between 30 and 3650, or null for the platform default",
    );
    assert_eq!((first.redacted, first.skipped), (0, 1), "day 31: moved to day 60");
    assert_eq!(second.redacted + second.skipped, 0, "day 59: not due");
    assert_eq!(third.redacted, 1, "day 61");
    assert_eq!(app.tenant_view(&session).await["redaction"]["status"], "redacted");
    let cleared = patch(json!({"retention_days": null})).await;
    assert_eq!(cleared.data()["retention_days"], json!(null));
}
