//! Collaboration's commands on their own, without GraphQL, on both backends: comments
//! are edited by their authors and deleted by them or an admin, replies stay on their
//! thread's target; a notification is its recipient's; ending a session of a thousand
//! participants costs the statements ending one of two does, plus one per 500 audit rows.

use bduf_collaboration::commands as collaboration;
use bduf_core::{Db, TargetType};
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use entity::{audit_log, session_participants};
use migration::Migrator;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

mod notify;

on_both_backends!(
    comments_belong_to_their_authors,
    a_notification_is_its_recipients,
    ending_a_session_costs_the_same_for_a_thousand_participants,
);

struct World {
    db: TestDb,
    core: Db,
    org: Uuid,
    /// Owner, admin, two contributors.
    users: [Uuid; 4],
    project: Uuid,
    requirement: Uuid,
    other_requirement: Uuid,
}

impl World {
    async fn new(backend: Backend) -> Self {
        let db = TestDb::migrated::<Migrator>(backend).await;
        let core = Db::counting(db.connect_again().await);
        let mut f = Fixture::new(db.conn());
        let org = f.organization(|_| {});
        let users = f.members(
            org,
            [
                Role::Owner,
                Role::Admin,
                Role::Contributor,
                Role::Contributor,
            ],
        );
        let project = f.project(org, users[0], "Plan", |_| {});
        let requirement = f.requirement(project, None, "Offline mode", |_| {});
        let other = f.organization(|_| {});
        let stranger = f.user(|_| {});
        f.member(other, stranger, Role::Owner, |_| {});
        let other_project = f.project(other, stranger, "Theirs", |_| {});
        let other_requirement = f.requirement(other_project, None, "Theirs", |_| {});
        f.insert().await.expect("the fixture");
        Self {
            db,
            core,
            org,
            users,
            project,
            requirement,
            other_requirement,
        }
    }
}

async fn comments_belong_to_their_authors(backend: Backend) {
    let w = World::new(backend).await;
    let [_, admin, ann, bob] = w.users;
    let as_ann = member(ann, w.org, Role::Contributor);
    let as_bob = member(bob, w.org, Role::Contributor);
    let target = (TargetType::Requirement, w.requirement);
    let comment = act(&w.core, &as_ann, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            target.0,
            target.1,
            "Needs a retry policy".to_owned(),
            None,
        ))
    })
    .await
    .expect("a comment");
    assert_eq!((comment.author_id, comment.thread_id), (ann, None));
    let reply = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            target.0,
            target.1,
            "Agreed".to_owned(),
            Some(comment.id),
        ))
    })
    .await
    .expect("a reply");
    assert_eq!(reply.thread_id, Some(comment.id));
    // A reply on another target, and a comment on another organization's record, are
    // refused naming the field.
    let astray = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            TargetType::Project,
            w.project,
            "Elsewhere".to_owned(),
            Some(comment.id),
        ))
    })
    .await
    .expect_err("a reply off its thread's target");
    assert_eq!(astray.field(), Some("parentId"));
    let theirs = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            TargetType::Requirement,
            w.other_requirement,
            "Hello".to_owned(),
            None,
        ))
    })
    .await
    .expect_err("another organization's record");
    assert_eq!(theirs.field(), Some("targetId"));
    // Only Ann edits hers; Bob deletes not hers; an admin does.
    let edit = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::update_comment(
            tx,
            comment.id,
            "Mine now".to_owned(),
        ))
    })
    .await
    .expect_err("Bob edits Ann's comment");
    assert_eq!(edit.code(), "FORBIDDEN");
    let delete = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::delete_comment(tx, comment.id))
    })
    .await
    .expect_err("Bob deletes Ann's comment");
    assert_eq!(delete.code(), "FORBIDDEN");
    act(&w.core, &member(admin, w.org, Role::Admin), |tx| {
        Box::pin(collaboration::delete_comment(tx, comment.id))
    })
    .await
    .expect("an admin deletes it");
}

async fn a_notification_is_its_recipients(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let org = f.organization(|_| {});
    let [ann, bob] = [0, 1].map(|_| {
        let user = f.user(|_| {});
        f.member(org, user, Role::Contributor, |_| {});
        user
    });
    let note = f.notification(org, ann, "mention", "You were mentioned", |_| {});
    f.insert().await.expect("the fixture");
    let stolen = act(&core, &member(bob, org, Role::Contributor), |tx| {
        Box::pin(collaboration::mark_notification_read(tx, note, true))
    })
    .await
    .expect_err("Bob reads Ann's notification");
    assert_eq!(stolen.code(), "NOT_FOUND");
    let read = act(&core, &member(ann, org, Role::Contributor), |tx| {
        Box::pin(collaboration::mark_notification_read(tx, note, true))
    })
    .await
    .expect("Ann reads hers");
    assert_eq!(read.is_read, Some(true));
    assert!(read.read_at.is_some());
}

/// A session of `participants` active participants besides its creator; returns it.
async fn session_of(w: &World, participants: usize) -> Uuid {
    let mut f = Fixture::new(w.db.conn()).knowing(w.project, w.org);
    let creator = w.users[0];
    let session = f.session(w.project, creator, "Review", |_| {});
    f.participant(session, creator, Role::Owner, |_| {});
    for _ in 0..participants {
        let user = f.user(|_| {});
        f.participant(session, user, Role::Viewer, |_| {});
    }
    f.insert().await.expect("a session");
    session
}

async fn ending_a_session_costs_the_same_for_a_thousand_participants(backend: Backend) {
    let w = World::new(backend).await;
    let owner = member(w.users[0], w.org, Role::Owner);
    let mut costs = Vec::new();
    let audited = || async {
        audit_log::Entity::find()
            .filter(audit_log::Column::TableName.eq("session_participants"))
            .filter(audit_log::Column::Operation.eq("UPDATE"))
            .count(w.db.conn())
            .await
            .expect("a count")
    };
    for n in [1, 999] {
        let session = session_of(&w, n).await;
        let (before, audited_before) = (w.core.statements(), audited().await);
        let ended = act(&w.core, &owner, |tx| {
            Box::pin(collaboration::end_session(tx, session))
        })
        .await
        .expect("ended");
        costs.push(w.core.statements() - before);
        assert_eq!(ended.status.as_deref(), Some("ended"));
        let active = session_participants::Entity::find()
            .filter(session_participants::Column::SessionId.eq(session))
            .filter(session_participants::Column::IsActive.eq(true))
            .count(w.db.conn())
            .await
            .expect("a count");
        assert_eq!(active, 0, "every participant leaves");
        // Each leaving is recorded by the database: the creator's and the others'.
        assert_eq!(audited().await - audited_before, n as u64 + 1);
    }
    // 1,000 participants cost what 2 do: one statement changes them all.
    assert_eq!(costs[1], costs[0], "{costs:?}");
    // An ended session is read-only.
    let session = session_of(&w, 1).await;
    act(&w.core, &owner, |tx| {
        Box::pin(collaboration::end_session(tx, session))
    })
    .await
    .expect("ended");
    let again = act(&w.core, &owner, |tx| {
        Box::pin(collaboration::end_session(tx, session))
    })
    .await
    .expect_err("ended already");
    assert_eq!(again.field(), Some("id"));
}
