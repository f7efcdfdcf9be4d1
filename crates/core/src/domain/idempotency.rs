//! Idempotency of mutating tenant requests: the client's key, the request fingerprint, the stored
//! record, and the key that seals stored response bodies.
//!
//! A tenant's backend that lost a response retries with the same `Idempotency-Key`; the first
//! request leaves a record (in progress, then completed with its response), and the retry gets
//! that response back instead of running again. Pure types here; the flow is in
//! [`services`](crate::services).

use super::ids::TenantId;
use super::time::Timestamp;
use crate::error::{Error, Result};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The longest key accepted, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A client-chosen `Idempotency-Key`: 1 to 255 printable ASCII characters (space included).
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a presented key; anything else is a validation error naming the rule.
    pub fn parse(text: &str) -> Result<Self> {
        let printable = text.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if text.is_empty() || text.len() > MAX_KEY_LEN || !printable {
            return Err(Error::validation(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters"
            )));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({} chars)", self.0.len())
    }
}

/// What one key is scoped to: a tenant, a method and a route template. Two tenants (or two
/// routes) may use the same key without meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyScope {
    pub tenant_id: TenantId,
    /// The hex SHA-256 of method, route template and key; the raw key is never stored.
    pub digest: String,
}

impl IdempotencyScope {
    pub fn new(tenant_id: &TenantId, method: &str, route: &str, key: &IdempotencyKey) -> Self {
        Self {
            tenant_id: tenant_id.clone(),
            digest: digest(&[method.as_bytes(), route.as_bytes(), key.0.as_bytes()]),
        }
    }
}

/// What makes two requests "the same": method, path (with query) and the body, with JSON bodies
/// in a canonical form (object keys sorted, no insignificant whitespace) so that a client that
/// re-serializes the same document is not refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(method: &str, path_and_query: &str, body: &[u8]) -> Self {
        Self(digest(&[method.as_bytes(), path_and_query.as_bytes(), &canonical_body(body)]))
    }
}

/// The SHA-256 of length-prefixed parts, so no two different part lists hash alike.
fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// A JSON body in canonical form; any other body as it is.
fn canonical_body(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            let mut out = Vec::with_capacity(body.len());
            write_canonical(&value, &mut out);
            out
        }
        Err(_) => body.to_vec(),
    }
}

fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (name, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Serializing a string cannot fail.
                out.extend(serde_json::to_vec(name).unwrap_or_default());
                out.push(b':');
                write_canonical(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend(serde_json::to_vec(scalar).unwrap_or_default()),
    }
}

/// Where a keyed request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyState {
    /// The first request is running; its lease ends at the record's `expires_at`.
    InProgress,
    /// The first request finished; its response is stored until `expires_at`.
    Completed,
}

/// The stored record of one key. Live while `now <= expires_at`; after that it counts as absent
/// and the next request with the key replaces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub tenant_id: TenantId,
    pub state: IdempotencyState,
    pub fingerprint: Fingerprint,
    /// Unix seconds: the end of the lease while in progress, of retention once completed.
    pub expires_at: i64,
    pub created_at: Timestamp,
    /// Identifies the request holding the lease, so a request whose lease ran out and was taken
    /// over cannot overwrite its successor's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// The HTTP status of the stored response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The response body sealed with the [`SealingKey`] (base64 of nonce, ciphertext and tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_body: Option<String>,
}

impl IdempotencyRecord {
    /// Whether the record still holds at `now` (unix seconds).
    pub fn is_live(&self, now: i64) -> bool {
        now <= self.expires_at
    }
}

