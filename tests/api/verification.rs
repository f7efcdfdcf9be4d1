//! The verification report and risk score through the API, in test mode: the sandbox's magic
//! file names and declared data reach each outcome without real documents.

use crate::helpers::{png, Reply, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// A passport read automatically, a liveness check matching its portrait, and personal details;
/// resolved automatically, rejecting on decisive failures.
fn kyc_workflow(verification: Value) -> Value {
    json!({
        "name": "Checked KYC",
        "resolution_config": {"auto_resolve": true},
        "verification_config": verification,
        "steps": [
            {"step_id": "id_doc", "name": "Passport", "type": "document_upload", "extract": true,
             "document_requirements": [{"document_type": "passport", "label": "Passport"}]},
            {"step_id": "face", "name": "Liveness", "type": "liveness",
             "liveness_config": {"face_match": {"document_type": "passport"}}},
            {"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
                {"field_id": "full_name", "name": "Full name", "type": "text", "required": true},
                {"field_id": "date_of_birth", "name": "Date of birth", "type": "date", "required": true}]}
        ]
    })
}

impl TestApp {
    /// init → PUT → confirm of a PNG under a chosen file name (the sandbox reads the name).
    async fn upload_named(&self, token: &str, step: &str, document_type: &str, file_name: &str) {
        let body = json!({"step_id": step, "document_type": document_type, "file_name": file_name, "mime_type": "image/png"});
        let init = self.public_post(&format!("/public/sessions/{token}/upload/init"), body).await;
        assert_eq!(init.status, StatusCode::CREATED, "{}", init.body);
        let init = init.data().clone();
        assert_eq!(
            self.put_upload(init["upload_url"].as_str().unwrap(), "image/png", png(800, 600)).await,
            StatusCode::OK
        );
        let confirm = json!({"doc_id": init["doc_id"], "s3_key": init["s3_key"], "step_id": step,
                             "document_type": document_type, "file_name": file_name, "mime_type": "image/png"});
        let reply = self.public_post(&format!("/public/sessions/{token}/upload/confirm"), confirm).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
}

/// Walks a session of `workflow` to its end with a passport file name and declared details.
async fn walk(app: &TestApp, workflow: &str, file_name: &str, name: &str, birth: &str) -> (String, String) {
    let (session, token) = app.create_session(workflow).await;
    walk_token(app, &token, file_name, name, birth).await;
    (session, token)
}

async fn walk_token(app: &TestApp, token: &str, file_name: &str, name: &str, birth: &str) {
    app.upload_named(token, "id_doc", "passport", file_name).await;
    assert_eq!(app.complete_step(token, "id_doc", json!({})).await.status, StatusCode::OK);
    let started = app
        .public_post(&format!("/public/sessions/{token}/liveness/start"), json!({"step_id": "face"}))
        .await;
    let id = started.data()["liveness_session_id"].clone();
    let passed = app
        .public_post(
            &format!("/public/sessions/{token}/liveness/complete"),
            json!({"liveness_session_id": id}),
        )
        .await;
    assert_eq!(passed.data()["passed"], true, "{}", passed.body);
    let form = json!({"form_data": {"full_name": name, "date_of_birth": birth}});
    let done: Reply = app.complete_step(token, "about", form).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

fn check<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["verification"]["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap()
}

#[tokio::test]
async fn clean_evidence_is_approved_automatically_with_every_check_listed() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(kyc_workflow(json!({"auto_reject": true}))).await;

    let (session, token) = walk(&app, &workflow, "passport.png", "Anna María Eriksson", "1974-08-12").await;

    let view = app.tenant_view(&session).await;
    assert_eq!(view["status"], "approved", "{}", view["verification"]);
    assert_eq!(view["decision"]["resolution"], "automatic");
    assert_eq!(view["verification"]["risk_score"], 0);
    assert_eq!(view["verification"]["scoring_version"], 1);
    assert_eq!(view["verification"]["checks"].as_array().unwrap().len(), 11, "every check is listed");
    for passed in [
        "document_mrz_valid",
        "document_not_expired",
        "data_consistency",
        "age_minimum",
        "liveness",
        "face_match",
        "duplicate_document",
    ] {
        assert_eq!(check(&view, passed)["status"], "passed", "{passed}: {}", check(&view, passed));
    }
    for absent in ["document_type_allowed", "issuing_country_allowed", "related_parties"] {
        assert_eq!(check(&view, absent)["status"], "not_applicable", "{absent}");
    }
    assert_eq!(check(&view, "data_consistency")["evidence"]["name"]["document"], "ANNA MARIA ERIKSSON");
    let public = app.get(&format!("/public/sessions/{token}")).await.body.to_string();
    assert!(
        !public.contains("risk") && !public.contains("verification") && !public.contains("checks"),
        "{public}"
    );
    let listing = app.tenant_get("/v1/sessions?status=approved").await;
    assert_eq!(
        listing.data()["sessions"][0]["verification"],
        json!({"risk_score": 0, "failed": [], "needs_review": []})
    );
}

#[tokio::test]
async fn magic_inputs_reach_rejection_and_manual_review() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(kyc_workflow(json!({"auto_reject": true}))).await;

