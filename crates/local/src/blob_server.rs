//! The dev server's stand-in for S3's presigned URL endpoint: `PUT` and `GET`
//! `/_blobs/{key}?X-…` with the same answers S3 gives (403 for expired, tampered or mistyped
//! requests, 413 for oversize bodies), so a browser talks to it exactly as it would to S3.

use crate::fs_blobs::{Denied, FsBlobs, SignedRequest};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use kyc_core::ports::Blobs;
use time::OffsetDateTime;

/// Routes serving signed URLs for `blobs`.
pub fn router(blobs: FsBlobs) -> Router {
    Router::new().route("/_blobs/{*key}", put(upload).get(download)).with_state(blobs)
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>");
    (status, [(CONTENT_TYPE, "application/xml")], body).into_response()
}

fn denied(reason: Denied) -> Response {
    match reason {
        Denied::Expired => s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
        Denied::BadSignature => s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        ),
        Denied::WrongContentType => s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The Content-Type does not match the signed Content-Type",
        ),
    }
}

async fn upload(
    State(blobs): State<FsBlobs>,
    Path(key): Path<String>,
    Query(signed): Query<SignedRequest>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let max_bytes = match blobs.verify_put(&key, &signed, content_type, OffsetDateTime::now_utc()) {
        Ok(max) => max,
        Err(reason) => return denied(reason),
    };
    let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return s3_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            )
        }
    };
    match blobs.put(&key, bytes.to_vec(), content_type.unwrap_or_default()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => {
            tracing::error!(error = %error, "storing an upload failed");
            s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error")
        }
    }
}

async fn download(
    State(blobs): State<FsBlobs>,
    Path(key): Path<String>,
    Query(signed): Query<SignedRequest>,
) -> Response {
    if let Err(reason) = blobs.verify_get(&key, &signed, OffsetDateTime::now_utc()) {
        return denied(reason);
    }
    match blobs.read(&key).await {
        Ok(Some((bytes, content_type))) => ([(CONTENT_TYPE, content_type)], bytes).into_response(),
        Ok(None) => s3_error(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist."),
        Err(_) => {
            s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error")
        }
    }
}
