//! The `Blobs` conformance suite on `S3Blobs`, against an S3 emulator (moto), its presigned URLs
//! called over real HTTP.
//!
//! `make test` starts moto on loopback (`infra/with-emulator.sh`) and passes its URL in
//! `KYC_TEST_S3_ENDPOINT`; every test creates its own, uniquely named bucket there.
//!
//! Without that variable these tests fail, so that a plain `cargo test` never passes without
//! having run them. Set `KYC_SKIP_AWS_EMULATOR_TESTS=1` to skip them on purpose instead.

use std::sync::Arc;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::types::ServerSideEncryption;
use kyc_aws::S3Blobs;
use kyc_core::ports::blobs::{Blobs, PutGrant};
use kyc_testkit::blobs_conformance::{BlobsUnderTest, UrlClient};
use kyc_testkit::emulator::{self, PlainHttp};
use time::OffsetDateTime;

fn emulator_endpoint() -> Option<String> {
    emulator::endpoint(emulator::S3_ENDPOINT_VAR)
}

/// A client for the emulator with the dummy credentials `infra/with-emulator.sh` documents (the
/// emulator checks presigned URLs' signatures with them), built per test: each test has its own
/// runtime, and a client's connection pool belongs to the runtime that made it.
fn emulator_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "conformance-tests"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(kyc_aws::https_client())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn fresh_bucket(client: &aws_sdk_s3::Client) -> String {
    let bucket = format!("kyc-test-{}", uuid::Uuid::new_v4());
    client.create_bucket().bucket(&bucket).send().await.expect("creating a bucket on the emulator");
    bucket
}

/// An `S3Blobs` on a fresh bucket of its own.
async fn fresh_store() -> Option<S3Blobs> {
    let endpoint = emulator_endpoint()?;
    let client = emulator_client(&endpoint);
    let bucket = fresh_bucket(&client).await;
    Some(S3Blobs::new(client, bucket))
}

kyc_testkit::blobs_conformance_tests!(optional: async {
    fresh_store().await.map(|blobs| BlobsUnderTest { blobs: Arc::new(blobs), urls: Arc::new(PlainHttp::default()) })
});

// ------------------------------------------------------------------------------------------------
// S3-specific tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_stored_with_sse_s3_and_their_content_type() {
    let Some(blobs) = fresh_store().await else { return };
    blobs.put("t/s/d.pdf", b"%PDF-1.7".to_vec(), "application/pdf").await.unwrap();
    let head = blobs.client().head_object().bucket(blobs.bucket()).key("t/s/d.pdf").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(head.content_type(), Some("application/pdf"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_put_urls_sign_the_content_type_and_cannot_cap_the_size() {
    let Some(blobs) = fresh_store().await else { return };
    let grant = PutGrant {
        key: "t/s/d.png".into(),
        content_type: "image/png".into(),
        max_bytes: 10,
        size_bytes: None,
        expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(15),
    };
    let url = blobs.presign_put(&grant).await.unwrap();
    let query = url.split_once('?').expect("a query string").1;
    assert!(query.contains("X-Amz-SignedHeaders=content-type%3Bhost"), "{url}");
    assert!(query.contains("X-Amz-Expires=900"), "{url}");
    assert!(url.starts_with(&format!("{}/{}/t/s/d.png?", emulator_endpoint().unwrap(), blobs.bucket())));
    // S3 cannot enforce max_bytes on a presigned PUT: the confirmation step re-checks the size.
    assert_eq!(PlainHttp::default().put(&url, Some("image/png"), vec![1; 11]).await, 200);
    assert_eq!(blobs.head("t/s/d.png").await.unwrap().map(|meta| meta.size), Some(11));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_size_is_a_signed_content_length() {
    let Some(blobs) = fresh_store().await else { return };
    let grant = PutGrant {
        key: "pending/t/s/d.png".into(),
        content_type: "image/png".into(),
        max_bytes: 1000,
        size_bytes: Some(11),
        expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(15),
    };
    let url = blobs.presign_put(&grant).await.unwrap();
    let query = url.split_once('?').expect("a query string").1;
    assert!(query.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), "{url}");
    let (status, body) = PlainHttp::default().send("PUT", &url, Some("image/png"), vec![1; 12]).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert_eq!(PlainHttp::default().put(&url, Some("image/png"), vec![1; 11]).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_presigned_requests_answer_with_s3_error_codes() {
    let Some(blobs) = fresh_store().await else { return };
    let http = PlainHttp::default();
    let code = |body: Vec<u8>| {
        let body = String::from_utf8(body).unwrap();
        body.split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(code, _)| code.to_owned())
    };
    let grant = |expires_at| PutGrant {
        key: "t/s/d.png".into(),
        content_type: "image/png".into(),
        max_bytes: 1000,
        size_bytes: None,
        expires_at,
    };
    let url =
        blobs.presign_put(&grant(OffsetDateTime::now_utc() + time::Duration::minutes(1))).await.unwrap();
    let (status, body) = http.send("PUT", &url, Some("image/jpeg"), vec![1; 10]).await;
    assert_eq!((status, code(body).as_deref()), (403, Some("SignatureDoesNotMatch")));

    let url =
        blobs.presign_put(&grant(OffsetDateTime::now_utc() + time::Duration::seconds(1))).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (status, body) = http.send("PUT", &url, Some("image/png"), vec![1; 10]).await;
    assert_eq!((status, code(body).as_deref()), (403, Some("AccessDenied")));
    assert_eq!(blobs.head("t/s/d.png").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_from_the_environment_reaches_the_emulator() {
    let Some(endpoint) = emulator_endpoint() else { return };
    // `infra/with-emulator.sh` exports dummy credentials and a region, as Lambda would real ones.
    let client = kyc_aws::s3_client(&kyc_aws::load_sdk_config().await, Some(&endpoint));
    let bucket = fresh_bucket(&client).await;
    let blobs = S3Blobs::new(client, bucket);
    blobs.put("t/s/d.png", b"\x89PNG".to_vec(), "image/png").await.unwrap();
    assert_eq!(blobs.read_prefix("t/s/d.png", 2).await.unwrap(), b"\x89P");
}
