//! End-to-end tests of the HTTP API through the real routers, on the embedded store.

mod envelope;
mod helpers;
mod logs;
mod public_reads;
mod round_trips;
mod steps;
mod tenant_api;
