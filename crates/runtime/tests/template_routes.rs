//! `template.yaml` (AWS SAM) against the routers: each function's HttpApi events must be exactly
//! the routes of the router its binary serves, and no route may be mapped twice.
//!
//! Both directions are checked: the routes each group's router describes (its OpenAPI
//! operations, which register the routes themselves) must equal the template's, and every
//! template route, sent through `kyc_http::app(<group>::router())`, must reach a handler rather
//! than the "Route not found" or 405 fallbacks.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::state;
use http_body_util::BodyExt;
use kyc_http::{app, routes, AppState};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use tower::ServiceExt;

/// (METHOD, path) with axum's and API Gateway's shared `{param}` syntax.
type Route = (String, String);

/// Every route group, each served by one function whose binary has the group's name.
const GROUPS: [&str; 6] = ["sessions", "uploads", "extract", "liveness", "subsessions", "tenant"];

fn repo_file(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

fn router(group: &str) -> axum::Router<AppState> {
    match group {
        "sessions" => routes::sessions::router(),
        "uploads" => routes::uploads::router(),
        "extract" => routes::extract::router(),
        "liveness" => routes::liveness::router(),
        "subsessions" => routes::subsessions::router(),
        "tenant" => routes::tenant::router(),
        other => panic!("no router for group {other}"),
    }
}

// ---- template.yaml ----------------------------------------------------------------------------

/// A `!Tag value` node's tag and value (short-form intrinsics such as `!Ref HttpApi`).
fn tagged(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((tagged.tag.to_string(), &tagged.value)),
        _ => None,
    }
}

/// The HttpApi routes of each function in `template.yaml`, by the binary its build metadata names.
fn template_routes() -> BTreeMap<String, Vec<Route>> {
    routes_of_template(&repo_file("template.yaml"))
}

fn routes_of_template(text: &str) -> BTreeMap<String, Vec<Route>> {
    let template: Value = serde_norway::from_str(text).expect("template.yaml is YAML");
    let resources = template["Resources"].as_mapping().expect("template.yaml has Resources");
    let mut by_binary: BTreeMap<String, Vec<Route>> = BTreeMap::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap_or_default();
        assert_eq!(resource["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{name}");
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: Metadata.BuildProperties.Binary names the function's binary"));
        // Built in its own crate: from the workspace root, cargo would unify every member's features.
        assert_eq!(
            resource["Properties"]["CodeUri"].as_str(),
            Some(format!("crates/functions/{binary}").as_str()),
            "{name}: CodeUri is the function's crate"
        );
        let events = resource["Properties"]["Events"].as_mapping().map(|m| m.iter().collect::<Vec<_>>());
        let events = events.unwrap_or_default();
        // Background functions (the sweeper) are driven by other triggers and serve no route.
        if !events.is_empty() && events.iter().all(|(_, event)| event["Type"].as_str() != Some("HttpApi")) {
            continue;
        }
        let mut routes = Vec::new();
        for (event_name, event) in events {
            let event_name = event_name.as_str().unwrap_or_default();
            assert_eq!(event["Type"].as_str(), Some("HttpApi"), "{name}.{event_name}: only HttpApi events");
            let properties = &event["Properties"];
            let api =
                tagged(&properties["ApiId"]).map(|(tag, value)| (tag, value.as_str().map(str::to_owned)));
            assert_eq!(
                api,
                Some(("!Ref".to_owned(), Some("HttpApi".to_owned()))),
                "{name}.{event_name}: every route belongs to the one HTTP API"
            );
            let method =
                properties["Method"].as_str().unwrap_or_else(|| panic!("{name}.{event_name}: Method"));
            let path = properties["Path"].as_str().unwrap_or_else(|| panic!("{name}.{event_name}: Path"));
            assert_eq!(method, method.to_ascii_uppercase(), "{name}.{event_name}: upper-case method");
            routes.push((method.to_owned(), path.to_owned()));
        }
        assert!(
            by_binary.insert(binary.to_owned(), routes).is_none(),
            "two functions build the binary {binary}"
        );
    }
    by_binary
}

// ---- the routers' own description ------------------------------------------------------------

