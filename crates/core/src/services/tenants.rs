//! Tenants and API keys: bootstrap (admin CLI, dev seed), the key resource of the tenant API
//! (create, list, revoke, roll) and authentication.
//!
//! Authentication reads the key's item on every request (one strongly consistent GetItem, no
//! cache), so a revoked key is refused by the very next request, on every warm process: the
//! bound between a revocation and its effect is zero.
//!
//! A tenant never loses its last active key of a mode: an `APIKEYS#mode` item in the tenant's
//! partition counts the active keys and carries a version; creating and revoking a key write the
//! key and the count in one transaction conditioned on that version, so of two concurrent
//! revocations of the last two keys exactly one wins and the other, retried, sees one key left.

use super::Services;
use crate::codec::{self, keys, ACTIVE_KEYS};
use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::secrets::{ApiKeySecret, Mode};
use crate::domain::tenant::{ApiKeyRecord, ApiKeyStatus, TenantPrincipal, TenantRecord};
use crate::domain::time::Timestamp;
use crate::domain::workflow::RETENTION_DAYS;
use crate::error::{Error, Result};
use crate::ports::table::{
    AttributeValue, Condition, Query, StoreError, Update, WriteOp, GSI1PK, GSI1SK, TTL, VERSION,
};
use serde::{Deserialize, Serialize};

/// Most active keys a tenant may hold per mode.
pub const MAX_ACTIVE_API_KEYS: u64 = 50;
/// Longest grace period of a rolled key's old secret: 7 days.
pub const MAX_ROLL_GRACE_SECONDS: i64 = 7 * 24 * 3600;
/// `last_used_at` is written at most once per this many seconds per key.
pub const LAST_USED_RESOLUTION_SECONDS: i64 = 60;
/// Attempts at a key change that keeps losing the race on the active-key count.
const ATTEMPTS: usize = 5;

/// A freshly minted API key: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct IssuedApiKey {
    pub record: ApiKeyRecord,
    pub secret: ApiKeySecret,
}

/// `POST /v1/api_keys`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
}

/// `POST /v1/api_keys/{id}/roll`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RollApiKey {
    /// How long the old secret keeps working, 0 (refused at once) to 7 days.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604_800))]
    pub grace_period_seconds: i64,
}

/// An API key as the tenant API shows it: never the secret, never its hash.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: Option<String>,
    /// The non-secret start of the secret, to recognise it.
    pub prefix: String,
    pub mode: Mode,
    pub status: ApiKeyStatus,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// When a rolled key's old secret stops working.
    pub expires_at: Option<Timestamp>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(record: &ApiKeyRecord) -> Self {
        Self {
            id: record.key_id.clone(),
            name: record.name.clone(),
            prefix: record.hint.clone(),
            mode: record.mode,
            status: record.status,
            created_at: record.created_at,
            last_used_at: record.last_used_at.and_then(Timestamp::from_unix),
            expires_at: record.expires_at.and_then(Timestamp::from_unix),
        }
    }
}

/// The active-key count of one tenant and mode, as read, with the condition to replace it.
struct ActiveKeys {
    count: u64,
    version: u64,
    condition: Condition,
}

/// The calling tenant as `GET /v1/tenant` shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSettings {
    pub tenant_id: TenantId,
    pub name: String,
    /// The tenant's retention; `None`: the platform's `default_retention_days`.
    pub retention_days: Option<u32>,
    pub default_retention_days: u32,
    pub created_at: Timestamp,
}

/// `PATCH /v1/tenant`: each field present is changed.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// `Some(None)` (JSON `null`) restores the platform default.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(minimum = 30, maximum = 3650))]
    pub retention_days: Option<Option<u32>>,
}

/// A field given, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(deserializer).map(Some)
}

