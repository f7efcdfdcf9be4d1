//! The domain model: checked types, no I/O.

pub mod checks;
pub mod correction;
pub mod countries;
pub mod decision;
pub mod document;
pub mod evidence;
pub mod extraction;
pub mod files;
pub mod form;
pub mod history;
pub mod idempotency;
pub mod ids;
pub mod liveness;
pub mod mrz;
pub mod redaction;
pub mod screening;
pub mod secrets;
pub mod session;
pub mod tenant;
pub mod time;
pub mod webhooks;
pub mod workflow;
