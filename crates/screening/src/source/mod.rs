//! List sources: each official list format is parsed into the same normalised [`Entry`].

mod ofac;
mod un;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::country::Country;
pub use ofac::OfacSdn;
pub use un::UnConsolidated;

/// The lists the screening knows how to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListId {
    /// OFAC Specially Designated Nationals and Blocked Persons (`sdn.xml`).
    OfacSdn,
    /// UN Security Council consolidated list (`consolidated.xml`).
    UnConsolidated,
}

impl ListId {
    /// Every known list.
    pub const ALL: [ListId; 2] = [ListId::OfacSdn, ListId::UnConsolidated];

    /// The stable snake-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ListId::OfacSdn => "ofac_sdn",
            ListId::UnConsolidated => "un_consolidated",
        }
    }

    /// The parser for this list's file format.
    pub fn source(self) -> &'static dyn ListSource {
        match self {
            ListId::OfacSdn => &OfacSdn,
            ListId::UnConsolidated => &UnConsolidated,
        }
    }
}

impl fmt::Display for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a listed party is; persons are screened against individuals only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Individual,
    Entity,
    Vessel,
    Aircraft,
}

/// A date of birth as precise as the list gives it (often a year only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BirthDate {
    pub year: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u8>,
}

impl BirthDate {
    /// A full date; `None` when the month or day is out of range.
    pub fn ymd(year: u16, month: u8, day: u8) -> Option<Self> {
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(BirthDate {
            year,
            month: Some(month),
            day: Some(day),
        })
    }

    /// A year only.
    pub fn year(year: u16) -> Self {
        BirthDate { year, month: None, day: None }
    }

    /// Whether two dates can be the same day: equal on every part both of them give.
    pub fn agrees_with(&self, other: &BirthDate) -> bool {
        fn part(a: Option<u8>, b: Option<u8>) -> bool {
            a.zip(b).is_none_or(|(a, b)| a == b)
        }
        self.year == other.year && part(self.month, other.month) && part(self.day, other.day)
    }

    /// Reads an ISO `YYYY-MM-DD` date or a bare `YYYY` year.
    pub fn parse_iso(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut parts = text.splitn(3, '-');
        let year = parse_year(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, None) => Some(BirthDate::year(year)),
            (Some(m), Some(d)) => BirthDate::ymd(year, m.parse().ok()?, d.parse().ok()?),
            _ => None,
        }
    }
}

/// Years outside this range in a list file are typing errors, not dates of birth.
fn parse_year(text: &str) -> Option<u16> {
    let year: u16 = text.trim().parse().ok()?;
    (1800..=2100).contains(&year).then_some(year)
}

/// The years of an inclusive range, as year-only dates; ranges wider than 20 years are ignored
/// (they would agree with almost anyone).
fn year_range(from: &str, to: &str) -> Vec<BirthDate> {
    match (parse_year(from), parse_year(to)) {
        (Some(from), Some(to)) if from <= to && to - from <= 20 => (from..=to).map(BirthDate::year).collect(),
        _ => Vec::new(),
    }
}

/// One listed party, the same whatever list it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub list: ListId,
    /// The list's own identifier (OFAC `uid`, UN reference number such as `QDi.001`).
    pub entry_id: String,
    pub kind: EntryKind,
    /// Sanctions programmes (OFAC `program`, UN list type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programmes: Vec<String>,
    /// The primary name first, then the aliases, as written in the list.
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates_of_birth: Vec<BirthDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nationalities: Vec<Country>,
}

/// A list file that cannot be read. The refresh keeps the previous index when it sees one.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{list}: not a list file (expected root element <{expected}>, found {found})")]
    UnexpectedRoot { list: ListId, expected: &'static str, found: String },
    #[error("{list}: malformed XML")]
    Xml {
        list: ListId,
        #[source]
        source: quick_xml::DeError,
    },
    #[error("{list}: entry {entry_id} has no name")]
    Nameless { list: ListId, entry_id: String },
    #[error("{list}: entry {entry_id} has unknown type {kind:?}")]
    UnknownKind { list: ListId, entry_id: String, kind: String },
}

/// A list's file format: bytes of one official file in, normalised entries out.
pub trait ListSource: Send + Sync {
    /// The list this source reads.
    fn list(&self) -> ListId;

    /// Parses a whole file; malformed input is an error, never a panic or a partial result.
    fn parse(&self, bytes: &[u8]) -> Result<Vec<Entry>, SourceError>;
}

/// Checks the document's root element, so that an unrelated XML file (an error page, another
/// list) is refused instead of read as an empty list.
fn expect_root(bytes: &[u8], list: ListId, expected: &'static str) -> Result<(), SourceError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let found = loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                break String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
            }
            Ok(Event::Eof) => break "no element".to_owned(),
            Ok(_) => buf.clear(),
            Err(e) => {
                return Err(SourceError::Xml { list, source: e.into() });
            }
        }
    };
    if found == expected {
        Ok(())
    } else {
        Err(SourceError::UnexpectedRoot { list, expected, found })
    }
}

/// Deserialises a whole file, mapping failures to [`SourceError::Xml`].
fn deserialize<'de, T: Deserialize<'de>>(bytes: &'de [u8], list: ListId) -> Result<T, SourceError> {
    let text = std::str::from_utf8(bytes).map_err(|e| SourceError::Xml {
        list,
        source: quick_xml::DeError::Custom(format!("not UTF-8: {e}")),
    })?;
    quick_xml::de::from_str(text).map_err(|source| SourceError::Xml { list, source })
}

/// Trims a name part, treating a blank one as absent.
fn present(part: Option<&str>) -> Option<&str> {
    part.map(str::trim).filter(|p| !p.is_empty())
}

/// Joins name parts with single spaces, skipping blank ones; `None` when all are blank.
fn join_name<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let parts: Vec<&str> = parts.into_iter().filter_map(present).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Adds a name unless the entry already has it.
fn push_name(names: &mut Vec<String>, name: String) {
    if !names.contains(&name) {
        names.push(name);
    }
}

/// Country names the lists give; names the table does not know are dropped (they cannot be
/// compared with a subject's ISO code anyway).
fn countries<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Country> {
    let mut out: Vec<Country> = Vec::new();
    for country in names.into_iter().filter_map(|n| Country::from_name(n).ok()) {
        if !out.contains(&country) {
            out.push(country);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_and_years_are_read() {
        assert_eq!(BirthDate::parse_iso("1964-07-17"), BirthDate::ymd(1964, 7, 17));
        assert_eq!(BirthDate::parse_iso(" 1958 "), Some(BirthDate::year(1958)));
        assert_eq!(BirthDate::parse_iso("1964-13-01"), None);
        assert_eq!(BirthDate::parse_iso("soon"), None);
    }

    #[test]
    fn a_year_only_date_agrees_with_any_day_of_that_year() {
        let day = BirthDate::ymd(1970, 3, 4).unwrap();
        assert!(BirthDate::year(1970).agrees_with(&day));
        assert!(!BirthDate::year(1971).agrees_with(&day));
        assert!(!BirthDate::ymd(1970, 3, 5).unwrap().agrees_with(&day));
    }
}
