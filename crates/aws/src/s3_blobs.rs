//! The [`Blobs`] port on an S3 bucket.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use anyhow::anyhow;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use kyc_core::ports::blobs::{BlobError, Blobs, ObjectMeta, PutGrant};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Documents in one S3 bucket, uploaded and downloaded by the browser through presigned URLs.
///
/// What a presigned PUT enforces, and who checks the rest:
///
/// - **S3 enforces** the object key, the method, the expiry (SigV4 `X-Amz-Expires`, at most
///   7 days) and the `Content-Type`, which is a signed header: a PUT must send exactly the
///   granted type, or S3 answers `403 SignatureDoesNotMatch`. A tampered URL fails the same way,
///   an expired one with `403 AccessDenied`.
/// - **S3 enforces the exact size** when the grant declares one ([`PutGrant::size_bytes`]):
///   `Content-Length` is then a signed header too, and a body of another size fails the
///   signature.
/// - **S3 does not enforce** [`PutGrant::max_bytes`]: a presigned PUT cannot carry a size range
///   (only presigned POST policies can). Without a declared size, the upload confirmation step
///   re-checks the stored size ([`Blobs::head`]) and the magic bytes ([`Blobs::read_prefix`]) and
///   rejects what does not fit, so an oversize or mistyped object is never accepted, only stored
///   under the pending prefix until confirmation deletes it or the bucket's lifecycle rule
///   expires it.
///
/// Objects written through [`Blobs::put`] are encrypted at rest with SSE-S3 (AES-256).
///
/// [`Blobs::copy`] is a server-side `CopyObject` (objects up to 5 GB, far above any upload limit).
///
/// The role needs `s3:GetObject`, `s3:PutObject` and `s3:DeleteObject` on the objects (presigned
/// URLs act with the signer's permissions) and `s3:ListBucket` on the bucket: without it S3
/// answers a missing key with 403 instead of 404, and [`Blobs::head`] fails instead of returning
/// `None`.
#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: Arc<OnceLock<aws_sdk_s3::Client>>,
    /// How to build the client on first use, when it was not given.
    lazy: Option<Arc<(SdkConfig, Option<String>)>>,
    bucket: String,
}

