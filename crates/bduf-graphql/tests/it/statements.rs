//! The number of SQL statements a request takes depends on the query's shape, never on
//! how many rows it touches: counted for real, by the connection's metric callback, on a
//! dataset with one item per level and on one with levels of 1,000 and 3,000 items, for
//! every kind of read key.

use bduf_testkit::Backend;
use serde_json::Value;

use crate::support::{Breadth, Plan, Shape, TestApp, nodes, on_both_backends, setup};

/// Every kind of read key, each at a level of at least 1,000 items on the large dataset
/// (one organization, as a request acts in one): users → their assigned root tasks
/// (1,000) with their projects (1,000 distinct, read ahead) → by id (creator,
/// organization), six project aggregates, comments by polymorphic target with their
/// authors, tasks (3,000) with their assignees → the organization's four aggregates, by
/// id (parent), depth, ancestors, children and descendants (3,000 parents each),
/// comments by target again with their authors.
const WIDE: &str = r#"{
  users(first: 100) { nodes { id
    assignedTasks(first: 10) { nodes { project { id
        createdBy { id }
        organization { id
          stats { projectsByStatus { status count } tasksByStatus { status count } members openApprovals } }
        stats {
          tasksByStatus { status count } progress { percent leafTasks }
          requirements { total validated } componentsByStatus { label count }
          openApprovals latestAnalyses { type confidenceScore }
        }
        comments(first: 2) { totalCount nodes { author { id } } }
        tasks(first: 3) { nodes { id
          assignee { id } parent { id } depth ancestors { id }
          children(first: 2) { totalCount nodes { id } }
          descendants(first: 2) { totalCount nodes { id } }
          comments(first: 1) { nodes { author { id } } }
        } }
    } } }
  } }
}"#;

/// The statements [`WIDE`] takes: one per kind of key at each wave (level); the
/// wave's aggregate keys (counts and sums, of any table) together, riding on one of the
/// wave's other statements on PostgreSQL, in one statement of their own on SQLite; a
/// connection's rows with their `totalCount` in one on PostgreSQL (SQLite, which has no
/// LATERAL, counts a nested connection apart); and the to-one edges of a page's rows (a
/// task's project and assignee, a comment's author) read with the page.
///
/// 1. users; 2. assigned tasks (their projects read with them); 3. users by id
///    (creators), organizations by id, latest analyses, comments (with their count and
///    authors), tasks (with their assignees), the other five project aggregates riding:
///    5; 4. tasks by id (parents), depth, ancestors, children (with their count),
///    descendants (with their count), comments (with their authors), the four
///    organization aggregates riding: 6. SQLite: the two waves' aggregates, and the
///    comments' and children's counts, four more.
fn wide_statements(backend: Backend) -> u64 {
    let postgres = 1 + 1 + 5 + 6;
    match backend {
        Backend::Postgres => postgres,
        Backend::Sqlite => postgres + 4,
    }
}

on_both_backends!(
    statements_depend_on_the_shape_not_the_breadth,
    deep_nesting_costs_one_statement_per_level,
    a_connection_asked_only_for_its_count_reads_no_rows,
    depths_come_with_the_walks_that_find_them,
    a_root_found_by_id_is_read_with_its_first_level
);

/// Counts the objects under `path` (arrays and connections flattened) in `data`.
fn count(data: &Value, path: &[&str]) -> usize {
    let Some((first, rest)) = path.split_first() else {
        return 1;
    };
    let value = &data[*first];
    let items = if value.get("nodes").is_some() || value.get("edges").is_some() {
        nodes(value)
    } else if let Some(list) = value.as_array() {
        list.clone()
    } else if value.is_null() {
        Vec::new()
    } else {
        vec![value.clone()]
    };
    items.iter().map(|item| count(item, rest)).sum()
}

