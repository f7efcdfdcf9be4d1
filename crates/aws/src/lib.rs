//! AWS adapters of the KYC backend's ports.
//!
//! - [`DynamoTable`]: the single-table [`Table`](kyc_core::ports::Table) port on DynamoDB,
//!   proven by the same conformance suite as the SQLite adapter (against an emulator; see
//!   `crates/aws/tests/conformance.rs`).
//! - [`create_table`]: creates the table schema the adapter expects (tests, local emulators).
//! - [`dynamodb_client`]: an SDK client configured from the environment, as on Lambda.
//! - [`S3Blobs`]: the [`Blobs`](kyc_core::ports::Blobs) port on an S3 bucket, proven by the same
//!   conformance suite as the filesystem adapter (see `crates/aws/tests/blobs_conformance.rs`);
//!   [`s3_client`] builds its client.
//! - [`TextractExtractor`]: the [`Extractor`](kyc_core::ports::Extractor) port on Amazon Textract
//!   (DetectDocumentText + MRZ first, AnalyzeID when needed; costs in its module docs).
//! - [`RekognitionLiveness`]: the [`LivenessProvider`](kyc_core::ports::LivenessProvider) port
//!   on Amazon Rekognition Face Liveness and CompareFaces.

#![warn(missing_docs)]

mod cursor;
mod dynamo_table;
#[cfg(feature = "rekognition")]
mod rekognition;
mod s3_blobs;
#[cfg(feature = "textract")]
mod textract;

/// The AWS SDK's configuration loader, re-exported so the runtime can load one shared
/// [`SdkConfig`](aws_config::SdkConfig) for every client.
pub use aws_config;
pub use dynamo_table::{create_table, DynamoTable, GSI1_INDEX_NAME};
#[cfg(feature = "rekognition")]
pub use rekognition::{rekognition_client, RekognitionLiveness};
pub use s3_blobs::S3Blobs;
#[cfg(feature = "textract")]
pub use textract::{textract_client, TextractExtractor};

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// An HTTPS client on rustls with the `ring` crypto provider, for every AWS SDK client.
///
/// The SDK's default client uses aws-lc, which is slower to build; the crate turns the default
/// off and supplies this one instead.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// Builds a DynamoDB client from the standard AWS environment (region, credentials chain, and
/// `AWS_ENDPOINT_URL*` variables), optionally sending DynamoDB requests to `endpoint` instead of
/// AWS (a local emulator such as moto or DynamoDB Local).
pub async fn dynamodb_client(endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// Builds an S3 client from the standard AWS environment, optionally sending S3 requests to
/// `endpoint` instead of AWS (a local emulator such as moto). With an endpoint, buckets are
/// addressed by path (`{endpoint}/{bucket}/{key}`), as emulators on one host name need.
pub async fn s3_client(endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}
