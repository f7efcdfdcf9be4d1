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
use crate::ports::table::{AttributeValue, Condition, StoreError, Update, WriteOp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Provider readings (OCR) one session may cause, whoever asks for them.
pub const MAX_PROVIDER_CALLS_PER_SESSION: u32 = 20;
/// How long a reading holds its document before another may start.
const EXTRACTION_LEASE_SECONDS: i64 = 60;
/// How long a concurrent request waits for that reading: polls, and the time between them.
const WAIT_POLLS: u32 = 40;
const WAIT_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// `POST /public/sessions/{token}/extract`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    pub doc_id: String,
    /// The kind of identity document (`passport`, `id_card`, …), not the upload's type.
    #[cfg_attr(feature = "openapi", schema(value_type = DocumentKind))]
    pub document_type: String,
}

/// The contract's answer: fields, confidences and the MRZ evidence.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        let status = items.session.status_at(self.now());
        if !status.accepts_end_user_input() {
            return Err(Error::forbidden(format!("Session is {status} and no longer accepts changes")));
        }
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

    /// Reads a document through the provider: at most one reading of a document a minute (a
    /// request meanwhile waits for, or gets, that reading's result), and at most
    /// [`MAX_PROVIDER_CALLS_PER_SESSION`] readings per session, since each costs money.
    async fn run_extraction(
        &self,
        items: &SessionItems,
        document: &DocumentRecord,
        kind: DocumentKind,
    ) -> Result<Extraction> {
        let session = &items.session.session_id;
        let lease = keys::extraction_lease(session, &document.doc_id);
        let now = self.now().unix();
        let claim = vec![
            WriteOp::Put {
                item: codec::lease_item(&lease, now + EXTRACTION_LEASE_SECONDS)?,
                condition: Condition::absent_or_expired("lease_until", now),
            },
            WriteOp::Update(
                Update::new(
                    keys::extraction_count(session),
                    Condition::AnyOf(vec![
                        Condition::ItemAbsent,
                        Condition::AttrLessThan(
                            "count".into(),
                            AttributeValue::N(MAX_PROVIDER_CALLS_PER_SESSION.to_string()),
                        ),
                    ]),
                )
                .add("count", 1),
            ),
        ];
        match self.table.transact(claim).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { op: Some(0) }) => {
                return self.await_extraction(items, document).await
            }
            Err(StoreError::ConditionFailed { .. }) => {
                return Err(Error::forbidden(format!(
                    "This session reached its limit of {MAX_PROVIDER_CALLS_PER_SESSION} document readings"
                )))
            }
            Err(other) => return Err(other.into()),
        }
        let read = self.read_with_provider(items, document, kind).await;
        if read.is_err() {
            // Free the document for the next try; the lease would run out anyway.
            let _ = self.table.delete(&lease, Condition::Always).await;
        }
        read
    }

    /// Waits (a few seconds) for the reading another request is making of the same document.
    async fn await_extraction(&self, items: &SessionItems, document: &DocumentRecord) -> Result<Extraction> {
        for _ in 0..WAIT_POLLS {
            tokio::time::sleep(WAIT_POLL_INTERVAL).await;
            let current =
                self.table.get(&keys::document(&items.session.session_id, &document.doc_id)).await?;
            let current: Option<DocumentRecord> = current.map(codec::decode).transpose()?;
            if let Some(extraction) = current.and_then(|d| d.extraction) {
                return Ok(extraction);
            }
        }
        Err(Error::conflict("The document is being read; retry in a few seconds"))
    }

    async fn read_with_provider(
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
        let provider = match items.session.mode {
            Mode::Test => "test_extraction",
            Mode::Live => "live_extraction",
        };
        crate::metrics::count("ProviderCalls", "provider", provider);
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
        // The document number's use is recorded with the result, for the duplicate check. The
        // lease is kept until it runs out: a request that started meanwhile finds the result.
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
