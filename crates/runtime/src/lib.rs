//! Process bootstrap shared by every binary: one typed config read at start, logging, the store
//! the config names, and serving a router on Lambda.

pub mod config;
pub mod emf;
mod extraction;
mod lambda;
mod logging;
pub mod screening;
#[cfg(feature = "sqs")]
pub mod webhooks;

pub use config::Config;
pub use lambda::{serve_lambda, with_api_gateway_request_id};
/// The error type of a function's `main`.
pub use lambda_http::Error;
pub use logging::init_logging;

use anyhow::Context;
use kyc_core::domain::idempotency::SealingKey;
use kyc_core::ports::{Blobs, Clock, Extractor, LivenessProvider, SystemClock, Table};
use kyc_core::services::{IdempotencySettings, Ports, Services, Settings};
use std::path::Path;
use std::sync::Arc;

/// The AWS environment (region, credentials chain), loaded when the first AWS client is built
/// and shared by every other one: loading it once per client costs each cold start again.
#[derive(Default)]
struct AwsEnvironment(tokio::sync::OnceCell<kyc_aws::SdkConfig>);

/// The process's one AWS environment.
static AWS: AwsEnvironment = AwsEnvironment(tokio::sync::OnceCell::const_new());

impl AwsEnvironment {
    async fn get(&self) -> &kyc_aws::SdkConfig {
        self.0.get_or_init(kyc_aws::load_sdk_config).await
    }
}

/// Opens the store the config names.
async fn open_table(config: &Config, aws: &AwsEnvironment) -> anyhow::Result<Arc<dyn Table>> {
    match &config.store {
        #[cfg(feature = "local")]
        config::Store::Sqlite { path } => Ok(Arc::new(kyc_local::SqliteTable::open(path)?)),
        #[cfg(not(feature = "local"))]
        config::Store::Sqlite { .. } => Err(without_local("KYC_STORE=sqlite")),
        config::Store::DynamoDb { table, endpoint, cursor_secret } => {
            let client = kyc_aws::dynamodb_client(aws.get().await, endpoint.as_deref());
            Ok(Arc::new(kyc_aws::DynamoTable::new(client, table, cursor_secret.expose())))
        }
    }
}

/// Opens the document store the config names.
async fn open_blobs(config: &Config, aws: &AwsEnvironment) -> anyhow::Result<Arc<dyn Blobs>> {
    match &config.blobs {
        #[cfg(feature = "local")]
        config::BlobStore::Filesystem { root } => {
            Ok(Arc::new(kyc_local::FsBlobs::open(root, &config.public_base_url)?))
        }
        #[cfg(not(feature = "local"))]
        config::BlobStore::Filesystem { .. } => Err(without_local("KYC_BLOBS=fs")),
        config::BlobStore::S3 { bucket, endpoint } => {
            Ok(Arc::new(kyc_aws::S3Blobs::lazy(aws.get().await, endpoint.as_deref(), bucket)))
        }
    }
}

/// Why a Lambda build refuses the embedded adapters (the variables default to them).
#[cfg(not(feature = "local"))]
fn without_local(setting: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{setting}: this binary is built for AWS, without the embedded store; set KYC_STORE=dynamodb \
         and KYC_BLOBS=s3, or build it with `--features local` (as `cargo lambda watch --features local` does)"
    )
}

/// The filesystem document store, whose signed URLs the dev server serves; `None` when documents
/// live in S3, whose presigned URLs the browser sends to S3 itself.
#[cfg(feature = "local")]
pub fn local_blobs(config: &Config) -> anyhow::Result<Option<kyc_local::FsBlobs>> {
    match &config.blobs {
        config::BlobStore::Filesystem { root } => {
            Ok(Some(kyc_local::FsBlobs::open(root, &config.public_base_url)?))
        }
        config::BlobStore::S3 { .. } => Ok(None),
    }
}

