//! Lambda function: reads outbox events from the table's stream (filtered to `EVENT#` inserts),
//! creates one delivery per subscribed endpoint and queues them for the delivery function.

use kyc_runtime::webhooks::{fan_out_stream_batch, webhook_queue};
use kyc_runtime::{init_logging, services, Config};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

// One event at a time per instance: one thread, none to wake (and, under the CPU quota of a
// small function, none to spend the quota on); see README "Size and cold start".
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), kyc_runtime::Error> {
    let config = Config::from_env()?;
    init_logging(config.log_format);
    let services = Arc::new(services(&config).await?);
    let queue = Arc::new(webhook_queue(&config).await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (services, queue) = (Arc::clone(&services), Arc::clone(&queue));
        async move {
            Ok::<_, kyc_runtime::Error>(fan_out_stream_batch(&services, queue.as_ref(), &event.payload).await)
        }
    }))
    .await
}
