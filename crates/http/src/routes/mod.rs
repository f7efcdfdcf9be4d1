//! One router per route group; each maps to one Lambda function.

pub mod extract;
pub mod liveness;
pub mod sessions;
pub mod subsessions;
pub mod tenant;
pub mod uploads;
