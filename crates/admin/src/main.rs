//! Admin CLI: bootstrap tenants and API keys in the configured store (the same code path
//! `make dev` seeds with). Reads the same environment as the functions.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use kyc_core::domain::evidence::{self, EvidenceBundle};
use kyc_core::domain::ids::TenantId;
use kyc_core::domain::secrets::Mode;
use kyc_runtime::{sealing_key, services, Config};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "kyc-admin",
    about = "Create tenants and API keys; verify evidence bundles; create an emulator store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a tenant and print its id.
    CreateTenant {
        #[arg(long)]
        name: String,
    },
    /// Mint an API key for a tenant; the secret is printed once and stored only as a hash.
    CreateApiKey {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value = "test")]
        mode: KeyMode,
    },
    /// Create the table and the documents bucket on an AWS emulator (KYC_DYNAMODB_ENDPOINT and
    /// KYC_S3_ENDPOINT set), to run the dev server on the AWS adapters locally.
    CreateStore,
    /// Check an evidence bundle's signature with this deployment's secret
    /// (`KYC_IDEMPOTENCY_SECRET`, or the dev server's local one). Takes the bundle, or the whole
    /// answer of `GET /v1/sessions/{id}/evidence`; exits 1 when it does not verify.
    VerifyEvidence {
        /// The bundle's JSON file (`-` for standard input).
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyMode {
    Test,
    Live,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    let output = match cli.command {
        // Verifying needs the secret only, not the store.
        Command::VerifyEvidence { file } => return verify_evidence(&config, &file),
        Command::CreateStore => {
            kyc_runtime::create_emulator_store(&config).await?;
            json!({ "table": "created", "bucket": "created" })
        }
        Command::CreateTenant { name } => {
            let tenant = services(&config).await?.create_tenant(&name).await?;
            json!({ "tenant_id": tenant.tenant_id, "name": tenant.name, "created_at": tenant.created_at })
        }
        Command::CreateApiKey { tenant, mode } => {
            let tenant =
                TenantId::parse(&tenant).ok_or_else(|| anyhow::anyhow!("--tenant must be a ten_… id"))?;
            let mode = match mode {
                KeyMode::Test => Mode::Test,
                KeyMode::Live => Mode::Live,
            };
            let key = services(&config).await?.create_api_key(&tenant, mode).await?;
            json!({ "key_id": key.record.key_id, "api_key": key.secret.expose(), "mode": mode.as_str() })
        }
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}

/// Prints whether the bundle in `file` verifies; an error (exit 1) when it does not.
fn verify_evidence(config: &Config, file: &Path) -> anyhow::Result<()> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let mut value: serde_json::Value = serde_json::from_str(&text).context("the bundle is not JSON")?;
    if value.get("status").is_some() {
        value = value["data"].take();
    }
    let bundle: EvidenceBundle = serde_json::from_value(value).context("not an evidence bundle")?;
    evidence::verify(&bundle, &sealing_key(&config.idempotency_secret)?)?;
    let session = &bundle.manifest["session"];
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "verified": true,
            "session_id": session["session_id"],
            "generated_at": bundle.manifest["generated_at"],
            "documents": bundle.files.len(),
        }))?
    );
    Ok(())
}
