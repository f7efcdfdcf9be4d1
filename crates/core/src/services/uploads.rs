//! Document uploads: presigned init → browser PUT → confirm, and the legacy base64 upload.
//!
//! Nothing the client says about a file is trusted: the object key is the one issued at init,
//! and at confirm the stored object's size, type and first bytes are checked before the
//! document counts. A file that fails is deleted.
//!
//! Upload URLs write under `pending/`. Confirmation first copies the upload to a key of its own
//! under `documents/` that no URL can write, checks and hashes that copy, and records it as the
//! document: what was verified is what extraction, face match and reviewers read, whatever is
//! PUT to the old URL afterwards.
//!
//! Every write that adds a document is one [`SessionChange`], conditional on the session version
//! it read, and every retry after a lost race re-reads the session and re-runs all checks (the
//! target step, the session's status, the caps): a concurrent cancel, step completion or upload
//! is always seen.

use super::changes::{SessionChange, CONCURRENT_CHANGE};
use super::progress::Progress;
use super::{Services, UploadSettings};
use crate::codec::{self, keys, SessionItems};
use crate::domain::document::{DocId, DocumentRecord, DocumentStatus};
use crate::domain::files::{sanitize_file_name, verify_content, FileKind, VERIFY_PREFIX_BYTES};
use crate::domain::history::{Actor, AuditAction};
use crate::domain::ids::{DocumentType, StepId};
use crate::domain::session::{SessionStatus, StepRecord, StepStatus};
use crate::domain::time::Timestamp;
use crate::domain::workflow::{FieldType, Step, StepType};
use crate::error::{Error, Result};
use crate::ports::blobs::{PutGrant, PENDING_PREFIX};
use crate::ports::table::{AttributeValue, Condition, Update, WriteOp};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Default of the most documents (pending ones included) a session may hold.
pub const MAX_DOCUMENTS_PER_SESSION: usize = 100;
/// Default of the most presigned uploads a session may have open (issued, unconfirmed and
/// unexpired) at once.
pub const MAX_PENDING_UPLOADS_PER_SESSION: usize = 20;
/// Attempts at committing a confirmation when concurrent changes to the session intervene.
const CONFIRM_ATTEMPTS: usize = 4;
/// Attempts at registering an upload: a browser may init several files at once, and each init
/// is a change of the session.
const INIT_ATTEMPTS: usize = 8;
/// Where confirmed documents live; no upload URL is ever issued for a key under it.
const DOCUMENTS_PREFIX: &str = "documents/";

/// `POST /public/sessions/{token}/upload/init`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InitUpload {
    pub step_id: String,
    pub document_type: String,
    pub file_name: String,
    pub mime_type: String,
    /// The file's exact size: signed into the URL, so the store refuses any other body. When
    /// absent the configured maximum applies (checked at confirmation).
    #[serde(default)]
    pub size_bytes: Option<u64>,
}

/// Where and until when the browser may PUT the file.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadInitialized {
    pub doc_id: DocId,
    pub upload_url: String,
    pub s3_key: String,
    pub expires_at: i64,
}

/// `POST /public/sessions/{token}/upload/confirm`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmUpload {
    pub doc_id: String,
    pub s3_key: String,
    pub step_id: String,
    pub document_type: String,
    #[serde(default)]
    pub file_name: Option<String>,
    pub mime_type: String,
}

/// A confirmed upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadConfirmed {
    pub doc_id: DocId,
    pub s3_key: String,
    pub uploaded_at: Timestamp,
    pub confirmed: bool,
}

/// `POST /public/sessions/{token}/upload` (and `/documents`): the file inline, base64-encoded.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Base64Upload {
    pub step_id: String,
    pub document_type: String,
    pub file_data: String,
    pub file_name: String,
    pub mime_type: String,
}

/// A file of the legacy endpoints, decoded (from base64) or read (from a multipart part).
#[derive(Clone, Debug)]
pub struct FileUpload {
    pub step_id: String,
    pub document_type: String,
    pub file_name: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// A document stored through the legacy endpoint.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentUploaded {
    pub doc_id: DocId,
    pub s3_key: String,
    pub uploaded_at: Timestamp,
}

