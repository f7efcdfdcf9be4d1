//! Gathers a session's stored evidence for the verification checks, and looks up the other
//! sessions of the tenant that read the same identity document.

use super::changes::SessionChange;
use super::progress::Progress;
use super::Services;
use super::TenantSessionView;
use crate::codec::{self, DocumentNumberUse, SessionItems};
use crate::domain::checks::{
    self, AttemptEvidence, DeclaredIdentity, DocumentEvidence, Evidence, LivenessEvidence, PartyEvidence,
    ScreeningEvidence, VerificationReport,
};
use crate::domain::history::{Actor, AuditAction};
use crate::domain::ids::SessionId;
use crate::domain::liveness::AttemptStatus;
use crate::domain::secrets::Mode;
use crate::domain::session::StepStatus;
use crate::domain::tenant::TenantPrincipal;
use crate::domain::time::Timestamp;
use crate::domain::workflow::{FieldType, StepType};
use crate::error::{Error, Result};
use crate::ports::screener::{ScreenerError, ScreeningSubject};
use crate::ports::table::Query;

impl Services {
    /// `POST /v1/sessions/{id}/rescreen`: runs the checks again, sanctions screening on the
    /// current lists included, and stores the new report (audited). The decision is left alone:
    /// a new hit shows in the report for a reviewer to act on.
    pub async fn rescreen_session(
        &self,
        caller: &TenantPrincipal,
        session_id: &str,
    ) -> Result<TenantSessionView> {
        let (mut items, mut audit_trail) = self.tenant_session_and_log(caller, session_id).await?;
        if items.session.verification.is_none() {
            return Err(Error::conflict(
                "The session has no verification report yet: it is checked when the end user finishes",
            ));
        }
        let report = self.verification_report(&items, self.now()).await?;
        let mut change =
            SessionChange::new(self, &items.session, Actor::Tenant { key_id: caller.key_id.clone() });
        change.set_verification(report.clone());
        change.audit(AuditAction::SessionRescreened, None, Vec::new());
        let at = change.at();
        audit_trail.extend(change.commit(self).await?);
        // The view as committed, without reading it again (as a review answers).
        let session = &mut items.session;
        session.version += 1;
        session.updated_at = at;
        session.verification = Some(report);
        self.tenant_view(items, audit_trail).await
    }

    /// The verification report of a session as its items stand (one Query per document number
    /// read, for the duplicate check).
    pub(crate) async fn verification_report(
        &self,
        items: &SessionItems,
        at: Timestamp,
    ) -> Result<VerificationReport> {
        let mut evidence = gather(items, at);
        evidence.duplicates = self.duplicate_sessions(items).await?;
        match self.screen_parties(&evidence).await {
            Ok(screening) => evidence.screening = screening,
            // A session is never held up, nor passed, because the lists are out of reach: the
            // check asks a reviewer, who can screen again once they load.
            Err(error) => {
                tracing::warn!(error = %error, "sanctions screening unavailable");
                evidence.screening_unavailable = true;
            }
        }
        let config = items.session.workflow.verification_config.clone().unwrap_or_default();
        Ok(checks::evaluate(&evidence, &config, at))
    }

    /// Screens the end user (by declared or read name, birth date and nationality) and every
    /// related party (by label); `None` without a screener or anyone to name.
    async fn screen_parties(&self, evidence: &Evidence) -> Result<Option<ScreeningEvidence>, ScreenerError> {
        let Some(screener) = &self.screener else { return Ok(None) };
        let document = evidence.documents.first().map(|d| &d.data);
        let mut subjects = Vec::new();
        if let Some(name) = evidence.declared.name().or_else(|| document.and_then(|d| d.full_name.clone())) {
            let birth = evidence
                .declared
                .date_of_birth
                .clone()
                .or_else(|| document.and_then(|d| d.date_of_birth.clone()));
            let date_of_birth = birth.as_deref().and_then(checks::parse_date);
            let nationality = evidence
                .declared
                .nationality
                .clone()
                .or_else(|| document.and_then(|d| d.nationality_alpha3.clone()));
            subjects.push(("subject".to_owned(), ScreeningSubject { name, date_of_birth, nationality }));
        }
        for party in evidence.parties.iter().flatten() {
            subjects.push((
                party.label.clone(),
                ScreeningSubject { name: party.label.clone(), date_of_birth: None, nationality: None },
            ));
        }
        if subjects.is_empty() {
            return Ok(None);
        }
        let mut screened = ScreeningEvidence { index_version: String::new(), subjects: Vec::new() };
        for (who, subject) in subjects {
            let screening = screener.screen(&subject).await?;
            screened.index_version = screening.index_version;
            screened.subjects.push((who, screening.matches));
        }
        Ok(Some(screened))
    }

