//! The tenant API (`/v1/…`), authorized by an API key.

use crate::envelope::SuccessBody;
use crate::envelope::{accepted, created, ok, Success};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query, Tenant};
use crate::openapi::extended;
use crate::openapi::TenantErrors;
use crate::AppState;
use axum::extract::State;
use axum::Router;
use kyc_core::domain::correction::CorrectionId;
use kyc_core::domain::evidence::EvidenceBundle;
use kyc_core::domain::extraction::Extraction;
use kyc_core::domain::ids::{SessionId, WorkflowId};
use kyc_core::domain::redaction::Redaction;
use kyc_core::domain::session::SessionStatus;
use kyc_core::domain::time::Timestamp;
use kyc_core::domain::workflow::WorkflowSlug;
use kyc_core::domain::workflow::{WorkflowDefinition, WorkflowRecord};
use kyc_core::services::{
    ApiKeyView, CreateApiKey, CreateEndpoint, CreateSession, CreatedParticipant, DeliveryPage, DeliveryView,
    EndpointView, ListSessions, RequestCorrections, Resubmit, Resubmitted, ReviewSession, RollApiKey,
    SessionPage, TenantSessionView, TenantSettings, UpdateEndpoint, UpdateTenant, UpdateWorkflow,
    WorkflowPage, WorkflowSettings, WorkflowSummary,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::{schema::Schema, Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// Workflows and sessions of the calling tenant.
pub fn router() -> Router<AppState> {
    routed().route(crate::openapi::DOCUMENT_PATH, axum::routing::get(crate::openapi::serve_document))
}

route_group!([
    create_workflow,
    list_workflows,
    get_workflow,
    update_workflow,
    create_workflow_version,
    create_session,
    list_sessions,
    get_session,
    request_corrections,
    cancel_session,
    review_session,
    resubmit_step,
    redact_session,
    rescreen_session,
    session_evidence,
    extract_document,
    get_tenant,
    update_tenant,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    roll_api_key,
    create_endpoint,
    list_endpoints,
    get_endpoint,
    update_endpoint,
    delete_endpoint,
    rotate_secret,
    test_endpoint,
    list_deliveries,
    retry_delivery,
]);

#[derive(Serialize, ToSchema)]
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

/// A workflow as the tenant reads it: its definition, with its id, version and creation time
/// beside the definition's fields.
impl PartialSchema for WorkflowView {
    fn schema() -> RefOr<Schema> {
        extended::<WorkflowDefinition>([
            ("workflow_id", RefOr::Ref(Ref::from_schema_name("WorkflowId")), true),
            ("version", <u32 as PartialSchema>::schema(), true),
            ("created_at", <Timestamp as PartialSchema>::schema(), true),
        ])
    }
}

impl ToSchema for WorkflowView {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <WorkflowDefinition as ToSchema>::schemas(schemas);
        schemas.push(("WorkflowId".into(), <WorkflowId as PartialSchema>::schema()));
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    version: Option<u32>,
}

/// A new workflow's body: a definition with `slug` and `default` beside its fields
/// (`create_workflow` takes those two out first, the definition refusing unknown fields).
struct NewWorkflow;

impl PartialSchema for NewWorkflow {
    fn schema() -> RefOr<Schema> {
        extended::<WorkflowDefinition>([
            ("slug", RefOr::Ref(Ref::from_schema_name("WorkflowSlug")), false),
            ("default", <bool as PartialSchema>::schema(), false),
        ])
    }
}

impl ToSchema for NewWorkflow {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <WorkflowDefinition as ToSchema>::schemas(schemas);
        schemas.push(("WorkflowSlug".into(), <WorkflowSlug as PartialSchema>::schema()));
    }
}

fn workflow_id(text: &str) -> Result<WorkflowId, ApiError> {
    WorkflowId::parse(text).ok_or_else(|| ApiError::not_found("Workflow not found"))
}

/// Creates a workflow: its first version, with an optional slug and default flag.
#[utoipa::path(post, path = "/v1/workflows", tag = "workflows", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body(content = NewWorkflow, example = json!({"name": "Basic KYC", "slug": "basic-kyc",
        "steps": [{"step_id": "about", "name": "About you", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full name", "type": "text", "required": true}]}]})),
    responses((status = 201, description = "Creates a workflow", body = SuccessBody<WorkflowCreated>), TenantErrors))]
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
/// The tenant's workflows, one summary each.
#[utoipa::path(get, path = "/v1/workflows", tag = "workflows", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, description = "The tenant's workflows, one summary each", body = SuccessBody<WorkflowPage>), TenantErrors))]
async fn list_workflows(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Query(page): Query<PageQuery>,
) -> Result<Success<WorkflowPage>, ApiError> {
    Ok(ok(state.services.list_workflows(&caller, page.limit, page.cursor).await?))
}
/// Renames, re-slugs, archives or makes a workflow the default.
#[utoipa::path(patch, path = "/v1/workflows/{workflow_id}", tag = "workflows", security(("api_key" = [])),
    params(("workflow_id" = String, Path, description = "A workflow of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = UpdateWorkflow,
    responses((status = 200, description = "Renames, re-slugs, archives or makes a workflow the default", body = SuccessBody<WorkflowSummary>), TenantErrors))]
async fn update_workflow(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<UpdateWorkflow>,
) -> Result<Success<WorkflowSummary>, ApiError> {
    let id = workflow_id(&id)?;
    Ok(ok(state.services.update_workflow(&caller, &id, request).await?))
}
/// Publishes a new version; open sessions keep theirs.
#[utoipa::path(post, path = "/v1/workflows/{workflow_id}/versions", tag = "workflows", security(("api_key" = [])),
    params(("workflow_id" = String, Path, description = "A workflow of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = WorkflowDefinition,
    responses((status = 201, description = "Publishes a new version; open sessions keep theirs", body = SuccessBody<WorkflowCreated>), TenantErrors))]
async fn create_workflow_version(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(definition): Json<WorkflowDefinition>,
) -> Result<Success<WorkflowCreated>, ApiError> {
    let id = workflow_id(&id)?;
    Ok(created(state.services.create_workflow_version(&caller, &id, definition).await?.into()))
}
/// A workflow's definition, the latest version or the one asked.
#[utoipa::path(get, path = "/v1/workflows/{workflow_id}", tag = "workflows", security(("api_key" = [])),
    params(("workflow_id" = String, Path, description = "A workflow of the tenant"), VersionQuery),
    responses((status = 200, description = "A workflow's definition, the latest version or the one asked", body = SuccessBody<WorkflowView>), TenantErrors))]
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

