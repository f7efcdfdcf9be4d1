//! Documents on the local filesystem, with expiring HMAC-signed URLs that behave like S3
//! presigned URLs: bound to method, object key, content type, size limit, declared size and
//! expiry.

use anyhow::Context;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use kyc_core::ports::blobs::{BlobError, Blobs, ObjectMeta, PutGrant, PENDING_PREFIX};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

/// Path prefix under which the dev server serves signed URLs.
pub const BLOB_ROUTE_PREFIX: &str = "/_blobs";

/// Objects under a root folder, plus the key that signs their URLs.
#[derive(Clone)]
pub struct FsBlobs {
    root: PathBuf,
    secret: Arc<Vec<u8>>,
    base_url: String,
}

/// The parameters a signed URL carries, as the blob server receives them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SignedRequest {
    /// Unix seconds after which the URL is dead.
    #[serde(rename = "X-Expires")]
    pub expires: Option<i64>,
    /// The Content-Type a PUT must carry.
    #[serde(rename = "X-Content-Type")]
    pub content_type: Option<String>,
    /// The largest body a PUT may send.
    #[serde(rename = "X-Max-Bytes")]
    pub max_bytes: Option<u64>,
    /// The exact size a PUT must have, when the upload declared one.
    #[serde(rename = "X-Size")]
    pub size_bytes: Option<u64>,
    /// Hex HMAC-SHA256 over method, key, content type, size limit and expiry.
    #[serde(rename = "X-Signature")]
    pub signature: Option<String>,
}

/// Why a signed request is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// The URL's time is up.
    Expired,
    /// The signature does not cover these parameters.
    BadSignature,
    /// The request's Content-Type differs from the signed one.
    WrongContentType,
    /// The request's Content-Length differs from the signed size.
    WrongSize,
}

/// What a verified signed PUT may store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutLimits {
    /// The largest body allowed.
    pub max_bytes: u64,
    /// The exact body size, when one was signed.
    pub size_bytes: Option<u64>,
}

