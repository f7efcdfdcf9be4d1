//! Sessions: creation by a tenant, and opening by an end user's access token.

use super::progress::Progress;
use super::{Services, MAX_SESSION_TTL_SECONDS, MIN_SESSION_TTL_SECONDS};
use crate::codec::{self, keys, SessionItems, TokenRecord};
use crate::domain::checks::{CheckName, CheckStatus, VerificationReport};
use crate::domain::correction::CorrectionRecord;
use crate::domain::decision::{Decision, Outcome, Resolution};
use crate::domain::document::{DocumentRecord, DocumentStatus};
use crate::domain::evidence::{self, BundleFile, EvidenceBundle};
use crate::domain::history::AuditEntry;
use crate::domain::ids::{SessionId, StepId, WorkflowId};
use crate::domain::liveness::LivenessAttempt;
use crate::domain::secrets::AccessToken;
use crate::domain::session::{ParentLink, SessionRecord, SessionStatus, StepStatus, SubsessionRecord};
use crate::domain::tenant::TenantPrincipal;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::table::{Condition, Index, Query, StoreError, WriteOp};
use serde::{Deserialize, Serialize};

/// The message of every public lookup that fails, whatever the reason.
pub const SESSION_NOT_FOUND: &str = "Session not found or expired";
const MAX_EXTERNAL_REFERENCE: usize = 256;
const MAX_METADATA_BYTES: usize = 8 * 1024;

/// A tenant's request for a new session.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The workflow to start; or `workflow_slug`; or neither, for the tenant's default workflow.
    #[serde(default)]
    pub workflow_id: Option<WorkflowId>,
    #[serde(default)]
    pub workflow_slug: Option<String>,
    #[serde(default)]
    pub workflow_version: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub external_reference: Option<String>,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 7_776_000))]
    pub expires_in_seconds: Option<i64>,
    /// Where the frontend sends the end user when done (https; http too for test-mode sessions).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            format = "uri",
            pattern = "^https?://[a-z0-9]+(\\.[a-z0-9]+)*(:[1-9][0-9]{0,3})?(/[^\\s]*)?$"
        )
    )]
    pub redirect_url: Option<String>,
    /// Related parties known up front: each gets its session under the collection step its
    /// `role` names, created with this one.
    #[serde(default)]
    pub participants: Vec<Participant>,
}

/// A related party declared when the session is created.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// The collection step's `step_id`, `tag` or `category` (`ubo`, `director`, …).
    pub role: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// A related party's session created with its parent, and the link that opens it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedParticipant {
    pub subsession_id: SessionId,
    pub role: String,
    pub display_name: String,
    pub access_link: String,
}

/// Most participants one session creation takes (they are created in its one transaction).
pub const MAX_PARTICIPANTS: usize = 20;

/// A new session with the token that opens it (shown once).
#[derive(Debug)]
pub struct CreatedSession {
    pub session: SessionRecord,
    pub access_token: AccessToken,
    pub participants: Vec<CreatedParticipant>,
    pub public_url: String,
}

/// `GET /v1/sessions` filters and paging.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListSessions {
    /// 1–100, default 20.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Sessions in this stored status (served by GSI2).
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// Sessions by review state (GSI2): `pending` waits in `manual_review`.
    #[serde(default)]
    pub review: Option<ReviewFilter>,
    /// Created at or after this time (RFC 3339).
    #[serde(default)]
    pub created_after: Option<Timestamp>,
    /// Created before this time (RFC 3339).
    #[serde(default)]
    pub created_before: Option<Timestamp>,
    /// Exact match, applied to the page read (a page may hold fewer than `limit` sessions).
    #[serde(default)]
    pub external_reference: Option<String>,
}

/// The `review` filter of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewFilter {
    /// Waiting for a reviewer (`manual_review`).
    Pending,
    Approved,
    Rejected,
}

impl ReviewFilter {
    fn status(self) -> SessionStatus {
        match self {
            Self::Pending => SessionStatus::ManualReview,
            Self::Approved => SessionStatus::Approved,
            Self::Rejected => SessionStatus::Rejected,
        }
    }
}

