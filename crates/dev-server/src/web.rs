//! The reference hosted frontend (`web/app/`), served by the dev server the way CloudFront serves
//! it on AWS: its files under `/app/`, and the app itself for a browser that opens a public
//! session link (`/public/sessions/{token}` asked for as HTML). The same link still answers JSON
//! to API clients, so `public_url` and `access_link` keep one shape for both.
//!
//! Files are read from the repository on each request (edit, reload; no build step). Only the
//! dev server serves them: the Lambda functions never do.

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kyc_runtime::Config;
use std::path::PathBuf;

/// `web/app/` of the repository this binary was built from.
const APP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/app");

/// What the app may load: its own files, images from the tenant's HTTPS logo URL and the file
/// previews it makes itself; it talks to this origin only (the API and the local upload URLs).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'self'";

/// `/app/config.js` (generated from this server's settings, as the deployment writes it on AWS)
/// and `/app/*` (the app's files).
pub fn router(config: &Config) -> Router {
    let settings = app_config(config);
    Router::new()
        .route("/app/config.js", get(move || async move { app_file("js", settings.into_bytes()) }))
        .route("/app/{*path}", get(asset))
}

/// The settings the app reads at start (`window.KYC_CONFIG`): the API on the same origin, and
/// the server's upload rules, so the browser refuses what the server would refuse before uploading.
fn app_config(config: &Config) -> String {
    let settings = serde_json::json!({
        "apiBaseUrl": "",
        "maxUploadBytes": config.uploads.max_bytes,
        "allowedMimeTypes": config.uploads.allowed_mime_types,
    });
    format!("window.KYC_CONFIG = {settings};\n")
}

async fn asset(Path(path): Path<String>) -> Response {
    let Some((file, kind)) = resolve(&path) else { return not_found() };
    match tokio::fs::read(&file).await {
        Ok(bytes) => app_file(kind, bytes),
        Err(_) => not_found(),
    }
}

/// The file `path` names under the app folder, and its extension, if it is one the app serves:
/// plain segments only (no `..`, no hidden files) and a known extension.
fn resolve(path: &str) -> Option<(PathBuf, &'static str)> {
    let plain = |segment: &str| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    };
    if !path.split('/').all(plain) {
        return None;
    }
    let extension = path.rsplit_once('.')?.1;
    let kind = ["html", "js", "css", "svg", "png"].into_iter().find(|known| *known == extension)?;
    Some((PathBuf::from(APP_DIR).join(path), kind))
}

fn content_type(kind: &str) -> &'static str {
    match kind {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        _ => "image/png",
    }
}

fn app_file(kind: &str, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(kind)));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Edits show on reload; the page itself carries a token in its URL and is never cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// Every answer of the dev server carries `Referrer-Policy: no-referrer` (links hold tokens),
/// and a browser navigating to a public session link gets the app instead of the JSON state.
pub async fn open_links_in_the_app(request: Request, next: Next) -> Response {
    let mut response = if opens_a_session_page(request.method(), request.uri().path(), request.headers()) {
        match tokio::fs::read(PathBuf::from(APP_DIR).join("index.html")).await {
            Ok(bytes) => {
                let mut page = app_file("html", bytes);
                page.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                page
            }
            Err(_) => not_found(),
        }
    } else {
        next.run(request).await
    };
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A GET of exactly `/public/sessions/{token}` that accepts HTML (a browser's navigation; the
/// app's own API calls ask for JSON).
fn opens_a_session_page(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let is_link =
        path.strip_prefix("/public/sessions/").is_some_and(|token| !token.is_empty() && !token.contains('/'));
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    method == Method::GET && is_link && wants_html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn a_browser_navigation_to_a_session_link_opens_the_app() {
        let browser = accepting("text/html,application/xhtml+xml,*/*;q=0.8");
        assert!(opens_a_session_page(&Method::GET, "/public/sessions/abc", &browser));
        assert!(!opens_a_session_page(&Method::GET, "/public/sessions/abc", &accepting("application/json")));
        assert!(!opens_a_session_page(&Method::GET, "/public/sessions/abc", &HeaderMap::new()));
        assert!(!opens_a_session_page(&Method::GET, "/public/sessions/abc/workflow", &browser));
        assert!(!opens_a_session_page(&Method::POST, "/public/sessions/abc", &browser));
        assert!(!opens_a_session_page(&Method::GET, "/public/sessions/", &browser));
    }

    #[test]
    fn only_plain_app_files_with_known_types_are_served() {
        assert_eq!(resolve("app.js").map(|(_, kind)| kind), Some("js"));
        assert_eq!(resolve("img/logo.svg").map(|(_, kind)| kind), Some("svg"));
        for refused in ["../Cargo.toml", "a/../../x.js", ".hidden.js", "x.json", "dir/", "", "a//b.js", "x"] {
            assert!(resolve(refused).is_none(), "{refused}");
        }
    }
}
