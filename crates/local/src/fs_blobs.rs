//! Documents on the local filesystem, with expiring HMAC-signed URLs that behave like S3
//! presigned URLs: bound to method, object key, content type, size limit and expiry.

use anyhow::Context;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use kyc_core::ports::blobs::{BlobError, Blobs, ObjectMeta, PutGrant};
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

    fn signature(&self, method: &str, key: &str, content_type: &str, max_bytes: u64, expires: i64) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("{method}\n{key}\n{content_type}\n{max_bytes}\n{expires}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn signed_url(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires: i64,
    ) -> String {
        let signature = self.signature(method, key, content_type, max_bytes, expires);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("X-Expires", &expires.to_string());
        if method == "PUT" {
            query
                .append_pair("X-Content-Type", content_type)
                .append_pair("X-Max-Bytes", &max_bytes.to_string());
        }
        query.append_pair("X-Signature", &signature);
        format!("{}{BLOB_ROUTE_PREFIX}/{key}?{}", self.base_url, query.finish())
    }

    /// Checks a signed PUT: unexpired, untampered, and sent with the signed Content-Type.
    /// Returns the size limit it grants.
    pub fn verify_put(
        &self,
        key: &str,
        request: &SignedRequest,
        content_type: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, Denied> {
        let (Some(expires), Some(signed_type), Some(max_bytes), Some(signature)) =
            (request.expires, &request.content_type, request.max_bytes, &request.signature)
        else {
            return Err(Denied::BadSignature);
        };
        if !constant_time_eq(&self.signature("PUT", key, signed_type, max_bytes, expires), signature) {
            return Err(Denied::BadSignature);
        }
        if now.unix_timestamp() >= expires {
            return Err(Denied::Expired);
        }
        if content_type != Some(signed_type.as_str()) {
            return Err(Denied::WrongContentType);
        }
        Ok(max_bytes)
    }

    /// Checks a signed GET.
    pub fn verify_get(&self, key: &str, request: &SignedRequest, now: OffsetDateTime) -> Result<(), Denied> {
        let (Some(expires), Some(signature)) = (request.expires, &request.signature) else {
            return Err(Denied::BadSignature);
        };
        if !constant_time_eq(&self.signature("GET", key, "", 0, expires), signature) {
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

    async fn content_type(&self, path: &Path) -> String {
        tokio::fs::read_to_string(sidecar(path)).await.unwrap_or_else(|_| "application/octet-stream".into())
    }
}

fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".content-type");
    PathBuf::from(name)
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
        Ok(self.signed_url(
            "PUT",
            &grant.key,
            &grant.content_type,
            grant.max_bytes,
            grant.expires_at.unix_timestamp(),
        ))
    }

    async fn presign_get(&self, key: &str, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        self.path(key)?;
        Ok(self.signed_url("GET", key, "", 0, expires_at.unix_timestamp()))
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
        let staging = path.with_extension(format!("upload-{}", std::process::id()));
        tokio::fs::write(&staging, &bytes).await.map_err(backend("writing an object"))?;
        tokio::fs::write(sidecar(&path), content_type).await.map_err(backend("writing an object's type"))?;
        tokio::fs::rename(&staging, &path).await.map_err(backend("storing an object"))?;
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
