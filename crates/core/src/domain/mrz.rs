//! ICAO Doc 9303 machine-readable zones (MRZ): finding them in OCR text, parsing them, and reporting
//! which fields the document's own check digits prove. Pure functions, no I/O, no clock.
//!
//! # Formats
//!
//! | format | lines × length | documents |
//! | --- | --- | --- |
//! | [`MrzFormat::Td1`] | 3 × 30 | ID cards |
//! | [`MrzFormat::Td2`] | 2 × 36 | older ID cards, some residence permits |
//! | [`MrzFormat::Td3`] | 2 × 44 | passports |
//! | [`MrzFormat::MrvA`] | 2 × 44, code `V…` | full-size visas |
//! | [`MrzFormat::MrvB`] | 2 × 36, code `V…` | small visas |
//!
//! # Normalisation of OCR text
//!
//! Every text line is upper-cased, all whitespace inside it is removed, the guillemets and angle
//! brackets OCR engines read instead of the filler (`«`, `‹`, `〈`, `＜`) become `<` (a `«` becomes
//! `<<` when only that gives a line of an MRZ length), and characters outside `[A-Z0-9<]` at the
//! ends of a line are dropped. A line of 88, 72 or 90 characters (an MRZ whose line breaks were
//! lost) is split into 2 × 44, 2 × 36 or 3 × 30. Runs of consecutive lines (blank lines skipped) of
//! one MRZ length made only of `[A-Z0-9<]` are candidates; the candidate with the most valid and
//! fewest invalid check digits wins.
//!
//! Once the format is known, character confusions are repaired only where the alphabet of a
//! position makes them unambiguous: letters in positions that must hold a digit or a filler (dates
//! and check digits: `O`/`Q`/`D` → `0`, `I`/`L` → `1`, `Z` → `2`, `S` → `5`, `G` → `6`, `B` → `8`)
//! and digits in positions that must hold a letter or a filler (document code, country codes,
//! names: the reverse mapping). Document numbers and optional data, which mix both, are never
//! touched. A repaired date is still only reported valid when its check digit agrees.
//!
//! # Dates
//!
//! The MRZ prints two-digit years; they are resolved against a `today` the caller passes in:
//!
//! * a **birth date** takes the most recent year ending in those two digits for which the date
//!   exists and is not after `today` (born today is fine);
//! * an **expiry date** takes the year ending in those two digits within
//!   `today.year() - 50 ..= today.year() + 49` (in 2025: `00`–`74` → 20YY, `75`–`99` → 19YY).
//!
//! A date field that is not a calendar date (month 13, 30 February, 29 February of a common year)
//! resolves to `None` and its evidence is [`MrzCheck::Invalid`], even when the check digit agrees:
//! the field then proves nothing. A date printed wholly or partly as fillers (unknown birth date,
//! no expiry) resolves to `None` with evidence [`MrzCheck::Absent`] when its check digit agrees.
//!
//! # Evidence
//!
//! Each check digit is reported as [`MrzCheck`]: `Valid` when it agrees with its field, `Invalid`
//! when it does not (or the field is malformed), `Absent` when the format has no such check digit
//! or the field is printed as fillers only.

use ::time::{Date, Month};
use serde::{Serialize, Serializer};

/// The MRZ layouts of ICAO Doc 9303.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MrzFormat {
    /// Size-1 travel document (ID cards): 3 lines of 30 characters.
    Td1,
    /// Size-2 travel document: 2 lines of 36 characters.
    Td2,
    /// Size-3 travel document (passports): 2 lines of 44 characters.
    Td3,
    /// Full-size machine-readable visa: 2 lines of 44 characters, document code `V…`.
    MrvA,
    /// Small machine-readable visa: 2 lines of 36 characters, document code `V…`.
    MrvB,
}

impl MrzFormat {
    /// How many lines the zone has.
    pub fn line_count(self) -> usize {
        match self {
            Self::Td1 => 3,
            Self::Td2 | Self::Td3 | Self::MrvA | Self::MrvB => 2,
        }
    }

    /// How many characters each line has.
    pub fn line_length(self) -> usize {
        match self {
            Self::Td1 => 30,
            Self::Td2 | Self::MrvB => 36,
            Self::Td3 | Self::MrvA => 44,
        }
    }

    /// The format of a zone of `line_count` lines of `line_length` characters whose first line
    /// starts with `first` (a `V` marks a visa); `None` for a shape no format has.
    pub fn detect(line_count: usize, line_length: usize, first: char) -> Option<Self> {
        let visa = first == 'V';
        match (line_count, line_length) {
            (3, 30) => Some(Self::Td1),
            (2, 36) if visa => Some(Self::MrvB),
            (2, 36) => Some(Self::Td2),
            (2, 44) if visa => Some(Self::MrvA),
            (2, 44) => Some(Self::Td3),
            _ => None,
        }
    }
}

/// What a check digit says about its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MrzCheck {
    /// The check digit agrees with the field (and a date field is a real calendar date).
    Valid,
    /// The check digit disagrees with the field, or the field is malformed.
    Invalid,
    /// The format has no check digit for this field, or the field is printed as fillers only.
    Absent,
}

impl MrzCheck {
    /// Whether this is [`MrzCheck::Valid`].
    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }

    /// Whether this is [`MrzCheck::Invalid`].
    pub fn is_invalid(self) -> bool {
        self == Self::Invalid
    }
}

/// The check-digit evidence of one MRZ, field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MrzChecks {
    /// The document number (all formats).
    pub document_number: MrzCheck,
    /// The date of birth (all formats).
    pub date_of_birth: MrzCheck,
    /// The date of expiry (all formats).
    pub date_of_expiry: MrzCheck,
    /// The personal number (TD3 only; `Absent` elsewhere and when printed as fillers).
    pub optional_data: MrzCheck,
    /// The composite check digit (TD1, TD2, TD3; `Absent` on visas).
    pub composite: MrzCheck,
}

impl MrzChecks {
    /// Whether no check digit failed and the document number, birth date and expiry date — which
    /// every format protects — are all proven. `Absent` optional data and composite (visas, an
    /// unused personal number) are fine; an unknown birth date or missing expiry date is not.
    pub fn all_valid(&self) -> bool {
        self.document_number.is_valid()
            && self.date_of_birth.is_valid()
            && self.date_of_expiry.is_valid()
            && !self.optional_data.is_invalid()
            && !self.composite.is_invalid()
    }

    fn all(&self) -> [MrzCheck; 5] {
        [self.document_number, self.date_of_birth, self.date_of_expiry, self.optional_data, self.composite]
    }

    /// Ranks candidate zones: more valid and fewer invalid check digits is better.
    pub fn score(&self) -> i32 {
        self.all()
            .iter()
            .map(|check| match check {
                MrzCheck::Valid => 1,
                MrzCheck::Invalid => -1,
                MrzCheck::Absent => 0,
            })
            .sum()
    }
}

/// Sex as printed in the MRZ. Serialised as `"M"`, `"F"` or `"X"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sex {
    /// `M`.
    #[serde(rename = "M")]
    Male,
    /// `F`.
    #[serde(rename = "F")]
    Female,
    /// `X` or the filler `<` (also any other character, which the MRZ does not allow there).
    #[serde(rename = "X")]
    Unspecified,
}

impl Sex {
    /// Reads the sex position of an MRZ.
    pub fn from_mrz(c: char) -> Self {
        match c {
            'M' => Self::Male,
            'F' => Self::Female,
            _ => Self::Unspecified,
        }
    }

    /// The character an encoder prints (`<` for unspecified).
    pub fn mrz_char(self) -> char {
        match self {
            Self::Male => 'M',
            Self::Female => 'F',
            Self::Unspecified => '<',
        }
    }
}

/// The data of one machine-readable zone and the evidence of its check digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mrz {
    /// The layout.
    pub format: MrzFormat,
    /// The document code without trailing fillers: `P`, `PO`, `I` (printed `I<`), `ID`, `V`, ….
    pub document_code: String,
    /// The issuing state or organisation without fillers: `UTO`, `D` (Germany), `GBR`.
    pub issuing_country: String,
    /// The issuing state as printed, fillers included: `D<<`.
    pub issuing_country_raw: String,
    /// The primary identifier: the name part before `<<`, fillers turned into spaces.
    pub surname: String,
    /// The secondary identifier: the name part after `<<`, fillers turned into spaces.
    pub given_names: String,
    /// The document number without fillers; for a TD1/TD2 long number including the part that
    /// overflowed into the optional data field.
    pub document_number: String,
    /// The nationality without fillers: `UTO`, `D`.
    pub nationality: String,
    /// The nationality as printed, fillers included.
    pub nationality_raw: String,
    /// The birth date; `None` when unknown or not a calendar date (see the module docs).
    #[serde(serialize_with = "serialize_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date_of_birth: Option<Date>,
    /// The expiry date; `None` when absent or not a calendar date (see the module docs).
    #[serde(serialize_with = "serialize_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date_of_expiry: Option<Date>,
    /// The sex.
    pub sex: Sex,
    /// The (first) optional data field with fillers trimmed from both ends: the personal number
    /// of a TD3, line 1 optional data of a TD1 (after a long document number's overflow), the
    /// optional data of a TD2 or visa.
    pub optional_data: String,
    /// The second optional data field of a TD1 (line 2), fillers trimmed; empty elsewhere.
    pub optional_data_2: String,
    /// The check-digit evidence.
    pub checks: MrzChecks,
    /// The zone's lines after normalisation and the safe repairs (not serialised).
    #[serde(skip)]
    pub lines: Vec<String>,
}

