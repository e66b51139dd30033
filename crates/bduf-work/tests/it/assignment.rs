//! A task given an assignee tells them, in the command's transaction: on create, on a
//! change of assignee (not when it stays), never the user who assigns themself, and one
//! notification per task of a 1,200-task subtree created in one call.

use async_graphql::MaybeUndefined;
use bduf_core::Db;
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use bduf_work::commands::{self as work, TaskInput, TaskNodeInput};
use entity::notifications;
use migration::Migrator;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

on_both_backends!(an_assignee_is_told_once_per_assignment);

/// `(recipient, task)` of every assignment notification, in order of writing.
async fn assignments(conn: &DatabaseConnection) -> Vec<(Uuid, Uuid)> {
    notifications::Entity::find()
        .filter(notifications::Column::Type.eq("task_assigned"))
        .order_by_asc(notifications::Column::Id)
        .all(conn)
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| (n.user_id, n.target_id.expect("a target")))
        .collect()
}

async fn an_assignee_is_told_once_per_assignment(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let org = f.organization(|_| {});
    let [owner, ann, bob] = f.members(org, [Role::Owner, Role::Contributor, Role::Contributor]);
    let project = f.project(org, owner, "Plan", |_| {});
    f.insert().await.expect("the fixture");
    let as_ann = member(ann, org, Role::Contributor);
    let assigned = |title: &str, to: Option<Uuid>| TaskInput {
        title: Some(title.to_owned()),
        assigned_to: to.map_or(MaybeUndefined::Undefined, MaybeUndefined::Value),
        ..TaskInput::default()
    };
    let task = act(&core, &as_ann, |tx| {
        Box::pin(work::create_task(
            tx,
            project,
            None,
            assigned("Write the importer", Some(bob)),
        ))
    })
    .await
    .expect("a task for Bob");
    assert_eq!(assignments(db.conn()).await, [(bob, task.id)]);
    let told = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(bob))
        .one(db.conn())
        .await
        .expect("a read")
        .expect("Bob's notification");
    assert_eq!(told.title, "Assigned to you: Write the importer");
    assert_eq!(told.target_type.as_deref(), Some("task"));
    // A change that keeps the assignee tells nobody; a new assignee is told; Ann
    // assigning herself is not.
    let rename = TaskInput {
        title: Some("Write the CSV importer".to_owned()),
        ..TaskInput::default()
    };
    act(&core, &as_ann, |tx| {
        Box::pin(work::update_task(tx, task.id, rename))
    })
    .await
    .expect("renamed");
    assert_eq!(assignments(db.conn()).await.len(), 1);
    for to in [owner, ann] {
        let change = TaskInput {
            assigned_to: MaybeUndefined::Value(to),
            ..TaskInput::default()
        };
        act(&core, &as_ann, |tx| {
            Box::pin(work::update_task(tx, task.id, change))
        })
        .await
        .expect("reassigned");
    }
    assert_eq!(
        assignments(db.conn()).await,
        [(bob, task.id), (owner, task.id)]
    );
    // A refused command tells nobody.
    let refused = TaskInput {
        assigned_to: MaybeUndefined::Value(bob),
        priority: Some(9),
        ..TaskInput::default()
    };
    act(&core, &as_ann, |tx| {
        Box::pin(work::update_task(tx, task.id, refused))
    })
    .await
    .expect_err("priority 9 is out of range");
    assert_eq!(assignments(db.conn()).await.len(), 2);
    // A subtree of 1,200 tasks, every other one Bob's: 600 notifications, one per task.
    let nodes: Vec<TaskNodeInput> = (0..1_200)
        .map(|i| TaskNodeInput {
            key: format!("t{i}"),
            parent_key: (i > 0).then(|| format!("t{}", (i - 1) / 10)),
            fields: assigned(&format!("Step {i}"), (i % 2 == 0).then_some(bob)),
        })
        .collect();
    let tree = act(&core, &as_ann, |tx| {
        Box::pin(work::create_task_tree(tx, project, None, nodes))
    })
    .await
    .expect("a subtree");
    let mut bobs: Vec<(Uuid, Uuid)> = tree
        .iter()
        .filter(|t| t.assigned_to == Some(bob))
        .map(|t| (bob, t.id))
        .collect();
    assert_eq!(bobs.len(), 600);
    let mut all = assignments(db.conn()).await;
    assert_eq!(all.len(), 602);
    let mut new = all.split_off(2);
    new.sort_unstable();
    bobs.sort_unstable();
    assert_eq!(new, bobs);
}
