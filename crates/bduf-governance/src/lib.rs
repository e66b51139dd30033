//! Governance: approvals, their participants, and the audit log. The read keys of their
//! tables — filters, orderings, the links they hang off — the GraphQL approval status,
//! the open-approval aggregates, the decision of an approval ([`decide`]) and the
//! commands of approvals, approvers and responses ([`commands`]).

pub mod commands;
pub mod schedule;

use async_graphql::{Enum, InputObject};
use bduf_core::Map;
use bduf_core::aggregate::{Grouped, Tally, TallyRow, by_owner, counts};
use bduf_core::read::{Filter, Link};
use bduf_core::window::{any_of, col};
use bduf_core::{Error, RequestTxn, Result, TargetType, check, ordering};
use chrono::{DateTime, Utc};
use entity::sea_orm_active_enums::ApprovalStatus as DbApprovalStatus;
use entity::{approval_participants, approvals, audit_log, projects};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, DbBackend};
use uuid::Uuid;

/// Where an approval, or one approver's response, stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::sea_orm_active_enums::ApprovalStatus")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

/// Which approvals to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ApprovalFilter {
    pub project_id: Option<Uuid>,
    pub status: Option<ApprovalStatus>,
    pub approval_type: Option<String>,
    pub target_type: Option<TargetType>,
    pub target_id: Option<Uuid>,
    pub requested_by: Option<Uuid>,
}

impl Filter for ApprovalFilter {
    type Model = approvals::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.approvalType",
            approvals::Column::ApprovalType,
            self.approval_type.as_deref(),
        )?;
        let mut c = Condition::all();
        if let Some(v) = self.project_id {
            c = c.add(approvals::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.status {
            c = c.add(approvals::Column::Status.eq(DbApprovalStatus::from(v)));
        }
        if let Some(v) = &self.approval_type {
            c = c.add(approvals::Column::ApprovalType.eq(v.clone()));
        }
        if let Some(v) = self.target_type {
            c = c.add(approvals::Column::TargetType.eq(v.as_str()));
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

/// What approvals hang off: their project, the record they are about, who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalsOf {
    Project,
    Target(TargetType),
    RequestedBy,
}

impl Link for ApprovalsOf {
    type Model = approvals::Model;
    fn column(self) -> approvals::Column {
        match self {
            ApprovalsOf::Project => approvals::Column::ProjectId,
            ApprovalsOf::Target(_) => approvals::Column::TargetId,
            ApprovalsOf::RequestedBy => approvals::Column::RequestedBy,
        }
    }
    fn scope(self) -> Option<Condition> {
        match self {
            ApprovalsOf::Target(t) => {
                Some(Condition::all().add(approvals::Column::TargetType.eq(t.as_str())))
            }
            _ => None,
        }
    }
}

/// Which approval participants to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ApprovalParticipantFilter {
    pub approval_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub response: Option<ApprovalStatus>,
}

impl Filter for ApprovalParticipantFilter {
    type Model = approval_participants::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.approval_id {
            c = c.add(approval_participants::Column::ApprovalId.eq(v));
        }
        if let Some(v) = self.user_id {
            c = c.add(approval_participants::Column::UserId.eq(v));
        }
        if let Some(v) = self.response {
            c = c.add(approval_participants::Column::Response.eq(DbApprovalStatus::from(v)));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order approval participants.
    ApprovalParticipantOrder, ApprovalParticipantOrderField, approval_participants::Model {
        RespondedAt => approval_participants::Column::RespondedAt,
    }
);

/// What approval participants hang off: their approval, their user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalParticipantsOf {
    Approval,
    User,
}

impl Link for ApprovalParticipantsOf {
    type Model = approval_participants::Model;
    fn column(self) -> approval_participants::Column {
        match self {
            ApprovalParticipantsOf::Approval => approval_participants::Column::ApprovalId,
            ApprovalParticipantsOf::User => approval_participants::Column::UserId,
        }
    }
}

/// Which audit-log entries to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
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
    /// Entries numbered after this `seq`: the change feed. With `orderBy: {field: SEQ}`,
    /// pass the last `seq` read to get everything committed since, nothing twice and
    /// nothing skipped.
    pub after_seq: Option<i64>,
    /// The entries one request caused.
    pub request_id: Option<Uuid>,
}

impl Filter for AuditLogFilter {
    type Model = audit_log::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.tableName",
            audit_log::Column::TableName,
            self.table_name.as_deref(),
        )?;
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
        if let Some(v) = self.after_seq {
            c = c.add(audit_log::Column::Seq.gt(v));
        }
        if let Some(v) = self.request_id {
            c = c.add(audit_log::Column::RequestId.eq(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order audit-log entries.
    AuditLogOrder, AuditLogOrderField, audit_log::Model {
        CreatedAt => audit_log::Column::CreatedAt,
        Seq => audit_log::Column::Seq,
    }
);

/// What audit-log entries hang off: the user who made the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditLogOf {
    User,
}

impl Link for AuditLogOf {
    type Model = audit_log::Model;
    fn column(self) -> audit_log::Column {
        match self {
            AuditLogOf::User => audit_log::Column::UserId,
        }
    }
}

/// Key: a project's pending approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenApprovalsOf(pub Uuid);

/// Key: an organization's pending approvals, over all its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationOpenApprovalsOf(pub Uuid);

impl Tally<OpenApprovalsOf> for RequestTxn {
    type Value = i64;

    fn grouped(&self, keys: &[OpenApprovalsOf]) -> Result<Grouped> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(by_owner::<approvals::Model>(
            self,
            approvals::Column::ProjectId,
            &ids,
            Condition::all().add(approvals::Column::Status.eq(DbApprovalStatus::Pending)),
        ))
    }

    fn answer(
        &self,
        keys: &[OpenApprovalsOf],
        rows: &[TallyRow],
    ) -> Result<Map<OpenApprovalsOf, i64>> {
        Ok(counts(keys, |k| k.0, rows))
    }
}

