//! Admin CLI: bootstrap tenants and API keys in the configured store (the same code path
//! `make dev` seeds with). Reads the same environment as the functions.

use clap::{Parser, Subcommand, ValueEnum};
use kyc_core::domain::ids::TenantId;
use kyc_core::domain::secrets::Mode;
use kyc_runtime::{services, Config};
use serde_json::json;

#[derive(Parser)]
#[command(name = "kyc-admin", about = "Create tenants and API keys")]
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
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyMode {
    Test,
    Live,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let services = services(&Config::from_env()?).await?;
    let output = match cli.command {
        Command::CreateTenant { name } => {
            let tenant = services.create_tenant(&name).await?;
            json!({ "tenant_id": tenant.tenant_id, "name": tenant.name, "created_at": tenant.created_at })
        }
        Command::CreateApiKey { tenant, mode } => {
            let tenant =
                TenantId::parse(&tenant).ok_or_else(|| anyhow::anyhow!("--tenant must be a ten_… id"))?;
            let mode = match mode {
                KeyMode::Test => Mode::Test,
                KeyMode::Live => Mode::Live,
            };
            let key = services.create_api_key(&tenant, mode).await?;
            json!({ "key_id": key.record.key_id, "api_key": key.secret.expose(), "mode": mode.as_str() })
        }
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}
