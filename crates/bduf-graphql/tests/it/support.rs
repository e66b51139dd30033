//! `TestApp`: a migrated database, a counting connection and the schema; and `Plan`, a
//! builder of organizations with project trees of a chosen shape.

use async_graphql::Request;
use bduf_core::{Db, RequestContext};
use bduf_graphql::{BdufSchema, Limits};
use bduf_testkit::{Backend, TestDb};
use chrono::Utc;
use entity::sea_orm_active_enums::{ProjectStatus, TaskStatus};
use entity::*;
use migration::Migrator;
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::Value;
use uuid::Uuid;

/// Runs a test body on PostgreSQL and on SQLite, as two tests.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(bduf_testkit::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(bduf_testkit::Backend::Sqlite).await
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// A migrated database and the schema over it.
pub struct TestApp {
    pub db: TestDb,
    pub core: Db,
    schema: BdufSchema,
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        let db = TestDb::migrated::<Migrator>(backend).await;
        let core = Db::counting(db.connect_again().await);
        Self {
            db,
            core,
            schema: bduf_graphql::schema(Limits::default()),
        }
    }

    pub fn conn(&self) -> &DatabaseConnection {
        self.db.conn()
    }

    /// Runs `query` and returns the whole response as JSON (`data` and `errors`).
    pub async fn run(&self, query: &str) -> Value {
        let response = bduf_graphql::execute(
            &self.schema,
            Request::new(query),
            &self.core,
            RequestContext::default(),
        )
        .await;
        serde_json::to_value(response).expect("a response serializes")
    }

    /// Runs `query`, fails on any error, and returns `data`.
    pub async fn data(&self, query: &str) -> Value {
        let response = self.run(query).await;
        assert!(
            response.get("errors").is_none(),
            "{query}\nfailed: {response:#}"
        );
        response["data"].clone()
    }

    /// Runs `query` and returns `data` with the number of SQL statements it took.
    pub async fn counted(&self, query: &str) -> (u64, Value) {
        let before = self.core.statements();
        let data = self.data(query).await;
        (self.core.statements() - before, data)
    }
}

/// The shape of a generated plan.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub projects: usize,
    /// Root requirements per project; each has `breadth` children, which have `breadth`
    /// children of their own.
    pub roots: usize,
    pub breadth: usize,
    /// Comments on each requirement of the third level.
    pub comments: usize,
}

/// What [`Plan::build`] created.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub organization: Uuid,
    pub users: Vec<Uuid>,
    pub projects: Vec<Uuid>,
    /// `[project][root] -> root id`
    pub roots: Vec<Vec<Uuid>>,
    /// Every requirement of the third level.
    pub leaves: Vec<Uuid>,
    pub tasks: Vec<Uuid>,
}

impl Plan {
    /// Builds one organization with `shape.projects` projects. Each project also gets a
    /// task tree (a root with two sub-tasks, one with a sub-task of its own), each task
    /// assigned to one of three users.
    pub async fn build(db: &DatabaseConnection, shape: Shape) -> Self {
        let mut plan = Plan::default();
        for i in 0..3 {
            let id = Uuid::now_v7();
            users::ActiveModel {
                id: Set(id),
                email: Set(format!("{id}@example.com")),
                username: Set(format!("user{i}-{id}")),
                password_hash: Set("x".into()),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("user");
            plan.users.push(id);
        }
        plan.organization = Uuid::now_v7();
        organizations::ActiveModel {
            id: Set(plan.organization),
            name: Set("Org".into()),
            slug: Set(format!("org-{}", plan.organization)),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("organization");
        for p in 0..shape.projects {
            let project = Uuid::now_v7();
            projects::ActiveModel {
                id: Set(project),
                organization_id: Set(plan.organization),
                created_by: Set(plan.users[0]),
                name: Set(format!("Project {p}")),
                status: Set(Some(if p % 2 == 0 {
                    ProjectStatus::Active
                } else {
                    ProjectStatus::Draft
                })),
                complexity_score: Set((p % 3 != 2).then(|| i32::try_from(p % 10 + 1).unwrap_or(1))),
                estimated_budget: Set(Some(Decimal::new(1000, 0))),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("project");
            plan.projects.push(project);
            let mut roots = Vec::new();
            for r in 0..shape.roots {
                let root = requirement(db, project, None, &format!("R{p}.{r}"), true).await;
                roots.push(root);
                for c in 0..shape.breadth {
                    let child =
                        requirement(db, project, Some(root), &format!("R{p}.{r}.{c}"), c == 0)
                            .await;
                    for g in 0..shape.breadth {
                        let leaf = requirement(
                            db,
                            project,
                            Some(child),
                            &format!("R{p}.{r}.{c}.{g}"),
                            false,
                        )
                        .await;
                        plan.leaves.push(leaf);
                        for n in 0..shape.comments {
                            comments::ActiveModel {
                                id: Set(Uuid::now_v7()),
                                target_type: Set("requirement".into()),
                                target_id: Set(leaf),
                                author_id: Set(plan.users[n % 3]),
                                content: Set(format!("comment {n}")),
                                ..Default::default()
                            }
                            .insert(db)
                            .await
                            .expect("comment");
                        }
                    }
                }
            }
            plan.roots.push(roots);
            let build = task(
                db,
                project,
                None,
                "Build",
                TaskStatus::InProgress,
                Some(10),
                0,
                Some(plan.users[0]),
            )
            .await;
            let part = task(
                db,
                project,
                Some(build),
                "Part",
                TaskStatus::Done,
                Some(30),
                100,
                Some(plan.users[1]),
            )
            .await;
            let sub = task(
                db,
                project,
                Some(build),
                "Sub",
                TaskStatus::InProgress,
                Some(10),
                40,
                Some(plan.users[2]),
            )
            .await;
            let leaf = task(
                db,
                project,
                Some(sub),
                "Leaf",
                TaskStatus::Pending,
                None,
                0,
                None,
            )
            .await;
            plan.tasks.extend([build, part, sub, leaf]);
        }
        plan
    }
}

async fn requirement(
    db: &DatabaseConnection,
    project: Uuid,
    parent: Option<Uuid>,
    title: &str,
    validated: bool,
) -> Uuid {
    let id = Uuid::now_v7();
    requirements::ActiveModel {
        id: Set(id),
        project_id: Set(project),
        parent_id: Set(parent),
        title: Set(title.into()),
        is_validated: Set(Some(validated)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("requirement");
    id
}

#[allow(clippy::too_many_arguments)]
async fn task(
    db: &DatabaseConnection,
    project: Uuid,
    parent: Option<Uuid>,
    title: &str,
    status: TaskStatus,
    hours: Option<i32>,
    progress: i32,
    assignee: Option<Uuid>,
) -> Uuid {
    let id = Uuid::now_v7();
    tasks::ActiveModel {
        id: Set(id),
        project_id: Set(project),
        parent_id: Set(parent),
        title: Set(title.into()),
        status: Set(Some(status)),
        estimated_hours: Set(hours),
        progress_percentage: Set(Some(progress)),
        assigned_to: Set(assignee),
        created_at: Set(Some(Utc::now().fixed_offset())),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("task");
    id
}

/// The `edges[].node` list of a connection.
pub fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}

/// The string values of `field` across `items`.
pub fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[field].as_str().unwrap_or_default().to_owned())
        .collect()
}
