//! What the runtime's integration tests share.

use kyc_http::AppState;

/// The services a local process builds from its environment, on a store in `dir`.
pub async fn state(dir: &tempfile::TempDir) -> AppState {
    let db = dir.path().join("kyc.db").display().to_string();
    let blobs = dir.path().join("blobs").display().to_string();
    let config = kyc_runtime::Config::from_vars(|name| match name {
        "KYC_SQLITE_PATH" => Some(db.clone()),
        "KYC_BLOB_DIR" => Some(blobs.clone()),
        _ => None,
    })
    .unwrap();
    AppState::new(kyc_runtime::services(&config).await.unwrap())
}
