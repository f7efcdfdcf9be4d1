//! Document extraction with Amazon Textract, reading the document straight from the documents
//! bucket (`Document { S3Object }`): no document bytes pass through the function.
//!
//! # Strategy and cost
//!
//! Textract bills per page, and its two useful APIs differ by more than an order of magnitude.
//! Approximate on-demand list prices of the lowest-volume tier in us-east-1 as remembered at the
//! time of writing, not checked against the live pricing page (check it for your region and
//! volume before relying on them; higher tiers are cheaper):
//!
//! | API | ≈ per page | used for |
//! | --- | --- | --- |
//! | `DetectDocumentText` | $0.0015 | every passport, ID card, residence permit and visa |
//! | `AnalyzeID` | $0.025 | driver licences, and documents whose text holds no valid MRZ |
//!
//! 1. **Passports, ID cards, residence permits, visas** carry an ICAO 9303 machine-readable
//!    zone whose check digits prove the document number and dates. `DetectDocumentText` reads
//!    the page's text; its `LINE` blocks go to [`mrz::find`]. When the MRZ found has every
//!    check digit valid ([`Mrz::all_valid`]), the result is built from it alone
//!    ([`Extraction::from_mrz`]): **≈ $0.0015 per document**.
//! 2. **Driver licences** (US-centric, usually without an MRZ) go straight to `AnalyzeID`:
//!    **≈ $0.025 per document**. Any other document whose text held no MRZ, or one with failing
//!    check digits, goes on to `AnalyzeID` after `DetectDocumentText`: **≈ $0.0265 per
//!    document**.
//! 3. `AnalyzeID`'s normalised fields (`FIRST_NAME`, `MIDDLE_NAME`, `LAST_NAME`, `SUFFIX`,
//!    `DOCUMENT_NUMBER`, `DATE_OF_BIRTH`, `EXPIRATION_DATE`, `ID_TYPE`, `STATE_NAME`,
//!    `MRZ_CODE`, …) become [`ExtractedData`]. Dates come from Textract's `NormalizedValue`
//!    (`1974-08-12T00:00:00`) when present, else from the printed `MM/DD/YYYY`. Confidences
//!    (0–100) become 0–1; `overall` is their mean. AnalyzeID has no country field: a driver
//!    licence (its `ID_TYPE`, or a `STATE_NAME`) is reported as issued in the US, since AnalyzeID
//!    reads US documents only; other issuing countries come from an MRZ.
//! 4. When `AnalyzeID` returns an `MRZ_CODE` (or the text of step 1 held an MRZ), the MRZ is
//!    cross-checked against the OCR fields: a document number, birth or expiry date whose check
//!    digit is valid overrules a disagreeing OCR value, which is kept in
//!    [`Extraction::overruled_ocr_values`]; fields only the MRZ holds (nationality, sex, issuing
//!    state) fill gaps; the check-digit evidence goes into [`Extraction::mrz_check`]. Names are
//!    never overruled: the MRZ transliterates and truncates them, the printed name is better.
//!
//! A page on which `DetectDocumentText` reads no text at all stops there (no `AnalyzeID` call):
//! there is nothing to analyse. Only when every step has read nothing is the document
//! [`ExtractionError::Unreadable`]; an MRZ with failing check digits and nothing else is still
//! returned, its evidence saying what failed.
//!
//! # Errors
//!
//! SDK and service failures (credentials, permissions, an unreachable endpoint, a response that
//! does not parse, `InvalidS3ObjectException`, throttling that outlasts the retries) are
//! [`ExtractionError::Provider`]: the service answers a 502 `EXTRACTION_FAILED`. Throttling
//! (`ThrottlingException`, `ProvisionedThroughputExceededException`, `LimitExceededException`)
//! and 5xx answers are retried by the SDK's standard retry strategy (3 attempts, exponential
//! backoff with jitter); [`textract_client`] makes sure it is on. Three service answers are about
//! the document itself, which retrying cannot fix, and are [`ExtractionError::Unreadable`]
//! with a message for the end user: `UnsupportedDocumentException` (not JPEG, PNG, TIFF or a
//! single-page PDF), `BadDocumentException` and `DocumentTooLargeException`. HEIC and WebP
//! uploads are refused the same way before any call, since Textract cannot read them.
//!
//! # Deployment
//!
//! Textract reads the object with the caller's credentials: the function's role needs
//! `textract:DetectDocumentText`, `textract:AnalyzeID` and `s3:GetObject` on the documents
//! bucket (plus `kms:Decrypt` for an SSE-KMS bucket), and the bucket must be in the client's
//! region. The synchronous APIs read images and PDFs of at most 10 MB from S3, PDFs of one page
//! only. `AnalyzeID` is offered in fewer regions than `DetectDocumentText`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use anyhow::anyhow;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_textract::config::retry::RetryConfig;
use aws_sdk_textract::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_textract::types::{BlockType, Document, IdentityDocument, S3Object, ValueType};
use aws_sdk_textract::Client;
use kyc_core::domain::extraction::{DocumentKind, ExtractedData, Extraction, ExtractionSource};
use kyc_core::domain::files::FileKind;
use kyc_core::domain::mrz::{self, Mrz};
use kyc_core::ports::extractor::{ExtractionError, ExtractionRequest, Extractor};