async fn statements_depend_on_the_shape_not_the_breadth(backend: Backend) {
    let small = TestApp::new(backend).await.without_cost_limit();
    Breadth::build(small.conn(), 1).await;
    let large = TestApp::new(backend).await.without_cost_limit();
    Breadth::build(large.conn(), 1_000).await;

    let (small_count, small_data) = small.counted(WIDE).await;
    let (large_count, large_data) = large.counted(WIDE).await;

    // The query really reached every level, at the breadth claimed.
    let levels: [&[&str]; 8] = [
        &["users", "assignedTasks"],
        &["users", "assignedTasks", "project"],
        &["users", "assignedTasks", "project", "createdBy"],
        &["users", "assignedTasks", "project", "comments", "author"],
        &["users", "assignedTasks", "project", "tasks"],
        &["users", "assignedTasks", "project", "tasks", "assignee"],
        &["users", "assignedTasks", "project", "tasks", "ancestors"],
        &[
            "users",
            "assignedTasks",
            "project",
            "tasks",
            "comments",
            "author",
        ],
    ];
    // Only root tasks are assigned: 1,000 assignees among 3,000 tasks.
    for (path, large_n) in levels
        .iter()
        .zip([1_000, 1_000, 1_000, 1_000, 3_000, 1_000, 3_000, 3_000])
    {
        assert_eq!(count(&large_data, path), large_n, "{path:?}");
        assert_eq!(count(&small_data, path), large_n / 1_000, "{path:?}");
    }
    for project in nodes(&large_data["users"])
        .iter()
        .flat_map(|u| nodes(&u["assignedTasks"]))
        .map(|t| t["project"].clone())
    {
        let stats = &project["stats"];
        assert_eq!(stats["requirements"]["total"], 1, "{stats}");
        assert_eq!(stats["openApprovals"], 1, "{stats}");
        assert_eq!(
            stats["latestAnalyses"][0]["confidenceScore"], "0.90",
            "{stats}"
        );
        let tasks = nodes(&project["tasks"]);
        let depths: Vec<i64> = tasks.iter().filter_map(|t| t["depth"].as_i64()).collect();
        assert_eq!(depths, [0, 1, 2]);
        assert_eq!(tasks[0]["descendants"]["totalCount"], 2);
        assert_eq!(tasks[2]["ancestors"].as_array().map(Vec::len), Some(2));
    }

    assert_eq!(
        small_count, large_count,
        "statements differ between a level of 1 and a level of 1,000"
    );
    assert_eq!(
        large_count,
        setup(backend) + wide_statements(backend),
        "statements per the query's shape"
    );
}

/// organization → projects → requirements → children → children → comments → author:
/// seven levels of nesting, six statements (the authors are read with their comments).
const NESTED: &str = r#"{
  organizations(first: 10) { nodes { name
    projects(first: 100) { nodes { name
      requirements(filter: {rootsOnly: true}, first: 100) { nodes { title
        children { nodes { title
          children { nodes { title
            comments { nodes { content author { username } } }
          } }
        } }
      } }
    } }
  } }
}"#;

async fn deep_nesting_costs_one_statement_per_level(backend: Backend) {
    let small = TestApp::new(backend).await.without_cost_limit();
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
    let large = TestApp::new(backend).await.without_cost_limit();
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
    let path = [
        "projects",
        "requirements",
        "children",
        "children",
        "comments",
        "author",
    ];
    let authors = |data: &Value| {
        nodes(&data["organizations"])
            .iter()
            .map(|o| count(o, &path))
            .sum::<usize>()
    };
    assert_eq!(authors(&small_data), small_plan.leaves.len());
    assert_eq!(authors(&large_data), large_plan.leaves.len() * 2);
    assert_eq!(small_count, large_count);
    assert_eq!(
        large_count,
        setup(backend) + 6,
        "one statement per level, the authors read with their comments"
    );
}

/// Four connections asked for `totalCount` — a root one, nested ones at 1,000 and 3,000
/// parents, and `descendants` — with `{rows}` replaced by nothing or by a selection of
/// their nodes.
const COUNTS: &str = r#"{
  tasks { totalCount {rows} }
  users(first: 100) { nodes { assignedTasks(first: 10) { nodes { project {
    comments { totalCount {rows} }
    tasks(first: 3) { nodes {
      children { totalCount {rows} }
      descendants { totalCount {rows} }
    } }
  } } } } }
}"#;

/// Every `totalCount` in `value`, in document order.
fn totals(value: &Value, out: &mut Vec<i64>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_i64()) {
                    ("totalCount", Some(n)) => out.push(n),
                    _ => totals(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| totals(item, out)),
        _ => {}
    }
}

