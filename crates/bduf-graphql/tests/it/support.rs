//! `TestApp`: a migrated database, a counting connection and the schema; and `Plan`, a
//! builder of organizations with project trees of a chosen shape.

use async_graphql::{Request, Variables};
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

/// The statements every request takes before its own: on PostgreSQL the session lookup
/// and the one `set_config` that switches role and scope; on SQLite the lookup only.
pub fn setup(backend: Backend) -> u64 {
    match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 1,
    }
}

/// A migrated database and the schema over it, and who the requests come from.
pub struct TestApp {
    pub db: TestDb,
    pub core: Db,
    schema: BdufSchema,
    /// The bearer token and organization of the requests, once signed in.
    viewer: tokio::sync::Mutex<Option<(String, Uuid)>>,
}

/// Starts a session for `user` straight in the database; returns its bearer token.
pub async fn session_for(db: &DatabaseConnection, user: Uuid) -> String {
    let (token, hash) = bduf_graphql::auth::new_token();
    let now = Utc::now().fixed_offset();
    user_sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        token_hash: Set(hash),
        created_at: Set(Some(now)),
        expires_at: Set(now + chrono::Duration::days(1)),
        last_used_at: Set(Some(now)),
        revoked_at: Set(None),
        user_agent: Set(Some("bduf tests".into())),
        ip_address: Set(None),
    }
    .insert(db)
    .await
    .expect("session");
    token
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        // Database errors are logged, never shown to clients: show them in test output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("bduf_core=error,bduf_graphql=error")
            .try_init();
        let db = TestDb::migrated::<Migrator>(backend).await;
        let core = Db::counting(db.connect_again().await);
        Self {
            db,
            core,
            schema: bduf_graphql::schema(Limits::default()),
            viewer: tokio::sync::Mutex::new(None),
        }
    }

    /// Sends the following requests as `user`, acting in `organization`.
    pub async fn act_as(&self, user: Uuid, organization: Uuid) {
        let token = session_for(self.conn(), user).await;
        *self.viewer.lock().await = Some((token, organization));
    }

    /// The request context: by default the earliest member of the first organization
    /// (by id), signed in on first use.
    pub async fn context(&self) -> RequestContext {
        let mut viewer = self.viewer.lock().await;
        if viewer.is_none() {
            use sea_orm::{EntityTrait, QueryOrder};
            let member = organization_members::Entity::find()
                .order_by_asc(organization_members::Column::OrganizationId)
                .order_by_asc(organization_members::Column::JoinedAt)
                .order_by_asc(organization_members::Column::Id)
                .one(self.conn())
                .await
                .expect("memberships")
                .expect("a test signs in as a member: build a fixture with memberships first");
            let token = session_for(self.conn(), member.user_id).await;
            *viewer = Some((token, member.organization_id));
        }
        let (token, organization) = viewer.clone().unwrap_or_default();
        RequestContext {
            token: Some(token),
            organization: Some(organization),
            ..RequestContext::default()
        }
    }

    /// Runs `query` with no session at all.
    pub async fn run_anonymous(&self, query: &str) -> Value {
        let response = bduf_graphql::execute(
            &self.schema,
            Request::new(query),
            &self.core,
            RequestContext::default(),
        )
        .await;
        serde_json::to_value(response.response).expect("a response serializes")
    }

    /// The same, with no cost limit: for the tests that measure statement counts on
    /// queries far larger than a client may send.
    pub fn without_cost_limit(mut self) -> Self {
        self.schema = bduf_graphql::schema(Limits {
            cost: usize::MAX,
            ..Limits::default()
        });
        self
    }

    pub fn conn(&self) -> &DatabaseConnection {
        self.db.conn()
    }

    /// Runs `query` and returns the whole response as JSON (`data` and `errors`).
    pub async fn run(&self, query: &str) -> Value {
        self.run_with(query, Value::Null).await
    }

    /// Runs `query` with `variables` (a JSON object, or null for none) and returns the
    /// whole response as JSON.
    pub async fn run_with(&self, query: &str, variables: Value) -> Value {
        let context = self.context().await;
        let response = bduf_graphql::execute(
            &self.schema,
            Request::new(query).variables(Variables::from_json(variables)),
            &self.core,
            context,
        )
        .await;
        serde_json::to_value(response.response).expect("a response serializes")
    }

    /// Runs `query` with `variables` as the holder of the session `token`, acting in
    /// `organization`, whoever the app acts as: for requests of several users at once.
    pub async fn run_for(
        &self,
        token: &str,
        organization: Uuid,
        query: &str,
        variables: Value,
    ) -> Value {
        let response = self
            .execute_for(token, organization, None, query, variables)
            .await;
        serde_json::to_value(response).expect("a response serializes")
    }

    /// [`TestApp::run_for`] with an `Idempotency-Key`, returning the whole response
    /// (its HTTP headers included).
    pub async fn execute_for(
        &self,
        token: &str,
        organization: Uuid,
        idempotency_key: Option<&str>,
        query: &str,
        variables: Value,
    ) -> async_graphql::Response {
        let context = RequestContext {
            token: Some(token.to_owned()),
            organization: Some(organization),
            idempotency_key: idempotency_key.map(str::to_owned),
            ..RequestContext::default()
        };
        bduf_graphql::execute(
            &self.schema,
            Request::new(query).variables(Variables::from_json(variables)),
            &self.core,
            context,
        )
        .await
        .response
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

    /// How many statements the app has sent so far.
    pub fn core_statements(&self) -> u64 {
        self.core.statements()
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
        // The first user owns the organization (and is who the tests sign in as); the
        // others are an admin and a contributor.
        for (user, role) in plan.users.iter().zip([
            sea_orm_active_enums::CollaborationRole::Owner,
            sea_orm_active_enums::CollaborationRole::Admin,
            sea_orm_active_enums::CollaborationRole::Contributor,
        ]) {
            organization_members::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(plan.organization),
                user_id: Set(*user),
                role: Set(role),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("membership");
        }
        let org = plan.organization;
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
                let root = requirement(db, org, project, None, &format!("R{p}.{r}"), true).await;
                roots.push(root);
                for c in 0..shape.breadth {
                    let child = requirement(
                        db,
                        org,
                        project,
                        Some(root),
                        &format!("R{p}.{r}.{c}"),
                        c == 0,
                    )
                    .await;
                    for g in 0..shape.breadth {
                        let leaf = requirement(
                            db,
                            org,
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
                                organization_id: Set(org),
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
                org,
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
                org,
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
                org,
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
                org,
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
    org: Uuid,
    project: Uuid,
    parent: Option<Uuid>,
    title: &str,
    validated: bool,
) -> Uuid {
    let id = Uuid::now_v7();
    requirements::ActiveModel {
        id: Set(id),
        organization_id: Set(org),
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
    org: Uuid,
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
        organization_id: Set(org),
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

/// The nodes of a connection: its `nodes`, or else its `edges[].node`.
pub fn nodes(connection: &Value) -> Vec<Value> {
    if let Some(nodes) = connection["nodes"].as_array() {
        return nodes.clone();
    }
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

/// Inserts `models` in chunks small enough for both backends' bind-parameter limits.
pub async fn insert_all<A>(db: &DatabaseConnection, models: Vec<A>)
where
    A: ActiveModelTrait + Send,
{
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let chunk: Vec<A> = models.by_ref().take(200).collect();
        <A::Entity as sea_orm::EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await
            .expect("bulk insert");
    }
}

/// What [`Breadth::build`] created: one organization with `n` projects, each with a task
/// chain three deep, and the rows every read key of the API needs, inserted in bulk. (One
/// organization: a request acts in one, so a level of 1,000 items is 1,000 items of one
/// tenant.)
#[derive(Debug, Clone, Default)]
pub struct Breadth {
    pub users: Vec<Uuid>,
    pub organizations: Vec<Uuid>,
    pub projects: Vec<Uuid>,
    pub tasks: Vec<Uuid>,
}

impl Breadth {
    /// One organization with a member per ten projects (the first its owner, the others
    /// contributors) and `n` projects, each created by its member with a requirement, a
    /// component, an analysis, a pending approval and a comment, and a chain of three
    /// tasks, each with a comment, whose root is assigned to the member.
    pub async fn build(db: &DatabaseConnection, n: usize) -> Self {
        use sea_orm::ActiveValue::Set;

        let mut out = Breadth::default();
        let users = n.div_ceil(10);
        out.users = (0..users).map(|_| Uuid::now_v7()).collect();
        insert_all(
            db,
            out.users
                .iter()
                .enumerate()
                .map(|(i, id)| users::ActiveModel {
                    id: Set(*id),
                    email: Set(format!("u{i}-{id}@example.com")),
                    username: Set(format!("u{i}-{id}")),
                    password_hash: Set("x".into()),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let org = Uuid::now_v7();
        out.organizations = vec![org];
        out.projects = (0..n).map(|_| Uuid::now_v7()).collect();
        let member = |i: usize| out.users[i / 10];
        insert_all(
            db,
            out.organizations
                .iter()
                .map(|id| organizations::ActiveModel {
                    id: Set(*id),
                    name: Set("Org".into()),
                    slug: Set(format!("org-{id}")),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            out.users
                .iter()
                .enumerate()
                .map(|(i, user)| organization_members::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    user_id: Set(*user),
                    role: Set(if i == 0 {
                        sea_orm_active_enums::CollaborationRole::Owner
                    } else {
                        sea_orm_active_enums::CollaborationRole::Contributor
                    }),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..n)
                .map(|i| projects::ActiveModel {
                    id: Set(out.projects[i]),
                    organization_id: Set(org),
                    created_by: Set(member(i)),
                    name: Set(format!("Project {i}")),
                    status: Set(Some(ProjectStatus::Active)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..n)
                .map(|i| requirements::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    project_id: Set(out.projects[i]),
                    title: Set("R".into()),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..n)
                .map(|i| architectural_components::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    project_id: Set(out.projects[i]),
                    name: Set("C".into()),
                    implementation_status: Set(Some("planned".into())),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..n)
                .map(|i| analyses::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    project_id: Set(out.projects[i]),
                    r#type: Set(sea_orm_active_enums::AnalysisType::Risk),
                    title: Set("A".into()),
                    confidence_score: Set(Some(Decimal::new(9, 1))),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..n)
                .map(|i| approvals::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    project_id: Set(out.projects[i]),
                    requested_by: Set(member(i)),
                    title: Set("Sign off".into()),
                    target_type: Set(Some("project".into())),
                    target_id: Set(out.projects[i]),
                    status: Set(Some(sea_orm_active_enums::ApprovalStatus::Pending)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        // Three tasks per project, a chain: level by level, so parents exist first.
        let chains: Vec<[Uuid; 3]> = (0..n)
            .map(|_| [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()])
            .collect();
        for level in 0..3 {
            insert_all(
                db,
                (0..n)
                    .map(|i| tasks::ActiveModel {
                        id: Set(chains[i][level]),
                        organization_id: Set(org),
                        project_id: Set(out.projects[i]),
                        parent_id: Set((level > 0).then(|| chains[i][level - 1])),
                        title: Set(format!("T{level}")),
                        status: Set(Some(TaskStatus::InProgress)),
                        assigned_to: Set((level == 0).then(|| member(i))),
                        ..Default::default()
                    })
                    .collect(),
            )
            .await;
        }
        out.tasks = chains.iter().flatten().copied().collect();
        let comment = |target_type: &str, target: Uuid, author: Uuid| comments::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org),
            target_type: Set(target_type.into()),
            target_id: Set(target),
            author_id: Set(author),
            content: Set("c".into()),
            ..Default::default()
        };
        let mut all = Vec::new();
        for (i, chain) in chains.iter().enumerate() {
            all.push(comment("project", out.projects[i], member(i)));
            for task in chain {
                all.push(comment("task", *task, member(i)));
            }
        }
        insert_all(db, all).await;
        out
    }
}

/// What [`Catalog::build`] created.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The organization with the most projects.
    pub organization: Uuid,
    /// A member of every organization: who the tests act as.
    pub member: Uuid,
    /// The project with every kind of child row.
    pub project: Uuid,
    /// A user with several tasks assigned.
    pub assignee: Uuid,
    /// The root of a task tree.
    pub root_task: Uuid,
}

/// A fixed id: the same on every run and both backends, in creation order.
fn fixed_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)
}

/// An RFC 3339 timestamp as the entities hold it.
fn ts(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).expect("a timestamp")
}

impl Catalog {
    /// A handful of rows in every table, the same on every run and backend (fixed ids and
    /// values), with ties and NULLs in every sortable column; timestamps with and without
    /// fractions, and some left to the database's default, so that SQLite's text
    /// comparison of timestamps is exercised.
    pub async fn build(db: &DatabaseConnection) -> Self {
        use entity::sea_orm_active_enums::{AnalysisType, ApprovalStatus, CollaborationRole};
        use sea_orm::ActiveValue::{NotSet, Set};

        let mut n = 0;
        let mut next = || {
            n += 1;
            fixed_id(n)
        };
        let times = [
            Some("2026-03-01T10:00:00Z"),
            Some("2026-03-01T10:00:00.5Z"),
            None,
            Some("2026-03-01T10:00:00Z"),
            Some("2026-02-28T23:59:59.999999Z"),
            Some("2026-03-01T10:00:00.123456Z"),
            None,
            Some("2026-03-02T00:00:00.1Z"),
        ];
        let time = |i: usize| times[i % times.len()].map(ts);
        let ints = [
            Some(3),
            None,
            Some(1),
            Some(3),
            Some(5),
            None,
            Some(2),
            Some(3),
        ];
        let int = |i: usize| ints[i % ints.len()];

        let users: Vec<Uuid> = (0..6).map(|_| next()).collect();
        insert_all(
            db,
            users
                .iter()
                .enumerate()
                .map(|(i, id)| users::ActiveModel {
                    id: Set(*id),
                    email: Set(format!("c{i}@example.com")),
                    username: Set(format!("c{i}")),
                    password_hash: Set("x".into()),
                    last_login_at: Set(time(i)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let slugs = ["beta", "Alpha", "alpha", "_x", "Beta"];
        let orgs: Vec<Uuid> = slugs.iter().map(|_| next()).collect();
        insert_all(
            db,
            orgs.iter()
                .zip(slugs)
                .map(|(id, slug)| organizations::ActiveModel {
                    id: Set(*id),
                    name: Set(slug.to_uppercase()),
                    slug: Set(slug.into()),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..6)
                .map(|i| organization_members::ActiveModel {
                    id: Set(next()),
                    organization_id: Set(orgs[i % 2]),
                    user_id: Set(users[i]),
                    role: Set(CollaborationRole::Contributor),
                    joined_at: Set(time(i + 1)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        // The first user, whom the tests sign in as, belongs to every organization, and
        // every user to the first (where the catalog's rows are).
        let more: Vec<(Uuid, Uuid)> = orgs[2..]
            .iter()
            .map(|org| (*org, users[0]))
            .chain([1, 3, 5].iter().map(|i| (orgs[0], users[*i])))
            .collect();
        insert_all(
            db,
            more.iter()
                .map(|(org, user)| organization_members::ActiveModel {
                    id: Set(next()),
                    organization_id: Set(*org),
                    user_id: Set(*user),
                    role: Set(CollaborationRole::Owner),
                    joined_at: Set(time(1)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let names = ["Same", "b", "Same", "A", "a", "Zed", "same"];
        let projects: Vec<Uuid> = names.iter().map(|_| next()).collect();
        insert_all(
            db,
            projects
                .iter()
                .zip(names)
                .enumerate()
                .map(|(i, (id, name))| projects::ActiveModel {
                    id: Set(*id),
                    organization_id: Set(orgs[usize::from(i >= 5)]),
                    created_by: Set(users[i % 3]),
                    name: Set(name.into()),
                    complexity_score: Set(int(i)),
                    created_at: Set(time(i + 2)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let project = projects[0];
        let requirements: Vec<Uuid> = (0..7).map(|_| next()).collect();
        insert_all(
            db,
            requirements
                .iter()
                .enumerate()
                .map(|(i, id)| requirements::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(*id),
                    project_id: Set(project),
                    parent_id: Set((i >= 3).then(|| requirements[i % 3])),
                    title: Set(format!("R{i}")),
                    priority: Set(int(i + 1)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..5)
                .map(|i| architectural_components::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(next()),
                    project_id: Set(project),
                    name: Set(format!("C{i}")),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let scores = [Some(9), Some(90), None, Some(5), Some(100), Some(9)];
        insert_all(
            db,
            scores
                .iter()
                .enumerate()
                .map(|(i, score)| analyses::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(next()),
                    project_id: Set(project),
                    r#type: Set(if i % 2 == 0 {
                        AnalysisType::Risk
                    } else {
                        AnalysisType::Quality
                    }),
                    title: Set(format!("A{i}")),
                    // 0.9 and 0.90 are the same score: a tie however it is stored.
                    confidence_score: Set(score.map(|s| {
                        if s < 10 {
                            Decimal::new(s, 1)
                        } else {
                            Decimal::new(s, 2)
                        }
                    })),
                    created_at: Set(time(i + 3)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let tasks: Vec<Uuid> = (0..9).map(|_| next()).collect();
        let dates = [
            Some("2026-04-01"),
            None,
            Some("2026-03-15"),
            Some("2026-04-01"),
            None,
            Some("2026-05-20"),
        ];
        insert_all(
            db,
            tasks
                .iter()
                .enumerate()
                .map(|(i, id)| tasks::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(*id),
                    project_id: Set(project),
                    parent_id: Set((i > 0).then(|| tasks[(i - 1) / 2])),
                    title: Set(format!("T{i}")),
                    priority: Set(int(i)),
                    progress_percentage: Set(int(i + 3).map(|p| p * 10)),
                    planned_start_date: Set(
                        dates[i % dates.len()].map(|d| d.parse().expect("a date"))
                    ),
                    assigned_to: Set(Some(users[i % 2])),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let sessions: Vec<Uuid> = (0..5).map(|_| next()).collect();
        insert_all(
            db,
            sessions
                .iter()
                .enumerate()
                .map(|(i, id)| collaboration_sessions::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(*id),
                    project_id: Set(project),
                    created_by: Set(users[i % 2]),
                    title: Set(format!("S{i}")),
                    started_at: Set(time(i + 4)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..5)
                .map(|i| session_participants::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(next()),
                    session_id: Set(sessions[i % 2]),
                    user_id: Set(users[i]),
                    joined_at: Set(time(i + 5)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        // Comments: most with set timestamps, three left to the database's default (now),
        // one at a time so that the column is left out of the insert.
        for i in 0..9 {
            let comment = comments::ActiveModel {
                organization_id: Set(orgs[0]),
                id: Set(next()),
                target_type: Set("task".into()),
                target_id: Set(tasks[i % 3]),
                author_id: Set(users[i % 4]),
                content: Set(format!("comment {i}")),
                created_at: if i % 3 == 1 { NotSet } else { Set(time(i)) },
                ..Default::default()
            };
            comment.insert(db).await.expect("comment");
        }
        insert_all(
            db,
            // Eight, half of them the first user's: a notification is read by its
            // recipient only, and the paging walk needs four.
            (0..8)
                .map(|i| notifications::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(next()),
                    user_id: Set(users[i % 2]),
                    r#type: Set("mention".into()),
                    title: Set(format!("N{i}")),
                    scheduled_for: Set(time(i + 6)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        let approvals: Vec<Uuid> = (0..5).map(|_| next()).collect();
        insert_all(
            db,
            approvals
                .iter()
                .enumerate()
                .map(|(i, id)| approvals::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(*id),
                    project_id: Set(project),
                    requested_by: Set(users[i % 2]),
                    title: Set(format!("P{i}")),
                    target_type: Set(Some("project".into())),
                    target_id: Set(project),
                    status: Set(Some(ApprovalStatus::Pending)),
                    created_at: Set(time(i + 7)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..5)
                .map(|i| approval_participants::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(next()),
                    approval_id: Set(approvals[i % 2]),
                    user_id: Set(users[i]),
                    responded_at: Set(time(i)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        insert_all(
            db,
            (0..6)
                .map(|i| audit_log::ActiveModel {
                    organization_id: Set(orgs[0]),
                    id: Set(next()),
                    table_name: Set("tasks".into()),
                    record_id: Set(tasks[i]),
                    operation: Set("UPDATE".into()),
                    user_id: Set(Some(users[i % 2])),
                    created_at: Set(time(i + 1)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
        Catalog {
            organization: orgs[0],
            member: users[0],
            project,
            assignee: users[0],
            root_task: tasks[0],
        }
    }
}
