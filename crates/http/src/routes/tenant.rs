//! The tenant API (`/v1/…`), authorized by an API key.

use crate::envelope::{accepted, created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query, Tenant};
use crate::AppState;
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::Router;
use kyc_core::domain::correction::CorrectionId;
use kyc_core::domain::evidence::EvidenceBundle;
use kyc_core::domain::ids::{SessionId, WorkflowId};
use kyc_core::domain::redaction::Redaction;
use kyc_core::domain::session::SessionStatus;
use kyc_core::domain::time::Timestamp;
use kyc_core::domain::workflow::{WorkflowDefinition, WorkflowRecord};
use kyc_core::services::{
    ApiKeyView, CreateApiKey, CreateEndpoint, CreateSession, CreatedParticipant, DeliveryPage, DeliveryView,
    EndpointView, ListSessions, RequestCorrections, Resubmit, Resubmitted, ReviewSession, RollApiKey,
    SessionPage, TenantSessionView, TenantSettings, UpdateEndpoint, UpdateTenant, UpdateWorkflow,
    WorkflowPage, WorkflowSettings, WorkflowSummary,
};
use serde::{Deserialize, Serialize};

/// Workflows and sessions of the calling tenant.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/workflows", post(create_workflow).get(list_workflows))
        .route("/v1/workflows/{workflow_id}", get(get_workflow).patch(update_workflow))
        .route("/v1/workflows/{workflow_id}/versions", post(create_workflow_version))
        .route("/v1/sessions", post(create_session).get(list_sessions))
        .route("/v1/sessions/{session_id}", get(get_session))
        .route("/v1/sessions/{session_id}/corrections", post(request_corrections))
        .route("/v1/sessions/{session_id}/cancel", post(cancel_session))
        .route("/v1/sessions/{session_id}/review", post(review_session))
        .route("/v1/sessions/{session_id}/resubmit", post(resubmit_step))
        .route("/v1/sessions/{session_id}/redact", post(redact_session))
        .route("/v1/sessions/{session_id}/rescreen", post(rescreen_session))
        .route("/v1/sessions/{session_id}/evidence", get(session_evidence))
        .route("/v1/sessions/{session_id}/documents/{doc_id}/extract", post(extract_document))
        .route("/v1/tenant", get(get_tenant).patch(update_tenant))
        .route("/v1/api_keys", post(create_api_key).get(list_api_keys))
        .route("/v1/api_keys/{key_id}", delete(revoke_api_key))
        .route("/v1/api_keys/{key_id}/roll", post(roll_api_key))
        .route("/v1/webhook_endpoints", post(create_endpoint).get(list_endpoints))
        .route(
            "/v1/webhook_endpoints/{endpoint_id}",
            get(get_endpoint).patch(update_endpoint).delete(delete_endpoint),
        )
        .route("/v1/webhook_endpoints/{endpoint_id}/rotate_secret", post(rotate_secret))
        .route("/v1/webhook_endpoints/{endpoint_id}/test", post(test_endpoint))
        .route("/v1/webhook_endpoints/{endpoint_id}/deliveries", get(list_deliveries))
        .route("/v1/webhook_deliveries/{delivery_id}/retry", post(retry_delivery))
}

#[derive(Serialize)]
struct WorkflowCreated {
    workflow_id: WorkflowId,
    version: u32,
    created_at: Timestamp,
}

impl From<WorkflowRecord> for WorkflowCreated {
    fn from(record: WorkflowRecord) -> Self {
        Self { workflow_id: record.workflow_id, version: record.version, created_at: record.created_at }
    }
}

#[derive(Serialize)]
struct WorkflowView {
    workflow_id: WorkflowId,
    version: u32,
    created_at: Timestamp,
    #[serde(flatten)]
    definition: WorkflowDefinition,
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<u32>,
}

fn workflow_id(text: &str) -> Result<WorkflowId, ApiError> {
    WorkflowId::parse(text).ok_or_else(|| ApiError::not_found("Workflow not found"))
}