impl Services {
    /// Creates a tenant.
    pub async fn create_tenant(&self, name: &str) -> Result<TenantRecord> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::validation("tenant name must be 1 to 200 characters"));
        }
        let tenant = TenantRecord {
            tenant_id: TenantId::mint(),
            name: name.to_owned(),
            created_at: self.now(),
            retention_days: None,
        };
        self.table.put(codec::tenant_item(&tenant)?, Condition::ItemAbsent).await?;
        Ok(tenant)
    }

    /// Looks a tenant up by id.
    pub async fn tenant(&self, tenant: &TenantId) -> Result<TenantRecord> {
        let item = self.table.get(&keys::tenant(tenant)).await?;
        let item = item.ok_or_else(|| Error::not_found("Tenant not found"))?;
        Ok(codec::decode(item)?)
    }

    /// `GET /v1/tenant`: the calling tenant and its settings.
    pub async fn tenant_settings(&self, caller: &TenantPrincipal) -> Result<TenantSettings> {
        let tenant = self.tenant(&caller.tenant_id).await?;
        Ok(TenantSettings {
            tenant_id: tenant.tenant_id,
            name: tenant.name,
            retention_days: tenant.retention_days,
            default_retention_days: self.settings.retention_days,
            created_at: tenant.created_at,
        })
    }

    /// `PATCH /v1/tenant`: changes the settings given (`retention_days: null` restores the
    /// platform default). A new retention applies to sessions already finished, too.
    pub async fn update_tenant_settings(
        &self,
        caller: &TenantPrincipal,
        update: UpdateTenant,
    ) -> Result<TenantSettings> {
        if let Some(days) = update.retention_days {
            let mut change = Update::new(keys::tenant(&caller.tenant_id), Condition::ItemExists);
            change = match days {
                Some(days) if RETENTION_DAYS.contains(&days) => {
                    change.set("retention_days", AttributeValue::N(days.to_string()))
                }
                Some(_) => {
                    return Err(Error::validation(format!(
                        "retention_days must be between {} and {}, or null for the platform default",
                        RETENTION_DAYS.start(),
                        RETENTION_DAYS.end()
                    )))
                }
                None => change.remove("retention_days"),
            };
            self.table.update(change).await?;
        }
        self.tenant_settings(caller).await
    }

    /// Mints a tenant's API key outside the API (admin CLI, dev seed): how the first key is made.
    pub async fn create_api_key(&self, tenant: &TenantId, mode: Mode) -> Result<IssuedApiKey> {
        self.tenant(tenant).await?;
        self.issue_api_key(tenant, mode, None).await
    }

    /// `POST /v1/api_keys`: a new key of the caller's mode; its secret is returned once.
    pub async fn create_tenant_api_key(
        &self,
        caller: &TenantPrincipal,
        request: CreateApiKey,
    ) -> Result<IssuedApiKey> {
        let name = request.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::validation("name must be 1 to 100 characters"));
        }
        self.issue_api_key(&caller.tenant_id, caller.mode, Some(name.to_owned())).await
    }

    /// `GET /v1/api_keys`: the caller's mode's keys that are not revoked, oldest first.
    pub async fn list_api_keys(&self, caller: &TenantPrincipal) -> Result<Vec<ApiKeyView>> {
        let now = self.now().unix();
        Ok(self
            .indexed_api_keys(&caller.tenant_id)
            .await?
            .iter()
            .filter(|key| key.mode == caller.mode && key.is_usable_at(now))
            .map(ApiKeyView::from)
            .collect())
    }

    /// `DELETE /v1/api_keys/{id}`: the key is refused from the next request on. The last active
    /// key of the caller's mode cannot be revoked (422 `LAST_ACTIVE_KEY`).
    pub async fn revoke_api_key(&self, caller: &TenantPrincipal, key_id: &str) -> Result<ApiKeyView> {
        for _ in 0..ATTEMPTS {
            let record = self.api_key_by_id(caller, key_id).await?;
            let mut revoked = record.clone();
            revoked.status = ApiKeyStatus::Revoked;
            let key_update = Update::new(
                keys::api_key(&record.secret_hash),
                Condition::AttrEquals("status".into(), AttributeValue::S(record.status.as_str().into())),
            )
            .set("status", AttributeValue::S(ApiKeyStatus::Revoked.as_str().into()))
            .remove(GSI1PK)
            .remove(GSI1SK);
            let mut ops = vec![WriteOp::Update(key_update)];
            if record.status == ApiKeyStatus::Active {
                let active = self.active_api_keys(&caller.tenant_id, caller.mode).await?;
                if active.count <= 1 {
                    return Err(Error::WrongState {
                        code: "LAST_ACTIVE_KEY",
                        message: format!(
                            "This is your last active {} key; create another key before revoking it",
                            caller.mode.as_str()
                        ),
                    });
                }
                ops.push(self.count_update(&caller.tenant_id, caller.mode, &active, active.count - 1));
            }
            match self.table.transact(ops).await {
                Ok(()) => return Ok(ApiKeyView::from(&revoked)),
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::conflict("API keys were changed concurrently; retry"))
    }

    /// `POST /v1/api_keys/{id}/roll`: a new key (new id and secret, same name and mode) replaces
    /// an active one, whose secret keeps working for the grace period and is refused after it.
    pub async fn roll_api_key(
        &self,
        caller: &TenantPrincipal,
        key_id: &str,
        request: RollApiKey,
    ) -> Result<(IssuedApiKey, ApiKeyView)> {
        let grace = request.grace_period_seconds;
        if !(0..=MAX_ROLL_GRACE_SECONDS).contains(&grace) {
            return Err(Error::validation(format!(
                "grace_period_seconds must be 0 to {MAX_ROLL_GRACE_SECONDS} (7 days)"
            )));
        }
        let old = self.api_key_by_id(caller, key_id).await?;
        if old.status != ApiKeyStatus::Active {
            return Err(Error::WrongState {
                code: "KEY_NOT_ACTIVE",
                message: "This key was already rolled; roll its successor instead".into(),
            });
        }
        let now = self.now();
        let ends = now.unix() + grace;
        let issued = self.mint_api_key(&caller.tenant_id, caller.mode, old.name.clone());
        let mut rolled = old.clone();
        rolled.status = ApiKeyStatus::Rolled;
        rolled.expires_at = Some(ends);
        // The successor takes the old key's place in the active count: the count is unchanged.
        let ops = vec![
            WriteOp::Put { item: codec::api_key_item(&issued.record)?, condition: Condition::ItemAbsent },
            WriteOp::Update(
                Update::new(
                    keys::api_key(&old.secret_hash),
                    Condition::AttrEquals(
                        "status".into(),
                        AttributeValue::S(ApiKeyStatus::Active.as_str().into()),
                    ),
                )
                .set("status", AttributeValue::S(ApiKeyStatus::Rolled.as_str().into()))
                .set("expires_at", AttributeValue::N(ends.to_string()))
                .set(TTL, AttributeValue::N((ends + 24 * 3600).to_string())),
            ),
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok((issued, ApiKeyView::from(&rolled))),
            Err(StoreError::ConditionFailed { .. }) => {
                Err(Error::conflict("This key was rolled or revoked concurrently; list your keys and retry"))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Resolves a presented `Authorization: Bearer` secret to the calling tenant.
    pub async fn authenticate(&self, presented: &str) -> Result<TenantPrincipal> {
        let secret = ApiKeySecret::parse(presented).ok_or(Error::Unauthorized)?;
        let item = self.table.get(&keys::api_key(&secret.hash())).await?.ok_or(Error::Unauthorized)?;
        let record: ApiKeyRecord = codec::decode(item)?;
        if !record.is_usable_at(self.now().unix()) {
            return Err(Error::Unauthorized);
        }
        Ok(TenantPrincipal {
            tenant_id: record.tenant_id,
            key_id: record.key_id,
            mode: record.mode,
            key_hash: record.secret_hash,
            last_used_at: record.last_used_at,
        })
    }

    /// Whether the caller's key's `last_used_at` is due for a refresh (older than a minute).
    pub fn key_use_due(&self, caller: &TenantPrincipal) -> bool {
        caller.last_used_at.is_none_or(|at| self.now().unix() - at >= LAST_USED_RESOLUTION_SECONDS)
    }

    /// Records that the caller's key was used now, if it is due ([`Self::key_use_due`]). The
    /// write is conditioned on the value the request read, so of several processes racing on one
    /// key exactly one writes: at most one write per key per minute. Losing that race is success.
    pub async fn record_key_use(&self, caller: &TenantPrincipal) -> Result<()> {
        if !self.key_use_due(caller) {
            return Ok(());
        }
        let condition = match caller.last_used_at {
            Some(at) => Condition::AttrEquals("last_used_at".into(), AttributeValue::N(at.to_string())),
            None => Condition::ItemExists,
        };
        let update = Update::new(keys::api_key(&caller.key_hash), condition)
            .set("last_used_at", AttributeValue::N(self.now().unix().to_string()));
        match self.table.update(update).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// Writes a new active key and the raised count in one transaction.
    async fn issue_api_key(
        &self,
        tenant: &TenantId,
        mode: Mode,
        name: Option<String>,
    ) -> Result<IssuedApiKey> {
        for _ in 0..ATTEMPTS {
            let active = self.active_api_keys(tenant, mode).await?;
            if active.count >= MAX_ACTIVE_API_KEYS {
                return Err(Error::WrongState {
                    code: "TOO_MANY_KEYS",
                    message: format!(
                        "A tenant holds at most {MAX_ACTIVE_API_KEYS} active keys per mode; revoke one first"
                    ),
                });
            }
            let issued = self.mint_api_key(tenant, mode, name.clone());
            let ops = vec![
                WriteOp::Put { item: codec::api_key_item(&issued.record)?, condition: Condition::ItemAbsent },
                self.count_update(tenant, mode, &active, active.count + 1),
            ];
            match self.table.transact(ops).await {
                Ok(()) => return Ok(issued),
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::conflict("API keys were changed concurrently; retry"))
    }

    fn mint_api_key(&self, tenant: &TenantId, mode: Mode, name: Option<String>) -> IssuedApiKey {
        let secret = ApiKeySecret::mint(mode);
        let record = ApiKeyRecord {
            key_id: ApiKeyId::mint(),
            tenant_id: tenant.clone(),
            mode,
            secret_hash: secret.hash(),
            hint: secret.hint(),
            created_at: self.now(),
            name,
            status: ApiKeyStatus::Active,
            expires_at: None,
            last_used_at: None,
        };
        IssuedApiKey { record, secret }
    }

    /// The active-key count. Tenants whose keys predate the count have no count item: their
    /// active keys are counted from the index once, and the first change creates the item.
    async fn active_api_keys(&self, tenant: &TenantId, mode: Mode) -> Result<ActiveKeys> {
        if let Some(item) = self.table.get(&keys::api_key_counter(tenant, mode)).await? {
            let number = |name: &str| match item.get(name) {
                Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
                _ => None,
            };
            let (Some(count), Some(version)) = (number(ACTIVE_KEYS), number(VERSION)) else {
                return Err(Error::Unexpected(anyhow::anyhow!("malformed active-key count item")));
            };
            return Ok(ActiveKeys { count, version, condition: Condition::VersionIs(version) });
        }
        let count = self
            .indexed_api_keys(tenant)
            .await?
            .iter()
            .filter(|key| key.mode == mode && key.status == ApiKeyStatus::Active)
            .count() as u64;
        Ok(ActiveKeys { count, version: 0, condition: Condition::ItemAbsent })
    }

    fn count_update(&self, tenant: &TenantId, mode: Mode, read: &ActiveKeys, count: u64) -> WriteOp {
        WriteOp::Update(
            Update::new(keys::api_key_counter(tenant, mode), read.condition.clone())
                .set(ACTIVE_KEYS, AttributeValue::N(count.to_string()))
                .set(VERSION, AttributeValue::N((read.version + 1).to_string())),
        )
    }

    /// Every unrevoked key of the tenant, from GSI1 (eventually consistent; callers that change a
    /// key read it again by its primary key).
    async fn indexed_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>> {
        let mut keys_found = Vec::new();
        let mut cursor = None;
        loop {
            let page =
                self.table.query(Query::gsi1(keys::tenant_api_keys_index(tenant)).after(cursor)).await?;
            for item in page.items {
                keys_found.push(codec::decode::<ApiKeyRecord>(item)?);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(keys_found),
            }
        }
    }

    /// One unrevoked key of the caller's tenant and mode, read again by its primary key.
    async fn api_key_by_id(&self, caller: &TenantPrincipal, key_id: &str) -> Result<ApiKeyRecord> {
        let not_found = || Error::not_found("API key not found");
        let indexed = self
            .indexed_api_keys(&caller.tenant_id)
            .await?
            .into_iter()
            .find(|key| key.key_id.as_str() == key_id && key.mode == caller.mode)
            .ok_or_else(not_found)?;
        let item = self.table.get(&keys::api_key(&indexed.secret_hash)).await?.ok_or_else(not_found)?;
        let record: ApiKeyRecord = codec::decode(item)?;
        if record.status == ApiKeyStatus::Revoked || !record.is_usable_at(self.now().unix()) {
            return Err(not_found());
        }
        Ok(record)
    }
}
