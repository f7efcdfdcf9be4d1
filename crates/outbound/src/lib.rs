//! Outbound HTTPS: webhook deliveries, and downloads of the official lists ([`download`]).
//!
//! A tenant chooses the URL, so the URL must not become a way into the operator's network
//! (server-side request forgery). The connector's resolver looks the host up itself and keeps
//! only the addresses the request's [`AddressPolicy`] allows; the connection is made to those very
//! addresses, so a DNS answer that changes between a check and the connection (rebinding) cannot
//! slip through. IP-literal hosts are checked before any connection. Redirects are never followed
//! (the answer is recorded as it is), and each request has a deadline.

pub mod download;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kyc_core::domain::webhooks::AddressPolicy;
use kyc_core::ports::webhook_sender::{OutboundRequest, OutboundResponse, SendError, WebhookSender};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bytes of a receiver's answer that are kept.
const KEPT_BODY_BYTES: usize = 1_024;

type HttpsClient = Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<bytes::Bytes>>;

/// Sends webhook requests over HTTP/1.1 (HTTPS with the public web PKI).
pub struct HttpWebhookSender {
    public_only: HttpsClient,
    public_and_loopback: HttpsClient,
}

impl Default for HttpWebhookSender {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpWebhookSender {
    pub fn new() -> Self {
        Self {
            public_only: client(AddressPolicy::PublicOnly),
            public_and_loopback: client(AddressPolicy::PublicAndLoopback),
        }
    }
}

/// TLS with Mozilla's roots (compiled in) on the `ring` provider.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn client(policy: AddressPolicy) -> HttpsClient {
    let mut http = HttpConnector::new_with_resolver(GuardedResolver { policy });
    http.enforce_http(false);
    http.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    // No idle connection is kept: receivers are many, deliveries to one are minutes apart.
    Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(https)
}

/// Resolves host names and keeps only the addresses the policy allows.
#[derive(Clone, Copy, Debug)]
struct GuardedResolver {
    policy: AddressPolicy,
}

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, RefusedAddress));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// The resolver's refusal, recognised again on the way out.
#[derive(Debug)]
struct RefusedAddress;

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves only to addresses deliveries may not reach")
    }
}

impl std::error::Error for RefusedAddress {}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, SendError> {
        let url = url::Url::parse(&request.url).map_err(|_| SendError::Connection("invalid URL".into()))?;
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !request.policy.allows(ip)) {
            return Err(SendError::Refused(RefusedAddress.to_string()));
        }
        let mut builder = http::Request::post(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outgoing = builder
            .body(Full::new(bytes::Bytes::from(request.body)))
            .map_err(|_| SendError::Connection("the request could not be built".into()))?;
        let client = match request.policy {
            AddressPolicy::PublicOnly => &self.public_only,
            AddressPolicy::PublicAndLoopback => &self.public_and_loopback,
        };
        let exchange = async {
            let response = client.request(outgoing).await.map_err(classify)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let mut body = response.into_body();
            let mut kept = Vec::new();
            while kept.len() < KEPT_BODY_BYTES {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            kept.extend_from_slice(&data[..data.len().min(KEPT_BODY_BYTES - kept.len())]);
                        }
                    }
                    Some(Err(_)) | None => break,
                }
            }
            Ok(OutboundResponse { status, body_prefix: kept, retry_after })
        };
        match tokio::time::timeout(request.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout),
        }
    }
}

/// Maps a client error to what the tenant may read: a refused address, or a connection failure.
fn classify(error: hyper_util::client::legacy::Error) -> SendError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&error);
    while let Some(cause) = source {
        if cause.downcast_ref::<RefusedAddress>().is_some() {
            return SendError::Refused(RefusedAddress.to_string());
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if io.get_ref().is_some_and(|inner| inner.is::<RefusedAddress>()) {
                return SendError::Refused(RefusedAddress.to_string());
            }
        }
        source = cause.source();
    }
    if error.is_connect() {
        SendError::Connection("could not connect".into())
    } else {
        SendError::Connection("the exchange failed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn request(url: &str, policy: AddressPolicy) -> OutboundRequest {
        OutboundRequest {
            url: url.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("webhook-id".into(), "evt_1".into()),
            ],
            body: b"{}".to_vec(),
            timeout: Duration::from_secs(5),
            policy,
        }
    }

    /// A one-shot HTTP server on loopback answering `response`; returns its port and the request.
    async fn serve_once(response: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = vec![0u8; 4096];
            let n = socket.read(&mut buffer).await.unwrap();
            socket.write_all(response.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buffer[..n]).into_owned()
        });
        (port, handle)
    }

    #[tokio::test]
    async fn a_test_mode_delivery_reaches_loopback_and_keeps_the_answer() {
        let (port, server) = serve_once(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 4\r\n\r\nbusy",
        )
        .await;
        let sender = HttpWebhookSender::new();

        let answer = sender
            .send(request(&format!("http://localhost:{port}/hook"), AddressPolicy::PublicAndLoopback))
            .await;

        let answer = answer.unwrap();
        assert_eq!(
            (answer.status, answer.body_prefix.as_slice(), answer.retry_after),
            (503, &b"busy"[..], Some(120))
        );
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /hook HTTP/1.1") && seen.contains("webhook-id: evt_1"), "{seen}");
    }

    #[tokio::test]
    async fn a_live_delivery_never_connects_to_loopback_by_name_or_literal() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sender = HttpWebhookSender::new();
        for url in [
            format!("http://localhost:{port}/"),
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ] {
            let refused = sender.send(request(&url, AddressPolicy::PublicOnly)).await;
            assert!(matches!(refused, Err(SendError::Refused(_))), "{url}: {refused:?}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection reached the listener");
    }

    #[tokio::test]
    async fn redirects_are_recorded_not_followed_and_slow_receivers_time_out() {
        let (port, _) = serve_once(
            "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        let sender = HttpWebhookSender::new();
        let answer = sender
            .send(request(&format!("http://127.0.0.1:{port}/"), AddressPolicy::PublicAndLoopback))
            .await;
        assert_eq!(answer.unwrap().status, 302);

        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let mut slow = request(&format!("http://127.0.0.1:{port}/"), AddressPolicy::PublicAndLoopback);
        slow.timeout = Duration::from_millis(300);
        let _keep = tokio::spawn(async move {
            let (socket, _) = silent.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(socket);
        });
        assert!(matches!(sender.send(slow).await, Err(SendError::Timeout)));
    }
}