impl FsBlobs {
    /// Opens (creating if needed) a blob folder. The signing key lives in `{root}/.signing-key`
    /// so every local process that shares the folder signs and verifies alike.
    pub fn open(root: impl AsRef<Path>, base_url: impl Into<String>) -> anyhow::Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(root.join("objects"))
            .with_context(|| format!("creating {}", root.display()))?;
        let key_file = root.join(".signing-key");
        let secret = match std::fs::read_to_string(&key_file) {
            Ok(text) => hex::decode(text.trim()).context("reading the blob signing key")?,
            Err(_) => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random source failed: {e}"))?;
                std::fs::write(&key_file, hex::encode(bytes)).context("writing the blob signing key")?;
                bytes.to_vec()
            }
        };
        Ok(Self {
            root,
            secret: Arc::new(secret),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let safe = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            })
            && !key.ends_with(".content-type");
        if !safe {
            return Err(BlobError::Invalid(format!("invalid object key {key:?}")));
        }
        Ok(self.root.join("objects").join(key))
    }

    fn signature(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        limits: PutLimits,
        expires: i64,
    ) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        let PutLimits { max_bytes, size_bytes } = limits;
        let size = size_bytes.map(|n| n.to_string()).unwrap_or_default();
        mac.update(format!("{method}\n{key}\n{content_type}\n{max_bytes}\n{size}\n{expires}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn signed_url(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        limits: PutLimits,
        expires: i64,
    ) -> String {
        let signature = self.signature(method, key, content_type, limits, expires);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("X-Expires", &expires.to_string());
        if method == "PUT" {
            query
                .append_pair("X-Content-Type", content_type)
                .append_pair("X-Max-Bytes", &limits.max_bytes.to_string());
            if let Some(size) = limits.size_bytes {
                query.append_pair("X-Size", &size.to_string());
            }
        }
        query.append_pair("X-Signature", &signature);
        format!("{}{BLOB_ROUTE_PREFIX}/{key}?{}", self.base_url, query.finish())
    }

    /// Checks a signed PUT: unexpired, untampered, and sent with the signed Content-Type and,
    /// when a size was signed, a `content_length` of that size. Returns the limits it grants.
    pub fn verify_put(
        &self,
        key: &str,
        request: &SignedRequest,
        content_type: Option<&str>,
        content_length: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<PutLimits, Denied> {
        let (Some(expires), Some(signed_type), Some(max_bytes), Some(signature)) =
            (request.expires, &request.content_type, request.max_bytes, &request.signature)
        else {
            return Err(Denied::BadSignature);
        };
        let limits = PutLimits { max_bytes, size_bytes: request.size_bytes };
        if !constant_time_eq(&self.signature("PUT", key, signed_type, limits, expires), signature) {
            return Err(Denied::BadSignature);
        }
        if now.unix_timestamp() >= expires {
            return Err(Denied::Expired);
        }
        if content_type != Some(signed_type.as_str()) {
            return Err(Denied::WrongContentType);
        }
        if limits.size_bytes.is_some_and(|size| content_length.is_some_and(|length| length != size)) {
            return Err(Denied::WrongSize);
        }
        Ok(limits)
    }

    /// Checks a signed GET.
    pub fn verify_get(&self, key: &str, request: &SignedRequest, now: OffsetDateTime) -> Result<(), Denied> {
        let (Some(expires), Some(signature)) = (request.expires, &request.signature) else {
            return Err(Denied::BadSignature);
        };
        if !constant_time_eq(&self.signature("GET", key, "", NO_LIMITS, expires), signature) {
            return Err(Denied::BadSignature);
        }
        if now.unix_timestamp() >= expires {
            return Err(Denied::Expired);
        }
        Ok(())
    }

    /// Reads a whole object and its content type.
    pub async fn read(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some((bytes, self.content_type(&path).await))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::Backend(anyhow::Error::new(e).context("reading an object"))),
        }
    }

    /// Deletes unconfirmed uploads (objects under the pending prefix) last written more than
    /// `max_age` before `now`, as the bucket's lifecycle rule does on S3; returns how many.
    /// The dev server runs it periodically.
    pub async fn sweep_unconfirmed_uploads(
        &self,
        now: OffsetDateTime,
        max_age: std::time::Duration,
    ) -> Result<usize, BlobError> {
        let cutoff = std::time::SystemTime::from(now) - max_age;
        let mut folders = vec![self.root.join("objects").join(PENDING_PREFIX.trim_end_matches('/'))];
        let mut removed = 0;
        while let Some(folder) = folders.pop() {
            let mut entries = match tokio::fs::read_dir(&folder).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(backend("listing pending uploads")(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(backend("listing pending uploads"))? {
                let meta = entry.metadata().await.map_err(backend("reading pending upload metadata"))?;
                let path = entry.path();
                if meta.is_dir() {
                    folders.push(path);
                    continue;
                }
                let old = meta.modified().map_err(backend("reading pending upload metadata"))? < cutoff;
                if !old {
                    continue;
                }
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(backend("deleting a pending upload")(e)),
                }
                if !path.to_string_lossy().ends_with(".content-type") {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    async fn content_type(&self, path: &Path) -> String {
        tokio::fs::read_to_string(sidecar(path)).await.unwrap_or_else(|_| "application/octet-stream".into())
    }
}

/// GET URLs carry no size limits.
const NO_LIMITS: PutLimits = PutLimits { max_bytes: 0, size_bytes: None };

fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".content-type");
    PathBuf::from(name)
}

/// A staging file name part no concurrent writer (in this or another process) shares.
fn unique_suffix() -> String {
    let mut bytes = [0u8; 8];
    // A failing random source only makes concurrent writes of one key share a staging file.
    let _ = getrandom::fill(&mut bytes);
    format!("{}-{}", std::process::id(), hex::encode(bytes))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn backend(context: &'static str) -> impl FnOnce(std::io::Error) -> BlobError {
    move |e| BlobError::Backend(anyhow::Error::new(e).context(context))
}

#[async_trait]
impl Blobs for FsBlobs {
    async fn presign_put(&self, grant: &PutGrant) -> Result<String, BlobError> {
        self.path(&grant.key)?;
        let limits = PutLimits { max_bytes: grant.max_bytes, size_bytes: grant.size_bytes };
        Ok(self.signed_url("PUT", &grant.key, &grant.content_type, limits, grant.expires_at.unix_timestamp()))
    }

    async fn presign_get(&self, key: &str, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        self.path(key)?;
        Ok(self.signed_url("GET", key, "", NO_LIMITS, expires_at.unix_timestamp()))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) => {
                Ok(Some(ObjectMeta { size: meta.len(), content_type: Some(self.content_type(&path).await) }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend("reading object metadata")(e)),
        }
    }

    async fn read_prefix(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError> {
        let file = tokio::fs::File::open(self.path(key)?).await.map_err(backend("opening an object"))?;
        let mut bytes = Vec::with_capacity(len.min(1 << 20));
        file.take(len as u64).read_to_end(&mut bytes).await.map_err(backend("reading an object"))?;
        Ok(bytes)
    }

    async fn sha256(&self, key: &str) -> Result<String, BlobError> {
        let mut file = tokio::fs::File::open(self.path(key)?).await.map_err(backend("opening an object"))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = file.read(&mut buffer).await.map_err(backend("reading an object"))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(backend("creating an object folder"))?;
        }
        // Write aside, then rename: readers never see half an object.
        let staging = path.with_extension(format!("upload-{}", unique_suffix()));
        tokio::fs::write(&staging, &bytes).await.map_err(backend("writing an object"))?;
        tokio::fs::write(sidecar(&path), content_type).await.map_err(backend("writing an object's type"))?;
        tokio::fs::rename(&staging, &path).await.map_err(backend("storing an object"))?;
        Ok(())
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        let (source, target) = (self.path(from)?, self.path(to)?);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(backend("creating an object folder"))?;
        }
        // Copy aside, then rename: readers never see half an object, and a concurrent PUT to the
        // source replaces the source's file (rename), never the bytes being copied.
        // The type first: a concurrent delete removes it before the bytes, so a copy either sees
        // both or fails, as an S3 CopyObject does.
        let content_type =
            tokio::fs::read_to_string(sidecar(&source)).await.map_err(backend("reading an object's type"))?;
        let staging = target.with_extension(format!("copy-{}", unique_suffix()));
        tokio::fs::copy(&source, &staging).await.map_err(backend("copying an object"))?;
        tokio::fs::write(sidecar(&target), content_type)
            .await
            .map_err(backend("writing an object's type"))?;
        tokio::fs::rename(&staging, &target).await.map_err(backend("storing an object"))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        for file in [sidecar(&path), path] {
            match tokio::fs::remove_file(&file).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(backend("deleting an object")(e)),
            }
        }
        Ok(())
    }
}