#[derive(Serialize, ToSchema)]
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
/// Creates a session for an end user: its access token and public link are shown once.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body(content = CreateSession, example = json!({"workflow_slug": "demo-kyc",
        "external_reference": "customer-42", "metadata": {"plan": "gold"}})),
    responses((status = 201, description = "Creates a session for an end user", body = SuccessBody<SessionCreated>), TenantErrors))]
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
/// A session with everything a reviewer needs: steps, documents, verification report, audit trail.
#[utoipa::path(get, path = "/v1/sessions/{session_id}", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant")),
    responses((status = 200, description = "A session with everything a reviewer needs", body = SuccessBody<TenantSessionView>), TenantErrors))]
async fn get_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<TenantSessionView>, ApiError> {
    Ok(ok(state.services.tenant_session(&caller, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct CorrectionsRequested {
    session_id: String,
    status: SessionStatus,
    correction_ids: Vec<CorrectionId>,
}
/// Asks the end user to fix steps, each with a customer-facing message.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/corrections", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = RequestCorrections,
    responses((status = 201, description = "Asks the end user to fix steps, each with a customer-facing message", body = SuccessBody<CorrectionsRequested>), TenantErrors))]
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

#[derive(Serialize, ToSchema)]
struct SessionCanceled {
    session_id: String,
    status: SessionStatus,
}
/// Cancels an unfinished session.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/cancel", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 200, description = "Cancels an unfinished session", body = SuccessBody<SessionCanceled>), TenantErrors))]
async fn cancel_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<SessionCanceled>, ApiError> {
    let status = state.services.cancel_session(&caller, &id).await?;
    Ok(ok(SessionCanceled { session_id: id, status }))
}

#[derive(Serialize, ToSchema)]
struct SessionRedacted {
    session_id: String,
    redaction: Redaction,
}
/// Erases a session's personal data and documents, keeping a tombstone.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/redact", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 202, description = "Erases a session's personal data and documents, keeping a tombstone", body = SuccessBody<SessionRedacted>), TenantErrors))]
async fn redact_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<SessionRedacted>, ApiError> {
    let redaction = state.services.redact_session(&caller, &id).await?;
    Ok(accepted(SessionRedacted { session_id: id, redaction }))
}
/// Runs the checks again on the current sanctions lists.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/rescreen", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 200, description = "Runs the checks again on the current sanctions lists", body = SuccessBody<TenantSessionView>), TenantErrors))]
async fn rescreen_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<TenantSessionView>, ApiError> {
    Ok(ok(state.services.rescreen_session(&caller, &id).await?))
}
/// The tenant's settings.
#[utoipa::path(get, path = "/v1/tenant", tag = "account", security(("api_key" = [])),
    responses((status = 200, description = "The tenant's settings", body = SuccessBody<TenantSettings>), TenantErrors))]
