//! Lambda function: the expiry sweeper, invoked by an EventBridge schedule. Each run expires up to
//! `SESSIONS_PER_RUN` due sessions (a longer backlog is finished by the next runs), and queues
//! again the webhook deliveries whose stream record or queue message was lost, and redacts up to
//! `REDACTIONS_PER_RUN` sessions past their retention (or whose redaction was interrupted). A failed run is a
//! Lambda error (it shows in the function's error metric and is retried by the schedule).

use kyc_runtime::webhooks::webhook_queue;
use kyc_runtime::{init_logging, services, Config};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::sync::Arc;

/// Sessions one run expires at most: well inside the function's timeout at ~2 requests each.
const SESSIONS_PER_RUN: usize = 2_000;
/// Sessions one run redacts at most (each deletes its objects and rewrites its items).
const REDACTIONS_PER_RUN: usize = 200;
/// A webhook delivery (or outbox event) this much overdue lost its queue message (stream record).
const STRAGGLER_SECONDS: i64 = 15 * 60;
/// Stragglers read per index shard and run.
const STRAGGLERS_PER_SHARD: usize = 100;

// One event at a time per instance: one thread, none to wake (and, under the CPU quota of a
// small function, none to spend the quota on); see README "Size and cold start".
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), kyc_runtime::Error> {
    let config = Config::from_env()?;
    init_logging(config.log_format);
    let services = Arc::new(services(&config).await?);
    let queue = Arc::new(webhook_queue(&config).await?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (services, queue) = (Arc::clone(&services), Arc::clone(&queue));
        async move {
            let report = services.sweep_expired(SESSIONS_PER_RUN).await?;
            let retention = services.sweep_retention(REDACTIONS_PER_RUN).await?;
            let requeued =
                services.requeue_stragglers(queue.as_ref(), STRAGGLER_SECONDS, STRAGGLERS_PER_SHARD).await?;
            tracing::info!(
                expired = report.expired,
                skipped = report.skipped,
                more = report.more,
                requeued,
                redacted = retention.redacted,
                "sweep done"
            );
            Ok::<_, kyc_runtime::Error>(json!({
                "expired": report.expired,
                "skipped": report.skipped,
                "more": report.more,
                "requeued_deliveries": requeued,
                "redacted": retention.redacted,
                "more_to_redact": retention.more,
            }))
        }
    }))
    .await
}
