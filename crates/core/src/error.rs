//! The one semantic error of the core layer, mapped to HTTP exactly once by the HTTP crate.

use crate::ports::table::StoreError;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or breaks a rule; the message is safe to show to the client.
    #[error("{0}")]
    Validation(String),
    /// The request lost a race or clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The operation is not allowed in the current state.
    #[error("{0}")]
    Forbidden(String),
    /// The thing was already done and cannot be done again; `code` names it (`ALREADY_REVIEWED`).
    #[error("{message}")]
    AlreadyDone { code: &'static str, message: String },
    /// The request is well formed but the resource's state rules it out; `code` names the rule
    /// (`NOT_REVIEWABLE`) and the message the state.
    #[error("{message}")]
    WrongState { code: &'static str, message: String },
    /// An upstream provider failed; `code` names what failed (`EXTRACTION_FAILED`), the message is
    /// safe to show and the cause was logged where it happened.
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// The idempotency key was used before with a different request (method, path or body).
    #[error("{0}")]
    IdempotencyConflict(String),
    /// The first request with this idempotency key is still running; retry later.
    #[error("{0}")]
    IdempotencyInProgress(String),
    /// Missing or invalid credentials.
    #[error("Invalid or missing API key")]
    Unauthorized,
    /// A failure that is not the client's fault; the cause is logged, never sent.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ConditionFailed { .. } => {
                Error::conflict("The resource was changed by another request; reload and retry")
            }
            StoreError::Invalid(message) => {
                Error::Unexpected(anyhow::anyhow!("store request rejected: {message}"))
            }
            StoreError::Backend(cause) => Error::Unexpected(cause.context("store backend failed")),
        }
    }
}
