//! Tenant isolation, roles, sessions and bad input, on both backends: a member of
//! organization A, holding every id of organization B, reads nothing of B and changes
//! nothing of B; each role may do what it may and is refused the rest; expired and
//! revoked sessions sign nobody in; a refused mutation changes nothing.

use std::collections::BTreeMap;

use bduf_testkit::Backend;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Breadth, Plan, Shape, TestApp, on_both_backends, session_for};

on_both_backends!(
    another_organizations_ids_get_nothing_and_change_nothing,
    each_role_does_what_it_may,
    expired_idle_and_revoked_sessions_are_refused,
    bad_input_is_named_and_changes_nothing,
    trees_are_created_and_moved_whole,
    a_new_organization_is_acted_in_for_the_rest_of_the_request,
    a_stale_session_is_touched_once_by_concurrent_requests,
    a_query_leaves_its_connection_to_the_next_request_clean,
);

/// Every tenant table, with the root field that looks one row up by id.
const LOOKUPS: [(&str, &str); 11] = [
    ("projects", "project"),
    ("requirements", "requirement"),
    ("architectural_components", "architecturalComponent"),
    ("analyses", "analysis"),
    ("tasks", "task"),
    ("collaboration_sessions", "collaborationSession"),
    ("session_participants", "sessionParticipant"),
    ("comments", "comment"),
    ("approvals", "approval"),
    ("approval_participants", "approvalParticipant"),
    ("audit_log", "auditLogEntry"),
];

/// Every root connection.
const LISTS: [&str; 15] = [
    "users",
    "organizations",
    "organizationMembers",
    "projects",
    "requirements",
    "architecturalComponents",
    "analyses",
    "tasks",
    "collaborationSessions",
    "sessionParticipants",
    "comments",
    "notifications",
    "approvals",
    "approvalParticipants",
    "auditLog",
];

pub(crate) fn plan_shape() -> Shape {
    Shape {
        projects: 2,
        roots: 2,
        breadth: 2,
        comments: 1,
    }
}

/// The ids of `table`'s rows in `organization` (`organizations`: the organization).
pub(crate) async fn ids(
    app: &TestApp,
    table: &str,
    column: &str,
    organization: Uuid,
) -> Vec<String> {
    let conn = app.conn();
    let backend = conn.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT id FROM {table} WHERE {column} = {placeholder} ORDER BY id"),
            [organization.into()],
        ))
        .await
        .expect(table);
    rows.iter()
        .map(|row| row.try_get_by_index::<Uuid>(0).expect("an id").to_string())
        .collect()
}

/// Every row of every tenant table of `organization`, as text: what must not change.
pub(crate) async fn snapshot(app: &TestApp, organization: Uuid) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (table, _) in LOOKUPS {
        out.insert(
            table.to_owned(),
            ids(app, table, "organization_id", organization).await.len(),
        );
    }
    let conn = app.conn();
    let backend = conn.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    for (table, column) in [
        ("requirements", "title"),
        ("projects", "name"),
        ("collaboration_sessions", "title"),
        ("collaboration_sessions", "CAST(status AS TEXT)"),
        ("session_participants", "CAST(is_active AS TEXT)"),
        ("approvals", "CAST(status AS TEXT)"),
        ("approval_participants", "CAST(response AS TEXT)"),
        ("analyses", "title"),
        ("comments", "content"),
    ] {
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT {column} FROM {table} WHERE organization_id = {placeholder} ORDER BY id"
                ),
                [organization.into()],
            ))
            .await
            .expect(table);
        for (i, row) in rows.iter().enumerate() {
            let value: Option<String> = row.try_get_by_index(0).expect(column);
            out.insert(format!("{table} {i} {column} = {value:?}"), 1);
        }
    }
    out
}

pub(crate) fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