async fn a_connection_asked_only_for_its_count_reads_no_rows(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    Breadth::build(app.conn(), 1_000).await;
    let (alone, counted) = app.counted(&COUNTS.replace("{rows}", "")).await;
    let (with_rows, listed) = app.counted(&COUNTS.replace("{rows}", "nodes { id }")).await;

    let (mut counts, mut same) = (Vec::new(), Vec::new());
    totals(&counted, &mut counts);
    totals(&listed, &mut same);
    assert_eq!(
        counts.len(),
        1 + 1_000 + 3_000 * 2,
        "every connection answered"
    );
    assert_eq!(
        counts, same,
        "the counts do not depend on the rows being read"
    );
    assert!(counts.iter().any(|&n| n > 0), "{counts:?}");
    // Counts alone: users; assigned tasks (their projects read with them); tasks;
    // descendant counts — with the aggregate keys (the tasks count, the comment counts,
    // the children counts) riding on the first, third and fourth on PostgreSQL, and
    // three statements of their own on SQLite. With the rows, the root tasks, comments
    // and children are pages with their counts in one statement on PostgreSQL, a page
    // and a count (aggregate) on SQLite: three more on both (descendants' pages and
    // counts are one statement on both).
    let alone_statements = match backend {
        Backend::Postgres => 4,
        Backend::Sqlite => 7,
    };
    assert_eq!(
        alone,
        setup(backend) + alone_statements,
        "statements with counts alone"
    );
    let more = 3;
    assert_eq!(with_rows, alone + more, "statements with the rows too");
}

/// A project's requirement trees with their depths: the roots, and each root's
/// descendants with their ancestors. `{depth}` is `depth` or nothing.
const TREES: &str = r#"query($project: UUID!) {
  project(id: $project) {
    requirements(filter: { rootsOnly: true }, first: 100) { nodes { id {depth}
      descendants(maxDepth: 10, first: 100) { nodes { id parentId {depth}
        ancestors { id {depth} }
      } }
    } }
  }
}"#;

/// `depth` costs no statement where a walk found the node: a root is at 0, a descendant
/// as deep as its start plus its depth below it, and a chain of ancestors that reaches
/// its root numbers itself. Checked at breadth (12 roots, 1,080 descendants, each with
/// its ancestors) against the depths the parent ids give; a start whose own depth is not
/// known still answers, with a statement for its descendants' depths.
async fn depths_come_with_the_walks_that_find_them(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 1,
            roots: 12,
            breadth: 9,
            comments: 0,
        },
    )
    .await;
    let variables = serde_json::json!({ "project": plan.projects[0] });
    let (without, _) = app
        .counted_with(&TREES.replace("{depth}", ""), variables.clone())
        .await;
    let (with, data) = app
        .counted_with(&TREES.replace("{depth}", "depth"), variables)
        .await;
    assert_eq!(with, without, "depths cost no statement");
    // On PostgreSQL the project is read with its roots (`support::root`).
    let levels = match backend {
        Backend::Postgres => 3,
        Backend::Sqlite => 4,
    };
    assert_eq!(
        with,
        setup(backend) + levels,
        "the project (and) the roots, the descendants, their ancestors"
    );

    // Every node's depth, from the parent ids alone.
    let roots = nodes(&data["project"]["requirements"]);
    let mut parent_of = std::collections::HashMap::new();
    let descendants: Vec<Value> = roots
        .iter()
        .flat_map(|root| nodes(&root["descendants"]))
        .collect();
    for node in &descendants {
        parent_of.insert(node["id"].clone(), node["parentId"].clone());
    }
    let depth_of = |id: &Value| {
        let mut depth = 0;
        let mut at = id.clone();
        while let Some(parent) = parent_of.get(&at).filter(|p| !p.is_null()) {
            depth += 1;
            at = parent.clone();
        }
        depth
    };
    assert_eq!(roots.len(), 12);
    assert_eq!(descendants.len(), 12 * (9 + 81));
    for root in &roots {
        assert_eq!(root["depth"], 0, "{root}");
    }
    for node in &descendants {
        assert_eq!(node["depth"], depth_of(&node["id"]), "{node}");
        let chain = node["ancestors"].as_array().expect("ancestors");
        assert_eq!(chain.len(), depth_of(&node["id"]), "{node}");
        for (n, ancestor) in chain.iter().enumerate() {
            assert_eq!(ancestor["depth"], n, "{node}");
        }
    }

    // Below a start whose depth no walk told: the depths are a wave's walk up.
    let middle = descendants
        .iter()
        .find(|node| node["depth"] == 1)
        .expect("a second-level requirement");
    let below =
        r#"query($id: UUID!) { requirement(id: $id) { descendants { nodes { {depth} } } } }"#;
    let variables = serde_json::json!({ "id": middle["id"] });
    let (without, _) = app
        .counted_with(&below.replace("{depth}", "id"), variables.clone())
        .await;
    let (with, data) = app
        .counted_with(&below.replace("{depth}", "id depth"), variables)
        .await;
    assert_eq!(with, without + 1, "one statement for the depths");
    let leaves = nodes(&data["requirement"]["descendants"]);
    assert_eq!(leaves.len(), 9);
    assert!(leaves.iter().all(|leaf| leaf["depth"] == 2), "{leaves:?}");
}

