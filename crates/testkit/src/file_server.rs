//! A loopback HTTP server of files whose answers a test sets and changes (official list files,
//! a broken one, an outage).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Files = Arc<Mutex<HashMap<String, (StatusCode, Vec<u8>)>>>;

/// Serves `GET /{name}` with what [`FileServer::serve`] last set for that name (404 otherwise),
/// until the test's runtime ends.
pub struct FileServer {
    files: Files,
    base: String,
}

impl FileServer {
    /// Starts the server on a free loopback port.
    pub async fn start() -> Self {
        let files: Files = Arc::default();
        let app = axum::Router::new().route("/{name}", get(answer)).with_state(Arc::clone(&files));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("a bound address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the file server runs") });
        Self { files, base }
    }

    /// From now on, `GET /{name}` answers `status` with `body`.
    pub fn serve(&self, name: &str, status: StatusCode, body: Vec<u8>) {
        self.files.lock().expect("the file map").insert(name.to_owned(), (status, body));
    }

    /// The URL of `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }
}

async fn answer(State(files): State<Files>, Path(name): Path<String>) -> (StatusCode, Vec<u8>) {
    files.lock().expect("the file map").get(&name).cloned().unwrap_or((StatusCode::NOT_FOUND, Vec::new()))
}