/// The AES-256-GCM key that seals stored response bodies, which may hold secrets shown once
/// (access tokens, API keys): the table never holds them in clear.
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// The shortest secret [`derive`](Self::derive) accepts, in bytes.
    pub const MIN_SECRET_LEN: usize = 32;

    const NONCE_LEN: usize = 12;

    /// Derives the key from a configured secret (at least 32 characters).
    pub fn derive(secret: &str) -> Option<Self> {
        if secret.len() < Self::MIN_SECRET_LEN {
            return None;
        }
        let mut hasher = Sha256::new();
        hasher.update(b"kyc idempotency response sealing key v1\0");
        hasher.update(secret.as_bytes());
        Some(Self(hasher.finalize().into()))
    }

    /// A fresh secret for [`derive`](Self::derive): 256 random bits as 64 hex characters.
    pub fn random_secret() -> String {
        let mut bytes = [0u8; 32];
        // The OS CSPRNG only fails on a broken platform; refusing to run there is right.
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        hex::encode(bytes)
    }

    /// Seals `plaintext`, bound to `context` (the record's key): a sealed body copied into
    /// another record does not open there. A fresh random nonce per call.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<String> {
        use base64::Engine;
        let mut nonce = [0u8; Self::NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|err| anyhow::anyhow!("the OS random source failed: {err}"))?;
        let sealed = self
            .cipher()
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context })
            .map_err(|_| anyhow::anyhow!("sealing a stored response failed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// Opens what [`seal`](Self::seal) produced with the same key and context.
    pub fn open(&self, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
        if bytes.len() < Self::NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(Self::NONCE_LEN);
        let nonce: [u8; Self::NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher().decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: context }).ok()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    /// An access token derived from this key and `context` (a subsession's id and link
    /// generation): unguessable without the key, so the parent's listing can show a related
    /// party's link again while only its hash is stored.
    pub fn derive_access_token(&self, context: &str) -> crate::domain::secrets::AccessToken {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"kyc subsession access link v1\0");
        mac.update(context.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        crate::domain::secrets::AccessToken::from_random_bytes(bytes)
    }
}

impl SealingKey {
    /// The HMAC-SHA256 of an evidence bundle's canonical manifest, in hex.
    pub fn sign_evidence(&self, canonical: &[u8]) -> String {
        use hmac::Mac;
        hex::encode(self.evidence_mac(canonical).finalize().into_bytes())
    }

    /// Whether `signature` (hex) is this key's signature of `canonical`, in constant time.
    pub fn verifies_evidence(&self, canonical: &[u8], signature: &str) -> bool {
        use hmac::Mac;
        hex::decode(signature).is_ok_and(|bytes| self.evidence_mac(canonical).verify_slice(&bytes).is_ok())
    }

    fn evidence_mac(&self, canonical: &[u8]) -> hmac::Hmac<Sha256> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"kyc evidence bundle v1\0");
        mac.update(canonical);
        mac
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        for good in
            ["a", "5b41362b-0f6e-4c1a-9d4e-1f2a3b4c5d6e", "with space", "~!@#$%^&*()", &"k".repeat(255)]
        {
            assert_eq!(IdempotencyKey::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", &"k".repeat(256), "tab\there", "new\nline", "caf\u{e9}", "\u{7f}"] {
            assert!(matches!(IdempotencyKey::parse(bad), Err(Error::Validation(_))), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_ignores_key_order_and_whitespace_of_json_bodies() {
        let a = Fingerprint::of("POST", "/v1/sessions", br#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#);
        let b = Fingerprint::of("POST", "/v1/sessions", br#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
        assert_eq!(a, b);
        assert_ne!(a, Fingerprint::of("POST", "/v1/sessions", br#"{"a":{"x":null,"y":[2,1]},"b":1}"#));
        assert_ne!(a, Fingerprint::of("POST", "/v1/sessions?x=1", br#"{"a":{"x":null,"y":[1,2]},"b":1}"#));
        assert_ne!(a, Fingerprint::of("PATCH", "/v1/sessions", br#"{"a":{"x":null,"y":[1,2]},"b":1}"#));
        // Bodies that are not JSON are compared as they are.
        assert_eq!(Fingerprint::of("POST", "/p", b"{not json"), Fingerprint::of("POST", "/p", b"{not json"));
        assert_ne!(Fingerprint::of("POST", "/p", b""), Fingerprint::of("POST", "/p", b" "));
    }

    #[test]
    fn scopes_differ_by_tenant_method_route_and_key() {
        let key = IdempotencyKey::parse("k").unwrap();
        let (a, b) = (TenantId::mint(), TenantId::mint());
        let scope = IdempotencyScope::new(&a, "POST", "/v1/sessions", &key);
        assert_eq!(scope, IdempotencyScope::new(&a, "POST", "/v1/sessions", &key));
        assert_ne!(scope.digest, IdempotencyScope::new(&a, "POST", "/v1/workflows", &key).digest);
        assert_ne!(scope.digest, IdempotencyScope::new(&a, "DELETE", "/v1/sessions", &key).digest);
        assert_ne!(scope, IdempotencyScope::new(&b, "POST", "/v1/sessions", &key));
        assert!(!scope.digest.contains('k'));
    }

    #[test]
    fn sealed_bodies_open_only_with_the_same_key_and_context() {
        let key = SealingKey::derive("0123456789abcdef0123456789abcdef").unwrap();
        let sealed = key.seal(b"IDEMPOTENCY#a", b"secret sk_test_123").unwrap();
        assert!(!sealed.contains("sk_test"));
        assert_ne!(
            sealed,
            key.seal(b"IDEMPOTENCY#a", b"secret sk_test_123").unwrap(),
            "fresh nonce per seal"
        );
        assert_eq!(key.open(b"IDEMPOTENCY#a", &sealed).unwrap(), b"secret sk_test_123");
        assert_eq!(key.open(b"IDEMPOTENCY#b", &sealed), None);
        let other = SealingKey::derive("another secret of at least 32 characters").unwrap();
        assert_eq!(other.open(b"IDEMPOTENCY#a", &sealed), None);
        assert_eq!(key.open(b"IDEMPOTENCY#a", "not base64!"), None);
        assert_eq!(key.open(b"IDEMPOTENCY#a", ""), None);
        assert!(SealingKey::derive("too short").is_none());
        assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");
    }
}