/// A project by id with pages of its 1,000 root requirements: the first, and one past it
/// under another alias, each with the count.
const PROJECT_WITH_ROOTS: &str = r#"query($project: UUID!, $after: String) {
  project(id: $project) {
    name
    first: requirements(filter: { rootsOnly: true }, first: 100) {
      totalCount nodes { id title priority }
    }
    next: requirements(filter: { rootsOnly: true }, first: 50, after: $after) {
      totalCount nodes { id title priority }
    }
  }
}"#;

/// The same pages as root connections, and the project's name on its own.
const ROOTS_ALONE: &str = r#"query($project: UUID!, $after: String) {
  project(id: $project) { name }
  first: requirements(filter: { projectId: $project, rootsOnly: true }, first: 100) {
    totalCount nodes { id title priority }
  }
  next: requirements(filter: { projectId: $project, rootsOnly: true }, first: 50, after: $after) {
    totalCount nodes { id title priority }
  }
}"#;

/// A root found by id is read with the first nested level its field selects
/// (`support::root`): on PostgreSQL the row rides on that level's statement, so the two
/// cost one; on SQLite they are read in one wave as before. The answers are those of the
/// same pages read on their own, past the first page, for a project that exists and one
/// that does not (null); arguments the connection refuses are still refused by it,
/// naming the argument, and the project is still answered.
async fn a_root_found_by_id_is_read_with_its_first_level(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 2,
            roots: 1_000,
            breadth: 1,
            comments: 0,
        },
    )
    .await;
    let project = plan.projects[1];
    let first_page = app
        .data_with(
            "query($p: UUID!) { requirements(filter: { projectId: $p, rootsOnly: true }, \
             first: 100) { pageInfo { endCursor } } }",
            serde_json::json!({ "p": project }),
        )
        .await;
    let after = first_page["requirements"]["pageInfo"]["endCursor"].clone();
    assert!(after.is_string(), "{first_page}");
    let variables = serde_json::json!({ "project": project, "after": after });

    let (statements, data) = app
        .counted_with(PROJECT_WITH_ROOTS, variables.clone())
        .await;
    let alone = app.data_with(ROOTS_ALONE, variables).await;
    let got = &data["project"];
    assert_eq!(got["name"], alone["project"]["name"]);
    assert!(got["name"].is_string(), "{data}");
    for page in ["first", "next"] {
        assert_eq!(got[page]["totalCount"], 1_000, "{page}");
        assert_eq!(got[page], alone[page], "{page}");
    }
    assert_eq!(nodes(&got["first"]).len(), 100);
    assert_eq!(nodes(&got["next"]).len(), 50);
    assert_ne!(nodes(&got["first"])[0], nodes(&got["next"])[0]);
    // PostgreSQL: a statement for each page (two windows) with its count, the project
    // riding on the first; three without the ride. SQLite: the project, the pages and
    // their counts.
    let levels = match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 5,
    };
    assert_eq!(
        statements,
        setup(backend) + levels,
        "a project by id with its roots"
    );

    // A project that is not there: null, in as many statements.
    let missing = serde_json::json!({ "project": uuid::Uuid::now_v7(), "after": null });
    let (statements, data) = app.counted_with(PROJECT_WITH_ROOTS, missing).await;
    assert_eq!(data["project"], Value::Null, "{data}");
    assert_eq!(statements, setup(backend) + levels);

    // A page the connection refuses is refused as before, naming the argument.
    let refused = app
        .run_with(
            "query($p: UUID!) { project(id: $p) { name requirements(first: 101) { \
             nodes { id } } } }",
            serde_json::json!({ "p": project }),
        )
        .await;
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("first"), "{refused}");
    assert_eq!(refused["errors"][0]["path"][1], "requirements", "{refused}");
    assert!(refused["data"]["project"]["name"].is_string(), "{refused}");
}
