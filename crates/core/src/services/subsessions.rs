//! Subsessions: sessions for a business's related parties (UBOs, directors), created and managed
//! by the end user of the parent session, with the parent's progress gated by them.
//!
//! The parent keeps one `SUB#child` item per subsession in its own partition, so listing them is
//! part of the parent's one Query; every change of a child updates that item in the same
//! transaction (see `SessionChange`). Creating and deleting are changes of the parent (its version
//! guards the count), so `max_allowed` holds under any concurrency.

use super::changes::{open_marker_change, SessionChange, CONCURRENT_CHANGE};
use super::progress::Progress;
use super::sessions::new_session_writes;
use super::Services;
use crate::codec::{self, keys, SessionItems, TokenRecord};
use crate::domain::history::{Actor, AuditAction};
use crate::domain::ids::{SessionId, StepId, WorkflowId};
use crate::domain::secrets::AccessToken;
use crate::domain::session::{
    ParentLink, SessionEvent, SessionRecord, SessionStatus, StepStatus, SubsessionRecord,
};
use crate::domain::time::Timestamp;
use crate::domain::workflow::{Step, StepType, SubsessionConfig};
use crate::error::{Error, Result};
use crate::ports::table::{AttributeValue, Condition, Update, WriteOp};
use serde::{Deserialize, Serialize};

const MAX_LABEL_CHARS: usize = 200;
const MAX_METADATA_BYTES: usize = 4 * 1024;
/// Attempts at a create or delete when other changes of the parent intervene.
const ATTEMPTS: usize = 30;

/// `POST /public/sessions/{token}/subsessions`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSubsession {
    pub step_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub label: String,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A new subsession and the link that opens it (shown here and on regeneration only).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubsessionCreated {
    pub subsession_id: SessionId,
    pub access_link: String,
    pub workflow_name: String,
    pub label: String,
    pub expires_at: i64,
    pub created_at: Timestamp,
}

/// One subsession in a listing.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubsessionSummary {
    pub subsession_id: SessionId,
    /// The subsession's current link (`null` once it expired or was canceled). Derived from a
    /// server key, the subsession and its link generation, so it is shown again without being
    /// stored; `regenerate` moves to the next generation and the old link dies.
    pub access_link: Option<String>,
    pub status: SessionStatus,
    pub label: String,
    pub tag: Option<String>,
    pub workflow_id: WorkflowId,
    pub expires_at: i64,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

/// `GET /public/sessions/{token}/subsessions`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubsessionList {
    pub subsessions: Vec<SubsessionSummary>,
    pub total: usize,
    pub completed: usize,
    pub pending: usize,
    pub min_required: u32,
    pub max_allowed: u32,
    pub can_proceed: bool,
    pub category: Option<String>,
}

/// A new link for a subsession.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkRegenerated {
    pub subsession_id: SessionId,
    pub access_link: String,
    pub expires_at: i64,
}

/// A deleted subsession.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubsessionDeleted {
    pub subsession_id: SessionId,
    pub deleted: bool,
}

/// Counts of a step's subsessions, and whether the step may complete.
pub(crate) struct Tally {
    pub(crate) completed: usize,
    pub(crate) pending: usize,
}

impl Tally {
    pub(crate) fn of(items: &SessionItems, step: &StepId, now: Timestamp) -> Self {
        let statuses = items.subsessions.iter().filter(|s| &s.step_id == step).map(|s| s.status_at(now));
        let (mut completed, mut pending) = (0, 0);
        for status in statuses {
            if status.is_finished_by_end_user() {
                completed += 1;
            } else if status.accepts_end_user_input() {
                pending += 1;
            }
        }
        Self { completed, pending }
    }

    /// Why the step cannot complete yet, if it cannot.
    pub(crate) fn blocker(&self, config: &SubsessionConfig) -> Option<String> {
        let min = config.min_required as usize;
        if self.completed + self.pending < min {
            let missing = min - self.completed - self.pending;
            return Some(format!("At least {min} subsessions are required; create {missing} more"));
        }
        if config.require_completion_before_proceed && self.pending > 0 {
            return Some(format!("{} subsessions must be completed before you can proceed", self.pending));
        }
        None
    }
}

fn collection_step<'a>(items: &'a SessionItems, step_id: &str) -> Result<(&'a Step, &'a SubsessionConfig)> {
    let not_found = || Error::validation(format!("Subsession collection step {step_id} not found"));
    let step =
        StepId::parse(step_id).ok().and_then(|id| items.session.workflow.step(&id)).ok_or_else(not_found)?;
    match (&step.step_type, &step.subsession_config) {
        (StepType::SubsessionCollection, Some(config)) => Ok((step, config)),
        _ => Err(not_found()),
    }
}

