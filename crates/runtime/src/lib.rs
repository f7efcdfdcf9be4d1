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

use kyc_core::ports::{SystemClock, Table};
use kyc_core::services::{Services, Settings};
use std::sync::Arc;

/// Opens the store the config names.
pub fn open_table(config: &Config) -> anyhow::Result<Arc<dyn Table>> {
    match &config.store {
        config::Store::Sqlite { path } => Ok(Arc::new(kyc_local::SqliteTable::open(path)?)),
    }
}

/// Builds the services on the configured store and the system clock.
pub fn services(config: &Config) -> anyhow::Result<Services> {
    let settings = Settings {
        public_base_url: config.public_base_url.clone(),
        default_session_ttl_seconds: config.session_ttl_seconds,
    };
    Ok(Services::new(open_table(config)?, Arc::new(SystemClock), settings))
}
