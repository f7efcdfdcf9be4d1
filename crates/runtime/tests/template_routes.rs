//! `template.yaml` (AWS SAM) against the routers: each function's HttpApi events must be exactly
//! the routes of the router its binary serves, and no route may be mapped twice.
//!
//! Both directions are checked: the routes declared in `crates/http/src/routes/<group>.rs` (read
//! as text, so a route added to a router but not to the template fails here) must equal the
//! template's, and every template route, sent through `kyc_http::app(<group>::router())`, must
//! reach a handler rather than the "Route not found" or 405 fallbacks.

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

// ---- crates/http/src/routes/<group>.rs, read as text ------------------------------------------

/// The index just past the parenthesis that closes the one opened before `open_at`, skipping string
/// literals.
fn closing_paren(text: &str, open_at: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut i, mut in_string) = (1usize, open_at, false);
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_string = false,
            (false, b'"') => in_string = true,
            (false, b'(') => depth += 1,
            (false, b')') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unbalanced parentheses after byte {open_at}");
}

/// The HTTP methods of a method router expression such as `get(a).post(b)` or `post(x).layer(..)`.
fn methods_in(expression: &str) -> Vec<String> {
    const METHODS: [&str; 8] = ["get", "post", "put", "delete", "patch", "head", "options", "trace"];
    let bytes = expression.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word {
            let rest = &expression[i..];
            assert!(
                !rest.starts_with("any("),
                "`any(..)` routes cannot be listed in the template: {expression}"
            );
            if let Some(method) = METHODS.iter().find(|m| rest.starts_with(&format!("{m}("))) {
                found.push(method.to_ascii_uppercase());
                // Skip the call's arguments: handlers may be named like methods.
                i = closing_paren(expression, i + method.len() + 1);
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The routes a route file declares with `.route("path", methods)`; a method router held in a
/// local (`let legacy = post(..);` … `.route("…", legacy.clone())`) is followed.
fn declared_routes(group: &str) -> Vec<Route> {
    routes_of_source(group, &repo_file(&format!("crates/http/src/routes/{group}.rs")))
}

fn routes_of_source(group: &str, source: &str) -> Vec<Route> {
    for unsupported in [".nest(", ".nest_service(", ".merge(", ".route_service(", ".route_layer("] {
        assert!(
            !source.contains(unsupported),
            "routes/{group}.rs uses `{unsupported}..)`, which this test does not read: teach it, so the \
             template stays checked"
        );
    }
    let mut routes = Vec::new();
    let mut from = 0;
    while let Some(found) = source[from..].find(".route(") {
        let open = from + found + ".route(".len();
        let close = closing_paren(source, open);
        let arguments = &source[open..close - 1];
        from = close;

        let arguments = arguments.trim_start();
        assert!(
            arguments.starts_with('"'),
            "routes/{group}.rs: a route's path must be a literal: {arguments}"
        );
        let path_end = arguments[1..].find('"').expect("a route path literal") + 1;
        let path = &arguments[1..path_end];
        let handler = arguments[path_end + 1..].trim_start().trim_start_matches(',').trim();

        let mut methods = methods_in(handler);
        if methods.is_empty() {
            let local = handler.trim_end_matches(".clone()").trim();
            assert!(
                !local.is_empty() && local.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "routes/{group}.rs: cannot read the methods of `{handler}` for {path}"
            );
            let binding = format!("let {local} =");
            let start = source.find(&binding).unwrap_or_else(|| panic!("routes/{group}.rs: no `{binding}`"));
            let end = start + source[start..].find(';').expect("a `let` ends with `;`");
            methods = methods_in(&source[start + binding.len()..end]);
        }
        assert!(!methods.is_empty(), "routes/{group}.rs: no method for {path}");
        routes.extend(methods.into_iter().map(|method| (method, path.to_owned())));
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
fn the_route_file_reader_reads_every_form_the_routers_use() {
    assert_eq!(methods_in("get(list).post(create)"), ["GET", "POST"]);
    assert_eq!(methods_in("post(upload_base64).layer(DefaultBodyLimit::max(LIMIT))"), ["POST"]);
    assert_eq!(methods_in("delete(remove)"), ["DELETE"]);
    assert_eq!(methods_in("post(get_session)"), ["POST"], "a handler named like a method is no method");
    assert!(methods_in("legacy.clone()").is_empty());
    assert_eq!(sample_path("/v1/sessions/{session_id}/cancel"), "/v1/sessions/sample-session_id/cancel");

    let source = r#"
        let legacy = post(upload).layer(DefaultBodyLimit::max(10));
        Router::new()
            .route("/a/{id}", get(read).post(write))
            .route(
                "/b",
                delete(remove),
            )
            .route("/c", legacy.clone())
            .route("/d", legacy)
    "#;
    let routes = routes_of_source("example", source);
    let expected =
        [("GET", "/a/{id}"), ("POST", "/a/{id}"), ("DELETE", "/b"), ("POST", "/c"), ("POST", "/d")];
    assert_eq!(routes, expected.map(|(m, p)| (m.to_owned(), p.to_owned())));
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
