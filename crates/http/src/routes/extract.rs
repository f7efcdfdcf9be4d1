//! Public document extraction.

use crate::envelope::SuccessBody;
use crate::envelope::{ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::PublicErrors;
use crate::AppState;
use axum::extract::State;
use axum::Router;
use kyc_core::services::{ExtractRequest, ExtractionView};

/// `POST /public/sessions/{access_token}/extract`.
pub fn router() -> Router<AppState> {
    routed()
}

route_group!([extract]);

/// Reads a confirmed identity document (OCR and MRZ); the answer is what the end user confirms.
#[utoipa::path(post, path = "/public/sessions/{access_token}/extract", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body = ExtractRequest,
    responses((status = 200, description = "The data read from the document", body = SuccessBody<ExtractionView>), PublicErrors))]
async fn extract(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<ExtractRequest>,
) -> Result<Success<ExtractionView>, ApiError> {
    Ok(ok(state.services.extract_document(&token, request).await?))
}
