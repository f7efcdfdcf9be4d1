//! One router per route group; each maps to one Lambda function.

pub mod sessions;
pub mod tenant;
pub mod uploads;
