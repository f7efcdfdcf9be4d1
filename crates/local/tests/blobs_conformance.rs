//! The `Blobs` conformance suite on `FsBlobs`, its signed URLs answered in-process by the dev
//! server's `/_blobs` router, plus what only the filesystem store does: it enforces the grant's
//! size limit on the PUT itself (413), and refuses keys that could leave its folder.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
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
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
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
