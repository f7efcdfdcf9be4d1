//! Public session routes: reads and step completion, authorized only by the access token in the
//! path.

use crate::envelope::SuccessBody;
use crate::envelope::{ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::PublicErrors;
use crate::AppState;
use axum::extract::State;
use axum::Router;
use kyc_core::domain::form::FormData;
use kyc_core::services::{PublicSessionState, PublicWorkflow, StepCompleted};
use serde::Deserialize;
use utoipa::ToSchema;

/// Session state, workflow definition and step completion.
pub fn router() -> Router<AppState> {
    routed()
}

route_group!([session_state, workflow, complete_step]);

/// Completes a step, with the form's answers for a `form_fill` step.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CompleteStep {
    /// Answers by field id.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    form_data: Option<FormData>,
}

/// Completes a step: checks its requirements (documents, liveness, form answers), records it and
/// moves the session on; the last step finishes the session.
#[utoipa::path(post, path = "/public/sessions/{access_token}/step/{step_id}/complete", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token"),
           ("step_id" = String, Path, description = "A step of the session's workflow")),
    request_body(content = CompleteStep, example = json!({"form_data": {"full_name": "Ada Lovelace"}})),
    responses((status = 200, description = "The step is complete", body = SuccessBody<StepCompleted>), PublicErrors))]
async fn complete_step(
    State(state): State<AppState>,
    Path((token, step_id)): Path<(String, String)>,
    Json(body): Json<CompleteStep>,
) -> Result<Success<StepCompleted>, ApiError> {
    Ok(ok(state.services.complete_step(&token, &step_id, body.form_data).await?))
}

/// The session as the end user sees it: status, steps, documents, branding, corrections.
#[utoipa::path(get, path = "/public/sessions/{access_token}", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    responses((status = 200, description = "The session's state", body = SuccessBody<PublicSessionState>), PublicErrors))]
async fn session_state(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Success<PublicSessionState>, ApiError> {
    Ok(ok(state.services.public_state(&token).await?))
}

/// The workflow the session follows (the version it was created with).
#[utoipa::path(get, path = "/public/sessions/{access_token}/workflow", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    responses((status = 200, description = "The session's workflow", body = SuccessBody<PublicWorkflow>), PublicErrors))]
async fn workflow(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Success<PublicWorkflow>, ApiError> {
    Ok(ok(state.services.public_workflow(&token).await?))
}