impl Mrz {
    /// See [`MrzChecks::all_valid`].
    pub fn all_valid(&self) -> bool {
        self.checks.all_valid()
    }

    /// The ISO 3166-1 alpha-2 code of the issuing state, when it maps to one (see [`alpha2`]).
    pub fn issuing_country_alpha2(&self) -> Option<&'static str> {
        alpha2(&self.issuing_country)
    }

    /// The ISO 3166-1 alpha-2 code of the nationality, when it maps to one (see [`alpha2`]).
    pub fn nationality_alpha2(&self) -> Option<&'static str> {
        alpha2(&self.nationality)
    }
}

fn serialize_date<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(d) => {
            serializer.collect_str(&format_args!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        }
        None => serializer.serialize_none(),
    }
}

/// Why no MRZ could be read, or a field could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// The text holds no run of lines shaped like an MRZ.
    #[error("no machine-readable zone found")]
    NotFound,
    /// The lines given do not have the shape of any MRZ format.
    #[error("no MRZ format has lines of lengths {lengths:?}")]
    UnsupportedShape {
        /// The length of each line, after normalisation.
        lengths: Vec<usize>,
    },
    /// A line holds a character outside `[A-Z0-9<]` after normalisation.
    #[error("line {line}, position {position}: {found:?} is not an MRZ character")]
    InvalidCharacter {
        /// The line, from 1.
        line: usize,
        /// The position in the line, from 1.
        position: usize,
        /// The character.
        found: char,
    },
    /// A field given to an encoder cannot be printed in the MRZ.
    #[error("cannot encode the {field}: {reason}")]
    Encode {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The value of an MRZ character for check digits: digits their value, `A`–`Z` 10–35, `<` 0.
fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

fn is_mrz_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'
}

/// The ICAO 9303 check digit (0–9) of `field`: weights 7, 3, 1 repeating, sum modulo 10. `None`
/// if the field holds a character outside `[A-Z0-9<]`.
pub fn check_digit(field: &str) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, c) in field.bytes().enumerate() {
        sum = (sum + char_value(c)? * WEIGHTS[i % 3]) % 10;
    }
    // `sum` is below 10 here.
    u8::try_from(sum).ok()
}

fn check_char(field: &str) -> char {
    check_digit(field).map_or('<', |d| char::from(b'0' + d))
}

/// Evidence of a check digit `cd` (an MRZ character) for `field`.
fn check(field: &str, cd: u8) -> MrzCheck {
    match check_digit(field) {
        Some(d) if cd.is_ascii_digit() && cd - b'0' == d => MrzCheck::Valid,
        _ => MrzCheck::Invalid,
    }
}

fn all_fillers(field: &str) -> bool {
    field.bytes().all(|b| b == b'<')
}

/// Splits `YYMMDD` into numbers; `None` unless it is six ASCII digits.
fn yymmdd(field: &str) -> Option<(i32, u8, u8)> {
    let &[y1, y0, m1, m0, d1, d0] = field.as_bytes() else { return None };
    if ![y1, y0, m1, m0, d1, d0].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let two = |tens: u8, ones: u8| (tens - b'0') * 10 + (ones - b'0');
    Some((i32::from(two(y1, y0)), two(m1, m0), two(d1, d0)))
}

/// Resolves an MRZ birth date `YYMMDD` to the most recent year ending in `YY` for which the date
/// exists and is not after `today`. `None` when the field is not six digits or no such date
/// exists within the last 200 years.
pub fn resolve_birth_date(field: &str, today: Date) -> Option<Date> {
    let (yy, mm, dd) = yymmdd(field)?;
    let month = Month::try_from(mm).ok()?;
    let this_century = today.year() - today.year().rem_euclid(100) + yy;
    [this_century, this_century - 100, this_century - 200]
        .into_iter()
        .filter_map(|year| Date::from_calendar_date(year, month, dd).ok())
        .find(|date| *date <= today)
}

/// Resolves an MRZ expiry date `YYMMDD` to the year ending in `YY` within
/// `today.year() - 50 ..= today.year() + 49`. `None` when the field is not six digits or the date
/// does not exist in that year.
pub fn resolve_expiry_date(field: &str, today: Date) -> Option<Date> {
    let (yy, mm, dd) = yymmdd(field)?;
    let month = Month::try_from(mm).ok()?;
    let low = today.year() - 50;
    let year = low + (yy - low).rem_euclid(100);
    Date::from_calendar_date(year, month, dd).ok()
}

/// Evidence for a date field: see the module docs.
fn date_check(field: &str, cd: u8, resolved: Option<Date>) -> MrzCheck {
    if all_fillers(field) && cd == b'<' {
        return MrzCheck::Absent;
    }
    match check(field, cd) {
        MrzCheck::Valid if field.contains('<') => MrzCheck::Absent,
        MrzCheck::Valid if resolved.is_none() => MrzCheck::Invalid,
        other => other,
    }
}

/// Normalises one OCR text line: upper case, no whitespace, filler look-alikes as `<`, non-MRZ
/// characters trimmed from the ends. `guillemet` is what `«` becomes.
fn normalise_line_with(line: &str, guillemet: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            c if c.is_whitespace() => {}
            '«' => out.push_str(guillemet),
            '‹' | '〈' | '＜' => out.push('<'),
            c => out.extend(c.to_uppercase()),
        }
    }
    out.trim_matches(|c: char| !is_mrz_char(c)).to_owned()
}

const LINE_LENGTHS: [usize; 3] = [30, 36, 44];

fn normalise_line(line: &str) -> String {
    let single = normalise_line_with(line, "<");
    if line.contains('«') && !LINE_LENGTHS.contains(&single.chars().count()) {
        let double = normalise_line_with(line, "<<");
        if LINE_LENGTHS.contains(&double.chars().count()) {
            return double;
        }
    }
    single
}

/// The non-blank normalised lines of `text`, with run-together zones split into their lines.
fn prepare_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for raw in text.split(['\n', '\r']) {
        let line = normalise_line(raw);
        let split_into = match line.len() {
            88 | 72 => 2,
            90 => 3,
            _ => 1,
        };
        if split_into > 1 && line.chars().all(is_mrz_char) {
            let width = line.len() / split_into;
            for i in 0..split_into {
                lines.push(line.get(i * width..(i + 1) * width).unwrap_or_default().to_owned());
            }
        } else if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// Character ranges `(line, start, end)` of a zone.
type Ranges = &'static [(usize, usize, usize)];

/// Positions that hold only digits or fillers, and positions that hold only letters or fillers.
fn alphabets(format: MrzFormat) -> (Ranges, Ranges) {
    match format {
        MrzFormat::Td1 => (
            &[(0, 14, 15), (1, 0, 7), (1, 8, 15), (1, 29, 30)],
            &[(0, 0, 2), (0, 2, 5), (1, 15, 18), (2, 0, 30)],
        ),
        MrzFormat::Td2 => {
            (&[(1, 9, 10), (1, 13, 20), (1, 21, 28), (1, 35, 36)], &[(0, 0, 2), (0, 2, 36), (1, 10, 13)])
        }
        MrzFormat::MrvB => (&[(1, 9, 10), (1, 13, 20), (1, 21, 28)], &[(0, 0, 2), (0, 2, 36), (1, 10, 13)]),
        MrzFormat::Td3 => {
            (&[(1, 9, 10), (1, 13, 20), (1, 21, 28), (1, 42, 44)], &[(0, 0, 2), (0, 2, 44), (1, 10, 13)])
        }
        MrzFormat::MrvA => (&[(1, 9, 10), (1, 13, 20), (1, 21, 28)], &[(0, 0, 2), (0, 2, 44), (1, 10, 13)]),
    }
}

fn to_digit(c: u8) -> u8 {
    match c {
        b'O' | b'Q' | b'D' => b'0',
        b'I' | b'L' => b'1',
        b'Z' => b'2',
        b'S' => b'5',
        b'G' => b'6',
        b'B' => b'8',
        other => other,
    }
}

fn to_letter(c: u8) -> u8 {
    match c {
        b'0' => b'O',
        b'1' => b'I',
        b'2' => b'Z',
        b'5' => b'S',
        b'6' => b'G',
        b'8' => b'B',
        other => other,
    }
}

/// Repairs OCR confusions where a position's alphabet makes them unambiguous (module docs).
fn repair(format: MrzFormat, lines: &[String]) -> Vec<String> {
    let mut bytes: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    let (numeric, alpha) = alphabets(format);
    let mut apply = |ranges: Ranges, map: fn(u8) -> u8| {
        for &(line, start, end) in ranges {
            if let Some(part) = bytes.get_mut(line).and_then(|l| l.get_mut(start..end)) {
                part.iter_mut().for_each(|b| *b = map(*b));
            }
        }
    };
    apply(numeric, to_digit);
    apply(alpha, to_letter);
    bytes.into_iter().map(|l| l.into_iter().map(char::from).collect()).collect()
}

/// Panic-free access to the fields of a validated zone.
struct Zone<'a>(&'a [String]);

