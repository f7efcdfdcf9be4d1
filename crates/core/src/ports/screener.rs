//! The sanctions screening port: a name (with what else is known) against the lists the
//! deployment loaded.

use crate::domain::checks::ListMatch;
use async_trait::async_trait;
use time::Date;

/// Who is screened: the end user, or a related party known by name only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreeningSubject {
    pub name: String,
    pub date_of_birth: Option<Date>,
    /// ISO 3166-1 alpha-2 or alpha-3.
    pub nationality: Option<String>,
}

/// The matches of one subject, and the version of the lists screened against.
#[derive(Clone, Debug, PartialEq)]
pub struct Screening {
    pub index_version: String,
    pub matches: Vec<ListMatch>,
}

/// Failures to screen (lists not loaded); causes are for logs only.
#[derive(Debug, thiserror::Error)]
#[error("sanctions screening failed: {0:#}")]
pub struct ScreenerError(#[from] pub anyhow::Error);

impl From<ScreenerError> for crate::Error {
    fn from(error: ScreenerError) -> Self {
        crate::Error::Unexpected(error.0)
    }
}

/// Screens names against sanctions lists.
#[async_trait]
pub trait Screener: Send + Sync {
    async fn screen(&self, subject: &ScreeningSubject) -> Result<Screening, ScreenerError>;
}