/// Where an upload goes: a step that takes this document type, in a file format we accept.
struct Target<'a> {
    step: &'a Step,
    document_type: DocumentType,
    kind: FileKind,
    mime_type: String,
}

impl Services {
    /// Registers a pending upload and returns a presigned PUT URL for it.
    pub async fn init_upload(&self, token: &str, request: InitUpload) -> Result<UploadInitialized> {
        let max_bytes = self.settings.uploads.max_bytes;
        match request.size_bytes {
            Some(0) => return Err(Error::validation("The uploaded file is empty")),
            Some(size) if size > max_bytes => {
                return Err(Error::validation(format!(
                    "The file is larger than {} MB",
                    max_bytes / (1024 * 1024)
                )))
            }
            _ => {}
        }
        let mut items = self.open_session(token).await?;
        let doc_id = DocId::mint();
        let mut attempt = 0;
        let record = loop {
            attempt += 1;
            let (kind, mut record) = self.new_document(
                &items,
                &doc_id,
                &request.step_id,
                &request.document_type,
                &request.mime_type,
                &request.file_name,
            )?;
            self.check_pending_cap(&items)?;
            let key = format!("{PENDING_PREFIX}{}", object_key(&items, &doc_id, kind));
            record.object_key = key.clone();
            record.upload_key = Some(key);
            record.max_bytes = Some(request.size_bytes.unwrap_or(max_bytes));
            let mut change = SessionChange::new(self, &items.session, Actor::EndUser);
            change.write(WriteOp::Put {
                item: codec::document_item(&items.session.session_id, &record)?,
                condition: Condition::ItemAbsent,
            });
            match change.commit(self).await {
                Ok(_) => break record,
                Err(Error::Conflict(_)) if attempt < INIT_ATTEMPTS => {
                    items = self.reload_session(&items).await?
                }
                Err(other) => return Err(other),
            }
        };
        let expires_at = record.created_at.plus_seconds(self.settings.uploads.url_ttl_seconds);
        let grant = PutGrant {
            key: record.object_key.clone(),
            content_type: record.mime_type.clone(),
            max_bytes,
            size_bytes: request.size_bytes,
            expires_at: time::OffsetDateTime::from_unix_timestamp(expires_at.unix())
                .map_err(|e| Error::Unexpected(e.into()))?,
        };
        let upload_url = self.blobs.presign_put(&grant).await?;
        Ok(UploadInitialized {
            doc_id: record.doc_id,
            upload_url,
            s3_key: record.object_key,
            expires_at: expires_at.unix(),
        })
    }