/// What the end user reads when nothing could be extracted.
const NOTHING_READ: &str = "No identity data could be read from this document";

/// A Textract client from the shared AWS configuration, with the SDK's standard retry strategy
/// (3 attempts, exponential backoff with jitter; throttling and 5xx answers are retried) unless
/// the configuration names a retry policy of its own (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`).
pub fn textract_client(shared: &SdkConfig) -> Client {
    let mut config = aws_sdk_textract::config::Builder::from(shared);
    if shared.retry_config().is_none() {
        config = config.retry_config(RetryConfig::standard());
    }
    Client::from_conf(config.build())
}

/// The [`Extractor`] of live-mode sessions on AWS; see the module docs for the strategy.
///
/// Cloning is cheap and shares the SDK client.
#[derive(Clone)]
pub struct TextractExtractor {
    client: Client,
    bucket: Arc<str>,
}

impl fmt::Debug for TextractExtractor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextractExtractor").field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

impl TextractExtractor {
    /// Reads documents from `bucket` (the documents bucket whose object keys the
    /// [`ExtractionRequest`]s name) through `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: Arc::from(bucket.into()) }
    }

    /// [`TextractExtractor::new`] with a [`textract_client`] built from `shared`.
    pub fn from_sdk_config(shared: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self::new(textract_client(shared), bucket)
    }

    fn document(&self, key: &str) -> Document {
        Document::builder()
            .s3_object(S3Object::builder().bucket(self.bucket.as_ref()).name(key).build())
            .build()
    }

    /// The text lines `DetectDocumentText` reads, in reading order.
    async fn detect_lines(&self, key: &str) -> Result<Vec<String>, ExtractionError> {
        let output = self
            .client
            .detect_document_text()
            .document(self.document(key))
            .send()
            .await
            .map_err(|e| service_error("DetectDocumentText", e))?;
        Ok(output
            .blocks()
            .iter()
            .filter(|block| block.block_type() == Some(&BlockType::Line))
            .filter_map(|block| block.text())
            .filter(|text| !text.trim().is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// The normalised fields of the identity document `AnalyzeID` reads best (empty when it
    /// reads none).
    async fn analyze_id(&self, key: &str) -> Result<Fields, ExtractionError> {
        let output = self
            .client
            .analyze_id()
            .document_pages(self.document(key))
            .send()
            .await
            .map_err(|e| service_error("AnalyzeID", e))?;
        Ok(output.identity_documents().iter().map(fields).max_by_key(HashMap::len).unwrap_or_default())
    }
}

#[async_trait]
impl Extractor for TextractExtractor {
    async fn extract(&self, request: &ExtractionRequest) -> Result<Extraction, ExtractionError> {
        match FileKind::from_mime(&request.mime_type) {
            Some(FileKind::Jpeg | FileKind::Png | FileKind::Pdf) => {}
            _ => {
                return Err(ExtractionError::Unreadable(
                    "Automatic extraction reads JPEG, PNG and single-page PDF documents; upload one of those"
                        .into(),
                ))
            }
        }
        let kind = request.kind;
        let mut text_mrz = None;
        if kind != DocumentKind::DriverLicense {
            let lines = self.detect_lines(&request.object_key).await?;
            if lines.is_empty() {
                tracing::info!(calls = "DetectDocumentText", "textract read no text");
                return Err(ExtractionError::Unreadable(NOTHING_READ.into()));
            }
            if let Some(found) = mrz::find(&lines.join("\n"), request.today) {
                if found.all_valid() {
                    tracing::info!(calls = "DetectDocumentText", "textract read a valid MRZ");
                    return Ok(Extraction::from_mrz(&found, Some(kind), ExtractionSource::Textract));
                }
                text_mrz = Some(found);
            }
        }
        let fields = self.analyze_id(&request.object_key).await?;
        let calls =
            if kind == DocumentKind::DriverLicense { "AnalyzeID" } else { "DetectDocumentText+AnalyzeID" };
        tracing::info!(calls, fields = fields.len(), "textract analysed an identity document");
        let id_mrz = fields.get("MRZ_CODE").and_then(|field| mrz::find(&field.text, request.today));
        let best_mrz = [id_mrz, text_mrz].into_iter().flatten().max_by_key(|mrz| mrz.checks.score());
        let mut extraction = from_fields(&fields, kind);
        if let Some(found) = &best_mrz {
            cross_check(&mut extraction, found, kind);
        }
        let data = &extraction.extracted_data;
        let read_something = [
            &data.first_name,
            &data.last_name,
            &data.document_number,
            &data.date_of_birth,
            &data.expiry_date,
        ]
        .iter()
        .any(|value| value.is_some());
        if !read_something {
            return Err(ExtractionError::Unreadable(NOTHING_READ.into()));
        }
        set_overall(&mut extraction.confidence_scores);
        Ok(extraction)
    }
}

/// Textract's answer for the document itself, or a provider failure.
fn service_error<E, R>(operation: &str, error: SdkError<E, R>) -> ExtractionError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let unreadable = match error.code() {
        Some("UnsupportedDocumentException") => {
            "The document's format cannot be read automatically; upload a JPEG, PNG or single-page PDF"
        }
        Some("BadDocumentException") => {
            "The document could not be read; upload a sharper, uncropped photo or scan"
        }
        Some("DocumentTooLargeException") => {
            "The document is too large to read automatically; upload a file under 10 MB"
        }
        _ => {
            return ExtractionError::Provider(anyhow!(
                "Textract {operation}: {}",
                DisplayErrorContext(&error)
            ))
        }
    };
    tracing::info!(operation, code = error.code(), "textract refused the document");
    ExtractionError::Unreadable(unreadable.into())
}

/// One normalised `AnalyzeID` field.
#[derive(Clone, Debug)]
struct Field {
    text: String,
    /// `NormalizedValue.Value` of a date field.
    normalized_date: Option<String>,
    /// 0–1.
    confidence: f64,
}

/// Non-empty fields by normalised type (`FIRST_NAME`, …).
type Fields = HashMap<String, Field>;

fn fields(document: &IdentityDocument) -> Fields {
    let mut out = Fields::new();
    for field in document.identity_document_fields() {
        let (Some(kind), Some(value)) = (field.r#type(), field.value_detection()) else { continue };
        let text = value.text().trim();
        if text.is_empty() {
            continue;
        }
        // The documentation's examples also show the readable form ("first name").
        let name = kind.text().trim().to_ascii_uppercase().replace(' ', "_");
        let normalized_date = value
            .normalized_value()
            .filter(|normalized| normalized.value_type() == Some(&ValueType::Date))
            .and_then(|normalized| normalized.value())
            .map(str::to_owned);
        let confidence = value.confidence().map_or(0.0, |c| round4(f64::from(c) / 100.0));
        out.insert(name, Field { text: text.to_owned(), normalized_date, confidence });
    }
    out
}

fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// `YYYY-MM-DD` from a Textract normalised date (`1974-08-12T00:00:00`) or a printed
/// `MM/DD/YYYY` (also `MM-DD-YYYY`).
fn date(field: &Field) -> Option<String> {
    let valid = |year: i32, month: u8, day: u8| {
        let month = time::Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, month, day).ok().map(|d| d.to_string())
    };
    if let Some(day) = field.normalized_date.as_deref().and_then(|value| value.get(..10)) {
        let mut parts = day.split('-');
        if let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) {
            if let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) {
                if let Some(date) = valid(y, m, d) {
                    return Some(date);
                }
            }
        }
    }
    let parts: Vec<&str> = field.text.split(['/', '-']).map(str::trim).collect();
    let [m, d, y] = parts.as_slice() else { return None };
    if y.len() != 4 {
        return None;
    }
    valid(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// The extraction the OCR fields alone give.
fn from_fields(fields: &Fields, kind: DocumentKind) -> Extraction {
    let text = |name: &str| fields.get(name).map(|f| f.text.clone());
    let score = |name: &str| fields.get(name).map(|f| f.confidence);
    let mut scores = BTreeMap::new();
    let name_parts: Vec<&Field> =
        ["FIRST_NAME", "MIDDLE_NAME", "LAST_NAME", "SUFFIX"].iter().filter_map(|n| fields.get(*n)).collect();
    let full_name = (!name_parts.is_empty())
        .then(|| name_parts.iter().map(|f| f.text.as_str()).collect::<Vec<_>>().join(" "));
    if full_name.is_some() {
        let lowest = name_parts.iter().map(|f| f.confidence).fold(1.0, f64::min);
        scores.insert("full_name".to_owned(), lowest);
    }
    let date_of_birth = fields.get("DATE_OF_BIRTH").and_then(date);
    let expiry_date = fields.get("EXPIRATION_DATE").and_then(date);
    for (key, present, source) in [
        ("document_number", fields.contains_key("DOCUMENT_NUMBER"), "DOCUMENT_NUMBER"),
        ("date_of_birth", date_of_birth.is_some(), "DATE_OF_BIRTH"),
        ("expiry_date", expiry_date.is_some(), "EXPIRATION_DATE"),
    ] {
        if let (true, Some(confidence)) = (present, score(source)) {
            scores.insert(key.to_owned(), confidence);
        }
    }
    let id_type = text("ID_TYPE").unwrap_or_default().to_ascii_uppercase();
    let us_licence = id_type.contains("DRIVER") || fields.contains_key("STATE_NAME");
    let data = ExtractedData {
        full_name,
        first_name: text("FIRST_NAME"),
        last_name: text("LAST_NAME"),
        document_number: text("DOCUMENT_NUMBER"),
        date_of_birth,
        expiry_date,
        issuing_country: us_licence.then(|| "US".to_owned()),
        document_kind: Some(kind),
        ..ExtractedData::default()
    };
    Extraction {
        extracted_data: data,
        confidence_scores: scores,
        mrz_check: None,
        source: ExtractionSource::Textract,
        overruled_ocr_values: BTreeMap::new(),
        extracted_at: None,
    }
}

/// Only letters and digits, upper case: how document numbers are compared.
fn comparable(value: &str) -> String {
    value.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// Merges what an MRZ proves into the OCR extraction (see the module docs).
fn cross_check(extraction: &mut Extraction, found: &Mrz, kind: DocumentKind) {
    let from_mrz = Extraction::from_mrz(found, Some(kind), ExtractionSource::Textract);
    let mrz_data = from_mrz.extracted_data;
    let mrz_scores = from_mrz.confidence_scores;
    let data = &mut extraction.extracted_data;
    let scores = &mut extraction.confidence_scores;
    let checks = found.checks;
    for (key, check, ocr, mrz_value) in [
        ("document_number", checks.document_number, &mut data.document_number, mrz_data.document_number),
        ("date_of_birth", checks.date_of_birth, &mut data.date_of_birth, mrz_data.date_of_birth),
        ("expiry_date", checks.date_of_expiry, &mut data.expiry_date, mrz_data.expiry_date),
    ] {
        let Some(mrz_value) = mrz_value else { continue };
        let mrz_score = mrz_scores.get(key).copied().unwrap_or_default();
        match ocr.take() {
            None => {
                *ocr = Some(mrz_value);
                scores.insert(key.to_owned(), mrz_score);
            }
            Some(read) if !check.is_valid() => *ocr = Some(read),
            Some(read) if comparable(&read) == comparable(&mrz_value) => {
                *ocr = Some(read);
                let score = scores.get(key).copied().unwrap_or_default().max(mrz_score);
                scores.insert(key.to_owned(), score);
            }
            Some(read) => {
                extraction.overruled_ocr_values.insert(key.to_owned(), read);
                *ocr = Some(mrz_value);
                scores.insert(key.to_owned(), mrz_score);
            }
        }
    }
    let fill = |slot: &mut Option<String>, value: Option<String>| {
        if slot.is_none() {
            *slot = value;
        }
    };
    if data.full_name.is_none() && mrz_data.full_name.is_some() {
        data.full_name = mrz_data.full_name;
        data.first_name = mrz_data.first_name;
        data.last_name = mrz_data.last_name;
        if let Some(score) = mrz_scores.get("full_name") {
            scores.insert("full_name".to_owned(), *score);
        }
    }
    for key in ["nationality", "gender"] {
        if let Some(score) = mrz_scores.get(key) {
            scores.entry(key.to_owned()).or_insert(*score);
        }
    }
    fill(&mut data.nationality, mrz_data.nationality);
    fill(&mut data.nationality_alpha3, mrz_data.nationality_alpha3);
    fill(&mut data.gender, mrz_data.gender);
    // A US driver licence's "US" is inferred; an issuing state the MRZ prints is read.
    if mrz_data.issuing_country.is_some() {
        data.issuing_country = mrz_data.issuing_country;
    }
    extraction.mrz_check = from_mrz.mrz_check;
}

/// Sets `overall` to the mean of the field scores, to two decimals as [`Extraction::from_mrz`]
/// does.
fn set_overall(scores: &mut BTreeMap<String, f64>) {
    scores.remove("overall");
    if scores.is_empty() {
        return;
    }
    let mean = scores.values().sum::<f64>() / scores.len() as f64;
    scores.insert("overall".to_owned(), (mean * 100.0).round() / 100.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str, normalized: Option<&str>) -> Field {
        Field { text: text.into(), normalized_date: normalized.map(str::to_owned), confidence: 0.9 }
    }

    #[test]
    fn dates_prefer_the_normalised_value_and_fall_back_to_us_order() {
        assert_eq!(date(&field("08/12/1974", Some("1974-08-12T00:00:00"))).as_deref(), Some("1974-08-12"));
        assert_eq!(date(&field("08/12/1974", None)).as_deref(), Some("1974-08-12"));
        assert_eq!(date(&field("08-12-1974", Some("garbage"))).as_deref(), Some("1974-08-12"));
        assert_eq!(date(&field("02/30/1974", None)), None);
        assert_eq!(date(&field("12 AUG 1974", None)), None);
        assert_eq!(date(&field("08/12/74", None)), None);
    }

    #[test]
    fn overall_is_the_rounded_mean_of_the_fields() {
        let mut scores =
            BTreeMap::from([("a".to_owned(), 0.9), ("b".to_owned(), 0.8), ("overall".into(), 0.1)]);
        set_overall(&mut scores);
        assert_eq!(scores["overall"], 0.85);
        let mut empty = BTreeMap::new();
        set_overall(&mut empty);
        assert!(empty.is_empty());
    }
}
