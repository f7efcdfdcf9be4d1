//! Business metrics: a verification started and finished shows in CloudWatch's embedded metric
//! format, counted by mode and by outcome.
//!
//! A test binary of its own: it installs the process-wide subscriber (see `logs.rs`).

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::TestApp;
use kyc_runtime::emf::EmfLayer;
use kyc_testkit::Captured;
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn a_finished_verification_is_counted_by_mode_and_by_outcome() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(EmfLayer::new(captured.clone()));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let app = TestApp::spawn().await;
    let workflow = app
        .create_workflow(
            json!({"name": "One", "steps": [{"step_id": "info", "name": "Info", "type": "form_fill",
            "custom_fields": [{"field_id": "n", "name": "N", "type": "text", "required": true}]}]}),
        )
        .await;

    let (_, token) = app.create_session(&workflow).await;
    app.complete_step(&token, "info", json!({"form_data": {"n": "x"}})).await;

    let text = captured.text();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let started = lines.iter().find(|l| l.get("VerificationsStarted").is_some()).expect("a started count");
    let completed =
        lines.iter().find(|l| l.get("VerificationsCompleted").is_some()).expect("a completed count");
    assert_eq!((started["mode"].clone(), started["VerificationsStarted"].clone()), (json!("test"), json!(1)));
    assert_eq!(completed["outcome"], "manual_review");
    assert_eq!(completed["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["outcome"]]));
}
