//! The typed configuration, read from the environment once at start.

use anyhow::{bail, Context};
use kyc_core::domain::files::FileKind;
use kyc_core::services::UploadSettings;
use kyc_screening::index::RefreshPolicy;
use kyc_screening::matching::Threshold;
use kyc_screening::source::ListId;
use kyc_screening::update::ListUrl;
use std::path::PathBuf;

/// Five years: the record keeping most AML rules ask for after a business relationship ends.
const DEFAULT_RETENTION_DAYS: u32 = 1_825;

/// Where the single table lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Store {
    /// An SQLite file shared by every local process (`KYC_STORE=sqlite`, the default).
    Sqlite { path: PathBuf },
    /// A DynamoDB table (`KYC_STORE=dynamodb`), reached with the standard AWS environment
    /// (region and credentials; on Lambda, the function's role).
    DynamoDb {
        /// The table's name (`KYC_TABLE_NAME`, required).
        table: String,
        /// Sends DynamoDB requests here instead of AWS, for a local emulator
        /// (`KYC_DYNAMODB_ENDPOINT`, optional).
        endpoint: Option<String>,
        /// Signs query cursors (`KYC_CURSOR_SECRET`, required).
        cursor_secret: CursorSecret,
    },
}

/// The key that signs query cursors, so clients cannot forge or alter them.
///
/// Every instance of a deployment (every Lambda function) must share it, or a cursor issued by
/// one is rejected by another: set `KYC_CURSOR_SECRET` to at least 32 random characters (for
/// example `openssl rand -hex 32`), kept like any other secret. Changing it only invalidates
/// cursors in flight.
#[derive(Clone, PartialEq, Eq)]
pub struct CursorSecret(String);

impl CursorSecret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for CursorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSecret(<redacted>)")
    }
}

/// Where the secret comes from that seals the responses kept for idempotent retries
/// (`Idempotency-Key`); they may contain secrets shown once, such as a new session's access token.
#[derive(Clone, PartialEq, Eq)]
pub enum IdempotencySecret {
    /// `KYC_IDEMPOTENCY_SECRET`: at least 32 characters, the same for every function (required
    /// with DynamoDB; on AWS the template generates one in Secrets Manager).
    Given(String),
    /// Without the variable on the embedded store: a random secret kept in this file (next to
    /// the SQLite file), created on first use, so every local process shares it.
    LocalFile(PathBuf),
}

impl IdempotencySecret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = kyc_core::domain::idempotency::SealingKey::MIN_SECRET_LEN;
}

impl std::fmt::Debug for IdempotencySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("IdempotencySecret::Given(<redacted>)"),
            Self::LocalFile(path) => f.debug_tuple("IdempotencySecret::LocalFile").field(path).finish(),
        }
    }
}

/// Where uploaded documents live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobStore {
    /// A local folder (`KYC_BLOBS=fs`, the default; `KYC_BLOB_DIR`); its signed URLs are served
    /// by the dev server under `/_blobs/`.
    Filesystem { root: PathBuf },
    /// An S3 bucket (`KYC_BLOBS=s3`), reached with the standard AWS environment; browsers upload
    /// to it and download from it through presigned URLs.
    S3 {
        /// The bucket's name (`KYC_BUCKET`, required).
        bucket: String,
        /// Sends S3 requests here instead of AWS, for a local emulator (`KYC_S3_ENDPOINT`,
        /// optional); buckets are then addressed by path, and presigned URLs point there too.
        endpoint: Option<String>,
    },
}