    /// Other sessions of the tenant that read a document (same number and issuing country) this
    /// session read.
    async fn duplicate_sessions(&self, items: &SessionItems) -> Result<Vec<SessionId>> {
        let session = &items.session;
        let mut others: Vec<SessionId> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for document in items.documents.iter().filter(|d| d.is_confirmed()) {
            let Some(partition) =
                document.extraction.as_ref().and_then(|e| document_partition(session, &e.extracted_data))
            else {
                continue;
            };
            if seen.contains(&partition) {
                continue;
            }
            let uses = self.table.query(Query::partition(&partition)).await?;
            for item in uses.items {
                let use_: DocumentNumberUse = codec::decode(item)?;
                if use_.session_id != session.session_id && !others.contains(&use_.session_id) {
                    others.push(use_.session_id);
                }
            }
            seen.push(partition);
        }
        Ok(others)
    }
}

/// The document-number partition of an extraction, when it read a number.
pub(crate) fn document_partition(
    session: &crate::domain::session::SessionRecord,
    data: &crate::domain::extraction::ExtractedData,
) -> Option<String> {
    let number = data.document_number.as_deref().filter(|n| !n.trim().is_empty())?;
    let country = data.issuing_country.as_deref().unwrap_or("");
    Some(codec::document_number_partition(&session.tenant_id, country, number))
}

/// Everything but the duplicate lookup: a pure reading of the session's items.
fn gather(items: &SessionItems, at: Timestamp) -> Evidence {
    let session = &items.session;
    let workflow = &session.workflow;
    let progress = Progress::of(items);
    let applies = |step_id| progress.status(step_id) != StepStatus::Skipped;
    // Documents in workflow order, then upload order: the first read one is the primary.
    let mut documents = Vec::new();
    for step in workflow.steps.iter().filter(|s| applies(&s.step_id)) {
        for document in items.documents.iter().filter(|d| d.step_id == step.step_id && d.is_confirmed()) {
            if let Some(extraction) = &document.extraction {
                documents.push(DocumentEvidence {
                    doc_id: document.doc_id.to_string(),
                    data: extraction.extracted_data.clone(),
                    mrz: extraction.mrz_check.clone(),
                });
            }
        }
    }
    let mut declared = DeclaredIdentity::default();
    let mut declares_birth_date = false;
    for step in workflow.steps.iter().filter(|s| applies(&s.step_id)) {
        for field in step.all_fields() {
            if field.field_id.as_str() == "date_of_birth" && field.field_type == FieldType::Date {
                declares_birth_date = true;
            }
        }
        let Some(form) = items.step(&step.step_id).and_then(|r| r.form_data.as_ref()) else { continue };
        let text = |name: &str| form.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let slots = [
            ("full_name", &mut declared.full_name),
            ("first_name", &mut declared.first_name),
            ("last_name", &mut declared.last_name),
            ("date_of_birth", &mut declared.date_of_birth),
            ("document_number", &mut declared.document_number),
            ("nationality", &mut declared.nationality),
        ];
        for (name, slot) in slots {
            if slot.is_none() {
                *slot = text(name);
            }
        }
    }
    let liveness = workflow
        .steps
        .iter()
        .filter(|s| s.step_type == StepType::Liveness && applies(&s.step_id))
        .map(|step| {
            let config = step.liveness_config.clone().unwrap_or_default();
            let last = items
                .liveness
                .iter()
                .filter(|a| a.step_id == step.step_id)
                .filter(|a| !matches!(a.status, AttemptStatus::Pending | AttemptStatus::Superseded))
                .max_by_key(|a| a.sequence);
            LivenessEvidence {
                step_id: step.step_id.to_string(),
                required: step.required,
                min_confidence: config.min_confidence,
                min_similarity: config.face_match.as_ref().map(|m| m.min_similarity),
                attempt: last.map(|a| AttemptEvidence {
                    passed: a.status == AttemptStatus::Passed,
                    confidence: a.confidence,
                    face_similarity: a.face_similarity,
                    failure_reason: a.failure_reason.clone(),
                }),
            }
        })
        .collect();
    let collects_parties = workflow.steps.iter().any(|s| s.step_type == StepType::SubsessionCollection);
    let parties = collects_parties.then(|| {
        items
            .subsessions
            .iter()
            .map(|s| PartyEvidence { label: s.label.clone(), status: s.status_at(at) })
            .collect()
    });
    Evidence {
        today: Some(at_date(at)),
        test_mode: session.mode == Mode::Test,
        reads_documents: workflow.steps.iter().any(|s| s.extract || s.extract_required),
        documents,
        declares_birth_date,
        declared,
        liveness,
        parties,
        duplicates: Vec::new(),
        screening: None,
        screening_unavailable: false,
    }
}

fn at_date(at: Timestamp) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(at.unix()).map(|t| t.date()).unwrap_or(time::Date::MIN)
}
