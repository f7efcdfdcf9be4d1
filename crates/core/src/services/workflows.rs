//! Workflow versions: created once, never changed.

use super::Services;
use crate::codec::{self, keys};
use crate::domain::ids::{TenantId, WorkflowId};
use crate::domain::tenant::TenantPrincipal;
use crate::domain::workflow::{WorkflowDefinition, WorkflowRecord};
use crate::error::{Error, Result};
use crate::ports::table::{Condition, Query, StoreError};

impl Services {
    /// Creates a workflow at version 1.
    pub async fn create_workflow(
        &self,
        caller: &TenantPrincipal,
        definition: WorkflowDefinition,
    ) -> Result<WorkflowRecord> {
        let definition = definition.validate().map_err(Error::Validation)?;
        self.check_subsession_workflows(&caller.tenant_id, &definition).await?;
        let record = WorkflowRecord {
            workflow_id: WorkflowId::mint(),
            tenant_id: caller.tenant_id.clone(),
            version: 1,
            created_at: self.now(),
            definition,
        };
        self.table.put(codec::workflow_item(&record)?, Condition::ItemAbsent).await?;
        Ok(record)
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
        let record = WorkflowRecord {
            workflow_id: workflow_id.clone(),
            tenant_id: caller.tenant_id.clone(),
            version: latest.version + 1,
            created_at: self.now(),
            definition,
        };
        match self.table.put(codec::workflow_item(&record)?, Condition::ItemAbsent).await {
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
