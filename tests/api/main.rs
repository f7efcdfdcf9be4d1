//! End-to-end tests of the HTTP API through the real routers, on the embedded store.

mod envelope;
mod helpers;
mod public_reads;
mod round_trips;
mod tenant_api;