/// One page of a tenant's sessions, newest first.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A session in a listing.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    pub session_id: SessionId,
    pub status: SessionStatus,
    pub livemode: bool,
    pub workflow_id: WorkflowId,
    pub workflow_version: u32,
    pub workflow_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_session_id: Option<SessionId>,
    /// The outcome and who decided, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionSummary>,
    /// The risk score and the checks that did not pass, once checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationSummary>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: i64,
}

/// A verification report as a listing shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationSummary {
    pub risk_score: u8,
    pub failed: Vec<CheckName>,
    pub needs_review: Vec<CheckName>,
}

impl From<&VerificationReport> for VerificationSummary {
    fn from(report: &VerificationReport) -> Self {
        let named = |status| report.checks.iter().filter(|c| c.status == status).map(|c| c.check).collect();
        Self {
            risk_score: report.risk_score,
            failed: named(CheckStatus::Failed),
            needs_review: named(CheckStatus::NeedsReview),
        }
    }
}

/// A decision as a listing shows it (notes and reviewer stay in the session view).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionSummary {
    pub outcome: Outcome,
    pub resolution: Resolution,
    pub decided_at: Timestamp,
}

/// Checks a session's `redirect_url`: an absolute https URL (http too for test-mode sessions).
fn check_redirect_url(url: &str, mode: crate::domain::secrets::Mode) -> Result<String> {
    let invalid =
        || Error::validation("redirect_url must be an absolute https URL (http is accepted in test mode)");
    let parsed = url::Url::parse(url.trim()).map_err(|_| invalid())?;
    let allowed = match parsed.scheme() {
        "https" => true,
        "http" => mode == crate::domain::secrets::Mode::Test,
        _ => false,
    };
    if !allowed || url.len() > 2_048 || parsed.host().is_none() {
        return Err(invalid());
    }
    Ok(parsed.to_string())
}

/// The writes that create a session: its item, its token's item and its open marker, all new.
pub(crate) fn new_session_writes(session: &SessionRecord) -> Result<Vec<WriteOp>> {
    let token = TokenRecord { session_id: session.session_id, expires_at: session.expires_at };
    Ok(vec![
        WriteOp::Put { item: codec::session_item(session)?, condition: Condition::ItemAbsent },
        WriteOp::Put {
            item: codec::token_item(&session.token_hash, &token)?,
            condition: Condition::ItemAbsent,
        },
        WriteOp::Put {
            item: codec::open_marker_item(&session.session_id, session.expires_at)?,
            condition: Condition::ItemAbsent,
        },
    ])
}

