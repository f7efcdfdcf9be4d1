//! Public document uploads: presigned init → PUT → confirm, and the legacy base64 endpoints.

use crate::envelope::SuccessBody;
use crate::envelope::{created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::PublicErrors;
use crate::AppState;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::Router;
use kyc_core::services::{
    Base64Upload, ConfirmUpload, DocumentUploaded, FileUpload, InitUpload, UploadConfirmed, UploadInitialized,
};
use utoipa::ToSchema;

/// API Gateway's payload limit: the legacy endpoints take bodies up to this size.
pub const LEGACY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Upload init/confirm and the base64 upload (with its `/documents` alias).
pub fn router() -> Router<AppState> {
    routed()
}

route_group!([init, confirm], [upload_base64, upload_base64_documents] with DefaultBodyLimit::max(LEGACY_BODY_LIMIT));

/// Starts a presigned upload: a pending document and the URL to PUT its bytes to.
#[utoipa::path(post, path = "/public/sessions/{access_token}/upload/init", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body(content = InitUpload, example = json!({"step_id": "id_document", "document_type": "id",
        "file_name": "passport.png", "mime_type": "image/png", "size_bytes": 1024})),
    responses((status = 201, description = "The upload URL, valid for a few minutes", body = SuccessBody<UploadInitialized>), PublicErrors))]
async fn init(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<InitUpload>,
) -> Result<Success<UploadInitialized>, ApiError> {
    Ok(created(state.services.init_upload(&token, request).await?))
}

/// Confirms a presigned upload once its bytes are PUT: checks size, type against magic bytes, and
/// pins the verified object.
#[utoipa::path(post, path = "/public/sessions/{access_token}/upload/confirm", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body = ConfirmUpload,
    responses((status = 200, description = "The document is confirmed", body = SuccessBody<UploadConfirmed>), PublicErrors))]
async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<ConfirmUpload>,
) -> Result<Success<UploadConfirmed>, ApiError> {
    Ok(ok(state.services.confirm_upload(&token, request).await?))
}

/// The legacy upload's multipart form (documentation of the body `read_multipart` reads).
#[derive(ToSchema)]
#[allow(dead_code)]
struct MultipartUpload {
    step_id: String,
    document_type: String,
    /// Defaults to the file part's file name.
    file_name: Option<String>,
    /// Defaults to the file part's content type.
    mime_type: Option<String>,
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The legacy upload: the file as base64 in a JSON body, or (from older hosted flows) as the
/// `file` part of a `multipart/form-data` body with the same fields as form fields.
#[utoipa::path(post, path = "/public/sessions/{access_token}/upload", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body(content((Base64Upload = "application/json"), (MultipartUpload = "multipart/form-data"))),
    responses((status = 200, description = "The document is stored", body = SuccessBody<DocumentUploaded>), PublicErrors))]
async fn upload_base64(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Result<Success<DocumentUploaded>, ApiError> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    // The contract answers the legacy upload with 200 (the presigned init, which creates a
    // pending document, answers 201).
    if multipart {
        let parts = Multipart::from_request(request, &state).await.map_err(|rejection| {
            ApiError::validation(format!("Invalid multipart body: {}", rejection.body_text()))
        })?;
        let upload = read_multipart(parts, state.services.legacy_upload_limit()).await?;
        Ok(ok(state.services.upload_file(&token, upload).await?))
    } else {
        let Json(body) = Json::<Base64Upload>::from_request(request, &state).await?;
        Ok(ok(state.services.upload_base64(&token, body).await?))
    }
}

/// The legacy upload under its older path.
#[utoipa::path(post, path = "/public/sessions/{access_token}/documents", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body(content((Base64Upload = "application/json"), (MultipartUpload = "multipart/form-data"))),
    responses((status = 200, description = "The document is stored", body = SuccessBody<DocumentUploaded>), PublicErrors))]
async fn upload_base64_documents(
    state: State<AppState>,
    token: Path<String>,
    request: Request,
) -> Result<Success<DocumentUploaded>, ApiError> {
    upload_base64(state, token, request).await
}

/// Reads a multipart upload, keeping at most `limit` bytes of the file: a larger one is refused
/// with 413 as soon as it passes the limit, without reading the rest.
async fn read_multipart(mut parts: Multipart, limit: u64) -> Result<FileUpload, ApiError> {
    let invalid =
        |e: MultipartError| ApiError::validation(format!("Invalid multipart body: {}", e.body_text()));
    let (mut step_id, mut document_type, mut file_name, mut mime_type, mut file) =
        (None, None, None, None, None);
    while let Some(mut field) = parts.next_field().await.map_err(invalid)? {
        match field.name().unwrap_or_default() {
            "file" => {
                file_name = file_name.or_else(|| field.file_name().map(str::to_owned));
                mime_type = mime_type.or_else(|| field.content_type().map(str::to_owned));
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(invalid)? {
                    if (bytes.len() + chunk.len()) as u64 > limit {
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "PAYLOAD_TOO_LARGE",
                            format!(
                                "The file is larger than {} MB; use /upload/init for larger files",
                                limit / (1024 * 1024)
                            ),
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            name @ ("step_id" | "document_type" | "file_name" | "mime_type") => {
                let name = name.to_owned();
                let value = field.text().await.map_err(invalid)?;
                let slot = match name.as_str() {
                    "step_id" => &mut step_id,
                    "document_type" => &mut document_type,
                    "file_name" => &mut file_name,
                    _ => &mut mime_type,
                };
                *slot = Some(value);
            }
            other => return Err(ApiError::validation(format!("Unknown multipart field '{other}'"))),
        }
    }
    let missing = |name: &str| ApiError::validation(format!("Missing multipart field '{name}'"));
    Ok(FileUpload {
        step_id: step_id.ok_or_else(|| missing("step_id"))?,
        document_type: document_type.ok_or_else(|| missing("document_type"))?,
        file_name: file_name.ok_or_else(|| missing("file_name"))?,
        mime_type: mime_type.ok_or_else(|| missing("mime_type"))?,
        bytes: file.ok_or_else(|| missing("file"))?,
    })
}