    for (file, name, birth, status, failed, reasons) in [
        (
            "expired-passport.png",
            "Anna Maria Eriksson",
            "1974-08-12",
            "rejected",
            vec!["document_not_expired"],
            json!(["document_expired"]),
        ),
        (
            "minor-passport.png",
            "Anna Maria Eriksson",
            "2010-12-02",
            "rejected",
            vec!["age_minimum"],
            json!(["underage"]),
        ),
        (
            "tampered-passport.png",
            "Anna Maria Eriksson",
            "1974-08-12",
            "rejected",
            vec!["document_mrz_valid"],
            json!(["document_unreadable"]),
        ),
        ("passport.png", "John Smith", "1974-08-12", "manual_review", vec!["data_consistency"], Value::Null),
    ] {
        let (session, _) = walk(&app, &workflow, file, name, birth).await;
        let view = app.tenant_view(&session).await;
        assert_eq!(view["status"], status, "{file}/{name}: {}", view["verification"]);
        let listing = app.tenant_get(&format!("/v1/sessions?status={status}")).await;
        let summary = listing.data()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["session_id"] == session.as_str())
            .unwrap()
            .clone();
        assert_eq!(summary["verification"]["failed"], json!(failed), "{file}/{name}");
        if !reasons.is_null() {
            assert_eq!(view["decision"]["reasons"], reasons, "{file}");
        }
        let score = view["verification"]["risk_score"].as_u64().unwrap();
        let sum: u64 = view["verification"]["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["points"].as_u64().unwrap())
            .sum();
        assert_eq!(score, sum.min(100), "the score is explained by its contributions");
        assert!(score > 0);
    }
}

#[tokio::test]
async fn the_same_document_in_a_second_session_is_flagged_with_the_first_sessions_id() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(kyc_workflow(json!({}))).await;

    let (first, _) =
        walk(&app, &workflow, "duplicate-passport.png", "Anna Maria Eriksson", "1974-08-12").await;
    let (second, _) =
        walk(&app, &workflow, "duplicate-passport.png", "Anna Maria Eriksson", "1974-08-12").await;
    let (third, _) = walk(&app, &workflow, "passport.png", "Anna Maria Eriksson", "1974-08-12").await;
    let other_tenant = app.new_tenant_key(kyc_core::domain::secrets::Mode::Test).await;

    assert_eq!(app.tenant_view(&first).await["status"], "approved");
    assert_eq!(
        app.tenant_view(&third).await["status"],
        "approved",
        "specimens differ unless asked to repeat"
    );
    let view = app.tenant_view(&second).await;
    assert_eq!(view["status"], "manual_review");
    let duplicate = check(&view, "duplicate_document");
    assert_eq!(duplicate["status"], "failed");
    assert_eq!(duplicate["evidence"]["other_sessions"], json!([first]));
    // Another tenant's session with the same document is not compared with these (nor names them).
    let post = |uri: &'static str, body: Value| {
        let key = other_tenant.clone();
        let app = &app;
        async move { app.call(axum::http::Method::POST, uri, Some(&key), Some(body)).await }
    };
    let created = post("/v1/workflows", kyc_workflow(json!({}))).await;
    let session = post("/v1/sessions", json!({"workflow_id": created.data()["workflow_id"]})).await;
    let token = session.data()["access_token"].as_str().unwrap().to_owned();
    walk_token(&app, &token, "duplicate-passport.png", "Anna Maria Eriksson", "1974-08-12").await;
    assert_eq!(app.state(&token).await["status"], "approved");
    let events = app.outbox(&second).await;
    assert!(events.contains(&"session.completed".to_owned()));
}