/// Who checks face liveness in live-mode sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LivenessBackend {
    /// Amazon Rekognition Face Liveness (`KYC_LIVENESS=rekognition`, the default with
    /// `KYC_BLOBS=s3` on AWS): its reference images are written to the documents bucket.
    Rekognition,
    /// None (`KYC_LIVENESS=none`, the default with filesystem blobs or an S3 emulator, whose
    /// objects Rekognition cannot reach): live-mode liveness steps are refused; test-mode
    /// sessions keep their sandbox outcomes.
    Disabled,
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
    /// Seals kept idempotent responses (`KYC_IDEMPOTENCY_SECRET`).
    pub idempotency_secret: IdempotencySecret,
    pub blobs: BlobStore,
    /// Live-mode liveness (`KYC_LIVENESS`). Live-mode extraction follows the blobs: Amazon
    /// Textract reads documents in S3, the local text-layer parser reads local files and those of
    /// an S3 emulator (`KYC_S3_ENDPOINT`).
    pub liveness: LivenessBackend,
    /// Upload limits (`KYC_MAX_UPLOAD_BYTES`, `KYC_ALLOWED_MIME_TYPES`, `KYC_MAX_PENDING_UPLOADS`,
    /// `KYC_MAX_DOCUMENTS_PER_SESSION`).
    pub uploads: UploadSettings,
    /// Base URL of public session links (`KYC_PUBLIC_BASE_URL`).
    pub public_base_url: String,
    /// Default session lifetime in seconds (`KYC_SESSION_TTL_SECONDS`, 7 days).
    pub session_ttl_seconds: i64,
    /// Days a finished session is kept before it is redacted (`KYC_RETENTION_DAYS`, 5 years).
    pub retention_days: u32,
    pub log_format: LogFormat,
    /// Failed liveness attempts allowed per step (`KYC_LIVENESS_MAX_FAILED_ATTEMPTS`, 5).
    pub liveness_max_failed_attempts: usize,
    /// Port of the local dev server (`PORT`, 3000); the default public base URL follows it.
    pub port: u16,
    /// How often the dev server's in-process sweepers run (`KYC_SWEEP_INTERVAL_SECONDS`, 30;
    /// on AWS a schedule runs the sweeper function instead).
    pub sweep_interval_seconds: u64,
    /// Multiplies every webhook retry delay (`KYC_WEBHOOK_RETRY_SCALE`, 1; 0.01 turns 5 minutes
    /// into 3 seconds for demos and tests).
    pub webhook_retry_scale: f64,
    /// Origins whose browsers may call the dev server (`KYC_FRONTEND_ORIGINS`, comma-separated;
    /// by default the dev server's own and Vite's `localhost:5173`). On AWS the template's
    /// `FrontendOrigin` sets the API's CORS.
    pub frontend_origins: Vec<String>,
    /// The SQS queue of webhook deliveries (`KYC_WEBHOOK_QUEUE_URL`; the background functions
    /// on AWS), and an endpoint override for an emulator (`KYC_SQS_ENDPOINT`).
    pub webhook_queue: Option<WebhookQueue>,
    /// Which sanctions lists names are screened against (`KYC_SCREENING`).
    pub screening: ScreeningLists,
    /// Lowest screening score reported as a possible match (`KYC_SCREENING_THRESHOLD`, 0.85).
    pub screening_threshold: Threshold,
    /// What the refresh function downloads (`KYC_SCREENING_LISTS`) and how far a list may
    /// shrink between two refreshes (`KYC_SCREENING_MAX_DROP`, 0.1).
    pub screening_refresh: ScreeningRefresh,
    /// Open the DynamoDB connection during init, so the first request does not pay for its TLS
    /// handshake, credentials and signing (`KYC_WARM_STORE`, `true` or `false`; off by default:
    /// in `make bench-cold` it moved that work into init without shortening the cold request,
    /// and cost CPU of its own).
    pub warm_store: bool,
}

/// The sanctions lists a deployment screens against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScreeningLists {
    /// The index the refresh function publishes (`published`, the default with DynamoDB),
    /// loaded on the first screen and followed within minutes of each refresh.
    Published,
    /// The fictional lists committed in `crates/screening/fixtures` (`fixtures`, the default
    /// with SQLite): screening works offline, and test-mode magic names hit.
    Fixtures,
    /// No screening (`off`): the sanctions check is not applicable.
    Off,
}

/// The scheduled refresh of the official lists.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreeningRefresh {
    pub lists: Vec<ListUrl>,
    pub policy: RefreshPolicy,
}

/// The official files, when `KYC_SCREENING_LISTS` does not name others.
pub const OFFICIAL_LISTS: [(ListId, &str); 2] = [
    (ListId::OfacSdn, "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.XML"),
    (ListId::UnConsolidated, "https://scsanctions.un.org/resources/xml/en/consolidated.xml"),
];

