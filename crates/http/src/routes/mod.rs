//! One router per route group; each maps to one Lambda function.

pub mod extract;
pub mod liveness;
pub mod sessions;
pub mod subsessions;
pub mod tenant;
pub mod uploads;

use crate::AppState;
use axum::Router;

/// Every route group in one router, as the dev server serves them.
pub fn all() -> Router<AppState> {
    sessions::router()
        .merge(uploads::router())
        .merge(extract::router())
        .merge(liveness::router())
        .merge(subsessions::router())
        .merge(tenant::router())
}
