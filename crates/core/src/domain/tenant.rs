//! Tenants and their API keys.

use super::ids::{ApiKeyId, TenantId};
use super::secrets::{Mode, SecretHash};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One customer of the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantRecord {
    pub tenant_id: TenantId,
    pub name: String,
    pub created_at: Timestamp,
    /// Days the tenant's finished sessions are kept before they are redacted, where their
    /// workflow sets none; the platform default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// A stored API key: the hash of its secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyRecord {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub secret_hash: SecretHash,
    /// Non-secret prefix for listings (`sk_test_1a2b…`).
    pub hint: String,
    pub created_at: Timestamp,
    /// The tenant's label for the key (absent on keys bootstrapped before keys had names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub status: ApiKeyStatus,
    /// Unix seconds after which a rolled key stops working (the end of its grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Unix seconds of the last authenticated request, kept to within a minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

impl ApiKeyRecord {
    /// Whether the key opens the tenant API at `now` (unix seconds).
    pub fn is_usable_at(&self, now: i64) -> bool {
        match self.status {
            ApiKeyStatus::Active => true,
            ApiKeyStatus::Rolled => self.expires_at.is_some_and(|end| now < end),
            ApiKeyStatus::Revoked => false,
        }
    }
}

/// Where a key is in its life. Only `active` keys count towards the tenant's active keys: a
/// rolled key works until its grace period ends but already has its successor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    #[default]
    Active,
    /// Replaced by a new secret; works until `expires_at`.
    Rolled,
    Revoked,
}

impl ApiKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyStatus::Active => "active",
            ApiKeyStatus::Rolled => "rolled",
            ApiKeyStatus::Revoked => "revoked",
        }
    }
}

/// Who is calling the tenant API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantPrincipal {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub mode: Mode,
    /// The stored key's hash and `last_used_at`, so the request can record the key's use without
    /// a second read.
    pub key_hash: SecretHash,
    pub last_used_at: Option<i64>,
}
