//! Request logs: one line per request, naming the route template and never the token.
//!
//! A test binary of its own: it installs the process-wide subscriber, which tracing's callsite
//! cache needs to see every event, so no other test may run beside it.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::TestApp;
use kyc_testkit::Captured;

#[tokio::test]
async fn request_logs_name_the_route_template_and_never_the_access_token() {
    let app = TestApp::spawn().await;
    let (_, token) = app.basic_session().await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().json().with_writer(captured.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    app.get(&format!("/public/sessions/{token}")).await;
    app.get(&format!("/public/sessions/{token}/workflow")).await;
    app.get("/public/sessions/770e8400-e29b-41d4-a716-446655440002").await;

    let logs = captured.text();
    let lines: Vec<serde_json::Value> = logs.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
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