impl<'a> Zone<'a> {
    fn get(&self, line: usize, start: usize, end: usize) -> &'a str {
        self.0.get(line).and_then(|l| l.get(start..end)).unwrap_or_default()
    }

    fn at(&self, line: usize, pos: usize) -> u8 {
        self.0.get(line).and_then(|l| l.as_bytes().get(pos)).copied().unwrap_or(b'<')
    }
}

/// Words of a name part: fillers become single spaces.
fn name_words(part: &str) -> String {
    part.split('<').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The document number, its evidence and the rest of the optional field, applying the TD1/TD2
/// long-number rule when `overflow` is `Some(optional field)`.
fn document_number(field: &str, cd: u8, overflow: Option<&str>) -> (String, MrzCheck, Option<String>) {
    if let Some(optional) = overflow.filter(|o| cd == b'<' && !o.starts_with('<') && !o.is_empty()) {
        // Long number: its tail, then its check digit, then a filler, in the optional field.
        let end = optional.find('<').unwrap_or(optional.len());
        let spill = optional.get(..end).unwrap_or_default();
        let tail = spill.get(..spill.len().saturating_sub(1)).unwrap_or_default();
        let long_cd = spill.bytes().last().unwrap_or(b'<');
        let number = format!("{field}{tail}");
        let evidence = check(&number, long_cd);
        let rest = optional.get(end + 1..).unwrap_or_default();
        return (number.replace('<', ""), evidence, Some(rest.to_owned()));
    }
    let evidence = if all_fillers(field) && cd == b'<' { MrzCheck::Absent } else { check(field, cd) };
    (field.replace('<', ""), evidence, None)
}

/// Reads a zone of validated shape and alphabet, already repaired.
fn interpret(format: MrzFormat, lines: Vec<String>, today: Date) -> Mrz {
    let z = Zone(&lines);
    let width = format.line_length();
    let (names, number, number_cd, nationality, dob, dob_cd, sex, expiry, expiry_cd) = match format {
        MrzFormat::Td1 => (
            z.get(2, 0, 30),
            z.get(0, 5, 14),
            z.at(0, 14),
            z.get(1, 15, 18),
            z.get(1, 0, 6),
            z.at(1, 6),
            z.at(1, 7),
            z.get(1, 8, 14),
            z.at(1, 14),
        ),
        _ => (
            z.get(0, 5, width),
            z.get(1, 0, 9),
            z.at(1, 9),
            z.get(1, 10, 13),
            z.get(1, 13, 19),
            z.at(1, 19),
            z.at(1, 20),
            z.get(1, 21, 27),
            z.at(1, 27),
        ),
    };
    let (optional, optional_2) = match format {
        MrzFormat::Td1 => (z.get(0, 15, 30), z.get(1, 18, 29)),
        MrzFormat::Td2 => (z.get(1, 28, 35), ""),
        MrzFormat::Td3 => (z.get(1, 28, 42), ""),
        MrzFormat::MrvA | MrzFormat::MrvB => (z.get(1, 28, width), ""),
    };
    let long_number_rule = matches!(format, MrzFormat::Td1 | MrzFormat::Td2);
    let (document_number, number_check, rest) =
        document_number(number, number_cd, long_number_rule.then_some(optional));
    let optional_data = rest.as_deref().unwrap_or(optional).trim_matches('<').to_owned();

    let optional_check = match format {
        MrzFormat::Td3 => {
            let cd = z.at(1, 42);
            if all_fillers(optional) {
                if cd == b'<' || cd == b'0' {
                    MrzCheck::Absent
                } else {
                    MrzCheck::Invalid
                }
            } else {
                check(optional, cd)
            }
        }
        _ => MrzCheck::Absent,
    };
    let composite = match format {
        MrzFormat::Td1 => {
            let field = [z.get(0, 5, 30), z.get(1, 0, 7), z.get(1, 8, 15), z.get(1, 18, 29)].concat();
            check(&field, z.at(1, 29))
        }
        MrzFormat::Td2 => check(&[z.get(1, 0, 10), z.get(1, 13, 20), z.get(1, 21, 35)].concat(), z.at(1, 35)),
        MrzFormat::Td3 => check(&[z.get(1, 0, 10), z.get(1, 13, 20), z.get(1, 21, 43)].concat(), z.at(1, 43)),
        MrzFormat::MrvA | MrzFormat::MrvB => MrzCheck::Absent,
    };

    let date_of_birth = resolve_birth_date(dob, today);
    let date_of_expiry = resolve_expiry_date(expiry, today);
    let checks = MrzChecks {
        document_number: number_check,
        date_of_birth: date_check(dob, dob_cd, date_of_birth),
        date_of_expiry: date_check(expiry, expiry_cd, date_of_expiry),
        optional_data: optional_check,
        composite,
    };
    let (surname, given) = match names.find("<<") {
        Some(i) => (names.get(..i).unwrap_or_default(), names.get(i + 2..).unwrap_or_default()),
        None => (names, ""),
    };
    let issuer = z.get(0, 2, 5);
    Mrz {
        format,
        document_code: z.get(0, 0, 2).trim_end_matches('<').to_owned(),
        issuing_country: issuer.trim_matches('<').to_owned(),
        issuing_country_raw: issuer.to_owned(),
        surname: name_words(surname),
        given_names: name_words(given),
        document_number,
        nationality: nationality.trim_matches('<').to_owned(),
        nationality_raw: nationality.to_owned(),
        date_of_birth,
        date_of_expiry,
        sex: Sex::from_mrz(char::from(sex)),
        optional_data,
        optional_data_2: optional_2.trim_matches('<').to_owned(),
        checks,
        lines,
    }
}

/// Finds and parses the MRZ in `text` (OCR output, possibly with other text around it, lower case,
/// stray spaces and `«` for fillers), resolving two-digit years against `today`. When several
/// candidate zones are found, the one whose check digits agree best wins.
pub fn parse(text: &str, today: Date) -> Result<Mrz, MrzError> {
    let lines = prepare_lines(text);
    let mut best: Option<(i32, Mrz)> = None;
    for start in 0..lines.len() {
        for (count, length) in [(3, 30), (2, 36), (2, 44)] {
            let Some(window) = lines.get(start..start + count) else { continue };
            if !window.iter().all(|l| l.len() == length && l.chars().all(is_mrz_char)) {
                continue;
            }
            let first = window.first().and_then(|l| l.chars().next()).unwrap_or('<');
            let Some(format) = MrzFormat::detect(count, length, first) else { continue };
            let mrz = interpret(format, repair(format, window), today);
            let score = mrz.checks.score();
            if best.as_ref().is_none_or(|(best_score, _)| score > *best_score) {
                best = Some((score, mrz));
            }
        }
    }
    best.map(|(_, mrz)| mrz).ok_or(MrzError::NotFound)
}

/// [`parse`], for callers that only care whether an MRZ was found.
pub fn find(text: &str, today: Date) -> Option<Mrz> {
    parse(text, today).ok()
}

/// Parses exactly the given MRZ lines (normalised like [`parse`] does, but nothing is searched
/// for or skipped): errors name the first character outside `[A-Z0-9<]` or the wrong shape.
pub fn parse_lines(lines: &[&str], today: Date) -> Result<Mrz, MrzError> {
    let normalised: Vec<String> = lines.iter().map(|l| normalise_line(l)).collect();
    for (i, line) in normalised.iter().enumerate() {
        if let Some((position, found)) = line.chars().enumerate().find(|(_, c)| !is_mrz_char(*c)) {
            return Err(MrzError::InvalidCharacter { line: i + 1, position: position + 1, found });
        }
    }
    let lengths: Vec<usize> = normalised.iter().map(String::len).collect();
    let shape_error = || MrzError::UnsupportedShape { lengths: lengths.clone() };
    let length = *lengths.first().ok_or_else(shape_error)?;
    if lengths.iter().any(|l| *l != length) {
        return Err(shape_error());
    }
    let first = normalised.first().and_then(|l| l.chars().next()).unwrap_or('<');
    let format = MrzFormat::detect(normalised.len(), length, first).ok_or_else(shape_error)?;
    Ok(interpret(format, repair(format, &normalised), today))
}

/// The fields an encoder prints (see [`encode_td3`], [`encode_td1`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MrzFields {
    /// One or two letters: `P`, `PO`, `I`, `ID`.
    pub document_code: String,
    /// One to three letters: `UTO`, `D`.
    pub issuing_country: String,
    /// Letters, spaces, hyphens (spaces and hyphens print as `<`, apostrophes are dropped).
    pub surname: String,
    /// Like `surname`; may be empty.
    pub given_names: String,
    /// Letters and digits: at most 9 for TD3, longer ones on a TD1 spill into optional data.
    pub document_number: String,
    /// One to three letters.
    pub nationality: String,
    /// Printed as `YYMMDD`.
    pub date_of_birth: Date,
    /// The sex.
    pub sex: Sex,
    /// Printed as `YYMMDD`.
    pub date_of_expiry: Date,
    /// Letters, digits, spaces (printed as `<`): the TD3 personal number (at most 14) or the TD1
    /// line-1 optional data (at most 15, less a long number's overflow).
    pub optional_data: String,
    /// TD1 line-2 optional data (at most 11); ignored by [`encode_td3`].
    pub optional_data_2: String,
}

