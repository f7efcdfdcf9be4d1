//! Name normalisation, fuzzy token matching and screening a subject against an [`Index`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::country::Country;
use crate::index::Index;
use crate::source::{BirthDate, EntryKind, ListId};

/// Words of a name as compared: transliterated to ASCII, lower case, apostrophes dropped
/// (`O'Brien` → `obrien`), other punctuation splitting words, and the German vowel spellings
/// folded (`ue` → `u`, `oe` → `o`, `ae` → `a`) so that Müller, Mueller and Muller are one word.
/// The folding is applied to both sides, so it never separates two spellings that were equal.
pub fn name_tokens(name: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(name).to_ascii_lowercase().replace(['\'', '`'], "");
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.replace("ue", "u").replace("oe", "o").replace("ae", "a"))
        .collect()
}

/// Token similarities below this do not make a listed name a candidate.
pub(crate) const TOKEN_FLOOR: f64 = 0.8;
/// Each word of the longer name left without a partner costs this factor (a missing middle name).
const UNMATCHED_FACTOR: f64 = 0.92;
/// A single matched word out of several (a surname alone) costs this factor on top.
const SINGLE_WORD_FACTOR: f64 = 0.9;
/// Name scores at or above this are exact hits, which are always reported.
const EXACT: f64 = 0.9999;
const DOB_AGREES: f64 = 0.05;
const DOB_DIFFERS: f64 = -0.10;
const NATIONALITY_AGREES: f64 = 0.03;
const NATIONALITY_DIFFERS: f64 = -0.05;

/// Similarity of two names given as normalised words, in 0..=1, whatever the word order.
///
/// Names equal once their spaces are removed (`Abdul Rahman` / `Abdulrahman`) score 1. Otherwise
/// words are paired greedily by Jaro-Winkler similarity, the pairs averaged weighted by word
/// length, and each word left over lowers the score.
pub fn name_similarity(a: &[&str], b: &[&str]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a.concat() == b.concat() {
        return 1.0;
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(a.len() * b.len());
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            pairs.push((strsim::jaro_winkler(x, y), i, j));
        }
    }
    pairs.sort_unstable_by(|p, q| q.0.total_cmp(&p.0));
    let (mut used_a, mut used_b) = (vec![false; a.len()], vec![false; b.len()]);
    let (mut sum, mut weight, mut matched) = (0.0, 0.0, 0);
    for (sim, i, j) in pairs {
        if used_a[i] || used_b[j] {
            continue;
        }
        used_a[i] = true;
        used_b[j] = true;
        let w = a[i].len().max(b[j].len()) as f64;
        sum += sim * w;
        weight += w;
        matched += 1;
    }
    let longer = a.len().max(b.len());
    let mut score = (sum / weight) * UNMATCHED_FACTOR.powi((longer - matched) as i32);
    if matched == 1 && longer > 1 {
        score *= SINGLE_WORD_FACTOR;
    }
    score
}

/// The lowest score reported as a hit, in 0..=1.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Threshold(f64);

/// A threshold outside 0..=1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("threshold {0} is not between 0 and 1")]
pub struct InvalidThreshold(pub f64);

impl Threshold {
    /// A threshold in 0..=1.
    pub fn new(value: f64) -> Result<Self, InvalidThreshold> {
        if (0.0..=1.0).contains(&value) {
            Ok(Threshold(value))
        } else {
            Err(InvalidThreshold(value))
        }
    }

    /// The threshold as a number.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// 0.85: one-letter typos and missing middle names hit, a shared surname alone does not.
impl Default for Threshold {
    fn default() -> Self {
        Threshold(0.85)
    }
}

impl TryFrom<f64> for Threshold {
    type Error = InvalidThreshold;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Threshold::new(value)
    }
}

impl From<Threshold> for f64 {
    fn from(threshold: Threshold) -> Self {
        threshold.0
    }
}

/// Who is screened: a person (against listed individuals) or an organisation (against
/// entities, vessels and aircraft).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Person,
    Organisation,
}

impl SubjectKind {
    fn screens(self, kind: EntryKind) -> bool {
        (self == SubjectKind::Person) == (kind == EntryKind::Individual)
    }
}

/// The party screened, with what is known of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    pub date_of_birth: Option<BirthDate>,
    pub nationality: Option<Country>,
}

impl Subject {
    /// A person known by name only.
    pub fn person(name: impl Into<String>) -> Self {
        Subject { kind: SubjectKind::Person, name: name.into(), date_of_birth: None, nationality: None }
    }

