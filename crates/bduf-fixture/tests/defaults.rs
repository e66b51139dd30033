//! The fixture's rows are the schema's: a row it makes with nothing changed holds, in every
//! column the schema has a default for, what the database writes when the insert leaves
//! that column out; and a fixture writes its rows, parents first, on both backends.

use bduf_fixture::{AnalysisType, CollaborationRole, Fixture, TargetType};
use bduf_testkit::{Backend, TestDb};
use entity::{
    analyses, approval_participants, approvals, architectural_components, collaboration_sessions,
    comments, notifications, organization_members, organizations, projects, requirements,
    session_participants, tasks, users,
};
use migration::Migrator;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DatabaseConnection, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, PrimaryKeyTrait,
};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_are_the_schemas_on_postgres() {
    defaults_are_the_schemas(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_are_the_schemas_on_sqlite() {
    defaults_are_the_schemas(Backend::Sqlite).await;
}

/// Columns whose default is the time of the insert: never the same twice.
const STAMPS: [&str; 6] = [
    "created_at",
    "updated_at",
    "joined_at",
    "last_active_at",
    "started_at",
    "scheduled_for",
];

async fn defaults_are_the_schemas(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let mut f = Fixture::new(conn);
    let user = f.user(|_| {});
    let org = f.organization(|_| {});
    let member = f.member(org, user, CollaborationRole::Viewer, |_| {});
    let project = f.project(org, user, "P", |_| {});
    let requirement = f.requirement(project, None, "R", |_| {});
    let component = f.component(project, None, "C", |_| {});
    let analysis = f.analysis(project, AnalysisType::Risk, "A", |_| {});
    let task = f.task(project, None, "T", |_| {});
    let child = f.task(project, Some(task), "T.0", |_| {});
    let session = f.session(project, user, "S", |_| {});
    let participant = f.participant(session, user, CollaborationRole::Contributor, |_| {});
    let on_project = (TargetType::Project, project);
    let approval = f.approval(project, user, on_project, "P", |_| {});
    let approver = f.approver(approval, user, |_| {});
    let comment = f.comment((TargetType::Task, child), user, "c", |_| {});
    let reply = f.reply(comment, user, "r", |_| {});
    let notification = f.notification(org, user, "mention", "N", |_| {});
    f.insert().await.expect("the fixture");

    // Beside each row, the same with only what the schema requires (another user where
    // one user may appear once).
    let other = Uuid::now_v7();
    let id = Uuid::now_v7;
    compare(
        conn,
        user,
        users::ActiveModel {
            id: Set(other),
            email: Set(format!("{other}@example.com")),
            username: Set(other.to_string()),
            password_hash: Set("x".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        org,
        organizations::ActiveModel {
            id: Set(id()),
            name: Set("Organization".into()),
            slug: Set(format!("org-{other}")),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        member,
        organization_members::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            user_id: Set(other),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        project,
        projects::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            created_by: Set(user),
            name: Set("P".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        requirement,
        requirements::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            project_id: Set(project),
            title: Set("R".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        component,
        architectural_components::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            project_id: Set(project),
            name: Set("C".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        analysis,
        analyses::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            project_id: Set(project),
            r#type: Set(AnalysisType::Risk),
            title: Set("A".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        task,
        tasks::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            project_id: Set(project),
            title: Set("T".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        session,
        collaboration_sessions::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            project_id: Set(project),
            created_by: Set(user),
            title: Set("S".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        participant,
        session_participants::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            session_id: Set(session),
            user_id: Set(other),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        approval,
        approvals::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            project_id: Set(project),
            requested_by: Set(user),
            title: Set("P".into()),
            target_type: Set(Some("project".into())),
            target_id: Set(project),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        approver,
        approval_participants::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            approval_id: Set(approval),
            user_id: Set(other),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        comment,
        comments::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            target_type: Set("task".into()),
            target_id: Set(child),
            author_id: Set(user),
            content: Set("c".into()),
            ..Default::default()
        },
    )
    .await;
    compare(
        conn,
        notification,
        notifications::ActiveModel {
            id: Set(id()),
            organization_id: Set(org),
            user_id: Set(user),
            r#type: Set("mention".into()),
            title: Set("N".into()),
            ..Default::default()
        },
    )
    .await;
    // Trees and threads hang where they were made.
    let made = tasks::Entity::find_by_id(child)
        .one(conn)
        .await
        .expect("read");
    assert_eq!(made.and_then(|t| t.parent_id), Some(task));
    let made = comments::Entity::find_by_id(reply)
        .one(conn)
        .await
        .expect("read")
        .expect("the reply");
    assert_eq!(
        (made.parent_id, made.thread_id, made.target_id),
        (Some(comment), Some(comment), child)
    );
}

/// Inserts `bare` and checks that every column it leaves to the database (but for
/// timestamps of the insert) holds what the fixture's row `id` of the same table holds.
async fn compare<A>(conn: &DatabaseConnection, id: Uuid, bare: A)
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    let left_out: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| bare.is_not_set(*column) && !STAMPS.contains(&column.as_str()))
        .collect();
    let bare = bare
        .insert(conn)
        .await
        .expect("a bare row")
        .into_active_model();
    let made = <A::Entity as EntityTrait>::find_by_id(id)
        .one(conn)
        .await
        .expect("read")
        .expect("the fixture's row")
        .into_active_model();
    for column in left_out {
        assert_eq!(
            made.get(column),
            bare.get(column),
            "{} of the fixture's row is not the schema's default",
            column.as_str()
        );
    }
}
