//! Countries as ISO 3166-1 alpha-2 codes, read from codes (subjects) or English names (lists).

mod table;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use table::COUNTRIES;

/// A country, held as its ISO 3166-1 alpha-2 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

/// A text that names no known country.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country {0:?}")]
pub struct UnknownCountry(pub String);

static BY_NAME: LazyLock<HashMap<String, Country>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (alpha2, _, names) in COUNTRIES {
        for name in *names {
            map.entry(fold(name)).or_insert_with(|| Country::from_table(alpha2));
        }
    }
    map
});

impl Country {
    fn from_table(alpha2: &str) -> Self {
        let b = alpha2.as_bytes();
        Country([b[0], b[1]])
    }

    /// Reads an alpha-2 or alpha-3 code, in any case (`DE`, `deu`).
    pub fn from_code(code: &str) -> Result<Self, UnknownCountry> {
        let upper = code.trim().to_ascii_uppercase();
        COUNTRIES
            .iter()
            .find(|(a2, a3, _)| *a2 == upper || *a3 == upper)
            .map(|(a2, _, _)| Country::from_table(a2))
            .ok_or_else(|| UnknownCountry(code.to_owned()))
    }

    /// Reads an English country name as the lists spell it (`Iran`, `Korea, North`,
    /// `Democratic People's Republic of Korea`), ignoring case, accents and punctuation.
    pub fn from_name(name: &str) -> Result<Self, UnknownCountry> {
        BY_NAME.get(&fold(name)).copied().ok_or_else(|| UnknownCountry(name.to_owned()))
    }

    /// The alpha-2 code.
    pub fn alpha2(&self) -> &str {
        std::str::from_utf8(&self.0).expect("alpha-2 codes are ASCII")
    }
}

fn fold(text: &str) -> String {
    deunicode::deunicode(text)
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "the")
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2())
    }
}

impl TryFrom<String> for Country {
    type Error = UnknownCountry;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Country::from_code(&code)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> Self {
        country.alpha2().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_list_spellings_name_the_same_country() {
        let iran = Country::from_code("IRN").unwrap();
        assert_eq!(iran.alpha2(), "IR");
        assert_eq!(Country::from_code("ir"), Ok(iran));
        assert_eq!(Country::from_name("Iran"), Ok(iran));
        assert_eq!(Country::from_name("Iran, Islamic Republic of"), Ok(iran));
        let north = Country::from_name("Democratic People's Republic of Korea").unwrap();
        assert_eq!(north.alpha2(), "KP");
        assert_eq!(Country::from_name("Korea, North"), Ok(north));
    }

    #[test]
    fn an_unknown_code_or_name_is_refused() {
        assert!(Country::from_code("XXX").is_err());
        assert!(Country::from_name("Atlantis").is_err());
    }
}