fn pad(text: &str, width: usize) -> String {
    format!("{text:<<width$}")
}

/// Upper-cases `text` and checks it against `allowed`, turning spaces into fillers.
fn mrz_text(
    text: &str,
    field: &'static str,
    max: usize,
    allowed: fn(char) -> bool,
) -> Result<String, MrzError> {
    let out: String =
        text.trim().chars().map(|c| if c == ' ' { '<' } else { c.to_ascii_uppercase() }).collect();
    if !out.chars().all(allowed) {
        return Err(MrzError::Encode { field, reason: "holds a character the MRZ cannot print" });
    }
    if out.len() > max {
        return Err(MrzError::Encode { field, reason: "is too long" });
    }
    Ok(out)
}

fn letters(text: &str, field: &'static str, max: usize) -> Result<String, MrzError> {
    let out = mrz_text(text, field, max, |c| c.is_ascii_uppercase())?;
    if out.is_empty() {
        return Err(MrzError::Encode { field, reason: "is empty" });
    }
    Ok(pad(&out, max))
}

fn name_field(surname: &str, given_names: &str, width: usize) -> Result<String, MrzError> {
    let part = |text: &str| -> Result<String, MrzError> {
        let cleaned: String =
            text.chars().filter(|c| *c != '\'').map(|c| if c == '-' { ' ' } else { c }).collect();
        let words = mrz_text(&cleaned, "name", usize::MAX, |c| c.is_ascii_uppercase() || c == '<')?;
        Ok(name_words(&words).replace(' ', "<"))
    };
    let (surname, given) = (part(surname)?, part(given_names)?);
    let mut name = if given.is_empty() { surname } else { format!("{surname}<<{given}") };
    // ICAO truncates names that do not fit.
    name.truncate(width);
    Ok(pad(&name, width))
}

fn date_field(date: Date) -> String {
    format!("{:02}{:02}{:02}", date.year().rem_euclid(100), u8::from(date.month()), date.day())
}

