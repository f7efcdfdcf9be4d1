//! The OpenAPI 3.1 document, generated from the routers: each handler's `#[utoipa::path]` both
//! registers its axum route and describes it, and the schemas are derived from the very types the
//! handlers read and write, so the document cannot drift from the code.

use crate::error::ErrorBody;
use crate::routes;
use crate::AppState;
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::{schema::Schema, ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema};
use utoipa_axum::router::OpenApiRouter;

/// Path of the served document.
pub const DOCUMENT_PATH: &str = "/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "KYC onboarding API",
        description = "Self-hostable KYC/KYB onboarding. Tenant routes (`/v1`) take an API key as a \
            bearer token. Public routes (`/public/sessions/{access_token}`) are what the end user's \
            browser calls: the session's access token in the path is their only authorization. \
            Every answer is an envelope: `{\"status\":\"success\",\"data\":…}` or \
            `{\"status\":\"error\",\"error\":{code,message},\"meta\":{request_id,timestamp}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    // Types only responses sets and query parameters name (utoipa registers those of bodies).
    components(schemas(ErrorBody, kyc_core::services::ReviewFilter)),
    modifiers(&ApiKeyScheme),
    tags(
        (name = "public", description = "The end user's onboarding flow, authorized by the access token"),
        (name = "workflows", description = "Workflow definitions and their versions"),
        (name = "sessions", description = "Verification sessions, review and corrections"),
        (name = "account", description = "The tenant's settings and API keys"),
        (name = "webhooks", description = "Webhook endpoints and deliveries"),
    )
)]
struct ApiDoc;

/// The `api_key` security scheme: `Authorization: Bearer <key>`.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("A tenant API key (`kyc_test_…` or `kyc_live_…`).".into());
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

/// OpenAPI links: where the identifiers an answer creates are used next (create → read → act),
/// so clients and the fuzzer's stateful phase can follow a resource through its life.
struct Links;

/// (operation, its success status, the parameter each later operation takes from the answer,
/// where in the answer (or the request) it is, the later operations).
const LINKS: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "create_workflow",
        "201",
        "workflow_id",
        "$response.body#/data/workflow_id",
        &["get_workflow", "update_workflow", "create_workflow_version"],
    ),
    (
        "create_session",
        "201",
        "session_id",
        "$response.body#/data/session_id",
        &[
            "get_session",
            "cancel_session",
            "review_session",
            "request_corrections",
            "resubmit_step",
            "redact_session",
            "rescreen_session",
            "session_evidence",
        ],
    ),
    (
        "create_session",
        "201",
        "access_token",
        "$response.body#/data/access_token",
        &[
            "session_state",
            "workflow",
            "complete_step",
            "init",
            "upload_base64",
            "extract",
            "start",
            "list",
            "create",
        ],
    ),
    ("create", "201", "subsession_id", "$response.body#/data/subsession_id", &["regenerate", "remove"]),
    (
        "create_endpoint",
        "201",
        "endpoint_id",
        "$response.body#/data/id",
        &[
            "get_endpoint",
            "update_endpoint",
            "delete_endpoint",
            "rotate_secret",
            "test_endpoint",
            "list_deliveries",
        ],
    ),
    ("test_endpoint", "202", "delivery_id", "$response.body#/data/id", &["retry_delivery"]),
    ("create_api_key", "201", "key_id", "$response.body#/data/id", &["revoke_api_key", "roll_api_key"]),
];

impl Modify for Links {
    fn modify(&self, document: &mut Document) {
        use utoipa::openapi::link::LinkBuilder;
        let paths = document.paths.paths.values_mut();
        let operations = paths.flat_map(|item| {
            [&mut item.get, &mut item.post, &mut item.patch, &mut item.delete].into_iter().flatten()
        });
        for operation in operations {
            let Some(id) = operation.operation_id.clone() else { continue };
            for &(from, status, parameter, value, targets) in LINKS.iter().filter(|l| l.0 == id) {
                let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) else {
                    panic!("{from} has no {status} answer to link from");
                };
                for target in targets {
                    let mut link = LinkBuilder::new().operation_id(*target).parameter(parameter, value);
                    if parameter == "subsession_id" {
                        link = link.parameter("access_token", "$request.path.access_token");
                    }
                    response.links.insert(format!("{target}_{parameter}"), link.build().into());
                }
            }
        }
    }
}

