//! The dashboard suite: each query as GraphQL and as one hand-written SQL statement that
//! returns the same data (as JSON in the shape of the GraphQL `data`), and how the bench
//! picks its arguments from the seeded database.

use anyhow::{Context, Result};
use sea_orm::sqlx::{self, PgPool, Row};
use serde_json::{Value, json};
use uuid::Uuid;

/// One query of the suite.
#[derive(Debug, Clone)]
pub struct Case {
    /// `Q1`, `Q2`, …
    pub id: &'static str,
    pub name: &'static str,
    /// Levels of nesting that read data: the target number of statements, plus the one
    /// that begins a request.
    pub levels: u32,
    /// The statements the server takes for it, the one that begins the request included
    /// (`bench::explain`'s test checks it): at most `levels + 1`, one less where a root
    /// found by id is read with its first nested level (`bduf_graphql::support::root`),
    /// as on Q1–Q5.
    pub statements: u32,
    /// The GraphQL request body (query and variables).
    pub body: Value,
    /// The same data by one SQL statement returning one JSON text, and its arguments.
    pub sql: Option<(&'static str, Vec<Arg>)>,
    /// Whether the server must refuse the query (the hostile one).
    pub refused: bool,
}

/// An argument of a SQL statement.
#[derive(Debug, Clone)]
pub enum Arg {
    Uuid(Uuid),
    Text(String),
    Int(i32),
    NullInt,
}

/// The arguments the suite runs with, picked from the database the same way every time.
#[derive(Debug, Clone)]
pub struct Args {
    /// The middle project by id.
    pub project: Uuid,
    pub organization: Uuid,
    /// The root task of `project` with the most sub-tasks.
    pub task: Uuid,
    /// The user with the most assigned tasks.
    pub user: Uuid,
    /// Where that user's first page of tasks (by priority) ends.
    pub after: (Option<i32>, Uuid),
    /// A word of task titles.
    pub term: &'static str,
    /// A bearer token of `user`, who every request is sent as (acting in
    /// `organization`).
    pub token: String,
}

impl Args {
    /// Picks the arguments from the seeded database.
    pub async fn pick(pool: &PgPool) -> Result<Self> {
        let row = sqlx::query(
            "SELECT id, organization_id FROM projects ORDER BY id \
             OFFSET (SELECT count(*) / 2 FROM projects) LIMIT 1",
        )
        .fetch_one(pool)
        .await
        .context("picking a project (is the database seeded? `cargo xtask seed --scale M`)")?;
        let project: Uuid = row.try_get("id")?;
        let organization: Uuid = row.try_get("organization_id")?;
        let task: Uuid = sqlx::query_scalar(
            "SELECT t.id FROM tasks t WHERE t.project_id = $1 AND t.parent_id IS NULL \
             ORDER BY (SELECT count(*) FROM tasks c WHERE c.parent_id = t.id) DESC, t.id LIMIT 1",
        )
        .bind(project)
        .fetch_one(pool)
        .await
        .context("picking a root task")?;
        let user: Uuid = sqlx::query_scalar(
            "SELECT t.assigned_to FROM tasks t WHERE t.organization_id = $1 \
             AND t.assigned_to IS NOT NULL AND EXISTS (SELECT 1 FROM organization_members m \
               WHERE m.organization_id = $1 AND m.user_id = t.assigned_to) \
             GROUP BY t.assigned_to ORDER BY count(*) DESC, t.assigned_to LIMIT 1",
        )
        .bind(organization)
        .fetch_one(pool)
        .await
        .context("picking a user")?;
        let row = sqlx::query(
            "SELECT priority, id FROM tasks WHERE assigned_to = $1 AND organization_id = $2 \
             ORDER BY priority ASC NULLS LAST, id ASC OFFSET 19 LIMIT 1",
        )
        .bind(user)
        .bind(organization)
        .fetch_one(pool)
        .await
        .context("finding the end of the first page of tasks")?;
        let (token, hash) = bduf_identity::auth::new_token();
        sqlx::query(
            "INSERT INTO user_sessions (id, user_id, token_hash, expires_at, last_used_at, user_agent) \
             VALUES ($1, $2, $3, now() + interval '1 day', now(), 'cargo xtask bench')",
        )
        .bind(Uuid::now_v7())
        .bind(user)
        .bind(hash)
        .execute(pool)
        .await
        .context("starting a session for the benchmark's user")?;
        Ok(Self {
            project,
            organization,
            task,
            user,
            after: (row.try_get("priority")?, row.try_get("id")?),
            term: "backup",
            token,
        })
    }
}

/// Q1: a project's overview — its numbers and latest comments with their authors.
const PROJECT_OVERVIEW: &str = r#"query ProjectOverview($project: UUID!) {
  project(id: $project) {
    name
    status
    stats {
      tasksByStatus { status count }
      progress { percent leafTasks estimatedHours }
      requirements { total validated }
      openApprovals
      latestAnalyses { type confidenceScore }
    }
    comments(first: 10, orderBy: { field: CREATED_AT, direction: DESC }) {
      nodes { content createdAt author { username } }
    }
  }
}"#;

