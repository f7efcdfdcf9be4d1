//! The `Blobs` conformance suite on `FsBlobs`, its signed URLs answered in-process by the dev
//! server's `/_blobs` router, plus what only the filesystem store does: it enforces the grant's
//! size limit on the PUT itself (413), refuses keys that could leave its folder, sweeps
//! unconfirmed uploads, and answers refused PUTs over a real connection with their status.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, Request};
use axum::Router;
use http_body_util::BodyExt;
use kyc_core::ports::blobs::{BlobError, Blobs, PutGrant};
use kyc_local::{blob_server, FsBlobs};
use kyc_testkit::blobs_conformance::{BlobsUnderTest, UrlClient};
use tempfile::TempDir;
use time::OffsetDateTime;
use tower::ServiceExt;

const BASE_URL: &str = "http://127.0.0.1:3000";

/// Sends requests for the store's signed URLs through the blob server's router, as the dev
/// server would receive them. It owns the store's temporary folder, deleted when it is dropped.
struct RouterClient {
    router: Router,
    _dir: TempDir,
}

impl RouterClient {
    async fn send(
        &self,
        method: Method,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        let path = url.strip_prefix(BASE_URL).unwrap_or_else(|| panic!("{url} is not under {BASE_URL}"));
        let is_put = method == Method::PUT;
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if is_put {
            // As a browser (and hyper) sends it.
            request = request.header(CONTENT_LENGTH, body.len());
        }
        let request = request.body(Body::from(body)).expect("a valid request");
        let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("reading the response body").to_bytes();
        (status, body.to_vec())
    }
}

#[async_trait]
impl UrlClient for RouterClient {
    async fn put(&self, url: &str, content_type: Option<&str>, body: Vec<u8>) -> u16 {
        self.send(Method::PUT, url, content_type, body).await.0
    }

    async fn get(&self, url: &str) -> (u16, Vec<u8>) {
        self.send(Method::GET, url, None, Vec::new()).await
    }
}

/// An `FsBlobs` on a fresh temporary folder, and a client for its URLs.
fn fresh_store() -> (FsBlobs, Arc<RouterClient>) {
    let dir = TempDir::new().expect("creating a temporary directory");
    let blobs = FsBlobs::open(dir.path(), BASE_URL).expect("opening the blob folder");
    let client = RouterClient { router: blob_server::router(blobs.clone()), _dir: dir };
    (blobs, Arc::new(client))
}

kyc_testkit::blobs_conformance_tests!(async {
    let (blobs, urls) = fresh_store();
    BlobsUnderTest { blobs: Arc::new(blobs), urls }
});

// ------------------------------------------------------------------------------------------------
// Filesystem-specific tests

