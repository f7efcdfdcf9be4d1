//! Extraction without a cloud service: the text layer of a PDF, searched for a machine-readable
//! zone. Images need OCR, which only the AWS deployment has; in test mode they get a clearly
//! labelled sandbox answer instead (see the README's list of test inputs).

use async_trait::async_trait;
use kyc_core::domain::extraction::{Extraction, ExtractionSource};
use kyc_core::domain::files::FileKind;
use kyc_core::domain::mrz;
use kyc_core::ports::extractor::{ExtractionError, ExtractionRequest, Extractor};
use kyc_core::ports::Blobs;
use std::sync::Arc;

/// Largest document read for extraction.
const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;
/// Most pages of a PDF read for extraction (identity documents have one or two).
const MAX_PAGES: usize = 10;
/// Most bytes any stream of a PDF (and all content of one page) may decompress to.
const MAX_DECOMPRESSED_BYTES: usize = 8 * 1024 * 1024;

/// A specimen passport in the ICAO 9303 style, answered for test-mode images. Its dates follow
/// the request's date (valid for five more years, holder born 1974-08-12) and its number is the
/// upload's own (so two sessions' specimens are not duplicates), unless the file name asks
/// otherwise (see [`SandboxVariant`]).
fn sandbox_mrz(variant: SandboxVariant, request: &ExtractionRequest) -> Result<String, ExtractionError> {
    let today = request.today;
    let document_number = match variant {
        SandboxVariant::Duplicate => "L898902C3".to_owned(),
        _ => {
            // Object keys end in the document id (`…/doc_<hex>.<ext>`): its last 8 hex digits.
            let stem = request.object_key.rsplit('/').next().unwrap_or_default();
            let id = stem.split('.').next().unwrap_or_default();
            let tail: String = id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
            format!("S{}", tail.to_ascii_uppercase())
        }
    };
    let years = |n: i32| today.replace_year(today.year() + n).unwrap_or(today);
    let fields = mrz::MrzFields {
        document_code: "P".into(),
        issuing_country: "UTO".into(),
        surname: "ERIKSSON".into(),
        given_names: "ANNA MARIA".into(),
        document_number,
        nationality: "UTO".into(),
        date_of_birth: match variant {
            SandboxVariant::Minor => years(-16),
            _ => time::macros::date!(1974 - 08 - 12),
        },
        sex: mrz::Sex::Female,
        date_of_expiry: match variant {
            SandboxVariant::Expired => years(-1),
            _ => years(5),
        },
        optional_data: "ZE184226B".into(),
        optional_data_2: String::new(),
    };
    let [line1, mut line2] = mrz::encode_td3(&fields)
        .map_err(|e| ExtractionError::Provider(anyhow::anyhow!("sandbox specimen: {e:?}")))?;
    if variant == SandboxVariant::Tampered {
        // Break the birth date's check digit (position 19) without touching the date.
        let digit = line2.as_bytes()[19];
        let broken = if digit == b'0' { '1' } else { '0' };
        line2.replace_range(19..20, &broken.to_string());
    }
    Ok(format!("{line1}\n{line2}"))
}

/// Test-mode sandbox answers chosen by a word in the uploaded file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SandboxVariant {
    /// The specimen, valid.
    Valid,
    /// `expired`: the document expired a year ago.
    Expired,
    /// `minor`: the holder is 16.
    Minor,
    /// `tampered`: the birth date's check digit does not match.
    Tampered,
    /// `duplicate`: always the same document number, so a second session reuses a document.
    Duplicate,
}

impl SandboxVariant {
    fn of(file_name: &str) -> Self {
        let name = file_name.to_ascii_lowercase();
        [
            ("expired", Self::Expired),
            ("minor", Self::Minor),
            ("tampered", Self::Tampered),
            ("duplicate", Self::Duplicate),
        ]
        .into_iter()
        .find(|(word, _)| name.contains(word))
        .map_or(Self::Valid, |(_, variant)| variant)
    }
}

/// Parses PDFs' text layers; answers images from the sandbox when `sandbox` is on.
pub struct LocalExtractor {
    blobs: Arc<dyn Blobs>,
    sandbox: bool,
}

impl LocalExtractor {
    /// An extractor reading documents from `blobs`. With `sandbox`, images get the sandbox answer
    /// (test mode); without, they are refused as unreadable (live mode without OCR).
    pub fn new(blobs: Arc<dyn Blobs>, sandbox: bool) -> Self {
        Self { blobs, sandbox }
    }

    fn sandbox_answer(&self, request: &ExtractionRequest) -> Result<Extraction, ExtractionError> {
        if request.file_name.to_ascii_lowercase().contains("unreadable") {
            return Err(ExtractionError::Unreadable(
                "No identity data could be read from this document".into(),
            ));
        }
        let variant = SandboxVariant::of(&request.file_name);
        let specimen = mrz::parse(&sandbox_mrz(variant, request)?, request.today)
            .map_err(|e| ExtractionError::Provider(anyhow::anyhow!("sandbox specimen: {e:?}")))?;
        Ok(Extraction::from_mrz(&specimen, Some(request.kind), ExtractionSource::Sandbox))
    }
}