const PROJECT_OVERVIEW_SQL: &str = r#"
SELECT json_build_object('project', (
  SELECT json_build_object(
    'name', p.name,
    'status', upper(p.status::text),
    'stats', json_build_object(
      'tasksByStatus', (
        SELECT coalesce(json_agg(json_build_object('status', upper(s.status::text), 'count', s.n)
                                 ORDER BY s.status NULLS LAST), '[]')
        FROM (SELECT status, count(*) AS n FROM tasks WHERE project_id = p.id GROUP BY status) s),
      'progress', (
        SELECT json_build_object(
          'percent', coalesce(round(sum(l.w * l.pr)::numeric / nullif(sum(l.w), 0) * 10) / 10, 0),
          'leafTasks', count(*),
          'estimatedHours', coalesce(sum(coalesce(l.estimated_hours, 0)), 0))
        FROM (SELECT t.estimated_hours,
                     coalesce(nullif(t.estimated_hours, 0), 1) AS w,
                     CASE WHEN t.status = 'done' THEN 100 ELSE coalesce(t.progress_percentage, 0) END AS pr
              FROM tasks t
              WHERE t.project_id = p.id AND (t.status IS NULL OR t.status <> 'cancelled')
                AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = t.id)) l),
      'requirements', (
        SELECT json_build_object('total', count(*), 'validated', count(*) FILTER (WHERE is_validated))
        FROM requirements WHERE project_id = p.id),
      'openApprovals', (
        SELECT count(*) FROM approvals WHERE project_id = p.id AND status = 'pending'),
      'latestAnalyses', (
        SELECT coalesce(json_agg(json_build_object('type', upper(a.type::text),
                                                   'confidenceScore', a.confidence_score::text)
                                 ORDER BY a.type), '[]')
        FROM (SELECT DISTINCT ON (type) type, confidence_score FROM analyses
              WHERE project_id = p.id ORDER BY type, created_at DESC NULLS LAST, id DESC) a)),
    'comments', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object('content', c.content, 'createdAt', c.created_at,
                                                 'author', json_build_object('username', u.username))
                               ORDER BY c.created_at DESC NULLS FIRST, c.id DESC), '[]')
      FROM (SELECT * FROM comments WHERE target_type = 'project' AND target_id = p.id
            ORDER BY created_at DESC NULLS FIRST, id DESC LIMIT 10) c
      JOIN users u ON u.id = c.author_id)))
  FROM projects p WHERE p.id = $1))::text"#;

/// Q2: a project's requirement trees — the roots, and up to 100 nodes under each.
const REQUIREMENT_TREE: &str = r#"query RequirementTree($project: UUID!) {
  project(id: $project) {
    requirements(filter: { rootsOnly: true }, first: 20) {
      totalCount
      nodes {
        title
        priority
        descendants(maxDepth: 10, first: 100) {
          nodes { title priority depth parentId }
        }
      }
    }
  }
}"#;