/// Everything the tenant may see of a session, internal notes and audit trail included.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSessionView {
    pub session_id: SessionId,
    pub status: SessionStatus,
    pub mode: crate::domain::secrets::Mode,
    pub livemode: bool,
    pub workflow_id: WorkflowId,
    pub workflow_version: u32,
    pub workflow_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// The verdict (approved or rejected), with the reviewer's key id, notes and reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The checks and risk score, once the end user finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationReport>,
    pub steps: Vec<TenantStepView>,
    pub documents: Vec<TenantDocumentView>,
    pub corrections: Vec<CorrectionRecord>,
    /// Every liveness attempt, with scores and failure reasons.
    pub liveness_attempts: Vec<LivenessAttempt>,
    /// Related parties' sessions collected by this one.
    pub subsessions: Vec<SubsessionRecord>,
    /// Set when this session is itself a subsession.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    pub audit_trail: Vec<AuditEntry>,
    /// Set once the session's personal data is being or was erased: the view is its tombstone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redaction: Option<crate::domain::redaction::Redaction>,
    pub expires_at: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A document as the tenant sees it: storage details, checksum and a short-lived download link.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantDocumentView {
    #[serde(flatten)]
    pub record: DocumentRecord,
    /// Signed GET URL, valid for [`DOWNLOAD_URL_TTL_SECONDS`]; confirmed documents only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// Lifetime of a reviewer's download link.
pub const DOWNLOAD_URL_TTL_SECONDS: i64 = 15 * 60;

/// One step as the tenant sees it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantStepView {
    pub step_id: crate::domain::ids::StepId,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_data: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Services {
    /// Creates a session on a pinned workflow version and mints its access token.
    pub async fn create_session(
        &self,
        caller: &TenantPrincipal,
        request: CreateSession,
    ) -> Result<CreatedSession> {
        let ttl = request.expires_in_seconds.unwrap_or(self.settings.default_session_ttl_seconds);
        if !(MIN_SESSION_TTL_SECONDS..=MAX_SESSION_TTL_SECONDS).contains(&ttl) {
            return Err(Error::validation(format!(
                "expires_in_seconds must be between {MIN_SESSION_TTL_SECONDS} and {MAX_SESSION_TTL_SECONDS}"
            )));
        }
        if let Some(reference) = &request.external_reference {
            if reference.is_empty() || reference.chars().count() > MAX_EXTERNAL_REFERENCE {
                return Err(Error::validation(format!(
                    "external_reference must be 1 to {MAX_EXTERNAL_REFERENCE} characters"
                )));
            }
        }
        if let Some(metadata) = &request.metadata {
            if serde_json::to_vec(metadata).map(|v| v.len()).unwrap_or(usize::MAX) > MAX_METADATA_BYTES {
                return Err(Error::validation("metadata must be at most 8 KB of JSON"));
            }
        }
        let redirect_url =
            request.redirect_url.as_deref().map(|url| check_redirect_url(url, caller.mode)).transpose()?;
        if request.participants.len() > MAX_PARTICIPANTS {
            return Err(Error::validation(format!(
                "participants takes at most {MAX_PARTICIPANTS} related parties"
            )));
        }
        let startable =
            self.startable_workflow(caller, request.workflow_id, request.workflow_slug.as_deref()).await?;
        let workflow =
            self.workflow(&caller.tenant_id, &startable.workflow_id, request.workflow_version).await?;
        let now = self.now();
        let token = AccessToken::mint();
        let session = SessionRecord {
            session_id: SessionId::mint(),
            tenant_id: caller.tenant_id.clone(),
            mode: caller.mode,
            workflow_id: workflow.workflow_id,
            workflow_version: workflow.version,
            workflow: workflow.definition,
            status: SessionStatus::Active,
            version: 1,
            token_hash: token.hash(),
            expires_at: now.unix() + ttl,
            created_at: now,
            updated_at: now,
            external_reference: request.external_reference,
            metadata: request.metadata,
            parent: None,
            redirect_url,
            decision: None,
            verification: None,
            redaction: None,
        };
        let mut writes = new_session_writes(&session)?;
        let participants = self.participant_sessions(&session, request.participants, &mut writes).await?;
        let check_op = writes.len();
        writes.push(startable.check);
        match self.table.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { op: Some(op) }) if op == check_op => {
                return Err(Error::WrongState {
                    code: "WORKFLOW_ARCHIVED",
                    message: "This workflow is archived and starts no new sessions".into(),
                })
            }
            Err(other) => return Err(other.into()),
        }
        crate::metrics::count("VerificationsStarted", "mode", session.mode.as_str());
        let public_url = self.public_url(&token.expose());
        Ok(CreatedSession { session, access_token: token, participants, public_url })
    }

    /// Adds to `writes` a related party's session for each participant, under the collection
    /// step its role names (all created with the parent, or none).
    async fn participant_sessions(
        &self,
        parent: &SessionRecord,
        participants: Vec<Participant>,
        writes: &mut Vec<WriteOp>,
    ) -> Result<Vec<CreatedParticipant>> {
        let mut created = Vec::with_capacity(participants.len());
        let mut per_step: Vec<(StepId, u32)> = Vec::new();
        for (index, participant) in participants.into_iter().enumerate() {
            let invalid = |message: String| Error::validation(format!("participants[{index}]: {message}"));
            let display_name = participant.display_name.trim().to_owned();
            if display_name.is_empty() || display_name.chars().count() > 200 {
                return Err(invalid("display_name must be 1 to 200 characters".into()));
            }
            if participant.email.as_deref().is_some_and(|e| !crate::domain::form::is_email(e)) {
                return Err(invalid("email must be a valid email address".into()));
            }
            let role = participant.role.trim().to_owned();
            let (step, config) = parent
                .workflow
                .steps
                .iter()
                .filter_map(|s| s.subsession_config.as_ref().map(|c| (s, c)))
                .find(|(s, c)| {
                    s.step_id.as_str() == role
                        || c.tag.as_deref() == Some(&role)
                        || c.category.as_deref() == Some(&role)
                })
                .ok_or_else(|| {
                    invalid(format!("role '{role}' names no related-party step of this workflow"))
                })?;
            let count = match per_step.iter_mut().find(|(id, _)| id == &step.step_id) {
                Some((_, count)) => {
                    *count += 1;
                    *count
                }
                None => {
                    per_step.push((step.step_id.clone(), 1));
                    1
                }
            };
            if count > config.max_allowed {
                return Err(invalid(format!(
                    "step '{}' takes at most {} related parties",
                    step.step_id, config.max_allowed
                )));
            }
            let workflow =
                self.workflow(&parent.tenant_id, &config.workflow_id, config.workflow_version).await?;
            let mut metadata = serde_json::Map::new();
            metadata.insert("role".into(), serde_json::Value::String(role.clone()));
            if let Some(email) = &participant.email {
                metadata.insert("email".into(), serde_json::Value::String(email.clone()));
            }
            let (child, record, token) = self.new_subsession(
                parent,
                step,
                config,
                &workflow,
                display_name.clone(),
                Some(metadata),
                (index + 1) as u64,
            );
            writes.extend(new_session_writes(&child)?);
            writes.push(WriteOp::Put {
                item: codec::subsession_item(&parent.session_id, &record)?,
                condition: Condition::ItemAbsent,
            });
            created.push(CreatedParticipant {
                subsession_id: child.session_id,
                role,
                display_name,
                access_link: self.public_url(&token.expose()),
            });
        }
        Ok(created)
    }

    /// The tenant's full view of one of its own sessions: one Query for the session, one for its
    /// audit trail. Another tenant's session is "not found".
    pub async fn tenant_session(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
    ) -> Result<TenantSessionView> {
        let (items, audit_trail) = self.tenant_session_and_log(caller, session_id).await?;
        self.tenant_view(items, audit_trail).await
    }

    /// `GET /v1/sessions/{id}/evidence`: the session as the tenant sees it and the workflow
    /// version it ran, signed (see [`evidence`](crate::domain::evidence)).
    pub async fn evidence_bundle(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
    ) -> Result<EvidenceBundle> {
        let (items, audit_trail) = self.tenant_session_and_log(caller, session_id).await?;
        let workflow = items.session.workflow.clone();
        let mut view = self.tenant_view(items, audit_trail).await?;
        let files = view
            .documents
            .iter_mut()
            .filter_map(|d| {
                let download_url = d.download_url.take()?;
                Some(BundleFile {
                    doc_id: d.record.doc_id.to_string(),
                    sha256: d.record.sha256.clone(),
                    download_url,
                })
            })
            .collect();
        let unexpected = |e: serde_json::Error| Error::Unexpected(e.into());
        let manifest = serde_json::json!({
            "format": evidence::BUNDLE_FORMAT,
            "generated_at": self.now().rfc3339(),
            "session": serde_json::to_value(&view).map_err(unexpected)?,
            "workflow": serde_json::to_value(&workflow).map_err(unexpected)?,
        });
        Ok(evidence::sign(manifest, files, &self.settings.idempotency.sealing_key))
    }

    /// A session's audit trail, oldest first.
    pub(crate) async fn audit_trail(&self, session: &SessionId) -> Result<Vec<AuditEntry>> {
        let log = Query::partition(keys::session_log_partition(session)).prefix("AUDIT#");
        Ok(self
            .table
            .query(log)
            .await?
            .items
            .into_iter()
            .map(codec::decode)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Assembles the tenant view from a session's items and audit trail (no store access).
    pub(crate) async fn tenant_view(
        &self,
        items: SessionItems,
        audit_trail: Vec<AuditEntry>,
    ) -> Result<TenantSessionView> {
        let progress = Progress::of(&items);
        let steps = progress
            .steps
            .iter()
            .map(|(step, status)| {
                let record = items.step(&step.step_id);
                TenantStepView {
                    step_id: step.step_id.clone(),
                    status: *status,
                    started_at: record.and_then(|r| r.started_at),
                    completed_at: record.and_then(|r| r.completed_at),
                    form_data: record.and_then(|r| r.form_data.clone()),
                }
            })
            .collect();
        let status = items.session.status_at(self.now());
        let link_expiry =
            time::OffsetDateTime::from_unix_timestamp(self.now().unix() + DOWNLOAD_URL_TTL_SECONDS)
                .map_err(|e| Error::Unexpected(e.into()))?;
        let SessionItems { session, documents, corrections, subsessions, liveness, .. } = items;
        let mut document_views = Vec::with_capacity(documents.len());
        for record in documents {
            let download_url = match record.status {
                _ if session.redaction.is_some() => None,
                DocumentStatus::Pending => None,
                _ => Some(self.blobs.presign_get(&record.object_key, link_expiry).await?),
            };
            document_views.push(TenantDocumentView { record, download_url });
        }
        Ok(TenantSessionView {
            session_id: session.session_id,
            status,
            mode: session.mode,
            livemode: session.mode == crate::domain::secrets::Mode::Live,
            workflow_id: session.workflow_id,
            workflow_version: session.workflow_version,
            workflow_name: session.workflow.name,
            external_reference: session.external_reference,
            metadata: session.metadata,
            decision: session.decision,
            verification: session.verification,
            steps,
            documents: document_views,
            corrections,
            liveness_attempts: liveness,
            subsessions,
            parent: session.parent,
            audit_trail,
            redaction: session.redaction,
            expires_at: session.expires_at,
            created_at: session.created_at,
            updated_at: session.updated_at,
        })
    }

    /// The caller's sessions, newest first, one index Query per page: GSI1 (the tenant's
    /// sessions) without a status filter, GSI2 (the tenant's sessions in one status) with one; the
    /// creation-time range is a sort-key range on either. Only `external_reference` filters the
    /// page read, so with it a page may hold fewer than `limit` sessions while more follow.
    ///
    /// `status` matches the stored status. Expiry is stored by the sweeper (every few minutes),
    /// so until it runs a session past its expiry is still listed under `active` while its
    /// `status` already reads `expired`.
    pub async fn list_sessions(
        &self,
        caller: &TenantPrincipal,
        request: ListSessions,
    ) -> Result<SessionPage> {
        let limit = request.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit must be between 1 and 100"));
        }
        let status = match (request.status, request.review.map(ReviewFilter::status)) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::validation(format!("status={a} and review select different sessions")))
            }
            (status, review) => status.or(review),
        };
        let query = match status {
            None => Query::gsi1(keys::tenant_sessions_index(&caller.tenant_id, caller.mode)),
            Some(status) => {
                Query::index(Index::Gsi2, keys::tenant_status_index(&caller.tenant_id, caller.mode, status))
            }
        };
        let query = match (request.created_after, request.created_before) {
            (None, None) => query,
            (after, before) => {
                // Sort keys are `created_at#session_id`: `after` is included, `before` is not.
                let low = after.map_or_else(|| "0".to_owned(), |t| t.rfc3339());
                let high = before.map_or_else(|| "~".to_owned(), |t| t.rfc3339());
                if low >= high {
                    return Err(Error::validation("created_after must be earlier than created_before"));
                }
                query.between(low, high)
            }
        };
        let query = query.descending().limit(limit).after(request.cursor.map(crate::ports::table::Cursor));
        let page = self.table.query(query).await.map_err(|error| match error {
            crate::ports::table::StoreError::Invalid(_) => {
                Error::validation("cursor is not valid for this listing")
            }
            other => other.into(),
        })?;
        let now = self.now();
        let mut sessions = Vec::with_capacity(page.items.len());
        for item in page.items {
            let session: SessionRecord = codec::decode(item)?;
            let wanted = request
                .external_reference
                .as_ref()
                .is_none_or(|r| session.external_reference.as_ref() == Some(r));
            if wanted {
                sessions.push(SessionSummary {
                    session_id: session.session_id,
                    status: session.status_at(now),
                    livemode: session.mode == crate::domain::secrets::Mode::Live,
                    workflow_id: session.workflow_id,
                    workflow_version: session.workflow_version,
                    workflow_name: session.workflow.name,
                    external_reference: session.external_reference,
                    parent_session_id: session.parent.map(|p| p.session_id),
                    decision: session.decision.map(|d| DecisionSummary {
                        outcome: d.outcome,
                        resolution: d.resolution,
                        decided_at: d.decided_at,
                    }),
                    verification: session.verification.as_ref().map(VerificationSummary::from),
                    created_at: session.created_at,
                    updated_at: session.updated_at,
                    expires_at: session.expires_at,
                });
            }
        }
        Ok(SessionPage { sessions, next_cursor: page.next.map(|c| c.0) })
    }

    /// One of the caller's sessions and its audit trail, read concurrently (one round trip).
    pub(crate) async fn tenant_session_and_log(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
    ) -> Result<(SessionItems, Vec<AuditEntry>)> {
        let id = crate::domain::ids::SessionId::parse(session_id);
        let log = async {
            match id {
                Some(id) => self.audit_trail(&id).await,
                None => Ok(Vec::new()),
            }
        };
        let (items, audit_trail) =
            futures_util::future::join(self.tenant_session_items(caller, session_id), log).await;
        Ok((items?, audit_trail?))
    }

    /// Loads one of the caller's sessions; another tenant's is "not found".
    pub(crate) async fn tenant_session_items(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
    ) -> Result<SessionItems> {
        let not_found = || Error::not_found("Session not found");
        let session_id = SessionId::parse(session_id).ok_or_else(not_found)?;
        let items = self.load_session(&session_id).await?.ok_or_else(not_found)?;
        // Another tenant's session, or one of the other mode (test keys see test data only).
        if items.session.tenant_id != caller.tenant_id || items.session.mode != caller.mode {
            return Err(not_found());
        }
        Ok(items)
    }

    /// Opens a session by its access token: one Query on a warm cache, a GetItem and a Query cold.
    ///
    /// Unknown, malformed, revoked and expired tokens all fail the same way, so the answer tells
    /// an attacker nothing.
    pub(crate) async fn open_session(&self, token: &str) -> Result<SessionItems> {
        let not_found = || Error::not_found(SESSION_NOT_FOUND);
        let hash = AccessToken::parse(token).ok_or_else(not_found)?.hash();
        let session_id = match self.tokens.get(&hash) {
            Some(id) => id,
            None => {
                let item = self.table.get(&keys::token(&hash)).await?.ok_or_else(not_found)?;
                let record: TokenRecord = codec::decode(item)?;
                record.session_id
            }
        };
        let items = self.load_session(&session_id).await?;
        let Some(items) = items.filter(|items| items.session.token_hash == hash) else {
            self.tokens.forget(&hash);
            return Err(not_found());
        };
        // The link dies at `expires_at` whatever the status (a finished session stays readable to
        // the tenant), and at once when the session is canceled.
        let now = self.now();
        if now.unix() >= items.session.expires_at
            || !items.session.status_at(now).is_publicly_visible()
            || items.session.redaction.is_some()
        {
            return Err(not_found());
        }
        self.tokens.insert(hash, session_id);
        Ok(items)
    }

    /// Reads a session again after losing a race (no token lookup: the session id is known).
    pub(crate) async fn reload_session(&self, items: &SessionItems) -> Result<SessionItems> {
        self.load_session(&items.session.session_id).await?.ok_or_else(|| Error::not_found(SESSION_NOT_FOUND))
    }

    /// Reads a whole session partition in one Query.
    pub(crate) async fn load_session(&self, session_id: &SessionId) -> Result<Option<SessionItems>> {
        let page = self.table.query(Query::partition(keys::session_partition(session_id))).await?;
        Ok(SessionItems::from_items(page.items)?)
    }
}