#[tokio::test]
async fn events_carry_the_risk_score_and_unknown_checks_are_refused() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(kyc_workflow(json!({}))).await;
    let (session, _) = walk(&app, &workflow, "passport.png", "Oskar Pettersson", "1974-08-12").await;

    let id = kyc_core::domain::ids::SessionId::parse(&session).unwrap();
    let query = kyc_core::ports::table::Query::partition(kyc_core::codec::keys::session_log_partition(&id))
        .prefix("EVENT#");
    let page = kyc_core::ports::Table::query(app.table.as_ref(), query).await.unwrap();
    let completed: kyc_core::domain::history::OutboxEvent = page
        .items
        .into_iter()
        .map(|item| kyc_core::codec::decode::<kyc_core::domain::history::OutboxEvent>(item).unwrap())
        .find(|e| e.event_type == kyc_core::domain::history::EventType::SessionCompleted)
        .unwrap();
    assert_eq!(completed.risk_score, Some(30));

    let bad = app.tenant_post("/v1/workflows", kyc_workflow(json!({"checks": ["credit_score"]}))).await;
    bad.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "unknown variant `credit_score`",
    );
    let bad =
        app.tenant_post("/v1/workflows", kyc_workflow(json!({"allowed_issuing_countries": ["XX"]}))).await;
    bad.assert_error_containing(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "'XX' is not an ISO 3166-1 alpha-2 code",
    );
}

/// `make dev` and the tests screen against fictional lists in the official formats
/// (`crates/screening/fixtures`): a listed name, even spelled another way, sends the session to a
/// reviewer with the hit as evidence, however clean the rest.
#[tokio::test]
async fn a_name_on_a_sanctions_list_sends_the_session_to_review_with_the_hit() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(kyc_workflow(json!({}))).await;
    let (listed, _) = walk(&app, &workflow, "passport.png", "Hans-Juergen Mueller", "1974-08-12").await;
    let (clean, _) = walk(&app, &workflow, "passport.png", "Anna Maria Eriksson", "1974-08-12").await;

    let view = app.tenant_view(&listed).await;
    assert_eq!(view["status"], "manual_review", "never approved automatically");
    let screening = check(&view, "sanctions_screening");
    assert_eq!(screening["status"], "needs_review", "{screening}");
    let hit = &screening["evidence"]["hits"][0];
    assert_eq!((hit["subject"].as_str(), hit["list"].as_str()), (Some("subject"), Some("ofac_sdn")), "{hit}");
    assert!(hit["matched_name"].as_str().unwrap().to_uppercase().contains("LLER"), "{hit}");
    assert_eq!(hit["agreed"]["date_of_birth"], false, "listed born 1961, screened 1974: {hit}");
    let clean_view = app.tenant_view(&clean).await;
    let passed = check(&clean_view, "sanctions_screening");
    assert_eq!(passed["status"], "passed", "{passed}");
    assert_eq!(passed["evidence"]["index_version"], "fixtures-1");
    assert_eq!(clean_view["status"], "approved");
}

