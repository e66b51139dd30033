//! Governance's job in the server's scheduler: a pending approval with
//! `autoApproveAfterHours` approves itself once that long has passed since it was
//! requested, and its requester is notified, as for an approver's decision.

use bduf_core::notify;
use bduf_core::system::SystemTxn;
use bduf_core::{Map, Result};
use chrono::{DateTime, Duration, FixedOffset};
use entity::approvals;
use entity::sea_orm_active_enums::ApprovalStatus;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::commands::decided;

/// A pending approval with a deadline: id, organization, requested at, hours.
type Pending = (Uuid, Uuid, Option<DateTime<FixedOffset>>, Option<i32>);

/// The rationale an approval approved by its deadline keeps, unless it had one.
pub const RATIONALE: &str = "Approved automatically: no decision within autoApproveAfterHours";

/// Approves the pending approvals whose `autoApproveAfterHours` have passed by `now`,
/// in `run`, and notifies their requesters. Returns the approvals it approved. An
/// approval decided meanwhile (an approver's answer holds its row lock until it commits)
/// is left as decided.
pub async fn auto_approve(
    run: &SystemTxn,
    now: DateTime<FixedOffset>,
) -> Result<Vec<approvals::Model>> {
    let pending: Vec<Pending> = approvals::Entity::find()
        .select_only()
        .columns([
            approvals::Column::Id,
            approvals::Column::OrganizationId,
            approvals::Column::CreatedAt,
            approvals::Column::AutoApproveAfterHours,
        ])
        .filter(approvals::Column::Status.eq(ApprovalStatus::Pending))
        .filter(approvals::Column::AutoApproveAfterHours.is_not_null())
        .order_by_asc(approvals::Column::OrganizationId)
        .order_by_asc(approvals::Column::Id)
        .into_tuple()
        .all(run.conn())
        .await?;
    let mut due: Map<Uuid, Vec<Uuid>> = Map::default();
    for (id, organization, created, hours) in pending {
        if let (Some(created), Some(hours)) = (created, hours)
            && created + Duration::hours(i64::from(hours)) <= now
        {
            due.entry(organization).or_default().push(id);
        }
    }
    let mut organizations: Vec<Uuid> = due.keys().copied().collect();
    organizations.sort_unstable();
    let mut approved = Vec::new();
    for organization in organizations {
        run.act_in(organization).await?;
        let ids = due.remove(&organization).unwrap_or_default();
        let rows = approvals::Entity::update_many()
            .col_expr(
                approvals::Column::Status,
                ApprovalStatus::Approved.as_enum(),
            )
            .col_expr(approvals::Column::ResolvedAt, Expr::value(now))
            .col_expr(
                approvals::Column::DecisionRationale,
                Func::coalesce([
                    Expr::col(approvals::Column::DecisionRationale),
                    Expr::val(RATIONALE),
                ])
                .into(),
            )
            .filter(approvals::Column::Id.is_in(ids))
            .filter(approvals::Column::OrganizationId.eq(organization))
            .filter(approvals::Column::Status.eq(ApprovalStatus::Pending))
            .exec_with_returning(run.conn())
            .await?;
        let notices = rows.iter().map(decided).collect();
        notify::write(run.conn(), organization, None, notices).await?;
        approved.extend(rows);
    }
    Ok(approved)
}
