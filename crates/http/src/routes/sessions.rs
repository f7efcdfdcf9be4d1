//! Public session reads, authorized only by the access token in the path.

use crate::envelope::{ok, Success};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use kyc_core::services::{PublicSessionState, PublicWorkflow};

/// `GET /public/sessions/{access_token}` and `GET /public/sessions/{access_token}/workflow`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/sessions/{access_token}", get(session_state))
        .route("/public/sessions/{access_token}/workflow", get(workflow))
}

async fn session_state(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Success<PublicSessionState>, ApiError> {
    Ok(ok(state.services.public_state(&token).await?))
}

async fn workflow(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Success<PublicWorkflow>, ApiError> {
    Ok(ok(state.services.public_workflow(&token).await?))
}
