//! [`TextractExtractor`] against recorded Textract HTTP responses (`tests/replay/textract/`),
//! replayed into the real SDK client: request serialisation, response parsing, error mapping and
//! the SDK's retries are all the SDK's own. No network, no emulator.

mod replay;

use std::time::Duration;

use aws_sdk_textract::config::retry::RetryConfig;
use kyc_aws::TextractExtractor;
use kyc_core::domain::extraction::{DocumentKind, ExtractedData, Extraction, ExtractionSource, MrzEvidence};
use kyc_core::domain::mrz::{self, MrzFields, Sex};
use kyc_core::ports::extractor::{ExtractionError, ExtractionRequest, Extractor};
use replay::{Replay, Sent};
use serde_json::{json, Value};
use time::macros::date;

const BUCKET: &str = "kyc-documents-replay";
const KEY: &str = "ten_3kq2w9v7/ses_7m4x1p0c/doc_5b8n2r6t.jpg";
const TODAY: time::Date = date!(2025 - 06 - 15);

fn fixture(name: &str) -> String {
    replay::fixture("textract", name)
}

fn ok(name: &str) -> (u16, String) {
    (200, fixture(name))
}

fn error(name: &str) -> (u16, String) {
    (400, fixture(name))
}

fn extractor(responses: Vec<(u16, String)>) -> (TextractExtractor, Replay) {
    let http = Replay::new(responses);
    (TextractExtractor::from_sdk_config(&replay::sdk_config(&http), BUCKET), http)
}

fn request(kind: DocumentKind) -> ExtractionRequest {
    ExtractionRequest {
        object_key: KEY.into(),
        mime_type: "image/jpeg".into(),
        file_name: "scan.jpg".into(),
        kind,
        today: TODAY,
    }
}

/// What the SDK sent, checked to have gone to Textract.
fn sent(http: &Replay) -> Vec<Sent> {
    let sent = http.sent();
    for request in &sent {
        assert!(request.uri.starts_with("https://textract.eu-west-1.amazonaws.com"), "{}", request.uri);
    }
    sent
}

fn s3_document() -> Value {
    json!({ "S3Object": { "Bucket": BUCKET, "Name": KEY } })
}

fn assert_detect_document_text(sent: &Sent) {
    assert_eq!(sent.target, "Textract.DetectDocumentText");
    assert_eq!(sent.body, json!({ "Document": s3_document() }), "the document is read from S3, not sent");
}

fn assert_analyze_id(sent: &Sent) {
    assert_eq!(sent.target, "Textract.AnalyzeID");
    assert_eq!(sent.body, json!({ "DocumentPages": [s3_document()] }));
}

fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-3, "{actual} is not {expected}");
}

fn unreadable(result: Result<Extraction, ExtractionError>) -> String {
    match result {
        Err(ExtractionError::Unreadable(message)) => message,
        other => panic!("expected Unreadable, got {other:?}"),
    }
}

fn provider(result: Result<Extraction, ExtractionError>) -> String {
    match result {
        Err(ExtractionError::Provider(cause)) => format!("{cause:#}"),
        other => panic!("expected Provider, got {other:?}"),
    }
}

fn all_valid() -> MrzEvidence {
    MrzEvidence {
        document_number: "valid".into(),
        date_of_birth: "valid".into(),
        date_of_expiry: "valid".into(),
        optional_data: "valid".into(),
        composite: "valid".into(),
    }
}

#[test]
fn the_recorded_passport_mrz_has_the_check_digits_the_encoder_computes() {
    let fields = MrzFields {
        document_code: "P".into(),
        issuing_country: "NLD".into(),
        surname: "De Bruijn".into(),
        given_names: "Willeke Liselotte".into(),
        document_number: "SPECI2021".into(),
        nationality: "NLD".into(),
        date_of_birth: date!(1965 - 03 - 10),
        sex: Sex::Female,
        date_of_expiry: date!(2031 - 08 - 02),
        optional_data: "999999990".into(),
        optional_data_2: String::new(),
    };
    let [line1, line2] = mrz::encode_td3(&fields).unwrap();
    let recorded = fixture("detect_document_text_passport_td3.json");
    assert!(recorded.contains(&format!("\"Text\":\"{line1}\"")));
    // Textract split the last check digits off with a space, as OCR of OCR-B often does.
    assert!(recorded.contains(&format!("\"Text\":\"{} {}\"", &line2[..42], &line2[42..])));
}

