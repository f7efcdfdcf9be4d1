//! Bearer secrets: session access tokens and tenant API keys.
//!
//! Both are minted from the operating system's CSPRNG, shown once, and stored only as SHA-256
//! hashes. Their `Debug` output is redacted so they cannot leak into logs by accident.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// The hex SHA-256 of a secret: the only form in which secrets are stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretHash(String);

impl SecretHash {
    fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A session's access token: a random (v4) UUID, as the public contract promises.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Uuid);

impl AccessToken {
    /// Mints a token from the OS CSPRNG (122 random bits).
    pub fn mint() -> Self {
        Self(Uuid::new_v4())
    }

    /// A token made of 16 bytes the caller drew (a v4 UUID: version and variant bits set).
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Parses a token from a URL path segment. Anything but a canonical UUID is refused.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self)
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.expose())
    }

    /// The token's text, for the one response that hands it out.
    pub fn expose(&self) -> String {
        self.0.hyphenated().to_string()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Whether a key (and the sessions it creates) uses sandbox providers or real ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

/// A tenant API key secret: `sk_test_…` or `sk_live_…` followed by 64 hex characters (256 bits).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret {
    mode: Mode,
    text: String,
}

impl ApiKeySecret {
    const BODY_LEN: usize = 64;

    /// Mints a key from the OS CSPRNG.
    pub fn mint(mode: Mode) -> Self {
        let mut bytes = [0u8; 32];
        // The OS CSPRNG only fails on a broken platform; refusing to run there is right.
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        Self { mode, text: format!("sk_{}_{}", mode.as_str(), hex::encode(bytes)) }
    }

    /// Parses a presented key; the mode comes from its prefix.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("sk_")?;
        let (mode, body) = rest.split_once('_')?;
        let mode = Mode::parse(mode)?;
        (body.len() == Self::BODY_LEN && body.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self { mode, text: text.to_owned() })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.text)
    }

    /// A short, non-secret hint for listings (`sk_test_1a2b…`).
    pub fn hint(&self) -> String {
        format!("{}…", &self.text[..self.text.len() - Self::BODY_LEN + 4])
    }

    /// The key's text, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({})", self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_are_random_uuids_and_hash_stably() {
        let a = AccessToken::mint();
        let b = AccessToken::mint();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(AccessToken::parse(&a.expose()).unwrap().hash(), a.hash());
        assert_eq!(a.hash().as_str().len(), 64);
        assert_ne!(a.hash().as_str(), a.expose());
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let token = AccessToken::mint();
        assert!(!format!("{token:?}").contains(&token.expose()));
        let key = ApiKeySecret::mint(Mode::Live);
        assert!(!format!("{key:?}").contains(key.expose()));
    }

    #[test]
    fn api_keys_carry_their_mode() {
        let key = ApiKeySecret::mint(Mode::Test);
        assert!(key.expose().starts_with("sk_test_"));
        let parsed = ApiKeySecret::parse(key.expose()).unwrap();
        assert_eq!(parsed.mode(), Mode::Test);
        assert_eq!(parsed.hash(), key.hash());
        assert!(ApiKeySecret::parse("sk_prod_00").is_none());
        assert!(ApiKeySecret::parse("sk_live_short").is_none());
    }
}