/// Where webhook deliveries are queued on AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookQueue {
    pub url: String,
    pub endpoint: Option<String>,
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
            "dynamodb" => dynamodb_store(&var)?,
            other => bail!("KYC_STORE={other} is not supported; use sqlite or dynamodb"),
        };
        let idempotency_secret = match (var("KYC_IDEMPOTENCY_SECRET"), &store) {
            (Some(secret), _) if secret.len() >= IdempotencySecret::MIN_LEN => IdempotencySecret::Given(secret),
            (Some(_), _) => {
                bail!("KYC_IDEMPOTENCY_SECRET must be at least {} characters", IdempotencySecret::MIN_LEN)
            }
            (None, Store::Sqlite { path }) => IdempotencySecret::LocalFile(
                path.parent().unwrap_or_else(|| std::path::Path::new("")).join("idempotency.secret"),
            ),
            (None, Store::DynamoDb { .. }) => bail!(
                "KYC_STORE=dynamodb needs KYC_IDEMPOTENCY_SECRET, the secret that seals responses kept for idempotent retries (32+ random characters, the same for every function)"
            ),
        };
        let blobs = match var("KYC_BLOBS").as_deref().unwrap_or("fs") {
            "fs" => BlobStore::Filesystem {
                root: var("KYC_BLOB_DIR").unwrap_or_else(|| ".dev/blobs".into()).into(),
            },
            "s3" => s3_blobs(&var)?,
            other => bail!("KYC_BLOBS={other} is not supported; use fs or s3"),
        };
        let in_aws_s3 = matches!(blobs, BlobStore::S3 { endpoint: None, .. });
        let liveness = match var("KYC_LIVENESS").as_deref() {
            None | Some("") if in_aws_s3 => LivenessBackend::Rekognition,
            None | Some("") | Some("none") => LivenessBackend::Disabled,
            Some("rekognition") if in_aws_s3 => LivenessBackend::Rekognition,
            Some("rekognition") => bail!(
                "KYC_LIVENESS=rekognition needs KYC_BLOBS=s3 without KYC_S3_ENDPOINT: Rekognition reads and writes the bucket on AWS"
            ),
            Some(other) => bail!("KYC_LIVENESS={other} is not supported; use rekognition or none"),
        };
        let mut uploads = UploadSettings::default();
        if let Some(text) = var("KYC_MAX_UPLOAD_BYTES") {
            uploads.max_bytes = text.parse().context("KYC_MAX_UPLOAD_BYTES must be a number of bytes")?;
        }
        if let Some(text) = var("KYC_MAX_PENDING_UPLOADS") {
            uploads.max_pending_uploads =
                text.parse().context("KYC_MAX_PENDING_UPLOADS must be a whole number")?;
        }
        if let Some(text) = var("KYC_MAX_DOCUMENTS_PER_SESSION") {
            uploads.max_documents =
                text.parse().context("KYC_MAX_DOCUMENTS_PER_SESSION must be a whole number")?;
        }
        if let Some(text) = var("KYC_ALLOWED_MIME_TYPES") {
            let types: Vec<String> =
                text.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect();
            if let Some(unknown) = types.iter().find(|t| FileKind::from_mime(t).is_none()) {
                bail!("KYC_ALLOWED_MIME_TYPES: {unknown} is not a supported type (JPEG, PNG, HEIC/HEIF, WebP, PDF)");
            }
            uploads.allowed_mime_types = types;
        }
        let liveness_max_failed_attempts = match var("KYC_LIVENESS_MAX_FAILED_ATTEMPTS") {
            Some(text) => text.parse().context("KYC_LIVENESS_MAX_FAILED_ATTEMPTS must be a whole number")?,
            None => 5,
        };
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
        let retention = kyc_core::domain::workflow::RETENTION_DAYS;
        let retention_days = match var("KYC_RETENTION_DAYS") {
            Some(text) => text.parse().ok().filter(|days| retention.contains(days)).with_context(|| {
                format!(
                    "KYC_RETENTION_DAYS must be a whole number of days from {} to {}",
                    retention.start(),
                    retention.end()
                )
            })?,
            None => DEFAULT_RETENTION_DAYS,
        };
        let sweep_interval_seconds =
            match var("KYC_SWEEP_INTERVAL_SECONDS") {
                Some(text) => text.parse().ok().filter(|seconds| (1..=86_400).contains(seconds)).context(
                    "KYC_SWEEP_INTERVAL_SECONDS must be a whole number of seconds from 1 to 86400",
                )?,
                None => 30,
            };
        let webhook_retry_scale = match var("KYC_WEBHOOK_RETRY_SCALE") {
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|scale| scale.is_finite() && *scale > 0.0 && *scale <= 1_000.0)
                .context("KYC_WEBHOOK_RETRY_SCALE must be a number above 0 and at most 1000")?,
            None => 1.0,
        };
        let frontend_origins = match var("KYC_FRONTEND_ORIGINS") {
            Some(text) => {
                let origins: Vec<String> = text
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                for origin in &origins {
                    let parsed = url::Url::parse(origin).ok().filter(|u| {
                        matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none()
                    });
                    if parsed.is_none() {
                        bail!("KYC_FRONTEND_ORIGINS: '{origin}' is not an origin (scheme://host[:port])");
                    }
                }
                origins
            }
            None => vec![
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
                "http://localhost:5173".to_owned(),
                "http://127.0.0.1:5173".to_owned(),
            ],
        };
        let webhook_queue = match var("KYC_WEBHOOK_QUEUE_URL").filter(|url| !url.is_empty()) {
            Some(url) => {
                url::Url::parse(&url).context("KYC_WEBHOOK_QUEUE_URL must be the queue's URL")?;
                Some(WebhookQueue { url, endpoint: endpoint_override(&var, "KYC_SQS_ENDPOINT")? })
            }
            None => None,
        };
        let screening = match var("KYC_SCREENING").as_deref() {
            Some("published") => ScreeningLists::Published,
            Some("fixtures") => ScreeningLists::Fixtures,
            Some("off") => ScreeningLists::Off,
            None | Some("") => match store {
                Store::DynamoDb { .. } => ScreeningLists::Published,
                Store::Sqlite { .. } => ScreeningLists::Fixtures,
            },
            Some(other) => bail!("KYC_SCREENING={other} is not supported; use published, fixtures or off"),
        };
        let screening_threshold = match var("KYC_SCREENING_THRESHOLD") {
            Some(text) => text
                .parse::<f64>()
                .ok()
                .and_then(|value| Threshold::new(value).ok())
                .context("KYC_SCREENING_THRESHOLD must be a score between 0 and 1")?,
            None => Threshold::default(),
        };
        let screening_refresh = ScreeningRefresh {
            lists: match var("KYC_SCREENING_LISTS").filter(|text| !text.trim().is_empty()) {
                Some(text) => list_urls(&text)?,
                None => OFFICIAL_LISTS.iter().map(|&(list, url)| ListUrl { list, url: url.into() }).collect(),
            },
            policy: match var("KYC_SCREENING_MAX_DROP") {
                Some(text) => text
                    .parse::<f64>()
                    .ok()
                    .and_then(|drop| RefreshPolicy::new(drop).ok())
                    .context("KYC_SCREENING_MAX_DROP must be a fraction between 0 and 1")?,
                None => RefreshPolicy::default(),
            },
        };
        let warm_store = match var("KYC_WARM_STORE").as_deref() {
            Some("true") => true,
            Some("false") => false,
            None | Some("") => false,
            Some(other) => bail!("KYC_WARM_STORE={other} is not supported; use true or false"),
        };
        let log_format = match var("KYC_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            None if on_lambda => LogFormat::Json,
            None => LogFormat::Text,
            Some(other) => bail!("KYC_LOG_FORMAT={other} is not supported; use json or text"),
        };
        Ok(Self {
            store,
            idempotency_secret,
            blobs,
            liveness,
            uploads,
            liveness_max_failed_attempts,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            session_ttl_seconds,
            retention_days,
            log_format,
            port,
            sweep_interval_seconds,
            webhook_retry_scale,
            webhook_queue,
            frontend_origins,
            screening,
            screening_threshold,
            screening_refresh,
            warm_store,
        })
    }
}

