//! The dev server's stand-in for S3's presigned URL endpoint: `PUT` and `GET`
//! `/_blobs/{key}?X-…` with the same answers S3 gives (403 for expired, tampered or mistyped
//! requests, 413 for oversize bodies), so a browser talks to it exactly as it would to S3.
//!
//! A refused PUT is answered only after its body was read (up to a limit): a server that answers
//! and closes while the client is still sending makes the client see a connection reset
//! instead of the status.

use crate::fs_blobs::{Denied, FsBlobs, PutLimits, SignedRequest};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
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
        Denied::WrongSize => s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The Content-Length does not match the signed Content-Length",
        ),
    }
}

/// Most bytes of a refused request's body read (and discarded) before answering.
pub const DRAIN_LIMIT_BYTES: u64 = 32 * 1024 * 1024;

/// Reads and discards up to [`DRAIN_LIMIT_BYTES`] of a body, so the answer that follows reaches a
/// client that is still sending.
async fn drain(mut body: Body) {
    let mut read = 0u64;
    while read < DRAIN_LIMIT_BYTES {
        match std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len() as u64),
            Some(Err(_)) | None => return,
        }
    }
}

/// Reads a body of at most `limit` bytes; `None` when it is longer (the excess up to the drain
/// limit is read and discarded).
async fn read_body(mut body: Body, limit: u64) -> Option<Bytes> {
    let mut bytes = Vec::new();
    loop {
        match std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len() as u64 + data.len() as u64 > limit {
                        drain(body).await;
                        return None;
                    }
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(_)) => return None,
            None => return Some(Bytes::from(bytes)),
        }
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
    let content_length = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let now = OffsetDateTime::now_utc();
    let limits = match blobs.verify_put(&key, &signed, content_type, content_length, now) {
        Ok(limits) => limits,
        Err(reason) => {
            drain(body).await;
            return denied(reason);
        }
    };
    let PutLimits { max_bytes, size_bytes } = limits;
    let too_large = || {
        s3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        )
    };
    if content_length.is_some_and(|length| length > max_bytes) {
        drain(body).await;
        return too_large();
    }
    let Some(bytes) = read_body(body, size_bytes.unwrap_or(max_bytes).min(max_bytes)).await else {
        return match size_bytes {
            Some(_) => denied(Denied::WrongSize),
            None => too_large(),
        };
    };
    if size_bytes.is_some_and(|size| bytes.len() as u64 != size) {
        return denied(Denied::WrongSize);
    }
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
