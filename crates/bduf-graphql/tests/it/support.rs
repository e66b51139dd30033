//! `TestApp`: a migrated database, a counting connection and the schema; and `Plan`,
//! `Breadth` and `Catalog`, organizations with project trees of a chosen shape, built with
//! `bduf_fixture`.

use async_graphql::{Request, Variables};
use bduf_core::{Db, RequestContext};
use bduf_fixture::{Fixture, TargetType};
use bduf_graphql::{BdufSchema, Limits};
use bduf_testkit::{Backend, TestDb};
use chrono::Utc;
use entity::sea_orm_active_enums::{AnalysisType, CollaborationRole, ProjectStatus, TaskStatus};
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

/// The statements every request takes before its own: one, the session lookup, which on
/// PostgreSQL also switches role and scope.
pub fn setup(_backend: Backend) -> u64 {
    1
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
            nodes: usize::MAX,
            connections: usize::MAX,
            ..Limits::default()
        });
        self
    }

    /// The same, with the requests' pool holding one connection: each request gets the
    /// connection the one before it released.
    pub async fn on_one_connection(mut self) -> Self {
        let conn = bduf_testkit::connect_with(self.db.url(), 1)
            .await
            .expect("connecting to the test database");
        self.core = Db::counting(conn);
        self
    }

    pub fn conn(&self) -> &DatabaseConnection {
        self.db.conn()
    }

    /// Runs `query` from a client at `ip` with `User-Agent: user_agent`, returning the
    /// whole response as JSON.
    pub async fn run_from(&self, query: &str, ip: &str, user_agent: &str) -> Value {
        let context = RequestContext {
            ip: Some(ip.parse().expect("an address")),
            user_agent: Some(user_agent.to_owned()),
            ..self.context().await
        };
        let response =
            bduf_graphql::execute(&self.schema, Request::new(query), &self.core, context).await;
        serde_json::to_value(response.response).expect("a response serializes")
    }

    /// Runs `query` sent with `X-Collaboration-Session: session`, returning the whole
    /// response as JSON.
    pub async fn run_in_session(&self, query: &str, session: Uuid) -> Value {
        let context = RequestContext {
            collaboration_session: Some(session),
            ..self.context().await
        };
        let response =
            bduf_graphql::execute(&self.schema, Request::new(query), &self.core, context).await;
        serde_json::to_value(response.response).expect("a response serializes")
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
        self.data_with(query, Value::Null).await
    }

    /// [`TestApp::data`] with `variables`.
    pub async fn data_with(&self, query: &str, variables: Value) -> Value {
        let response = self.run_with(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "{query}\nfailed: {response:#}"
        );
        response["data"].clone()
    }

    /// Runs `request` as the default viewer and returns the whole response as JSON.
    pub async fn execute(&self, request: Request) -> Value {
        self.execute_on(&self.schema, request).await
    }

    /// [`TestApp::execute`] on `schema` instead of the app's own (another cache, other
    /// limits).
    pub async fn execute_on(&self, schema: &BdufSchema, request: Request) -> Value {
        let context = self.context().await;
        let response = bduf_graphql::execute(schema, request, &self.core, context).await;
        serde_json::to_value(response.response).expect("a response serializes")
    }

    /// The schema the requests run on (with its document cache).
    pub fn schema(&self) -> &BdufSchema {
        &self.schema
    }

    /// How many statements the app has sent so far.
    pub fn core_statements(&self) -> u64 {
        self.core.statements()
    }

    /// Runs `query` and returns `data` with the number of SQL statements it took.
    pub async fn counted(&self, query: &str) -> (u64, Value) {
        self.counted_with(query, Value::Null).await
    }

    /// [`TestApp::counted`] with `variables`.
    pub async fn counted_with(&self, query: &str, variables: Value) -> (u64, Value) {
        let before = self.core.statements();
        let data = self.data_with(query, variables).await;
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

impl Shape {
    /// Three projects of four roots with three children a level, no comments.
    pub const SMALL: Shape = Shape {
        projects: 3,
        roots: 4,
        breadth: 3,
        comments: 0,
    };
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
        let mut f = Fixture::new(db);
        let users: Vec<Uuid> = (0..3).map(|_| f.user(|_| {})).collect();
        let org = f.organization(|o| o.name = Set("Org".into()));
        // The first user owns the organization (and is who the tests sign in as); the
        // others are an admin and a contributor.
        for (user, role) in users.iter().zip([
            CollaborationRole::Owner,
            CollaborationRole::Admin,
            CollaborationRole::Contributor,
        ]) {
            f.member(org, *user, role, |_| {});
        }
        let mut plan = Plan {
            organization: org,
            users,
            ..Plan::default()
        };
        let validated =
            |yes: bool| move |r: &mut requirements::ActiveModel| r.is_validated = Set(Some(yes));
        for p in 0..shape.projects {
            let project = f.project(org, plan.users[0], &format!("Project {p}"), |row| {
                row.status = Set(Some(if p % 2 == 0 {
                    ProjectStatus::Active
                } else {
                    ProjectStatus::Draft
                }));
                row.complexity_score =
                    Set((p % 3 != 2).then(|| i32::try_from(p % 10 + 1).unwrap_or(1)));
                row.estimated_budget = Set(Some(Decimal::new(1000, 0)));
            });
            plan.projects.push(project);
            let mut roots = Vec::new();
            for r in 0..shape.roots {
                let root = f.requirement(project, None, &format!("R{p}.{r}"), validated(true));
                roots.push(root);
                for c in 0..shape.breadth {
                    let title = format!("R{p}.{r}.{c}");
                    let child = f.requirement(project, Some(root), &title, validated(c == 0));
                    for g in 0..shape.breadth {
                        let title = format!("R{p}.{r}.{c}.{g}");
                        let leaf = f.requirement(project, Some(child), &title, validated(false));
                        plan.leaves.push(leaf);
                        for n in 0..shape.comments {
                            let author = plan.users[n % 3];
                            let content = format!("comment {n}");
                            f.comment((TargetType::Requirement, leaf), author, &content, |_| {});
                        }
                    }
                }
            }
            plan.roots.push(roots);
            let [owner, admin, contributor] = [plan.users[0], plan.users[1], plan.users[2]];
            let build = f.task(
                project,
                None,
                "Build",
                work(TaskStatus::InProgress, Some(10), 0, Some(owner)),
            );
            let part = f.task(
                project,
                Some(build),
                "Part",
                work(TaskStatus::Done, Some(30), 100, Some(admin)),
            );
            let sub = f.task(
                project,
                Some(build),
                "Sub",
                work(TaskStatus::InProgress, Some(10), 40, Some(contributor)),
            );
            let leaf = f.task(
                project,
                Some(sub),
                "Leaf",
                work(TaskStatus::Pending, None, 0, None),
            );
            plan.tasks.extend([build, part, sub, leaf]);
        }
        f.insert().await.expect("the plan");
        plan
    }
}

