//! Governance: approvals, their participants, and the audit log. Filters and orderings
//! for their connections, the GraphQL approval status, and the open-approval aggregates.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Enum, InputObject};
use bduf_core::{EntityLoader, Error, Result, check_len, ordering, target_type};
use chrono::{DateTime, Utc};
use entity::{approval_participants, approvals, audit_log};
use sea_orm::{ColumnTrait, Condition, DbErr};
use uuid::Uuid;

/// Where an approval, or one approver's response, stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::sea_orm_active_enums::ApprovalStatus")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

/// Which approvals to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ApprovalFilter {
    pub project_id: Option<Uuid>,
    pub status: Option<ApprovalStatus>,
    pub approval_type: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub requested_by: Option<Uuid>,
}

impl ApprovalFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.approvalType", self.approval_type.as_ref(), 100)?;
        let mut c = Condition::all();
        if let Some(v) = self.project_id {
            c = c.add(approvals::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.status {
            c = c.add(
                approvals::Column::Status.eq(entity::sea_orm_active_enums::ApprovalStatus::from(v)),
            );
        }
        if let Some(v) = &self.approval_type {
            c = c.add(approvals::Column::ApprovalType.eq(v.clone()));
        }
        if let Some(v) = &self.target_type {
            c = c.add(approvals::Column::TargetType.eq(target_type("filter.targetType", v)?));
        }
        if let Some(v) = self.target_id {
            c = c.add(approvals::Column::TargetId.eq(v));
        }
        if let Some(v) = self.requested_by {
            c = c.add(approvals::Column::RequestedBy.eq(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order approvals.
    ApprovalOrder, ApprovalOrderField, approvals::Model {
        CreatedAt => approvals::Column::CreatedAt,
    }
);

/// Which approval participants to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ApprovalParticipantFilter {
    pub approval_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub response: Option<ApprovalStatus>,
}

impl ApprovalParticipantFilter {
    pub fn condition(&self) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.approval_id {
            c = c.add(approval_participants::Column::ApprovalId.eq(v));
        }
        if let Some(v) = self.user_id {
            c = c.add(approval_participants::Column::UserId.eq(v));
        }
        if let Some(v) = self.response {
            c = c.add(
                approval_participants::Column::Response
                    .eq(entity::sea_orm_active_enums::ApprovalStatus::from(v)),
            );
        }
        Ok(c)
    }
}

/// Which audit-log entries to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct AuditLogFilter {
    /// The table changed; with `recordId`, one record's history.
    pub table_name: Option<String>,
    pub record_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub operation: Option<String>,
    /// Entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl AuditLogFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.tableName", self.table_name.as_ref(), 100)?;
        if let Some(op) = &self.operation
            && !["INSERT", "UPDATE", "DELETE"].contains(&op.as_str())
        {
            return Err(Error::invalid(
                "filter.operation",
                format!("must be INSERT, UPDATE or DELETE, got {op:?}"),
            ));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(Error::invalid(
                "filter.to",
                format!("must not be before from ({from})"),
            ));
        }
        let mut c = Condition::all();
        if let Some(v) = &self.table_name {
            c = c.add(audit_log::Column::TableName.eq(v.clone()));
        }
        if let Some(v) = self.record_id {
            c = c.add(audit_log::Column::RecordId.eq(v));
        }
        if let Some(v) = self.user_id {
            c = c.add(audit_log::Column::UserId.eq(v));
        }
        if let Some(v) = self.session_id {
            c = c.add(audit_log::Column::SessionId.eq(v));
        }
        if let Some(v) = &self.operation {
            c = c.add(audit_log::Column::Operation.eq(v.clone()));
        }
        if let Some(v) = self.from {
            c = c.add(audit_log::Column::CreatedAt.gte(v.fixed_offset()));
        }
        if let Some(v) = self.to {
            c = c.add(audit_log::Column::CreatedAt.lt(v.fixed_offset()));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order audit-log entries.
    AuditLogOrder, AuditLogOrderField, audit_log::Model {
        CreatedAt => audit_log::Column::CreatedAt,
    }
);

/// Key: a project's pending approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenApprovalsOf(pub Uuid);

/// Key: an organization's pending approvals, over all its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationOpenApprovalsOf(pub Uuid);

async fn pending_counts(
    loader: &EntityLoader,
    sql: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, i64>, Arc<DbErr>> {
    let rows = loader.db().query_with_ids(sql, ids).await?;
    let mut out: HashMap<Uuid, i64> = ids.iter().map(|id| (*id, 0)).collect();
    for row in rows {
        out.insert(row.try_get("", "owner")?, row.try_get("", "n")?);
    }
    Ok(out)
}

impl Loader<OpenApprovalsOf> for EntityLoader {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OpenApprovalsOf],
    ) -> Result<HashMap<OpenApprovalsOf, i64>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts = pending_counts(
            self,
            "SELECT project_id AS owner, COUNT(*) AS n FROM approvals \
             WHERE project_id IN ({ids}) AND status = 'pending' GROUP BY project_id",
            &ids,
        )
        .await?;
        Ok(counts
            .into_iter()
            .map(|(id, n)| (OpenApprovalsOf(id), n))
            .collect())
    }
}

impl Loader<OrganizationOpenApprovalsOf> for EntityLoader {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OrganizationOpenApprovalsOf],
    ) -> Result<HashMap<OrganizationOpenApprovalsOf, i64>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts = pending_counts(
            self,
            "SELECT p.organization_id AS owner, COUNT(*) AS n FROM approvals a \
             JOIN projects p ON p.id = a.project_id \
             WHERE p.organization_id IN ({ids}) AND a.status = 'pending' GROUP BY p.organization_id",
            &ids,
        )
        .await?;
        Ok(counts
            .into_iter()
            .map(|(id, n)| (OrganizationOpenApprovalsOf(id), n))
            .collect())
    }
}
