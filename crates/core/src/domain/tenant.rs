//! Tenants and their API keys.

use super::ids::{ApiKeyId, TenantId};
use super::secrets::{Mode, SecretHash};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One customer of the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub tenant_id: TenantId,
    pub name: String,
    pub created_at: Timestamp,
}

/// A stored API key: the hash of its secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub secret_hash: SecretHash,
    /// Non-secret prefix for listings (`sk_test_1a2b…`).
    pub hint: String,
    pub created_at: Timestamp,
}

/// Who is calling the tenant API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantPrincipal {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub mode: Mode,
}