#[tokio::test]
async fn a_passport_with_a_valid_mrz_needs_only_detect_document_text() {
    let (extractor, http) = extractor(vec![ok("detect_document_text_passport_td3.json")]);

    let extraction = extractor.extract(&request(DocumentKind::Passport)).await.unwrap();

    let sent = sent(&http);
    assert_eq!(sent.len(), 1, "no AnalyzeID call: {sent:?}");
    assert_detect_document_text(&sent[0]);
    assert_eq!(
        extraction.extracted_data,
        ExtractedData {
            full_name: Some("WILLEKE LISELOTTE DE BRUIJN".into()),
            first_name: Some("WILLEKE LISELOTTE".into()),
            last_name: Some("DE BRUIJN".into()),
            document_number: Some("SPECI2021".into()),
            date_of_birth: Some("1965-03-10".into()),
            nationality: Some("NL".into()),
            nationality_alpha3: Some("NLD".into()),
            expiry_date: Some("2031-08-02".into()),
            gender: Some("F".into()),
            issuing_country: Some("NL".into()),
            document_kind: Some(DocumentKind::Passport),
        }
    );
    assert_eq!(extraction.source, ExtractionSource::Textract);
    assert_eq!(extraction.mrz_check, Some(all_valid()));
    assert_eq!(extraction.confidence_scores["document_number"], 0.99);
    assert!(extraction.overruled_ocr_values.is_empty());
}

