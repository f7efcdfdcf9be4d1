//! Lambda function: the sanctions list refresh, invoked by an EventBridge schedule (daily by
//! default). It downloads each configured official list, parses it, and publishes one index
//! object with a pointer the screening functions follow. A download or parse failure, or a list
//! that shrank more than `KYC_SCREENING_MAX_DROP` allows, publishes nothing: the index in service
//! stays, and the run fails (the function's error metric raises the refresh alarm).

use kyc_runtime::screening::refresh_lists;
use kyc_runtime::{init_logging, Config};
use kyc_screening::store::Publication;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), kyc_runtime::Error> {
    let config = Arc::new(Config::from_env()?);
    init_logging(config.log_format);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let config = Arc::clone(&config);
        async move {
            let (published, pointer) = match refresh_lists(&config).await {
                Ok(Publication::New(pointer)) => (true, pointer),
                Ok(Publication::Unchanged(pointer)) => (false, pointer),
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "sanctions list refresh refused; the index in service stays");
                    return Err(error.into());
                }
            };
            tracing::info!(version = %pointer.version, published, entries = ?pointer.entries, "sanctions lists refreshed");
            Ok::<_, kyc_runtime::Error>(json!({
                "version": pointer.version,
                "published": published,
                "entries": pointer.entries,
            }))
        }
    }))
    .await
}
