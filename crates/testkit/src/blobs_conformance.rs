//! The conformance suite of the [`Blobs`] port.
//!
//! Each test is an ordinary `async fn` taking a fresh, empty store, so the suite is written once
//! and run against every adapter through
//! [`blobs_conformance_tests!`](crate::blobs_conformance_tests). Presigned URLs are exercised
//! the way a browser uses them, through the adapter's [`UrlClient`]: the filesystem adapter's URLs
//! are answered in-process by the dev server's router, S3's by real HTTP.
//!
//! The tests rely only on what every store can honour: a presigned PUT is bound to its key,
//! method, content type, expiry and declared size ([`PutGrant::size_bytes`]), and a presigned
//! GET to its key, method and expiry. They do not test [`PutGrant::max_bytes`], which S3 cannot
//! enforce on a presigned PUT without a declared size (the upload's confirmation re-checks the
//! size); adapters that do enforce it test that on their own.
//!
//! A copy ([`Blobs::copy`]) is what pins a confirmed upload: it must hold the bytes copied,
//! whatever is later PUT to the source's URL.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
pub use kyc_core::ports::blobs::Blobs;
use kyc_core::ports::blobs::{ObjectMeta, PutGrant};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Sends the HTTP requests a browser sends to presigned URLs.
#[async_trait]
pub trait UrlClient: Send + Sync {
    /// PUTs `body` to `url` with this `Content-Type` header (none for `None`); returns the status.
    async fn put(&self, url: &str, content_type: Option<&str>, body: Vec<u8>) -> u16;
    /// GETs `url`; returns the status and the body.
    async fn get(&self, url: &str) -> (u16, Vec<u8>);
}

/// A fresh, empty store and a client for its presigned URLs.
#[derive(Clone)]
pub struct BlobsUnderTest {
    /// The store.
    pub blobs: Arc<dyn Blobs>,
    /// Calls the store's presigned URLs.
    pub urls: Arc<dyn UrlClient>,
}

// ----------------------------------------------------------------------------------------
// Helpers

/// A key shaped like the ones uploads use (`{tenant}/{session}/{doc}.{ext}`), unique per call.
fn key(ext: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("ten_{}/ses_{}/doc_{id}.{ext}", &id[..8], &id[8..16])
}

/// `len` bytes that are not all alike, so a misplaced range or chunk shows.
fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn in_minutes(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::minutes(minutes)
}

fn grant(key: &str, content_type: &str, expires_at: OffsetDateTime) -> PutGrant {
    PutGrant {
        key: key.into(),
        content_type: content_type.into(),
        max_bytes: 1024 * 1024,
        size_bytes: None,
        expires_at,
    }
}

async fn head(blobs: &dyn Blobs, key: &str) -> Option<ObjectMeta> {
    blobs.head(key).await.expect("head failed")
}

async fn put(blobs: &dyn Blobs, key: &str, bytes: Vec<u8>, content_type: &str) {
    blobs.put(key, bytes, content_type).await.expect("put failed");
}

/// The URL with one character of its signature changed (the value of the last `…Signature=`
/// query parameter, which both adapters' URLs carry).
fn tampered(url: &str) -> String {
    let start = url.rfind("Signature=").expect("a signed URL has a Signature parameter") + "Signature=".len();
    let mut url = url.to_owned();
    let old = url[start..].chars().next().expect("an empty signature");
    let new = if old == '0' { "1" } else { "0" };
    url.replace_range(start..start + old.len_utf8(), new);
    url
}

#[track_caller]
fn assert_success(status: u16, what: &str) {
    assert!((200..300).contains(&status), "{what}: expected a 2xx status, got {status}");
}

#[track_caller]
fn assert_refused(status: u16, what: &str) {
    assert!((400..500).contains(&status), "{what}: expected a 4xx status, got {status}");
}

/// Waits out a URL that expires a second from now: past its expiry on any clock that counts
/// whole seconds.
async fn wait_until_expired() {
    tokio::time::sleep(Duration::from_millis(2_100)).await;
}

