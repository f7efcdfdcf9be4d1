//! The evidence bundle: what an auditor or a regulator needs of one session, in one signed,
//! self-describing JSON document.
//!
//! The manifest holds the session as the tenant sees it (form data, documents with their SHA-256,
//! extraction results with MRZ evidence, checks and score, decision, corrections, liveness
//! attempts, related parties, audit trail) and the workflow version it ran. Documents are not
//! inlined: the manifest pins each by its SHA-256, and the bundle lists short-lived download
//! links beside it (unsigned, since they change at every request), so a bundle stays small
//! whatever the documents weigh. The signature is an HMAC-SHA256 of the manifest's canonical
//! form (object keys sorted, no spaces) under a key derived from the deployment's sealing
//! secret; `kyc-admin verify-evidence` checks it.

use super::idempotency::SealingKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The manifest's `format`, so a reader knows what it holds.
pub const BUNDLE_FORMAT: &str = "kyc-evidence-bundle/1";
/// The only signature algorithm.
pub const SIGNATURE_ALGORITHM: &str = "HMAC-SHA256";

/// A signed manifest and the links to the documents it pins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceBundle {
    pub manifest: Value,
    pub signature: BundleSignature,
    /// Download links of the documents, valid for minutes; their bytes must hash to the
    /// manifest's `sha256`.
    #[serde(default)]
    pub files: Vec<BundleFile>,
}

/// How the manifest was signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleSignature {
    pub algorithm: String,
    /// Hex HMAC of the canonical manifest.
    pub value: String,
}

/// One document of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleFile {
    pub doc_id: String,
    pub sha256: Option<String>,
    pub download_url: String,
}

/// Why a bundle does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("unknown signature algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("the signature does not match the manifest: it was changed, or signed with another secret")]
    Mismatch,
}

/// Signs `manifest` with `key`.
pub fn sign(manifest: Value, files: Vec<BundleFile>, key: &SealingKey) -> EvidenceBundle {
    let value = key.sign_evidence(canonical_json(&manifest).as_bytes());
    EvidenceBundle {
        manifest,
        signature: BundleSignature { algorithm: SIGNATURE_ALGORITHM.into(), value },
        files,
    }
}

/// Checks a bundle's signature with `key`.
pub fn verify(bundle: &EvidenceBundle, key: &SealingKey) -> Result<(), BundleError> {
    if bundle.signature.algorithm != SIGNATURE_ALGORITHM {
        return Err(BundleError::UnknownAlgorithm(bundle.signature.algorithm.clone()));
    }
    if key.verifies_evidence(canonical_json(&bundle.manifest).as_bytes(), &bundle.signature.value) {
        Ok(())
    } else {
        Err(BundleError::Mismatch)
    }
}

/// JSON with object keys sorted at every level and no whitespace: the same text for the same
/// value whatever order a parser or serializer keeps keys in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(secret: &str) -> SealingKey {
        SealingKey::derive(secret).expect("a long enough secret")
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": [{"z": 1, "a": "x"}], "a": null});
        assert_eq!(canonical_json(&value), r#"{"a":null,"b":[{"a":"x","z":1}]}"#);
    }

    #[test]
    fn a_bundle_verifies_until_one_byte_of_its_manifest_changes() {
        let key = key("evidence test secret of at least thirty-two bytes");
        let bundle = sign(json!({"format": BUNDLE_FORMAT, "name": "Ada"}), Vec::new(), &key);
        assert_eq!(verify(&bundle, &key), Ok(()));

        let mut changed = bundle.clone();
        changed.manifest["name"] = json!("Adb");
        assert_eq!(verify(&changed, &key), Err(BundleError::Mismatch));
        let other = key_of_other_deployment();
        assert_eq!(verify(&bundle, &other), Err(BundleError::Mismatch));
    }

    fn key_of_other_deployment() -> SealingKey {
        key("another deployment's secret, also thirty-two bytes")
    }
}
