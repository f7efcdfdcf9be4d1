//! Use cases, written against the ports. One `Services` value is built per process and shared by
//! every request (it holds the store handle and the warm token cache).

mod changes;
mod progress;
mod public_view;
mod review;
mod sessions;
mod steps;
mod tenants;
mod token_cache;
mod workflows;

pub use changes::CONCURRENT_CHANGE;
pub use public_view::{PublicCorrection, PublicDocument, PublicSessionState, PublicStep, PublicWorkflow};
pub use review::{CorrectionItem, RequestCorrections, MAX_CORRECTIONS_PER_REQUEST};
pub use sessions::{CreateSession, CreatedSession, TenantSessionView, TenantStepView};
pub use steps::StepCompleted;
pub use tenants::IssuedApiKey;

use crate::domain::time::Timestamp;
use crate::ports::{Clock, Table};
use std::sync::Arc;
use token_cache::TokenCache;

/// Deployment settings the services need.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL that public session links are built on (no trailing slash).
    pub public_base_url: String,
    /// Lifetime of a new session when the tenant does not choose one.
    pub default_session_ttl_seconds: i64,
}

/// Longest lifetime a tenant may give a session (90 days).
pub const MAX_SESSION_TTL_SECONDS: i64 = 90 * 24 * 3600;
/// Shortest lifetime a tenant may give a session.
pub const MIN_SESSION_TTL_SECONDS: i64 = 60;

/// The application's use cases.
pub struct Services {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    tokens: TokenCache,
}

impl Services {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self { table, clock, settings, tokens: TokenCache::default() }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(self.clock.now())
    }

    /// The public link of a session's access token.
    fn public_url(&self, token: &str) -> String {
        format!("{}/public/sessions/{token}", self.settings.public_base_url.trim_end_matches('/'))
    }
}