impl Tally<OrganizationOpenApprovalsOf> for RequestTxn {
    type Value = i64;

    fn grouped(&self, keys: &[OrganizationOpenApprovalsOf]) -> Result<Grouped> {
        let backend = self.backend();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let organization = col::<projects::Model>(projects::Column::OrganizationId);
        let mut select = Query::select();
        select
            .from(approvals::Entity)
            .inner_join(
                projects::Entity,
                col::<projects::Model>(projects::Column::Id)
                    .equals((approvals::Entity, approvals::Column::ProjectId)),
            )
            .expr_as(organization.clone(), "owner")
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .and_where(any_of(backend, organization.clone(), &ids))
            .and_where(approvals::Column::Status.eq(DbApprovalStatus::Pending))
            .cond_where(self.visible::<approvals::Model>())
            .add_group_by([organization]);
        Ok(Grouped {
            select,
            label: false,
            values: 0,
        })
    }

    fn answer(
        &self,
        keys: &[OrganizationOpenApprovalsOf],
        rows: &[TallyRow],
    ) -> Result<Map<OrganizationOpenApprovalsOf, i64>> {
        Ok(counts(keys, |k| k.0, rows))
    }
}

/// One approver's standing, as [`decide`] weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    /// Their answer; `None` (or pending) while they have not answered.
    pub response: Option<DbApprovalStatus>,
    /// Whether the approval cannot pass without them.
    pub required: bool,
    /// How much an approval by them counts towards the required count.
    pub weight: i32,
}

/// Where an approval stands after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pending,
    Approved,
    Rejected,
}

/// The outcome of an approval's votes. It is rejected as soon as a required approver
/// (or, when unanimity is required, any approver) rejects, or when the approvals still
/// possible can no longer reach `required_count`; it is approved once the approving
/// weight reaches `required_count` and every required approver (with unanimity: every
/// approver) has approved; otherwise it stays pending.
pub fn decide(votes: &[Vote], required_count: i32, unanimous: bool) -> Decision {
    let answered = |v: &Vote, s: DbApprovalStatus| v.response == Some(s);
    if votes
        .iter()
        .any(|v| answered(v, DbApprovalStatus::Rejected) && (v.required || unanimous))
    {
        return Decision::Rejected;
    }
    let approving: i64 = votes
        .iter()
        .filter(|v| answered(v, DbApprovalStatus::Approved))
        .map(|v| i64::from(v.weight))
        .sum();
    let open: i64 = votes
        .iter()
        .filter(|v| !answered(v, DbApprovalStatus::Approved))
        .filter(|v| !answered(v, DbApprovalStatus::Rejected))
        .map(|v| i64::from(v.weight))
        .sum();
    let needed = i64::from(required_count);
    let everyone_needed = votes
        .iter()
        .filter(|v| v.required || unanimous)
        .all(|v| answered(v, DbApprovalStatus::Approved));
    if approving >= needed && everyone_needed {
        Decision::Approved
    } else if approving + open < needed {
        Decision::Rejected
    } else {
        Decision::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPROVED: Option<DbApprovalStatus> = Some(DbApprovalStatus::Approved);
    const REJECTED: Option<DbApprovalStatus> = Some(DbApprovalStatus::Rejected);

    fn vote(response: Option<DbApprovalStatus>, required: bool, weight: i32) -> Vote {
        Vote {
            response,
            required,
            weight,
        }
    }

    #[test]
    fn weights_reach_the_required_count() {
        let votes = [vote(APPROVED, false, 2), vote(None, false, 1)];
        assert_eq!(decide(&votes, 2, false), Decision::Approved);
        assert_eq!(decide(&votes, 3, false), Decision::Pending);
    }

    #[test]
    fn a_required_approver_blocks_until_they_approve_and_rejects_alone() {
        let waiting = [vote(APPROVED, false, 5), vote(None, true, 1)];
        assert_eq!(decide(&waiting, 1, false), Decision::Pending);
        let rejected = [vote(APPROVED, false, 5), vote(REJECTED, true, 1)];
        assert_eq!(decide(&rejected, 1, false), Decision::Rejected);
    }

    #[test]
    fn an_optional_rejection_counts_only_when_unanimity_is_required() {
        let votes = [vote(APPROVED, false, 1), vote(REJECTED, false, 1)];
        assert_eq!(decide(&votes, 1, false), Decision::Approved);
        assert_eq!(decide(&votes, 1, true), Decision::Rejected);
    }

    #[test]
    fn unanimity_waits_for_every_approver() {
        let votes = [vote(APPROVED, false, 1), vote(None, false, 1)];
        assert_eq!(decide(&votes, 1, true), Decision::Pending);
    }

    #[test]
    fn an_unreachable_count_rejects() {
        let votes = [vote(REJECTED, false, 1), vote(None, false, 1)];
        assert_eq!(decide(&votes, 2, false), Decision::Rejected);
        assert_eq!(decide(&[], 1, false), Decision::Rejected);
        let pending = [vote(None, false, 1), vote(None, false, 1)];
        assert_eq!(decide(&pending, 2, false), Decision::Pending);
    }
}
