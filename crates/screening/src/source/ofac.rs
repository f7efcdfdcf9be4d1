//! OFAC SDN list in its XML format (`sdn.xml`: `sdnList/sdnEntry`).

use serde::Deserialize;

use super::{
    countries, deserialize, expect_root, join_name, parse_year, push_name, year_range, BirthDate, Entry,
    EntryKind, ListId, ListSource, SourceError,
};

/// The OFAC Specially Designated Nationals list, `sdn.xml`.
pub struct OfacSdn;

impl ListSource for OfacSdn {
    fn list(&self) -> ListId {
        ListId::OfacSdn
    }

    fn parse(&self, bytes: &[u8]) -> Result<Vec<Entry>, SourceError> {
        let list = self.list();
        expect_root(bytes, list, "sdnList")?;
        let file: SdnList = deserialize(bytes, list)?;
        file.entries.into_iter().map(SdnEntry::into_entry).collect()
    }
}

#[derive(Deserialize)]
struct SdnList {
    #[serde(rename = "sdnEntry", default)]
    entries: Vec<SdnEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SdnEntry {
    uid: String,
    first_name: Option<String>,
    last_name: Option<String>,
    sdn_type: String,
    #[serde(default)]
    program_list: ProgramList,
    #[serde(default)]
    aka_list: AkaList,
    #[serde(default)]
    date_of_birth_list: DateOfBirthList,
    #[serde(default)]
    nationality_list: NationalityList,
    #[serde(default)]
    citizenship_list: CitizenshipList,
}

#[derive(Deserialize, Default)]
struct ProgramList {
    #[serde(default)]
    program: Vec<String>,
}

#[derive(Deserialize, Default)]
struct AkaList {
    #[serde(default)]
    aka: Vec<Aka>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Aka {
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize, Default)]
struct DateOfBirthList {
    #[serde(rename = "dateOfBirthItem", default)]
    items: Vec<DateOfBirthItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DateOfBirthItem {
    date_of_birth: String,
}

#[derive(Deserialize, Default)]
struct NationalityList {
    #[serde(default)]
    nationality: Vec<CountryItem>,
}

#[derive(Deserialize, Default)]
struct CitizenshipList {
    #[serde(default)]
    citizenship: Vec<CountryItem>,
}

#[derive(Deserialize)]
struct CountryItem {
    country: String,
}

impl SdnEntry {
    fn into_entry(self) -> Result<Entry, SourceError> {
        let list = ListId::OfacSdn;
        let kind = match self.sdn_type.trim() {
            "Individual" => EntryKind::Individual,
            "Entity" => EntryKind::Entity,
            "Vessel" => EntryKind::Vessel,
            "Aircraft" => EntryKind::Aircraft,
            other => {
                return Err(SourceError::UnknownKind { list, entry_id: self.uid, kind: other.to_owned() })
            }
        };
        let mut names = Vec::new();
        let primary = join_name([self.first_name.as_deref(), self.last_name.as_deref()]);
        let Some(primary) = primary else {
            return Err(SourceError::Nameless { list, entry_id: self.uid });
        };
        names.push(primary);
        for aka in &self.aka_list.aka {
            if let Some(name) = join_name([aka.first_name.as_deref(), aka.last_name.as_deref()]) {
                push_name(&mut names, name);
            }
        }
        let dates_of_birth = self
            .date_of_birth_list
            .items
            .iter()
            .flat_map(|item| parse_ofac_date(&item.date_of_birth))
            .collect();
        let country_names =
            self.nationality_list.nationality.iter().chain(&self.citizenship_list.citizenship);
        Ok(Entry {
            list,
            entry_id: self.uid.trim().to_owned(),
            kind,
            programmes: self.program_list.program.into_iter().map(|p| p.trim().to_owned()).collect(),
            names,
            dates_of_birth,
            nationalities: countries(country_names.map(|c| c.country.as_str())),
        })
    }
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Reads OFAC's date texts: `12 Mar 1965`, `Mar 1965`, `1965`, `circa 1965`, `1958 to 1962`.
/// A text in none of these forms gives no date (the entry is still screened by name).
fn parse_ofac_date(text: &str) -> Vec<BirthDate> {
    let lower = text.trim().to_ascii_lowercase();
    let text = lower.strip_prefix("circa").unwrap_or(&lower).trim();
    if let Some((from, to)) = text.split_once(" to ") {
        return year_range(from, to);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let month = |m: &str| MONTHS.iter().position(|name| m.starts_with(name)).map(|i| i as u8 + 1);
    let date = match words.as_slice() {
        [year] => parse_year(year).map(BirthDate::year),
        [m, year] => month(m).zip(parse_year(year)).map(|(month, year)| BirthDate {
            year,
            month: Some(month),
            day: None,
        }),
        [day, m, year] => match (day.parse().ok(), month(m), parse_year(year)) {
            (Some(day), Some(month), Some(year)) => BirthDate::ymd(year, month, day),
            _ => None,
        },
        _ => None,
    };
    date.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofac_date_texts_are_read_at_their_precision() {
        assert_eq!(parse_ofac_date("12 Mar 1965"), vec![BirthDate::ymd(1965, 3, 12).unwrap()]);
        let march = BirthDate { year: 1965, month: Some(3), day: None };
        assert_eq!(parse_ofac_date("Mar 1965"), vec![march]);
        assert_eq!(parse_ofac_date("circa 1965"), vec![BirthDate::year(1965)]);
        assert_eq!(parse_ofac_date("1958 to 1960").len(), 3);
        assert!(parse_ofac_date("unknown").is_empty());
    }
}
