//! Public liveness routes: start an attempt, complete it with the provider's verdict.

use crate::envelope::SuccessBody;
use crate::envelope::{created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::PublicErrors;
use crate::AppState;
use axum::extract::State;
use axum::Router;
use kyc_core::services::{CompleteLiveness, LivenessCompleted, LivenessStarted, StartLiveness};

/// `POST …/liveness/start` and `POST …/liveness/complete`.
pub fn router() -> Router<AppState> {
    routed()
}

route_group!([start, complete]);

/// Starts a face liveness attempt (a provider session, or the sandbox in test mode).
#[utoipa::path(post, path = "/public/sessions/{access_token}/liveness/start", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body(content = StartLiveness, example = json!({"step_id": "liveness", "test_outcome": "pass"})),
    responses((status = 201, description = "The attempt, with what the browser component needs", body = SuccessBody<LivenessStarted>), PublicErrors))]
async fn start(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<StartLiveness>,
) -> Result<Success<LivenessStarted>, ApiError> {
    Ok(created(state.services.start_liveness(&token, request).await?))
}

/// Completes a liveness attempt with the provider's verdict (and the face match, where asked).
#[utoipa::path(post, path = "/public/sessions/{access_token}/liveness/complete", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body = CompleteLiveness,
    responses((status = 200, description = "The attempt's outcome", body = SuccessBody<LivenessCompleted>), PublicErrors))]
async fn complete(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<CompleteLiveness>,
) -> Result<Success<LivenessCompleted>, ApiError> {
    Ok(ok(state.services.complete_liveness(&token, request).await?))
}