#[tokio::test]
async fn a_related_party_on_a_sanctions_list_is_a_hit_of_the_parent() {
    let app = TestApp::spawn().await;
    let owner = app
        .create_workflow(json!({"name": "Owner", "review_required": false, "steps": [
            {"step_id": "details", "name": "Owner", "type": "form_fill", "custom_fields": [
                {"field_id": "full_name", "name": "Full name", "type": "text", "required": true}]}]}))
        .await;
    let workflow = app
        .create_workflow(json!({"name": "KYB", "resolution_config": {"auto_resolve": true}, "steps": [
            {"step_id": "owners", "name": "Owners", "type": "subsession_collection",
             "subsession_config": {"workflow_id": owner, "tag": "ubo", "min_required": 1, "max_allowed": 2}}]}))
        .await;
    let (session, token) = app.create_session(&workflow).await;
    let created = app
        .public_post(
            &format!("/public/sessions/{token}/subsessions"),
            json!({"step_id": "owners", "label": "Gunter Schroeder"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let link = created.data()["access_link"].as_str().unwrap();
    let child_token = link.rsplit('/').next().unwrap();
    let form = json!({"form_data": {"full_name": "Gunter Schroeder"}});
    assert_eq!(app.complete_step(child_token, "details", form).await.status, StatusCode::OK);
    let done = app.complete_step(&token, "owners", json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    let view = app.tenant_view(&session).await;
    let screening = check(&view, "sanctions_screening");
    assert_eq!(screening["status"], "needs_review", "{screening}");
    let hit = &screening["evidence"]["hits"][0];
    assert_eq!(
        (hit["subject"].as_str(), hit["list"].as_str()),
        (Some("Gunter Schroeder"), Some("un_consolidated"))
    );
    assert_eq!(view["status"], "manual_review");
}

/// On AWS the functions screen against the index the refresh function publishes. Before the
/// first refresh (or when it cannot be read) the session still completes, but the check asks a
/// reviewer instead of passing; once an index is published, a rescreen runs against it.
#[tokio::test]
async fn without_a_published_index_the_check_asks_a_reviewer_and_a_rescreen_uses_the_index_once_published() {
    use kyc_screening::index::Index;
    use kyc_screening::source::ListId;
    use kyc_screening::store::{IndexStore, Publication};
    let app = TestApp::spawn_on_published_lists().await;
    let workflow = app.create_workflow(kyc_workflow(json!({}))).await;
    let (session, _) = walk(&app, &workflow, "passport.png", "Anna Maria Eriksson", "1974-08-12").await;

    let view = app.tenant_view(&session).await;
    assert_eq!(view["status"], "manual_review", "never approved without screening");
    let unscreened = check(&view, "sanctions_screening");
    assert_eq!(unscreened["status"], "needs_review", "{unscreened}");
    assert!(unscreened["reason"].as_str().unwrap().contains("could not be loaded"), "{unscreened}");

    let mut entries = ListId::OfacSdn.source().parse(&fixture_list("ofac_sdn.xml")).unwrap();
    entries.extend(ListId::UnConsolidated.source().parse(&fixture_list("un_consolidated.xml")).unwrap());
    let store = IndexStore::new(app.table.clone(), app.blobs.clone());
    let at = kyc_core::domain::time::Timestamp::from_datetime(time::OffsetDateTime::now_utc());
    let Publication::New(pointer) = store.publish(&Index::build(entries), None, at).await.unwrap() else {
        panic!("a first index is new");
    };
    app.clock.advance(time::Duration::minutes(6));
    let rescreened = app.tenant_post(&format!("/v1/sessions/{session}/rescreen"), json!({})).await;

    assert_eq!(rescreened.status, StatusCode::OK, "{}", rescreened.body);
    let screening = check(rescreened.data(), "sanctions_screening");
    assert_eq!(screening["status"], "passed", "{screening}");
    assert_eq!(screening["evidence"]["index_version"], pointer.version);
}

/// A committed fixture list of the screening crate.
fn fixture_list(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../crates/screening/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn a_rescreen_stores_a_new_report_against_the_current_lists_and_is_audited() {
    let app = TestApp::spawn().await;
    let workflow = app.create_workflow(kyc_workflow(json!({}))).await;
    let (session, _) = walk(&app, &workflow, "passport.png", "Anna Maria Eriksson", "1974-08-12").await;
    let (open, _) = app.create_session(&workflow).await;
    let before = app.tenant_view(&session).await;
    app.clock.advance(time::Duration::days(40));

    let reply = app.tenant_post(&format!("/v1/sessions/{session}/rescreen"), json!({})).await;
    let too_early = app.tenant_post(&format!("/v1/sessions/{open}/rescreen"), json!({})).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let view = reply.data();
    assert_eq!(view["status"], "approved", "the decision stays");
    assert_ne!(view["verification"]["computed_at"], before["verification"]["computed_at"]);
    assert_eq!(check(view, "sanctions_screening")["evidence"]["index_version"], "fixtures-1");
    let last = view["audit_trail"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "session_rescreened");
    too_early.assert_error_containing(StatusCode::CONFLICT, "CONFLICT", "no verification report yet");
}
