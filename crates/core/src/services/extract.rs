//! Extracting identity data from a confirmed document. Results are stored on the document, so a
//! second request answers from the store without calling the provider again.

use super::verification::document_partition;
use super::Services;
use crate::codec::{self, keys, DocumentNumberUse, SessionItems};
use crate::domain::document::DocumentRecord;
use crate::domain::extraction::{DocumentKind, ExtractedData, Extraction, MrzEvidence};
use crate::domain::secrets::Mode;
use crate::domain::tenant::TenantPrincipal;
use crate::error::{Error, Result};
use crate::ports::extractor::{ExtractionError, ExtractionRequest};
use crate::ports::table::{AttributeValue, Condition, Update, WriteOp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /public/sessions/{token}/extract`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    pub doc_id: String,
    /// The kind of identity document (`passport`, `id_card`, …), not the upload's type.
    pub document_type: String,
}

/// The contract's answer: fields, confidences and the MRZ evidence.
#[derive(Clone, Debug, Serialize)]
pub struct ExtractionView {
    pub doc_id: String,
    pub extracted_data: ExtractedData,
    pub confidence_scores: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrz_check: Option<MrzEvidence>,
}

fn kind_of(text: &str) -> Result<DocumentKind> {
    DocumentKind::parse(text).ok_or_else(|| {
        Error::validation(
            "document_type must be one of: passport, id_card, driver_license, residence_permit, visa",
        )
    })
}

fn confirmed_document<'a>(items: &'a SessionItems, doc_id: &str) -> Result<&'a DocumentRecord> {
    let document = items
        .documents
        .iter()
        .find(|d| d.doc_id.as_str() == doc_id)
        .ok_or_else(|| Error::not_found("Document not found"))?;
    if !document.is_confirmed() {
        return Err(Error::validation("The document upload has not been confirmed"));
    }
    Ok(document)
}

impl Services {
    /// Extracts (or returns the stored extraction of) a confirmed document of the session.
    pub async fn extract_document(&self, token: &str, request: ExtractRequest) -> Result<ExtractionView> {
        let kind = kind_of(&request.document_type)?;
        let items = self.open_session(token).await?;
        let document = confirmed_document(&items, &request.doc_id)?;
        let extraction = match &document.extraction {
            Some(stored) => stored.clone(),
            None => self.run_extraction(&items, document, kind).await?,
        };
        Ok(ExtractionView {
            doc_id: request.doc_id,
            extracted_data: extraction.extracted_data,
            confidence_scores: extraction.confidence_scores,
            mrz_check: extraction.mrz_check,
        })
    }

    /// The tenant's extraction of a document: stored, or run again with `refresh`.
    pub async fn tenant_extract(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
        doc_id: &str,
        kind: &str,
        refresh: bool,
    ) -> Result<Extraction> {
        let kind = kind_of(kind)?;
        let items = self.tenant_session_items(caller, session_id).await?;
        let document = confirmed_document(&items, doc_id)?;
        match (&document.extraction, refresh) {
            (Some(stored), false) => Ok(stored.clone()),
            _ => self.run_extraction(&items, document, kind).await,
        }
    }

    /// Reads a just-confirmed document when its step sets `extract: true`. Best effort: a failure
    /// is logged and left for the reviewer (or `extract_required`) to deal with.
    pub(crate) async fn extract_if_configured(&self, items: &SessionItems, document: &DocumentRecord) {
        let Some(step) = items.session.workflow.step(&document.step_id) else { return };
        if !step.extract {
            return;
        }
        let kind = DocumentKind::parse(document.document_type.as_str()).unwrap_or(DocumentKind::IdCard);
        if let Err(error) = self.run_extraction(items, document, kind).await {
            tracing::warn!(doc_id = %document.doc_id, error = %error, "automatic extraction failed");
        }
    }

    async fn run_extraction(
        &self,
        items: &SessionItems,
        document: &DocumentRecord,
        kind: DocumentKind,
    ) -> Result<Extraction> {
        let request = ExtractionRequest {
            object_key: document.object_key.clone(),
            mime_type: document.mime_type.clone(),
            file_name: document.file_name.clone(),
            kind,
            today: self.clock.now().date(),
        };
        let extractor = match items.session.mode {
            Mode::Test => &self.test_extractor,
            Mode::Live => &self.live_extractor,
        };
        let mut extraction = extractor.extract(&request).await.map_err(|error| match error {
            ExtractionError::Unreadable(message) => Error::Validation(message),
            ExtractionError::Provider(cause) => {
                tracing::error!(error = format!("{cause:#}"), doc_id = %document.doc_id, "extraction failed");
                Error::Upstream {
                    code: "EXTRACTION_FAILED",
                    message: "The document could not be processed; try again later".into(),
                }
            }
        })?;
        extraction.extracted_at = Some(self.now());
        let value = serde_dynamo::to_attribute_value(&extraction).map_err(|e| Error::Unexpected(e.into()))?;
        let update = Update::new(
            keys::document(&items.session.session_id, &document.doc_id),
            Condition::AttrEquals("status".into(), AttributeValue::S("confirmed".into())),
        )
        .set("extraction", value);
        // The document number's use is recorded with the result, for the duplicate check.
        let mut ops = vec![WriteOp::Update(update)];
        if let Some(partition) = document_partition(&items.session, &extraction.extracted_data) {
            let use_ =
                DocumentNumberUse { session_id: items.session.session_id, doc_id: document.doc_id.clone() };
            ops.push(WriteOp::Put {
                item: codec::document_number_item(&partition, &use_)?,
                condition: Condition::Always,
            });
        }
        self.table.transact(ops).await?;
        Ok(extraction)
    }
}