impl S3Blobs {
    /// Objects in `bucket`, reached with `client` (see [`s3_client`](crate::s3_client)).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client: Arc::new(OnceLock::from(client)), lazy: None, bucket: bucket.into() }
    }

    /// Objects in `bucket`, reached with an [`s3_client`](crate::s3_client) on `shared` built
    /// when the first request needs it. Building an S3 client parses its endpoint rules, a
    /// noticeable part of a cold start that most functions' first requests never use (`make
    /// bench-cold`).
    pub fn lazy(shared: &SdkConfig, endpoint: Option<&str>, bucket: impl Into<String>) -> Self {
        Self {
            client: Arc::default(),
            lazy: Some(Arc::new((shared.clone(), endpoint.map(str::to_owned)))),
            bucket: bucket.into(),
        }
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        self.client.get_or_init(|| {
            let (shared, endpoint) = self.lazy.as_deref().expect("S3Blobs has a client or how to build one");
            crate::s3_client(shared, endpoint.as_deref())
        })
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// Signs from now until `expires_at`, in whole seconds (SigV4 counts seconds), rounded up.
fn presigning(expires_at: OffsetDateTime) -> Result<PresigningConfig, BlobError> {
    let now = OffsetDateTime::now_utc();
    if expires_at <= now {
        return Err(BlobError::Invalid(format!("presigned URL expiry {expires_at} is in the past")));
    }
    let remaining = expires_at - now;
    let seconds = remaining.whole_seconds().unsigned_abs() + u64::from(remaining.subsec_nanoseconds() != 0);
    PresigningConfig::builder()
        .start_time(SystemTime::from(now))
        .expires_in(Duration::from_secs(seconds))
        .build()
        .map_err(|e| BlobError::Invalid(format!("presigned URL expiry: {e}")))
}

fn backend<E>(context: &'static str) -> impl FnOnce(E) -> BlobError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| BlobError::Backend(anyhow::Error::new(error).context(context))
}

/// An SDK error with the service's code and message spelled out (the SDK's `Display` says only
/// "service error").
fn sdk<E, R>(context: &'static str) -> impl FnOnce(SdkError<E, R>) -> BlobError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |error| {
        let detail = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{context}: {code}: {message}"),
            (Some(code), None) => format!("{context}: {code}"),
            _ => context.to_owned(),
        };
        BlobError::Backend(anyhow::Error::new(error).context(detail))
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn presign_put(&self, grant: &PutGrant) -> Result<String, BlobError> {
        // The content type (and the declared size) are signed headers of the URL, so S3 refuses a
        // PUT with another one.
        let mut request =
            self.client().put_object().bucket(&self.bucket).key(&grant.key).content_type(&grant.content_type);
        if let Some(size) = grant.size_bytes {
            let size =
                i64::try_from(size).map_err(|_| BlobError::Invalid(format!("size {size} too large")))?;
            request = request.content_length(size);
        }
        let request =
            request.presigned(presigning(grant.expires_at)?).await.map_err(sdk("presigning an upload"))?;
        Ok(request.uri().to_owned())
    }

    async fn presign_get(&self, key: &str, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        let request = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(expires_at)?)
            .await
            .map_err(sdk("presigning a download"))?;
        Ok(request.uri().to_owned())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        match self.client().head_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => Ok(Some(ObjectMeta {
                size: output.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: output.content_type().map(str::to_owned),
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(sdk("reading object metadata")(error)),
        }
    }

    async fn read_prefix(&self, key: &str, len: usize) -> Result<Vec<u8>, BlobError> {
        if len == 0 {
            // No byte range is empty; only check that the object exists, as a read would.
            return match self.head(key).await? {
                Some(_) => Ok(Vec::new()),
                None => Err(BlobError::Backend(anyhow!("reading an object: {key:?} does not exist"))),
            };
        }
        let result = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", len - 1))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // S3 answers a range on an empty object with 416 Range Not Satisfiable.
            Err(error) if error.code() == Some("InvalidRange") => return Ok(Vec::new()),
            Err(error) => return Err(sdk("reading an object")(error)),
        };
        let mut bytes = output.body.collect().await.map_err(backend("reading an object"))?.to_vec();
        // A server that ignores the range sends everything.
        bytes.truncate(len);
        Ok(bytes)
    }

    async fn sha256(&self, key: &str) -> Result<String, BlobError> {
        let output = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(sdk("reading an object"))?;
        let mut body = output.body;
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.try_next().await.map_err(backend("reading an object"))? {
            hasher.update(&chunk);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.client()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(sdk("storing an object"))?;
        Ok(())
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        // The copy keeps the source's content type (metadata directive COPY, the default).
        self.client()
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{}", self.bucket, urlencoding(from)))
            .key(to)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(sdk("copying an object"))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        // S3 answers 204 whether or not the object existed.
        self.client()
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(sdk("deleting an object"))?;
        Ok(())
    }
}

/// A key as `x-amz-copy-source` wants it: percent-encoded except for `/` and unreserved bytes.
fn urlencoding(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_urls_last_until_the_expiry_rounded_up_to_a_second() {
        let now = OffsetDateTime::now_utc();
        let config = presigning(now + time::Duration::milliseconds(90_500)).unwrap();
        assert!((90..=91).contains(&config.expires().as_secs()), "{:?}", config.expires());
        assert_eq!(presigning(now + time::Duration::minutes(15)).unwrap().expires().as_secs(), 900);
    }

    #[test]
    fn past_and_overlong_expiries_are_invalid() {
        let now = OffsetDateTime::now_utc();
        assert!(matches!(presigning(now - time::Duration::seconds(1)), Err(BlobError::Invalid(_))));
        assert!(matches!(presigning(now + time::Duration::days(8)), Err(BlobError::Invalid(_))));
    }
}