async fn another_organizations_ids_get_nothing_and_change_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let a = Plan::build(app.conn(), plan_shape()).await;
    let b = Breadth::build(app.conn(), 3).await;
    let b_org = b.organizations[0];
    app.act_as(a.users[0], a.organization).await;
    let before = snapshot(&app, b_org).await;
    let mut b_ids: Vec<String> = vec![b_org.to_string()];
    b_ids.extend(b.users.iter().map(Uuid::to_string));
    for (table, _) in LOOKUPS {
        b_ids.extend(ids(&app, table, "organization_id", b_org).await);
    }
    assert!(b_ids.len() > 30, "B has rows to steal: {}", b_ids.len());

    // Lookups by id: null for every id of B.
    for (table, field) in LOOKUPS {
        for id in ids(&app, table, "organization_id", b_org).await {
            let data = app
                .data(&format!(r#"{{ {field}(id: "{id}") {{ id }} }}"#))
                .await;
            assert_eq!(data[field], Value::Null, "{field}({id}) of B is visible");
        }
    }
    for user in &b.users {
        let data = app
            .data(&format!(r#"{{ user(id: "{user}") {{ id }} }}"#))
            .await;
        assert_eq!(data["user"], Value::Null, "B's user {user} is visible");
    }
    let data = app
        .data(&format!(r#"{{ organization(id: "{b_org}") {{ id }} }}"#))
        .await;
    assert_eq!(data["organization"], Value::Null);

    // Every root connection, filtered by B's ids or not, and every nested edge A's own
    // rows have: no id of B anywhere in any answer.
    let mut answers = Vec::new();
    for list in LISTS {
        answers.push(
            app.run(&format!(
                "{{ {list}(first: 100) {{ totalCount nodes {{ id }} }} }}"
            ))
            .await,
        );
    }
    for project in &b.projects {
        for filtered in [
            format!(
                r#"{{ requirements(filter: {{ projectId: "{project}" }}) {{ totalCount nodes {{ id }} }} }}"#
            ),
            format!(
                r#"{{ tasks(filter: {{ projectId: "{project}" }}) {{ totalCount nodes {{ id }} }} }}"#
            ),
            format!(
                r#"{{ comments(filter: {{ targetId: "{project}" }}) {{ totalCount nodes {{ id }} }} }}"#
            ),
        ] {
            let answer = app.run(&filtered).await;
            assert!(answer.get("errors").is_none(), "{filtered}: {answer}");
            answers.push(answer);
        }
    }
    answers.push(
        app.run(
            "{ organizations { nodes { id stats { members openApprovals tasksByStatus { count } }
                 members { nodes { user { id email memberships { nodes { organization { id } } } } } }
                 projects { nodes { id tasks { nodes { id assignee { id assignedTasks { nodes { id } } } } } } } } }
               users(first: 100) { nodes { id assignedTasks { nodes { id } } memberships { nodes { organizationId } } } } }",
        )
        .await,
    );
    let text = serde_json::to_string(&answers).expect("JSON");
    for id in &b_ids {
        assert!(
            !text.contains(id.as_str()),
            "an id of B ({id}) was answered: {text}"
        );
    }

    // Mutations on B's ids: nothing found, nothing changed.
    let b_req = ids(&app, "requirements", "organization_id", b_org).await[0].clone();
    let b_task = ids(&app, "tasks", "organization_id", b_org).await[0].clone();
    let b_comment = ids(&app, "comments", "organization_id", b_org).await[0].clone();
    let b_project = b.projects[0];
    let a_project = a.projects[0];
    let a_root = a.roots[0][0];
    for (mutation, codes) in [
        (
            format!(
                r#"mutation {{ updateProject(id: "{b_project}", input: {{ name: "stolen" }}) {{ id }} }}"#
            ),
            &["NOT_FOUND"][..],
        ),
        (
            format!(r#"mutation {{ archiveProject(id: "{b_project}") {{ id }} }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ deleteProject(id: "{b_project}") }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ updateRequirement(id: "{b_req}", input: {{ title: "stolen" }}) {{ id }} }}"#
            ),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ deleteRequirement(id: "{b_req}") }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ moveRequirement(id: "{b_req}") {{ id }} }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ moveRequirement(id: "{a_root}", parentId: "{b_req}") {{ id }} }}"#
            ),
            &["VALIDATION"],
        ),
        (
            format!(
                r#"mutation {{ createRequirement(projectId: "{b_project}", input: {{ title: "planted" }}) {{ id }} }}"#
            ),
            &["VALIDATION", "NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ createRequirement(projectId: "{a_project}", parentId: "{b_req}", input: {{ title: "planted" }}) {{ id }} }}"#
            ),
            &["VALIDATION"],
        ),
        (
            format!(
                r#"mutation {{ createRequirementTree(projectId: "{b_project}", nodes: [{{ key: "a", fields: {{ title: "planted" }} }}]) {{ id }} }}"#
            ),
            &["VALIDATION", "NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ updateTask(id: "{b_task}", input: {{ title: "stolen" }}) {{ id }} }}"#
            ),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ deleteTask(id: "{b_task}") }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ createTask(projectId: "{a_project}", input: {{ title: "t", assignedTo: "{}" }}) {{ id }} }}"#,
                b.users[0]
            ),
            &["VALIDATION"],
        ),
        (
            format!(
                r#"mutation {{ createComment(targetType: PROJECT, targetId: "{b_project}", content: "planted") {{ id }} }}"#
            ),
            &["VALIDATION"],
        ),
        (
            format!(
                r#"mutation {{ updateComment(id: "{b_comment}", content: "stolen") {{ id }} }}"#
            ),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ resolveComment(id: "{b_comment}") {{ id }} }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ deleteComment(id: "{b_comment}") }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ updateOrganization(id: "{b_org}", input: {{ name: "stolen" }}) {{ id }} }}"#
            ),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ deleteOrganization(id: "{b_org}") }}"#),
            &["NOT_FOUND"],
        ),
        (
            format!(
                r#"mutation {{ updateMemberRole(userId: "{}", role: VIEWER) {{ id }} }}"#,
                b.users[0]
            ),
            &["NOT_FOUND"],
        ),
        (
            format!(r#"mutation {{ removeMember(userId: "{}") }}"#, b.users[0]),
            &["NOT_FOUND"],
        ),
    ] {
        let answer = app.run(&mutation).await;
        assert!(
            codes.contains(&code(&answer)),
            "{mutation}: expected one of {codes:?}, got {answer}"
        );
    }
    // Acting in B without being a member is refused before anything runs.
    app.act_as(a.users[0], b_org).await;
    let answer = app.run("{ projects { totalCount } }").await;
    assert_eq!(code(&answer), "FORBIDDEN", "{answer}");
    assert_eq!(snapshot(&app, b_org).await, before, "B's rows changed");
}

