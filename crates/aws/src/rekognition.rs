//! Face liveness and face comparison with Amazon Rekognition.
//!
//! - [`LivenessProvider::create_session`] is `CreateFaceLivenessSession`, whose reference image
//!   (and up to [`RekognitionLiveness::with_audit_images_limit`] audit images, none by default)
//!   Rekognition writes to the documents bucket under the given prefix, as
//!   `{prefix}/{session id}/reference.jpg`. The browser's liveness component streams the video
//!   with the session id; that needs `rekognition:StartFaceLivenessSession` on the browser's own
//!   credentials (for example a Cognito identity pool), not the function's.
//! - [`LivenessProvider::results`] is `GetFaceLivenessSessionResults`: its status, its confidence
//!   (0–100) and the object key of its reference image. An unknown or expired-and-purged session
//!   id (`SessionNotFoundException`) is a provider error: the service only asks about sessions
//!   it created.
//! - [`LivenessProvider::compare_faces`] is `CompareFaces` on two objects of the bucket, with a
//!   similarity threshold of 0 so that every face match is reported and the service's own
//!   threshold decides. No face in either image (`InvalidParameterException`) or an image
//!   Rekognition cannot decode (`InvalidImageFormatException`, e.g. a PDF portrait) is "no
//!   match", `None`; every other failure is a provider error.
//!
//! Throttling (`ThrottlingException`, `ProvisionedThroughputExceededException`) and 5xx answers
//! are retried by the SDK's standard retry strategy, which [`rekognition_client`] makes sure is
//! on.
//!
//! # Cost and deployment
//!
//! Approximate list prices of the lowest-volume tier in us-east-1, as remembered at the time of
//! writing and not checked against the live pricing page (check it for your region): a Face
//! Liveness check ≈ $0.015 per session, a `CompareFaces` call ≈ $0.001 (an image API). Add
//! S3 storage of the reference (and any audit) images. The function's role needs
//! `rekognition:CreateFaceLivenessSession`, `rekognition:GetFaceLivenessSessionResults`,
//! `rekognition:CompareFaces`, `s3:PutObject` on the liveness prefix and `s3:GetObject` on the
//! bucket (Rekognition reads and writes with the caller's credentials). Face Liveness is
//! offered in a handful of regions only.

use std::fmt;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_rekognition::config::retry::RetryConfig;
use aws_sdk_rekognition::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rekognition::types::{
    CreateFaceLivenessSessionRequestSettings, Image, LivenessOutputConfig, LivenessSessionStatus, S3Object,
};
use aws_sdk_rekognition::Client;
use kyc_core::ports::liveness::{LivenessProvider, ProviderError, ProviderResult, ProviderStatus};

/// A Rekognition client from the shared AWS configuration, with the SDK's standard retry
/// strategy (3 attempts, exponential backoff with jitter) unless the configuration names a retry
/// policy of its own (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`).
pub fn rekognition_client(shared: &SdkConfig) -> Client {
    let mut config = aws_sdk_rekognition::config::Builder::from(shared);
    if shared.retry_config().is_none() {
        config = config.retry_config(RetryConfig::standard());
    }
    Client::from_conf(config.build())
}

/// The [`LivenessProvider`] of live-mode sessions on AWS; see the module docs.
///
/// Cloning is cheap and shares the SDK client.
#[derive(Clone)]
pub struct RekognitionLiveness {
    client: Client,
    bucket: Arc<str>,
    audit_images_limit: i32,
}

impl fmt::Debug for RekognitionLiveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RekognitionLiveness")
            .field("bucket", &self.bucket)
            .field("audit_images_limit", &self.audit_images_limit)
            .finish_non_exhaustive()
    }
}

impl RekognitionLiveness {
    /// Most audit images Rekognition writes per session.
    pub const MAX_AUDIT_IMAGES: u8 = 4;

