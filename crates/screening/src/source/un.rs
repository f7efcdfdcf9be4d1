//! UN Security Council consolidated list in its XML format
//! (`CONSOLIDATED_LIST/INDIVIDUALS/INDIVIDUAL`, `CONSOLIDATED_LIST/ENTITIES/ENTITY`).

use serde::Deserialize;

use super::{
    countries, deserialize, expect_root, join_name, present, push_name, year_range, BirthDate, Entry,
    EntryKind, ListId, ListSource, SourceError,
};

/// The UN Security Council consolidated sanctions list.
pub struct UnConsolidated;

impl ListSource for UnConsolidated {
    fn list(&self) -> ListId {
        ListId::UnConsolidated
    }

    fn parse(&self, bytes: &[u8]) -> Result<Vec<Entry>, SourceError> {
        let list = self.list();
        expect_root(bytes, list, "CONSOLIDATED_LIST")?;
        let file: ConsolidatedList = deserialize(bytes, list)?;
        let individuals = file.individuals.items.into_iter().map(Individual::into_entry);
        let entities = file.entities.items.into_iter().map(Entity::into_entry);
        individuals.chain(entities).collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct ConsolidatedList {
    #[serde(default)]
    individuals: Individuals,
    #[serde(default)]
    entities: Entities,
}

#[derive(Deserialize, Default)]
struct Individuals {
    #[serde(rename = "INDIVIDUAL", default)]
    items: Vec<Individual>,
}

#[derive(Deserialize, Default)]
struct Entities {
    #[serde(rename = "ENTITY", default)]
    items: Vec<Entity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Individual {
    dataid: String,
    first_name: Option<String>,
    second_name: Option<String>,
    third_name: Option<String>,
    fourth_name: Option<String>,
    un_list_type: Option<String>,
    reference_number: Option<String>,
    #[serde(default)]
    nationality: Values,
    #[serde(rename = "INDIVIDUAL_ALIAS", default)]
    aliases: Vec<Alias>,
    #[serde(rename = "INDIVIDUAL_DATE_OF_BIRTH", default)]
    dates_of_birth: Vec<DateOfBirth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Entity {
    dataid: String,
    first_name: Option<String>,
    un_list_type: Option<String>,
    reference_number: Option<String>,
    #[serde(rename = "ENTITY_ALIAS", default)]
    aliases: Vec<Alias>,
}

#[derive(Deserialize, Default)]
struct Values {
    #[serde(rename = "VALUE", default)]
    values: Vec<Option<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Alias {
    alias_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct DateOfBirth {
    date: Option<String>,
    year: Option<String>,
    from_year: Option<String>,
    to_year: Option<String>,
}

impl DateOfBirth {
    /// `DATE` (exact), `YEAR` (approximately), or `FROM_YEAR`..`TO_YEAR` (between).
    fn dates(&self) -> Vec<BirthDate> {
        if let Some(date) = present(self.date.as_deref()).and_then(BirthDate::parse_iso) {
            return vec![date];
        }
        if let Some(year) = present(self.year.as_deref()).and_then(BirthDate::parse_iso) {
            return vec![year];
        }
        match (present(self.from_year.as_deref()), present(self.to_year.as_deref())) {
            (Some(from), Some(to)) => year_range(from, to),
            _ => Vec::new(),
        }
    }
}

/// The public reference number (`QDi.001`) identifies an entry; the internal `DATAID` stands in
/// when a record has none.
fn entry_id(reference_number: Option<&str>, dataid: &str) -> String {
    present(reference_number).unwrap_or(dataid.trim()).to_owned()
}

fn names(primary: Option<String>, aliases: &[Alias], entry_id: &str) -> Result<Vec<String>, SourceError> {
    let Some(primary) = primary else {
        return Err(SourceError::Nameless { list: ListId::UnConsolidated, entry_id: entry_id.to_owned() });
    };
    let mut names = vec![primary];
    for alias in aliases {
        if let Some(name) = join_name([alias.alias_name.as_deref()]) {
            push_name(&mut names, name);
        }
    }
    Ok(names)
}

impl Individual {
    fn into_entry(self) -> Result<Entry, SourceError> {
        let entry_id = entry_id(self.reference_number.as_deref(), &self.dataid);
        let primary = join_name([
            self.first_name.as_deref(),
            self.second_name.as_deref(),
            self.third_name.as_deref(),
            self.fourth_name.as_deref(),
        ]);
        let names = names(primary, &self.aliases, &entry_id)?;
        let nationalities = countries(self.nationality.values.iter().filter_map(|v| present(v.as_deref())));
        Ok(Entry {
            list: ListId::UnConsolidated,
            entry_id,
            kind: EntryKind::Individual,
            programmes: present(self.un_list_type.as_deref()).map(str::to_owned).into_iter().collect(),
            names,
            dates_of_birth: self.dates_of_birth.iter().flat_map(DateOfBirth::dates).collect(),
            nationalities,
        })
    }
}

impl Entity {
    fn into_entry(self) -> Result<Entry, SourceError> {
        let entry_id = entry_id(self.reference_number.as_deref(), &self.dataid);
        let names = names(join_name([self.first_name.as_deref()]), &self.aliases, &entry_id)?;
        Ok(Entry {
            list: ListId::UnConsolidated,
            entry_id,
            kind: EntryKind::Entity,
            programmes: present(self.un_list_type.as_deref()).map(str::to_owned).into_iter().collect(),
            names,
            dates_of_birth: Vec::new(),
            nationalities: Vec::new(),
        })
    }
}