/// Adds a handler's route as its `#[utoipa::path]` states it: path and methods only.
pub(crate) fn route<P, H, T>(router: axum::Router<AppState>, handler: H) -> axum::Router<AppState>
where
    P: utoipa::Path,
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    use utoipa_axum::PathItemExt;
    let methods = P::methods().iter().fold(axum::routing::MethodRouter::new(), |methods, method| {
        methods.on(method.to_method_filter(), handler.clone())
    });
    router.route(&P::path(), methods)
}

/// Every route group with its description, as the dev server serves them.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::sessions::api())
        .merge(routes::uploads::api())
        .merge(routes::extract::api())
        .merge(routes::liveness::api())
        .merge(routes::subsessions::api())
        .merge(routes::tenant::api())
}

/// The whole document, its links included.
pub fn document() -> Document {
    let mut document = api().split_for_parts().1;
    Links.modify(&mut document);
    document
}

/// The document as served and committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().expect("the document serialises");
    text.push('\n');
    text
}

/// `GET /openapi.json`: the committed document, which a test keeps equal to [`document_json`];
/// serving the file rather than building it keeps the description's code and CPU out of the
/// functions.
pub async fn serve_document() -> impl IntoResponse {
    const DOCUMENT: &str = include_str!("../../../docs/openapi.json");
    ([(axum::http::header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

/// The object schema of `T` with more properties: how a struct that refuses unknown fields looks
/// on the wire when more fields are written beside it (an `allOf` would forbid them).
pub(crate) fn extended<T: PartialSchema>(
    extra: impl IntoIterator<Item = (&'static str, RefOr<Schema>, bool)>,
) -> RefOr<Schema> {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        for (name, property, required) in extra {
            object.properties.insert(name.to_owned(), property);
            if required {
                object.required.push(name.to_owned());
            }
        }
    }
    schema
}

/// The error answers of a set of routes: each status with what it means there, all with the
/// error envelope.
fn error_answers(answers: &[(u16, &str)]) -> BTreeMap<String, RefOr<Response>> {
    answers
        .iter()
        .map(|&(status, meaning)| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            let answer = ResponseBuilder::new().description(meaning).content("application/json", content);
            (status.to_string(), answer.build().into())
        })
        .collect()
}

/// The errors any public route may answer.
pub struct PublicErrors;

impl IntoResponses for PublicErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_answers(&[
            (400, "`VALIDATION_ERROR`: the request is malformed or breaks a rule of the workflow."),
            (403, "`FORBIDDEN`: an earlier step must be completed first."),
            (404, "`NOT_FOUND`: the access token is unknown or expired, or the resource does not exist."),
            (409, "`CONFLICT` and other stable codes: the session's state does not allow this now."),
            (413, "`PAYLOAD_TOO_LARGE`: the body exceeds the route's limit."),
            (422, "A stable code naming the state that refuses the request (e.g. `SESSION_NOT_ACTIVE`)."),
            (502, "A provider (OCR, liveness) failed; retry later."),
        ])
    }
}

/// The errors any tenant route may answer.
pub struct TenantErrors;

impl IntoResponses for TenantErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_answers(&[
            (400, "`VALIDATION_ERROR`: the request is malformed or invalid."),
            (401, "`UNAUTHORIZED`: no API key, or an unknown, revoked or expired one."),
            (403, "`FORBIDDEN`: the key may not do this (e.g. a test key on live data)."),
            (404, "`NOT_FOUND`: no such resource for this tenant."),
            (
                409,
                "`CONFLICT`, `ALREADY_REVIEWED`, `IDEMPOTENCY_IN_PROGRESS`, …: the current state refuses it.",
            ),
            (413, "`PAYLOAD_TOO_LARGE`: the body exceeds the route's limit."),
            (422, "`NOT_REVIEWABLE`, `IDEMPOTENCY_CONFLICT`, …: a stable code naming what refuses it."),
            (502, "A provider (OCR) failed; retry later."),
        ])
    }
}