    /// Writes liveness images to, and compares faces of objects in, `bucket` (the documents
    /// bucket) through `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: Arc::from(bucket.into()), audit_images_limit: 0 }
    }

    /// [`RekognitionLiveness::new`] with a [`rekognition_client`] built from `shared`.
    pub fn from_sdk_config(shared: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self::new(rekognition_client(shared), bucket)
    }

    /// Also keeps up to `limit` audit images per session (at most
    /// [`MAX_AUDIT_IMAGES`](Self::MAX_AUDIT_IMAGES); none by default, since the reference image
    /// is what the service uses and fewer face images stored is better).
    pub fn with_audit_images_limit(mut self, limit: u8) -> Self {
        self.audit_images_limit = i32::from(limit.min(Self::MAX_AUDIT_IMAGES));
        self
    }

    fn image(&self, key: &str) -> Image {
        Image::builder().s3_object(S3Object::builder().bucket(self.bucket.as_ref()).name(key).build()).build()
    }
}

fn provider_error(operation: &str, error: impl std::error::Error + Send + Sync + 'static) -> ProviderError {
    ProviderError::Backend(anyhow!("Rekognition {operation}: {}", DisplayErrorContext(&error)))
}

#[async_trait]
impl LivenessProvider for RekognitionLiveness {
    async fn create_session(&self, output_prefix: &str) -> Result<String, ProviderError> {
        let output_config = LivenessOutputConfig::builder()
            .s3_bucket(self.bucket.as_ref())
            .s3_key_prefix(output_prefix)
            .build()
            .context("building the liveness output config")?;
        let settings = CreateFaceLivenessSessionRequestSettings::builder()
            .output_config(output_config)
            .audit_images_limit(self.audit_images_limit)
            .build();
        let output = self
            .client
            .create_face_liveness_session()
            .settings(settings)
            .send()
            .await
            .map_err(|e| provider_error("CreateFaceLivenessSession", e))?;
        let session_id = output.session_id();
        if session_id.is_empty() {
            return Err(ProviderError::Backend(anyhow!(
                "Rekognition CreateFaceLivenessSession returned no SessionId"
            )));
        }
        Ok(session_id.to_owned())
    }

    async fn results(&self, session_id: &str) -> Result<ProviderResult, ProviderError> {
        let output = self
            .client
            .get_face_liveness_session_results()
            .session_id(session_id)
            .send()
            .await
            .map_err(|e| provider_error("GetFaceLivenessSessionResults", e))?;
        let status = match output.status() {
            LivenessSessionStatus::Created => ProviderStatus::Created,
            LivenessSessionStatus::InProgress => ProviderStatus::InProgress,
            LivenessSessionStatus::Succeeded => ProviderStatus::Succeeded,
            LivenessSessionStatus::Failed => ProviderStatus::Failed,
            LivenessSessionStatus::Expired => ProviderStatus::Expired,
            other => {
                return Err(ProviderError::Backend(anyhow!(
                    "Rekognition GetFaceLivenessSessionResults: unknown status {:?}",
                    other.as_str()
                )))
            }
        };
        let reference = output.reference_image().and_then(|image| image.s3_object());
        if let Some(bucket) = reference.and_then(|object| object.bucket()) {
            if bucket != self.bucket.as_ref() {
                return Err(ProviderError::Backend(anyhow!(
                    "Rekognition wrote the reference image of {session_id} to bucket {bucket}, not {}",
                    self.bucket
                )));
            }
        }
        let reference_image_key =
            reference.and_then(|object| object.name()).filter(|name| !name.is_empty()).map(str::to_owned);
        Ok(ProviderResult { status, confidence: output.confidence().map(f64::from), reference_image_key })
    }

    async fn compare_faces(&self, source_key: &str, target_key: &str) -> Result<Option<f64>, ProviderError> {
        let result = self
            .client
            .compare_faces()
            .source_image(self.image(source_key))
            .target_image(self.image(target_key))
            .similarity_threshold(0.0)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error)
                if matches!(
                    error.code(),
                    Some("InvalidParameterException" | "InvalidImageFormatException")
                ) =>
            {
                tracing::warn!(
                    code = error.code(),
                    message = error.message(),
                    source_key,
                    target_key,
                    "no face to compare"
                );
                return Ok(None);
            }
            Err(error) => return Err(provider_error("CompareFaces", error)),
        };
        Ok(output.face_matches().iter().filter_map(|m| m.similarity()).map(f64::from).reduce(f64::max))
    }
}
