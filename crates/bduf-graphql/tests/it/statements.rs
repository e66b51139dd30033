//! The number of SQL statements a request takes depends on the query's shape, never on
//! how many rows it touches: counted for real, by the connection's metric callback.

use bduf_testkit::Backend;

use crate::support::{Plan, Shape, TestApp, nodes, on_both_backends};

/// organization → projects → requirements → children → children → comments → author:
/// seven levels of nesting.
const NESTED: &str = r#"{
  organizations(first: 10) { edges { node { name
    projects(first: 100) { edges { node { name
      requirements(rootsOnly: true, first: 100) { edges { node { title
        children { title
          children { title
            comments { content author { username } } } } } } } } } } } } }
}"#;

/// Levels of nesting in [`NESTED`] that each may cost one statement.
const LEVELS: u64 = 7;

on_both_backends!(
    statements_depend_on_the_query_not_the_rows,
    dashboard_stats_cost_one_statement_each
);

async fn statements_depend_on_the_query_not_the_rows(backend: Backend) {
    let small = TestApp::new(backend).await;
    let small_plan = Plan::build(
        small.conn(),
        Shape {
            projects: 1,
            roots: 1,
            breadth: 2,
            comments: 1,
        },
    )
    .await;
    let large = TestApp::new(backend).await;
    let large_plan = Plan::build(
        large.conn(),
        Shape {
            projects: 4,
            roots: 3,
            breadth: 3,
            comments: 2,
        },
    )
    .await;

    let (small_count, small_data) = small.counted(NESTED).await;
    let (large_count, large_data) = large.counted(NESTED).await;

    // The query really walked every level of both datasets.
    let comments = |data: &serde_json::Value| {
        let mut n = 0;
        for org in nodes(&data["organizations"]) {
            for project in nodes(&org["projects"]) {
                for root in nodes(&project["requirements"]) {
                    for child in root["children"].as_array().into_iter().flatten() {
                        for grandchild in child["children"].as_array().into_iter().flatten() {
                            for comment in grandchild["comments"].as_array().into_iter().flatten() {
                                assert!(comment["author"]["username"].is_string(), "{comment}");
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
        n
    };
    assert_eq!(comments(&small_data), small_plan.leaves.len());
    assert_eq!(comments(&large_data), large_plan.leaves.len() * 2);
    assert!(large_plan.leaves.len() > 10 * small_plan.leaves.len());

    assert_eq!(
        small_count, large_count,
        "statements differ between datasets of different breadth"
    );
    assert!(
        small_count <= LEVELS + 1,
        "{small_count} statements for {LEVELS} levels"
    );
}

async fn dashboard_stats_cost_one_statement_each(backend: Backend) {
    let stats = r#"{ organizations(first: 10) { edges { node {
        stats { projectsByStatus { status count } tasksByStatus { status count } members openApprovals }
        projects(first: 100) { edges { node { name stats {
          tasksByStatus { status count } progress { percent leafTasks estimatedHours }
          requirements { total validated } componentsByStatus { label count }
          openApprovals latestAnalyses { type confidenceScore } } } } } } } } }"#;
    let small = TestApp::new(backend).await;
    Plan::build(
        small.conn(),
        Shape {
            projects: 1,
            roots: 1,
            breadth: 1,
            comments: 0,
        },
    )
    .await;
    let large = TestApp::new(backend).await;
    Plan::build(
        large.conn(),
        Shape {
            projects: 6,
            roots: 2,
            breadth: 2,
            comments: 0,
        },
    )
    .await;
    let (small_count, _) = small.counted(stats).await;
    let (large_count, data) = large.counted(stats).await;
    assert_eq!(small_count, large_count);
    // organizations, projects, 4 organization aggregates, 6 project aggregates.
    assert!(large_count <= 12, "{large_count} statements");
    let projects = nodes(&nodes(&data["organizations"])[0]["projects"]);
    assert_eq!(projects.len(), 6);
}