// ----------------------------------------------------------------------------------------
// Direct access

/// A key nobody wrote heads as `None`.
pub async fn a_missing_object_heads_as_none(store: BlobsUnderTest) {
    assert_eq!(head(&*store.blobs, &key("png")).await, None);
}

/// A stored object heads with its size and content type.
pub async fn a_put_object_heads_with_its_size_and_content_type(store: BlobsUnderTest) {
    let key = key("png");
    put(&*store.blobs, &key, bytes(1000), "image/png").await;
    let meta = head(&*store.blobs, &key).await.expect("the object exists");
    assert_eq!(meta, ObjectMeta { size: 1000, content_type: Some("image/png".into()) });
}

/// A second put replaces the bytes and the content type.
pub async fn a_put_replaces_the_object_and_its_content_type(store: BlobsUnderTest) {
    let key = key("bin");
    put(&*store.blobs, &key, bytes(1000), "image/png").await;
    put(&*store.blobs, &key, b"%PDF-1.7".to_vec(), "application/pdf").await;
    let meta = head(&*store.blobs, &key).await.expect("the object exists");
    assert_eq!(meta, ObjectMeta { size: 8, content_type: Some("application/pdf".into()) });
    assert_eq!(store.blobs.read_prefix(&key, 100).await.unwrap(), b"%PDF-1.7");
}

/// Objects under one prefix are separate objects.
pub async fn keys_sharing_a_prefix_are_separate_objects(store: BlobsUnderTest) {
    let first = key("png");
    let second = format!("{}/other.pdf", first.rsplit_once('/').unwrap().0);
    put(&*store.blobs, &first, b"first".to_vec(), "image/png").await;
    put(&*store.blobs, &second, b"second!".to_vec(), "application/pdf").await;
    assert_eq!(store.blobs.read_prefix(&first, 100).await.unwrap(), b"first");
    assert_eq!(store.blobs.read_prefix(&second, 100).await.unwrap(), b"second!");
    store.blobs.delete(&first).await.unwrap();
    assert_eq!(head(&*store.blobs, &first).await, None);
    assert_eq!(head(&*store.blobs, &second).await.map(|meta| meta.size), Some(7));
}

/// `read_prefix` returns the first `len` bytes, or the whole object when it is shorter.
pub async fn read_prefix_returns_at_most_len_bytes_from_the_start(store: BlobsUnderTest) {
    let key = key("png");
    let content = bytes(1000);
    put(&*store.blobs, &key, content.clone(), "image/png").await;
    for len in [1, 16, 999, 1000] {
        assert_eq!(store.blobs.read_prefix(&key, len).await.unwrap(), content[..len], "len {len}");
    }
    for len in [1001, 4096, 1 << 20] {
        assert_eq!(store.blobs.read_prefix(&key, len).await.unwrap(), content, "len {len}");
    }
    assert_eq!(store.blobs.read_prefix(&key, 0).await.unwrap(), Vec::<u8>::new());
}

