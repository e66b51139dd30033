//! Work's commands on their own, without GraphQL, on both backends: a task's assignee is
//! a member of the organization, its dates are in order, and the task tree keeps to its
//! project (the tree commands are the generic ones of `bduf_core::tree`, which planning's
//! tests take to the sizes users have).

use async_graphql::MaybeUndefined;
use bduf_core::Db;
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use bduf_work::commands::{self as work, TaskInput};
use chrono::NaiveDate;
use migration::Migrator;

mod assignment;

on_both_backends!(tasks_keep_to_their_rules);

async fn tasks_keep_to_their_rules(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let org = f.organization(|_| {});
    let [owner, ann] = f.members(org, [Role::Owner, Role::Contributor]);
    let outsider = f.user(|_| {});
    let project = f.project(org, owner, "Plan", |_| {});
    let other_project = f.project(org, owner, "Other", |_| {});
    let elsewhere = f.task(other_project, None, "Elsewhere", |_| {});
    f.insert().await.expect("the fixture");
    let as_ann = member(ann, org, Role::Contributor);
    let task = |title: &str| TaskInput {
        title: Some(title.to_owned()),
        ..Default::default()
    };
    // An assignee outside the organization, dates out of order, a priority out of the
    // CHECK: each refused naming its field.
    let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default();
    for (input, field) in [
        (
            TaskInput {
                assigned_to: MaybeUndefined::Value(outsider),
                ..task("Build")
            },
            "input.assignedTo",
        ),
        (
            TaskInput {
                planned_start_date: MaybeUndefined::Value(day(10)),
                planned_end_date: MaybeUndefined::Value(day(9)),
                ..task("Build")
            },
            "input.plannedEndDate",
        ),
        (
            TaskInput {
                priority: Some(6),
                ..task("Build")
            },
            "input.priority",
        ),
        (TaskInput::default(), "input.title"),
    ] {
        let err = act(&core, &as_ann, |tx| {
            Box::pin(work::create_task(tx, project, None, input))
        })
        .await
        .expect_err(field);
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let build = act(&core, &as_ann, |tx| {
        Box::pin(work::create_task(
            tx,
            project,
            None,
            TaskInput {
                assigned_to: MaybeUndefined::Value(ann),
                ..task("Build")
            },
        ))
    })
    .await
    .expect("a task");
    assert_eq!((build.assigned_to, build.priority), (Some(ann), Some(3)));
    // Unassigned with null; moved under a task of another project: refused.
    let unassigned = act(&core, &as_ann, |tx| {
        Box::pin(work::update_task(
            tx,
            build.id,
            TaskInput {
                assigned_to: MaybeUndefined::Null,
                ..Default::default()
            },
        ))
    })
    .await
    .expect("unassigned");
    assert_eq!(unassigned.assigned_to, None);
    let astray = act(&core, &as_ann, |tx| {
        Box::pin(work::move_task(tx, build.id, Some(elsewhere)))
    })
    .await
    .expect_err("a parent of another project");
    assert_eq!(astray.field(), Some("parentId"));
}
