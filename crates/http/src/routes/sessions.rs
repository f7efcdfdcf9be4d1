//! Public session routes: reads and step completion, authorized only by the access token in the
//! path.

use crate::envelope::{ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use kyc_core::domain::form::FormData;
use kyc_core::services::{PublicSessionState, PublicWorkflow, StepCompleted};
use serde::Deserialize;

/// Session state, workflow definition and step completion.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/sessions/{access_token}", get(session_state))
        .route("/public/sessions/{access_token}/workflow", get(workflow))
        .route("/public/sessions/{access_token}/step/{step_id}/complete", post(complete_step))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteStep {
    #[serde(default)]
    form_data: Option<FormData>,
}

async fn complete_step(
    State(state): State<AppState>,
    Path((token, step_id)): Path<(String, String)>,
    Json(body): Json<CompleteStep>,
) -> Result<Success<StepCompleted>, ApiError> {
    Ok(ok(state.services.complete_step(&token, &step_id, body.form_data).await?))
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
