//! Local dev server: every route group at its real path, on the embedded SQLite store, with a
//! seeded demo tenant. Started by `make dev`.

mod seed;
mod web;

use kyc_core::services::Services;
use kyc_http::{app, routes, AppState};
use kyc_outbound::HttpWebhookSender;
use kyc_runtime::{init_logging, local_blobs, services, Config};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::CorsLayer;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    init_logging(config.log_format);
    // Sanctions screening follows KYC_SCREENING: by default the fictional lists committed in
    // crates/screening/fixtures.
    let services = services(&config).await?.with_webhook_sender(Arc::new(HttpWebhookSender::new()));
    let demo = seed::ensure_demo(&services, &config.public_base_url, Path::new(".dev/demo.json")).await?;
    let state = AppState::new(services);
    let blobs = local_blobs(&config)?;
    let every = Duration::from_secs(config.sweep_interval_seconds);
    tokio::spawn(sweep_forever(state.services.clone(), blobs.clone(), every));
    tokio::spawn(deliver_webhooks_forever(state.services.clone()));
    let routes = routes::all();
    let mut app = app(routes, state);
    // Presigned upload/download URLs point here when documents live on the local filesystem
    // (with KYC_BLOBS=s3 they point at the bucket, whose lifecycle rule expires unconfirmed uploads).
    if let Some(blobs) = blobs {
        app = app.merge(kyc_local::blob_server::router(blobs));
    }
    // The hosted frontend may run on another origin and call the API (and the upload URLs) from
    // the browser: the configured origins may, as API Gateway allows `FrontendOrigin` on AWS.
    let app = app.layer(cors(&config.frontend_origins)?);
    // The reference frontend (web/app): a browser opening a session's link gets the app.
    let app = app.merge(web::router(&config)).layer(axum::middleware::from_fn(web::open_links_in_the_app));
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port))).await?;
    print_banner(&demo);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}

/// The in-process twin of the sweeper function (and of the bucket's lifecycle rule): the same
/// service, on a timer instead of a schedule. A failed sweep is logged and retried at the next tick.
async fn sweep_forever(services: Arc<Services>, blobs: Option<kyc_local::FsBlobs>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Some(blobs) = &blobs {
            let now = time::OffsetDateTime::now_utc();
            match blobs.sweep_unconfirmed_uploads(now, UNCONFIRMED_UPLOAD_LIFETIME).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "unconfirmed uploads removed"),
                Err(error) => {
                    tracing::warn!(error = %error, "upload sweep failed; retrying at the next tick")
                }
            }
        }
        match services.sweep_expired(SESSIONS_PER_SWEEP).await {
            Ok(report) if report.expired > 0 => {
                tracing::info!(expired = report.expired, more = report.more, "expiry sweep")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "expiry sweep failed; retrying at the next tick"),
        }
        match services.sweep_retention(SESSIONS_PER_SWEEP).await {
            Ok(report) if report.redacted > 0 => {
                tracing::info!(redacted = report.redacted, more = report.more, "retention sweep")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "retention sweep failed; retrying at the next tick"),
        }
    }
}

/// The in-process twin of webhook delivery on AWS: every second, fan out new outbox events and
/// make the attempts that are due, on the same schedule (scaled by `KYC_WEBHOOK_RETRY_SCALE`).
async fn deliver_webhooks_forever(services: Arc<Services>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match services.dispatch_webhooks(WEBHOOKS_PER_TICK).await {
            Ok(report) if report.attempts > 0 => {
                tracing::info!(attempts = report.attempts, delivered = report.delivered, "webhook deliveries")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "webhook dispatch failed; retrying"),
        }
    }
}

/// Events fanned out, and attempts made, per shard and tick at most.
const WEBHOOKS_PER_TICK: usize = 50;

/// How long an upload may wait for its confirmation (the bucket's lifecycle rule on AWS).
const UNCONFIRMED_UPLOAD_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Sessions one local sweep expires at most.
const SESSIONS_PER_SWEEP: usize = 500;

/// CORS for the configured frontend origins: the public routes' methods and `content-type` (the
/// tenant API is called from servers, so `authorization` is not allowed across origins), and `PUT`
/// for the local upload URLs.
fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    use axum::http::{header, HeaderValue, Method};
    let origins = origins.iter().map(|o| HeaderValue::from_str(o)).collect::<Result<Vec<_>, _>>()?;
    Ok(CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600)))
}

fn print_banner(demo: &seed::Demo) {
    let seed::Demo { base_url, api_key, workflow_id, session_id, access_token, .. } = demo;
    println!(
        r#"
KYC backend running at {base_url}   (Ctrl-C stops it; demo data in .dev/demo.json)

  API key (test mode)  {api_key}
  Workflow             {workflow_id}
  Session              {session_id}
  Public URL           {base_url}/public/sessions/{access_token}

Open the public URL in a browser to walk through the demo session (the reference frontend, web/app).

Try it:
  curl -s {base_url}/public/sessions/{access_token}
  curl -s {base_url}/public/sessions/{access_token}/workflow
  curl -s {base_url}/v1/sessions/{session_id} -H "Authorization: Bearer {api_key}"
  curl -s -X POST {base_url}/v1/sessions -H "Authorization: Bearer {api_key}" \
       -H "Content-Type: application/json" -d '{{"workflow_id":"{workflow_id}"}}'
"#
    );
}
