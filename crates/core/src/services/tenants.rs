//! Tenants and API keys: bootstrap (admin CLI, dev seed) and authentication.

use super::Services;
use crate::codec::{self, keys};
use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::secrets::{ApiKeySecret, Mode};
use crate::domain::tenant::{ApiKeyRecord, TenantPrincipal, TenantRecord};
use crate::error::{Error, Result};
use crate::ports::table::Condition;

/// A freshly minted API key: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct IssuedApiKey {
    pub record: ApiKeyRecord,
    pub secret: ApiKeySecret,
}

impl Services {
    /// Creates a tenant.
    pub async fn create_tenant(&self, name: &str) -> Result<TenantRecord> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::validation("tenant name must be 1 to 200 characters"));
        }
        let tenant =
            TenantRecord { tenant_id: TenantId::mint(), name: name.to_owned(), created_at: self.now() };
        self.table.put(codec::tenant_item(&tenant)?, Condition::ItemAbsent).await?;
        Ok(tenant)
    }

    /// Looks a tenant up by id.
    pub async fn tenant(&self, tenant: &TenantId) -> Result<TenantRecord> {
        let item = self.table.get(&keys::tenant(tenant)).await?;
        let item = item.ok_or_else(|| Error::not_found("Tenant not found"))?;
        Ok(codec::decode(item)?)
    }

    /// Mints an API key for a tenant; the secret is returned once and stored only as a hash.
    pub async fn create_api_key(&self, tenant: &TenantId, mode: Mode) -> Result<IssuedApiKey> {
        self.tenant(tenant).await?;
        let secret = ApiKeySecret::mint(mode);
        let record = ApiKeyRecord {
            key_id: ApiKeyId::mint(),
            tenant_id: tenant.clone(),
            mode,
            secret_hash: secret.hash(),
            hint: secret.hint(),
            created_at: self.now(),
        };
        self.table.put(codec::api_key_item(&record)?, Condition::ItemAbsent).await?;
        Ok(IssuedApiKey { record, secret })
    }

    /// Resolves a presented `Authorization: Bearer` secret to the calling tenant.
    pub async fn authenticate(&self, presented: &str) -> Result<TenantPrincipal> {
        let secret = ApiKeySecret::parse(presented).ok_or(Error::Unauthorized)?;
        let item = self.table.get(&keys::api_key(&secret.hash())).await?.ok_or(Error::Unauthorized)?;
        let record: ApiKeyRecord = codec::decode(item)?;
        Ok(TenantPrincipal { tenant_id: record.tenant_id, key_id: record.key_id, mode: record.mode })
    }
}
