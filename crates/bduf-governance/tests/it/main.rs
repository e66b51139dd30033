//! Governance's commands on their own, without GraphQL, on both backends: admins request
//! approvals of records of the same project, with approvers who are members, each once;
//! an approver's answer decides by the approval's rule; nobody else answers, and a
//! decided approval changes no more.

use bduf_core::{Db, TargetType};
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_governance::commands::{
    self as governance, ApprovalResponse, ApproverInput, CreateApprovalInput,
};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use entity::sea_orm_active_enums::ApprovalStatus;
use migration::Migrator;
use uuid::Uuid;

mod workflows;

on_both_backends!(approvals_are_requested_and_decided_by_their_rules);

fn request(target: (TargetType, Uuid), approvers: &[Uuid]) -> CreateApprovalInput {
    CreateApprovalInput {
        title: "Sign off the design".to_owned(),
        description: None,
        approval_type: Some("design".to_owned()),
        target_type: target.0,
        target_id: target.1,
        conditions: None,
        requires_unanimous: None,
        required_approver_count: Some(2),
        auto_approve_after_hours: None,
        approvers: approvers
            .iter()
            .map(|user| ApproverInput {
                user_id: *user,
                is_required: Some(false),
                weight: None,
            })
            .collect(),
    }
}

async fn approvals_are_requested_and_decided_by_their_rules(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let org = f.organization(|_| {});
    let [admin, ann, bob, carl] = f.members(
        org,
        [
            Role::Admin,
            Role::Contributor,
            Role::Contributor,
            Role::Viewer,
        ],
    );
    let outsider = f.user(|_| {});
    let project = f.project(org, admin, "Plan", |_| {});
    let other_project = f.project(org, admin, "Other", |_| {});
    let requirement = f.requirement(project, None, "Offline mode", |_| {});
    let elsewhere = f.requirement(other_project, None, "Elsewhere", |_| {});
    f.insert().await.expect("the fixture");
    let as_admin = member(admin, org, Role::Admin);
    let target = (TargetType::Requirement, requirement);
    // Only admins request; the target must be of the same project; approvers must be
    // members, each once.
    let refused = act(&core, &member(ann, org, Role::Contributor), |tx| {
        Box::pin(governance::create_approval(
            tx,
            project,
            request(target, &[ann, bob]),
        ))
    })
    .await
    .expect_err("a contributor requests no approval");
    assert_eq!(refused.code(), "FORBIDDEN");
    for (input, field) in [
        (
            request((TargetType::Requirement, elsewhere), &[ann]),
            "input.targetId",
        ),
        (
            request(target, &[ann, outsider]),
            "input.approvers[1].userId",
        ),
        (request(target, &[ann, ann]), "input.approvers[1].userId"),
    ] {
        let err = act(&core, &as_admin, |tx| {
            Box::pin(governance::create_approval(tx, project, input))
        })
        .await
        .expect_err(field);
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let approval = act(&core, &as_admin, |tx| {
        Box::pin(governance::create_approval(
            tx,
            project,
            request(target, &[ann, bob, carl]),
        ))
    })
    .await
    .expect("an approval");
    // Someone who is not an approver answers not.
    let stranger = act(&core, &as_admin, |tx| {
        Box::pin(governance::respond(
            tx,
            approval.id,
            ApprovalResponse::Approved,
            None,
        ))
    })
    .await
    .expect_err("the admin is no approver");
    assert_eq!(stranger.code(), "FORBIDDEN");
    // Two approvals of weight 1 reach the required count of 2: the second decides.
    let first = act(&core, &member(ann, org, Role::Contributor), |tx| {
        Box::pin(governance::respond(
            tx,
            approval.id,
            ApprovalResponse::Approved,
            None,
        ))
    })
    .await
    .expect("Ann approves");
    assert_eq!(first.status, Some(ApprovalStatus::Pending));
    let decided = act(&core, &member(carl, org, Role::Viewer), |tx| {
        Box::pin(governance::respond(
            tx,
            approval.id,
            ApprovalResponse::Approved,
            None,
        ))
    })
    .await
    .expect("Carl approves");
    assert_eq!(decided.status, Some(ApprovalStatus::Approved));
    assert_eq!(decided.approved_by, Some(carl));
    // Decided, it changes no more.
    let late = act(&core, &member(bob, org, Role::Contributor), |tx| {
        Box::pin(governance::respond(
            tx,
            approval.id,
            ApprovalResponse::Rejected,
            None,
        ))
    })
    .await
    .expect_err("decided already");
    assert_eq!(late.field(), Some("approvalId"));
}