/// Builds the services on the configured adapters and the system clock.
pub async fn services(config: &Config) -> anyhow::Result<Services> {
    let settings = Settings {
        public_base_url: config.public_base_url.clone(),
        default_session_ttl_seconds: config.session_ttl_seconds,
        uploads: config.uploads.clone(),
        liveness_max_failed_attempts: config.liveness_max_failed_attempts,
        idempotency: IdempotencySettings::new(sealing_key(&config.idempotency_secret)?),
        webhooks: kyc_core::services::WebhookSettings {
            retry_scale: config.webhook_retry_scale,
            ..kyc_core::services::WebhookSettings::default()
        },
        retention_days: config.retention_days,
    };
    let aws = &AWS;
    let blobs = open_blobs(config, aws).await?;
    let (live_extractor, liveness) = live_providers(config, &blobs, aws).await;
    let table = open_table(config, aws).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let screener = screening::screener(config, &table, &blobs, &clock)?;
    if config.warm_store {
        warm_up(table.as_ref()).await;
    }
    let ports = Ports {
        table,
        blobs: blobs.clone(),
        clock,
        liveness,
        test_extractor: extraction::test_mode(&blobs),
        live_extractor,
    };
    let services = Services::new(ports, settings);
    Ok(match screener {
        Some(screener) => services.with_screener(screener),
        None => services,
    })
}

/// Creates the single table and the documents bucket on an AWS emulator (the configured endpoint
/// overrides), for local runs on the AWS adapters; on AWS the template creates both. Refuses to
/// act without an endpoint override, so it never touches a real account.
pub async fn create_emulator_store(config: &Config) -> anyhow::Result<()> {
    let (
        config::Store::DynamoDb { table, endpoint: Some(dynamodb), .. },
        config::BlobStore::S3 { bucket, endpoint: Some(s3) },
    ) = (&config.store, &config.blobs)
    else {
        anyhow::bail!("create-store is for emulators: set KYC_STORE=dynamodb with KYC_DYNAMODB_ENDPOINT and KYC_BLOBS=s3 with KYC_S3_ENDPOINT");
    };
    let aws = AWS.get().await;
    kyc_aws::create_table(&kyc_aws::dynamodb_client(aws, Some(dynamodb)), table).await?;
    kyc_aws::s3_client(aws, Some(s3))
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .context("creating the bucket")?;
    Ok(())
}

/// The deployment's table and document store, for the jobs that work on them without the
/// services (the sanctions list refresh).
pub async fn storage(config: &Config) -> anyhow::Result<(Arc<dyn Table>, Arc<dyn Blobs>)> {
    Ok((open_table(config, &AWS).await?, open_blobs(config, &AWS).await?))
}

/// Reads one key that never exists, which opens the store's connection (DNS, TCP, the TLS
/// handshake), loads the credentials and resolves the endpoint while the function initializes,
/// rather than on its first request. Costs one read request unit per cold start. A failure or a
/// slow answer (over a second) is only logged: the request path connects on its own.
async fn warm_up(table: &dyn Table) {
    let key = kyc_core::ports::table::Key::new("WARMUP#", "WARMUP#");
    match tokio::time::timeout(std::time::Duration::from_secs(1), table.get(&key)).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "warming the store connection failed"),
        Err(_) => tracing::warn!("warming the store connection took over a second; going on"),
    }
}

/// The deployment's sealing key (kept idempotent responses, webhook secrets, evidence bundle
/// signatures), from the configured secret or the local file.
pub fn sealing_key(secret: &config::IdempotencySecret) -> anyhow::Result<SealingKey> {
    let text = match secret {
        config::IdempotencySecret::Given(text) => text.clone(),
        config::IdempotencySecret::LocalFile(path) => local_secret(path)?,
    };
    SealingKey::derive(text.trim()).context("the idempotency secret must be at least 32 characters")
}

