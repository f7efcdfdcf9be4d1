//! Data read from an identity document, with per-field confidence and, where the document has a
//! machine-readable zone, the evidence of its check digits.

use super::mrz::{Mrz, MrzCheck};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kinds of identity document that can be extracted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Passport,
    IdCard,
    DriverLicense,
    ResidencePermit,
    Visa,
}

impl DocumentKind {
    /// Parses the `document_type` of an extract request.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

/// Where a result came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExtractionSource {
    /// The PDF's own text layer, parsed locally.
    PdfTextLayer,
    /// Amazon Textract (AnalyzeID and/or DetectDocumentText).
    Textract,
    /// A test-mode sandbox answer: not read from the document.
    Sandbox,
}

/// The fields of the contract's `extracted_data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtractedData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// As printed (ICAO alpha-3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality_alpha3: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    /// `M`, `F` or `X`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_kind: Option<DocumentKind>,
}

/// Which fields the document's own check digits prove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MrzEvidence {
    pub document_number: String,
    pub date_of_birth: String,
    pub date_of_expiry: String,
    pub optional_data: String,
    pub composite: String,
}

/// One extraction result, as stored on the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Extraction {
    pub extracted_data: ExtractedData,
    /// 0–1 per field, plus `overall`.
    pub confidence_scores: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrz_check: Option<MrzEvidence>,
    pub source: ExtractionSource,
    /// OCR values that a valid MRZ overruled (tenant view): field → value read by OCR.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overruled_ocr_values: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted_at: Option<Timestamp>,
}

fn check_name(check: MrzCheck) -> String {
    match check {
        MrzCheck::Valid => "valid",
        MrzCheck::Invalid => "invalid",
        MrzCheck::Absent => "absent",
    }
    .into()
}

/// Confidence of a field by what its check digit says.
fn confidence(check: MrzCheck) -> f64 {
    match check {
        MrzCheck::Valid => 0.99,
        MrzCheck::Absent => 0.85,
        MrzCheck::Invalid => 0.3,
    }
}

impl Extraction {
    /// The fields an MRZ holds, with confidence from its check digits: a field its check digit
    /// proves scores 0.99, one without a check digit (names, nationality, sex) scores 0.9 when
    /// the composite check holds and 0.8 otherwise, a failed check scores 0.3.
    pub fn from_mrz(mrz: &Mrz, kind: Option<DocumentKind>, source: ExtractionSource) -> Self {
        let checks = &mrz.checks;
        let unchecked = if checks.composite == MrzCheck::Valid { 0.9 } else { 0.8 };
        let name = [mrz.given_names.as_str(), mrz.surname.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let sex = serde_json::to_value(mrz.sex).ok().and_then(|v| v.as_str().map(str::to_owned));
        let data = ExtractedData {
            full_name: (!name.is_empty()).then_some(name),
            first_name: (!mrz.given_names.is_empty()).then(|| mrz.given_names.clone()),
            last_name: (!mrz.surname.is_empty()).then(|| mrz.surname.clone()),
            document_number: Some(mrz.document_number.clone()),
            date_of_birth: mrz.date_of_birth.map(|d| d.to_string()),
            nationality: mrz.nationality_alpha2().map(str::to_owned),
            nationality_alpha3: (!mrz.nationality.is_empty()).then(|| mrz.nationality.clone()),
            expiry_date: mrz.date_of_expiry.map(|d| d.to_string()),
            gender: sex,
            issuing_country: mrz.issuing_country_alpha2().map(str::to_owned),
            document_kind: kind,
        };
        let mut scores = BTreeMap::new();
        for (field, score) in [
            ("full_name", unchecked),
            ("document_number", confidence(checks.document_number)),
            ("date_of_birth", confidence(checks.date_of_birth)),
            ("expiry_date", confidence(checks.date_of_expiry)),
            ("nationality", unchecked),
            ("gender", unchecked),
        ] {
            scores.insert(field.to_owned(), score);
        }
        let overall = scores.values().sum::<f64>() / scores.len() as f64;
        scores.insert("overall".into(), (overall * 100.0).round() / 100.0);
        Self {
            extracted_data: data,
            confidence_scores: scores,
            mrz_check: Some(MrzEvidence {
                document_number: check_name(checks.document_number),
                date_of_birth: check_name(checks.date_of_birth),
                date_of_expiry: check_name(checks.date_of_expiry),
                optional_data: check_name(checks.optional_data),
                composite: check_name(checks.composite),
            }),
            source,
            overruled_ocr_values: BTreeMap::new(),
            extracted_at: None,
        }
    }
}
