//! The domain model: checked types, no I/O.

pub mod countries;
pub mod form;
pub mod ids;
pub mod secrets;
pub mod session;
pub mod tenant;
pub mod time;
pub mod workflow;