/// Reads the local idempotency secret, creating it (64 random hex characters, readable by the
/// owner only) on first use. Racing first uses agree: only one process creates the file.
fn local_secret(path: &Path) -> anyhow::Result<String> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating directory {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let secret = SealingKey::random_secret();
            file.write_all(secret.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
            file.sync_all().with_context(|| format!("writing {}", path.display()))?;
            Ok(secret)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process may be writing it right now: wait briefly for its 64 characters.
            for _ in 0..50 {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                if text.trim().len() >= SealingKey::MIN_SECRET_LEN {
                    return Ok(text.trim().to_owned());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            anyhow::bail!(
                "{} holds no idempotency secret (32+ characters); delete it to make a new one",
                path.display()
            )
        }
        Err(err) => Err(err).with_context(|| format!("creating {}", path.display())),
    }
}

/// The providers of live-mode sessions: with documents in S3 on AWS, Amazon Textract and
/// (unless `KYC_LIVENESS=none`) Rekognition; otherwise (local files, or an S3 emulator that AWS
/// services cannot read) the local text-layer parser and no liveness. A function built without a
/// provider's feature never serves its routes.
async fn live_providers(
    config: &Config,
    blobs: &Arc<dyn Blobs>,
    aws: &AwsEnvironment,
) -> (Arc<dyn Extractor>, Option<Arc<dyn LivenessProvider>>) {
    let config::BlobStore::S3 { bucket, endpoint: None } = &config.blobs else {
        return (extraction::off_aws(blobs), None);
    };
    #[cfg(feature = "textract")]
    let extractor: Arc<dyn Extractor> =
        Arc::new(kyc_aws::TextractExtractor::from_sdk_config(aws.get().await, bucket));
    #[cfg(not(feature = "textract"))]
    let extractor = extraction::off_aws(blobs);
    #[cfg(feature = "rekognition")]
    let liveness: Option<Arc<dyn LivenessProvider>> = match config.liveness {
        config::LivenessBackend::Rekognition => {
            Some(Arc::new(kyc_aws::RekognitionLiveness::from_sdk_config(aws.get().await, bucket)))
        }
        config::LivenessBackend::Disabled => None,
    };
    #[cfg(not(feature = "rekognition"))]
    let liveness: Option<Arc<dyn LivenessProvider>> = None;
    let _ = (aws, bucket);
    (extractor, liveness)
}

#[cfg(all(test, feature = "rekognition"))]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Config::from_vars(|name| map.get(name).map(|v| v.to_string())).unwrap()
    }

    #[tokio::test]
    async fn live_mode_gets_aws_providers_only_with_documents_in_s3() {
        let s3 = [("KYC_BLOBS", "s3"), ("KYC_BUCKET", "kyc-documents")];
        // Building the clients makes no request: no credentials or network needed.
        let dir = tempfile::tempdir().unwrap();
        let blobs: Arc<dyn Blobs> = Arc::new(kyc_local::FsBlobs::open(dir.path(), "http://x").unwrap());
        let aws = AwsEnvironment::default();
        assert!(live_providers(&config(&s3), &blobs, &aws).await.1.is_some());
        let without = config(&[s3[0], s3[1], ("KYC_LIVENESS", "none")]);
        assert!(live_providers(&without, &blobs, &aws).await.1.is_none());
        assert!(live_providers(&config(&[]), &blobs, &aws).await.1.is_none());
        let emulator = config(&[s3[0], s3[1], ("KYC_S3_ENDPOINT", "http://127.0.0.1:5000")]);
        assert!(live_providers(&emulator, &blobs, &aws).await.1.is_none());
    }
}

#[cfg(test)]
mod local_secret_tests {
    use super::*;

    #[test]
    fn the_local_idempotency_secret_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("idempotency.secret");
        let first = local_secret(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(local_secret(&path).unwrap(), first, "every process reads the same secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only");
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(local_secret(&other.path().join("idempotency.secret")).unwrap(), first);

        std::fs::write(&path, "short").unwrap();
        assert!(local_secret(&path).unwrap_err().to_string().contains("no idempotency secret"));
    }
}