/// The DynamoDB store's settings (`KYC_TABLE_NAME`, `KYC_CURSOR_SECRET`, `KYC_DYNAMODB_ENDPOINT`).
fn dynamodb_store(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Store> {
    let Some(table) = var("KYC_TABLE_NAME").filter(|name| !name.is_empty()) else {
        bail!("KYC_STORE=dynamodb needs KYC_TABLE_NAME, the DynamoDB table's name");
    };
    let valid_name = (3..=255).contains(&table.len())
        && table.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid_name {
        bail!("KYC_TABLE_NAME must be 3 to 255 letters, digits, '_', '-' or '.'");
    }
    let Some(secret) = var("KYC_CURSOR_SECRET") else {
        bail!("KYC_STORE=dynamodb needs KYC_CURSOR_SECRET, the key that signs query cursors (32+ random characters, the same for every function)");
    };
    if secret.len() < CursorSecret::MIN_LEN {
        bail!("KYC_CURSOR_SECRET must be at least {} characters", CursorSecret::MIN_LEN);
    }
    let endpoint = endpoint_override(var, "KYC_DYNAMODB_ENDPOINT")?;
    Ok(Store::DynamoDb { table, endpoint, cursor_secret: CursorSecret(secret) })
}

/// The S3 document store's settings (`KYC_BUCKET`, `KYC_S3_ENDPOINT`).
fn s3_blobs(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<BlobStore> {
    let Some(bucket) = var("KYC_BUCKET").filter(|name| !name.is_empty()) else {
        bail!("KYC_BLOBS=s3 needs KYC_BUCKET, the documents bucket's name");
    };
    // S3's rules for bucket names that work with every addressing style.
    let bytes = bucket.as_bytes();
    let valid_name = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    if !valid_name {
        bail!("KYC_BUCKET must be 3 to 63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit");
    }
    let endpoint = endpoint_override(var, "KYC_S3_ENDPOINT")?;
    Ok(BlobStore::S3 { bucket, endpoint })
}

/// An optional endpoint URL (for emulators), which must be an absolute http(s) URL.
/// Reads `list=url` pairs, comma-separated: each list known, named once, with an http(s) URL.
fn list_urls(text: &str) -> anyhow::Result<Vec<ListUrl>> {
    let mut lists: Vec<ListUrl> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, url) = pair.split_once('=').context("KYC_SCREENING_LISTS: each entry is list=url")?;
        let list = ListId::ALL.into_iter().find(|l| l.as_str() == name.trim()).with_context(|| {
            let known: Vec<&str> = ListId::ALL.iter().map(|l| l.as_str()).collect();
            format!("KYC_SCREENING_LISTS: unknown list '{}' (known: {})", name.trim(), known.join(", "))
        })?;
        let url = url.trim();
        if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            bail!("KYC_SCREENING_LISTS: '{url}' is not an http(s) URL");
        }
        if lists.iter().any(|l| l.list == list) {
            bail!("KYC_SCREENING_LISTS: {list} is named twice");
        }
        lists.push(ListUrl { list, url: url.to_owned() });
    }
    Ok(lists)
}

