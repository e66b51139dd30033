//! The commands of governance: approvals, their approvers, and approvers' responses.
//!
//! Admins request, change, cancel and delete approvals and choose the approvers, who
//! must be members of the organization. Only a pending approval changes. Approvers
//! answer for themselves ([`respond`]) and may change their answer while the approval is
//! pending; each answer decides the approval by [`crate::decide`], under a lock of the
//! approval's row so concurrent answers each see all answers before them. Changing the
//! approvers does not decide it: the next answer does. A pending approval with
//! `autoApproveAfterHours` approves itself once that long has passed since it was
//! requested ([`crate::schedule::auto_approve`], run by the server's scheduler).
//!
//! Approvers are notified when asked (on request, or when added), the requester when the
//! approval is decided, in the same transaction.

use std::collections::HashSet;

use async_graphql::{Enum, InputObject, Json, MaybeUndefined};
use bduf_core::notify::{Kind, Notice, notify};
use bduf_core::write::{
    BATCH, delete, find, find_for_update, insert, patch, set, target_project, update,
};
use bduf_core::{Error, Result, TargetType, Tx, check, now};
use entity::sea_orm_active_enums::{ApprovalStatus, CollaborationRole as Role};
use entity::{approval_participants as approvers, approvals, organization_members, projects};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::{Decision, Vote, decide};

/// The most approvers an approval may have, and the highest required count.
pub const MAX_APPROVERS: i32 = 1000;

/// The longest an approval may wait before it would approve itself, in hours (a year).
pub const MAX_AUTO_APPROVE_HOURS: i32 = 8760;

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

/// The texts and numbers of an approval, as given.
struct Fields<'a> {
    title: Option<&'a str>,
    description: Option<&'a str>,
    approval_type: Option<&'a str>,
    rationale: Option<&'a str>,
    required_count: Option<i32>,
    auto_hours: Option<i32>,
}

fn check_approval(f: &Fields<'_>) -> Result<()> {
    use approvals::Column as C;
    if let Some(title) = f.title {
        check::name("input.title", C::Title, title)?;
    }
    for (field, column, value) in [
        ("input.description", C::Description, f.description),
        ("input.approvalType", C::ApprovalType, f.approval_type),
        ("input.decisionRationale", C::DecisionRationale, f.rationale),
    ] {
        check::text(field, column, value)?;
    }
    check::range(
        "input.requiredApproverCount",
        f.required_count,
        1,
        MAX_APPROVERS,
    )?;
    check::range(
        "input.autoApproveAfterHours",
        f.auto_hours,
        1,
        MAX_AUTO_APPROVE_HOURS,
    )
}

fn check_weight(field: &str, weight: Option<i32>) -> Result<()> {
    check::range(field, weight, 1, 100)
}

