//! Rows read by position (`record::Layout`, the decoders `cargo xtask codegen` writes to
//! `entity/src/generated/positions.rs`) give the models SeaORM's `FromQueryResult` gives
//! by name, for every table the readers read, on both backends: with every column, with
//! only some (the others selected as placeholders), and prefixed behind other columns as
//! a read-ahead join selects them. Columns out of their entity's order are an error
//! naming the table, never a model with fields swapped.

use std::fmt::Debug;

use bduf_core::record::{Columns, Layout, Record};
use bduf_core::window::{read_models, select_columns, select_columns_as};
use bduf_fixture::{CollaborationRole as Role, Fixture, TargetType};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use entity::sea_orm_active_enums::{AnalysisType, TaskStatus};
use entity::{
    analyses, approval_participants, approvals, architectural_components, audit_log,
    collaboration_sessions, comments, notifications, organization_members, organizations, projects,
    requirements, session_participants, task_dependencies, tasks, users,
};
use migration::Migrator;
use sea_orm::sea_query::{Alias, Expr, Order, Query, SelectStatement};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, Iterable};
use serde_json::json;

on_both_backends!(rows_read_by_position_are_the_models_read_by_name);

/// One row or more in every table, with most nullable columns filled.
async fn world(conn: &DatabaseConnection) {
    let mut f = Fixture::new(conn);
    let org = f.organization(|o| o.description = Set(Some("d".to_owned())));
    let owner = f.user(|u| u.first_name = Set(Some("Ada".to_owned())));
    let other = f.user(|_| {});
    f.member(org, owner, Role::Owner, |_| {});
    f.member(org, other, Role::Contributor, |_| {});
    let project = f.project(org, owner, "P", |_| {});
    let root = f.requirement(project, None, "R", |_| {});
    f.requirement(project, Some(root), "R.1", |_| {});
    let component = f.component(project, None, "C", |_| {});
    f.component(project, Some(component), "C.1", |_| {});
    f.analysis(project, AnalysisType::Risk, "A", |_| {});
    let task = f.task(project, None, "T", |t| {
        t.description = Set(Some("text".to_owned()));
        t.acceptance_criteria = Set(Some(json!(["done", {"n": 1}])));
        t.assigned_to = Set(Some(other));
        t.status = Set(Some(TaskStatus::InProgress));
        t.estimated_hours = Set(Some(8));
        t.planned_start_date = Set(Some(
            chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("a date"),
        ));
    });
    let sub = f.task(project, Some(task), "T.1", |_| {});
    f.dependency(project, sub, task, |_| {});
    let session = f.session(project, owner, "S", |_| {});
    f.participant(session, other, Role::Contributor, |_| {});
    let approval = f.approval(project, owner, (TargetType::Task, task), "Ap", |_| {});
    f.approver(approval, other, |_| {});
    f.comment((TargetType::Task, task), owner, "a comment", |_| {});
    f.notification(org, other, "mention", "You were mentioned", |_| {});
    f.insert().await.expect("the world");
}

/// `SELECT 1 AS _a, <M's columns, prefixed> FROM <M> ORDER BY id`.
fn select<M: Record>(columns: Columns, prefix: &str) -> SelectStatement {
    let mut select = Query::select();
    select.expr_as(Expr::val(1), Alias::new("_a"));
    if prefix.is_empty() {
        select_columns::<M>(&mut select, columns);
    } else {
        select_columns_as::<M>(&mut select, columns, prefix);
    }
    select
        .from(M::E::default())
        .order_by(M::id_column(), Order::Asc)
        .to_owned()
}

async fn same<M: Record + PartialEq + Debug>(conn: &DatabaseConnection) {
    // Every column; the first column alone (and whatever cannot be left out); prefixed.
    for (columns, prefix) in [
        (Columns::ALL, ""),
        (Columns(1), ""),
        (Columns::ALL, "_j0_"),
        (Columns(1), "_j1_"),
    ] {
        let rows = conn
            .query_all(&select::<M>(columns, prefix))
            .await
            .expect("the rows");
        assert!(!rows.is_empty(), "{} has rows", M::TABLE);
        let by_name = rows
            .iter()
            .map(|row| M::from_query_result(row, prefix))
            .collect::<Result<Vec<_>, _>>()
            .expect("read by name");
        let by_position = if prefix.is_empty() {
            read_models::<M>(&rows).expect("read by position")
        } else {
            let at = Layout::of(&rows).model::<M>(prefix).expect("the layout");
            rows.iter()
                .map(|row| at.read(row))
                .collect::<Result<Vec<_>, _>>()
                .expect("read by position")
        };
        assert_eq!(by_position, by_name, "{} {columns:?} {prefix:?}", M::TABLE);
    }
    // Out of order: the entity's columns reversed.
    let mut reversed = Query::select();
    for column in <M::E as sea_orm::EntityTrait>::Column::iter().rev() {
        reversed.column(column);
    }
    reversed.from(M::E::default());
    let rows = conn.query_all(&reversed).await.expect("the rows");
    let err = format!(
        "{:?}",
        read_models::<M>(&rows).expect_err("columns out of order")
    );
    assert!(
        err.contains(&format!("the columns of {} are not together", M::TABLE)),
        "{}: {err}",
        M::TABLE
    );
}

async fn rows_read_by_position_are_the_models_read_by_name(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    world(conn).await;
    same::<analyses::Model>(conn).await;
    same::<approval_participants::Model>(conn).await;
    same::<approvals::Model>(conn).await;
    same::<architectural_components::Model>(conn).await;
    same::<audit_log::Model>(conn).await;
    same::<collaboration_sessions::Model>(conn).await;
    same::<comments::Model>(conn).await;
    same::<notifications::Model>(conn).await;
    same::<organization_members::Model>(conn).await;
    same::<organizations::Model>(conn).await;
    same::<projects::Model>(conn).await;
    same::<requirements::Model>(conn).await;
    same::<session_participants::Model>(conn).await;
    same::<task_dependencies::Model>(conn).await;
    same::<tasks::Model>(conn).await;
    same::<users::Model>(conn).await;
}
