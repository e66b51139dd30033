//! Approvals, their approvers, and approvers' responses.
//!
//! Admins request, change, cancel and delete approvals and choose the approvers, who
//! must be members of the organization. Only a pending approval changes. Approvers
//! answer for themselves ([`GovernanceMutation::respond_to_approval`]) and may change
//! their answer while the approval is pending; each answer decides the approval by
//! [`bduf_governance::decide`]. Changing the approvers does not decide it: the next
//! answer does. `autoApproveAfterHours` is stored and shown, not acted on (no
//! scheduler runs yet).

use std::collections::HashSet;

use async_graphql::{Context, Enum, InputObject, Json, MaybeUndefined, Object, Result};
use bduf_core::{Error, TargetType};
use bduf_governance::{Decision, Vote, decide};
use entity::sea_orm_active_enums::{ApprovalStatus, CollaborationRole};
use entity::{approval_participants as participants, approvals, organization_members, projects};
use futures_util::FutureExt as _;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::{Tx, audit_inserts, check_name, check_range, check_text, delete, find};
use super::{db_error, now, patch, target_project, update, write};
use super::{find_for_update, insert};
use crate::generated::{Approval, ApprovalParticipant};

/// The most approvers an approval may have, and the highest required count.
pub const MAX_APPROVERS: i32 = 1000;

/// An approver's answer.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalResponse {
    Approved,
    Rejected,
}

/// An approver of an approval.
#[derive(InputObject, Debug, Clone)]
pub struct ApproverInput {
    pub user_id: Uuid,
    /// Whether the approval cannot pass without them; true when not given.
    pub is_required: Option<bool>,
    /// 1 to 100; 1 when not given.
    pub weight: Option<i32>,
}

/// A new approval request.
#[derive(InputObject, Debug)]
pub struct CreateApprovalInput {
    pub title: String,
    pub description: Option<String>,
    /// design, requirements, architecture, …
    pub approval_type: Option<String>,
    /// What is to be approved: a record of the same project.
    pub target_type: TargetType,
    pub target_id: Uuid,
    pub conditions: Option<Json<serde_json::Value>>,
    pub requires_unanimous: Option<bool>,
    /// 1 to 1000; 1 when not given.
    pub required_approver_count: Option<i32>,
    /// 1 to 8760 (a year).
    pub auto_approve_after_hours: Option<i32>,
    /// At most 1000, each a member of the organization, none twice.
    #[graphql(default)]
    pub approvers: Vec<ApproverInput>,
}

/// Changes to a pending approval: a field left out stays, `null` clears it.
#[derive(InputObject, Debug, Default)]
pub struct UpdateApprovalInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub approval_type: MaybeUndefined<String>,
    pub conditions: Option<Json<serde_json::Value>>,
    pub requires_unanimous: Option<bool>,
    pub required_approver_count: Option<i32>,
    pub auto_approve_after_hours: MaybeUndefined<i32>,
    pub decision_rationale: MaybeUndefined<String>,
}

/// Changes to an approver.
#[derive(InputObject, Debug, Default)]
pub struct UpdateApproverInput {
    pub is_required: Option<bool>,
    pub weight: Option<i32>,
}

#[allow(clippy::too_many_arguments)]
fn check_approval(
    title: Option<&str>,
    description: Option<&str>,
    approval_type: Option<&str>,
    rationale: Option<&str>,
    required_count: Option<i32>,
    auto_hours: Option<i32>,
) -> bduf_core::Result<()> {
    if let Some(title) = title {
        check_name("input.title", approvals::Column::Title, title)?;
    }
    check_text(
        "input.description",
        approvals::Column::Description,
        description,
    )?;
    check_text(
        "input.approvalType",
        approvals::Column::ApprovalType,
        approval_type,
    )?;
    check_text(
        "input.decisionRationale",
        approvals::Column::DecisionRationale,
        rationale,
    )?;
    check_range(
        "input.requiredApproverCount",
        required_count,
        1,
        MAX_APPROVERS,
    )?;
    check_range("input.autoApproveAfterHours", auto_hours, 1, 8760)
}

fn check_weight(field: &str, weight: Option<i32>) -> bduf_core::Result<()> {
    check_range(field, weight, 1, 100)
}

fn pending(approval: &approvals::Model, field: &str) -> bduf_core::Result<()> {
    match approval.status {
        None | Some(ApprovalStatus::Pending) => Ok(()),
        Some(status) => Err(Error::validation(
            field,
            format!(
                "approval {} is {} and can no longer change",
                approval.id,
                status_label(status)
            ),
        )),
    }
}

fn status_label(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Rejected => "rejected",
        ApprovalStatus::Cancelled => "cancelled",
    }
}