    /// Verifies an uploaded object and makes it count. Confirming twice answers the same.
    pub async fn confirm_upload(&self, token: &str, request: ConfirmUpload) -> Result<UploadConfirmed> {
        let items = self.open_session(token).await?;
        let document = items
            .documents
            .iter()
            .find(|d| d.doc_id.as_str() == request.doc_id)
            .ok_or_else(|| Error::not_found("Document not found"))?
            .clone();
        if request.s3_key != issued_key(&document) {
            return Err(Error::validation("s3_key does not match the upload issued for this document"));
        }
        let matches = request.step_id == document.step_id.as_str()
            && request.document_type == document.document_type.as_str()
            && FileKind::from_mime(&request.mime_type) == FileKind::from_mime(&document.mime_type);
        if !matches {
            return Err(Error::validation(
                "step_id, document_type and mime_type must match the initialized upload",
            ));
        }
        if let Some(done) = confirmed(&document) {
            return Ok(done);
        }
        let target = |items: &SessionItems| {
            upload_target(
                items,
                &request.step_id,
                &request.document_type,
                &request.mime_type,
                &self.settings.uploads,
                self.now(),
            )
            .map(drop)
        };
        target(&items)?;
        let pinned = match self.pin_upload(&items, &document).await {
            Ok(pinned) => pinned,
            Err(error) => return self.confirmed_meanwhile(&items, &document, error).await,
        };
        let (size, sha256) = match self.verify_object(&document, &pinned).await {
            Ok(verified) => verified,
            Err(error) => {
                let _ = self.blobs.delete(&pinned).await;
                return self.confirmed_meanwhile(&items, &document, error).await;
            }
        };
        let mut items = items;
        for _ in 0..CONFIRM_ATTEMPTS {
            let mut record = document.clone();
            record.status = DocumentStatus::Confirmed;
            record.object_key = pinned.clone();
            record.upload_key = Some(issued_key(&document).to_owned());
            record.uploaded_at = Some(self.now());
            record.size_bytes = Some(size);
            record.sha256 = Some(sha256.clone());
            let pending = Condition::AttrEquals("status".into(), AttributeValue::S("pending".into()));
            match self.record_upload(&items, record.clone(), pending).await {
                Ok(()) => {
                    // The upload URL's object is no longer needed; the lifecycle rule (the sweeper
                    // locally) removes it if this fails.
                    let _ = self.blobs.delete(issued_key(&document)).await;
                    self.extract_if_configured(&items, &record).await;
                    return Ok(confirmed(&record).expect("just confirmed"));
                }
                Err(Error::Conflict(_)) => {
                    let reloaded = self.reload_session(&items).await;
                    let outcome = reloaded.and_then(|reloaded| {
                        let current = reloaded.documents.iter().find(|d| d.doc_id == document.doc_id);
                        if let Some(done) = current.and_then(confirmed) {
                            return Ok(Err(done));
                        }
                        target(&reloaded)?;
                        Ok(Ok(reloaded))
                    });
                    match outcome {
                        Ok(Ok(reloaded)) => items = reloaded,
                        Ok(Err(done)) => {
                            // Another confirmation won with its own copy.
                            let _ = self.blobs.delete(&pinned).await;
                            return Ok(done);
                        }
                        Err(error) => {
                            let _ = self.blobs.delete(&pinned).await;
                            return Err(error);
                        }
                    }
                }
                Err(other) => {
                    let _ = self.blobs.delete(&pinned).await;
                    return Err(other);
                }
            }
        }
        let _ = self.blobs.delete(&pinned).await;
        Err(Error::conflict(CONCURRENT_CHANGE))
    }

    /// The answer of a confirmation that failed with `error`: the same as the one that won if a
    /// concurrent confirmation of the document succeeded meanwhile (it deletes the upload it
    /// pinned, which this one may have been reading), else the error.
    async fn confirmed_meanwhile(
        &self,
        items: &SessionItems,
        document: &DocumentRecord,
        error: Error,
    ) -> Result<UploadConfirmed> {
        let reloaded = self.reload_session(items).await?;
        let current = reloaded.documents.iter().find(|d| d.doc_id == document.doc_id);
        current.and_then(confirmed).ok_or(error)
    }

    /// Copies a pending upload to a key of its own that no upload URL can target; returns that
    /// key. Each confirmation makes its own copy, so racing confirmations never share one.
    async fn pin_upload(&self, items: &SessionItems, document: &DocumentRecord) -> Result<String> {
        let upload_key = issued_key(document);
        if self.blobs.head(upload_key).await?.is_none() {
            return Err(Error::validation("The file has not been uploaded yet"));
        }
        let kind = FileKind::from_mime(&document.mime_type)
            .ok_or_else(|| Error::validation("Unsupported mime_type"))?;
        // `documents/{tenant}/{session}/{copy}/{doc_id}.{ext}`: still ending in the document id.
        let copy = uuid::Uuid::new_v4().simple().to_string();
        let pinned = format!(
            "{DOCUMENTS_PREFIX}{}/{}/c{}/{}.{}",
            items.session.tenant_id,
            items.session.session_id,
            &copy[..12],
            document.doc_id,
            kind.extension()
        );
        self.blobs.copy(upload_key, &pinned).await?;
        Ok(pinned)
    }

    /// Stores a file sent inline (base64) after the same checks as a presigned upload.
    pub async fn upload_base64(&self, token: &str, request: Base64Upload) -> Result<DocumentUploaded> {
        let bytes = decode_base64(&request.file_data)?;
        let Base64Upload { step_id, document_type, file_name, mime_type, .. } = request;
        self.upload_file(token, FileUpload { step_id, document_type, file_name, mime_type, bytes }).await
    }

    /// Largest file the legacy endpoints take (base64 or multipart), for the HTTP layer to stop
    /// reading a larger one early.
    pub fn legacy_upload_limit(&self) -> u64 {
        self.settings.uploads.max_legacy_bytes
    }

