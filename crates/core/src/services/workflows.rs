//! Workflows: versions created once and never changed, and per workflow a head (name, latest
//! version, unique slug, archived) that the listing reads; plus the tenant's default workflow.
//!
//! A slug is unique per tenant because it is claimed by an item of its own (`WFSLUG#slug`), written
//! with `ItemAbsent` in the same transaction as the workflow: of two concurrent claims one wins.

use super::Services;
use crate::codec::{self, keys, WorkflowPointer, POINTER_WORKFLOW_ID};
use crate::domain::ids::{TenantId, WorkflowId};
use crate::domain::tenant::TenantPrincipal;
use crate::domain::time::Timestamp;
use crate::domain::workflow::{WorkflowDefinition, WorkflowHead, WorkflowRecord, WorkflowSlug};
use crate::error::{Error, Result};
use crate::ports::table::{AttributeValue, Condition, Cursor, Query, StoreError, WriteOp};
use serde::{Deserialize, Serialize};

/// Settings given with a new workflow (beside its definition).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    #[serde(default)]
    pub slug: Option<WorkflowSlug>,
    /// Make it the tenant's default workflow.
    #[serde(default)]
    pub default: bool,
}

/// `PATCH /v1/workflows/{id}`: each field present is changed.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkflow {
    #[serde(default)]
    pub slug: Option<WorkflowSlug>,
    #[serde(default)]
    pub archived: Option<bool>,
    /// `true` makes it the default; `false` clears the default if it is this workflow.
    #[serde(default)]
    pub default: Option<bool>,
}

/// A workflow in the listing: its head, and whether it is the default.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowSummary {
    pub workflow_id: WorkflowId,
    pub name: String,
    pub latest_version: u32,
    pub slug: Option<WorkflowSlug>,
    pub archived: bool,
    pub default: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One page of `GET /v1/workflows`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowPage {
    pub workflows: Vec<WorkflowSummary>,
    pub next_cursor: Option<String>,
}

/// A workflow chosen for a new session, with the condition that it is still not archived.
pub(crate) struct Startable {
    pub workflow_id: WorkflowId,
    pub check: WriteOp,
}

impl Services {
    /// Creates a workflow at version 1.
    pub async fn create_workflow(
        &self,
        caller: &TenantPrincipal,
        definition: WorkflowDefinition,
    ) -> Result<WorkflowRecord> {
        self.create_workflow_with(caller, definition, WorkflowSettings::default()).await
    }