async fn approvers_of(tx: &Tx<'_>, approval: Uuid) -> bduf_core::Result<Vec<participants::Model>> {
    participants::Entity::find()
        .filter(participants::Column::ApprovalId.eq(approval))
        .all(tx.txn)
        .await
        .map_err(db_error)
}

fn new_approver(tx: &Tx<'_>, approval: Uuid, a: &ApproverInput) -> participants::Model {
    participants::Model {
        id: Uuid::now_v7(),
        approval_id: approval,
        user_id: a.user_id,
        response: None,
        response_notes: None,
        responded_at: None,
        is_required: Some(a.is_required.unwrap_or(true)),
        weight: Some(a.weight.unwrap_or(1)),
        organization_id: tx.organization,
    }
}

/// Checks and adds `approvers` to `approval` — none may be there already, each must be
/// a member — in a fixed number of statements however many there are. `at(i)` names
/// approver `i` in errors.
async fn add_approvers(
    tx: &Tx<'_>,
    approval: Uuid,
    approvers: &[ApproverInput],
    field: &str,
    at: impl Fn(usize) -> String,
) -> bduf_core::Result<Vec<participants::Model>> {
    let existing: HashSet<Uuid> = participants::Entity::find()
        .filter(participants::Column::ApprovalId.eq(approval))
        .select_only()
        .column(participants::Column::UserId)
        .into_tuple::<Uuid>()
        .all(tx.txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .collect();
    let total = existing.len() + approvers.len();
    if total > usize::try_from(MAX_APPROVERS).unwrap_or(0) {
        return Err(Error::validation(
            field,
            format!("an approval has at most {MAX_APPROVERS} approvers, got {total}"),
        ));
    }
    let members: HashSet<Uuid> = organization_members::Entity::find()
        .filter(organization_members::Column::OrganizationId.eq(tx.organization))
        .filter(organization_members::Column::UserId.is_in(approvers.iter().map(|a| a.user_id)))
        .select_only()
        .column(organization_members::Column::UserId)
        .into_tuple::<Uuid>()
        .all(tx.txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    for (i, a) in approvers.iter().enumerate() {
        let at = at(i);
        check_weight(&format!("{at}.weight"), a.weight)?;
        if !seen.insert(a.user_id) {
            return Err(Error::validation(
                format!("{at}.userId"),
                format!("user {} is named twice", a.user_id),
            ));
        }
        if !members.contains(&a.user_id) {
            return Err(Error::validation(
                format!("{at}.userId"),
                format!("user {} is not a member of the organization", a.user_id),
            ));
        }
        if existing.contains(&a.user_id) {
            return Err(Error::conflict(
                format!("{at}.userId"),
                "is already an approver of this approval",
            ));
        }
    }
    let added: Vec<participants::Model> = approvers
        .iter()
        .map(|a| new_approver(tx, approval, a))
        .collect();
    for chunk in added.chunks(500) {
        participants::Entity::insert_many(
            chunk
                .iter()
                .map(|m| m.clone().into_active_model().reset_all()),
        )
        .exec_without_returning(tx.txn)
        .await
        .map_err(db_error)?;
    }
    let rows: Vec<(Uuid, &participants::Model)> = added.iter().map(|m| (m.id, m)).collect();
    audit_inserts(tx, "approval_participants", &rows).await?;
    Ok(added)
}

/// Mutations of approvals and their approvers.
#[derive(Default, Debug)]
pub struct GovernanceMutation;

#[Object]
impl GovernanceMutation {
    /// Requests an approval of a record of a project (admins), requested by the viewer,
    /// with its approvers.
    async fn create_approval(
        &self,
        ctx: &Context<'_>,
        project_id: Uuid,
        input: CreateApprovalInput,
    ) -> Result<Approval> {
        write(ctx, CollaborationRole::Admin, "createApproval", move |tx| {
            async move {
                check_approval(
                    Some(&input.title),
                    input.description.as_deref(),
                    input.approval_type.as_deref(),
                    None,
                    input.required_approver_count,
                    input.auto_approve_after_hours,
                )?;
                let _: projects::Model = find(tx, project_id, "projectId", "project").await?;
                let target = target_project(tx, input.target_type, input.target_id).await?;
                match target {
                    None => {
                        return Err(Error::validation(
                            "input.targetId",
                            format!(
                                "no {} with id {}",
                                input.target_type.as_str(),
                                input.target_id
                            ),
                        ));
                    }
                    Some(p) if p != project_id => {
                        return Err(Error::validation(
                            "input.targetId",
                            "must be a record of the same project",
                        ));
                    }
                    Some(_) => {}
                }
                let now = now();
                let approval: approvals::Model = insert(
                    tx,
                    approvals::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        project_id: Set(project_id),
                        requested_by: Set(tx.viewer.user),
                        title: Set(input.title),
                        description: Set(input.description),
                        approval_type: Set(input.approval_type),
                        target_type: Set(Some(input.target_type.as_str().to_owned())),
                        target_id: Set(input.target_id),
                        status: Set(Some(ApprovalStatus::Pending)),
                        decision_rationale: Set(None),
                        conditions: Set(Some(
                            input.conditions.map_or(serde_json::json!([]), |j| j.0),
                        )),
                        requires_unanimous: Set(Some(input.requires_unanimous.unwrap_or(false))),
                        required_approver_count: Set(Some(
                            input.required_approver_count.unwrap_or(1),
                        )),
                        auto_approve_after_hours: Set(input.auto_approve_after_hours),
                        approved_by: Set(None),
                        rejected_by: Set(None),
                        resolved_at: Set(None),
                        created_at: Set(Some(now)),
                        updated_at: Set(Some(now)),
                        organization_id: Set(tx.organization),
                    },
                )
                .await?;
                add_approvers(tx, approval.id, &input.approvers, "input.approvers", |i| {
                    format!("input.approvers[{i}]")
                })
                .await?;
                Ok(Approval::from(approval))
            }
            .boxed()
        })
        .await
    }

    /// Changes a pending approval (admins).
    async fn update_approval(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateApprovalInput,
    ) -> Result<Approval> {
        write(ctx, CollaborationRole::Admin, "updateApproval", move |tx| {
            async move {
                check_approval(
                    input.title.as_deref(),
                    input.description.value().map(String::as_str),
                    input.approval_type.value().map(String::as_str),
                    input.decision_rationale.value().map(String::as_str),
                    input.required_approver_count,
                    input.auto_approve_after_hours.value().copied(),
                )?;
                let old: approvals::Model = find_for_update(tx, id, "id", "approval").await?;
                pending(&old, "id")?;
                let mut row: approvals::ActiveModel = old.clone().into();
                if let Some(v) = input.title {
                    row.title = Set(v);
                }
                patch(&mut row.description, input.description);
                patch(&mut row.approval_type, input.approval_type);
                patch(&mut row.decision_rationale, input.decision_rationale);
                patch(
                    &mut row.auto_approve_after_hours,
                    input.auto_approve_after_hours,
                );
                if let Some(j) = input.conditions {
                    row.conditions = Set(Some(j.0));
                }
                if let Some(v) = input.requires_unanimous {
                    row.requires_unanimous = Set(Some(v));
                }
                if let Some(v) = input.required_approver_count {
                    row.required_approver_count = Set(Some(v));
                }
                row.updated_at = Set(Some(now()));
                Ok(Approval::from(update(tx, &old, row).await?))
            }
            .boxed()
        })
        .await
    }

    /// Cancels a pending approval (admins), with an optional rationale.
    async fn cancel_approval(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        rationale: Option<String>,
    ) -> Result<Approval> {
        write(ctx, CollaborationRole::Admin, "cancelApproval", move |tx| {
            async move {
                check_text(
                    "rationale",
                    approvals::Column::DecisionRationale,
                    rationale.as_deref(),
                )?;
                let old: approvals::Model = find_for_update(tx, id, "id", "approval").await?;
                pending(&old, "id")?;
                let now = now();
                let mut row: approvals::ActiveModel = old.clone().into();
                row.status = Set(Some(ApprovalStatus::Cancelled));
                if rationale.is_some() {
                    row.decision_rationale = Set(rationale);
                }
                row.resolved_at = Set(Some(now));
                row.updated_at = Set(Some(now));
                Ok(Approval::from(update(tx, &old, row).await?))
            }
            .boxed()
        })
        .await
    }

    /// Deletes an approval and its approvers (admins). Returns its id.
    async fn delete_approval(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(ctx, CollaborationRole::Admin, "deleteApproval", move |tx| {
            async move {
                let old: approvals::Model = find(tx, id, "id", "approval").await?;
                delete(tx, &old).await
            }
            .boxed()
        })
        .await
    }

    /// Adds an approver to a pending approval (admins).
    async fn add_approval_participant(
        &self,
        ctx: &Context<'_>,
        approval_id: Uuid,
        input: ApproverInput,
    ) -> Result<ApprovalParticipant> {
        write(
            ctx,
            CollaborationRole::Admin,
            "addApprovalParticipant",
            move |tx| {
                async move {
                    let approval: approvals::Model =
                        find_for_update(tx, approval_id, "approvalId", "approval").await?;
                    pending(&approval, "approvalId")?;
                    let added =
                        add_approvers(tx, approval_id, &[input], "input", |_| "input".to_owned())
                            .await?;
                    added
                        .into_iter()
                        .next()
                        .map(ApprovalParticipant::from)
                        .ok_or_else(|| Error::validation("input", "no approver was added"))
                }
                .boxed()
            },
        )
        .await
    }

    /// Changes whether an approver is required, or their weight, while the approval is
    /// pending (admins).
    async fn update_approval_participant(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateApproverInput,
    ) -> Result<ApprovalParticipant> {
        write(
            ctx,
            CollaborationRole::Admin,
            "updateApprovalParticipant",
            move |tx| {
                async move {
                    check_weight("input.weight", input.weight)?;
                    let old: participants::Model =
                        find(tx, id, "id", "approval participant").await?;
                    let approval: approvals::Model =
                        find_for_update(tx, old.approval_id, "id", "approval").await?;
                    pending(&approval, "id")?;
                    let mut row: participants::ActiveModel = old.clone().into();
                    if let Some(v) = input.is_required {
                        row.is_required = Set(Some(v));
                    }
                    if let Some(v) = input.weight {
                        row.weight = Set(Some(v));
                    }
                    Ok(ApprovalParticipant::from(update(tx, &old, row).await?))
                }
                .boxed()
            },
        )
        .await
    }

    /// Removes an approver from a pending approval (admins). Returns its id.
    async fn remove_approval_participant(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(
            ctx,
            CollaborationRole::Admin,
            "removeApprovalParticipant",
            move |tx| {
                async move {
                    let old: participants::Model =
                        find(tx, id, "id", "approval participant").await?;
                    let approval: approvals::Model =
                        find_for_update(tx, old.approval_id, "id", "approval").await?;
                    pending(&approval, "id")?;
                    delete(tx, &old).await
                }
                .boxed()
            },
        )
        .await
    }

    /// Answers a pending approval the viewer is an approver of (any member), with
    /// optional notes; the answer may change while the approval is pending. Returns the
    /// approval, decided when this answer decides it.
    async fn respond_to_approval(
        &self,
        ctx: &Context<'_>,
        approval_id: Uuid,
        response: ApprovalResponse,
        notes: Option<String>,
    ) -> Result<Approval> {
        write(
            ctx,
            CollaborationRole::Viewer,
            "respondToApproval",
            move |tx| {
                async move {
                    check_text(
                        "notes",
                        participants::Column::ResponseNotes,
                        notes.as_deref(),
                    )?;
                    // The lock serializes concurrent answers, so each decides on all
                    // answers before it.
                    let old: approvals::Model =
                        find_for_update(tx, approval_id, "approvalId", "approval").await?;
                    pending(&old, "approvalId")?;
                    let mut approvers = approvers_of(tx, approval_id).await?;
                    let Some(mine) = approvers.iter_mut().find(|p| p.user_id == tx.viewer.user)
                    else {
                        return Err(Error::Forbidden(format!(
                            "you are not an approver of approval {approval_id}"
                        )));
                    };
                    let status = match response {
                        ApprovalResponse::Approved => ApprovalStatus::Approved,
                        ApprovalResponse::Rejected => ApprovalStatus::Rejected,
                    };
                    let before = mine.clone();
                    let mut row: participants::ActiveModel = before.clone().into();
                    row.response = Set(Some(status));
                    row.response_notes = Set(notes);
                    row.responded_at = Set(Some(now()));
                    *mine = update(tx, &before, row).await?;
                    let votes: Vec<Vote> = approvers
                        .iter()
                        .map(|p| Vote {
                            response: p.response,
                            required: p.is_required.unwrap_or(true),
                            weight: p.weight.unwrap_or(1),
                        })
                        .collect();
                    let decision = decide(
                        &votes,
                        old.required_approver_count.unwrap_or(1),
                        old.requires_unanimous.unwrap_or(false),
                    );
                    if decision == Decision::Pending {
                        return Ok(Approval::from(old));
                    }
                    let now = now();
                    let mut row: approvals::ActiveModel = old.clone().into();
                    if decision == Decision::Approved {
                        row.status = Set(Some(ApprovalStatus::Approved));
                        row.approved_by = Set(Some(tx.viewer.user));
                    } else {
                        row.status = Set(Some(ApprovalStatus::Rejected));
                        row.rejected_by = Set(Some(tx.viewer.user));
                    }
                    row.resolved_at = Set(Some(now));
                    row.updated_at = Set(Some(now));
                    Ok(Approval::from(update(tx, &old, row).await?))
                }
                .boxed()
            },
        )
        .await
    }
}
