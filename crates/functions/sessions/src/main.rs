//! Lambda function: public session reads (`GET /public/sessions/{access_token}[/workflow]`).

use kyc_http::{app, routes, AppState};
use kyc_runtime::{init_logging, serve_lambda, services, Config};

// One event at a time per instance: one thread, none to wake (and, under the CPU quota of a
// small function, none to spend the quota on); see README "Size and cold start".
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), kyc_runtime::Error> {
    let config = Config::from_env()?;
    init_logging(config.log_format);
    let state = AppState::new(services(&config).await?);
    serve_lambda(app(routes::sessions::router(), state)).await
}
