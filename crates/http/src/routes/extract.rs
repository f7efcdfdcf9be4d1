//! Public document extraction.

use crate::envelope::{ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use kyc_core::services::{ExtractRequest, ExtractionView};

/// `POST /public/sessions/{access_token}/extract`.
pub fn router() -> Router<AppState> {
    Router::new().route("/public/sessions/{access_token}/extract", post(extract))
}

async fn extract(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<ExtractRequest>,
) -> Result<Success<ExtractionView>, ApiError> {
    Ok(ok(state.services.extract_document(&token, request).await?))
}