const REQUIREMENT_TREE_SQL: &str = r#"
SELECT json_build_object('project', (
  SELECT json_build_object('requirements', json_build_object(
    'totalCount', (SELECT count(*) FROM requirements WHERE project_id = p.id AND parent_id IS NULL),
    'nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'title', r.title,
        'priority', r.priority,
        'descendants', json_build_object('nodes', (
          WITH RECURSIVE walk(id, depth) AS (
            SELECT id, 1 FROM requirements WHERE parent_id = r.id
            UNION ALL
            SELECT c.id, w.depth + 1 FROM requirements c JOIN walk w ON c.parent_id = w.id
            WHERE w.depth < 10)
          SELECT coalesce(json_agg(json_build_object('title', d.title, 'priority', d.priority,
                                                     'depth', w.depth, 'parentId', d.parent_id)
                                   ORDER BY w.depth, d.id), '[]')
          FROM (SELECT * FROM walk ORDER BY depth, id LIMIT 100) w
          JOIN requirements d ON d.id = w.id))) ORDER BY r.id), '[]')
      FROM (SELECT * FROM requirements WHERE project_id = p.id AND parent_id IS NULL
            ORDER BY id LIMIT 20) r)))
  FROM projects p WHERE p.id = $1))::text"#;

/// Q3: a task subtree — up to 100 tasks under a root, each with its assignee and its
/// first 20 sub-tasks with theirs. (The schema links tasks to projects, not to
/// architectural components, so the subtree is one of tasks.)
const TASK_SUBTREE: &str = r#"query TaskSubtree($task: UUID!) {
  task(id: $task) {
    title
    descendants(maxDepth: 10, first: 100) {
      nodes {
        title
        status
        assignee { username }
        children(first: 20) {
          totalCount
          nodes { title assignee { username } }
        }
      }
    }
  }
}"#;

const TASK_SUBTREE_SQL: &str = r#"
SELECT json_build_object('task', (
  SELECT json_build_object(
    'title', t.title,
    'descendants', json_build_object('nodes', (
      WITH RECURSIVE walk(id, depth) AS (
        SELECT id, 1 FROM tasks WHERE parent_id = t.id
        UNION ALL
        SELECT c.id, w.depth + 1 FROM tasks c JOIN walk w ON c.parent_id = w.id WHERE w.depth < 10)
      SELECT coalesce(json_agg(json_build_object(
        'title', d.title,
        'status', upper(d.status::text),
        'assignee', CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('username', u.username) END,
        'children', json_build_object(
          'totalCount', (SELECT count(*) FROM tasks k WHERE k.parent_id = d.id),
          'nodes', (
            SELECT coalesce(json_agg(json_build_object(
              'title', k.title,
              'assignee', CASE WHEN ku.id IS NULL THEN NULL ELSE json_build_object('username', ku.username) END)
              ORDER BY k.id), '[]')
            FROM (SELECT * FROM tasks WHERE parent_id = d.id ORDER BY id LIMIT 20) k
            LEFT JOIN users ku ON ku.id = k.assigned_to))) ORDER BY w.depth, d.id), '[]')
      FROM (SELECT * FROM walk ORDER BY depth, id LIMIT 100) w
      JOIN tasks d ON d.id = w.id
      LEFT JOIN users u ON u.id = d.assigned_to)))
  FROM tasks t WHERE t.id = $1))::text"#;

/// Q3w: Q3 selecting the large columns too — what Q3 saves by not fetching them.
fn wide_task_subtree() -> String {
    let wide = TASK_SUBTREE
        .replace(
            "title\n        status",
            "title\n        description\n        acceptanceCriteria\n        status",
        )
        .replace(
            "nodes { title assignee",
            "nodes { title description acceptanceCriteria assignee",
        );
    assert_eq!(
        wide.matches("acceptanceCriteria").count(),
        2,
        "Q3's text changed: update Q3w"
    );
    wide
}

/// Q3w's statement (made once per bench run, so leaking it costs nothing).
fn wide_task_subtree_sql() -> &'static str {
    let wide = TASK_SUBTREE_SQL
        .replace(
            "'title', d.title,",
            "'title', d.title,\n        'description', d.description,\n        'acceptanceCriteria', d.acceptance_criteria,",
        )
        .replace(
            "'title', k.title,",
            "'title', k.title, 'description', k.description, 'acceptanceCriteria', k.acceptance_criteria,",
        );
    assert_eq!(
        wide.matches("acceptance_criteria").count(),
        2,
        "Q3's statement changed: update Q3w"
    );
    wide.leak()
}

/// Q4: "my tasks", page 2, with each task's project and breadcrumbs.
const MY_TASKS: &str = r#"query MyTasks($user: UUID!, $after: String!) {
  user(id: $user) {
    username
    assignedTasks(first: 20, after: $after, orderBy: { field: PRIORITY }) {
      pageInfo { hasNextPage }
      nodes {
        title
        priority
        status
        project { name }
        ancestors { title }
      }
    }
  }
}"#;