#[tokio::test]
async fn a_us_driver_license_goes_straight_to_analyze_id_and_maps_its_fields() {
    let (extractor, http) = extractor(vec![ok("analyze_id_us_driver_license.json")]);

    let extraction = extractor.extract(&request(DocumentKind::DriverLicense)).await.unwrap();

    let sent = sent(&http);
    assert_eq!(sent.len(), 1, "no DetectDocumentText call for a driver licence: {sent:?}");
    assert_analyze_id(&sent[0]);
    assert_eq!(
        extraction.extracted_data,
        ExtractedData {
            full_name: Some("MARIA ELENA GONZALEZ".into()),
            first_name: Some("MARIA".into()),
            last_name: Some("GONZALEZ".into()),
            document_number: Some("I1234568".into()),
            // From the NormalizedValue.
            date_of_birth: Some("1987-08-31".into()),
            // Printed 08/31/2029 and recorded without a NormalizedValue.
            expiry_date: Some("2029-08-31".into()),
            issuing_country: Some("US".into()),
            document_kind: Some(DocumentKind::DriverLicense),
            ..ExtractedData::default()
        }
    );
    assert_eq!(extraction.mrz_check, None);
    assert!(extraction.overruled_ocr_values.is_empty());
    let scores = &extraction.confidence_scores;
    let keys: Vec<&str> = scores.keys().map(String::as_str).collect();
    assert_eq!(keys, ["date_of_birth", "document_number", "expiry_date", "full_name", "overall"]);
    // The recorded confidences, 0–100 → 0–1; the name scores as its least certain part.
    let recorded: Value = serde_json::from_str(&fixture("analyze_id_us_driver_license.json")).unwrap();
    let confidence = |name: &str| {
        recorded["IdentityDocuments"][0]["IdentityDocumentFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["Type"]["Text"] == name)
            .map(|f| f["ValueDetection"]["Confidence"].as_f64().unwrap() / 100.0)
            .unwrap()
    };
    assert_close(scores["document_number"], confidence("DOCUMENT_NUMBER"));
    assert_close(scores["date_of_birth"], confidence("DATE_OF_BIRTH"));
    assert_close(scores["expiry_date"], confidence("EXPIRATION_DATE"));
    let name = ["FIRST_NAME", "MIDDLE_NAME", "LAST_NAME"].map(confidence).into_iter().fold(1.0, f64::min);
    assert_close(scores["full_name"], name);
    let mean = (scores["document_number"] + scores["date_of_birth"] + scores["expiry_date"] + name) / 4.0;
    assert_close(scores["overall"], (mean * 100.0).round() / 100.0);
    assert!(scores.values().all(|s| (0.0..=1.0).contains(s)));
}

#[tokio::test]
async fn a_valid_analyze_id_mrz_overrules_a_misread_document_number() {
    let (extractor, http) = extractor(vec![
        ok("detect_document_text_passport_mrz_glare.json"),
        ok("analyze_id_passport_mrz_disagrees.json"),
    ]);

    let extraction = extractor.extract(&request(DocumentKind::Passport)).await.unwrap();

    let sent = sent(&http);
    assert_eq!(sent.len(), 2);
    assert_detect_document_text(&sent[0]);
    assert_analyze_id(&sent[1]);
    let data = &extraction.extracted_data;
    assert_eq!(data.document_number.as_deref(), Some("C03005988"), "the MRZ's check digit proves it");
    assert_eq!(
        extraction.overruled_ocr_values,
        [("document_number".to_owned(), "C03005968".to_owned())].into_iter().collect()
    );
    assert_eq!(extraction.confidence_scores["document_number"], 0.99);
    // OCR and MRZ agree on the dates; the names stay as printed; the MRZ fills the rest.
    assert_eq!(data.date_of_birth.as_deref(), Some("1965-01-01"));
    assert_eq!(data.expiry_date.as_deref(), Some("2033-08-27"));
    assert_eq!(data.full_name.as_deref(), Some("HAPPY TRAVELER"));
    assert_eq!((data.nationality.as_deref(), data.nationality_alpha3.as_deref()), (Some("US"), Some("USA")));
    assert_eq!(data.gender.as_deref(), Some("F"));
    assert_eq!(data.issuing_country.as_deref(), Some("US"));
    assert_eq!(extraction.source, ExtractionSource::Textract);
    assert_eq!(extraction.mrz_check, Some(MrzEvidence { optional_data: "absent".into(), ..all_valid() }));
    let overall = extraction.confidence_scores["overall"];
    assert!(overall > 0.9 && overall <= 1.0, "{overall}");
}

#[tokio::test]
async fn an_mrz_with_failing_check_digits_is_returned_with_its_evidence_when_analyze_id_finds_nothing() {
    let (extractor, http) = extractor(vec![
        ok("detect_document_text_passport_mrz_glare.json"),
        ok("analyze_id_no_documents.json"),
    ]);

    let extraction = extractor.extract(&request(DocumentKind::Passport)).await.unwrap();

    assert_eq!(sent(&http).len(), 2);
    let evidence = extraction.mrz_check.unwrap();
    assert_eq!((evidence.document_number.as_str(), evidence.composite.as_str()), ("invalid", "invalid"));
    assert_eq!(evidence.date_of_birth, "valid");
    assert_eq!(extraction.extracted_data.document_number.as_deref(), Some("C03O05988"));
    assert_eq!(extraction.confidence_scores["document_number"], 0.3);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_and_then_succeeds() {
    // The shared config has no retry config: the adapter's client must turn retries on itself.
    let (extractor, http) = extractor(vec![
        error("error_provisioned_throughput_exceeded.json"),
        ok("detect_document_text_passport_td3.json"),
    ]);

    let extraction = extractor.extract(&request(DocumentKind::Passport)).await.unwrap();

    let sent = sent(&http);
    assert_eq!(sent.len(), 2, "one throttled attempt, one retry");
    assert_detect_document_text(&sent[0]);
    assert_detect_document_text(&sent[1]);
    assert_eq!(
        sent.iter().map(|s| s.attempt.as_str()).collect::<Vec<_>>(),
        ["attempt=1; max=3", "attempt=2; max=3"]
    );
    assert_eq!(extraction.extracted_data.document_number.as_deref(), Some("SPECI2021"));
}

#[tokio::test]
async fn a_throttled_analyze_id_is_retried_too() {
    let (extractor, http) =
        extractor(vec![error("error_throttling.json"), ok("analyze_id_us_driver_license.json")]);

    let extraction = extractor.extract(&request(DocumentKind::DriverLicense)).await.unwrap();

    let sent = sent(&http);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|s| s.target == "Textract.AnalyzeID"));
    assert_eq!(extraction.extracted_data.document_number.as_deref(), Some("I1234568"));
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_a_provider_error() {
    let http = Replay::new(vec![
        error("error_throttling.json"),
        error("error_throttling.json"),
        error("error_provisioned_throughput_exceeded.json"),
    ]);
    // A retry policy the environment set (here: quick backoff) is kept.
    let shared = replay::sdk_config(&http)
        .into_builder()
        .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
        .build();
    let extractor = TextractExtractor::from_sdk_config(&shared, BUCKET);

    let cause = provider(extractor.extract(&request(DocumentKind::Passport)).await);

    assert_eq!(sent(&http).len(), 3, "the standard strategy makes 3 attempts");
    assert!(cause.contains("DetectDocumentText"), "{cause}");
    assert!(cause.contains("ProvisionedThroughputExceededException"), "{cause}");
}

#[tokio::test]
async fn a_blank_page_is_unreadable_without_paying_for_analyze_id() {
    let (extractor, http) = extractor(vec![ok("detect_document_text_blank_page.json")]);

    let message = unreadable(extractor.extract(&request(DocumentKind::IdCard)).await);

    assert_eq!(message, "No identity data could be read from this document");
    assert_eq!(sent(&http).len(), 1);
}

#[tokio::test]
async fn an_empty_response_object_reads_as_a_document_without_text() {
    let (extractor, http) = extractor(vec![ok("empty_object.json")]);

    let message = unreadable(extractor.extract(&request(DocumentKind::ResidencePermit)).await);

    assert!(message.contains("No identity data"), "{message}");
    assert_eq!(sent(&http).len(), 1);
}

#[tokio::test]
async fn analyze_id_answers_without_data_are_unreadable() {
    for recorded in ["analyze_id_nothing_read.json", "analyze_id_no_documents.json"] {
        let (extractor, http) = extractor(vec![ok(recorded)]);

        let message = unreadable(extractor.extract(&request(DocumentKind::DriverLicense)).await);

        assert_eq!(message, "No identity data could be read from this document", "{recorded}");
        assert_eq!(sent(&http).len(), 1, "{recorded}");
    }
}

#[tokio::test]
async fn a_malformed_response_is_a_provider_error() {
    let truncated = fixture("detect_document_text_passport_td3.json")[..400].to_owned();
    let (extractor, http) = extractor(vec![(200, truncated)]);

    let cause = provider(extractor.extract(&request(DocumentKind::Passport)).await);

    assert!(cause.contains("DetectDocumentText"), "{cause}");
    assert_eq!(sent(&http).len(), 1, "a response that does not parse is not retried");
}

#[tokio::test]
async fn a_service_error_is_a_provider_error_with_the_cause_for_the_logs() {
    let (extractor, _http) = extractor(vec![error("error_invalid_s3_object.json")]);

    let cause = provider(extractor.extract(&request(DocumentKind::DriverLicense)).await);

    assert!(cause.contains("AnalyzeID"), "{cause}");
    assert!(cause.contains("InvalidS3ObjectException"), "{cause}");
    assert!(cause.contains("Unable to get object metadata from S3"), "{cause}");
}

#[tokio::test]
async fn a_document_textract_cannot_decode_is_unreadable_not_a_provider_failure() {
    let (extractor, _http) = extractor(vec![error("error_unsupported_document.json")]);

    let message = unreadable(extractor.extract(&request(DocumentKind::Visa)).await);

    assert!(message.contains("JPEG, PNG or single-page PDF"), "{message}");
}

#[tokio::test]
async fn heic_and_webp_are_refused_before_any_call() {
    for mime_type in ["image/heic", "image/webp"] {
        let (extractor, http) = extractor(Vec::new());
        let request = ExtractionRequest { mime_type: mime_type.into(), ..request(DocumentKind::Passport) };

        let message = unreadable(extractor.extract(&request).await);

        assert!(message.contains("JPEG, PNG"), "{message}");
        assert_eq!(sent(&http).len(), 0);
    }
}

#[tokio::test]
async fn a_single_page_pdf_is_read_from_s3_like_an_image() {
    let (extractor, http) = extractor(vec![ok("detect_document_text_passport_td3.json")]);
    let request = ExtractionRequest {
        mime_type: "application/pdf".into(),
        file_name: "passport.pdf".into(),
        ..request(DocumentKind::Passport)
    };

    let extraction = extractor.extract(&request).await.unwrap();

    assert_detect_document_text(&sent(&http)[0]);
    assert_eq!(extraction.extracted_data.document_number.as_deref(), Some("SPECI2021"));
}