/// A task's status, estimate, progress and assignee, created at the time it is made.
fn work(
    status: TaskStatus,
    hours: Option<i32>,
    progress: i32,
    assignee: Option<Uuid>,
) -> impl FnOnce(&mut tasks::ActiveModel) {
    move |t| {
        t.status = Set(Some(status));
        t.estimated_hours = Set(hours);
        t.progress_percentage = Set(Some(progress));
        t.assigned_to = Set(assignee);
        t.created_at = Set(Some(Utc::now().fixed_offset()));
    }
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

/// Inserts `models` in as few statements as both backends' bind-parameter limits allow.
pub async fn insert_all<A>(db: &DatabaseConnection, models: Vec<A>)
where
    A: ActiveModelTrait + Send,
{
    bduf_fixture::insert_all(db, models)
        .await
        .expect("bulk insert");
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
        let mut f = Fixture::new(db);
        let users: Vec<Uuid> = (0..n.div_ceil(10)).map(|_| f.user(|_| {})).collect();
        let org = f.organization(|o| o.name = Set("Org".into()));
        for (i, user) in users.iter().enumerate() {
            let role = if i == 0 {
                CollaborationRole::Owner
            } else {
                CollaborationRole::Contributor
            };
            f.member(org, *user, role, |_| {});
        }
        let member = |i: usize| users[i / 10];
        let projects: Vec<Uuid> = (0..n)
            .map(|i| {
                f.project(org, member(i), &format!("Project {i}"), |p| {
                    p.status = Set(Some(ProjectStatus::Active));
                })
            })
            .collect();
        // Table by table, so that each is a few statements.
        for project in &projects {
            f.requirement(*project, None, "R", |_| {});
        }
        for project in &projects {
            f.component(*project, None, "C", |_| {});
        }
        for project in &projects {
            f.analysis(*project, AnalysisType::Risk, "A", |a| {
                a.confidence_score = Set(Some(Decimal::new(9, 1)));
            });
        }
        for (i, project) in projects.iter().enumerate() {
            let target = (TargetType::Project, *project);
            f.approval(*project, member(i), target, "Sign off", |_| {});
        }
        // Three tasks per project, a chain: level by level, so parents exist first.
        let mut chains: Vec<Vec<Uuid>> = vec![Vec::new(); n];
        for level in 0..3 {
            for (i, project) in projects.iter().enumerate() {
                let parent = chains[i].last().copied();
                let task = f.task(*project, parent, &format!("T{level}"), |t| {
                    t.status = Set(Some(TaskStatus::InProgress));
                    t.assigned_to = Set((level == 0).then(|| member(i)));
                });
                chains[i].push(task);
            }
        }
        for (i, chain) in chains.iter().enumerate() {
            f.comment((TargetType::Project, projects[i]), member(i), "c", |_| {});
            for task in chain {
                f.comment((TargetType::Task, *task), member(i), "c", |_| {});
            }
        }
        f.insert().await.expect("the breadth fixture");
        let mut out = Breadth {
            users,
            organizations: vec![org],
            projects,
            ..Breadth::default()
        };
        out.tasks = chains.concat();
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
        let mut n = 0;
        let mut f = Fixture::with_ids(db, move || {
            n += 1;
            fixed_id(n)
        });
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

        let users: Vec<Uuid> = (0..6)
            .map(|i| {
                f.user(|u| {
                    u.email = Set(format!("c{i}@example.com"));
                    u.username = Set(format!("c{i}"));
                    u.last_login_at = Set(time(i));
                })
            })
            .collect();
        let orgs: Vec<Uuid> = ["beta", "Alpha", "alpha", "_x", "Beta"]
            .into_iter()
            .map(|slug| {
                f.organization(|o| {
                    o.name = Set(slug.to_uppercase());
                    o.slug = Set(slug.into());
                })
            })
            .collect();
        for (i, user) in users.iter().enumerate() {
            f.member(orgs[i % 2], *user, CollaborationRole::Contributor, |m| {
                m.joined_at = Set(time(i + 1));
            });
        }
        // The first user, whom the tests sign in as, belongs to every organization, and
        // every user to the first (where the catalog's rows are).
        let more = orgs[2..]
            .iter()
            .map(|org| (*org, users[0]))
            .chain([1, 3, 5].iter().map(|i| (orgs[0], users[*i])));
        for (org, user) in more {
            f.member(org, user, CollaborationRole::Owner, |m| {
                m.joined_at = Set(time(1));
            });
        }
        let names = ["Same", "b", "Same", "A", "a", "Zed", "same"];
        let projects: Vec<Uuid> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                f.project(orgs[usize::from(i >= 5)], users[i % 3], name, |p| {
                    p.complexity_score = Set(int(i));
                    p.created_at = Set(time(i + 2));
                })
            })
            .collect();
        let project = projects[0];
        let mut requirements = Vec::new();
        for i in 0..7 {
            let parent = (i >= 3).then(|| requirements[i % 3]);
            let requirement = f.requirement(project, parent, &format!("R{i}"), |r| {
                r.priority = Set(int(i + 1));
            });
            requirements.push(requirement);
        }
        for i in 0..5 {
            f.component(project, None, &format!("C{i}"), |_| {});
        }
        let scores = [Some(9), Some(90), None, Some(5), Some(100), Some(9)];
        for (i, score) in scores.iter().enumerate() {
            let kind = if i % 2 == 0 {
                AnalysisType::Risk
            } else {
                AnalysisType::Quality
            };
            f.analysis(project, kind, &format!("A{i}"), |a| {
                // 0.9 and 0.90 are the same score: a tie however it is stored.
                a.confidence_score = Set(score.map(|s| {
                    if s < 10 {
                        Decimal::new(s, 1)
                    } else {
                        Decimal::new(s, 2)
                    }
                }));
                a.created_at = Set(time(i + 3));
            });
        }
        let dates = [
            Some("2026-04-01"),
            None,
            Some("2026-03-15"),
            Some("2026-04-01"),
            None,
            Some("2026-05-20"),
        ];
        let mut tasks = Vec::new();
        for i in 0..9 {
            let parent = (i > 0).then(|| tasks[(i - 1) / 2]);
            let task = f.task(project, parent, &format!("T{i}"), |t| {
                t.priority = Set(int(i));
                t.progress_percentage = Set(int(i + 3).map(|p| p * 10));
                t.planned_start_date =
                    Set(dates[i % dates.len()].map(|d| d.parse().expect("a date")));
                t.assigned_to = Set(Some(users[i % 2]));
            });
            tasks.push(task);
        }
        // Six dependencies, each task on the one before; two share a time.
        for i in 1..7 {
            f.dependency(project, tasks[i], tasks[i - 1], |d| {
                if let Some(at) = time(i % 5) {
                    d.created_at = Set(at);
                }
            });
        }
        let sessions: Vec<Uuid> = (0..5)
            .map(|i| {
                f.session(project, users[i % 2], &format!("S{i}"), |s| {
                    s.started_at = Set(time(i + 4));
                })
            })
            .collect();
        for (i, user) in users.iter().take(5).enumerate() {
            let session = sessions[i % 2];
            f.participant(session, *user, CollaborationRole::Contributor, |p| {
                p.joined_at = Set(time(i + 5));
            });
        }
        // Comments: most with set timestamps, three left to the database's default (now),
        // which the fixture writes in statements of their own, without the column.
        for i in 0..9 {
            let target = (TargetType::Task, tasks[i % 3]);
            f.comment(target, users[i % 4], &format!("comment {i}"), |c| {
                if i % 3 != 1 {
                    c.created_at = Set(time(i));
                }
            });
        }
        // Eight, half of them the first user's: a notification is read by its recipient
        // only, and the paging walk needs four.
        for i in 0..8 {
            f.notification(orgs[0], users[i % 2], "mention", &format!("N{i}"), |n| {
                n.scheduled_for = Set(time(i + 6));
            });
        }
        let approvals: Vec<Uuid> = (0..5)
            .map(|i| {
                let target = (TargetType::Project, project);
                f.approval(project, users[i % 2], target, &format!("P{i}"), |a| {
                    a.created_at = Set(time(i + 7));
                })
            })
            .collect();
        for (i, user) in users.iter().take(5).enumerate() {
            f.approver(approvals[i % 2], *user, |a| a.responded_at = Set(time(i)));
        }
        f.insert().await.expect("the catalog");
        Catalog {
            organization: orgs[0],
            member: users[0],
            project,
            assignee: users[0],
            root_task: tasks[0],
        }
    }
}