/// A new workflow's body: its definition, plus `slug` and `default`.
async fn create_workflow(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(mut body): Json<serde_json::Value>,
) -> Result<Success<WorkflowCreated>, ApiError> {
    let invalid = |e: serde_json::Error| ApiError::validation(format!("Invalid JSON body: {e}"));
    let mut settings = serde_json::Map::new();
    if let Some(fields) = body.as_object_mut() {
        for name in ["slug", "default"] {
            if let Some(value) = fields.remove(name) {
                settings.insert(name.to_owned(), value);
            }
        }
    }
    let settings: WorkflowSettings = serde_json::from_value(settings.into()).map_err(invalid)?;
    let definition: WorkflowDefinition = serde_json::from_value(body).map_err(invalid)?;
    Ok(created(state.services.create_workflow_with(&caller, definition, settings).await?.into()))
}

async fn list_workflows(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Query(page): Query<PageQuery>,
) -> Result<Success<WorkflowPage>, ApiError> {
    Ok(ok(state.services.list_workflows(&caller, page.limit, page.cursor).await?))
}

async fn update_workflow(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<UpdateWorkflow>,
) -> Result<Success<WorkflowSummary>, ApiError> {
    let id = workflow_id(&id)?;
    Ok(ok(state.services.update_workflow(&caller, &id, request).await?))
}

async fn create_workflow_version(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(definition): Json<WorkflowDefinition>,
) -> Result<Success<WorkflowCreated>, ApiError> {
    let id = workflow_id(&id)?;
    Ok(created(state.services.create_workflow_version(&caller, &id, definition).await?.into()))
}

async fn get_workflow(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Query(query): Query<VersionQuery>,
) -> Result<Success<WorkflowView>, ApiError> {
    let id = workflow_id(&id)?;
    let record = state.services.workflow(&caller.tenant_id, &id, query.version).await?;
    Ok(ok(WorkflowView {
        workflow_id: record.workflow_id,
        version: record.version,
        created_at: record.created_at,
        definition: record.definition,
    }))
}

#[derive(Serialize)]
struct SessionCreated {
    session_id: SessionId,
    access_token: String,
    public_url: String,
    status: kyc_core::domain::session::SessionStatus,
    workflow_id: WorkflowId,
    workflow_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<String>,
    /// The related parties declared with the session, each with its link (shown here once).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    participants: Vec<CreatedParticipant>,
    expires_at: i64,
    created_at: Timestamp,
}

async fn create_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(request): Json<CreateSession>,
) -> Result<Success<SessionCreated>, ApiError> {
    let new = state.services.create_session(&caller, request).await?;
    Ok(created(SessionCreated {
        session_id: new.session.session_id,
        access_token: new.access_token.expose(),
        public_url: new.public_url,
        status: new.session.status,
        workflow_id: new.session.workflow_id,
        workflow_version: new.session.workflow_version,
        redirect_url: new.session.redirect_url,
        participants: new.participants,
        expires_at: new.session.expires_at,
        created_at: new.session.created_at,
    }))
}

async fn get_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<TenantSessionView>, ApiError> {
    Ok(ok(state.services.tenant_session(&caller, &id).await?))
}

#[derive(Serialize)]
struct CorrectionsRequested {
    session_id: String,
    status: SessionStatus,
    correction_ids: Vec<CorrectionId>,
}

async fn request_corrections(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<RequestCorrections>,
) -> Result<Success<CorrectionsRequested>, ApiError> {
    let corrections = state.services.request_corrections(&caller, &id, request).await?;
    Ok(created(CorrectionsRequested {
        session_id: id,
        status: SessionStatus::AwaitingClientCorrection,
        correction_ids: corrections.into_iter().map(|c| c.id).collect(),
    }))
}

#[derive(Serialize)]
struct SessionCanceled {
    session_id: String,
    status: SessionStatus,
}

async fn cancel_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<SessionCanceled>, ApiError> {
    let status = state.services.cancel_session(&caller, &id).await?;
    Ok(ok(SessionCanceled { session_id: id, status }))
}

#[derive(Serialize)]
struct SessionRedacted {
    session_id: String,
    redaction: Redaction,
}

async fn redact_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<SessionRedacted>, ApiError> {
    let redaction = state.services.redact_session(&caller, &id).await?;
    Ok(accepted(SessionRedacted { session_id: id, redaction }))
}

async fn rescreen_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<TenantSessionView>, ApiError> {
    Ok(ok(state.services.rescreen_session(&caller, &id).await?))
}

