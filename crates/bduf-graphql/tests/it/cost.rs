//! The cost limits through `execute`, on a real database: the dashboards are
//! answered and say what they cost; its hostile shapes are refused, naming the figure
//! they exceed, before a statement of their own. The figures of every shape are
//! computed in `limits.rs`'s own tests; these show the limits at work on real requests.

use bduf_testkit::Backend;
use serde_json::{Value, json};

use crate::support::{Plan, Shape, TestApp, nodes, on_both_backends, setup};

on_both_backends!(
    dashboards_are_answered_and_say_what_they_cost,
    hostile_shapes_are_refused_before_a_statement_of_their_own
);

/// A page of projects (20 by default), each with its requirement tree three levels
/// deep at default page sizes.
const DASHBOARD: &str = "{ projects { nodes { name
  requirements(filter: {rootsOnly: true}) { nodes { title
    children { nodes { title children { nodes { title } } } } } } } } }";

/// A project's root requirements, `$first` of them, with 20 children a level, three
/// levels.
const ROOTS: &str = "query($id: UUID!, $first: Int) { project(id: $id) {
  requirements(first: $first, filter: {rootsOnly: true}) { nodes { title
    children { nodes { title children { nodes { title } } } } } } } }";

/// The titles of the third level of every tree in `projects` (a list of projects).
fn leaves(projects: &[Value]) -> usize {
    projects
        .iter()
        .flat_map(|p| nodes(&p["requirements"]))
        .flat_map(|r| nodes(&r["children"]))
        .flat_map(|c| nodes(&c["children"]))
        .filter(|leaf| leaf["title"].is_string())
        .count()
}

async fn dashboards_are_answered_and_say_what_they_cost(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), Shape::SMALL).await;

    let dashboard = app.run(DASHBOARD).await;
    assert!(dashboard.get("errors").is_none(), "{dashboard:#}");
    assert_eq!(
        dashboard["extensions"]["cost"],
        json!({
            "nodes": {"requested": 168_420, "max": 500_000},
            "connections": {"requested": 4, "max": 100},
        })
    );
    let projects = nodes(&dashboard["data"]["projects"]);
    assert_eq!(projects.len(), 3);
    assert_eq!(leaves(&projects), 3 * 4 * 3 * 3);

    let roots = app
        .run_with(ROOTS, json!({"id": plan.projects[0], "first": 100}))
        .await;
    assert!(roots.get("errors").is_none(), "{roots:#}");
    assert_eq!(
        roots["extensions"]["cost"]["nodes"]["requested"], 42_100,
        "{roots:#}"
    );
    assert_eq!(leaves(&[roots["data"]["project"].clone()]), 4 * 3 * 3);
}

async fn hostile_shapes_are_refused_before_a_statement_of_their_own(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(app.conn(), Shape::SMALL).await;
    // Signed in and answered once, so what follows counts only the requests.
    let fine = app.run("{ projects(first: 1) { totalCount } }").await;
    assert!(fine.get("errors").is_none(), "{fine:#}");

    let aliases: String = (0..300)
        .map(|i| format!("a{i}: tasks(first: 100) {{ nodes {{ title }} }} "))
        .collect();
    let nested = "{ projects(first: 100) { nodes { requirements(first: 100) {
        nodes { children(first: 100) { nodes { title } } } } } } }";
    let cases = [
        (
            format!("{{ {aliases} }}"),
            json!({"code": "QUERY_TOO_COSTLY", "connections": 300, "max": 100}),
        ),
        (
            nested.to_owned(),
            json!({"code": "QUERY_TOO_COSTLY", "nodes": 1_010_100, "max": 500_000}),
        ),
    ];
    for (query, refusal) in cases {
        let before = app.core_statements();
        let response = app.run(&query).await;
        assert_eq!(response["errors"][0]["extensions"], refusal, "{response:#}");
        assert_eq!(response["data"], Value::Null, "{response:#}");
        assert_eq!(
            app.core_statements() - before,
            setup(backend),
            "only the session lookup ran"
        );
    }
    // A variable page size is refused the same way as a literal one.
    let variable = nested.replace(
        "{ projects(first: 100)",
        "query($n: Int) { projects(first: $n)",
    );
    let response = app.run_with(&variable, json!({"n": 100})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["nodes"], 1_010_100,
        "{response:#}"
    );
}
