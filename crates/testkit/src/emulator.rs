//! What the tests against the AWS emulator share: finding it, and calling presigned URLs on it
//! as a browser would.
//!
//! `make test` starts moto on loopback (`infra/with-emulator.sh`) and passes its URL in
//! `KYC_TEST_DYNAMODB_ENDPOINT` and `KYC_TEST_S3_ENDPOINT`. Without them the tests fail, so
//! that a plain `cargo test` never passes without having run them; `KYC_SKIP_AWS_EMULATOR_TESTS=1`
//! skips them on purpose instead.

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::VecDeque;

use crate::blobs_conformance::UrlClient;

/// The variable naming the emulator's DynamoDB endpoint.
pub const DYNAMODB_ENDPOINT_VAR: &str = "KYC_TEST_DYNAMODB_ENDPOINT";
/// The variable naming the emulator's S3 endpoint.
pub const S3_ENDPOINT_VAR: &str = "KYC_TEST_S3_ENDPOINT";
/// Set to `1` to skip the emulator's tests on purpose.
pub const SKIP_VAR: &str = "KYC_SKIP_AWS_EMULATOR_TESTS";

/// The emulator's URL from `var`, or `None` when the tests may be skipped; panics when they may
/// not.
pub fn endpoint(var: &str) -> Option<String> {
    if let Some(endpoint) = std::env::var(var).ok().filter(|value| !value.is_empty()) {
        return Some(endpoint);
    }
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        eprintln!("{SKIP_VAR}=1: skipping a test against the AWS emulator");
        return None;
    }
    panic!(
        "{var} is not set, so the AWS adapters cannot be tested. Run `make test`, which starts the \
         emulator (or wrap the command: `infra/with-emulator.sh cargo test`), or set {SKIP_VAR}=1 \
         to skip these tests on purpose."
    );
}

/// Calls presigned URLs over plain HTTP, as a browser would (without any AWS SDK).
pub struct PlainHttp(Client<HttpConnector, Full<VecDeque<u8>>>);

impl Default for PlainHttp {
    fn default() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }
}

impl PlainHttp {
    /// Sends one request; returns the status and the body.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        let mut request = http::Request::builder().method(method).uri(url);
        if let Some(content_type) = content_type {
            request = request.header(http::header::CONTENT_TYPE, content_type);
        }
        let request = request.body(Full::new(VecDeque::from(body))).expect("a valid request");
        let response = self.0.request(request).await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("reading the response body").to_bytes();
        (status, body.to_vec())
    }
}

#[async_trait]
impl UrlClient for PlainHttp {
    async fn put(&self, url: &str, content_type: Option<&str>, body: Vec<u8>) -> u16 {
        self.send("PUT", url, content_type, body).await.0
    }

    async fn get(&self, url: &str) -> (u16, Vec<u8>) {
        self.send("GET", url, None, Vec::new()).await
    }
}
