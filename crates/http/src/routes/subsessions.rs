//! Public subsession routes: related parties' sessions collected by a parent session.

use crate::envelope::SuccessBody;
use crate::envelope::{created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::openapi::PublicErrors;
use crate::AppState;
use axum::extract::State;
use axum::Router;
use kyc_core::services::{
    CreateSubsession, LinkRegenerated, SubsessionCreated, SubsessionDeleted, SubsessionList,
};
use serde::Deserialize;
use utoipa::IntoParams;

/// Create, list, regenerate the link of, and delete subsessions.
pub fn router() -> Router<AppState> {
    routed()
}

route_group!([list, create, regenerate, remove]);

/// Which subsessions to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only those created for this `subsession_collection` step.
    step_id: Option<String>,
}

/// Adds a related party (beneficial owner, director): a subsession with its own access link.
#[utoipa::path(post, path = "/public/sessions/{access_token}/subsessions", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token")),
    request_body(content = CreateSubsession, example = json!({"step_id": "ubos", "label": "Jane Doe"})),
    responses((status = 201, description = "The subsession and its access link", body = SuccessBody<SubsessionCreated>), PublicErrors))]
async fn create(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<CreateSubsession>,
) -> Result<Success<SubsessionCreated>, ApiError> {
    Ok(created(state.services.create_subsession(&token, request).await?))
}

/// The session's related parties and their progress.
#[utoipa::path(get, path = "/public/sessions/{access_token}/subsessions", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token"), ListQuery),
    responses((status = 200, description = "The subsessions", body = SuccessBody<SubsessionList>), PublicErrors))]
async fn list(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Success<SubsessionList>, ApiError> {
    Ok(ok(state.services.list_subsessions(&token, query.step_id.as_deref()).await?))
}

/// A new access link for a subsession; the old one stops working.
#[utoipa::path(post, path = "/public/sessions/{access_token}/subsessions/{subsession_id}/regenerate", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token"), ("subsession_id" = String, Path, description = "A subsession of this session")),
    responses((status = 200, description = "The new link", body = SuccessBody<LinkRegenerated>), PublicErrors))]
async fn regenerate(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Success<LinkRegenerated>, ApiError> {
    Ok(ok(state.services.regenerate_subsession_link(&token, &id).await?))
}

/// Deletes a subsession that has not started.
#[utoipa::path(delete, path = "/public/sessions/{access_token}/subsessions/{subsession_id}", tag = "public",
    params(("access_token" = String, Path, description = "The session's access token"), ("subsession_id" = String, Path, description = "A subsession of this session")),
    responses((status = 200, description = "The subsession is deleted", body = SuccessBody<SubsessionDeleted>), PublicErrors))]
async fn remove(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Success<SubsessionDeleted>, ApiError> {
    Ok(ok(state.services.delete_subsession(&token, &id).await?))
}