/// An empty object reads as empty and hashes as the empty string.
pub async fn an_empty_object_reads_and_hashes_as_empty(store: BlobsUnderTest) {
    let key = key("png");
    put(&*store.blobs, &key, Vec::new(), "image/png").await;
    assert_eq!(head(&*store.blobs, &key).await.map(|meta| meta.size), Some(0));
    for len in [0, 1, 16] {
        assert_eq!(store.blobs.read_prefix(&key, len).await.unwrap(), Vec::<u8>::new(), "len {len}");
    }
    assert_eq!(
        store.blobs.sha256(&key).await.unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

/// `sha256` is the lowercase hex digest of the whole object, however it is read in chunks.
pub async fn sha256_is_the_hex_digest_of_the_whole_object(store: BlobsUnderTest) {
    let key = key("pdf");
    put(&*store.blobs, &key, b"hello world".to_vec(), "application/pdf").await;
    assert_eq!(
        store.blobs.sha256(&key).await.unwrap(),
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    // Larger than any read buffer, and not a multiple of one.
    let content = bytes(3 * 1024 * 1024 + 17);
    let expected = sha256_hex(&content);
    put(&*store.blobs, &key, content, "application/pdf").await;
    assert_eq!(store.blobs.sha256(&key).await.unwrap(), expected);
}

/// Reading a missing object fails rather than returning nothing.
pub async fn reading_a_missing_object_fails(store: BlobsUnderTest) {
    let key = key("png");
    assert!(store.blobs.read_prefix(&key, 16).await.is_err(), "read_prefix of a missing object");
    assert!(store.blobs.read_prefix(&key, 0).await.is_err(), "read_prefix(0) of a missing object");
    assert!(store.blobs.sha256(&key).await.is_err(), "sha256 of a missing object");
}

/// A deleted object is gone.
pub async fn a_deleted_object_heads_as_none(store: BlobsUnderTest) {
    let key = key("png");
    put(&*store.blobs, &key, bytes(10), "image/png").await;
    store.blobs.delete(&key).await.expect("delete failed");
    assert_eq!(head(&*store.blobs, &key).await, None);
    assert!(store.blobs.sha256(&key).await.is_err());
}

/// Deleting an object that does not exist (or no longer does) succeeds.
pub async fn deleting_a_missing_object_succeeds(store: BlobsUnderTest) {
    let key = key("png");
    store.blobs.delete(&key).await.expect("deleting a missing object");
    put(&*store.blobs, &key, bytes(10), "image/png").await;
    store.blobs.delete(&key).await.unwrap();
    store.blobs.delete(&key).await.expect("deleting an object twice");
}

/// A copy has the source's bytes and content type under the new key; the source stays.
pub async fn a_copy_has_the_bytes_and_content_type_of_its_source(store: BlobsUnderTest) {
    let (source, target) = (key("pdf"), key("pdf"));
    let content = bytes(70_000);
    put(&*store.blobs, &source, content.clone(), "application/pdf").await;
    store.blobs.copy(&source, &target).await.expect("copy failed");
    let meta = head(&*store.blobs, &target).await.expect("the copy exists");
    assert_eq!(meta, ObjectMeta { size: 70_000, content_type: Some("application/pdf".into()) });
    assert_eq!(store.blobs.sha256(&target).await.unwrap(), sha256_hex(&content));
    assert_eq!(head(&*store.blobs, &source).await.map(|meta| meta.size), Some(70_000));
}

/// A copy is an object of its own: replacing or deleting the source leaves it as it was.
pub async fn a_copy_outlives_changes_to_its_source(store: BlobsUnderTest) {
    let (source, target) = (key("png"), key("png"));
    put(&*store.blobs, &source, bytes(100), "image/png").await;
    store.blobs.copy(&source, &target).await.unwrap();
    put(&*store.blobs, &source, bytes(7), "application/pdf").await;
    assert_eq!(store.blobs.sha256(&target).await.unwrap(), sha256_hex(&bytes(100)));
    store.blobs.delete(&source).await.unwrap();
    assert_eq!(head(&*store.blobs, &target).await.map(|meta| meta.size), Some(100));
}

/// Copying a key nobody wrote fails and creates nothing.
pub async fn copying_a_missing_object_fails(store: BlobsUnderTest) {
    let (source, target) = (key("png"), key("png"));
    assert!(store.blobs.copy(&source, &target).await.is_err(), "copy of a missing object");
    assert_eq!(head(&*store.blobs, &target).await, None);
}

// ----------------------------------------------------------------------------------------
// Presigned PUT

/// A PUT with the granted content type stores the object under the granted key, with that type.
pub async fn a_presigned_put_with_the_granted_content_type_stores_the_object(store: BlobsUnderTest) {
    let key = key("jpg");
    let url = store.blobs.presign_put(&grant(&key, "image/jpeg", in_minutes(15))).await.unwrap();
    let content = bytes(70_000);
    assert_success(store.urls.put(&url, Some("image/jpeg"), content.clone()).await, "PUT");
    let meta = head(&*store.blobs, &key).await.expect("the upload is stored");
    assert_eq!(meta, ObjectMeta { size: 70_000, content_type: Some("image/jpeg".into()) });
    assert_eq!(store.blobs.read_prefix(&key, 4).await.unwrap(), content[..4]);
    assert_eq!(store.blobs.sha256(&key).await.unwrap(), sha256_hex(&content));
}

/// The URL may be used again until it expires; the last PUT wins.
pub async fn a_presigned_put_may_replace_its_own_upload(store: BlobsUnderTest) {
    let key = key("png");
    let url = store.blobs.presign_put(&grant(&key, "image/png", in_minutes(15))).await.unwrap();
    assert_success(store.urls.put(&url, Some("image/png"), bytes(100)).await, "first PUT");
    assert_success(store.urls.put(&url, Some("image/png"), bytes(50)).await, "second PUT");
    assert_eq!(head(&*store.blobs, &key).await.map(|meta| meta.size), Some(50));
}

/// A PUT to an upload's URL after its object was copied (pinned) changes the source only.
pub async fn a_put_after_a_copy_does_not_reach_the_copy(store: BlobsUnderTest) {
    let (source, pinned) = (key("png"), key("png"));
    let url = store.blobs.presign_put(&grant(&source, "image/png", in_minutes(15))).await.unwrap();
    assert_success(store.urls.put(&url, Some("image/png"), bytes(100)).await, "first PUT");
    store.blobs.copy(&source, &pinned).await.unwrap();
    let other: Vec<u8> = bytes(300).into_iter().rev().collect();
    assert_success(store.urls.put(&url, Some("image/png"), other.clone()).await, "PUT after the copy");
    assert_eq!(store.blobs.sha256(&pinned).await.unwrap(), sha256_hex(&bytes(100)));
    assert_eq!(store.blobs.sha256(&source).await.unwrap(), sha256_hex(&other));
}

/// A grant with a declared size signs it: a body of any other size is refused and stores
/// nothing, one of exactly that size is stored.
pub async fn a_presigned_put_with_a_declared_size_refuses_any_other_size(store: BlobsUnderTest) {
    let key = key("png");
    let sized = PutGrant { size_bytes: Some(1000), ..grant(&key, "image/png", in_minutes(15)) };
    let url = store.blobs.presign_put(&sized).await.unwrap();
    for len in [1001, 999, 4096, 1] {
        assert_refused(store.urls.put(&url, Some("image/png"), bytes(len)).await, &format!("{len} bytes"));
    }
    assert_eq!(head(&*store.blobs, &key).await, None);
    assert_success(store.urls.put(&url, Some("image/png"), bytes(1000)).await, "PUT of the declared size");
    assert_eq!(head(&*store.blobs, &key).await.map(|meta| meta.size), Some(1000));
}

/// A PUT with another Content-Type than the granted one is refused and stores nothing.
pub async fn a_presigned_put_with_another_content_type_is_refused(store: BlobsUnderTest) {
    let key = key("png");
    let url = store.blobs.presign_put(&grant(&key, "image/png", in_minutes(15))).await.unwrap();
    for content_type in ["application/pdf", "image/jpeg", "image/png; charset=utf-8", "text/html"] {
        assert_refused(store.urls.put(&url, Some(content_type), bytes(100)).await, content_type);
    }
    assert_refused(store.urls.put(&url, None, bytes(100)).await, "no Content-Type");
    assert_eq!(head(&*store.blobs, &key).await, None);
}

/// A PUT after the grant's expiry is refused and stores nothing.
pub async fn an_expired_presigned_put_is_refused(store: BlobsUnderTest) {
    let key = key("png");
    let expires_at = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let url = store.blobs.presign_put(&grant(&key, "image/png", expires_at)).await.unwrap();
    wait_until_expired().await;
    assert_refused(store.urls.put(&url, Some("image/png"), bytes(100)).await, "expired PUT");
    assert_eq!(head(&*store.blobs, &key).await, None);
}

/// A PUT to a URL whose signature was altered is refused and stores nothing.
pub async fn a_tampered_presigned_put_is_refused(store: BlobsUnderTest) {
    let key = key("png");
    let url = store.blobs.presign_put(&grant(&key, "image/png", in_minutes(15))).await.unwrap();
    assert_refused(store.urls.put(&tampered(&url), Some("image/png"), bytes(100)).await, "tampered PUT");
    assert_eq!(head(&*store.blobs, &key).await, None);
}

/// A URL granted for one key cannot be pointed at another.
pub async fn a_presigned_put_url_cannot_be_moved_to_another_key(store: BlobsUnderTest) {
    let key = key("png");
    let other = format!("{}/xxxxxxxx.png", key.rsplit_once('/').unwrap().0);
    let url = store.blobs.presign_put(&grant(&key, "image/png", in_minutes(15))).await.unwrap();
    assert!(url.contains(&key), "the URL {url} names its key {key}");
    let moved = url.replacen(&key, &other, 1);
    assert_refused(store.urls.put(&moved, Some("image/png"), bytes(100)).await, "PUT to another key");
    assert_eq!(head(&*store.blobs, &other).await, None);
    assert_eq!(head(&*store.blobs, &key).await, None);
}

// ----------------------------------------------------------------------------------------
// Presigned GET

/// A presigned GET returns the object's bytes.
pub async fn a_presigned_get_returns_the_object(store: BlobsUnderTest) {
    let key = key("pdf");
    let content = bytes(70_000);
    put(&*store.blobs, &key, content.clone(), "application/pdf").await;
    let url = store.blobs.presign_get(&key, in_minutes(5)).await.unwrap();
    let (status, body) = store.urls.get(&url).await;
    assert_success(status, "GET");
    assert!(body == content, "the GET returned {} bytes, not the {} stored", body.len(), content.len());
}

/// A presigned GET of an object that does not exist is refused: 404, or on S3 403 when the
/// signer may not list the bucket.
pub async fn a_presigned_get_of_a_missing_object_is_refused(store: BlobsUnderTest) {
    let url = store.blobs.presign_get(&key("pdf"), in_minutes(5)).await.unwrap();
    assert_refused(store.urls.get(&url).await.0, "GET of a missing object");
}

/// A GET after the URL's expiry is refused.
pub async fn an_expired_presigned_get_is_refused(store: BlobsUnderTest) {
    let key = key("pdf");
    put(&*store.blobs, &key, bytes(100), "application/pdf").await;
    let expires_at = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let url = store.blobs.presign_get(&key, expires_at).await.unwrap();
    wait_until_expired().await;
    let (status, body) = store.urls.get(&url).await;
    assert_refused(status, "expired GET");
    assert_ne!(body, bytes(100));
}

/// A GET of a URL whose signature was altered is refused.
pub async fn a_tampered_presigned_get_is_refused(store: BlobsUnderTest) {
    let key = key("pdf");
    put(&*store.blobs, &key, bytes(100), "application/pdf").await;
    let url = store.blobs.presign_get(&key, in_minutes(5)).await.unwrap();
    let (status, body) = store.urls.get(&tampered(&url)).await;
    assert_refused(status, "tampered GET");
    assert_ne!(body, bytes(100));
}

/// A URL signed for one method does not allow the other: an upload URL cannot read, a download
/// URL cannot write.
pub async fn a_presigned_url_is_bound_to_its_method(store: BlobsUnderTest) {
    let key = key("png");
    put(&*store.blobs, &key, bytes(100), "image/png").await;
    let put_url = store.blobs.presign_put(&grant(&key, "image/png", in_minutes(15))).await.unwrap();
    let (status, body) = store.urls.get(&put_url).await;
    assert_refused(status, "GET with an upload URL");
    assert_ne!(body, bytes(100));
    let get_url = store.blobs.presign_get(&key, in_minutes(5)).await.unwrap();
    assert_refused(store.urls.put(&get_url, Some("image/png"), bytes(7)).await, "PUT with a download URL");
    assert_eq!(head(&*store.blobs, &key).await.map(|meta| meta.size), Some(100));
}