async fn get_tenant(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Success<TenantSettings>, ApiError> {
    Ok(ok(state.services.tenant_settings(&caller).await?))
}
/// Changes the tenant's settings.
#[utoipa::path(patch, path = "/v1/tenant", tag = "account", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = UpdateTenant,
    responses((status = 200, description = "Changes the tenant's settings", body = SuccessBody<TenantSettings>), TenantErrors))]
async fn update_tenant(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(update): Json<UpdateTenant>,
) -> Result<Success<TenantSettings>, ApiError> {
    Ok(ok(state.services.update_tenant_settings(&caller, update).await?))
}
/// A signed evidence bundle of the session.
#[utoipa::path(get, path = "/v1/sessions/{session_id}/evidence", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant")),
    responses((status = 200, description = "A signed evidence bundle of the session", body = SuccessBody<EvidenceBundle>), TenantErrors))]
async fn session_evidence(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EvidenceBundle>, ApiError> {
    Ok(ok(state.services.evidence_bundle(&caller, &id).await?))
}
/// Approves or rejects a session waiting for a decision.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/review", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = ReviewSession,
    responses((status = 200, description = "Approves or rejects a session waiting for a decision", body = SuccessBody<TenantSessionView>), TenantErrors))]
async fn review_session(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<ReviewSession>,
) -> Result<Success<TenantSessionView>, ApiError> {
    Ok(ok(state.services.review_session(&caller, &id, request).await?))
}
/// Reopens a step (and the steps that read it) for the end user.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/resubmit", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = Resubmit,
    responses((status = 200, description = "Reopens a step (and the steps that read it) for the end user", body = SuccessBody<Resubmitted>), TenantErrors))]
async fn resubmit_step(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<Resubmit>,
) -> Result<Success<Resubmitted>, ApiError> {
    Ok(ok(state.services.resubmit_step(&caller, &id, request).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExtractQuery {
    #[serde(default)]
    refresh: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExtractBody {
    #[schema(value_type = kyc_core::domain::extraction::DocumentKind)]
    document_type: String,
}
/// Reads a session's document again, or returns the stored reading.
#[utoipa::path(post, path = "/v1/sessions/{session_id}/documents/{doc_id}/extract", tag = "sessions", security(("api_key" = [])),
    params(("session_id" = String, Path, description = "A session of the tenant"), ("doc_id" = String, Path, description = "A document of the session"), ExtractQuery, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = ExtractBody,
    responses((status = 200, description = "Reads a session's document again, or returns the stored reading", body = SuccessBody<Extraction>), TenantErrors))]
async fn extract_document(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path((session_id, doc_id)): Path<(String, String)>,
    Query(query): Query<ExtractQuery>,
    Json(body): Json<ExtractBody>,
) -> Result<Success<Extraction>, ApiError> {
    let extraction = state
        .services
        .tenant_extract(&caller, &session_id, &doc_id, &body.document_type, query.refresh)
        .await?;
    Ok(ok(extraction))
}
/// The tenant's sessions of the key's mode, newest first, filtered.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", security(("api_key" = [])),
    params(ListSessions),
    responses((status = 200, description = "The tenant's sessions of the key's mode, newest first, filtered", body = SuccessBody<SessionPage>), TenantErrors))]
async fn list_sessions(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Query(request): Query<ListSessions>,
) -> Result<Success<SessionPage>, ApiError> {
    Ok(ok(state.services.list_sessions(&caller, request).await?))
}
/// Subscribes a URL to events; the signing secret is shown once.
#[utoipa::path(post, path = "/v1/webhook_endpoints", tag = "webhooks", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body(content = CreateEndpoint, example = json!({"url": "https://example.com/kyc/webhooks",
        "events": ["*"], "description": "Back office"})),
    responses((status = 201, description = "Subscribes a URL to events; the signing secret is shown once", body = SuccessBody<EndpointView>), TenantErrors))]
