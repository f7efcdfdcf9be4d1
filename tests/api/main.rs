//! End-to-end tests of the HTTP API through the real routers, on the embedded store.

/// Runs each scenario once on a fresh SQLite store and once on a fresh DynamoDB table.
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::helpers::TestApp::spawn().await).await;
                }
            )+
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(app) = crate::helpers::TestApp::spawn_on_dynamodb().await else { return };
                    super::$name(app).await;
                }
            )+
        }
    };
}

mod api_keys;
mod corrections;
mod cost_counts;
mod decisions;
mod envelope;
mod expiry;
mod extract;
mod helpers;
mod idempotency;
mod lifecycle;
mod listing;
mod liveness;
mod public_reads;
mod redaction;
mod round_trips;
mod steps;
mod subsessions;
mod tenant_api;
mod upload_integrity;
mod uploads;
mod verification;
mod webhook_reference;
mod webhooks;
mod workflow_catalog;
