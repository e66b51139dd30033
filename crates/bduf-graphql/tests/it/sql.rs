//! The SQL of every kind of read key, pinned on both backends: each case is a request
//! that reads through one kind of key (besides the request's own statements —
//! authentication and its settings — which have a case of their own), and its
//! statements' text is an insta snapshot per backend. A change to the statements a
//! dashboard costs shows in review as a diff of these files.

use bduf_testkit::Backend;

use crate::support::{Plan, Shape, TestApp, on_both_backends};

on_both_backends!(every_read_key_has_its_sql_pinned);

/// A statement laid out one clause a line, so that a change shows as the lines it
/// changes.
fn laid_out(sql: &str) -> String {
    sqlformat::format(
        sql,
        &sqlformat::QueryParams::None,
        &sqlformat::FormatOptions::default(),
    )
}

/// The statements a request sent, in the order sent.
async fn statements(app: &TestApp, query: &str) -> Vec<String> {
    app.core.record();
    // Only this request's: whatever ran since the last call is dropped.
    app.core.recorded();
    let response = app.run(query).await;
    let recorded = app.core.recorded();
    assert!(
        response.get("errors").is_none(),
        "{query}\nfailed: {response:#}"
    );
    recorded.into_iter().map(|s| s.sql).collect()
}

async fn every_read_key_has_its_sql_pinned(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 2,
            roots: 1,
            breadth: 2,
            comments: 1,
        },
    )
    .await;
    let project = plan.projects[0];
    let root = plan.roots[0][0];
    let leaf = plan.leaves[0];
    let task = plan.tasks[0];
    // The request's own statements, which every other case starts with.
    let prelude = statements(&app, "{ __typename }").await;
    // A cursor in the middle of an ordering by a nullable column: its page is the union
    // of the range of values and the range of NULLs.
    let first = app
        .data(r#"{ projects(first: 1, orderBy: {field: COMPLEXITY_SCORE}) { pageInfo { endCursor } } }"#)
        .await;
    let cursor = first["projects"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let cases: Vec<(&str, String)> = vec![
        ("by_id", format!(r#"{{ project(id: "{project}") {{ name }} }}"#)),
        ("root_page", "{ projects(first: 2) { nodes { name } } }".to_owned()),
        (
            "root_page_after_a_cursor_by_a_nullable_column",
            format!(
                r#"{{ projects(first: 2, after: "{cursor}", orderBy: {{field: COMPLEXITY_SCORE}}) {{ nodes {{ name }} }} }}"#
            ),
        ),
        ("root_count", "{ projects { totalCount } }".to_owned()),
        (
            "nested_page_and_count",
            "{ projects(first: 2) { nodes { requirements(first: 2, orderBy: {field: PRIORITY, direction: DESC}) { totalCount nodes { title } } } } }"
                .to_owned(),
        ),
        (
            "polymorphic_target",
            format!(r#"{{ requirement(id: "{leaf}") {{ comments(first: 1) {{ nodes {{ content }} }} }} }}"#),
        ),
        (
            "ancestors",
            format!(r#"{{ requirement(id: "{leaf}") {{ ancestors {{ title }} }} }}"#),
        ),
        (
            "depth",
            format!(r#"{{ requirement(id: "{leaf}") {{ depth }} }}"#),
        ),
        (
            "descendants",
            format!(
                r#"{{ requirement(id: "{root}") {{ descendants(first: 2) {{ totalCount nodes {{ title }} }} }} }}"#
            ),
        ),
        (
            "task_counts",
            format!(r#"{{ project(id: "{project}") {{ stats {{ tasksByStatus {{ count }} }} }} }}"#),
        ),
        (
            "task_rollup",
            format!(
                r#"{{ project(id: "{project}") {{ stats {{ tasksByStatus {{ count }} progress {{ percent }} }} }} }}"#
            ),
        ),
        (
            "requirement_counts",
            format!(r#"{{ project(id: "{project}") {{ stats {{ requirements {{ total }} }} }} }}"#),
        ),
        (
            "component_counts",
            format!(r#"{{ project(id: "{project}") {{ stats {{ componentsByStatus {{ count }} }} }} }}"#),
        ),
        (
            "open_approvals",
            format!(r#"{{ project(id: "{project}") {{ stats {{ openApprovals }} }} }}"#),
        ),
        (
            "latest_analyses",
            format!(r#"{{ project(id: "{project}") {{ stats {{ latestAnalyses {{ type }} }} }} }}"#),
        ),
        (
            "organization_stats",
            "{ activeOrganization { stats { projectsByStatus { count } } } }".to_owned(),
        ),
        (
            "organization_task_counts",
            "{ activeOrganization { stats { tasksByStatus { count } } } }".to_owned(),
        ),
        (
            "organization_members",
            "{ activeOrganization { stats { members } } }".to_owned(),
        ),
        (
            "organization_open_approvals",
            "{ activeOrganization { stats { openApprovals } } }".to_owned(),
        ),
        ("my_sessions", "{ mySessions { current } }".to_owned()),
        (
            "task_assignee",
            format!(r#"{{ task(id: "{task}") {{ assignee {{ username }} }} }}"#),
        ),
        (
            "page_with_its_projects_and_assignees_read_ahead",
            "{ tasks(first: 2) { nodes { title project { name } assignee { username } } } }"
                .to_owned(),
        ),
        (
            "aggregates_riding_on_a_page_of_the_same_level",
            "{ projects(first: 2) { nodes { stats { openApprovals } analyses(first: 1) { nodes { type } } } } }"
                .to_owned(),
        ),
        (
            "aggregates_of_three_tables_in_one_statement",
            format!(
                r#"{{ project(id: "{project}") {{ stats {{ requirements {{ total }} openApprovals progress {{ percent }} }} }} }}"#
            ),
        ),
    ];
    let label = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let text = |sql: &[String]| {
        sql.iter()
            .map(|s| laid_out(s))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    insta::assert_snapshot!(format!("request__{label}"), text(&prelude));
    for (name, query) in cases {
        let sql = statements(&app, &query).await;
        assert!(
            sql.starts_with(&prelude),
            "{name}: the request's own statements come first: {sql:#?}"
        );
        let own = &sql[prelude.len()..];
        assert!(!own.is_empty(), "{name} read nothing");
        // The query, its ids named, so the snapshot's header stays put.
        let shown = [
            (project.to_string(), "<project>"),
            (root.to_string(), "<root requirement>"),
            (leaf.to_string(), "<leaf requirement>"),
            (task.to_string(), "<task>"),
            (cursor.clone(), "<cursor>"),
        ]
        .iter()
        .fold(query.clone(), |q, (id, name)| q.replace(id.as_str(), name));
        insta::assert_snapshot!(format!("{name}__{label}"), text(own), &shown);
    }
}