async fn create_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(request): Json<CreateEndpoint>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(created(state.services.create_webhook_endpoint(&caller, request).await?))
}

#[derive(Serialize, ToSchema)]
struct EndpointList {
    endpoints: Vec<EndpointView>,
}
/// The tenant's webhook endpoints.
#[utoipa::path(get, path = "/v1/webhook_endpoints", tag = "webhooks", security(("api_key" = [])),
    responses((status = 200, description = "The tenant's webhook endpoints", body = SuccessBody<EndpointList>), TenantErrors))]
async fn list_endpoints(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Success<EndpointList>, ApiError> {
    Ok(ok(EndpointList { endpoints: state.services.list_webhook_endpoints(&caller).await? }))
}
/// A webhook endpoint.
#[utoipa::path(get, path = "/v1/webhook_endpoints/{endpoint_id}", tag = "webhooks", security(("api_key" = [])),
    params(("endpoint_id" = String, Path, description = "A webhook endpoint of the tenant")),
    responses((status = 200, description = "A webhook endpoint", body = SuccessBody<EndpointView>), TenantErrors))]
async fn get_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(ok(state.services.webhook_endpoint(&caller, &id).await?))
}
/// Changes an endpoint's URL, events or status.
#[utoipa::path(patch, path = "/v1/webhook_endpoints/{endpoint_id}", tag = "webhooks", security(("api_key" = [])),
    params(("endpoint_id" = String, Path, description = "A webhook endpoint of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = UpdateEndpoint,
    responses((status = 200, description = "Changes an endpoint's URL, events or status", body = SuccessBody<EndpointView>), TenantErrors))]
async fn update_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<UpdateEndpoint>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(ok(state.services.update_webhook_endpoint(&caller, &id, request).await?))
}

