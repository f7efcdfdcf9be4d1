//! Replays recorded HTTP responses into a real SDK client and records what the SDK sent.
//!
//! A small stand-in for `aws_smithy_http_client::test_util::StaticReplayClient`: that one comes
//! with the `test-util` feature, which turns on serde_json's `preserve_order` for the whole
//! workspace under `cargo test --workspace` and changes other crates' JSON key order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

/// A recorded response body from `tests/replay/{service}/{name}`.
pub fn fixture(service: &str, name: &str) -> String {
    let path = format!("{}/tests/replay/{service}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One request the SDK sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub uri: String,
    /// The operation (`X-Amz-Target`, e.g. `Textract.AnalyzeID`).
    pub target: String,
    /// The JSON body.
    pub body: Value,
    /// The SDK's attempt header (`attempt=2; max=3`).
    pub attempt: String,
}

/// Answers each request with the next recorded response (status, JSON 1.1 body), in order.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    responses: Arc<Mutex<VecDeque<(u16, String)>>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Replay {
    pub fn new(responses: Vec<(u16, String)>) -> Self {
        Self { responses: Arc::new(Mutex::new(responses.into())), sent: Arc::default() }
    }

    /// The requests sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

impl HttpConnector for Replay {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let header = |name: &str| request.headers().get(name).unwrap_or_default().to_owned();
        let body = request.body().bytes().unwrap_or_default();
        self.sent.lock().unwrap().push(Sent {
            uri: request.uri().to_owned(),
            target: header("x-amz-target"),
            body: if body.is_empty() { Value::Null } else { serde_json::from_slice(body).unwrap() },
            attempt: header("amz-sdk-request"),
        });
        let result = match self.responses.lock().unwrap().pop_front() {
            Some((status, body)) => {
                let mut response =
                    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
                response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
                response.headers_mut().insert("x-amzn-requestid", "5d0a1c9e-3b7f-4f2a-9e61-0c8d2b4a7f13");
                Ok(response)
            }
            None => Err(ConnectorError::other("no recorded response left to replay".into(), None)),
        };
        HttpConnectorFuture::ready(result)
    }
}

impl HttpClient for Replay {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.clone().into_shared()
    }
}

/// The configuration `aws_config` would load, minus the environment (no retry configuration of
/// its own, so an adapter's client must turn retries on itself), answering from `http`.
pub fn sdk_config(http: &Replay) -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDREPLAY",
            "replay-secret",
            None,
            None,
            "replay",
        )))
        .http_client(http.clone())
        .build()
}
