//! Public document uploads: presigned init → PUT → confirm, and the legacy base64 endpoints.

use crate::envelope::{created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::Router;
use kyc_core::services::{
    Base64Upload, ConfirmUpload, DocumentUploaded, InitUpload, UploadConfirmed, UploadInitialized,
};

/// API Gateway's payload limit: the legacy endpoints take bodies up to this size.
pub const LEGACY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Upload init/confirm and the base64 upload (with its `/documents` alias).
pub fn router() -> Router<AppState> {
    let legacy = post(upload_base64).layer(DefaultBodyLimit::max(LEGACY_BODY_LIMIT));
    Router::new()
        .route("/public/sessions/{access_token}/upload/init", post(init))
        .route("/public/sessions/{access_token}/upload/confirm", post(confirm))
        .route("/public/sessions/{access_token}/upload", legacy.clone())
        .route("/public/sessions/{access_token}/documents", legacy)
}

async fn init(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<InitUpload>,
) -> Result<Success<UploadInitialized>, ApiError> {
    Ok(created(state.services.init_upload(&token, request).await?))
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<ConfirmUpload>,
) -> Result<Success<UploadConfirmed>, ApiError> {
    Ok(ok(state.services.confirm_upload(&token, request).await?))
}

async fn upload_base64(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<Base64Upload>,
) -> Result<Success<DocumentUploaded>, ApiError> {
    // The contract answers the legacy upload with 200 (the presigned init, which creates a
    // pending document, answers 201).
    Ok(ok(state.services.upload_base64(&token, request).await?))
}
