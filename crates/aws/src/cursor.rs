//! Opaque, tamper-evident query cursors.
//!
//! A cursor carries DynamoDB's `LastEvaluatedKey` (string attributes only, which is all this
//! table's keys are) as JSON, followed by an HMAC-SHA256 tag:
//! `base64url(json) "." base64url(tag)`. The tag covers the JSON and the query the cursor belongs
//! to (index, partition and sort-key condition), so a cursor that was altered, forged, or replayed
//! against another query is rejected as [`StoreError::Invalid`] before DynamoDB sees it.
//!
//! The key must be the same on every instance that may receive a cursor from another one
//! (every Lambda instance of a deployment), so it comes from configuration.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use anyhow::anyhow;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use kyc_core::ports::table::{Cursor, Index, SortKeyCondition, StoreError};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Versions the cursor format and separates its tags from any other use of the key.
const DOMAIN: &str = "kyc-dynamodb-cursor/2";

/// The query a cursor is bound to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CursorScope<'a> {
    pub index: Index,
    pub partition: &'a str,
    pub sort_key: Option<&'a SortKeyCondition>,
}

/// Signs and checks cursors with one secret key.
#[derive(Clone)]
pub(crate) struct CursorCodec {
    key: Arc<[u8]>,
}

impl fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorCodec { key: <redacted> }")
    }
}

impl CursorCodec {
    pub(crate) fn new(key: &[u8]) -> Self {
        Self { key: key.into() }
    }

    /// Turns a `LastEvaluatedKey` into a cursor for `scope`.
    pub(crate) fn encode(
        &self,
        scope: CursorScope<'_>,
        last_key: HashMap<String, SdkValue>,
    ) -> Result<Cursor, StoreError> {
        let mut attrs = BTreeMap::new();
        for (name, value) in last_key {
            match value {
                SdkValue::S(text) => {
                    attrs.insert(name, text);
                }
                other => {
                    return Err(StoreError::Backend(anyhow!(
                        "DynamoDB returned a non-string key attribute {name}: {other:?}"
                    )))
                }
            }
        }
        let json = serde_json::to_vec(&attrs).map_err(|err| anyhow!(err).context("encoding a cursor"))?;
        let tag = self.tag(scope, &json)?.finalize().into_bytes();
        Ok(Cursor(format!("{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(tag))))
    }

    /// Checks a cursor against `scope` and returns the `ExclusiveStartKey` it carries.
    pub(crate) fn decode(
        &self,
        scope: CursorScope<'_>,
        cursor: &Cursor,
    ) -> Result<HashMap<String, SdkValue>, StoreError> {
        let invalid = || StoreError::Invalid("malformed query cursor".into());
        let (json, tag) = cursor.0.split_once('.').ok_or_else(invalid)?;
        let json = URL_SAFE_NO_PAD.decode(json).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        self.tag(scope, &json)?.verify_slice(&tag).map_err(|_| invalid())?;
        let attrs: BTreeMap<String, String> = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if attrs.is_empty() {
            return Err(invalid());
        }
        Ok(attrs.into_iter().map(|(name, value)| (name, SdkValue::S(value))).collect())
    }

    /// The MAC over the scope (self-delimiting JSON) followed by the cursor's JSON.
    fn tag(&self, scope: CursorScope<'_>, json: &[u8]) -> Result<HmacSha256, StoreError> {
        let (kind, low, high) = match scope.sort_key {
            None => ("all", "", ""),
            Some(SortKeyCondition::BeginsWith(prefix)) => ("prefix", prefix.as_str(), ""),
            Some(SortKeyCondition::Between(low, high)) => ("between", low.as_str(), high.as_str()),
        };
        let header = serde_json::to_vec(&(DOMAIN, scope.index.name(), scope.partition, kind, low, high))
            .map_err(|err| anyhow!(err).context("encoding a cursor scope"))?;
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .map_err(|err| anyhow!("the cursor key is unusable: {err}"))?;
        mac.update(&header);
        mac.update(json);
        Ok(mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(partition: &str) -> CursorScope<'_> {
        CursorScope { index: Index::Primary, partition, sort_key: None }
    }

    fn last_key() -> HashMap<String, SdkValue> {
        [("pk".to_string(), SdkValue::S("P".into())), ("sk".to_string(), SdkValue::S("A#1".into()))].into()
    }

    #[test]
    fn a_cursor_round_trips_in_its_own_scope() {
        let codec = CursorCodec::new(b"test key");
        let cursor = codec.encode(scope("P"), last_key()).unwrap();
        assert_eq!(codec.decode(scope("P"), &cursor).unwrap(), last_key());
    }

    #[test]
    fn a_cursor_is_rejected_in_another_scope_or_under_another_key() {
        let codec = CursorCodec::new(b"test key");
        let cursor = codec.encode(scope("P"), last_key()).unwrap();
        let prefix = SortKeyCondition::BeginsWith("A#".into());
        let range = SortKeyCondition::Between("A".into(), "B".into());
        let others = [
            scope("Q"),
            CursorScope { index: Index::Gsi1, partition: "P", sort_key: None },
            CursorScope { index: Index::Gsi2, partition: "P", sort_key: None },
            CursorScope { index: Index::Primary, partition: "P", sort_key: Some(&prefix) },
            CursorScope { index: Index::Primary, partition: "P", sort_key: Some(&range) },
        ];
        for other in others {
            assert!(matches!(codec.decode(other, &cursor), Err(StoreError::Invalid(_))), "{other:?}");
        }
        let stranger = CursorCodec::new(b"another key");
        assert!(matches!(stranger.decode(scope("P"), &cursor), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn tampered_or_garbage_cursors_are_invalid() {
        let codec = CursorCodec::new(b"test key");
        let Cursor(good) = codec.encode(scope("P"), last_key()).unwrap();
        let (json, tag) = good.split_once('.').unwrap();
        let forged_json = URL_SAFE_NO_PAD.encode(br#"{"pk":"P","sk":"Z"}"#);
        let bad = [
            String::new(),
            ".".into(),
            "not a cursor".into(),
            "%%%".into(),
            json.to_string(),
            format!("{forged_json}.{tag}"),
            format!("{json}.{}", &tag[1..]),
            format!("{json}.{tag}x"),
            format!("{json}x.{tag}"),
        ];
        for cursor in bad {
            assert!(
                matches!(codec.decode(scope("P"), &Cursor(cursor.clone())), Err(StoreError::Invalid(_))),
                "{cursor:?}"
            );
        }
    }

    #[test]
    fn non_string_key_attributes_are_a_backend_error() {
        let codec = CursorCodec::new(b"test key");
        let key = [("pk".to_string(), SdkValue::N("1".into()))].into();
        assert!(matches!(codec.encode(scope("P"), key), Err(StoreError::Backend(_))));
    }
}
