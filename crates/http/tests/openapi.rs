//! The committed `docs/openapi.json` is the document the code generates: a change to a route or
//! a wire type that is not committed with its document fails here.
//!
//! Regenerate with `KYC_UPDATE_OPENAPI=1 cargo test -p kyc-http --test openapi`.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = kyc_http::openapi::document_json();
    let path = committed_path();
    if std::env::var_os("KYC_UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the generated document; regenerate it with \
         `KYC_UPDATE_OPENAPI=1 cargo test -p kyc-http --test openapi` and commit it"
    );
}

#[test]
fn every_route_is_documented_with_its_envelope_and_errors() {
    let document: serde_json::Value =
        serde_json::from_str(&kyc_http::openapi::document_json()).expect("the document is JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let operations: Vec<(&String, &serde_json::Value)> = paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().values().map(move |op| (path, op)))
        .collect();
    assert_eq!(
        operations.len(),
        45,
        "14 public operations (the legacy upload under two paths) and 31 tenant ones"
    );
    for (path, operation) in operations {
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{path}: a success answer");
        assert!(responses.contains_key("400") && responses.contains_key("404"), "{path}: errors");
        let tenant = path.starts_with("/v1/");
        assert_eq!(responses.contains_key("401"), tenant, "{path}: 401 only with an API key");
        assert_eq!(!operation["security"].is_null(), tenant, "{path}: the API key scheme");
        assert!(tenant || responses.contains_key("403"), "{path}: an earlier step may be required first");
    }
    assert_eq!(document["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
}

/// Every `$ref` names a schema of the document (a type used only as a parameter is easily
/// left out of the components).
#[test]
fn every_reference_resolves() {
    fn refs<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let document: serde_json::Value = serde_json::from_str(&kyc_http::openapi::document_json()).unwrap();
    let mut found = Vec::new();
    refs(&document, &mut found);
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut missing: Vec<&str> = found
        .into_iter()
        .filter(|r| !schemas.contains_key(r.trim_start_matches("#/components/schemas/")))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    assert!(missing.is_empty(), "dangling references: {missing:?}");
}

/// The links lead from each creating operation to operations that exist and take the parameter.
#[test]
fn links_lead_from_what_creates_a_resource_to_what_uses_it() {
    let document: serde_json::Value = serde_json::from_str(&kyc_http::openapi::document_json()).unwrap();
    let operations: Vec<&serde_json::Value> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .collect();
    let by_id = |id: &str| operations.iter().find(|op| op["operationId"] == id).copied();
    let mut count = 0;
    for operation in &operations {
        for response in operation["responses"].as_object().unwrap().values() {
            for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                let target =
                    by_id(link["operationId"].as_str().unwrap()).expect("the linked operation exists");
                let parameters: Vec<&str> = target["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                for name in link["parameters"].as_object().unwrap().keys() {
                    assert!(parameters.contains(&name.as_str()), "{} takes no {name}", link["operationId"]);
                }
                count += 1;
            }
        }
    }
    assert!(count >= 30, "{count} links");
    let session_links = &by_id("create_session").unwrap()["responses"]["201"]["links"];
    assert_eq!(
        session_links["get_session_session_id"]["parameters"]["session_id"],
        "$response.body#/data/session_id"
    );
}

/// A struct that refuses unknown fields, written with more fields beside it (a workflow with its
/// id), is one object in the document: an `allOf` of it would forbid those fields, and valid
/// answers failed validation (found by Schemathesis).
#[test]
fn a_workflow_is_one_object_with_its_definition_and_its_id() {
    let document: serde_json::Value = serde_json::from_str(&kyc_http::openapi::document_json()).unwrap();
    let view = &document["components"]["schemas"]["SuccessBody_WorkflowView"]["properties"]["data"];
    assert!(view["allOf"].is_null(), "{view}");
    assert_eq!(view["additionalProperties"], false);
    for name in ["workflow_id", "version", "created_at", "name", "steps"] {
        assert!(!view["properties"][name].is_null(), "{name} in {view}");
    }
    let new = &document["components"]["schemas"]["NewWorkflow"];
    assert!(!new["properties"]["slug"].is_null() && !new["properties"]["steps"].is_null(), "{new}");
}