/// The routes a group serves: the operations of its OpenAPI description (`route_group!` builds
/// the served routes and the description from one list of handlers, each route read from its
/// handler's `#[utoipa::path]`), and the tenant group's `/openapi.json`. A route file may add no
/// other route, so none escapes this list.
fn declared_routes(group: &str) -> Vec<Route> {
    let source = repo_file(&format!("crates/http/src/routes/{group}.rs"));
    let extra: &[&str] = if group == "tenant" { &["crate::openapi::DOCUMENT_PATH"] } else { &[] };
    assert_eq!(
        source.matches(".route(").count(),
        extra.len(),
        "routes/{group}.rs: register routes with `.routes(routes!(handler))` so they are described"
    );
    for path in extra {
        assert!(source.contains(&format!(".route({path}")), "routes/{group}.rs: .route({path}, ..)");
    }
    let document = match group {
        "sessions" => routes::sessions::api(),
        "uploads" => routes::uploads::api(),
        "extract" => routes::extract::api(),
        "liveness" => routes::liveness::api(),
        "subsessions" => routes::subsessions::api(),
        "tenant" => routes::tenant::api(),
        other => panic!("no router for group {other}"),
    }
    .split_for_parts()
    .1;
    let mut routes: Vec<Route> = document
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter(|(_, present)| *present)
            .map(move |(method, _)| (method.to_owned(), path.clone()))
        })
        .collect();
    if group == "tenant" {
        routes.push(("GET".to_owned(), kyc_http::openapi::DOCUMENT_PATH.to_owned()));
    }
    routes
}

fn sorted(routes: &[Route]) -> Vec<Route> {
    routes.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()
}

// ---- the checks -------------------------------------------------------------------------------

#[test]
fn the_route_groups_are_the_route_modules_and_each_binary_serves_its_group() {
    let modules: BTreeSet<String> = repo_file("crates/http/src/routes/mod.rs")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';').trim().to_owned())
        .collect();
    assert_eq!(modules, GROUPS.iter().map(|g| g.to_string()).collect(), "a new route group needs a function");
    for group in GROUPS {
        let manifest = repo_file(&format!("crates/functions/{group}/Cargo.toml"));
        assert!(
            manifest.contains(&format!("[[bin]]\nname = \"{group}\"")),
            "{group}'s binary is named {group}"
        );
        let main = repo_file(&format!("crates/functions/{group}/src/main.rs"));
        assert!(
            main.contains(&format!("routes::{group}::router()")),
            "the {group} binary serves routes::{group}"
        );
    }
}

#[test]
fn every_function_maps_exactly_its_routers_routes() {
    let template = template_routes();
    assert_eq!(
        template.keys().map(String::as_str).collect::<Vec<_>>(),
        GROUPS.iter().copied().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>(),
        "one function per route group"
    );
    for group in GROUPS {
        let declared = declared_routes(group);
        assert!(!declared.is_empty(), "routes/{group}.rs declares no route");
        assert_eq!(sorted(&declared).len(), declared.len(), "routes/{group}.rs declares a route twice");
        assert_eq!(
            sorted(&template[group]),
            sorted(&declared),
            "template.yaml's HttpApi events of the {group} function (left) against routes/{group}.rs (right)"
        );
    }
}

#[test]
fn no_route_is_mapped_twice() {
    let mut seen: BTreeMap<Route, String> = BTreeMap::new();
    for (binary, routes) in template_routes() {
        for route in routes {
            if let Some(first) = seen.insert(route.clone(), binary.clone()) {
                panic!("{route:?} is mapped by both {first} and {binary}");
            }
        }
    }
}

/// The path with each `{param}` replaced by a sample value.
fn sample_path(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => format!("sample-{name}"),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_template_route_reaches_a_handler_of_its_functions_router() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir).await;
    for (group, routes) in template_routes() {
        for (method, path) in routes {
            let app = app(router(&group), state.clone());
            let request = Request::builder()
                .method(method.as_str())
                .uri(sample_path(&path))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();

            let response = app.oneshot(request).await.unwrap();

            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{group}: {method} {path}: {body}");
            assert!(
                !(status == StatusCode::NOT_FOUND && message == "Route not found"),
                "{group}: {method} {path} is not a route of routes::{group}: {body}"
            );
        }
    }
}

#[test]
fn a_route_missing_from_the_template_or_moved_to_another_function_is_seen() {
    let template = repo_file("template.yaml");
    let dropped = template.replacen("Path: /public/sessions/{access_token}/workflow", "Path: /elsewhere", 1);
    assert_ne!(routes_of_template(&dropped)["sessions"], template_routes()["sessions"]);
    let renamed = template.replacen("Binary: extract", "Binary: liveness", 1);
    let result = std::panic::catch_unwind(|| routes_of_template(&renamed));
    assert!(result.is_err(), "two functions building one binary are refused");
}
