//! [`RekognitionLiveness`] against recorded Rekognition HTTP responses
//! (`tests/replay/rekognition/`), replayed into the real SDK client. No network, no emulator.

mod replay;

use kyc_aws::RekognitionLiveness;
use kyc_core::ports::liveness::{LivenessProvider, ProviderError, ProviderResult, ProviderStatus};
use replay::{Replay, Sent};
use serde_json::json;

const BUCKET: &str = "kyc-documents-replay";
const SESSION_ID: &str = "3f8c0a52-8d7e-4b6a-9c3e-5f1d2b7a9e40";
const PREFIX: &str = "ten_3kq2w9v7/ses_7m4x1p0c/liveness";

fn fixture(name: &str) -> String {
    replay::fixture("rekognition", name)
}

fn ok(name: &str) -> (u16, String) {
    (200, fixture(name))
}

fn error(name: &str) -> (u16, String) {
    (400, fixture(name))
}

fn liveness(responses: Vec<(u16, String)>) -> (RekognitionLiveness, Replay) {
    let http = Replay::new(responses);
    let shared = replay::sdk_config(&http);
    (RekognitionLiveness::from_sdk_config(&shared, BUCKET), http)
}

/// What the SDK sent, checked to have gone to Rekognition.
fn sent(http: &Replay) -> Vec<Sent> {
    let sent = http.sent();
    for request in &sent {
        assert!(request.uri.starts_with("https://rekognition.eu-west-1.amazonaws.com"), "{}", request.uri);
    }
    sent
}

fn backend(error: ProviderError) -> String {
    let ProviderError::Backend(cause) = error;
    format!("{cause:#}")
}

#[tokio::test]
async fn a_session_writes_its_images_to_the_bucket_under_the_prefix() {
    let (liveness, http) = liveness(vec![ok("create_face_liveness_session.json")]);

    let session_id = liveness.create_session(PREFIX).await.unwrap();

    assert_eq!(session_id, SESSION_ID);
    let sent = sent(&http);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].target, "RekognitionService.CreateFaceLivenessSession");
    assert_eq!(
        sent[0].body,
        json!({
            "Settings": {
                "OutputConfig": { "S3Bucket": BUCKET, "S3KeyPrefix": PREFIX },
                "AuditImagesLimit": 0
            }
        })
    );
}

#[tokio::test]
async fn the_audit_images_limit_is_capped_at_four() {
    let (liveness, http) = liveness(vec![ok("create_face_liveness_session.json")]);

    liveness.with_audit_images_limit(9).create_session(PREFIX).await.unwrap();

    assert_eq!(sent(&http)[0].body["Settings"]["AuditImagesLimit"], 4);
}

#[tokio::test]
async fn every_session_status_is_mapped() {
    for (recorded, status) in [
        ("get_results_created.json", ProviderStatus::Created),
        ("get_results_in_progress.json", ProviderStatus::InProgress),
        ("get_results_failed.json", ProviderStatus::Failed),
        ("get_results_expired.json", ProviderStatus::Expired),
    ] {
        let (liveness, http) = liveness(vec![ok(recorded)]);

        let result = liveness.results(SESSION_ID).await.unwrap();

        assert_eq!(
            result,
            ProviderResult { status, confidence: None, reference_image_key: None },
            "{recorded}"
        );
        let sent = sent(&http);
        assert_eq!(sent[0].target, "RekognitionService.GetFaceLivenessSessionResults");
        assert_eq!(sent[0].body, json!({ "SessionId": SESSION_ID }));
    }
}

#[tokio::test]
async fn a_succeeded_session_has_its_confidence_and_reference_image_key() {
    let (liveness, http) = liveness(vec![ok("get_results_succeeded.json")]);

    let result = liveness.results(SESSION_ID).await.unwrap();

    assert_eq!(result.status, ProviderStatus::Succeeded);
    let confidence = result.confidence.unwrap();
    assert!((confidence - 98.7654).abs() < 1e-3, "0–100 as recorded: {confidence}");
    assert_eq!(result.reference_image_key, Some(format!("{PREFIX}/{SESSION_ID}/reference.jpg")));
    assert_eq!(sent(&http).len(), 1);
}

#[tokio::test]
async fn a_reference_image_in_another_bucket_is_a_provider_error() {
    let elsewhere = fixture("get_results_succeeded.json").replace(BUCKET, "someone-elses-bucket");
    let (liveness, _http) = liveness(vec![(200, elsewhere)]);

    let cause = backend(liveness.results(SESSION_ID).await.unwrap_err());

    assert!(cause.contains("someone-elses-bucket"), "{cause}");
}

#[tokio::test]
async fn an_unknown_session_is_a_provider_error() {
    let (liveness, http) = liveness(vec![error("error_session_not_found.json")]);

    let cause = backend(liveness.results("no-such-session").await.unwrap_err());

    assert!(cause.contains("GetFaceLivenessSessionResults"), "{cause}");
    assert!(cause.contains("SessionNotFoundException"), "{cause}");
    assert_eq!(sent(&http).len(), 1, "not retried");
}

#[tokio::test]
async fn compare_faces_reads_both_images_from_the_bucket_and_returns_the_best_similarity() {
    let (liveness, http) = liveness(vec![ok("compare_faces_match.json")]);
    let reference = format!("{PREFIX}/{SESSION_ID}/reference.jpg");
    let portrait = "ten_3kq2w9v7/ses_7m4x1p0c/doc_5b8n2r6t.jpg";

    let similarity = liveness.compare_faces(&reference, portrait).await.unwrap().unwrap();

    assert!((similarity - 99.4034).abs() < 1e-3, "the best of the recorded matches: {similarity}");
    let sent = sent(&http);
    assert_eq!(sent[0].target, "RekognitionService.CompareFaces");
    assert_eq!(
        sent[0].body,
        json!({
            "SourceImage": { "S3Object": { "Bucket": BUCKET, "Name": reference } },
            "TargetImage": { "S3Object": { "Bucket": BUCKET, "Name": portrait } },
            "SimilarityThreshold": 0.0
        })
    );
}

#[tokio::test]
async fn compare_faces_without_a_match_is_none() {
    let (liveness, http) = liveness(vec![ok("compare_faces_no_match.json")]);

    assert_eq!(liveness.compare_faces("a.jpg", "b.jpg").await.unwrap(), None);
    assert_eq!(sent(&http)[0].target, "RekognitionService.CompareFaces");
}

#[tokio::test]
async fn compare_faces_with_no_face_in_an_image_is_none() {
    let (liveness, http) = liveness(vec![error("error_invalid_parameter.json")]);

    assert_eq!(liveness.compare_faces("a.jpg", "b.jpg").await.unwrap(), None);
    assert_eq!(sent(&http).len(), 1);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_and_then_succeeds() {
    let (liveness, http) = liveness(vec![error("error_throttling.json"), ok("compare_faces_match.json")]);

    let similarity = liveness.compare_faces("a.jpg", "b.jpg").await.unwrap();

    assert!(similarity.is_some());
    let sent = sent(&http);
    assert_eq!(sent.len(), 2, "one throttled attempt, one retry");
    assert!(sent.iter().all(|s| s.target == "RekognitionService.CompareFaces"));
    assert_eq!(sent[1].attempt, "attempt=2; max=3");
}

#[tokio::test]
async fn a_throttled_session_start_is_retried_too() {
    let (liveness, http) =
        liveness(vec![error("error_throttling.json"), ok("create_face_liveness_session.json")]);

    assert_eq!(liveness.create_session(PREFIX).await.unwrap(), SESSION_ID);
    assert_eq!(sent(&http).len(), 2);
}
