//! Public liveness routes: start an attempt, complete it with the provider's verdict.

use crate::envelope::{created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use kyc_core::services::{CompleteLiveness, LivenessCompleted, LivenessStarted, StartLiveness};

/// `POST …/liveness/start` and `POST …/liveness/complete`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/sessions/{access_token}/liveness/start", post(start))
        .route("/public/sessions/{access_token}/liveness/complete", post(complete))
}

async fn start(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<StartLiveness>,
) -> Result<Success<LivenessStarted>, ApiError> {
    Ok(created(state.services.start_liveness(&token, request).await?))
}

async fn complete(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<CompleteLiveness>,
) -> Result<Success<LivenessCompleted>, ApiError> {
    Ok(ok(state.services.complete_liveness(&token, request).await?))
}
