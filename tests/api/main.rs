//! End-to-end tests of the HTTP API through the real routers, on the embedded store.

mod api_keys;
mod corrections;
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