    /// A file sent through the legacy endpoints (base64 in JSON, or multipart), with the same
    /// checks as a confirmed presigned upload.
    pub async fn upload_file(&self, token: &str, request: FileUpload) -> Result<DocumentUploaded> {
        let items = self.open_session(token).await?;
        let doc_id = DocId::mint();
        let FileUpload { step_id, document_type, file_name, mime_type, bytes } = request;
        let admit = |items: &SessionItems| {
            self.new_document(items, &doc_id, &step_id, &document_type, &mime_type, &file_name)
        };
        let (kind, mut record) = admit(&items)?;
        let limit = self.settings.uploads.max_legacy_bytes;
        if bytes.len() as u64 > limit {
            return Err(Error::validation(format!(
                "The file is larger than {} MB; use /upload/init for larger files",
                limit / (1024 * 1024)
            )));
        }
        verify_content(kind, &bytes[..bytes.len().min(VERIFY_PREFIX_BYTES)]).map_err(Error::Validation)?;
        // The bytes never pass through an upload URL: they go straight where documents live.
        let key = format!("{DOCUMENTS_PREFIX}{}", object_key(&items, &doc_id, kind));
        let now = record.created_at;
        record.object_key = key.clone();
        record.status = DocumentStatus::Confirmed;
        record.uploaded_at = Some(now);
        record.size_bytes = Some(bytes.len() as u64);
        record.sha256 = Some(hex::encode(Sha256::digest(&bytes)));
        let mime_type = record.mime_type.clone();
        self.blobs.put(&key, bytes, &mime_type).await?;
        let mut items = items;
        for attempt in 1..=CONFIRM_ATTEMPTS {
            let outcome = match self.record_upload(&items, record.clone(), Condition::ItemAbsent).await {
                Ok(()) => {
                    self.extract_if_configured(&items, &record).await;
                    return Ok(DocumentUploaded { doc_id, s3_key: key, uploaded_at: now });
                }
                Err(Error::Conflict(_)) if attempt < CONFIRM_ATTEMPTS => {
                    // Every retry re-checks the rules against the session as it now is.
                    match self.reload_session(&items).await {
                        Ok(reloaded) => admit(&reloaded).map(|_| reloaded),
                        Err(error) => Err(error),
                    }
                }
                Err(other) => Err(other),
            };
            match outcome {
                Ok(reloaded) => items = reloaded,
                Err(error) => {
                    let _ = self.blobs.delete(&key).await;
                    return Err(error);
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Refuses a new presigned upload while the session has too many open ones.
    fn check_pending_cap(&self, items: &SessionItems) -> Result<()> {
        let now = self.now();
        let ttl = self.settings.uploads.url_ttl_seconds;
        let open = items
            .documents
            .iter()
            .filter(|d| d.status == DocumentStatus::Pending && d.created_at.plus_seconds(ttl) > now)
            .count();
        if open >= self.settings.uploads.max_pending_uploads {
            return Err(Error::validation(format!(
                "Too many uploads in progress for this session (at most {}); confirm or wait for them to expire",
                self.settings.uploads.max_pending_uploads
            )));
        }
        Ok(())
    }

    /// Checks where an upload may go and describes it as a new pending document with its own key.
    fn new_document(
        &self,
        items: &SessionItems,
        doc_id: &DocId,
        step_id: &str,
        document_type: &str,
        mime_type: &str,
        file_name: &str,
    ) -> Result<(FileKind, DocumentRecord)> {
        let target =
            upload_target(items, step_id, document_type, mime_type, &self.settings.uploads, self.now())?;
        let file_name = sanitize_file_name(file_name).map_err(Error::Validation)?;
        // Counted on the session as read; the write that adds the document is conditional on that
        // version, so concurrent uploads cannot exceed the cap together.
        if items.documents.len() >= self.settings.uploads.max_documents {
            return Err(Error::validation(format!(
                "Too many uploads for this session (at most {})",
                self.settings.uploads.max_documents
            )));
        }
        let object_key = object_key(items, doc_id, target.kind);
        let record = DocumentRecord {
            doc_id: doc_id.clone(),
            step_id: target.step.step_id.clone(),
            document_type: target.document_type,
            file_name,
            mime_type: target.mime_type,
            status: DocumentStatus::Pending,
            object_key,
            upload_key: None,
            created_at: self.now(),
            uploaded_at: None,
            size_bytes: None,
            sha256: None,
            max_bytes: None,
            extraction: None,
        };
        Ok((target.kind, record))
    }

    /// Checks the pinned copy (`key`) of a pending upload; a bad object is deleted, the pinned
    /// copy and the upload alike.
    async fn verify_object(&self, document: &DocumentRecord, key: &str) -> Result<(u64, String)> {
        let meta = self
            .blobs
            .head(key)
            .await?
            .ok_or_else(|| Error::validation("The file has not been uploaded yet"))?;
        let limit = document.max_bytes.unwrap_or(self.settings.uploads.max_bytes);
        let problem = if meta.size == 0 {
            Some("The uploaded file is empty".to_owned())
        } else if meta.size > limit {
            Some(format!("The file is larger than {} MB", limit / (1024 * 1024)))
        } else if meta
            .content_type
            .as_deref()
            .is_some_and(|ct| FileKind::from_mime(ct) != FileKind::from_mime(&document.mime_type))
        {
            Some("The file was uploaded with another Content-Type than declared".to_owned())
        } else {
            let prefix = self.blobs.read_prefix(key, VERIFY_PREFIX_BYTES).await?;
            let kind = FileKind::from_mime(&document.mime_type)
                .ok_or_else(|| Error::validation("Unsupported mime_type"))?;
            verify_content(kind, &prefix).err()
        };
        if let Some(problem) = problem {
            self.blobs.delete(key).await?;
            self.blobs.delete(issued_key(document)).await?;
            return Err(Error::Validation(problem));
        }
        Ok((meta.size, self.blobs.sha256(key).await?))
    }

    /// Writes a confirmed document, retires what it replaces and marks its step started, as one
    /// change of the session.
    async fn record_upload(
        &self,
        items: &SessionItems,
        record: DocumentRecord,
        condition: Condition,
    ) -> Result<()> {
        let session = &items.session;
        let step =
            session.workflow.step(&record.step_id).ok_or_else(|| Error::validation("Step not found"))?;
        let single = step
            .document_requirements
            .iter()
            .find(|r| r.document_type == record.document_type)
            .is_none_or(|r| !r.allow_multiple);
        let replaced: Vec<&DocumentRecord> = if single {
            items
                .documents
                .iter()
                .filter(|d| {
                    d.is_confirmed() && d.step_id == record.step_id && d.document_type == record.document_type
                })
                .filter(|d| d.doc_id != record.doc_id)
                .collect()
        } else {
            Vec::new()
        };
        let mut change = SessionChange::new(self, session, Actor::EndUser);
        change.write(WriteOp::Put { item: codec::document_item(&session.session_id, &record)?, condition });
        for old in &replaced {
            // Only the status changes: a reading of the old document stored meanwhile is kept.
            let confirmed = Condition::AttrEquals("status".into(), AttributeValue::S("confirmed".into()));
            let retired = Update::new(keys::document(&session.session_id, &old.doc_id), confirmed)
                .set("status", AttributeValue::S("replaced".into()));
            change.write(WriteOp::Update(retired));
        }
        if items.step(&record.step_id).is_none() {
            let started = StepRecord {
                step_id: record.step_id.clone(),
                status: StepStatus::InProgress,
                started_at: Some(change.at()),
                completed_at: None,
                form_data: None,
            };
            change.write(WriteOp::Put {
                item: codec::step_item(&session.session_id, &started)?,
                condition: Condition::ItemAbsent,
            });
        }
        let action =
            if replaced.is_empty() { AuditAction::DocumentUploaded } else { AuditAction::DocumentReplaced };
        change.audit(action, Some(record.step_id.clone()), Vec::new());
        change.concerning(
            std::iter::once(record.doc_id.clone()).chain(replaced.iter().map(|d| d.doc_id.clone())).collect(),
        );
        change.commit(self).await.map(drop)
    }
}

/// The key the upload URL of a presigned upload writes to (what the client knows as `s3_key`).
fn issued_key(document: &DocumentRecord) -> &str {
    document.upload_key.as_deref().unwrap_or(&document.object_key)
}

fn confirmed(document: &DocumentRecord) -> Option<UploadConfirmed> {
    match (document.status, document.uploaded_at) {
        (DocumentStatus::Confirmed | DocumentStatus::Replaced, Some(uploaded_at)) => Some(UploadConfirmed {
            doc_id: document.doc_id.clone(),
            s3_key: issued_key(document).to_owned(),
            uploaded_at,
            confirmed: true,
        }),
        _ => None,
    }
}

/// `{tenant}/{session}/{doc_id}.{ext}`: nothing the client chose appears in a key.
fn object_key(items: &SessionItems, doc_id: &DocId, kind: FileKind) -> String {
    format!("{}/{}/{}.{}", items.session.tenant_id, items.session.session_id, doc_id, kind.extension())
}

fn decode_base64(data: &str) -> Result<Vec<u8>> {
    // Browsers often send data URLs (`data:image/jpeg;base64,…`); the prefix carries nothing we trust.
    let payload = match data.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => data,
    };
    let compact: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| Error::validation("file_data is not valid base64"))?;
    if bytes.is_empty() {
        return Err(Error::validation("The uploaded file is empty"));
    }
    Ok(bytes)
}

/// Checks that an upload of `document_type` as `mime_type` may go to `step_id` now.
fn upload_target<'a>(
    items: &'a SessionItems,
    step_id: &str,
    document_type: &str,
    mime_type: &str,
    settings: &UploadSettings,
    now: Timestamp,
) -> Result<Target<'a>> {
    let status = items.session.status_at(now);
    if !status.accepts_end_user_input() {
        return Err(Error::forbidden(format!("Session is {status} and no longer accepts changes")));
    }
    let step_id = StepId::parse(step_id).map_err(|_| Error::validation("Step not found"))?;
    let step = items.session.workflow.step(&step_id).ok_or_else(|| Error::validation("Step not found"))?;
    let is_document_step = matches!(step.step_type, StepType::DocumentUpload | StepType::Selfie);
    let file_fields: Vec<&str> =
        step.all_fields().filter(|f| f.field_type == FieldType::File).map(|f| f.field_id.as_str()).collect();
    if !is_document_step && file_fields.is_empty() {
        return Err(Error::validation("This step does not accept uploads"));
    }
    let not_allowed = || Error::validation("Document type not allowed for this step");
    let document_type = DocumentType::parse(document_type).map_err(|_| not_allowed())?;
    let allowed = step.document_requirements.iter().any(|r| r.document_type == document_type)
        || step.document_types.contains(&document_type)
        || file_fields.contains(&document_type.as_str());
    if !allowed {
        return Err(not_allowed());
    }
    let kind = FileKind::from_mime(mime_type)
        .filter(|_| settings.allowed_mime_types.iter().any(|m| m.eq_ignore_ascii_case(mime_type.trim())))
        .ok_or_else(|| {
            Error::validation(format!("mime_type must be one of: {}", settings.allowed_mime_types.join(", ")))
        })?;
    match Progress::of(items).status(&step.step_id) {
        StepStatus::Skipped => return Err(Error::forbidden("This step does not apply to the session")),
        StepStatus::Completed => return Err(Error::forbidden("Step already completed")),
        StepStatus::NeedsCorrection => {}
        StepStatus::Pending | StepStatus::InProgress if status == SessionStatus::AwaitingClientCorrection => {
            return Err(Error::forbidden("Only steps with open correction requests can be edited"));
        }
        StepStatus::Pending | StepStatus::InProgress => {}
    }
    if status == SessionStatus::AwaitingClientCorrection {
        let requested = items.open_corrections(&step.step_id).any(|c| {
            c.document_types.contains(&document_type)
                || c.field_ids.iter().any(|f| f.as_str() == document_type.as_str())
        });
        if !requested {
            return Err(Error::forbidden("Only documents requested in a correction can be uploaded"));
        }
    }
    Ok(Target { step, document_type, kind, mime_type: mime_type.trim().to_ascii_lowercase() })
}
