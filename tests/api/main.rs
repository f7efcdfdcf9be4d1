//! End-to-end tests of the HTTP API through the real routers, on the embedded store.

mod corrections;
mod envelope;
mod helpers;
mod lifecycle;
mod public_reads;
mod round_trips;
mod steps;
mod tenant_api;
mod uploads;
