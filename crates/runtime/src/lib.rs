//! Process bootstrap shared by every binary: one typed config read at start, logging, the store
//! the config names, and serving a router on Lambda.

pub mod config;
mod lambda;
mod logging;

pub use config::Config;
pub use lambda::{serve_lambda, with_api_gateway_request_id};
/// The error type of a function's `main`.
pub use lambda_http::Error;
pub use logging::init_logging;

use kyc_core::ports::{Blobs, SystemClock, Table};
use kyc_core::services::{Ports, Services, Settings};
use std::sync::Arc;

/// Opens the store the config names (for DynamoDB, loading the AWS environment: region and
/// credentials).
pub async fn open_table(config: &Config) -> anyhow::Result<Arc<dyn Table>> {
    match &config.store {
        config::Store::Sqlite { path } => Ok(Arc::new(kyc_local::SqliteTable::open(path)?)),
        config::Store::DynamoDb { table, endpoint, cursor_secret } => {
            let client = kyc_aws::dynamodb_client(endpoint.as_deref()).await;
            Ok(Arc::new(kyc_aws::DynamoTable::new(client, table, cursor_secret.expose())))
        }
    }
}

/// Opens the document store the config names.
pub fn open_blobs(config: &Config) -> anyhow::Result<Arc<dyn Blobs>> {
    Ok(Arc::new(local_blobs(config)?))
}

/// The filesystem document store, whose signed URLs the dev server serves.
pub fn local_blobs(config: &Config) -> anyhow::Result<kyc_local::FsBlobs> {
    match &config.blobs {
        config::BlobStore::Filesystem { root } => kyc_local::FsBlobs::open(root, &config.public_base_url),
    }
}

/// Builds the services on the configured adapters and the system clock.
pub async fn services(config: &Config) -> anyhow::Result<Services> {
    let settings = Settings {
        public_base_url: config.public_base_url.clone(),
        default_session_ttl_seconds: config.session_ttl_seconds,
        uploads: config.uploads.clone(),
        liveness_max_failed_attempts: config.liveness_max_failed_attempts,
    };
    let blobs = open_blobs(config)?;
    let ports = Ports {
        table: open_table(config).await?,
        blobs: blobs.clone(),
        clock: Arc::new(SystemClock),
        liveness: None,
        test_extractor: Arc::new(kyc_local::LocalExtractor::new(blobs.clone(), true)),
        live_extractor: Arc::new(kyc_local::LocalExtractor::new(blobs, false)),
    };
    Ok(Services::new(ports, settings))
}