fn endpoint_override(var: &impl Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<Option<String>> {
    let endpoint = var(name).filter(|url| !url.is_empty());
    if let Some(url) = &endpoint {
        let parsed = url::Url::parse(url).with_context(|| format!("{name} must be an absolute URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("{name} must be an http(s) URL");
        }
    }
    Ok(endpoint)
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
        assert_eq!(config.retention_days, 1_825);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.port, 3000);
        assert_eq!(config.blobs, BlobStore::Filesystem { root: ".dev/blobs".into() });
        assert_eq!(config.uploads.max_bytes, 15 * 1024 * 1024);
        assert_eq!((config.uploads.max_pending_uploads, config.uploads.max_documents), (20, 100));
        assert_eq!(config.sweep_interval_seconds, 30);
        assert!(!config.warm_store);
    }

    #[test]
    fn the_store_connection_is_warmed_during_init_only_when_asked() {
        let lambda = ("AWS_LAMBDA_FUNCTION_NAME", "kyc-sessions");
        assert!(!config(&[lambda]).unwrap().warm_store);
        assert!(config(&[lambda, ("KYC_WARM_STORE", "true")]).unwrap().warm_store);
        assert!(!config(&[("KYC_WARM_STORE", "false")]).unwrap().warm_store);
        assert!(config_err(&[("KYC_WARM_STORE", "yes")]).contains("KYC_WARM_STORE=yes"));
    }

    #[test]
    fn frontend_origins_default_to_the_dev_servers_own_and_must_be_origins() {
        let defaults = config(&[("PORT", "4000")]).unwrap().frontend_origins;
        assert!(defaults.contains(&"http://127.0.0.1:4000".to_owned()), "{defaults:?}");
        let set = config(&[("KYC_FRONTEND_ORIGINS", "https://verify.example.com, http://localhost:3001/")])
            .unwrap();
        assert_eq!(set.frontend_origins, ["https://verify.example.com", "http://localhost:3001"]);
        for bad in ["verify.example.com", "https://example.com/path", "ftp://example.com"] {
            assert!(config_err(&[("KYC_FRONTEND_ORIGINS", bad)]).contains("is not an origin"), "{bad}");
        }
    }

    #[test]
    fn the_webhook_retry_scale_is_a_positive_factor() {
        assert_eq!(config(&[]).unwrap().webhook_retry_scale, 1.0);
        assert_eq!(config(&[("KYC_WEBHOOK_RETRY_SCALE", "0.01")]).unwrap().webhook_retry_scale, 0.01);
        for bad in ["0", "-1", "NaN", "fast"] {
            assert!(
                config_err(&[("KYC_WEBHOOK_RETRY_SCALE", bad)]).contains("KYC_WEBHOOK_RETRY_SCALE"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_sweep_interval_is_a_positive_number_of_seconds() {
        assert_eq!(config(&[("KYC_SWEEP_INTERVAL_SECONDS", "2")]).unwrap().sweep_interval_seconds, 2);
        for bad in ["0", "-1", "soon", "86401"] {
            assert!(
                config_err(&[("KYC_SWEEP_INTERVAL_SECONDS", bad)]).contains("KYC_SWEEP_INTERVAL_SECONDS"),
                "{bad}"
            );
        }
    }

    #[test]
    fn upload_limits_are_configurable_and_checked() {
        let config = config(&[
            ("KYC_ALLOWED_MIME_TYPES", "image/jpeg, application/pdf"),
            ("KYC_MAX_UPLOAD_BYTES", "1000"),
            ("KYC_MAX_PENDING_UPLOADS", "5"),
            ("KYC_MAX_DOCUMENTS_PER_SESSION", "30"),
        ])
        .unwrap();
        assert_eq!(config.uploads.allowed_mime_types, vec!["image/jpeg", "application/pdf"]);
        assert_eq!(config.uploads.max_bytes, 1000);
        assert_eq!((config.uploads.max_pending_uploads, config.uploads.max_documents), (5, 30));
        assert!(config_err(&[("KYC_MAX_PENDING_UPLOADS", "many")]).contains("KYC_MAX_PENDING_UPLOADS"));
        assert!(
            config_err(&[("KYC_MAX_DOCUMENTS_PER_SESSION", "-1")]).contains("KYC_MAX_DOCUMENTS_PER_SESSION")
        );
        assert!(config_err(&[("KYC_ALLOWED_MIME_TYPES", "image/gif")]).contains("not a supported type"));
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const SEALING: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn screening_uses_the_fixtures_locally_and_the_published_index_with_dynamodb() {
        assert_eq!(config(&[]).unwrap().screening, ScreeningLists::Fixtures);
        let aws = config(&[
            ("KYC_STORE", "dynamodb"),
            ("KYC_TABLE_NAME", "kyc-prod"),
            ("KYC_CURSOR_SECRET", SECRET),
            ("KYC_IDEMPOTENCY_SECRET", SEALING),
        ])
        .unwrap();
        assert_eq!(aws.screening, ScreeningLists::Published);
        assert_eq!(config(&[("KYC_SCREENING", "off")]).unwrap().screening, ScreeningLists::Off);
        assert!(config_err(&[("KYC_SCREENING", "maybe")]).contains("KYC_SCREENING"));
        assert_eq!(config(&[("KYC_SCREENING_THRESHOLD", "0.9")]).unwrap().screening_threshold.value(), 0.9);
        assert!(config_err(&[("KYC_SCREENING_THRESHOLD", "1.5")]).contains("KYC_SCREENING_THRESHOLD"));
    }

    #[test]
    fn the_refresh_downloads_the_official_lists_unless_others_are_named() {
        let official = config(&[]).unwrap().screening_refresh;
        assert_eq!(official.lists.len(), 2);
        assert!(official.lists.iter().all(|l| l.url.starts_with("https://")));
        assert_eq!(official.policy, RefreshPolicy::default());

        let named = config(&[
            ("KYC_SCREENING_LISTS", "un_consolidated=http://127.0.0.1:9/un.xml"),
            ("KYC_SCREENING_MAX_DROP", "0.25"),
        ])
        .unwrap()
        .screening_refresh;
        assert_eq!(
            named.lists,
            [ListUrl { list: ListId::UnConsolidated, url: "http://127.0.0.1:9/un.xml".into() }]
        );
        assert_eq!(named.policy, RefreshPolicy::new(0.25).unwrap());

        for (lists, complaint) in [
            ("eu_fsf=https://example.com/eu.xml", "unknown list 'eu_fsf'"),
            ("ofac_sdn", "list=url"),
            ("ofac_sdn=ftp://example.com/sdn.xml", "not an http(s) URL"),
            ("ofac_sdn=https://a.example/x,ofac_sdn=https://b.example/x", "named twice"),
        ] {
            let error = config_err(&[("KYC_SCREENING_LISTS", lists)]);
            assert!(error.contains(complaint), "{lists}: {error}");
        }
        assert!(config_err(&[("KYC_SCREENING_MAX_DROP", "2")]).contains("KYC_SCREENING_MAX_DROP"));
    }

    #[test]
    fn dynamodb_needs_a_table_name_and_a_cursor_secret() {
        let config = config(&[
            ("KYC_STORE", "dynamodb"),
            ("KYC_TABLE_NAME", "kyc-prod"),
            ("KYC_CURSOR_SECRET", SECRET),
            ("KYC_IDEMPOTENCY_SECRET", SEALING),
        ])
        .unwrap();
        let Store::DynamoDb { table, endpoint, cursor_secret } = config.store else {
            panic!("expected the DynamoDB store, got {:?}", config.store);
        };
        assert_eq!((table.as_str(), endpoint), ("kyc-prod", None));
        assert_eq!(cursor_secret.expose(), SECRET.as_bytes());
        assert_eq!(format!("{cursor_secret:?}"), "CursorSecret(<redacted>)");

        assert!(config_err(&[
            ("KYC_STORE", "dynamodb"),
            ("KYC_CURSOR_SECRET", SECRET),
            ("KYC_IDEMPOTENCY_SECRET", SEALING)
        ])
        .contains("KYC_TABLE_NAME"));
        assert!(config_err(&[
            ("KYC_STORE", "dynamodb"),
            ("KYC_TABLE_NAME", "t!"),
            ("KYC_CURSOR_SECRET", SECRET),
            ("KYC_IDEMPOTENCY_SECRET", SEALING)
        ])
        .contains("KYC_TABLE_NAME"));
        assert!(
            config_err(&[("KYC_STORE", "dynamodb"), ("KYC_TABLE_NAME", "kyc")]).contains("KYC_CURSOR_SECRET")
        );
        assert!(config_err(&[
            ("KYC_STORE", "dynamodb"),
            ("KYC_TABLE_NAME", "kyc"),
            ("KYC_CURSOR_SECRET", "short")
        ])
        .contains("at least 32"));
    }

    #[test]
    fn dynamodb_may_point_at_a_local_emulator() {
        let vars = |endpoint: &'static str| {
            [
                ("KYC_STORE", "dynamodb"),
                ("KYC_TABLE_NAME", "kyc"),
                ("KYC_CURSOR_SECRET", SECRET),
                ("KYC_IDEMPOTENCY_SECRET", SEALING),
                ("KYC_DYNAMODB_ENDPOINT", endpoint),
            ]
        };
        let config = config(&vars("http://127.0.0.1:8000")).unwrap();
        assert!(
            matches!(&config.store, Store::DynamoDb { endpoint: Some(url), .. } if url == "http://127.0.0.1:8000")
        );
        assert!(config_err(&vars("localhost:8000")).contains("KYC_DYNAMODB_ENDPOINT"));
        assert!(config_err(&vars("ftp://127.0.0.1")).contains("KYC_DYNAMODB_ENDPOINT"));
    }

    #[test]
    fn s3_blobs_need_a_bucket_name() {
        let blobs = config(&[("KYC_BLOBS", "s3"), ("KYC_BUCKET", "kyc-documents-123")]).unwrap().blobs;
        assert_eq!(blobs, BlobStore::S3 { bucket: "kyc-documents-123".into(), endpoint: None });

        assert!(config_err(&[("KYC_BLOBS", "s3")]).contains("KYC_BUCKET"));
        assert!(config_err(&[("KYC_BLOBS", "s3"), ("KYC_BUCKET", "")]).contains("KYC_BUCKET"));
        for bad in ["ab", "Kyc-Docs", "kyc_docs", "-kyc", "kyc.", "kyc..docs", &"a".repeat(64)] {
            assert!(config_err(&[("KYC_BLOBS", "s3"), ("KYC_BUCKET", bad)]).contains("KYC_BUCKET"), "{bad}");
        }
        assert!(config_err(&[("KYC_BLOBS", "gcs")]).contains("KYC_BLOBS"));
        // The filesystem stays the default, and may be named.
        let blobs = config(&[("KYC_BLOBS", "fs"), ("KYC_BLOB_DIR", "/tmp/blobs")]).unwrap().blobs;
        assert_eq!(blobs, BlobStore::Filesystem { root: "/tmp/blobs".into() });
    }

    #[test]
    fn s3_blobs_may_point_at_a_local_emulator() {
        let vars = |endpoint: &'static str| {
            [("KYC_BLOBS", "s3"), ("KYC_BUCKET", "kyc"), ("KYC_S3_ENDPOINT", endpoint)]
        };
        let config = config(&vars("http://127.0.0.1:5000")).unwrap();
        assert_eq!(
            config.blobs,
            BlobStore::S3 { bucket: "kyc".into(), endpoint: Some("http://127.0.0.1:5000".into()) }
        );
        assert!(config_err(&vars("localhost:5000")).contains("KYC_S3_ENDPOINT"));
        assert!(config_err(&vars("ftp://127.0.0.1")).contains("KYC_S3_ENDPOINT"));
        // The table and the documents are chosen independently.
        assert_eq!(config.store, Store::Sqlite { path: ".dev/kyc.db".into() });
    }

    #[test]
    fn liveness_follows_the_blobs_and_may_be_turned_off() {
        let s3 = [("KYC_BLOBS", "s3"), ("KYC_BUCKET", "kyc-documents")];
        assert_eq!(config(&s3).unwrap().liveness, LivenessBackend::Rekognition);
        assert_eq!(config(&[]).unwrap().liveness, LivenessBackend::Disabled);
        let with = |value: &'static str| [s3[0], s3[1], ("KYC_LIVENESS", value)];
        assert_eq!(config(&with("none")).unwrap().liveness, LivenessBackend::Disabled);
        assert_eq!(config(&with("rekognition")).unwrap().liveness, LivenessBackend::Rekognition);
        assert!(config_err(&with("azure")).contains("KYC_LIVENESS"));
        assert!(config_err(&[("KYC_LIVENESS", "rekognition")]).contains("KYC_BLOBS=s3"));
        assert_eq!(config(&[("KYC_LIVENESS", "none")]).unwrap().liveness, LivenessBackend::Disabled);
        let emulator = [s3[0], s3[1], ("KYC_S3_ENDPOINT", "http://127.0.0.1:5000")];
        assert_eq!(config(&emulator).unwrap().liveness, LivenessBackend::Disabled);
        let emulator_with = [emulator[0], emulator[1], emulator[2], ("KYC_LIVENESS", "rekognition")];
        assert!(config_err(&emulator_with).contains("KYC_S3_ENDPOINT"));
    }

    #[test]
    fn the_idempotency_secret_is_required_with_dynamodb_and_kept_beside_the_sqlite_file_locally() {
        let local = config(&[]).unwrap();
        assert_eq!(local.idempotency_secret, IdempotencySecret::LocalFile(".dev/idempotency.secret".into()));
        let elsewhere = config(&[("KYC_SQLITE_PATH", "/var/kyc/store.db")]).unwrap();
        assert_eq!(
            elsewhere.idempotency_secret,
            IdempotencySecret::LocalFile(
                "/var/kyc/store.db".replace("store.db", "idempotency.secret").into()
            )
        );
        let given = config(&[("KYC_IDEMPOTENCY_SECRET", SEALING)]).unwrap();
        assert_eq!(given.idempotency_secret, IdempotencySecret::Given(SEALING.into()));
        assert_eq!(format!("{:?}", given.idempotency_secret), "IdempotencySecret::Given(<redacted>)");
        assert!(config_err(&[("KYC_IDEMPOTENCY_SECRET", "short")]).contains("at least 32"));

        let dynamodb = [("KYC_STORE", "dynamodb"), ("KYC_TABLE_NAME", "kyc"), ("KYC_CURSOR_SECRET", SECRET)];
        assert!(config_err(&dynamodb).contains("KYC_IDEMPOTENCY_SECRET"));
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
        assert!(config(&[("KYC_RETENTION_DAYS", "7")]).is_err());
        assert!(config(&[("KYC_PUBLIC_BASE_URL", "ftp://x")]).is_err());
        assert_eq!(
            config(&[("KYC_PUBLIC_BASE_URL", "https://kyc.example.com/")]).unwrap().public_base_url,
            "https://kyc.example.com"
        );
    }
}
