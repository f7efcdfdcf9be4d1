//! Lambda function: the tenant API (`/v1/…`, API-key authenticated).

use kyc_http::{app, routes, AppState};
use kyc_runtime::{init_logging, serve_lambda, services, Config};

#[tokio::main]
async fn main() -> Result<(), kyc_runtime::Error> {
    let config = Config::from_env()?;
    init_logging(config.log_format);
    let state = AppState::new(services(&config).await?);
    serve_lambda(app(routes::tenant::router(), state)).await
}
