//! AWS adapters of the KYC backend's ports.
//!
//! - [`DynamoTable`]: the single-table [`Table`](kyc_core::ports::Table) port on DynamoDB,
//!   proven by the same conformance suite as the SQLite adapter (against an emulator; see
//!   `crates/aws/tests/conformance.rs`).
//! - [`create_table`]: creates the table schema the adapter expects (tests, local emulators).
//! - [`load_sdk_config`]: the AWS environment, loaded once per process for every client, with
//!   [`https_client`] (rustls, trusting only AWS's root CAs); [`dynamodb_client`] and
//!   [`s3_client`] build clients on it.
//! - [`S3Blobs`]: the [`Blobs`](kyc_core::ports::Blobs) port on an S3 bucket, proven by the same
//!   conformance suite as the filesystem adapter (see `crates/aws/tests/blobs_conformance.rs`).
//! - [`TextractExtractor`]: the [`Extractor`](kyc_core::ports::Extractor) port on Amazon Textract
//!   (DetectDocumentText + MRZ first, AnalyzeID when needed; costs in its module docs).
//! - [`RekognitionLiveness`]: the [`LivenessProvider`](kyc_core::ports::LivenessProvider) port
//!   on Amazon Rekognition Face Liveness and CompareFaces.
//! - [`SqsDeliveryQueue`]: the [`DeliveryQueue`](kyc_core::ports::DeliveryQueue) port on Amazon
//!   SQS, whose visibility timeouts schedule webhook retries.

#![warn(missing_docs)]

mod cursor;
mod dynamo_table;
mod https;
#[cfg(feature = "rekognition")]
mod rekognition;
mod s3_blobs;
#[cfg(feature = "sqs")]
mod sqs_queue;
#[cfg(feature = "textract")]
mod textract;

/// The AWS configuration every client of a process shares (see [`load_sdk_config`]).
pub use aws_config::SdkConfig;
pub use dynamo_table::{create_table, index_name, DynamoTable, GSI1_INDEX_NAME, GSI2_INDEX_NAME};
#[cfg(feature = "test-ca")]
pub use https::TEST_CA_FILE_VAR;
pub use https::{https_client, AWS_ROOT_CAS_PEM};
#[cfg(feature = "rekognition")]
pub use rekognition::{rekognition_client, RekognitionLiveness};
pub use s3_blobs::S3Blobs;
#[cfg(feature = "sqs")]
pub use sqs_queue::{sqs_client, SqsDeliveryQueue, MAX_VISIBILITY_SECONDS};
#[cfg(feature = "textract")]
pub use textract::{textract_client, TextractExtractor};

use aws_config::BehaviorVersion;

/// Loads the AWS environment once for every client of a process: region, the credentials chain
/// (environment variables first, as on Lambda) and `AWS_ENDPOINT_URL*` overrides, with
/// [`https_client`]. Makes no request: credentials are fetched when a client first signs one.
///
/// When the environment holds credentials (`AWS_ACCESS_KEY_ID`; on Lambda it always does, from
/// the function's role), they are used directly, as the default chain would use them first
/// anyway: building that chain (its web-identity provider builds an STS client, endpoint rules
/// included) was most of the SDK's share of a cold start (`make bench-cold`).
pub async fn load_sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// A DynamoDB client on the shared configuration, optionally sending its requests to `endpoint`
/// instead of AWS (a local emulator such as moto or DynamoDB Local).
pub fn dynamodb_client(shared: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// An S3 client on the shared configuration, optionally sending its requests to `endpoint`
/// instead of AWS (a local emulator such as moto). With an endpoint, buckets are addressed by
/// path (`{endpoint}/{bucket}/{key}`), as emulators on one host name need.
pub fn s3_client(shared: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut config = aws_sdk_s3::config::Builder::from(shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}