fn subsession<'a>(items: &'a SessionItems, id: &str) -> Result<&'a SubsessionRecord> {
    items
        .subsessions
        .iter()
        .find(|s| s.subsession_id.to_string() == id)
        .ok_or_else(|| Error::not_found("Subsession not found"))
}

impl Services {
    /// Creates a related party's session under a `subsession_collection` step.
    pub async fn create_subsession(
        &self,
        token: &str,
        request: CreateSubsession,
    ) -> Result<SubsessionCreated> {
        let label = request.label.trim().to_owned();
        if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
            return Err(Error::validation(format!("label must be 1 to {MAX_LABEL_CHARS} characters")));
        }
        if let Some(metadata) = &request.metadata {
            if serde_json::to_vec(metadata).map(|v| v.len()).unwrap_or(usize::MAX) > MAX_METADATA_BYTES {
                return Err(Error::validation("metadata must be at most 4 KB of JSON"));
            }
        }
        let mut items = self.open_session(token).await?;
        let (_, config) = collection_step(&items, &request.step_id)?;
        let workflow =
            self.workflow(&items.session.tenant_id, &config.workflow_id, config.workflow_version).await?;
        if super::workflows::collects_parties(&workflow.definition) {
            // Refused when the workflow was created; a later version of it may have changed.
            return Err(Error::validation("The related party's workflow collects related parties itself"));
        }
        for attempt in 1..=ATTEMPTS {
            let (step, config) = collection_step(&items, &request.step_id)?;
            let parent = &items.session;
            self.check_parent_editable(&items, step)?;
            let existing = items.subsessions.iter().filter(|s| s.step_id == step.step_id).count();
            if existing >= config.max_allowed as usize {
                return Err(Error::validation(format!(
                    "Maximum number of subsessions ({}) reached",
                    config.max_allowed
                )));
            }
            let now = self.now();
            let sequence = parent.version + 1;
            let (child, record, child_token) = self.new_subsession(
                parent,
                step,
                config,
                &workflow,
                label.clone(),
                request.metadata.clone(),
                sequence,
            );
            let mut change = SessionChange::new(self, parent, Actor::EndUser);
            for op in new_session_writes(&child)? {
                change.write(op);
            }
            let item = codec::subsession_item(&parent.session_id, &record)?;
            change.write(WriteOp::Put { item, condition: Condition::ItemAbsent });
            change.audit(AuditAction::SubsessionCreated, Some(step.step_id.clone()), Vec::new());
            match change.commit(self).await {
                Ok(_) => {
                    return Ok(SubsessionCreated {
                        subsession_id: child.session_id,
                        access_link: self.public_url(&child_token.expose()),
                        workflow_name: workflow.definition.name.clone(),
                        label,
                        expires_at: child.expires_at,
                        created_at: now,
                    })
                }
                Err(Error::Conflict(_)) if attempt < ATTEMPTS => {
                    items = self.reload_session(&items).await?;
                }
                Err(other) => return Err(other),
            }
        }
        Err(Error::conflict(CONCURRENT_CHANGE))
    }

    /// Lists the subsessions of one collection step, or of every one without `step_id`, each with
    /// its current link.
    pub async fn list_subsessions(&self, token: &str, step_id: Option<&str>) -> Result<SubsessionList> {
        let items = self.open_session(token).await?;
        let steps: Vec<(&Step, &SubsessionConfig)> = match step_id {
            Some(id) => vec![collection_step(&items, id)?],
            None => items
                .session
                .workflow
                .steps
                .iter()
                .filter_map(|s| s.subsession_config.as_ref().map(|config| (s, config)))
                .filter(|(s, _)| s.step_type == StepType::SubsessionCollection)
                .collect(),
        };
        let now = self.now();
        let mut list = SubsessionList {
            subsessions: Vec::new(),
            total: 0,
            completed: 0,
            pending: 0,
            min_required: 0,
            max_allowed: 0,
            can_proceed: true,
            category: match steps.as_slice() {
                [(_, config)] => config.category.clone().or_else(|| config.tag.clone()),
                _ => None,
            },
        };
        for (step, config) in steps {
            let tally = Tally::of(&items, &step.step_id, now);
            list.completed += tally.completed;
            list.pending += tally.pending;
            list.min_required += config.min_required;
            list.max_allowed += config.max_allowed;
            list.can_proceed &= tally.blocker(config).is_none();
            list.subsessions.extend(items.subsessions.iter().filter(|s| s.step_id == step.step_id).map(
                |s| {
                    let status = s.status_at(now);
                    SubsessionSummary {
                        subsession_id: s.subsession_id,
                        access_link: status.is_publicly_visible().then(|| {
                            self.public_url(
                                &self.subsession_token(&s.subsession_id, s.link_generation).expose(),
                            )
                        }),
                        status,
                        label: s.label.clone(),
                        tag: s.tag.clone(),
                        workflow_id: s.workflow_id.clone(),
                        expires_at: s.expires_at,
                        created_at: s.created_at,
                        completed_at: s.completed_at,
                    }
                },
            ));
        }
        list.total = list.subsessions.len();
        Ok(list)
    }

    /// A related party's new session under `step` of `parent`, its record in the parent's
    /// partition, and the token of its first link: the writes are the caller's (one transaction).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_subsession(
        &self,
        parent: &SessionRecord,
        step: &Step,
        config: &SubsessionConfig,
        workflow: &crate::domain::workflow::WorkflowRecord,
        label: String,
        metadata: Option<serde_json::Map<String, serde_json::Value>>,
        sequence: u64,
    ) -> (SessionRecord, SubsessionRecord, AccessToken) {
        let now = self.now();
        let child_id = SessionId::mint();
        let token = self.subsession_token(&child_id, 0);
        let child = SessionRecord {
            session_id: child_id,
            tenant_id: parent.tenant_id.clone(),
            mode: parent.mode,
            workflow_id: workflow.workflow_id.clone(),
            workflow_version: workflow.version,
            workflow: workflow.definition.clone(),
            status: SessionStatus::Active,
            version: 1,
            token_hash: token.hash(),
            expires_at: parent.expires_at.min(now.unix() + self.settings.default_session_ttl_seconds),
            created_at: now,
            updated_at: now,
            external_reference: parent.external_reference.clone(),
            metadata: metadata.clone(),
            parent: Some(ParentLink { session_id: parent.session_id, step_id: step.step_id.clone() }),
            redirect_url: None,
            decision: None,
            verification: None,
            redaction: None,
        };
        let record = SubsessionRecord {
            subsession_id: child.session_id,
            sequence,
            step_id: step.step_id.clone(),
            label,
            tag: config.tag.clone(),
            workflow_id: child.workflow_id.clone(),
            workflow_version: child.workflow_version,
            status: SessionStatus::Active,
            expires_at: child.expires_at,
            created_at: now,
            completed_at: None,
            metadata,
            link_generation: 0,
        };
        (child, record, token)
    }

    /// The access token of a subsession's current link (derived, so it can be shown again).
    fn subsession_token(&self, subsession: &SessionId, generation: u32) -> AccessToken {
        self.settings.idempotency.sealing_key.derive_access_token(&format!("{subsession}:{generation}"))
    }

    /// Gives a subsession a new link; the old one stops working at once.
    pub async fn regenerate_subsession_link(
        &self,
        token: &str,
        subsession_id: &str,
    ) -> Result<LinkRegenerated> {
        let parent = self.open_session(token).await?;
        let record = subsession(&parent, subsession_id)?;
        let child = self
            .load_session(&record.subsession_id)
            .await?
            .ok_or_else(|| Error::not_found("Subsession not found"))?;
        let now = self.now();
        let status = child.session.status_at(now);
        if !status.accepts_end_user_input() {
            return Err(Error::forbidden(format!("Subsession is {status}; its link cannot be regenerated")));
        }
        let generation = record.link_generation + 1;
        let new_token = self.subsession_token(&record.subsession_id, generation);
        let expires_at =
            parent.session.expires_at.min(now.unix() + self.settings.default_session_ttl_seconds);
        let session = &child.session;
        let token_record = TokenRecord { session_id: session.session_id, expires_at };
        let ops = vec![
            WriteOp::Update(
                Update::new(keys::session(&session.session_id), Condition::VersionIs(session.version))
                    .set("token_hash", AttributeValue::S(new_token.hash().as_str().into()))
                    .set("expires_at", AttributeValue::N(expires_at.to_string()))
                    .set("version", AttributeValue::N((session.version + 1).to_string()))
                    .set("updated_at", AttributeValue::S(now.rfc3339())),
            ),
            WriteOp::Put {
                item: codec::token_item(&new_token.hash(), &token_record)?,
                condition: Condition::ItemAbsent,
            },
            WriteOp::Delete { key: keys::token(&session.token_hash), condition: Condition::Always },
            WriteOp::Put {
                item: codec::audit_item(
                    &session.session_id,
                    session.version + 1,
                    &child_audit(now, AuditAction::SubsessionLinkRegenerated, status, status),
                )?,
                condition: Condition::ItemAbsent,
            },
            // The session stays open with a new expiry: its marker moves in the expiry index.
            WriteOp::Put {
                item: codec::open_marker_item(&session.session_id, expires_at)?,
                condition: Condition::Always,
            },
            WriteOp::Update(
                Update::new(
                    keys::subsession(&parent.session.session_id, &session.session_id),
                    Condition::ItemExists,
                )
                .set("expires_at", AttributeValue::N(expires_at.to_string()))
                .set("link_generation", AttributeValue::N(generation.to_string())),
            ),
        ];
        self.table.transact(ops).await.map_err(|e| match e {
            crate::ports::table::StoreError::ConditionFailed { .. } => Error::conflict(CONCURRENT_CHANGE),
            other => other.into(),
        })?;
        Ok(LinkRegenerated {
            subsession_id: session.session_id,
            access_link: self.public_url(&new_token.expose()),
            expires_at,
        })
    }

    /// Deletes an unfinished subsession; its link dies and the counts drop.
    pub async fn delete_subsession(&self, token: &str, subsession_id: &str) -> Result<SubsessionDeleted> {
        let mut parent = self.open_session(token).await?;
        for attempt in 1..=ATTEMPTS {
            let record = subsession(&parent, subsession_id)?;
            let step = parent
                .session
                .workflow
                .step(&record.step_id)
                .ok_or_else(|| Error::not_found("Subsession not found"))?;
            self.check_parent_editable(&parent, step)?;
            let child = self
                .load_session(&record.subsession_id)
                .await?
                .ok_or_else(|| Error::not_found("Subsession not found"))?;
            let status = child.session.status;
            // Deleting is the child's cancellation, through the state machine like any other;
            // only an unfinished child may go.
            let canceled_status =
                status.on(SessionEvent::Cancel).ok().filter(|_| status.accepts_end_user_input()).ok_or_else(
                    || Error::forbidden(format!("A subsession that is {status} cannot be deleted")),
                )?;
            let session = &child.session;
            let mut change = SessionChange::new(self, &parent.session, Actor::EndUser);
            change.write(WriteOp::Delete {
                key: keys::subsession(&parent.session.session_id, &session.session_id),
                condition: Condition::ItemExists,
            });
            let mut canceled =
                Update::new(keys::session(&session.session_id), Condition::VersionIs(session.version))
                    .set("status", AttributeValue::S(canceled_status.as_str().into()))
                    .set("version", AttributeValue::N((session.version + 1).to_string()))
                    .set("updated_at", AttributeValue::S(change.at().rfc3339()));
            for (name, value) in codec::status_index_attributes(session, canceled_status) {
                canceled = canceled.set(name, value);
            }
            change.write(WriteOp::Update(canceled));
            if let Some(op) = open_marker_change(session, status, canceled_status)? {
                change.write(op);
            }
            // The child's own trail records it too.
            let entry = child_audit(change.at(), AuditAction::SubsessionDeleted, status, canceled_status);
            change.write(WriteOp::Put {
                item: codec::audit_item(&session.session_id, session.version + 1, &entry)?,
                condition: Condition::ItemAbsent,
            });
            change.write(WriteOp::Delete {
                key: keys::token(&session.token_hash),
                condition: Condition::Always,
            });
            change.audit(AuditAction::SubsessionDeleted, Some(record.step_id.clone()), Vec::new());
            match change.commit(self).await {
                Ok(_) => return Ok(SubsessionDeleted { subsession_id: session.session_id, deleted: true }),
                Err(Error::Conflict(_)) if attempt < ATTEMPTS => {
                    parent = self.reload_session(&parent).await?;
                }
                Err(other) => return Err(other),
            }
        }
        Err(Error::conflict(CONCURRENT_CHANGE))
    }

    /// The parent's collection step must still be open to add or remove subsessions.
    fn check_parent_editable(&self, items: &SessionItems, step: &Step) -> Result<()> {
        let status = items.session.status_at(self.now());
        if !status.accepts_end_user_input() {
            return Err(Error::forbidden(format!("Session is {status} and no longer accepts changes")));
        }
        match Progress::of(items).status(&step.step_id) {
            StepStatus::Completed => Err(Error::forbidden("Step already completed")),
            StepStatus::Skipped => Err(Error::forbidden("This step does not apply to the session")),
            StepStatus::NeedsCorrection => Ok(()),
            _ if status == SessionStatus::AwaitingClientCorrection => {
                Err(Error::forbidden("Only steps with open correction requests can be edited"))
            }
            _ => Ok(()),
        }
    }
}

/// An entry of a subsession's own audit trail for a change its parent's end user made.
fn child_audit(
    at: Timestamp,
    action: AuditAction,
    from: SessionStatus,
    to: SessionStatus,
) -> crate::domain::history::AuditEntry {
    crate::domain::history::AuditEntry {
        at,
        actor: Actor::EndUser,
        action,
        step_id: None,
        from_status: from,
        to_status: to,
        changed_fields: Vec::new(),
        documents: Vec::new(),
    }
}