const MY_TASKS_SQL: &str = r#"
SELECT json_build_object('user', (
  SELECT json_build_object(
    'username', u.username,
    'assignedTasks', (
      SELECT json_build_object(
        'pageInfo', json_build_object('hasNextPage', count(*) > 20),
        'nodes', coalesce(json_agg(json_build_object(
          'title', t.title,
          'priority', t.priority,
          'status', upper(t.status::text),
          'project', json_build_object('name', p.name),
          'ancestors', (
            WITH RECURSIVE up(id, parent_id, depth) AS (
              SELECT id, parent_id, 0 FROM tasks WHERE id = t.parent_id
              UNION ALL
              SELECT a.id, a.parent_id, up.depth + 1 FROM tasks a JOIN up ON a.id = up.parent_id)
            SELECT coalesce(json_agg(json_build_object('title', a.title) ORDER BY up.depth DESC), '[]')
            FROM up JOIN tasks a ON a.id = up.id))
          ORDER BY t.priority ASC NULLS LAST, t.id) FILTER (WHERE t.rank <= 20), '[]'))
      FROM (SELECT *, row_number() OVER (ORDER BY priority ASC NULLS LAST, id) AS rank
            FROM (SELECT * FROM tasks
                  WHERE assigned_to = u.id AND organization_id = $4
                    AND (($2::int IS NULL AND priority IS NULL AND id > $3)
                         OR ($2::int IS NOT NULL AND ((priority, id) > ($2, $3) OR priority IS NULL)))
                  ORDER BY priority ASC NULLS LAST, id LIMIT 21) page) t
      JOIN projects p ON p.id = t.project_id))
  FROM users u WHERE u.id = $1))::text"#;

/// Q5: an organization's portfolio — 20 projects, each with its task count, pending
/// approvals and first five analyses.
const PORTFOLIO: &str = r#"query Portfolio($organization: UUID!) {
  organization(id: $organization) {
    name
    projects(first: 20) {
      nodes {
        name
        tasks { totalCount }
        stats { openApprovals }
        analyses(first: 5) { nodes { type confidenceScore } }
      }
    }
  }
}"#;

const PORTFOLIO_SQL: &str = r#"
SELECT json_build_object('organization', (
  SELECT json_build_object(
    'name', o.name,
    'projects', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'name', p.name,
        'tasks', json_build_object('totalCount', (SELECT count(*) FROM tasks t WHERE t.project_id = p.id)),
        'stats', json_build_object('openApprovals',
          (SELECT count(*) FROM approvals a WHERE a.project_id = p.id AND a.status = 'pending')),
        'analyses', json_build_object('nodes', (
          SELECT coalesce(json_agg(json_build_object('type', upper(x.type::text),
                                                     'confidenceScore', x.confidence_score::text)
                                   ORDER BY x.id), '[]')
          FROM (SELECT * FROM analyses WHERE project_id = p.id ORDER BY id LIMIT 5) x)))
        ORDER BY p.id), '[]')
      FROM (SELECT * FROM projects WHERE organization_id = o.id ORDER BY id LIMIT 20) p)))
  FROM organizations o WHERE o.id = $1))::text"#;

/// Q6: search — tasks whose title or description has a word, with their projects.
const SEARCH: &str = r#"query Search($term: String!) {
  tasks(filter: { search: $term }, first: 20) {
    nodes { title status project { name } }
  }
}"#;

const SEARCH_SQL: &str = r#"
SELECT json_build_object('tasks', json_build_object('nodes', (
  SELECT coalesce(json_agg(json_build_object('title', t.title, 'status', upper(t.status::text),
                                             'project', json_build_object('name', p.name))
                           ORDER BY t.id), '[]')
  FROM (SELECT * FROM tasks
        WHERE to_tsvector('english', title || ' ' || COALESCE(description, ''))
              @@ plainto_tsquery('english', $1)
          AND organization_id = $2
        ORDER BY id LIMIT 20) t
  JOIN projects p ON p.id = t.project_id)))::text"#;

