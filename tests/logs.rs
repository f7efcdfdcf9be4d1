//! What the logs may hold: one line per request naming the route template, and never a value an
//! end user or a tenant submitted (names, birth dates, document numbers, emails, notes) nor a
//! credential (access tokens, subsession links, API keys).
//!
//! A test binary of its own: it installs the process-wide subscriber, which tracing's callsite
//! cache needs to see every event, so no other test may run beside it; that is also why both
//! checks below run in one test, one after the other, each reading only what it logged.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use axum::http::StatusCode;
use helpers::{png, TestApp};
use kyc_testkit::Captured;
use serde_json::{json, Value};

#[tokio::test]
async fn logs_name_routes_and_never_hold_personal_data_or_credentials() {
    let captured = Captured::default();
    // DEBUG, one level below what functions log by default, so that turning it on for an
    // investigation does not spill personal data either.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    request_logs_name_the_route_template_and_never_the_access_token(&captured).await;
    a_whole_verification_logs_none_of_the_values_it_handled(&captured).await;
}

/// Lines of JSON logged by `run`, and nothing else.
async fn logged_during(captured: &Captured, run: impl std::future::Future<Output = ()>) -> String {
    let before = captured.text().len();
    run.await;
    captured.text()[before..].to_owned()
}

fn request_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["fields"]["route"].is_string() || l["fields"]["status"].is_number())
        .collect()
}

async fn request_logs_name_the_route_template_and_never_the_access_token(captured: &Captured) {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;

    let logs = logged_during(captured, async {
        app.get(&format!("/public/sessions/{token}")).await;
        app.get(&format!("/public/sessions/{token}/workflow")).await;
        app.get("/public/sessions/770e8400-e29b-41d4-a716-446655440002").await;
    })
    .await;

    let lines = request_lines(&logs);
    assert_eq!(lines.len(), 3, "{logs}");
    assert_eq!(lines[0]["fields"]["route"], "/public/sessions/{access_token}");
    assert_eq!(lines[1]["fields"]["route"], "/public/sessions/{access_token}/workflow");
    assert_eq!(lines[2]["fields"]["status"], 404);
    for line in &lines {
        assert!(line["fields"]["request_id"].as_str().unwrap().starts_with("req_"));
        assert!(line["fields"]["latency_ms"].is_number());
        assert_eq!(line["fields"]["method"], "GET");
    }
    assert!(!logs.contains(&token), "a raw access token reached the logs");
}

/// A KYB session with a declared owner, walked to its end (document with OCR, liveness, form,
/// an owner added by the end user), then reviewed: every personal value submitted or extracted
/// and every credential handed out is searched for in everything logged meanwhile.
async fn a_whole_verification_logs_none_of_the_values_it_handled(captured: &Captured) {
    let app = TestApp::spawn().await;
    let mut secrets: Vec<String> = vec![
        "Ingrid Vasquez-Lindqvist".into(),
        "1974-08-12".into(),
        "ingrid.vl@example.org".into(),
        "Tobias Declared-Owner".into(),
        "tobias.owner@example.net".into(),
        "Marguerite Added-Owner".into(),
        "Reviewed against the passport of Ingrid".into(),
        "+46701234567".into(),
        app.api_key.clone(),
    ];

    let logs = logged_during(captured, async {
        let workflow = app.kyb_workflow(true).await;
        let created = app
            .tenant_post(
                "/v1/sessions",
                json!({"workflow_id": workflow, "participants": [
                    {"role": "ubo", "display_name": "Tobias Declared-Owner", "email": "tobias.owner@example.net"}]}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let data = created.data().clone();
        let (session, token) =
            (data["session_id"].as_str().unwrap().to_owned(), data["access_token"].as_str().unwrap().to_owned());
        secrets.push(token.clone());
        secrets.push(data["participants"][0]["access_link"].as_str().unwrap().to_owned());

        app.upload_png(&token, "id_doc", "passport").await;
        let base64 = json!({"step_id": "id_doc", "document_type": "passport", "file_name": "back.png",
                            "mime_type": "image/png", "file_data": base64_of(&png(640, 480))});
        let legacy = app.public_post(&format!("/public/sessions/{token}/upload"), base64).await;
        assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.body);
        assert_eq!(app.complete_step(&token, "id_doc", json!({})).await.status, StatusCode::OK);
        let started =
            app.public_post(&format!("/public/sessions/{token}/liveness/start"), json!({"step_id": "face"})).await;
        let id = started.data()["liveness_session_id"].clone();
        let passed = app
            .public_post(&format!("/public/sessions/{token}/liveness/complete"), json!({"liveness_session_id": id}))
            .await;
        assert_eq!(passed.data()["passed"], true, "{}", passed.body);
        let form = json!({"form_data": {"full_name": "Ingrid Vasquez-Lindqvist", "date_of_birth": "1974-08-12",
                                        "email": "ingrid.vl@example.org", "phone": "+46701234567"}});
        let done = app.complete_step(&token, "about", form).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let added = app
            .public_post(
                &format!("/public/sessions/{token}/subsessions"),
                json!({"step_id": "owners", "label": "Marguerite Added-Owner"}),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        secrets.push(added.data()["access_link"].as_str().unwrap().to_owned());
        assert_eq!(app.complete_step(&token, "owners", json!({})).await.status, StatusCode::OK);

        let view = app.tenant_view(&session).await;
        let extracted = serde_json::to_string(&view["documents"]).unwrap();
        let number = view["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|d| d["extraction"]["extracted_data"]["document_number"].as_str())
            .unwrap_or_else(|| panic!("no extracted document number in {extracted}"));
        secrets.push(number.to_owned());
        let reviewed = app
            .tenant_post(
                &format!("/v1/sessions/{session}/review"),
                json!({"decision": "approved", "notes": "Reviewed against the passport of Ingrid"}),
            )
            .await;
        assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    })
    .await;

    assert!(request_lines(&logs).len() >= 12, "the walk should have logged its requests: {logs}");
    for secret in &secrets {
        let needle = secret.rsplit('/').next().unwrap();
        assert!(!logs.contains(needle), "{needle:?} reached the logs:\n{logs}");
    }
    for fragment in ["Ingrid", "Lindqvist", "ERIKSSON", "example.org", "example.net"] {
        assert!(!logs.contains(fragment), "{fragment:?} reached the logs:\n{logs}");
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