    /// Creates a workflow at version 1 with its head, its slug claim and, if asked, as the
    /// default: one transaction. A slug already claimed answers 409 `SLUG_TAKEN`.
    pub async fn create_workflow_with(
        &self,
        caller: &TenantPrincipal,
        definition: WorkflowDefinition,
        settings: WorkflowSettings,
    ) -> Result<WorkflowRecord> {
        let definition = definition.validate().map_err(Error::Validation)?;
        self.check_subsession_workflows(&caller.tenant_id, &definition).await?;
        let now = self.now();
        let record = WorkflowRecord {
            workflow_id: WorkflowId::mint(),
            tenant_id: caller.tenant_id.clone(),
            version: 1,
            created_at: now,
            definition,
        };
        let head = WorkflowHead {
            workflow_id: record.workflow_id.clone(),
            tenant_id: caller.tenant_id.clone(),
            name: record.definition.name.clone(),
            latest_version: 1,
            slug: settings.slug.clone(),
            archived: false,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut ops = vec![
            WriteOp::Put { item: codec::workflow_item(&record)?, condition: Condition::ItemAbsent },
            WriteOp::Put { item: codec::workflow_head_item(&head)?, condition: Condition::ItemAbsent },
        ];
        let slug_op = settings.slug.as_ref().map(|_| ops.len());
        if let Some(slug) = &settings.slug {
            ops.push(WriteOp::Put {
                item: codec::workflow_slug_item(&caller.tenant_id, slug, &record.workflow_id)?,
                condition: Condition::ItemAbsent,
            });
        }
        if settings.default {
            ops.push(WriteOp::Put {
                item: codec::default_workflow_item(&caller.tenant_id, &record.workflow_id)?,
                condition: Condition::Always,
            });
        }
        match self.table.transact(ops).await {
            Ok(()) => Ok(record),
            Err(StoreError::ConditionFailed { op }) if op.is_some() && op == slug_op => {
                Err(slug_taken(settings.slug.as_ref()))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// `GET /v1/workflows`: the tenant's workflows (their heads, latest version first of all),
    /// one Query per page, ordered by id.
    pub async fn list_workflows(
        &self,
        caller: &TenantPrincipal,
        limit: Option<usize>,
        cursor: Option<String>,
    ) -> Result<WorkflowPage> {
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit must be between 1 and 100"));
        }
        let query = Query::partition(keys::tenant_partition(&caller.tenant_id))
            .prefix(keys::WORKFLOW_HEADS_PREFIX)
            .limit(limit)
            .after(cursor.map(Cursor));
        let page = self.table.query(query).await.map_err(|e| match e {
            StoreError::Invalid(_) => Error::validation("cursor is not valid for this listing"),
            other => other.into(),
        })?;
        let default = self.default_workflow_id(&caller.tenant_id).await?;
        let workflows = page
            .items
            .into_iter()
            .map(|item| {
                codec::decode::<WorkflowHead>(item).map(|head| WorkflowSummary {
                    default: default.as_ref() == Some(&head.workflow_id),
                    workflow_id: head.workflow_id,
                    name: head.name,
                    latest_version: head.latest_version,
                    slug: head.slug,
                    archived: head.archived,
                    created_at: head.created_at,
                    updated_at: head.updated_at,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkflowPage { workflows, next_cursor: page.next.map(|c| c.0) })
    }

    /// `PATCH /v1/workflows/{id}`: slug, archived, default, in one transaction conditioned on
    /// the head's version (a concurrent change answers 409; retry).
    pub async fn update_workflow(
        &self,
        caller: &TenantPrincipal,
        workflow_id: &WorkflowId,
        request: UpdateWorkflow,
    ) -> Result<WorkflowSummary> {
        let tenant = &caller.tenant_id;
        let (mut head, condition) = self.workflow_head_or_legacy(tenant, workflow_id).await?;
        let default = self.default_workflow_id(tenant).await?;
        let is_default = default.as_ref() == Some(workflow_id);
        let archived = request.archived.unwrap_or(head.archived);
        if archived && request.default == Some(true) {
            return Err(Error::WrongState {
                code: "WORKFLOW_ARCHIVED",
                message: "An archived workflow cannot be the default; unarchive it first".into(),
            });
        }
        let mut ops = Vec::new();
        let mut slug_op = None;
        if let Some(slug) = request.slug.as_ref().filter(|slug| head.slug.as_ref() != Some(*slug)) {
            slug_op = Some(ops.len());
            ops.push(WriteOp::Put {
                item: codec::workflow_slug_item(tenant, slug, workflow_id)?,
                condition: Condition::ItemAbsent,
            });
            if let Some(old) = &head.slug {
                ops.push(WriteOp::Delete {
                    key: keys::workflow_slug(tenant, old),
                    condition: points_at(workflow_id),
                });
            }
            head.slug = Some(slug.clone());
        }
        let clear_default = is_default && (archived || request.default == Some(false));
        if clear_default {
            ops.push(WriteOp::Delete {
                key: keys::default_workflow(tenant),
                condition: points_at(workflow_id),
            });
        } else if request.default == Some(true) && !is_default {
            ops.push(WriteOp::Put {
                item: codec::default_workflow_item(tenant, workflow_id)?,
                condition: match &default {
                    Some(other) => points_at(other),
                    None => Condition::ItemAbsent,
                },
            });
        }
        head.archived = archived;
        head.updated_at = self.now();
        head.version += 1;
        ops.push(WriteOp::Put { item: codec::workflow_head_item(&head)?, condition });
        match self.table.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { op }) if op.is_some() && op == slug_op => {
                return Err(slug_taken(head.slug.as_ref()))
            }
            Err(StoreError::ConditionFailed { .. }) => {
                return Err(Error::conflict("The workflow was changed concurrently; reload and retry"))
            }
            Err(other) => return Err(other.into()),
        }
        let now_default = (is_default && !clear_default) || request.default == Some(true);
        Ok(WorkflowSummary {
            workflow_id: head.workflow_id,
            name: head.name,
            latest_version: head.latest_version,
            slug: head.slug,
            archived: head.archived,
            default: now_default,
            created_at: head.created_at,
            updated_at: head.updated_at,
        })
    }

    /// The workflow a new session starts on: `workflow_id`, the workflow claiming `slug` (one
    /// GetItem), or the tenant's default (one GetItem), with the check, written in the session's
    /// own transaction, that it is not archived.
    pub(crate) async fn startable_workflow(
        &self,
        caller: &TenantPrincipal,
        workflow_id: Option<WorkflowId>,
        slug: Option<&str>,
    ) -> Result<Startable> {
        let tenant = &caller.tenant_id;
        let workflow_id = match (workflow_id, slug) {
            (Some(_), Some(_)) => {
                return Err(Error::validation("Give workflow_id or workflow_slug, not both"));
            }
            (Some(id), None) => id,
            (None, Some(text)) => {
                let not_found = || Error::not_found(format!("No workflow has the slug '{text}'"));
                let slug = WorkflowSlug::parse(text).ok_or_else(not_found)?;
                let item =
                    self.table.get(&keys::workflow_slug(tenant, &slug)).await?.ok_or_else(not_found)?;
                codec::decode::<WorkflowPointer>(item)?.workflow_id
            }
            (None, None) => self.default_workflow_id(tenant).await?.ok_or_else(|| {
                Error::validation(
                    "No workflow_id or workflow_slug given and no default workflow is set: pass one, or \
                     make a workflow the default with PATCH /v1/workflows/{workflow_id} {\"default\": true}",
                )
            })?,
        };
        // No read of the head: the session's transaction checks it, so starting from an id costs
        // nothing extra and an archive that lands meanwhile still refuses the session. A workflow
        // created before heads existed has none and is not archived.
        let head_key = keys::workflow_head(tenant, &workflow_id);
        let check = Condition::AnyOf(vec![
            Condition::ItemAbsent,
            Condition::AttrEquals("archived".into(), AttributeValue::Bool(false)),
        ]);
        Ok(Startable { workflow_id, check: WriteOp::Check { key: head_key, condition: check } })
    }

    async fn default_workflow_id(&self, tenant: &TenantId) -> Result<Option<WorkflowId>> {
        match self.table.get(&keys::default_workflow(tenant)).await? {
            Some(item) => Ok(Some(codec::decode::<WorkflowPointer>(item)?.workflow_id)),
            None => Ok(None),
        }
    }

    /// A workflow's head with the condition to replace it; workflows created before heads
    /// existed get one built from their latest version (written with `ItemAbsent`).
    async fn workflow_head_or_legacy(
        &self,
        tenant: &TenantId,
        workflow_id: &WorkflowId,
    ) -> Result<(WorkflowHead, Condition)> {
        if let Some(item) = self.table.get(&keys::workflow_head(tenant, workflow_id)).await? {
            let head: WorkflowHead = codec::decode(item)?;
            let condition = Condition::VersionIs(head.version);
            return Ok((head, condition));
        }
        let latest = self.workflow(tenant, workflow_id, None).await?;
        let head = WorkflowHead {
            workflow_id: workflow_id.clone(),
            tenant_id: tenant.clone(),
            name: latest.definition.name.clone(),
            latest_version: latest.version,
            slug: None,
            archived: false,
            created_at: latest.created_at,
            updated_at: latest.created_at,
            version: 0,
        };
        Ok((head, Condition::ItemAbsent))
    }

    /// Adds the next version of an existing workflow. Two racing calls cannot take one number.
    pub async fn create_workflow_version(
        &self,
        caller: &TenantPrincipal,
        workflow_id: &WorkflowId,
        definition: WorkflowDefinition,
    ) -> Result<WorkflowRecord> {
        let definition = definition.validate().map_err(Error::Validation)?;
        if let Some(step) = definition
            .steps
            .iter()
            .find(|s| s.subsession_config.as_ref().is_some_and(|c| &c.workflow_id == workflow_id))
        {
            return Err(Error::validation(format!(
                "step '{}': a workflow cannot collect related parties through itself",
                step.step_id
            )));
        }
        self.check_subsession_workflows(&caller.tenant_id, &definition).await?;
        let latest = self.workflow(&caller.tenant_id, workflow_id, None).await?;
        let (mut head, head_condition) = self.workflow_head_or_legacy(&caller.tenant_id, workflow_id).await?;
        let record = WorkflowRecord {
            workflow_id: workflow_id.clone(),
            tenant_id: caller.tenant_id.clone(),
            version: latest.version + 1,
            created_at: self.now(),
            definition,
        };
        head.name = record.definition.name.clone();
        head.latest_version = record.version;
        head.updated_at = record.created_at;
        head.version += 1;
        let ops = vec![
            WriteOp::Put { item: codec::workflow_item(&record)?, condition: Condition::ItemAbsent },
            WriteOp::Put { item: codec::workflow_head_item(&head)?, condition: head_condition },
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok(record),
            Err(StoreError::ConditionFailed { .. }) => Err(Error::conflict(format!(
                "version {} of this workflow was created concurrently; retry",
                record.version
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// Every workflow a `subsession_collection` step names must exist for this tenant and collect
    /// no related parties of its own.
    async fn check_subsession_workflows(
        &self,
        tenant: &TenantId,
        definition: &WorkflowDefinition,
    ) -> Result<()> {
        for step in &definition.steps {
            if let Some(config) = &step.subsession_config {
                match self.workflow(tenant, &config.workflow_id, config.workflow_version).await {
                    Err(Error::NotFound(_)) => {
                        return Err(Error::validation(format!(
                        "step '{}': subsession_config.workflow_id '{}' does not name one of your workflows",
                        step.step_id, config.workflow_id
                    )))
                    }
                    Err(other) => return Err(other),
                    // Related parties do not collect related parties: no chain, no cycle.
                    Ok(child) if collects_parties(&child.definition) => {
                        return Err(Error::validation(format!(
                            "step '{}': workflow '{}' collects related parties itself; a related party's \
                             workflow cannot",
                            step.step_id, config.workflow_id
                        )))
                    }
                    Ok(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Reads one version of a tenant's workflow, or its latest version.
    pub async fn workflow(
        &self,
        tenant: &TenantId,
        workflow_id: &WorkflowId,
        version: Option<u32>,
    ) -> Result<WorkflowRecord> {
        let item = match version {
            Some(version) => self.table.get(&keys::workflow_version(tenant, workflow_id, version)).await?,
            None => {
                let query = Query::partition(keys::tenant_partition(tenant))
                    .prefix(keys::workflow_versions_prefix(workflow_id))
                    .descending()
                    .limit(1);
                self.table.query(query).await?.items.into_iter().next()
            }
        };
        let item = item.ok_or_else(|| Error::not_found("Workflow not found"))?;
        Ok(codec::decode(item)?)
    }
}

/// Whether a workflow has a step that collects related parties.
pub(crate) fn collects_parties(definition: &WorkflowDefinition) -> bool {
    definition.steps.iter().any(|s| s.subsession_config.is_some())
}

/// The condition that a pointer item (slug claim, default) still points at `workflow`.
fn points_at(workflow: &WorkflowId) -> Condition {
    Condition::AttrEquals(POINTER_WORKFLOW_ID.into(), AttributeValue::S(workflow.as_str().to_owned()))
}

fn slug_taken(slug: Option<&WorkflowSlug>) -> Error {
    Error::AlreadyDone {
        code: "SLUG_TAKEN",
        message: format!(
            "Another of your workflows has the slug '{}'",
            slug.map(WorkflowSlug::as_str).unwrap_or_default()
        ),
    }
}