async fn each_role_does_what_it_may(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let org = plan.organization;
    // A viewer, added by the owner.
    app.act_as(plan.users[0], org).await;
    let signed_up = app
        .run(r#"mutation { signUp(input: { email: "Vera@Example.com", username: "vera", password: "correct horse" }) { token user { id } } }"#)
        .await;
    let vera: Uuid = signed_up["data"]["signUp"]["user"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{signed_up}"));
    let added = app
        .run(r#"mutation { addMember(email: "vera@example.com", role: VIEWER) { role } }"#)
        .await;
    assert_eq!(added["data"]["addMember"]["role"], "VIEWER", "{added}");
    let again = app
        .run(r#"mutation { addMember(email: "vera@example.com", role: VIEWER) { role } }"#)
        .await;
    assert_eq!(code(&again), "CONFLICT", "{again}");

    let [owner, admin, contributor] = [plan.users[0], plan.users[1], plan.users[2]];
    let project = plan.projects[0];
    // (who, mutation, allowed)
    let cases: Vec<(Uuid, String, bool)> = vec![
        (
            vera,
            format!(
                r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "v" }}) {{ id }} }}"#
            ),
            false,
        ),
        (
            vera,
            r#"mutation { createProject(input: { name: "v" }) { id } }"#.to_owned(),
            false,
        ),
        (
            contributor,
            format!(
                r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "c" }}) {{ id }} }}"#
            ),
            true,
        ),
        (
            contributor,
            r#"mutation { createProject(input: { name: "c" }) { id } }"#.to_owned(),
            true,
        ),
        (
            contributor,
            format!(
                r#"mutation {{ createAnalysis(projectId: "{project}", input: {{ type: RISK, title: "c", confidenceScore: "0.75" }}) {{ confidenceScore }} }}"#
            ),
            true,
        ),
        (
            vera,
            format!(
                r#"mutation {{ createAnalysis(projectId: "{project}", input: {{ type: RISK, title: "v" }}) {{ id }} }}"#
            ),
            false,
        ),
        (
            contributor,
            format!(r#"mutation {{ deleteProject(id: "{project}") }}"#),
            false,
        ),
        (
            contributor,
            r#"mutation { addMember(email: "x@example.com", role: VIEWER) { id } }"#.to_owned(),
            false,
        ),
        (
            admin,
            format!(
                r#"mutation {{ updateMemberRole(userId: "{vera}", role: CONTRIBUTOR) {{ role }} }}"#
            ),
            true,
        ),
        (
            admin,
            format!(r#"mutation {{ updateMemberRole(userId: "{vera}", role: OWNER) {{ role }} }}"#),
            false,
        ),
        (
            admin,
            format!(
                r#"mutation {{ updateOrganization(id: "{org}", input: {{ name: "a" }}) {{ id }} }}"#
            ),
            false,
        ),
        (
            owner,
            format!(
                r#"mutation {{ updateOrganization(id: "{org}", input: {{ name: "Renamed" }}) {{ name }} }}"#
            ),
            true,
        ),
        (
            owner,
            format!(r#"mutation {{ removeMember(userId: "{owner}") }}"#),
            false,
        ),
        (
            admin,
            format!(
                r#"mutation {{ deleteProject(id: "{}") }}"#,
                plan.projects[1]
            ),
            true,
        ),
    ];
    for (who, mutation, allowed) in cases {
        app.act_as(who, org).await;
        let answer = app.run(&mutation).await;
        if allowed {
            assert!(
                answer.get("errors").is_none(),
                "{who}: {mutation}: {answer}"
            );
        } else {
            assert!(
                ["FORBIDDEN", "VALIDATION"].contains(&code(&answer)),
                "{who}: {mutation}: expected a refusal, got {answer}"
            );
        }
    }
    // Emails: a contributor sees only their own; an admin sees everyone's.
    app.act_as(contributor, org).await;
    let seen = app.data("{ users { nodes { id email } } }").await;
    for user in seen["users"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        assert_eq!(
            user["email"].is_null(),
            user["id"] != contributor.to_string(),
            "{user}"
        );
    }
    app.act_as(admin, org).await;
    let seen = app.data("{ users { nodes { email } } }").await;
    assert!(
        seen["users"]["nodes"]
            .as_array()
            .is_some_and(|u| u.len() >= 4 && u.iter().all(|u| u["email"].is_string())),
        "{seen}"
    );
    // Every change left an audit entry, by its author.
    let audit = app
        .data("{ auditLog(first: 100) { totalCount nodes { tableName operation userId } } }")
        .await;
    assert!(
        audit["auditLog"]["totalCount"].as_i64() >= Some(6),
        "{audit}"
    );
}

async fn expired_idle_and_revoked_sessions_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let conn = app.conn();
    let past = "2020-01-01T00:00:00+00:00";
    for (column, value) in [
        ("expires_at", past),
        ("last_used_at", past),
        ("revoked_at", "2026-01-01T00:00:00+00:00"),
    ] {
        let token = session_for(conn, plan.users[0]).await;
        let hash = bduf_graphql::auth::token_hash(&token);
        let sql = match conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => format!(
                "UPDATE user_sessions SET {column} = '{value}'::timestamptz WHERE token_hash = '{hash}'"
            ),
            _ => {
                format!("UPDATE user_sessions SET {column} = '{value}' WHERE token_hash = '{hash}'")
            }
        };
        conn.execute_unprepared(&sql)
            .await
            .expect("aging the session");
        let answer = bduf_graphql::execute(
            &bduf_graphql::schema(bduf_graphql::Limits::default()),
            async_graphql::Request::new("{ me { id } }"),
            &app.core,
            bduf_core::RequestContext {
                token: Some(token),
                ..Default::default()
            },
        )
        .await;
        let answer = serde_json::to_value(answer.response).expect("JSON");
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{column}: {answer}");
    }
    // A made-up token, and no token at all.
    for token in [Some("bduf_0000".to_owned()), None] {
        let answer = bduf_graphql::execute(
            &bduf_graphql::schema(bduf_graphql::Limits::default()),
            async_graphql::Request::new("{ projects { totalCount } }"),
            &app.core,
            bduf_core::RequestContext {
                token,
                ..Default::default()
            },
        )
        .await;
        let answer = serde_json::to_value(answer.response).expect("JSON");
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{answer}");
        assert_eq!(answer["data"], Value::Null);
    }
    // Sign-in: one answer for a wrong password and an unknown account; throttled after
    // repeated failures, even with the right password.
    let wrong = app
        .run_anonymous(
            r#"mutation { signIn(email: "nobody@example.com", password: "whatever1") { token } }"#,
        )
        .await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED");
    let signed_up = app
        .run_anonymous(r#"mutation { signUp(input: { email: "sam@example.com", username: "sam", password: "right password" }) { token } }"#)
        .await;
    assert!(
        signed_up["data"]["signUp"]["token"].is_string(),
        "{signed_up}"
    );
    let bad = app.run_anonymous(r#"mutation { signIn(email: "sam@example.com", password: "wrong password") { token } }"#).await;
    assert_eq!(bad["errors"][0]["message"], wrong["errors"][0]["message"]);
    let good =
        r#"mutation { signIn(email: "SAM@example.com", password: "right password") { token } }"#;
    assert!(app.run_anonymous(good).await["data"]["signIn"]["token"].is_string());
    for _ in 0..5 {
        app.run_anonymous(
            r#"mutation { signIn(email: "sam@example.com", password: "guess") { token } }"#,
        )
        .await;
    }
    let throttled = app.run_anonymous(good).await;
    assert_eq!(code(&throttled), "THROTTLED", "{throttled}");
}

async fn bad_input_is_named_and_changes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let org = plan.organization;
    let project = plan.projects[0];
    let other = plan.projects[1];
    let root = plan.roots[0][0];
    let leaf = plan.leaves[0];
    let foreign = plan.roots[1][0];
    let before = snapshot(&app, org).await;
    let long = "x".repeat(256);
    let huge = "x".repeat(50_001);
    for (mutation, want, field) in [
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "r", priority: 0 }}) {{ id }} }}"#), "VALIDATION", Some("input.priority")),
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "r", priority: 6 }}) {{ id }} }}"#), "VALIDATION", Some("input.priority")),
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "r", complexityScore: 11 }}) {{ id }} }}"#), "VALIDATION", Some("input.complexityScore")),
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "{long}" }}) {{ id }} }}"#), "VALIDATION", Some("input.title")),
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "r", description: "{huge}" }}) {{ id }} }}"#), "VALIDATION", Some("input.description")),
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ title: "   " }}) {{ id }} }}"#), "VALIDATION", Some("input.title")),
        (format!(r#"mutation {{ createRequirement(projectId: "{project}", input: {{ }}) {{ id }} }}"#), "VALIDATION", Some("input.title")),
        (r#"mutation { createRequirement(projectId: "not-a-uuid", input: { title: "r" }) { id } }"#.to_owned(), "BAD_USER_INPUT", None),
        (format!(r#"mutation {{ createTask(projectId: "{project}", input: {{ title: "t", status: FINISHED }}) {{ id }} }}"#), "GRAPHQL_VALIDATION_FAILED", None),
        (format!(r#"mutation {{ createTask(projectId: "{project}", input: {{ title: "t", progressPercentage: 101 }}) {{ id }} }}"#), "VALIDATION", Some("input.progressPercentage")),
        (format!(r#"mutation {{ createTask(projectId: "{project}", input: {{ title: "t", estimatedHours: -1 }}) {{ id }} }}"#), "VALIDATION", Some("input.estimatedHours")),
        (r#"mutation { createProject(input: { name: "p", complexityScore: 0 }) { id } }"#.to_owned(), "VALIDATION", Some("input.complexityScore")),
        (format!(r#"mutation {{ createAnalysis(projectId: "{project}", input: {{ type: RISK, title: "a", confidenceScore: "1.5" }}) {{ id }} }}"#), "VALIDATION", Some("input.confidenceScore")),
        (format!(r#"mutation {{ createAnalysis(projectId: "{project}", input: {{ type: ASTROLOGY, title: "a" }}) {{ id }} }}"#), "GRAPHQL_VALIDATION_FAILED", None),
        (r#"mutation { createProject(input: { name: "p", currency: "EURO" }) { id } }"#.to_owned(), "VALIDATION", Some("input.currency")),
        (format!(r#"mutation {{ moveRequirement(id: "{root}", parentId: "{leaf}") {{ id }} }}"#), "VALIDATION", Some("parentId")),
        (format!(r#"mutation {{ moveRequirement(id: "{root}", parentId: "{root}") {{ id }} }}"#), "VALIDATION", Some("parentId")),
        (format!(r#"mutation {{ moveRequirement(id: "{leaf}", parentId: "{foreign}") {{ id }} }}"#), "VALIDATION", Some("parentId")),
        (format!(r#"mutation {{ createRequirement(projectId: "{other}", parentId: "{root}", input: {{ title: "r" }}) {{ id }} }}"#), "VALIDATION", Some("parentId")),
        (format!(r#"mutation {{ createRequirement(projectId: "{}", input: {{ title: "r" }}) {{ id }} }}"#, Uuid::now_v7()), "VALIDATION", Some("projectId")),
        (format!(r#"mutation {{ updateRequirement(id: "{}", input: {{ title: "r" }}) {{ id }} }}"#, Uuid::now_v7()), "NOT_FOUND", None),
        (format!(r#"mutation {{ createRequirementTree(projectId: "{project}", nodes: [
            {{ key: "a", parentKey: "b", fields: {{ title: "a" }} }}, {{ key: "b", parentKey: "a", fields: {{ title: "b" }} }}]) {{ id }} }}"#), "VALIDATION", None),
        (format!(r#"mutation {{ createRequirementTree(projectId: "{project}", nodes: [
            {{ key: "a", fields: {{ title: "a" }} }}, {{ key: "a", fields: {{ title: "b" }} }}]) {{ id }} }}"#), "VALIDATION", Some("nodes[1].key")),
        (format!(r#"mutation {{ createRequirementTree(projectId: "{project}", nodes: [
            {{ key: "a", fields: {{ title: "a" }} }}, {{ key: "b", parentKey: "zz", fields: {{ title: "b" }} }}]) {{ id }} }}"#), "VALIDATION", Some("nodes[1].parentKey")),
        (format!(r#"mutation {{ createRequirementTree(projectId: "{project}", nodes: [
            {{ key: "a", fields: {{ title: "a" }} }}, {{ key: "b", parentKey: "a", fields: {{ title: "b", priority: 9 }} }}]) {{ id }} }}"#), "VALIDATION", Some("nodes[1].fields.priority")),
        (r#"mutation { createOrganization(input: { name: "X", slug: "Not A Slug" }) { id } }"#.to_owned(), "VALIDATION", Some("slug")),
        (r#"mutation { signUp(input: { email: "nope", username: "ok-name", password: "long enough" }) { token } }"#.to_owned(), "VALIDATION", Some("email")),
        (r#"mutation { signUp(input: { email: "a@b.example", username: "ok-name", password: "short" }) { token } }"#.to_owned(), "VALIDATION", Some("password")),
        ("mutation { createRequirement(".to_owned(), "GRAPHQL_VALIDATION_FAILED", None),
    ] {
        let answer = app.run(&mutation).await;
        assert_eq!(code(&answer), want, "{mutation}: {answer}");
        if let Some(field) = field {
            assert_eq!(
                answer["errors"][0]["extensions"]["field"], field,
                "{mutation}: {answer}"
            );
        }
        let text = serde_json::to_string(&answer).unwrap_or_default();
        for leak in ["SELECT", "INSERT", "violates", "sqlx", "panicked"] {
            assert!(!text.contains(leak), "{mutation}: the answer leaks {leak}: {text}");
        }
    }
    assert_eq!(
        snapshot(&app, org).await,
        before,
        "a refused mutation changed rows"
    );
    // A duplicate slug is a conflict.
    for _ in 0..2 {
        app.run(r#"mutation { createOrganization(input: { name: "Acme", slug: "acme" }) { id } }"#)
            .await;
    }
    let taken = app
        .run(r#"mutation { createOrganization(input: { name: "Acme", slug: "acme" }) { id } }"#)
        .await;
    assert_eq!(code(&taken), "CONFLICT", "{taken}");
    assert_eq!(taken["errors"][0]["extensions"]["field"], "slug");
    // One field failing leaves the others of the request standing.
    let mixed = app
        .run(&format!(
            r#"mutation {{ ok: createRequirement(projectId: "{project}", input: {{ title: "kept" }}) {{ title }}
                          bad: createRequirement(projectId: "{project}", input: {{ title: "r", priority: 0 }}) {{ id }} }}"#
        ))
        .await;
    assert_eq!(mixed["data"]["ok"]["title"], "kept", "{mixed}");
    assert_eq!(code(&mixed), "VALIDATION");
    let after = snapshot(&app, org).await;
    assert_eq!(after["requirements"], before["requirements"] + 1);
}

async fn trees_are_created_and_moved_whole(backend: Backend) {
    const DEEP: usize = 1_500;
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let project = plan.projects[0];
    // A chain 1,500 deep, given leaf first: parents are found by key, not by order.
    let nodes: Vec<Value> = (0..DEEP)
        .rev()
        .map(|i| {
            let mut node =
                json!({ "key": format!("n{i}"), "fields": { "title": format!("N{i}") } });
            if i > 0 {
                node["parentKey"] = json!(format!("n{}", i - 1));
            }
            node
        })
        .collect();
    let created = app
        .run_with(
            "mutation($p: UUID!, $nodes: [RequirementNodeInput!]!) { createRequirementTree(projectId: $p, nodes: $nodes) { id title parentId } }",
            json!({ "p": project, "nodes": nodes }),
        )
        .await;
    let rows = created["data"]["createRequirementTree"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{created}"));
    assert_eq!(rows.len(), DEEP);
    assert_eq!(
        rows[0]["title"],
        format!("N{}", DEEP - 1),
        "in the order given"
    );
    let top = rows[DEEP - 1]["id"].as_str().expect("id").to_owned();
    let bottom = rows[0]["id"].as_str().expect("id").to_owned();
    let depth = app
        .data(&format!(r#"{{ requirement(id: "{bottom}") {{ depth }} }}"#))
        .await;
    assert_eq!(depth["requirement"]["depth"], DEEP - 1);
    // The top cannot move under its deepest descendant; it can move under another root.
    let cycle = app
        .run(&format!(
            r#"mutation {{ moveRequirement(id: "{top}", parentId: "{bottom}") {{ id }} }}"#
        ))
        .await;
    assert_eq!(code(&cycle), "VALIDATION", "{cycle}");
    let root = plan.roots[0][0];
    let moved = app
        .run(&format!(
            r#"mutation {{ moveRequirement(id: "{top}", parentId: "{root}") {{ parentId }} }}"#
        ))
        .await;
    assert_eq!(
        moved["data"]["moveRequirement"]["parentId"],
        root.to_string(),
        "{moved}"
    );
    let depth = app
        .data(&format!(r#"{{ requirement(id: "{bottom}") {{ depth }} }}"#))
        .await;
    assert_eq!(
        depth["requirement"]["depth"], DEEP,
        "the subtree moved with it"
    );
    // Too many nodes: refused whole.
    let too_many: Vec<Value> = (0..5_001)
        .map(|i| json!({ "key": format!("k{i}"), "fields": { "title": "t" } }))
        .collect();
    let refused = app
        .run_with(
            "mutation($p: UUID!, $nodes: [RequirementNodeInput!]!) { createRequirementTree(projectId: $p, nodes: $nodes) { id } }",
            json!({ "p": project, "nodes": too_many }),
        )
        .await;
    assert_eq!(code(&refused), "VALIDATION", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "nodes");
    // Deleting the moved subtree's top removes all of it.
    let gone = app
        .run(&format!(r#"mutation {{ deleteRequirement(id: "{top}") }}"#))
        .await;
    assert!(gone.get("errors").is_none(), "{gone}");
    let bottom_now = app
        .data(&format!(r#"{{ requirement(id: "{bottom}") {{ id }} }}"#))
        .await;
    assert_eq!(bottom_now["requirement"], Value::Null);
}

/// The lengths the checks use are the schema's: every `VARCHAR(n)` column of the live
/// PostgreSQL schema is in the generated `entity::rules::LENGTHS` with its `n`, and
/// nothing else is (read here from `information_schema`, not the generator's catalog
/// query). Partitions (`audit_log`'s months) are the parent's storage, not columns of
/// their own, and are left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_varchar_length_is_known() {
    let app = TestApp::new(Backend::Postgres).await;
    let rows = app
        .conn()
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT table_name || '.' || column_name, character_maximum_length::int8 \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND data_type = 'character varying' AND table_name <> 'seaql_migrations' \
             AND NOT EXISTS (SELECT FROM pg_class c WHERE c.relname = table_name \
                               AND c.relnamespace = 'public'::regnamespace AND c.relispartition) \
             ORDER BY 1",
        ))
        .await
        .expect("the catalog");
    let live: Vec<(String, usize)> = rows
        .iter()
        .map(|row| {
            let name: String = row.try_get_by_index(0).expect("a name");
            let n: i64 = row.try_get_by_index(1).expect("a length");
            (name, usize::try_from(n).unwrap_or_default())
        })
        .collect();
    let mut known: Vec<(String, usize)> = entity::rules::LENGTHS
        .iter()
        .map(|l| (format!("{}.{}", l.table, l.column), l.max))
        .collect();
    known.sort();
    assert_eq!(known, live);
}

/// Creating an organization moves the rest of the request into it, on both backends
/// alike: the database's settings (PostgreSQL's row-level security) and the
/// application's scope together. A failed creation moves nothing.
async fn a_new_organization_is_acted_in_for_the_rest_of_the_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let answer = app
        .run(
            r#"mutation {
                taken: createOrganization(input: { name: "Taken", slug: "-bad" }) { id }
                first: createProject(input: { name: "In the old one" }) { organizationId }
                org: createOrganization(input: { name: "Fresh", slug: "fresh" }) { id }
                project: createProject(input: { name: "In the new one" }) { name organizationId }
            }"#,
        )
        .await;
    let data = &answer["data"];
    assert_eq!(
        data["first"]["organizationId"],
        json!(plan.organization.to_string()),
        "{answer:#}"
    );
    let fresh = data["org"]["id"].as_str().expect("the new organization");
    assert_ne!(fresh, plan.organization.to_string());
    assert_eq!(
        data["project"]["organizationId"],
        json!(fresh),
        "{answer:#}"
    );
    // The new project is the new organization's, seen from a later request acting there.
    let owner = plan.users[0];
    let token = session_for(app.conn(), owner).await;
    let org: Uuid = fresh.parse().expect("a UUID");
    let later = app
        .run_for(
            &token,
            org,
            "{ projects { nodes { name organizationId } } }",
            Value::Null,
        )
        .await;
    assert_eq!(
        later["data"]["projects"]["nodes"],
        json!([{ "name": "In the new one", "organizationId": fresh }]),
        "{later:#}"
    );
    // And the old organization did not get it.
    let before = app
        .run("{ projects(filter: { search: \"new one\" }) { totalCount } }")
        .await;
    assert_eq!(before["data"]["projects"]["totalCount"], 0, "{before:#}");
}

/// A session unused for a while is touched — `last_used_at` refreshed — by the next
/// request, in that request's own transaction; eight requests with it at once all answer
/// (a touch that meets another's holds back instead of failing its request), and its
/// last use moves forward.
async fn a_stale_session_is_touched_once_by_concurrent_requests(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let conn = app.conn();
    let token = session_for(conn, plan.users[0]).await;
    let hash = bduf_graphql::auth::token_hash(&token);
    let age = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!(
            "UPDATE user_sessions SET last_used_at = now() - interval '2 minutes' WHERE token_hash = '{hash}'"
        ),
        _ => format!(
            "UPDATE user_sessions SET last_used_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-2 minutes') WHERE token_hash = '{hash}'"
        ),
    };
    conn.execute_unprepared(&age)
        .await
        .expect("aging the session");
    let last_used = || async {
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT CAST(last_used_at AS TEXT) FROM user_sessions WHERE token_hash = '{hash}'"),
            ))
            .await
            .expect("the session");
        rows[0].try_get_by_index::<String>(0).expect("a time")
    };
    let before = last_used().await;
    let answers = futures_util::future::join_all((0..8).map(|_| {
        app.run_for(
            &token,
            plan.organization,
            "{ me { id } projects { totalCount } }",
            Value::Null,
        )
    }))
    .await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer:#}");
        assert_eq!(answer["data"]["me"]["id"], json!(plan.users[0].to_string()));
    }
    let after = last_used().await;
    assert!(
        after > before,
        "the session's last use moved: {before} → {after}"
    );
}

/// A query's transaction that wrote nothing is not committed and waited for
/// (`RequestTxn::commit`): it is dropped, and the pool rolls it back before it hands the
/// connection out again. On a pool of one connection, each query after a change made
/// elsewhere sees that change — were the `ROLLBACK` not sent first, the next request's
/// `BEGIN` would only warn and it would read on in the old transaction's snapshot — and
/// each mutation in between commits, on the connection the queries left.
async fn a_query_leaves_its_connection_to_the_next_request_clean(backend: Backend) {
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::new(backend).await.on_one_connection().await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    app.act_as(plan.users[0], plan.organization).await;
    let project = plan.projects[0];
    let read = format!("{{ project(id: \"{project}\") {{ name }} }}");
    for round in 0..30 {
        let elsewhere = format!("Renamed elsewhere {round}");
        entity::projects::ActiveModel {
            id: Set(project),
            name: Set(elsewhere.clone()),
            ..Default::default()
        }
        .update(app.conn())
        .await
        .expect("renaming the project on another pool");
        let seen = app.run(&read).await;
        assert_eq!(
            seen["data"]["project"]["name"],
            json!(elsewhere),
            "round {round}: {seen:#}"
        );
        let mine = format!("Renamed by a request {round}");
        let renamed = app
            .run_with(
                "mutation($id: UUID!, $name: String!) { updateProject(id: $id, input: { name: $name }) { name } }",
                json!({ "id": project, "name": mine }),
            )
            .await;
        assert!(
            renamed.get("errors").is_none(),
            "round {round}: {renamed:#}"
        );
        let seen = app.run(&read).await;
        assert_eq!(
            seen["data"]["project"]["name"],
            json!(mine),
            "round {round}: {seen:#}"
        );
    }
}
