//! Approvals that act: approvers are notified when asked, the requester when decided, in
//! the command's transaction; a pending approval past its `autoApproveAfterHours`
//! approves itself once, in the scheduler's run, even when two servers run it.

use bduf_core::system::SystemTxn;
use bduf_core::{Db, TargetType, now};
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_governance::commands::{self as governance, ApprovalResponse, ApproverInput};
use bduf_governance::schedule::{RATIONALE, auto_approve};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use chrono::Duration;
use entity::sea_orm_active_enums::ApprovalStatus;
use entity::{approvals, audit_log, notifications};
use migration::Migrator;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::request;

on_both_backends!(
    approvers_are_told_when_asked_and_the_requester_when_decided,
    an_approval_past_its_hours_approves_itself_once
);

/// The notifications of `kind` about `target`, by recipient.
async fn notified(
    conn: &DatabaseConnection,
    kind: &str,
    target: Uuid,
) -> Vec<notifications::Model> {
    notifications::Entity::find()
        .filter(notifications::Column::Type.eq(kind))
        .filter(notifications::Column::TargetId.eq(target))
        .order_by_asc(notifications::Column::UserId)
        .all(conn)
        .await
        .expect("notifications")
}

async fn approvers_are_told_when_asked_and_the_requester_when_decided(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let org = f.organization(|_| {});
    let [admin] = f.members(org, [Role::Admin]);
    // 999 approvers and the admin who asks: the most an approval may have.
    let mut approvers: Vec<Uuid> = (0..999)
        .map(|_| {
            let user = f.user(|_| {});
            f.member(org, user, Role::Contributor, |_| {});
            user
        })
        .collect();
    let late = f.members(org, [Role::Viewer])[0];
    let project = f.project(org, admin, "Plan", |_| {});
    let requirement = f.requirement(project, None, "Offline mode", |_| {});
    f.insert().await.expect("the fixture");
    let as_admin = member(admin, org, Role::Admin);
    approvers.push(admin);
    let mut input = request((TargetType::Requirement, requirement), &approvers);
    input.required_approver_count = Some(1);
    let approval = act(&core, &as_admin, |tx| {
        Box::pin(governance::create_approval(tx, project, input))
    })
    .await
    .expect("an approval of 1,000 approvers");
    let asked = notified(db.conn(), "approval_requested", approval.id).await;
    let mut expected: Vec<Uuid> = approvers[..999].to_vec();
    expected.sort_unstable();
    assert_eq!(
        asked.iter().map(|n| n.user_id).collect::<Vec<_>>(),
        expected,
        "every approver but the admin who asks, once"
    );
    let first = &asked[0];
    assert_eq!(
        first.title,
        "Your approval is requested: Sign off the design"
    );
    assert_eq!(first.target_type.as_deref(), Some("approval"));
    assert_eq!(first.organization_id, org);
    assert_eq!(first.is_read, Some(false));
    assert!(
        first.delivered_at.is_some(),
        "in-app: delivered when written"
    );
    // An approver added later is asked too.
    act(&core, &as_admin, |tx| {
        Box::pin(governance::add_approver(
            tx,
            approval.id,
            ApproverInput {
                user_id: late,
                is_required: Some(false),
                weight: None,
            },
        ))
    })
    .await
    .expect_err("1,001 approvers are too many");
    assert_eq!(
        notified(db.conn(), "approval_requested", approval.id)
            .await
            .len(),
        999,
        "a refused command notifies nobody"
    );
    let small = act(&core, &as_admin, |tx| {
        Box::pin(governance::create_approval(
            tx,
            project,
            request((TargetType::Requirement, requirement), &approvers[..1]),
        ))
    })
    .await
    .expect("an approval of one approver");
    act(&core, &as_admin, |tx| {
        Box::pin(governance::add_approver(
            tx,
            small.id,
            ApproverInput {
                user_id: late,
                is_required: Some(false),
                weight: None,
            },
        ))
    })
    .await
    .expect("an approver added");
    let asked = notified(db.conn(), "approval_requested", small.id).await;
    let mut expected = vec![approvers[0], late];
    expected.sort_unstable();
    assert_eq!(
        asked.iter().map(|n| n.user_id).collect::<Vec<_>>(),
        expected
    );
    // One approval decides the first: the requester is told, once.
    let decided = act(&core, &member(approvers[7], org, Role::Contributor), |tx| {
        Box::pin(governance::respond(
            tx,
            approval.id,
            ApprovalResponse::Approved,
            None,
        ))
    })
    .await
    .expect("an approver approves");
    assert_eq!(decided.status, Some(ApprovalStatus::Approved));
    let told = notified(db.conn(), "approval_decided", approval.id).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].user_id, admin);
    assert_eq!(told[0].title, "Approval approved: Sign off the design");
}