/// The suite over `args`; `after` is the cursor that ends the user's first page.
pub fn cases(args: &Args, after: &str) -> Vec<Case> {
    let hostile: String = (0..300)
        .map(|i| format!("a{i}: tasks(first: 100) {{ nodes {{ title }} }}\n"))
        .collect();
    let (after_priority, after_id) = args.after;
    vec![
        Case {
            id: "Q1",
            name: "project overview: stats, latest comments and authors",
            levels: 3,
            statements: 3,
            body: json!({ "query": PROJECT_OVERVIEW, "variables": { "project": args.project } }),
            sql: Some((PROJECT_OVERVIEW_SQL, vec![Arg::Uuid(args.project)])),
            refused: false,
        },
        Case {
            id: "Q2",
            name: "a project's requirement trees (20 roots, 100 nodes each, with depth)",
            // The project, the roots, their descendants: each descendant's depth is its
            // root's (0) plus its depth below it, which the walk that found it tells.
            levels: 3,
            statements: 3,
            body: json!({ "query": REQUIREMENT_TREE, "variables": { "project": args.project } }),
            sql: Some((REQUIREMENT_TREE_SQL, vec![Arg::Uuid(args.project)])),
            refused: false,
        },
        Case {
            id: "Q3",
            name: "a task subtree: 100 tasks, each with assignee and first 20 sub-tasks",
            levels: 4,
            statements: 3,
            body: json!({ "query": TASK_SUBTREE, "variables": { "task": args.task } }),
            sql: Some((TASK_SUBTREE_SQL, vec![Arg::Uuid(args.task)])),
            refused: false,
        },
        Case {
            id: "Q3w",
            name: "Q3 with each task's description and acceptance criteria (text and JSON)",
            levels: 4,
            statements: 3,
            body: json!({ "query": wide_task_subtree(), "variables": { "task": args.task } }),
            sql: Some((wide_task_subtree_sql(), vec![Arg::Uuid(args.task)])),
            refused: false,
        },
        Case {
            id: "Q4",
            name: "my tasks, page 2 by priority, with projects and breadcrumbs",
            levels: 3,
            statements: 3,
            body: json!({ "query": MY_TASKS, "variables": { "user": args.user, "after": after } }),
            sql: Some((
                MY_TASKS_SQL,
                vec![
                    Arg::Uuid(args.user),
                    after_priority.map_or(Arg::NullInt, Arg::Int),
                    Arg::Uuid(after_id),
                    Arg::Uuid(args.organization),
                ],
            )),
            refused: false,
        },
        Case {
            id: "Q5",
            name: "organization portfolio: 20 projects, task counts, approvals, analyses",
            levels: 3,
            statements: 3,
            body: json!({ "query": PORTFOLIO, "variables": { "organization": args.organization } }),
            sql: Some((PORTFOLIO_SQL, vec![Arg::Uuid(args.organization)])),
            refused: false,
        },
        Case {
            id: "Q6",
            name: "search: tasks with a word, with their projects",
            levels: 2,
            statements: 2,
            body: json!({ "query": SEARCH, "variables": { "term": args.term } }),
            sql: Some((
                SEARCH_SQL,
                vec![
                    Arg::Text(args.term.to_owned()),
                    Arg::Uuid(args.organization),
                ],
            )),
            refused: false,
        },
        Case {
            id: "Q7",
            name: "hostile: 300 aliases of a 100-task page (time to refusal)",
            levels: 0,
            statements: 1,
            body: json!({ "query": format!("{{\n{hostile}}}") }),
            sql: None,
            refused: true,
        },
    ]
}

/// The GraphQL body of the first page of `args.user`'s tasks, to get its end cursor.
pub fn first_page(args: &Args) -> Value {
    json!({
        "query": "query($user: UUID!) { user(id: $user) { assignedTasks(first: 20, orderBy: { field: PRIORITY }) { pageInfo { endCursor } } } }",
        "variables": { "user": args.user },
    })
}

/// Binds `args` to a statement.
pub fn bind<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for arg in args {
        query = match arg {
            Arg::Uuid(id) => query.bind(*id),
            Arg::Text(text) => query.bind(text.as_str()),
            Arg::Int(n) => query.bind(*n),
            Arg::NullInt => query.bind(None::<i32>),
        };
    }
    query
}

/// Runs a suite statement with `args`; its one JSON text.
pub async fn answer(pool: &PgPool, sql: &'static str, args: &[Arg]) -> Result<String> {
    let row = bind(sqlx::query(sql), args).fetch_one(pool).await?;
    Ok(row.try_get(0)?)
}