#[derive(Serialize, ToSchema)]
struct EndpointDeleted {
    id: String,
    deleted: bool,
}
/// Deletes an endpoint.
#[utoipa::path(delete, path = "/v1/webhook_endpoints/{endpoint_id}", tag = "webhooks", security(("api_key" = [])),
    params(("endpoint_id" = String, Path, description = "A webhook endpoint of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 200, description = "Deletes an endpoint", body = SuccessBody<EndpointDeleted>), TenantErrors))]
async fn delete_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EndpointDeleted>, ApiError> {
    state.services.delete_webhook_endpoint(&caller, &id).await?;
    Ok(ok(EndpointDeleted { id, deleted: true }))
}
/// A new signing secret; the old one signs too for 24 hours.
#[utoipa::path(post, path = "/v1/webhook_endpoints/{endpoint_id}/rotate_secret", tag = "webhooks", security(("api_key" = [])),
    params(("endpoint_id" = String, Path, description = "A webhook endpoint of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 200, description = "A new signing secret; the old one signs too for 24 hours", body = SuccessBody<EndpointView>), TenantErrors))]
async fn rotate_secret(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<EndpointView>, ApiError> {
    Ok(ok(state.services.rotate_webhook_secret(&caller, &id).await?))
}
/// Queues a test event to the endpoint.
#[utoipa::path(post, path = "/v1/webhook_endpoints/{endpoint_id}/test", tag = "webhooks", security(("api_key" = [])),
    params(("endpoint_id" = String, Path, description = "A webhook endpoint of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 202, description = "Queues a test event to the endpoint", body = SuccessBody<DeliveryView>), TenantErrors))]
async fn test_endpoint(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<DeliveryView>, ApiError> {
    Ok(accepted(state.services.send_test_webhook(&caller, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
    cursor: Option<String>,
}
/// An endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhook_endpoints/{endpoint_id}/deliveries", tag = "webhooks", security(("api_key" = [])),
    params(("endpoint_id" = String, Path, description = "A webhook endpoint of the tenant"), PageQuery),
    responses((status = 200, description = "An endpoint's deliveries, newest first", body = SuccessBody<DeliveryPage>), TenantErrors))]
async fn list_deliveries(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Success<DeliveryPage>, ApiError> {
    Ok(ok(state.services.list_webhook_deliveries(&caller, &id, page.limit, page.cursor).await?))
}
/// Sends a delivery again, with the same webhook-id.
#[utoipa::path(post, path = "/v1/webhook_deliveries/{delivery_id}/retry", tag = "webhooks", security(("api_key" = [])),
    params(("delivery_id" = String, Path, description = "A webhook delivery"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 202, description = "Sends a delivery again, with the same webhook-id", body = SuccessBody<DeliveryView>), TenantErrors))]
async fn retry_delivery(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<DeliveryView>, ApiError> {
    Ok(accepted(state.services.retry_webhook_delivery(&caller, &id).await?))
}

/// A key with its secret: the only answer that ever carries one.
#[derive(Serialize, ToSchema)]
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
/// Creates an API key; its secret is shown once.
#[utoipa::path(post, path = "/v1/api_keys", tag = "account", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body(content = CreateApiKey, example = json!({"name": "CI"})),
    responses((status = 201, description = "Creates an API key; its secret is shown once", body = SuccessBody<IssuedKeyView>), TenantErrors))]
async fn create_api_key(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Json(request): Json<CreateApiKey>,
) -> Result<Success<IssuedKeyView>, ApiError> {
    Ok(created(state.services.create_tenant_api_key(&caller, request).await?.into()))
}

#[derive(Serialize, ToSchema)]
struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
}
/// The tenant's API keys (never their secrets).
#[utoipa::path(get, path = "/v1/api_keys", tag = "account", security(("api_key" = [])),
    responses((status = 200, description = "The tenant's API keys (never their secrets)", body = SuccessBody<ApiKeyList>), TenantErrors))]
async fn list_api_keys(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
) -> Result<Success<ApiKeyList>, ApiError> {
    Ok(ok(ApiKeyList { api_keys: state.services.list_api_keys(&caller).await? }))
}
/// Revokes an API key at once.
#[utoipa::path(delete, path = "/v1/api_keys/{key_id}", tag = "account", security(("api_key" = [])),
    params(("key_id" = String, Path, description = "An API key of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    responses((status = 200, description = "Revokes an API key at once", body = SuccessBody<ApiKeyView>), TenantErrors))]
async fn revoke_api_key(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
) -> Result<Success<ApiKeyView>, ApiError> {
    Ok(ok(state.services.revoke_api_key(&caller, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct RolledKey {
    /// The successor, with its secret.
    api_key: IssuedKeyView,
    /// The old key, now `rolled`, with the end of its grace period.
    rolled: ApiKeyView,
}
/// Replaces a key; the old one works until its grace period ends.
#[utoipa::path(post, path = "/v1/api_keys/{key_id}/roll", tag = "account", security(("api_key" = [])),
    params(("key_id" = String, Path, description = "An API key of the tenant"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry with the same key and body for 24 hours", pattern = "^[!-~]([ -~]{0,253}[!-~])?$")),
    request_body = RollApiKey,
    responses((status = 201, description = "Replaces a key; the old one works until its grace period ends", body = SuccessBody<RolledKey>), TenantErrors))]
async fn roll_api_key(
    State(state): State<AppState>,
    Tenant(caller): Tenant,
    Path(id): Path<String>,
    Json(request): Json<RollApiKey>,
) -> Result<Success<RolledKey>, ApiError> {
    let (issued, rolled) = state.services.roll_api_key(&caller, &id, request).await?;
    Ok(created(RolledKey { api_key: issued.into(), rolled }))
}