/// The text of a PDF's pages, one line per text-positioning step, so an MRZ printed as separate
/// lines stays separate lines (lopdf's own `extract_text` runs them together). Strings are read
/// as single-byte text, which is what MRZ fonts (OCR-B, Courier) use.
fn pdf_text(bytes: &[u8]) -> Result<String, ExtractionError> {
    use lopdf::Object;
    let unreadable = || ExtractionError::Unreadable("The PDF cannot be read".into());
    // A small crafted file can inflate to gigabytes: every stream is decoded within a bound.
    let options =
        lopdf::LoadOptions { max_decompressed_size: Some(MAX_DECOMPRESSED_BYTES), ..Default::default() };
    let document = lopdf::Document::load_mem_with_options(bytes, options).map_err(|_| unreadable())?;
    let pages = document.get_pages();
    if pages.len() > MAX_PAGES {
        return Err(ExtractionError::Unreadable(format!(
            "The PDF has {} pages; identity documents have at most {MAX_PAGES}",
            pages.len()
        )));
    }
    let mut text = String::new();
    for page in pages.into_values() {
        let raw = document.get_page_content_with_limit(page, MAX_DECOMPRESSED_BYTES).map_err(|_| {
            ExtractionError::Unreadable("The PDF's content is too large once decompressed".into())
        })?;
        let content = lopdf::content::Content::decode(&raw).map_err(|_| unreadable())?;
        for operation in content.operations {
            match operation.operator.as_str() {
                "Tj" | "'" | "\"" | "TJ" => {
                    for operand in &operation.operands {
                        let strings: Vec<&Object> = match operand {
                            Object::Array(items) => items.iter().collect(),
                            other => vec![other],
                        };
                        for item in strings {
                            if let Object::String(bytes, _) = item {
                                text.extend(bytes.iter().map(|&b| char::from(b)));
                            }
                        }
                    }
                }
                "Td" | "TD" | "Tm" | "T*" | "ET" => text.push('\n'),
                _ => {}
            }
        }
    }
    Ok(text)
}

#[async_trait]
impl Extractor for LocalExtractor {
    async fn extract(&self, request: &ExtractionRequest) -> Result<Extraction, ExtractionError> {
        match FileKind::from_mime(&request.mime_type) {
            Some(FileKind::Pdf) => {
                let bytes =
                    self.blobs.read_prefix(&request.object_key, MAX_DOCUMENT_BYTES).await.map_err(|e| {
                        ExtractionError::Provider(anyhow::Error::new(e).context("reading the document"))
                    })?;
                let text = tokio::task::spawn_blocking(move || pdf_text(&bytes))
                    .await
                    .map_err(|e| ExtractionError::Provider(e.into()))??;
                let found = mrz::find(&text, request.today).ok_or_else(|| {
                    ExtractionError::Unreadable("No machine-readable zone was found in the PDF's text".into())
                })?;
                Ok(Extraction::from_mrz(&found, Some(request.kind), ExtractionSource::PdfTextLayer))
            }
            Some(_) if self.sandbox => self.sandbox_answer(request),
            _ => Err(ExtractionError::Unreadable(
                "Reading images needs OCR, which this deployment does not have; upload a PDF".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Document, Object, Stream};

    /// A one-page PDF whose content stream is `content`, deflated.
    fn pdf_with_content(content: Vec<u8>) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let mut stream = Stream::new(dictionary! {}, content);
        stream.compress().unwrap();
        let content_id = doc.add_object(stream);
        let page_id =
            doc.add_object(dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content_id});
        let pages = dictionary! {"Type" => "Pages", "Kids" => vec![Object::from(page_id)], "Count" => 1};
        doc.objects.insert(pages_id, Object::Dictionary(pages));
        let catalog_id = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
        doc.trailer.set("Root", catalog_id);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn a_decompression_bomb_is_unreadable_not_a_memory_exhaustion() {
        let bomb = pdf_with_content(vec![b' '; 64 * 1024 * 1024]);
        assert!(bomb.len() < 1024 * 1024, "the bomb is small: {} bytes", bomb.len());

        let result = pdf_text(&bomb);

        match result {
            Err(ExtractionError::Unreadable(message)) => assert!(message.contains("too large"), "{message}"),
            other => panic!("expected unreadable, got {:?}", other.map(|t| t.len())),
        }
    }

    #[test]
    fn an_ordinary_page_is_read() {
        let page = pdf_with_content(b"BT /F1 12 Tf 72 712 Td (P<UTOERIKSSON) Tj ET".to_vec());
        assert!(pdf_text(&page).unwrap().contains("P<UTOERIKSSON"));
    }
}