fn pending(approval: &approvals::Model, field: &str) -> Result<()> {
    match approval.status {
        None | Some(ApprovalStatus::Pending) => Ok(()),
        Some(status) => Err(Error::invalid(
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

fn new_approver(tx: &Tx<'_>, approval: Uuid, a: &ApproverInput) -> approvers::Model {
    approvers::Model {
        id: Uuid::now_v7(),
        approval_id: approval,
        user_id: a.user_id,
        response: None,
        response_notes: None,
        responded_at: None,
        is_required: Some(a.is_required.unwrap_or(true)),
        weight: Some(a.weight.unwrap_or(1)),
        organization_id: tx.organization(),
    }
}

/// Checks and adds `list` to `approval` — none may be there already, each must be a
/// member — in a fixed number of statements however many there are. `at(i)` names
/// approver `i` in errors, `field` the list.
async fn add_approvers(
    tx: &Tx<'_>,
    approval: Uuid,
    list: &[ApproverInput],
    field: &str,
    at: impl Fn(usize) -> String,
) -> Result<Vec<approvers::Model>> {
    let existing: HashSet<Uuid> = approvers::Entity::find()
        .filter(approvers::Column::ApprovalId.eq(approval))
        .select_only()
        .column(approvers::Column::UserId)
        .into_tuple::<Uuid>()
        .all(tx.txn)
        .await?
        .into_iter()
        .collect();
    let total = existing.len() + list.len();
    if total > usize::try_from(MAX_APPROVERS).unwrap_or(0) {
        return Err(Error::invalid(
            field,
            format!("an approval has at most {MAX_APPROVERS} approvers, got {total}"),
        ));
    }
    let members: HashSet<Uuid> = organization_members::Entity::find()
        .filter(organization_members::Column::OrganizationId.eq(tx.organization()))
        .filter(organization_members::Column::UserId.is_in(list.iter().map(|a| a.user_id)))
        .select_only()
        .column(organization_members::Column::UserId)
        .into_tuple::<Uuid>()
        .all(tx.txn)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    for (i, a) in list.iter().enumerate() {
        let at = at(i);
        check_weight(&format!("{at}.weight"), a.weight)?;
        if !seen.insert(a.user_id) {
            return Err(Error::invalid(
                format!("{at}.userId"),
                format!("user {} is named twice", a.user_id),
            ));
        }
        if !members.contains(&a.user_id) {
            return Err(Error::invalid(
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
    let added: Vec<approvers::Model> = list.iter().map(|a| new_approver(tx, approval, a)).collect();
    for chunk in added.chunks(BATCH) {
        approvers::Entity::insert_many(
            chunk
                .iter()
                .map(|m| m.clone().into_active_model().reset_all()),
        )
        .exec_without_returning(tx.txn)
        .await?;
    }
    Ok(added)
}

/// Requests an approval of a record of a project (admins), requested by the viewer,
/// with its approvers.
pub async fn create_approval(
    tx: &Tx<'_>,
    project: Uuid,
    input: CreateApprovalInput,
) -> Result<approvals::Model> {
    let organization = tx.require(Role::Admin, "createApproval")?;
    check_approval(&Fields {
        title: Some(&input.title),
        description: input.description.as_deref(),
        approval_type: input.approval_type.as_deref(),
        rationale: None,
        required_count: input.required_approver_count,
        auto_hours: input.auto_approve_after_hours,
    })?;
    let _: projects::Model = find(tx, project, "projectId", "project").await?;
    match target_project(tx, input.target_type, input.target_id).await? {
        None => {
            return Err(Error::invalid(
                "input.targetId",
                format!(
                    "no {} with id {}",
                    input.target_type.as_str(),
                    input.target_id
                ),
            ));
        }
        Some(p) if p != project => {
            return Err(Error::invalid(
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
            project_id: Set(project),
            requested_by: Set(tx.user()),
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
            required_approver_count: Set(Some(input.required_approver_count.unwrap_or(1))),
            auto_approve_after_hours: Set(input.auto_approve_after_hours),
            approved_by: Set(None),
            rejected_by: Set(None),
            resolved_at: Set(None),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(organization),
        },
    )
    .await?;
    let added = add_approvers(tx, approval.id, &input.approvers, "input.approvers", |i| {
        format!("input.approvers[{i}]")
    })
    .await?;
    notify(tx, asked(&approval, &added)).await?;
    Ok(approval)
}

/// The notifications of approvers asked to approve `approval`.
fn asked(approval: &approvals::Model, approvers: &[approvers::Model]) -> Vec<Notice> {
    approvers
        .iter()
        .map(|a| Notice {
            user: a.user_id,
            kind: Kind::ApprovalRequested,
            title: format!("Your approval is requested: {}", approval.title),
            message: approval.description.clone(),
            target_type: "approval",
            target_id: approval.id,
        })
        .collect()
}

/// The notification of `approval`'s requester that it was decided.
pub fn decided(approval: &approvals::Model) -> Notice {
    let verdict = match approval.status {
        Some(ApprovalStatus::Approved) => "approved",
        Some(ApprovalStatus::Rejected) => "rejected",
        Some(ApprovalStatus::Cancelled) => "cancelled",
        _ => "decided",
    };
    Notice {
        user: approval.requested_by,
        kind: Kind::ApprovalDecided,
        title: format!("Approval {verdict}: {}", approval.title),
        message: approval.decision_rationale.clone(),
        target_type: "approval",
        target_id: approval.id,
    }
}

/// Changes a pending approval (admins).
pub async fn update_approval(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateApprovalInput,
) -> Result<approvals::Model> {
    tx.require(Role::Admin, "updateApproval")?;
    check_approval(&Fields {
        title: input.title.as_deref(),
        description: input.description.value().map(String::as_str),
        approval_type: input.approval_type.value().map(String::as_str),
        rationale: input.decision_rationale.value().map(String::as_str),
        required_count: input.required_approver_count,
        auto_hours: input.auto_approve_after_hours.value().copied(),
    })?;
    let old: approvals::Model = find_for_update(tx, id, "id", "approval").await?;
    pending(&old, "id")?;
    let mut row: approvals::ActiveModel = old.clone().into();
    set(&mut row.title, input.title);
    patch(&mut row.description, input.description);
    patch(&mut row.approval_type, input.approval_type);
    patch(&mut row.decision_rationale, input.decision_rationale);
    patch(
        &mut row.auto_approve_after_hours,
        input.auto_approve_after_hours,
    );
    set(&mut row.conditions, input.conditions.map(|j| Some(j.0)));
    set(
        &mut row.requires_unanimous,
        input.requires_unanimous.map(Some),
    );
    set(
        &mut row.required_approver_count,
        input.required_approver_count.map(Some),
    );
    update(tx, row).await
}

/// Cancels a pending approval (admins), with an optional rationale.
pub async fn cancel_approval(
    tx: &Tx<'_>,
    id: Uuid,
    rationale: Option<String>,
) -> Result<approvals::Model> {
    tx.require(Role::Admin, "cancelApproval")?;
    check::text(
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
    update(tx, row).await
}

/// Deletes an approval and its approvers (admins). Returns its id.
pub async fn delete_approval(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Admin, "deleteApproval")?;
    let old: approvals::Model = find(tx, id, "id", "approval").await?;
    delete(tx, &old).await
}

/// Adds an approver to a pending approval (admins).
pub async fn add_approver(
    tx: &Tx<'_>,
    approval: Uuid,
    input: ApproverInput,
) -> Result<approvers::Model> {
    tx.require(Role::Admin, "addApprovalParticipant")?;
    let found: approvals::Model = find_for_update(tx, approval, "approvalId", "approval").await?;
    pending(&found, "approvalId")?;
    let added = add_approvers(tx, approval, &[input], "input", |_| "input".to_owned()).await?;
    notify(tx, asked(&found, &added)).await?;
    added
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid("input", "no approver was added"))
}

/// Changes whether an approver is required, or their weight, while the approval is
/// pending (admins).
pub async fn update_approver(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateApproverInput,
) -> Result<approvers::Model> {
    tx.require(Role::Admin, "updateApprovalParticipant")?;
    check_weight("input.weight", input.weight)?;
    let old: approvers::Model = find(tx, id, "id", "approval participant").await?;
    let approval: approvals::Model = find_for_update(tx, old.approval_id, "id", "approval").await?;
    pending(&approval, "id")?;
    let mut row: approvers::ActiveModel = old.clone().into();
    set(&mut row.is_required, input.is_required.map(Some));
    set(&mut row.weight, input.weight.map(Some));
    update(tx, row).await
}

/// Removes an approver from a pending approval (admins). Returns its id.
pub async fn remove_approver(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Admin, "removeApprovalParticipant")?;
    let old: approvers::Model = find(tx, id, "id", "approval participant").await?;
    let approval: approvals::Model = find_for_update(tx, old.approval_id, "id", "approval").await?;
    pending(&approval, "id")?;
    delete(tx, &old).await
}

/// Answers a pending approval the viewer is an approver of (any member), with optional
/// notes; the answer may change while the approval is pending. Returns the approval,
/// decided when this answer decides it.
pub async fn respond(
    tx: &Tx<'_>,
    approval: Uuid,
    response: ApprovalResponse,
    notes: Option<String>,
) -> Result<approvals::Model> {
    tx.require(Role::Viewer, "respondToApproval")?;
    check::text("notes", approvers::Column::ResponseNotes, notes.as_deref())?;
    // The lock serializes concurrent answers, so each decides on all answers before it.
    let old: approvals::Model = find_for_update(tx, approval, "approvalId", "approval").await?;
    pending(&old, "approvalId")?;
    let mut all = approvers::Entity::find()
        .filter(approvers::Column::ApprovalId.eq(approval))
        .all(tx.txn)
        .await?;
    let Some(mine) = all.iter_mut().find(|p| p.user_id == tx.user()) else {
        return Err(Error::forbidden(format!(
            "you are not an approver of approval {approval}"
        )));
    };
    let status = match response {
        ApprovalResponse::Approved => ApprovalStatus::Approved,
        ApprovalResponse::Rejected => ApprovalStatus::Rejected,
    };
    let before = mine.clone();
    let mut row: approvers::ActiveModel = before.clone().into();
    row.response = Set(Some(status));
    row.response_notes = Set(notes);
    row.responded_at = Set(Some(now()));
    *mine = update(tx, row).await?;
    let votes: Vec<Vote> = all
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
        return Ok(old);
    }
    let now = now();
    let mut row: approvals::ActiveModel = old.clone().into();
    if decision == Decision::Approved {
        row.status = Set(Some(ApprovalStatus::Approved));
        row.approved_by = Set(Some(tx.user()));
    } else {
        row.status = Set(Some(ApprovalStatus::Rejected));
        row.rejected_by = Set(Some(tx.user()));
    }
    row.resolved_at = Set(Some(now));
    let approval: approvals::Model = update(tx, row).await?;
    notify(tx, vec![decided(&approval)]).await?;
    Ok(approval)
}

#[cfg(test)]
mod tests {
    use entity::approvals;
    use entity::sea_orm_active_enums::ApprovalStatus;
    use uuid::Uuid;

    use super::{Fields, MAX_APPROVERS, MAX_AUTO_APPROVE_HOURS, check_approval, pending};

    fn fields() -> Fields<'static> {
        Fields {
            title: Some("Sign off"),
            description: None,
            approval_type: None,
            rationale: None,
            required_count: None,
            auto_hours: None,
        }
    }

    #[test]
    fn an_approvals_numbers_keep_to_their_bounds() {
        assert!(check_approval(&fields()).is_ok());
        for (count, hours, field) in [
            (Some(0), None, "input.requiredApproverCount"),
            (Some(MAX_APPROVERS + 1), None, "input.requiredApproverCount"),
            (None, Some(0), "input.autoApproveAfterHours"),
            (
                None,
                Some(MAX_AUTO_APPROVE_HOURS + 1),
                "input.autoApproveAfterHours",
            ),
        ] {
            let f = Fields {
                required_count: count,
                auto_hours: hours,
                ..fields()
            };
            assert_eq!(check_approval(&f).expect_err(field).field(), Some(field));
        }
    }

    #[test]
    fn only_a_pending_approval_changes() {
        let approval = |status| approvals::Model {
            id: Uuid::nil(),
            project_id: Uuid::nil(),
            requested_by: Uuid::nil(),
            title: "t".to_owned(),
            description: None,
            approval_type: None,
            target_type: None,
            target_id: Uuid::nil(),
            status,
            decision_rationale: None,
            conditions: None,
            requires_unanimous: None,
            required_approver_count: None,
            auto_approve_after_hours: None,
            approved_by: None,
            rejected_by: None,
            resolved_at: None,
            created_at: None,
            updated_at: None,
            organization_id: Uuid::nil(),
        };
        assert!(pending(&approval(None), "id").is_ok());
        assert!(pending(&approval(Some(ApprovalStatus::Pending)), "id").is_ok());
        let err = pending(&approval(Some(ApprovalStatus::Approved)), "id").expect_err("decided");
        assert!(err.to_string().contains("is approved"), "{err}");
    }
}
