//! `template.yaml`'s IAM policies against what each function's binary is built to call: a function
//! may call Textract or Rekognition exactly when its crate enables that provider's feature, and
//! no Lambda build links the embedded store.

use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn repo_file(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// The IAM actions each function's policies allow, by the binary it builds.
fn actions_by_binary() -> BTreeMap<String, BTreeSet<String>> {
    let template: Value = serde_norway::from_str(&repo_file("template.yaml")).expect("template.yaml is YAML");
    let resources = template["Resources"].as_mapping().expect("template.yaml has Resources");
    let mut by_binary = BTreeMap::new();
    for resource in resources.values() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().expect("a binary name");
        let mut actions = BTreeSet::new();
        for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{binary}: only Allow statements");
                match &statement["Action"] {
                    Value::String(action) => actions.insert(action.clone()),
                    Value::Sequence(list) => {
                        actions.extend(list.iter().map(|a| a.as_str().expect("an action").to_owned()));
                        true
                    }
                    other => panic!("{binary}: unexpected Action {other:?}"),
                };
            }
        }
        by_binary.insert(binary.to_owned(), actions);
    }
    by_binary
}

/// The kyc-runtime features a function's crate enables for its Lambda build (its default
/// features), read from `crates/functions/<binary>/Cargo.toml`.
fn runtime_features(binary: &str) -> BTreeSet<String> {
    let manifest = repo_file(&format!("crates/functions/{binary}/Cargo.toml"));
    let line = manifest
        .lines()
        .find(|line| line.starts_with("kyc-runtime"))
        .unwrap_or_else(|| panic!("{binary}: depends on kyc-runtime"));
    assert!(!manifest.contains("\ndefault ="), "{binary}: no default features beyond kyc-runtime's");
    match line.split_once("features = [") {
        None => BTreeSet::new(),
        Some((_, rest)) => rest
            .split(']')
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|feature| feature.trim().trim_matches('"').to_owned())
            .filter(|feature| !feature.is_empty())
            .collect(),
    }
}

fn calls(actions: &BTreeSet<String>, service: &str) -> bool {
    actions.iter().any(|action| action.starts_with(&format!("{service}:")))
}

#[test]
fn each_function_may_call_exactly_the_providers_its_binary_links() {
    let functions = actions_by_binary();
    assert_eq!(functions.len(), 10, "{:?}", functions.keys());
    for (binary, actions) in &functions {
        let features = runtime_features(binary);
        for (service, feature) in [("textract", "textract"), ("rekognition", "rekognition")] {
            assert_eq!(
                calls(actions, service),
                features.contains(feature),
                "{binary}: IAM allows {service} exactly when the crate enables kyc-runtime/{feature}"
            );
        }
        assert!(!features.contains("local"), "{binary}: the Lambda build must not link the embedded store");
    }
}

#[test]
fn every_api_function_may_load_the_sanctions_index_and_only_the_refresh_writes_it() {
    let template: Value = serde_norway::from_str(&repo_file("template.yaml")).expect("template.yaml is YAML");
    let resources = template["Resources"].as_mapping().unwrap();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let serves_api = resource["Properties"]["Events"]
            .as_mapping()
            .is_some_and(|events| events.values().any(|e| e["Type"].as_str() == Some("HttpApi")));
        let statements: Vec<&Value> = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
            .collect();
        let grants = |action: &str| {
            statements.iter().any(|st| {
                let actions = format!("{:?}", st["Action"]);
                let resource = format!("{:?}", st["Resource"]);
                actions.contains(action)
                    && resource.contains("DocumentsBucket.Arn}/")
                    && (resource.contains("/*\"") || resource.contains("/screening/index/*"))
            })
        };
        if serves_api {
            assert!(grants("s3:GetObject"), "{name:?} screens names but cannot read the sanctions index");
        }
        let writes_index =
            statements.iter().any(|st| format!("{:?}", st["Resource"]).contains("screening/index"))
                && grants("s3:PutObject");
        assert_eq!(writes_index, name.as_str() == Some("ScreeningRefreshFunction"), "{name:?}");
    }
}

#[test]
fn the_functions_whose_routes_extract_documents_are_built_with_extraction() {
    // Public extraction, extraction on upload (`extract: true` steps) and the tenant's
    // `?refresh=true` re-extraction; `textract` implies `extraction`.
    for binary in ["extract", "uploads", "tenant"] {
        let features = runtime_features(binary);
        assert!(features.contains("textract") || features.contains("extraction"), "{binary}: {features:?}");
    }
}

#[test]
fn the_api_is_throttled_and_lets_browsers_send_content_type_only() {
    let template: Value = serde_norway::from_str(&repo_file("template.yaml")).expect("template.yaml is YAML");
    let api = &template["Resources"]["HttpApi"]["Properties"];
    let routes = &api["DefaultRouteSettings"];
    assert!(routes["ThrottlingRateLimit"] != Value::Null && routes["ThrottlingBurstLimit"] != Value::Null);
    let headers: Vec<&str> = api["CorsConfiguration"]["AllowHeaders"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(headers, ["content-type"], "tenant calls come from servers: no authorization across origins");
}

#[test]
fn secrets_come_from_secrets_manager_not_from_parameters() {
    let template: Value = serde_norway::from_str(&repo_file("template.yaml")).expect("template.yaml is YAML");
    let parameters = template["Parameters"].as_mapping().unwrap();
    assert!(
        parameters.keys().all(|k| !k.as_str().unwrap_or_default().contains("Secret")),
        "no secret parameter"
    );
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    for name in ["KYC_CURSOR_SECRET", "KYC_IDEMPOTENCY_SECRET"] {
        let text = format!("{:?}", variables[name]);
        assert!(text.contains("resolve:secretsmanager"), "{name}: {text}");
    }
}

#[test]
fn a_customer_managed_data_key_encrypts_the_store_and_every_function_may_use_it() {
    let template: Value = serde_norway::from_str(&repo_file("template.yaml")).expect("template.yaml is YAML");
    let resources = template["Resources"].as_mapping().unwrap();
    let table = format!("{:?}", template["Resources"]["Table"]["Properties"]["SSESpecification"]);
    let bucket = format!("{:?}", template["Resources"]["DocumentsBucket"]["Properties"]["BucketEncryption"]);
    assert!(table.contains("DataKeyArn") && bucket.contains("DataKeyArn"), "{table}\n{bucket}");

    let attached = format!("{:?}", template["Resources"]["DataKeyAccess"]["Properties"]["Roles"]);
    for (name, resource) in resources {
        if resource["Type"].as_str() == Some("AWS::Serverless::Function") {
            let role = format!("\"{}Role\"", name.as_str().unwrap());
            assert!(attached.contains(&role), "{role} cannot use the data key: {attached}");
        }
    }
}