    /// An organisation, known by name.
    pub fn organisation(name: impl Into<String>) -> Self {
        Subject { kind: SubjectKind::Organisation, ..Subject::person(name) }
    }

    /// The same subject with a date of birth.
    pub fn born(self, date_of_birth: BirthDate) -> Self {
        Subject { date_of_birth: Some(date_of_birth), ..self }
    }

    /// The same subject with a nationality.
    pub fn national_of(self, nationality: Country) -> Self {
        Subject { nationality: Some(nationality), ..self }
    }
}

/// Which of the subject's other attributes the listed entry agrees with; `None` when the
/// subject or the entry does not give it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub date_of_birth: Option<bool>,
    pub nationality: Option<bool>,
}

/// A listed entry that may be the subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub list: ListId,
    pub entry_id: String,
    /// The listed name or alias that matched best, as the list writes it.
    pub matched_name: String,
    /// The name similarity raised or lowered by the other attributes, in 0..=1.
    pub score: f64,
    pub agreed: Agreement,
}

/// Screens a subject: every listed entry whose score reaches the threshold, and every exact
/// name hit whatever its other attributes, best first (one hit per entry, on its best name).
pub fn screen(index: &Index, subject: &Subject, threshold: Threshold) -> Vec<Hit> {
    let tokens = name_tokens(&subject.name);
    let words: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let mut best: HashMap<u32, (f64, u32)> = HashMap::new();
    for name_id in index.candidates(&words) {
        let name = index.name(name_id);
        let entry = index.entry(name.entry);
        if !subject.kind.screens(entry.kind) {
            continue;
        }
        let score = name_similarity(&words, &index.words(name));
        let current = best.entry(name.entry).or_insert((score, name_id));
        if score > current.0 {
            *current = (score, name_id);
        }
    }
    let mut hits: Vec<Hit> = best
        .into_values()
        .filter_map(|(name_score, name_id)| {
            let name = index.name(name_id);
            let entry = index.entry(name.entry);
            let agreed = agreement(subject, &entry.dates_of_birth, &entry.nationalities);
            let score = (name_score + adjustment(agreed)).clamp(0.0, 1.0);
            (score >= threshold.value() || name_score >= EXACT).then(|| Hit {
                list: entry.list,
                entry_id: entry.entry_id.clone(),
                matched_name: entry.names[name.name as usize].clone(),
                score,
                agreed,
            })
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.entry_id.cmp(&b.entry_id)));
    hits
}

fn agreement(subject: &Subject, dates: &[BirthDate], nationalities: &[Country]) -> Agreement {
    let date_of_birth = subject
        .date_of_birth
        .filter(|_| !dates.is_empty())
        .map(|dob| dates.iter().any(|d| d.agrees_with(&dob)));
    let nationality =
        subject.nationality.filter(|_| !nationalities.is_empty()).map(|n| nationalities.contains(&n));
    Agreement { date_of_birth, nationality }
}

fn adjustment(agreed: Agreement) -> f64 {
    let dob = match agreed.date_of_birth {
        Some(true) => DOB_AGREES,
        Some(false) => DOB_DIFFERS,
        None => 0.0,
    };
    let nationality = match agreed.nationality {
        Some(true) => NATIONALITY_AGREES,
        Some(false) => NATIONALITY_DIFFERS,
        None => 0.0,
    };
    dob + nationality
}

#[cfg(test)]
mod tests {
    use super::*;

    fn similarity(a: &str, b: &str) -> f64 {
        let (a, b) = (name_tokens(a), name_tokens(b));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        name_similarity(&a, &b)
    }

    #[test]
    fn names_are_folded_to_ascii_words() {
        assert_eq!(name_tokens("Hans-Jürgen MÜLLER"), ["hans", "jurgen", "muller"]);
        assert_eq!(name_tokens("Mueller, Hans"), ["muller", "hans"]);
        assert_eq!(name_tokens("Seán O'Brien"), ["sean", "obrien"]);
        assert!(name_tokens(" -- ").is_empty());
    }

    #[test]
    fn word_order_and_spacing_do_not_matter() {
        assert_eq!(similarity("Smith John", "JOHN SMITH"), 1.0);
        assert_eq!(similarity("Abdulrahman Al Farsi", "Abdul Rahman AL-FARSI"), 1.0);
    }

    #[test]
    fn a_missing_middle_name_costs_less_than_a_lone_surname() {
        let middle = similarity("John Smith", "John Michael Smith");
        let surname = similarity("John Smith", "Smith");
        assert!(middle > 0.9 && surname < 0.85, "{middle} {surname}");
    }
}
