//! Core of the KYC onboarding backend: domain model, services, ports and the single-table codec.
//!
//! Nothing here knows about HTTP or AWS; adapters implement the [`ports`] and the HTTP layer calls
//! the [`services`].

pub mod codec;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod ports;
pub mod services;

pub use error::{Error, Result};