fn alphanumeric(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

fn optional_field(text: &str, field: &'static str, max: usize) -> Result<String, MrzError> {
    mrz_text(text, field, max, |c| alphanumeric(c) || c == '<')
}

/// Encodes a passport (TD3) MRZ with correct check digits. The personal number's check digit is
/// `<` when it is empty.
pub fn encode_td3(fields: &MrzFields) -> Result<[String; 2], MrzError> {
    let number = mrz_text(&fields.document_number, "document number", 9, alphanumeric)?;
    let number = pad(&number, 9);
    let personal = pad(&optional_field(&fields.optional_data, "optional data", 14)?, 14);
    let personal_cd = if all_fillers(&personal) { '<' } else { check_char(&personal) };
    let (dob, expiry) = (date_field(fields.date_of_birth), date_field(fields.date_of_expiry));
    let line1 = format!(
        "{}{}{}",
        letters(&fields.document_code, "document code", 2)?,
        letters(&fields.issuing_country, "issuing country", 3)?,
        name_field(&fields.surname, &fields.given_names, 39)?
    );
    let mut line2 = format!(
        "{number}{}{}{dob}{}{}{expiry}{}{personal}{personal_cd}",
        check_char(&number),
        letters(&fields.nationality, "nationality", 3)?,
        check_char(&dob),
        fields.sex.mrz_char(),
        check_char(&expiry),
    );
    let composite = [line2.get(0..10), line2.get(13..20), line2.get(21..43)]
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect::<String>();
    line2.push(check_char(&composite));
    Ok([line1, line2])
}

/// Encodes an ID-card (TD1) MRZ with correct check digits. A document number longer than 9
/// characters follows the long-number rule: 9 characters, a `<` for the check digit, and the rest,
/// its check digit and a filler at the start of the line-1 optional data.
pub fn encode_td1(fields: &MrzFields) -> Result<[String; 3], MrzError> {
    let number = mrz_text(&fields.document_number, "document number", 24, alphanumeric)?;
    let optional = optional_field(&fields.optional_data, "optional data", 15)?;
    let (head, number_cd, optional) = match (number.get(..9), number.get(9..)) {
        (Some(head), Some(tail)) if !tail.is_empty() => {
            let spill = format!("{tail}{}", check_char(&number));
            let optional = if optional.is_empty() { spill } else { format!("{spill}<{optional}") };
            (head.to_owned(), '<', optional)
        }
        _ => {
            let head = pad(&number, 9);
            let cd = check_char(&head);
            (head, cd, optional)
        }
    };
    if optional.len() > 15 {
        return Err(MrzError::Encode {
            field: "optional data",
            reason: "does not fit beside the long number",
        });
    }
    let (dob, expiry) = (date_field(fields.date_of_birth), date_field(fields.date_of_expiry));
    let line1 = format!(
        "{}{}{head}{number_cd}{}",
        letters(&fields.document_code, "document code", 2)?,
        letters(&fields.issuing_country, "issuing country", 3)?,
        pad(&optional, 15),
    );
    let mut line2 = format!(
        "{dob}{}{}{expiry}{}{}{}",
        check_char(&dob),
        fields.sex.mrz_char(),
        check_char(&expiry),
        letters(&fields.nationality, "nationality", 3)?,
        pad(&optional_field(&fields.optional_data_2, "optional data 2", 11)?, 11),
    );
    let composite = [line1.get(5..30), line2.get(0..7), line2.get(8..15), line2.get(18..29)]
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect::<String>();
    line2.push(check_char(&composite));
    Ok([line1, line2, name_field(&fields.surname, &fields.given_names, 30)?])
}

/// ISO 3166-1 alpha-3 → alpha-2, sorted by alpha-3 (generated from the iso-codes data set).
#[rustfmt::skip]
const ISO_ALPHA3: [(&str, &str); 249] = [
    ("ABW", "AW"), ("AFG", "AF"), ("AGO", "AO"), ("AIA", "AI"), ("ALA", "AX"), ("ALB", "AL"), ("AND", "AD"),
    ("ARE", "AE"), ("ARG", "AR"), ("ARM", "AM"), ("ASM", "AS"), ("ATA", "AQ"), ("ATF", "TF"), ("ATG", "AG"),
    ("AUS", "AU"), ("AUT", "AT"), ("AZE", "AZ"), ("BDI", "BI"), ("BEL", "BE"), ("BEN", "BJ"), ("BES", "BQ"),
    ("BFA", "BF"), ("BGD", "BD"), ("BGR", "BG"), ("BHR", "BH"), ("BHS", "BS"), ("BIH", "BA"), ("BLM", "BL"),
    ("BLR", "BY"), ("BLZ", "BZ"), ("BMU", "BM"), ("BOL", "BO"), ("BRA", "BR"), ("BRB", "BB"), ("BRN", "BN"),
    ("BTN", "BT"), ("BVT", "BV"), ("BWA", "BW"), ("CAF", "CF"), ("CAN", "CA"), ("CCK", "CC"), ("CHE", "CH"),
    ("CHL", "CL"), ("CHN", "CN"), ("CIV", "CI"), ("CMR", "CM"), ("COD", "CD"), ("COG", "CG"), ("COK", "CK"),
    ("COL", "CO"), ("COM", "KM"), ("CPV", "CV"), ("CRI", "CR"), ("CUB", "CU"), ("CUW", "CW"), ("CXR", "CX"),
    ("CYM", "KY"), ("CYP", "CY"), ("CZE", "CZ"), ("DEU", "DE"), ("DJI", "DJ"), ("DMA", "DM"), ("DNK", "DK"),
    ("DOM", "DO"), ("DZA", "DZ"), ("ECU", "EC"), ("EGY", "EG"), ("ERI", "ER"), ("ESH", "EH"), ("ESP", "ES"),
    ("EST", "EE"), ("ETH", "ET"), ("FIN", "FI"), ("FJI", "FJ"), ("FLK", "FK"), ("FRA", "FR"), ("FRO", "FO"),
    ("FSM", "FM"), ("GAB", "GA"), ("GBR", "GB"), ("GEO", "GE"), ("GGY", "GG"), ("GHA", "GH"), ("GIB", "GI"),
    ("GIN", "GN"), ("GLP", "GP"), ("GMB", "GM"), ("GNB", "GW"), ("GNQ", "GQ"), ("GRC", "GR"), ("GRD", "GD"),
    ("GRL", "GL"), ("GTM", "GT"), ("GUF", "GF"), ("GUM", "GU"), ("GUY", "GY"), ("HKG", "HK"), ("HMD", "HM"),
    ("HND", "HN"), ("HRV", "HR"), ("HTI", "HT"), ("HUN", "HU"), ("IDN", "ID"), ("IMN", "IM"), ("IND", "IN"),
    ("IOT", "IO"), ("IRL", "IE"), ("IRN", "IR"), ("IRQ", "IQ"), ("ISL", "IS"), ("ISR", "IL"), ("ITA", "IT"),
    ("JAM", "JM"), ("JEY", "JE"), ("JOR", "JO"), ("JPN", "JP"), ("KAZ", "KZ"), ("KEN", "KE"), ("KGZ", "KG"),
    ("KHM", "KH"), ("KIR", "KI"), ("KNA", "KN"), ("KOR", "KR"), ("KWT", "KW"), ("LAO", "LA"), ("LBN", "LB"),
    ("LBR", "LR"), ("LBY", "LY"), ("LCA", "LC"), ("LIE", "LI"), ("LKA", "LK"), ("LSO", "LS"), ("LTU", "LT"),
    ("LUX", "LU"), ("LVA", "LV"), ("MAC", "MO"), ("MAF", "MF"), ("MAR", "MA"), ("MCO", "MC"), ("MDA", "MD"),
    ("MDG", "MG"), ("MDV", "MV"), ("MEX", "MX"), ("MHL", "MH"), ("MKD", "MK"), ("MLI", "ML"), ("MLT", "MT"),
    ("MMR", "MM"), ("MNE", "ME"), ("MNG", "MN"), ("MNP", "MP"), ("MOZ", "MZ"), ("MRT", "MR"), ("MSR", "MS"),
    ("MTQ", "MQ"), ("MUS", "MU"), ("MWI", "MW"), ("MYS", "MY"), ("MYT", "YT"), ("NAM", "NA"), ("NCL", "NC"),
    ("NER", "NE"), ("NFK", "NF"), ("NGA", "NG"), ("NIC", "NI"), ("NIU", "NU"), ("NLD", "NL"), ("NOR", "NO"),
    ("NPL", "NP"), ("NRU", "NR"), ("NZL", "NZ"), ("OMN", "OM"), ("PAK", "PK"), ("PAN", "PA"), ("PCN", "PN"),
    ("PER", "PE"), ("PHL", "PH"), ("PLW", "PW"), ("PNG", "PG"), ("POL", "PL"), ("PRI", "PR"), ("PRK", "KP"),
    ("PRT", "PT"), ("PRY", "PY"), ("PSE", "PS"), ("PYF", "PF"), ("QAT", "QA"), ("REU", "RE"), ("ROU", "RO"),
    ("RUS", "RU"), ("RWA", "RW"), ("SAU", "SA"), ("SDN", "SD"), ("SEN", "SN"), ("SGP", "SG"), ("SGS", "GS"),
    ("SHN", "SH"), ("SJM", "SJ"), ("SLB", "SB"), ("SLE", "SL"), ("SLV", "SV"), ("SMR", "SM"), ("SOM", "SO"),
    ("SPM", "PM"), ("SRB", "RS"), ("SSD", "SS"), ("STP", "ST"), ("SUR", "SR"), ("SVK", "SK"), ("SVN", "SI"),
    ("SWE", "SE"), ("SWZ", "SZ"), ("SXM", "SX"), ("SYC", "SC"), ("SYR", "SY"), ("TCA", "TC"), ("TCD", "TD"),
    ("TGO", "TG"), ("THA", "TH"), ("TJK", "TJ"), ("TKL", "TK"), ("TKM", "TM"), ("TLS", "TL"), ("TON", "TO"),
    ("TTO", "TT"), ("TUN", "TN"), ("TUR", "TR"), ("TUV", "TV"), ("TWN", "TW"), ("TZA", "TZ"), ("UGA", "UG"),
    ("UKR", "UA"), ("UMI", "UM"), ("URY", "UY"), ("USA", "US"), ("UZB", "UZ"), ("VAT", "VA"), ("VCT", "VC"),
    ("VEN", "VE"), ("VGB", "VG"), ("VIR", "VI"), ("VNM", "VN"), ("VUT", "VU"), ("WLF", "WF"), ("WSM", "WS"),
    ("YEM", "YE"), ("ZAF", "ZA"), ("ZMB", "ZM"), ("ZWE", "ZW"),
];

/// The ISO 3166-1 alpha-2 code of an ICAO 9303 state code (as printed; fillers and case are
/// ignored). Covers every ISO 3166-1 alpha-3 code plus the ICAO specials `D` (Germany → `DE`),
/// `GBD`/`GBN`/`GBO`/`GBP`/`GBS` (British nationals of other kinds → `GB`) and `RKS` (Kosovo →
/// the user-assigned `XK`, which [`super::countries::is_country_code`] rejects). Codes with no
/// country — `UTO` (the specimen state Utopia), `XXA`/`XXB`/`XXC`/`XXX` (stateless, refugee,
/// unspecified), `UNO`/`UNA`/`UNK` (United Nations), `EUE` (European Union), `XOM`, `XPO`, … —
/// give `None`.
pub fn alpha2(code: &str) -> Option<&'static str> {
    let code = code.trim_matches(|c: char| c == '<' || c.is_whitespace()).to_ascii_uppercase();
    match code.as_str() {
        "D" => Some("DE"),
        "GBD" | "GBN" | "GBO" | "GBP" | "GBS" => Some("GB"),
        "RKS" => Some("XK"),
        other => ISO_ALPHA3
            .binary_search_by(|(a3, _)| a3.cmp(&other))
            .ok()
            .and_then(|i| ISO_ALPHA3.get(i))
            .map(|(_, a2)| *a2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::date;
    use proptest::prelude::*;

    const TODAY: Date = date!(2025 - 06 - 15);

    const TD3: [&str; 2] =
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
    const TD2: [&str; 2] = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    const MRV_A: [&str; 2] =
        ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"];
    const MRV_B: [&str; 2] = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"];

    fn all_checks(mrz: &Mrz) -> [MrzCheck; 5] {
        mrz.checks.all()
    }

    fn parsed(lines: &[&str]) -> Mrz {
        parse_lines(lines, TODAY).unwrap()
    }

    /// Replaces the digit at `pos` of line `line` with another digit.
    fn flip(lines: &[&str], line: usize, pos: usize) -> Vec<String> {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let mut bytes = out[line].clone().into_bytes();
        assert!(bytes[pos].is_ascii_digit(), "position {pos} of line {line} is not a digit");
        bytes[pos] = if bytes[pos] == b'9' { b'0' } else { bytes[pos] + 1 };
        out[line] = String::from_utf8(bytes).unwrap();
        out
    }

    fn parsed_owned(lines: &[String]) -> Mrz {
        parse_lines(&lines.iter().map(String::as_str).collect::<Vec<_>>(), TODAY).unwrap()
    }

    #[test]
    fn check_digits_follow_the_7_3_1_weights_with_letters_from_10_and_fillers_as_zero() {
        assert_eq!(check_digit("L898902C3"), Some(6));
        assert_eq!(check_digit("740812"), Some(2));
        assert_eq!(check_digit("120415"), Some(9));
        assert_eq!(check_digit("ZE184226B<<<<<"), Some(1));
        assert_eq!(check_digit("<<<<"), Some(0));
        assert_eq!(check_digit(""), Some(0));
        assert_eq!(check_digit("AZ"), Some((10 * 7 + 35 * 3) % 10));
        assert_eq!(check_digit("ab"), None);
    }

    #[test]
    fn the_icao_td3_passport_specimen_parses_with_every_check_valid() {
        let mrz = parsed(&TD3);
        assert_eq!(mrz.format, MrzFormat::Td3);
        assert_eq!(mrz.document_code, "P");
        assert_eq!(mrz.issuing_country, "UTO");
        assert_eq!(mrz.issuing_country_raw, "UTO");
        assert_eq!(mrz.surname, "ERIKSSON");
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert_eq!(mrz.document_number, "L898902C3");
        assert_eq!(mrz.nationality, "UTO");
        assert_eq!(mrz.date_of_birth, Some(date!(1974 - 08 - 12)));
        assert_eq!(mrz.date_of_expiry, Some(date!(2012 - 04 - 15)));
        assert_eq!(mrz.sex, Sex::Female);
        assert_eq!(mrz.optional_data, "ZE184226B");
        assert_eq!(mrz.optional_data_2, "");
        assert_eq!(all_checks(&mrz), [MrzCheck::Valid; 5]);
        assert!(mrz.all_valid());
        assert_eq!(mrz.issuing_country_alpha2(), None);
        assert_eq!(mrz.lines, TD3);
    }

    #[test]
    fn the_icao_td2_specimen_parses_with_every_check_valid() {
        let mrz = parsed(&TD2);
        assert_eq!(mrz.format, MrzFormat::Td2);
        assert_eq!(mrz.document_code, "I");
        assert_eq!((mrz.surname.as_str(), mrz.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
        assert_eq!(mrz.document_number, "D23145890");
        assert_eq!(mrz.date_of_birth, Some(date!(1974 - 08 - 12)));
        assert_eq!(mrz.date_of_expiry, Some(date!(2012 - 04 - 15)));
        assert_eq!(mrz.optional_data, "");
        let c = mrz.checks;
        assert_eq!([c.document_number, c.date_of_birth, c.date_of_expiry, c.composite], [MrzCheck::Valid; 4]);
        assert_eq!(c.optional_data, MrzCheck::Absent);
        assert!(mrz.all_valid());
    }

    #[test]
    fn the_icao_td1_id_card_specimen_parses_with_every_check_valid() {
        let mrz = parsed(&TD1);
        assert_eq!(mrz.format, MrzFormat::Td1);
        assert_eq!(mrz.document_code, "I");
        assert_eq!(mrz.issuing_country, "UTO");
        assert_eq!(mrz.document_number, "D23145890");
        assert_eq!(mrz.nationality, "UTO");
        assert_eq!((mrz.surname.as_str(), mrz.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
        assert_eq!(mrz.date_of_birth, Some(date!(1974 - 08 - 12)));
        assert_eq!(mrz.date_of_expiry, Some(date!(2012 - 04 - 15)));
        assert_eq!(mrz.sex, Sex::Female);
        assert_eq!((mrz.optional_data.as_str(), mrz.optional_data_2.as_str()), ("", ""));
        assert_eq!(mrz.checks.composite, MrzCheck::Valid);
        assert_eq!(mrz.checks.optional_data, MrzCheck::Absent);
        assert!(mrz.all_valid());
    }

    #[test]
    fn the_icao_td1_long_document_number_example_reads_the_overflow_from_the_optional_data() {
        let lines = ["I<UTOD23145890<7349<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", TD1[2]];
        let mrz = parsed(&lines);
        assert_eq!(mrz.document_number, "D23145890734");
        assert_eq!(mrz.optional_data, "");
        assert_eq!(mrz.checks.document_number, MrzCheck::Valid);
        assert_eq!(mrz.checks.composite, MrzCheck::Valid);
        assert!(mrz.all_valid());
        // The overflow's own check digit is what proves the number.
        let bad = ["I<UTOD23145890<7348<<<<<<<<<<<", lines[1], lines[2]];
        assert_eq!(parsed(&bad).checks.document_number, MrzCheck::Invalid);
    }

    #[test]
    fn a_td2_long_document_number_overflows_into_the_line_2_optional_data() {
        let mut line2 = "D23145890<UTO7408122F1204159734".to_string();
        line2.push(check_char("D23145890734")); // 9 in the long-number example
        line2.push_str("<<<");
        let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..35]);
        line2.push(check_char(&composite));
        let mrz = parsed(&[TD2[0], &line2]);
        assert_eq!(mrz.document_number, "D23145890734");
        assert_eq!(mrz.optional_data, "");
        assert!(mrz.all_valid());
    }

    #[test]
    fn a_long_document_number_with_optional_data_after_it_round_trips_through_td1() {
        let fields = MrzFields {
            document_code: "ID".into(),
            issuing_country: "UTO".into(),
            surname: "Eriksson".into(),
            given_names: "Anna Maria".into(),
            document_number: "D23145890734".into(),
            nationality: "UTO".into(),
            date_of_birth: date!(1974 - 08 - 12),
            sex: Sex::Female,
            date_of_expiry: date!(2032 - 04 - 15),
            optional_data: "AB12".into(),
            optional_data_2: "XY9".into(),
        };
        let lines = encode_td1(&fields).unwrap();
        assert_eq!(lines[0], format!("IDUTOD23145890<7349<AB12{}", "<".repeat(6)));
        let mrz = parsed(&lines.each_ref().map(String::as_str));
        assert_eq!(mrz.document_number, "D23145890734");
        assert_eq!(mrz.optional_data, "AB12");
        assert_eq!(mrz.optional_data_2, "XY9");
        assert_eq!(mrz.document_code, "ID");
        assert!(mrz.all_valid());
    }

    #[test]
    fn the_icao_mrv_a_visa_specimen_parses_without_composite_check() {
        let mrz = parsed(&MRV_A);
        assert_eq!(mrz.format, MrzFormat::MrvA);
        assert_eq!(mrz.document_code, "V");
        assert_eq!(mrz.document_number, "L8988901C");
        assert_eq!(mrz.nationality, "XXX");
        assert_eq!(mrz.nationality_alpha2(), None);
        assert_eq!(mrz.date_of_birth, Some(date!(1940 - 09 - 07)));
        assert_eq!(mrz.date_of_expiry, Some(date!(1996 - 12 - 10)));
        assert_eq!(mrz.optional_data, "6ZE184226B");
        let c = mrz.checks;
        assert_eq!([c.document_number, c.date_of_birth, c.date_of_expiry], [MrzCheck::Valid; 3]);
        assert_eq!([c.optional_data, c.composite], [MrzCheck::Absent; 2]);
        assert!(mrz.all_valid());
    }

    #[test]
    fn the_icao_mrv_b_visa_specimen_parses_without_composite_check() {
        let mrz = parsed(&MRV_B);
        assert_eq!(mrz.format, MrzFormat::MrvB);
        assert_eq!(mrz.document_number, "L8988901C");
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert_eq!(mrz.date_of_birth, Some(date!(1940 - 09 - 07)));
        assert_eq!(mrz.optional_data, "");
        assert_eq!([mrz.checks.optional_data, mrz.checks.composite], [MrzCheck::Absent; 2]);
        assert!(mrz.all_valid());
    }

    #[test]
    fn a_german_id_card_keeps_d_as_printed_and_maps_it_to_de_with_unspecified_sex() {
        let lines = [
            "IDD<<T220001293<<<<<<<<<<<<<<<",
            "6408125<2010315D<<<<<<<<<<<<<4",
            "MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
        ];
        let mrz = parsed(&lines);
        assert_eq!(mrz.document_code, "ID");
        assert_eq!((mrz.issuing_country.as_str(), mrz.issuing_country_raw.as_str()), ("D", "D<<"));
        assert_eq!((mrz.nationality.as_str(), mrz.nationality_raw.as_str()), ("D", "D<<"));
        assert_eq!(mrz.issuing_country_alpha2(), Some("DE"));
        assert_eq!(mrz.sex, Sex::Unspecified);
        assert_eq!(mrz.document_number, "T22000129");
        assert_eq!(mrz.date_of_expiry, Some(date!(2020 - 10 - 31)));
        assert!(mrz.all_valid());
    }

    #[test]
    fn a_flipped_digit_in_each_checked_td3_field_makes_that_field_and_the_composite_invalid() {
        use MrzCheck::{Invalid, Valid};
        // (position in line 2, expected [number, birth, expiry, personal number, composite])
        let cases = [
            (1, [Invalid, Valid, Valid, Valid, Invalid]),
            (14, [Valid, Invalid, Valid, Valid, Invalid]),
            (22, [Valid, Valid, Invalid, Valid, Invalid]),
            (31, [Valid, Valid, Valid, Invalid, Invalid]),
            (43, [Valid, Valid, Valid, Valid, Invalid]),
        ];
        for (pos, expected) in cases {
            let mrz = parsed_owned(&flip(&TD3, 1, pos));
            assert_eq!(all_checks(&mrz), expected, "flipped position {pos}");
            assert!(!mrz.all_valid());
        }
    }

    #[test]
    fn a_flipped_digit_in_each_checked_td2_field_makes_that_field_and_the_composite_invalid() {
        use MrzCheck::{Absent, Invalid, Valid};
        let cases = [
            (2, [Invalid, Valid, Valid, Absent, Invalid]),
            (15, [Valid, Invalid, Valid, Absent, Invalid]),
            (25, [Valid, Valid, Invalid, Absent, Invalid]),
            (35, [Valid, Valid, Valid, Absent, Invalid]),
        ];
        for (pos, expected) in cases {
            assert_eq!(all_checks(&parsed_owned(&flip(&TD2, 1, pos))), expected, "flipped position {pos}");
        }
    }

    #[test]
    fn a_flipped_digit_in_each_checked_td1_field_makes_that_field_and_the_composite_invalid() {
        use MrzCheck::{Absent, Invalid, Valid};
        let cases = [
            (0, 7, [Invalid, Valid, Valid, Absent, Invalid]),
            (1, 3, [Valid, Invalid, Valid, Absent, Invalid]),
            (1, 12, [Valid, Valid, Invalid, Absent, Invalid]),
            (1, 29, [Valid, Valid, Valid, Absent, Invalid]),
        ];
        for (line, pos, expected) in cases {
            assert_eq!(all_checks(&parsed_owned(&flip(&TD1, line, pos))), expected, "line {line} pos {pos}");
        }
        // Optional data has no check digit of its own, but the composite covers it.
        let mut lines: Vec<String> = TD1.iter().map(|l| l.to_string()).collect();
        lines[1].replace_range(20..21, "7");
        assert_eq!(all_checks(&parsed_owned(&lines)), [Valid, Valid, Valid, Absent, Invalid]);
    }

    #[test]
    fn a_flipped_digit_in_a_visa_makes_only_that_field_invalid() {
        use MrzCheck::{Absent, Invalid, Valid};
        let mrz = parsed_owned(&flip(&MRV_A, 1, 16));
        assert_eq!(all_checks(&mrz), [Valid, Invalid, Valid, Absent, Absent]);
        assert!(!mrz.all_valid());
        let mrz = parsed_owned(&flip(&MRV_B, 1, 3));
        assert_eq!(all_checks(&mrz), [Invalid, Valid, Valid, Absent, Absent]);
    }

    #[test]
    fn an_mrz_embedded_in_noisy_lower_case_ocr_text_with_spaces_is_found() {
        let text =
            "REPUBLIC OF UTOPIA\n  Passport / Passeport\nSurname: Eriksson\nGiven names: Anna Maria\n\n\
            p<utoeriksson<<anna<maria<<<< <<<<<<<<<<<<<<<\n\
            \n\
            l898902c36 uto7408122f1204159ze184226b<<<<<10 \n\
            signature of bearer\n";
        let mrz = parse(text, TODAY).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td3);
        assert_eq!(mrz.document_number, "L898902C3");
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert!(mrz.all_valid());
        assert_eq!(find(text, TODAY), Some(mrz));
    }

    #[test]
    fn guillemets_and_ocr_letter_digit_confusions_are_repaired_only_where_the_position_is_unambiguous() {
        // `«` for one filler, `«` for two, `O` for `0` in a date, `1` for `I` in the country code.
        let text =
            "I«UTOD231458907«««««««««««««««\n74O8122F12O4159UT0<<<<<<<<<<<6\nERIKSSON«ANNA<MARIA«««««\n";
        let mrz = parse(text, TODAY).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td1);
        assert_eq!(mrz.nationality, "UTO");
        assert_eq!(mrz.date_of_birth, Some(date!(1974 - 08 - 12)));
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert!(mrz.all_valid());
        assert_eq!(mrz.lines, TD1);
        // The document number mixes letters and digits: an `O` there is left alone and caught.
        let text = TD3.join("\n").replacen("L898902C3", "L8989O2C3", 1);
        assert_eq!(parse(&text, TODAY).unwrap().checks.document_number, MrzCheck::Invalid);
    }

    #[test]
    fn an_mrz_whose_line_breaks_were_lost_is_split_into_its_lines() {
        let mrz = parse(&format!("machine readable zone:\n{} {}", TD3[0], TD3[1]), TODAY).unwrap();
        assert_eq!(mrz.lines, TD3);
        assert!(mrz.all_valid());
    }

    #[test]
    fn the_candidate_with_valid_check_digits_wins_over_mrz_shaped_noise() {
        let noise = "X".repeat(44);
        let text = format!("{noise}\n{}\n{}\n{noise}", TD3[0], TD3[1]);
        let mrz = parse(&text, TODAY).unwrap();
        assert_eq!(mrz.lines, TD3);
    }

    #[test]
    fn text_without_an_mrz_is_not_found_and_bad_lines_are_named() {
        assert_eq!(parse("hello\nworld", TODAY), Err(MrzError::NotFound));
        assert_eq!(find("", TODAY), None);
        assert_eq!(parse(TD3[0], TODAY), Err(MrzError::NotFound));
        assert_eq!(
            parse_lines(&[TD3[0], &TD3[1][..40]], TODAY),
            Err(MrzError::UnsupportedShape { lengths: vec![44, 40] })
        );
        let bad = TD3[1].replacen('F', "#", 1);
        assert_eq!(
            parse_lines(&[TD3[0], &bad], TODAY),
            Err(MrzError::InvalidCharacter { line: 2, position: 21, found: '#' })
        );
    }

    #[test]
    fn birth_years_resolve_to_the_most_recent_past_year() {
        let today = date!(2025 - 06 - 15);
        assert_eq!(resolve_birth_date("250615", today), Some(date!(2025 - 06 - 15)));
        assert_eq!(resolve_birth_date("250616", today), Some(date!(1925 - 06 - 16)));
        assert_eq!(resolve_birth_date("000101", today), Some(date!(2000 - 01 - 01)));
        assert_eq!(resolve_birth_date("991231", today), Some(date!(1999 - 12 - 31)));
        assert_eq!(resolve_birth_date("240229", today), Some(date!(2024 - 02 - 29)));
        // 2000 was a leap year and 1900 was not; 2100 will not be one.
        assert_eq!(resolve_birth_date("000229", date!(1999 - 12 - 31)), None);
        assert_eq!(resolve_birth_date("000229", date!(2100 - 03 - 01)), Some(date!(2000 - 02 - 29)));
        assert_eq!(resolve_birth_date("250229", today), None);
        assert_eq!(resolve_birth_date("741332", today), None);
        assert_eq!(resolve_birth_date("740012", today), None);
        assert_eq!(resolve_birth_date("74<<<<", today), None);
    }

    #[test]
    fn expiry_years_resolve_into_a_window_of_fifty_years_back_and_forty_nine_ahead() {
        let today = date!(2025 - 06 - 15);
        assert_eq!(resolve_expiry_date("740101", today), Some(date!(2074 - 01 - 01)));
        assert_eq!(resolve_expiry_date("750101", today), Some(date!(1975 - 01 - 01)));
        assert_eq!(resolve_expiry_date("991231", today), Some(date!(1999 - 12 - 31)));
        assert_eq!(resolve_expiry_date("000101", today), Some(date!(2000 - 01 - 01)));
        assert_eq!(resolve_expiry_date("350615", today), Some(date!(2035 - 06 - 15)));
        assert_eq!(resolve_expiry_date("050101", date!(2060 - 01 - 01)), Some(date!(2105 - 01 - 01)));
        assert_eq!(resolve_expiry_date("290229", today), None);
        assert_eq!(resolve_expiry_date("<<<<<<", today), None);
    }

    #[test]
    fn an_impossible_date_with_a_matching_check_digit_is_none_and_invalid() {
        // 30 February 1974 with its correct check digit, and the composite recomputed.
        let fields = MrzFields {
            document_code: "P".into(),
            issuing_country: "UTO".into(),
            surname: "ERIKSSON".into(),
            given_names: "ANNA".into(),
            document_number: "L898902C3".into(),
            nationality: "UTO".into(),
            date_of_birth: date!(1974 - 02 - 28),
            sex: Sex::Female,
            date_of_expiry: date!(2030 - 01 - 01),
            optional_data: String::new(),
            optional_data_2: String::new(),
        };
        let [line1, line2] = encode_td3(&fields).unwrap();
        let dob = "740230";
        let mut line2 = format!("{}{dob}{}{}", &line2[..13], check_char(dob), &line2[20..43]);
        let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..43]);
        line2.push(check_char(&composite));
        let mrz = parsed(&[&line1, &line2]);
        assert_eq!(mrz.date_of_birth, None);
        assert_eq!(mrz.checks.date_of_birth, MrzCheck::Invalid);
        assert_eq!(mrz.checks.composite, MrzCheck::Valid);
        assert!(!mrz.all_valid());
    }

    #[test]
    fn unknown_dates_and_an_unused_personal_number_are_absent() {
        // Birth date unknown (fillers, check digit 0), no expiry date, personal number unused.
        let mut line2 = format!("L898902C36UTO<<<<<<0F{}", "<".repeat(22));
        let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..43]);
        line2.push(check_char(&composite));
        let mrz = parsed(&[TD3[0], &line2]);
        assert_eq!((mrz.date_of_birth, mrz.date_of_expiry), (None, None));
        let c = mrz.checks;
        assert_eq!([c.date_of_birth, c.date_of_expiry, c.optional_data], [MrzCheck::Absent; 3]);
        assert_eq!([c.document_number, c.composite], [MrzCheck::Valid; 2]);
        assert!(!mrz.all_valid(), "an unproven birth date is not all valid");
    }

    #[test]
    fn the_evidence_and_dates_serialise_as_snake_case_and_iso_dates() {
        let json = serde_json::to_value(parsed(&TD3)).unwrap();
        assert_eq!(json["format"], "td3");
        assert_eq!(json["sex"], "F");
        assert_eq!(json["date_of_birth"], "1974-08-12");
        assert_eq!(json["date_of_expiry"], "2012-04-15");
        assert_eq!(json["checks"]["document_number"], "valid");
        assert!(json.get("lines").is_none());
        let json = serde_json::to_value(parsed(&MRV_B)).unwrap();
        assert_eq!(json["format"], "mrv_b");
        assert_eq!(json["checks"]["composite"], "absent");
        assert_eq!(serde_json::to_value(MrzCheck::Invalid).unwrap(), "invalid");
    }

    #[test]
    fn alpha2_maps_every_iso_alpha3_code_and_the_icao_specials() {
        let mut alpha2s: Vec<&str> = ISO_ALPHA3.iter().map(|(_, a2)| *a2).collect();
        assert!(ISO_ALPHA3.windows(2).all(|w| w[0].0 < w[1].0), "sorted for binary search");
        assert!(alpha2s.iter().all(|a2| crate::domain::countries::is_country_code(a2)));
        alpha2s.sort_unstable();
        alpha2s.dedup();
        assert_eq!(alpha2s.len(), 249);
        for (a3, a2) in ISO_ALPHA3 {
            assert_eq!(alpha2(a3), Some(a2));
        }
        assert_eq!(alpha2("D"), Some("DE"));
        assert_eq!(alpha2("D<<"), Some("DE"));
        assert_eq!(alpha2("deu"), Some("DE"));
        for gb in ["GBR", "GBD", "GBN", "GBO", "GBP", "GBS"] {
            assert_eq!(alpha2(gb), Some("GB"));
        }
        assert_eq!(alpha2("RKS"), Some("XK"));
        for none in ["UTO", "XXA", "XXX", "UNO", "EUE", "", "<<<", "ZZZ"] {
            assert_eq!(alpha2(none), None, "{none}");
        }
    }

    #[test]
    fn the_encoder_reproduces_the_td3_specimen_and_rejects_what_it_cannot_print() {
        let mut fields = MrzFields {
            document_code: "P".into(),
            issuing_country: "UTO".into(),
            surname: "Eriksson".into(),
            given_names: "Anna Maria".into(),
            document_number: "L898902C3".into(),
            nationality: "UTO".into(),
            date_of_birth: date!(1974 - 08 - 12),
            sex: Sex::Female,
            date_of_expiry: date!(2012 - 04 - 15),
            optional_data: "ZE184226B".into(),
            optional_data_2: String::new(),
        };
        assert_eq!(encode_td3(&fields).unwrap(), TD3);
        fields.surname = "O'Brien-Smith".into();
        assert!(encode_td3(&fields).unwrap()[0].starts_with("P<UTOOBRIEN<SMITH<<ANNA<MARIA<<"));
        fields.document_number = "L898902C36".into();
        assert!(matches!(encode_td3(&fields), Err(MrzError::Encode { field: "document number", .. })));
        fields.document_number = "L898902C3".into();
        fields.surname = "Müller".into();
        assert!(matches!(encode_td3(&fields), Err(MrzError::Encode { field: "name", .. })));
        fields.surname = "A".repeat(50);
        assert_eq!(encode_td3(&fields).unwrap()[0], format!("P<UTO{}", "A".repeat(39)));
    }

    fn day(julian: i32) -> Date {
        Date::from_julian_day(julian).unwrap()
    }

    prop_compose! {
        fn td3_case()(
            today in date!(2000 - 01 - 01).to_julian_day()..=date!(2090 - 12 - 31).to_julian_day(),
            age in 0..=99 * 365,
            expiry in -50 * 365..=49 * 365,
            code in "P[A-Z]?",
            issuer in "[A-Z]{1,3}",
            nationality in "[A-Z]{1,3}",
            surname in "[A-Z]{1,10}( [A-Z]{1,6})?",
            given_names in "([A-Z]{1,8}( [A-Z]{1,6})?)?",
            number in "[A-Z0-9]{1,9}",
            sex in prop_oneof![Just(Sex::Male), Just(Sex::Female), Just(Sex::Unspecified)],
            optional_data in "[A-Z0-9]{0,14}",
        ) -> (Date, MrzFields) {
            (day(today), MrzFields {
                document_code: code,
                issuing_country: issuer,
                surname,
                given_names,
                document_number: number,
                nationality,
                date_of_birth: day(today - age),
                sex,
                date_of_expiry: day(today + expiry),
                optional_data,
                optional_data_2: String::new(),
            })
        }
    }

    fn assert_round_trip(mrz: &Mrz, fields: &MrzFields) {
        assert_eq!(mrz.document_code, fields.document_code.trim_end_matches('<'));
        assert_eq!(mrz.issuing_country, fields.issuing_country);
        assert_eq!(mrz.surname, fields.surname);
        assert_eq!(mrz.given_names, fields.given_names);
        assert_eq!(mrz.document_number, fields.document_number);
        assert_eq!(mrz.nationality, fields.nationality);
        assert_eq!(mrz.date_of_birth, Some(fields.date_of_birth));
        assert_eq!(mrz.date_of_expiry, Some(fields.date_of_expiry));
        assert_eq!(mrz.sex, fields.sex);
        assert_eq!(mrz.optional_data, fields.optional_data);
        assert!(mrz.all_valid());
    }

    proptest! {
        #[test]
        fn random_valid_td3_fields_survive_encode_and_parse_with_every_check_valid((today, fields) in td3_case()) {
            let lines = encode_td3(&fields).unwrap();
            prop_assert!(lines.iter().all(|l| l.len() == 44));
            let mrz = parse(&lines.join("\n"), today).unwrap();
            prop_assert_eq!(mrz.format, MrzFormat::Td3);
            assert_round_trip(&mrz, &fields);
            let expected_optional =
                if fields.optional_data.is_empty() { MrzCheck::Absent } else { MrzCheck::Valid };
            prop_assert_eq!(
                all_checks(&mrz),
                [MrzCheck::Valid, MrzCheck::Valid, MrzCheck::Valid, expected_optional, MrzCheck::Valid]
            );
        }

        #[test]
        fn random_valid_td1_fields_survive_encode_and_parse_including_long_numbers(
            (today, mut fields) in td3_case(),
            number in "[A-Z0-9]{1,14}",
            optional_data in "[A-Z0-9]{0,8}",
            optional_data_2 in "[A-Z0-9]{0,11}",
            given_names in "([A-Z]{1,6}( [A-Z]{1,4})?)?",
        ) {
            fields.document_code = "I".into();
            fields.document_number = number;
            fields.optional_data = optional_data;
            fields.optional_data_2 = optional_data_2;
            fields.given_names = given_names;
            let lines = encode_td1(&fields).unwrap();
            prop_assert!(lines.iter().all(|l| l.len() == 30));
            let mrz = parse(&lines.join("\n"), today).unwrap();
            prop_assert_eq!(mrz.format, MrzFormat::Td1);
            assert_round_trip(&mrz, &fields);
            prop_assert_eq!(&mrz.optional_data_2, &fields.optional_data_2);
            prop_assert_eq!(mrz.checks.composite, MrzCheck::Valid);
        }
    }
}
