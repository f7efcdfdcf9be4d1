//! Downloads of the public files the operator configures (the official sanctions lists).
//!
//! The URLs come from the deployment's configuration, never from a tenant, so any address is
//! allowed; redirects are followed (official list services redirect to their storage) up to
//! [`MAX_REDIRECTS`], never from HTTPS down to plain HTTP. Each download has a size cap and a
//! deadline for the whole transfer.

use crate::tls_config;
use async_trait::async_trait;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kyc_core::ports::downloads::{DownloadError, FileDownloader};
use std::time::Duration;

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// Downloads whole files over HTTPS (or HTTP) within a size and time budget.
pub struct HttpDownloader {
    client: Client<HttpsConnector<HttpConnector>, Empty<bytes::Bytes>>,
    max_bytes: usize,
    timeout: Duration,
}

impl HttpDownloader {
    /// A downloader refusing files over `max_bytes` or transfers longer than `timeout`.
    pub fn new(max_bytes: usize, timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self { client: Client::builder(TokioExecutor::new()).build(https), max_bytes, timeout }
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, DownloadError> {
        let mut current = url::Url::parse(url).map_err(|e| DownloadError::InvalidUrl(e.to_string()))?;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(DownloadError::InvalidUrl(format!("unsupported scheme {}", current.scheme())));
            }
            let request = http::Request::get(current.as_str())
                .header(http::header::USER_AGENT, "kyc-screening-refresh")
                .body(Empty::new())
                .map_err(|e| DownloadError::InvalidUrl(e.to_string()))?;
            let response =
                self.client.request(request).await.map_err(|e| DownloadError::Connection(e.to_string()))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(DownloadError::Status(status.as_u16()))?;
                let next = current.join(location).map_err(|e| DownloadError::InvalidUrl(e.to_string()))?;
                if current.scheme() == "https" && next.scheme() != "https" {
                    return Err(DownloadError::InvalidUrl("redirect from HTTPS to plain HTTP".into()));
                }
                current = next;
                continue;
            }
            if !status.is_success() {
                return Err(DownloadError::Status(status.as_u16()));
            }
            let body = Limited::new(response.into_body(), self.max_bytes).collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    DownloadError::TooLarge(self.max_bytes)
                } else {
                    DownloadError::Connection(e.to_string())
                }
            })?;
            return Ok(body.to_bytes().to_vec());
        }
        Err(DownloadError::TooManyRedirects)
    }
}

#[async_trait]
impl FileDownloader for HttpDownloader {
    async fn download(&self, url: &str) -> Result<Vec<u8>, DownloadError> {
        match tokio::time::timeout(self.timeout, self.fetch(url)).await {
            Ok(result) => result,
            Err(_) => Err(DownloadError::Timeout(self.timeout.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server answering each connection with the next of `answers`.
    async fn serve(answers: Vec<String>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for answer in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buffer = vec![0u8; 4096];
                let _ = socket.read(&mut buffer).await.unwrap();
                socket.write_all(answer.replace("{port}", &port.to_string()).as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
        });
        port
    }

    fn downloader() -> HttpDownloader {
        HttpDownloader::new(1024, Duration::from_secs(5))
    }

    #[tokio::test]
    async fn a_redirect_is_followed_to_the_file() {
        let port = serve(vec![
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/files/sdn.xml\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n<xml>".into(),
        ])
        .await;

        let bytes = downloader().download(&format!("http://127.0.0.1:{port}/sdn.xml")).await.unwrap();

        assert_eq!(bytes, b"<xml>");
    }

    #[tokio::test]
    async fn an_error_status_an_oversized_file_and_a_bad_url_fail() {
        let port = serve(vec![
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n{}",
                "x".repeat(2000)
            ),
        ])
        .await;
        let url = format!("http://127.0.0.1:{port}/list.xml");

        assert!(matches!(downloader().download(&url).await, Err(DownloadError::Status(503))));
        assert!(matches!(downloader().download(&url).await, Err(DownloadError::TooLarge(1024))));
        assert!(matches!(
            downloader().download("ftp://example.com/x").await,
            Err(DownloadError::InvalidUrl(_))
        ));
    }
}