async fn get_tenant(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Success<TenantSettings>, ApiError> {
    Ok(ok(state.services.tenant_settings(&caller).await?))
}

async fn update_tenant(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(update): Json<UpdateTenant>,
) -> Result<Success<TenantSettings>, ApiError> {
    Ok(ok(state.services.update_tenant_settings(&caller, update).await?))
}

async fn session_evidence(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EvidenceBundle>, ApiError> {
    Ok(ok(state.services.evidence_bundle(&caller, &id).await?))
}

async fn review_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<ReviewSession>,
) -> Result<Success<TenantSessionView>, ApiError> {
    Ok(ok(state.services.review_session(&caller, &id, request).await?))
}

async fn resubmit_step(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<Resubmit>,
) -> Result<Success<Resubmitted>, ApiError> {
    Ok(ok(state.services.resubmit_step(&caller, &id, request).await?))
}

#[derive(Deserialize)]
struct ExtractQuery {
    #[serde(default)]
    refresh: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractBody {
    document_type: String,
}

async fn extract_document(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path((session_id, doc_id)): Path<(String, String)>,
    Query(query): Query<ExtractQuery>,
    Json(body): Json<ExtractBody>,
) -> Result<Success<kyc_core::domain::extraction::Extraction>, ApiError> {
    let extraction = state
        .services
        .tenant_extract(&caller, &session_id, &doc_id, &body.document_type, query.refresh)
        .await?;
    Ok(ok(extraction))
}

async fn list_sessions(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Query(request): Query<ListSessions>,
) -> Result<Success<SessionPage>, ApiError> {
    Ok(ok(state.services.list_sessions(&caller, request).await?))
}

async fn create_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(request): Json<CreateEndpoint>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(created(state.services.create_webhook_endpoint(&caller, request).await?))
}

#[derive(Serialize)]
struct EndpointList {
    endpoints: Vec<EndpointView>,
}

async fn list_endpoints(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Success<EndpointList>, ApiError> {
    Ok(ok(EndpointList { endpoints: state.services.list_webhook_endpoints(&caller).await? }))
}

async fn get_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(ok(state.services.webhook_endpoint(&caller, &id).await?))
}

async fn update_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<UpdateEndpoint>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(ok(state.services.update_webhook_endpoint(&caller, &id, request).await?))
}

#[derive(Serialize)]
struct EndpointDeleted {
    id: String,
    deleted: bool,
}

async fn delete_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EndpointDeleted>, ApiError> {
    state.services.delete_webhook_endpoint(&caller, &id).await?;
    Ok(ok(EndpointDeleted { id, deleted: true }))
}

async fn rotate_secret(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(ok(state.services.rotate_webhook_secret(&caller, &id).await?))
}

async fn test_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<DeliveryView>, ApiError> {
    Ok(accepted(state.services.send_test_webhook(&caller, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_deliveries(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Success<DeliveryPage>, ApiError> {
    Ok(ok(state.services.list_webhook_deliveries(&caller, &id, page.limit, page.cursor).await?))
}

async fn retry_delivery(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<DeliveryView>, ApiError> {
    Ok(accepted(state.services.retry_webhook_delivery(&caller, &id).await?))
}

/// A key with its secret: the only answer that ever carries one.
#[derive(Serialize)]
struct IssuedKeyView {
    #[serde(flatten)]
    key: ApiKeyView,
    secret: String,
}

impl From<kyc_core::services::IssuedApiKey> for IssuedKeyView {
    fn from(issued: kyc_core::services::IssuedApiKey) -> Self {
        Self { key: ApiKeyView::from(&issued.record), secret: issued.secret.expose().to_owned() }
    }
}

async fn create_api_key(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(request): Json<CreateApiKey>,
) -> Result<Success<IssuedKeyView>, ApiError> {
    Ok(created(state.services.create_tenant_api_key(&caller, request).await?.into()))
}

#[derive(Serialize)]
struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
}

async fn list_api_keys(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Success<ApiKeyList>, ApiError> {
    Ok(ok(ApiKeyList { api_keys: state.services.list_api_keys(&caller).await? }))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<ApiKeyView>, ApiError> {
    Ok(ok(state.services.revoke_api_key(&caller, &id).await?))
}

#[derive(Serialize)]
struct RolledKey {
    /// The successor, with its secret.
    api_key: IssuedKeyView,
    /// The old key, now `rolled`, with the end of its grace period.
    rolled: ApiKeyView,
}

async fn roll_api_key(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<RollApiKey>,
) -> Result<Success<RolledKey>, ApiError> {
    let (issued, rolled) = state.services.roll_api_key(&caller, &id, request).await?;
    Ok(created(RolledKey { api_key: issued.into(), rolled }))
}
