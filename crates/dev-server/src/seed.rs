//! Idempotent demo data for `make dev`: a tenant with a test key, the demo workflows and one
//! session. An intact `.dev/demo.json` is reused; anything missing is created again.

use anyhow::Context;
use kyc_core::domain::ids::TenantId;
use kyc_core::domain::secrets::Mode;
use kyc_core::domain::workflow::{WorkflowDefinition, WorkflowSlug};
use kyc_core::services::{CreateSession, Services, WorkflowSettings};
use serde::{Deserialize, Serialize};
use std::path::Path;

const DEMO_WORKFLOW: &str = include_str!("demo-workflow.json");
const UBO_WORKFLOW: &str = include_str!("ubo-workflow.json");

/// What `make dev` prints and writes to `.dev/demo.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Demo {
    pub base_url: String,
    pub api_key: String,
    pub tenant_id: TenantId,
    pub workflow_id: String,
    pub session_id: String,
    pub access_token: String,
}

/// Reuses the demo described by `file` if the store still knows it; otherwise seeds a new one.
pub async fn ensure_demo(services: &Services, base_url: &str, file: &Path) -> anyhow::Result<Demo> {
    if let Some(demo) = read(file) {
        if still_valid(services, &demo).await {
            let demo = Demo { base_url: base_url.to_owned(), ..demo };
            write(file, &demo)?;
            return Ok(demo);
        }
    }
    let demo = seed(services, base_url).await?;
    write(file, &demo)?;
    Ok(demo)
}

fn read(file: &Path) -> Option<Demo> {
    serde_json::from_slice(&std::fs::read(file).ok()?).ok()
}

fn write(file: &Path, demo: &Demo) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(file, serde_json::to_vec_pretty(demo)?)
        .with_context(|| format!("writing {}", file.display()))
}

async fn still_valid(services: &Services, demo: &Demo) -> bool {
    services.authenticate(&demo.api_key).await.is_ok_and(|caller| caller.tenant_id == demo.tenant_id)
        && services.public_state(&demo.access_token).await.is_ok()
}

async fn seed(services: &Services, base_url: &str) -> anyhow::Result<Demo> {
    let tenant = services.create_tenant("Demo Fintech").await?;
    let key = services.create_api_key(&tenant.tenant_id, Mode::Test).await?;
    let caller = services.authenticate(key.secret.expose()).await?;
    let ubo: WorkflowDefinition = serde_json::from_str(UBO_WORKFLOW)?;
    let ubo = services.create_workflow(&caller, ubo).await?;
    let main: WorkflowDefinition =
        serde_json::from_str(&DEMO_WORKFLOW.replace("{{UBO_WORKFLOW_ID}}", ubo.workflow_id.as_str()))?;
    // The demo workflow is the default and has a slug, so sessions can be started without its id.
    let settings = WorkflowSettings {
        slug: Some(WorkflowSlug::parse("demo-kyc").expect("a valid slug")),
        default: true,
    };
    let main = services.create_workflow_with(&caller, main, settings).await?;
    let request = CreateSession {
        workflow_id: Some(main.workflow_id.clone()),
        workflow_slug: None,
        workflow_version: None,
        external_reference: Some("demo-customer-1".into()),
        metadata: None,
        expires_in_seconds: None,
        redirect_url: None,
        participants: Vec::new(),
    };
    let session = services.create_session(&caller, request).await?;
    Ok(Demo {
        base_url: base_url.to_owned(),
        api_key: key.secret.expose().to_owned(),
        tenant_id: tenant.tenant_id,
        workflow_id: main.workflow_id.to_string(),
        session_id: session.session.session_id.to_string(),
        access_token: session.access_token.expose(),
    })
}
