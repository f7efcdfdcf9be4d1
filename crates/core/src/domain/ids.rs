//! Identifiers. Server-minted ids carry a type prefix and a random body; client-chosen ids
//! (step ids, field ids, document types) are checked against a conservative alphabet.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Defines a server-minted id type with a prefix and a random body.
/// In OpenAPI documents: a string matching `pattern` (ids, slugs).
#[cfg(feature = "openapi")]
pub(crate) fn string_matching(pattern: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .into()
}

macro_rules! minted_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        /// In OpenAPI documents: the prefix and the body's alphabet.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::ids::string_matching(concat!("^", $prefix, "[A-Za-z0-9_-]{1,64}$"))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// The type prefix of this id.
            pub const PREFIX: &'static str = $prefix;

            /// Mints a fresh random id.
            pub fn mint() -> Self {
                Self(format!("{}{}", $prefix, ::uuid::Uuid::new_v4().simple()))
            }

            /// Parses an id, checking its prefix and body.
            pub fn parse(text: &str) -> Option<Self> {
                let body = text.strip_prefix($prefix)?;
                (!body.is_empty() && body.len() <= 64 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                    .then(|| Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text).ok_or_else(|| format!("invalid {} id", $prefix.trim_end_matches('_')))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use minted_id;

minted_id!(
    /// A tenant: one customer of the platform.
    TenantId,
    "ten_"
);
minted_id!(
    /// A tenant API key's public identifier (never the secret).
    ApiKeyId,
    "key_"
);
minted_id!(
    /// A workflow; its versions share this id.
    WorkflowId,
    "wf_"
);

/// A verification session. Sessions are UUIDs, as in the public contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionId(Uuid);

impl SessionId {
    pub fn mint() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self)
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

macro_rules! named_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        /// In OpenAPI documents: a string of the accepted alphabet.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::ids::string_matching("^[A-Za-z0-9_-]{1,64}$")
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Accepts 1–64 characters of `A-Z a-z 0-9 _ -`.
            pub fn parse(text: &str) -> Result<Self, String> {
                let ok = !text.is_empty()
                    && text.len() <= 64
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if ok {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(format!(
                        "invalid {} '{}': use 1-64 characters of letters, digits, '_' or '-'",
                        $what,
                        text.chars().take(64).collect::<String>()
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

named_id!(
    /// A step of a workflow, chosen by the tenant (`step_1`, `personal_info`).
    StepId,
    "step_id"
);
named_id!(
    /// A form field of a step, chosen by the tenant (`full_name`).
    FieldId,
    "field_id"
);
named_id!(
    /// A kind of document a step asks for, chosen by the tenant (`id`, `proof_of_address`).
    DocumentType,
    "document_type"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_carry_their_prefix_and_parse_back() {
        let id = TenantId::mint();
        assert!(id.as_str().starts_with("ten_"));
        assert_eq!(TenantId::parse(id.as_str()), Some(id));
        assert_eq!(TenantId::parse("wf_abc"), None);
        assert_eq!(TenantId::parse("ten_"), None);
        assert_eq!(TenantId::parse("ten_a/b"), None);
    }

    #[test]
    fn named_ids_refuse_unsafe_characters() {
        assert!(StepId::parse("personal_info").is_ok());
        assert!(StepId::parse("").is_err());
        assert!(StepId::parse("a#b").is_err());
        assert!(StepId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn session_ids_are_uuids() {
        let id = SessionId::mint();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        assert_eq!(SessionId::parse("not-a-uuid"), None);
    }
}