fn grant(key: &str, max_bytes: u64) -> PutGrant {
    PutGrant {
        key: key.into(),
        content_type: "image/png".into(),
        max_bytes,
        size_bytes: None,
        expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(15),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presigned_put_over_the_granted_size_is_refused_with_413() {
    let (blobs, urls) = fresh_store();
    let url = blobs.presign_put(&grant("t/s/big.png", 1000)).await.unwrap();
    assert_eq!(urls.put(&url, Some("image/png"), vec![7; 1001]).await, 413);
    assert_eq!(blobs.head("t/s/big.png").await.unwrap(), None);
    // Exactly the limit is allowed.
    assert_eq!(urls.put(&url, Some("image/png"), vec![7; 1000]).await, 200);
    assert_eq!(blobs.head("t/s/big.png").await.unwrap().map(|meta| meta.size), Some(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_could_leave_the_folder_are_invalid() {
    let (blobs, _urls) = fresh_store();
    for key in
        ["", "/abs.png", "a/../b.png", "./a.png", "a//b.png", "a/b.png.content-type", "a b.png", "a\\b"]
    {
        let result = blobs.put(key, b"x".to_vec(), "image/png").await;
        assert!(matches!(result, Err(BlobError::Invalid(_))), "put {key:?}: {result:?}");
        let result = blobs.presign_put(&grant(key, 10)).await;
        assert!(matches!(result, Err(BlobError::Invalid(_))), "presign_put {key:?}: {result:?}");
        assert!(matches!(blobs.head(key).await, Err(BlobError::Invalid(_))), "head {key:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_removes_unconfirmed_uploads_older_than_a_day_and_nothing_else() {
    let (blobs, _urls) = fresh_store();
    let day = std::time::Duration::from_secs(24 * 3600);
    blobs.put("pending/t/s/doc_1.png", vec![1; 10], "image/png").await.unwrap();
    blobs.put("pending/t/s2/doc_2.pdf", vec![2; 10], "application/pdf").await.unwrap();
    blobs.put("documents/t/s/c1/doc_1.png", vec![1; 10], "image/png").await.unwrap();
    blobs.put("t/s/legacy.png", vec![3; 10], "image/png").await.unwrap();

    let now = OffsetDateTime::now_utc();
    assert_eq!(blobs.sweep_unconfirmed_uploads(now, day).await.unwrap(), 0, "nothing is a day old yet");
    assert!(blobs.head("pending/t/s/doc_1.png").await.unwrap().is_some());

    let tomorrow = now + time::Duration::hours(25);
    assert_eq!(blobs.sweep_unconfirmed_uploads(tomorrow, day).await.unwrap(), 2);

    assert_eq!(blobs.head("pending/t/s/doc_1.png").await.unwrap(), None);
    assert_eq!(blobs.head("pending/t/s2/doc_2.pdf").await.unwrap(), None);
    assert!(blobs.head("documents/t/s/c1/doc_1.png").await.unwrap().is_some(), "confirmed documents stay");
    assert!(blobs.head("t/s/legacy.png").await.unwrap().is_some(), "keys outside pending/ stay");
    assert_eq!(blobs.sweep_unconfirmed_uploads(tomorrow, day).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_of_a_store_without_pending_uploads_removes_nothing() {
    let (blobs, _urls) = fresh_store();
    let later = OffsetDateTime::now_utc() + time::Duration::days(30);
    assert_eq!(blobs.sweep_unconfirmed_uploads(later, std::time::Duration::from_secs(1)).await.unwrap(), 0);
}

/// The blob server on a real loopback listener, its store's URLs pointing at it.
async fn served_store() -> (FsBlobs, TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding a loopback port");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let dir = TempDir::new().expect("creating a temporary directory");
    let blobs = FsBlobs::open(dir.path(), base_url).expect("opening the blob folder");
    let router = blob_server::router(blobs.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (blobs, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_one_megabyte_put_reaches_the_client_as_its_status_not_a_reset() {
    let (blobs, _dir) = served_store().await;
    let http = kyc_testkit::emulator::PlainHttp::default();
    let megabyte = vec![7u8; 1024 * 1024];
    let url = blobs.presign_put(&grant("pending/t/s/doc_1.png", 1000)).await.unwrap();
    let tampered = url.replace("X-Max-Bytes=1000", "X-Max-Bytes=9999999");
    let sized = PutGrant { size_bytes: Some(10), ..grant("pending/t/s/doc_2.png", 1000) };
    let sized_url = blobs.presign_put(&sized).await.unwrap();
    let expired = PutGrant {
        expires_at: OffsetDateTime::now_utc() - time::Duration::seconds(5),
        ..grant("pending/t/s/doc_3.png", 10_000_000)
    };
    let expired_url = blobs.presign_put(&expired).await.unwrap();

    // The reset was intermittent: try each refusal several times, on fresh connections.
    for _ in 0..5 {
        let (status, body) = http.send("PUT", &tampered, Some("image/png"), megabyte.clone()).await;
        assert_eq!(status, 403);
        assert!(String::from_utf8_lossy(&body).contains("SignatureDoesNotMatch"));
        let (status, body) = http.send("PUT", &url, Some("image/png"), megabyte.clone()).await;
        assert_eq!(status, 413);
        assert!(String::from_utf8_lossy(&body).contains("EntityTooLarge"));
        let (status, _) = http.send("PUT", &sized_url, Some("image/png"), megabyte.clone()).await;
        assert_eq!(status, 403);
        let (status, body) = http.send("PUT", &expired_url, Some("image/png"), megabyte.clone()).await;
        assert_eq!(status, 403);
        assert!(String::from_utf8_lossy(&body).contains("Request has expired"));
    }
    assert_eq!(blobs.head("pending/t/s/doc_1.png").await.unwrap(), None);
    // The connection is still usable after a refusal: a good PUT goes through.
    assert_eq!(http.send("PUT", &url, Some("image/png"), vec![7; 1000]).await.0, 200);
}