async fn an_approval_past_its_hours_approves_itself_once(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let two_hours_ago = now() - Duration::hours(2);
    let mut requesters = Vec::new();
    let mut due = Vec::new();
    let mut kept = Vec::new();
    for name in ["Acme", "Globex"] {
        let org = f.organization(|o| o.name = Set(name.to_owned()));
        let [admin, approver] = f.members(org, [Role::Admin, Role::Contributor]);
        let project = f.project(org, admin, "Plan", |_| {});
        let target = (TargetType::Project, project);
        let mut approval = |title: &str, hours: Option<i32>, status: ApprovalStatus| {
            let id = f.approval(project, admin, target, title, |a| {
                a.auto_approve_after_hours = Set(hours);
                a.status = Set(Some(status));
                a.created_at = Set(Some(two_hours_ago));
            });
            f.approver(id, approver, |_| {});
            id
        };
        due.push(approval("Past its hour", Some(1), ApprovalStatus::Pending));
        kept.push(approval(
            "Two days to go",
            Some(48),
            ApprovalStatus::Pending,
        ));
        kept.push(approval("No deadline", None, ApprovalStatus::Pending));
        kept.push(approval(
            "Rejected already",
            Some(1),
            ApprovalStatus::Rejected,
        ));
        requesters.push(admin);
    }
    f.insert().await.expect("the fixture");
    let run = SystemTxn::lead(&core, "auto_approve")
        .await
        .expect("a run")
        .expect("nobody else runs the job");
    if backend == Backend::Postgres {
        // A second server finds the job taken while the first runs it.
        let other = Db::counting(db.connect_again().await);
        assert!(
            SystemTxn::lead(&other, "auto_approve")
                .await
                .expect("a try")
                .is_none(),
            "the second server skips its turn"
        );
    }
    let approved = auto_approve(&run, now()).await.expect("auto-approval");
    run.commit().await.expect("committed");
    let mut ids: Vec<Uuid> = approved.iter().map(|a| a.id).collect();
    ids.sort_unstable();
    let mut expected = due.clone();
    expected.sort_unstable();
    assert_eq!(ids, expected, "the due approval of each organization");
    for approval in &approved {
        assert_eq!(approval.status, Some(ApprovalStatus::Approved));
        assert_eq!(approval.decision_rationale.as_deref(), Some(RATIONALE));
        assert!(approval.resolved_at.is_some());
        let told = notified(db.conn(), "approval_decided", approval.id).await;
        assert_eq!(told.len(), 1, "the requester is told once");
        assert_eq!(told[0].user_id, approval.requested_by);
        assert_eq!(told[0].organization_id, approval.organization_id);
        let changes = audit_log::Entity::find()
            .filter(audit_log::Column::RecordId.eq(approval.id))
            .filter(audit_log::Column::Operation.eq("UPDATE"))
            .all(db.conn())
            .await
            .expect("the audit trail");
        assert_eq!(changes.len(), 1, "one audited change");
        let fields = changes[0].changed_fields.clone().expect("changed fields");
        assert!(
            fields
                .as_array()
                .is_some_and(|f| f.contains(&"status".into())),
            "{fields}"
        );
        if backend == Backend::Postgres {
            assert_eq!(changes[0].user_agent.as_deref(), Some("bduf scheduler"));
        }
    }
    for id in &kept {
        let row = approvals::Entity::find_by_id(*id)
            .one(db.conn())
            .await
            .expect("a read")
            .expect("the approval");
        assert_ne!(row.status, Some(ApprovalStatus::Approved), "{}", row.title);
    }
    // The next turn, here or on another server, finds nothing left.
    for server in [&core, &Db::counting(db.connect_again().await)] {
        let run = SystemTxn::lead(server, "auto_approve")
            .await
            .expect("a run")
            .expect("the job is free");
        assert!(auto_approve(&run, now()).await.expect("a turn").is_empty());
        run.commit().await.expect("committed");
    }
    let told = notifications::Entity::find()
        .filter(notifications::Column::Type.eq("approval_decided"))
        .all(db.conn())
        .await
        .expect("notifications");
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|n| requesters.contains(&n.user_id)));
}
