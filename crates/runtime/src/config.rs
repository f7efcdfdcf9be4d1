//! The typed configuration, read from the environment once at start.

use anyhow::{bail, Context};
use kyc_core::domain::files::FileKind;
use kyc_core::services::UploadSettings;
use std::path::PathBuf;

/// Where the single table lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Store {
    /// An SQLite file shared by every local process.
    Sqlite { path: PathBuf },
}

/// Where uploaded documents live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobStore {
    /// A local folder; its signed URLs are served by the dev server under `/_blobs/`.
    Filesystem { root: PathBuf },
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (Lambda, CloudWatch).
    Json,
    /// Human-readable lines (local development).
    Text,
}

/// Everything a process needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Config {
    pub store: Store,
    pub blobs: BlobStore,
    /// Upload limits (`KYC_MAX_UPLOAD_BYTES`, `KYC_ALLOWED_MIME_TYPES`).
    pub uploads: UploadSettings,
    /// Base URL of public session links (`KYC_PUBLIC_BASE_URL`).
    pub public_base_url: String,
    /// Default session lifetime in seconds (`KYC_SESSION_TTL_SECONDS`, 7 days).
    pub session_ttl_seconds: i64,
    pub log_format: LogFormat,
    /// Port of the local dev server (`PORT`, 3000); the default public base URL follows it.
    pub port: u16,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads configuration from any variable source (tests pass a map).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let on_lambda = var("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let store = match var("KYC_STORE").as_deref().unwrap_or("sqlite") {
            "sqlite" => {
                Store::Sqlite { path: var("KYC_SQLITE_PATH").unwrap_or_else(|| ".dev/kyc.db".into()).into() }
            }
            other => bail!("KYC_STORE={other} is not supported; use sqlite"),
        };
        let blobs =
            BlobStore::Filesystem { root: var("KYC_BLOB_DIR").unwrap_or_else(|| ".dev/blobs".into()).into() };
        let mut uploads = UploadSettings::default();
        if let Some(text) = var("KYC_MAX_UPLOAD_BYTES") {
            uploads.max_bytes = text.parse().context("KYC_MAX_UPLOAD_BYTES must be a number of bytes")?;
        }
        if let Some(text) = var("KYC_ALLOWED_MIME_TYPES") {
            let types: Vec<String> =
                text.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect();
            if let Some(unknown) = types.iter().find(|t| FileKind::from_mime(t).is_none()) {
                bail!("KYC_ALLOWED_MIME_TYPES: {unknown} is not a supported type (JPEG, PNG, HEIC/HEIF, WebP, PDF)");
            }
            uploads.allowed_mime_types = types;
        }
        let port = match var("PORT") {
            Some(text) => text.parse().context("PORT must be a port number")?,
            None => 3000,
        };
        let public_base_url =
            var("KYC_PUBLIC_BASE_URL").unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        let parsed =
            url::Url::parse(&public_base_url).context("KYC_PUBLIC_BASE_URL must be an absolute URL")?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("KYC_PUBLIC_BASE_URL must be an http(s) URL");
        }
        let session_ttl_seconds = match var("KYC_SESSION_TTL_SECONDS") {
            Some(text) => {
                text.parse().context("KYC_SESSION_TTL_SECONDS must be a whole number of seconds")?
            }
            None => 7 * 24 * 3600,
        };
        if !(kyc_core::services::MIN_SESSION_TTL_SECONDS..=kyc_core::services::MAX_SESSION_TTL_SECONDS)
            .contains(&session_ttl_seconds)
        {
            bail!("KYC_SESSION_TTL_SECONDS must be between 60 and 7776000");
        }
        let log_format = match var("KYC_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            None if on_lambda => LogFormat::Json,
            None => LogFormat::Text,
            Some(other) => bail!("KYC_LOG_FORMAT={other} is not supported; use json or text"),
        };
        Ok(Self {
            store,
            blobs,
            uploads,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            session_ttl_seconds,
            log_format,
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    fn config_err(vars: &[(&str, &str)]) -> String {
        config(vars).unwrap_err().to_string()
    }

    #[test]
    fn defaults_suit_local_development() {
        let config = config(&[]).unwrap();
        assert_eq!(config.store, Store::Sqlite { path: ".dev/kyc.db".into() });
        assert_eq!(config.public_base_url, "http://127.0.0.1:3000");
        assert_eq!(config.session_ttl_seconds, 604_800);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.port, 3000);
        assert_eq!(config.blobs, BlobStore::Filesystem { root: ".dev/blobs".into() });
        assert_eq!(config.uploads.max_bytes, 15 * 1024 * 1024);
    }

    #[test]
    fn upload_limits_are_configurable_and_checked() {
        let config = config(&[
            ("KYC_ALLOWED_MIME_TYPES", "image/jpeg, application/pdf"),
            ("KYC_MAX_UPLOAD_BYTES", "1000"),
        ])
        .unwrap();
        assert_eq!(config.uploads.allowed_mime_types, vec!["image/jpeg", "application/pdf"]);
        assert_eq!(config.uploads.max_bytes, 1000);
        assert!(config_err(&[("KYC_ALLOWED_MIME_TYPES", "image/gif")]).contains("not a supported type"));
    }

    #[test]
    fn the_default_public_url_follows_the_port() {
        assert_eq!(config(&[("PORT", "4100")]).unwrap().public_base_url, "http://127.0.0.1:4100");
        assert!(config(&[("PORT", "http")]).is_err());
    }

    #[test]
    fn lambda_logs_json_and_values_are_checked() {
        assert_eq!(config(&[("AWS_LAMBDA_FUNCTION_NAME", "f")]).unwrap().log_format, LogFormat::Json);
        assert!(config(&[("KYC_STORE", "mongo")]).is_err());
        assert!(config(&[("KYC_SESSION_TTL_SECONDS", "soon")]).is_err());
        assert!(config(&[("KYC_SESSION_TTL_SECONDS", "5")]).is_err());
        assert!(config(&[("KYC_PUBLIC_BASE_URL", "ftp://x")]).is_err());
        assert_eq!(
            config(&[("KYC_PUBLIC_BASE_URL", "https://kyc.example.com/")]).unwrap().public_base_url,
            "https://kyc.example.com"
        );
    }
}
