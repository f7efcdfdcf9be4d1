//! Public subsession routes: related parties' sessions collected by a parent session.

use crate::envelope::{created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::Router;
use kyc_core::services::{
    CreateSubsession, LinkRegenerated, SubsessionCreated, SubsessionDeleted, SubsessionList,
};
use serde::Deserialize;

/// Create, list, regenerate the link of, and delete subsessions.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/sessions/{access_token}/subsessions", get(list).post(create))
        .route("/public/sessions/{access_token}/subsessions/{subsession_id}/regenerate", post(regenerate))
        .route("/public/sessions/{access_token}/subsessions/{subsession_id}", delete(remove))
}

#[derive(Deserialize)]
struct ListQuery {
    step_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(request): Json<CreateSubsession>,
) -> Result<Success<SubsessionCreated>, ApiError> {
    Ok(created(state.services.create_subsession(&token, request).await?))
}

async fn list(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Success<SubsessionList>, ApiError> {
    Ok(ok(state.services.list_subsessions(&token, query.step_id.as_deref()).await?))
}

async fn regenerate(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Success<LinkRegenerated>, ApiError> {
    Ok(ok(state.services.regenerate_subsession_link(&token, &id).await?))
}

async fn remove(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Success<SubsessionDeleted>, ApiError> {
    Ok(ok(state.services.delete_subsession(&token, &id).await?))
}
