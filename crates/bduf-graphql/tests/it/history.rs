//! History from the audit trail: a scripted sequence of edits — creates, a rename, moves,
//! a subtree deleted through the API and a rename by plain SQL — with the tree captured
//! after each step; `treeAsOf` at each instant gives back the tree captured then, and
//! `treeDiff` lists what was added, removed, moved and changed between two of them. Two
//! statements for the whole level of projects, on both backends.

use std::time::Duration;

use bduf_testkit::{Backend, on_both_backends};
use chrono::Utc;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Plan, Shape, TestApp};

on_both_backends!(
    a_tree_as_it_stood_and_what_changed_since,
    history_costs_two_statements_for_a_level_of_projects
);

/// `(id, parentId, title)` of the project's requirements now, by id.
async fn captured(app: &TestApp, project: Uuid) -> Vec<(String, Option<String>, String)> {
    let data = app
        .data(&format!(
            r#"{{ project(id: "{project}") {{ requirements(first: 100) {{ nodes {{ id parentId title }} }} }} }}"#
        ))
        .await;
    triples(&data["project"]["requirements"]["nodes"])
}

fn triples(nodes: &Value) -> Vec<(String, Option<String>, String)> {
    let mut found: Vec<(String, Option<String>, String)> = nodes
        .as_array()
        .unwrap_or_else(|| panic!("a list: {nodes}"))
        .iter()
        .map(|n| {
            (
                n["id"].as_str().expect("an id").to_owned(),
                n["parentId"].as_str().map(str::to_owned),
                n["title"].as_str().expect("a title").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The tree `treeAsOf` gives at `at`, checked to list parents before children.
async fn as_of(app: &TestApp, project: Uuid, at: &str) -> Vec<(String, Option<String>, String)> {
    let data = app
        .data(&format!(
            r#"{{ project(id: "{project}") {{ treeAsOf(kind: REQUIREMENTS, asOf: "{at}") {{ id parentId depth title }} }} }}"#
        ))
        .await;
    let nodes = &data["project"]["treeAsOf"];
    let list = nodes.as_array().expect("a list");
    for (i, node) in list.iter().enumerate() {
        if let Some(parent) = node["parentId"].as_str() {
            let p = list[..i]
                .iter()
                .find(|n| n["id"] == parent)
                .unwrap_or_else(|| panic!("{parent} listed before its child: {nodes}"));
            assert_eq!(node["depth"], p["depth"].as_i64().expect("a depth") + 1);
        } else {
            assert_eq!(node["depth"], 0);
        }
    }
    triples(nodes)
}

async fn instant() -> String {
    // Changes are stamped with their transaction's start: step clear of the instant.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let at = Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(30)).await;
    at
}

fn id_of(response: &Value, field: &str) -> String {
    response["data"][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {response}"))
        .to_owned()
}

async fn a_tree_as_it_stood_and_what_changed_since(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), Shape::SMALL).await;
    let project = plan.projects[0];
    let before = instant().await;
    let start = captured(&app, project).await;
    let create = |title: &str, parent: Option<&str>| {
        let parent = parent.map_or("null".to_owned(), |p| format!("\"{p}\""));
        format!(
            r#"mutation {{ createRequirement(projectId: "{project}", parentId: {parent}, input: {{ title: "{title}" }}) {{ id }} }}"#
        )
    };
    // Step 1: A with B under it, C with D under it.
    let a = id_of(&app.run(&create("A", None)).await, "createRequirement");
    let b = id_of(&app.run(&create("B", Some(&a))).await, "createRequirement");
    let c = id_of(&app.run(&create("C", None)).await, "createRequirement");
    let d = id_of(&app.run(&create("D", Some(&c))).await, "createRequirement");
    let t1 = instant().await;
    let s1 = captured(&app, project).await;
    // Step 2: B renamed, D moved under B, E created under C.
    app.run(&format!(
        r#"mutation {{ updateRequirement(id: "{b}", input: {{ title: "B2" }}) {{ id }} }}"#
    ))
    .await;
    app.run(&format!(
        r#"mutation {{ moveRequirement(id: "{d}", parentId: "{b}") {{ id }} }}"#
    ))
    .await;
    let e = id_of(&app.run(&create("E", Some(&c))).await, "createRequirement");
    let t2 = instant().await;
    let s2 = captured(&app, project).await;
    // Step 3: C deleted with E, B moved to the root, A renamed by plain SQL.
    let deleted = app
        .run(&format!(r#"mutation {{ deleteRequirement(id: "{c}") }}"#))
        .await;
    assert_eq!(
        deleted["data"]["deleteRequirement"],
        c.as_str(),
        "{deleted}"
    );
    app.run(&format!(
        r#"mutation {{ moveRequirement(id: "{b}", parentId: null) {{ id }} }}"#
    ))
    .await;
    let renamed = app
        .conn()
        .execute_raw(Statement::from_sql_and_values(
            app.conn().get_database_backend(),
            "UPDATE requirements SET title = 'A by hand' WHERE id = $1",
            [Uuid::parse_str(&a).expect("an id").into()],
        ))
        .await
        .expect("a rename by plain SQL");
    assert_eq!(renamed.rows_affected(), 1);
    let t3 = instant().await;
    let s3 = captured(&app, project).await;
    assert_ne!(s1, s2);
    assert_ne!(s2, s3);
    for (at, tree) in [(&before, &start), (&t1, &s1), (&t2, &s2), (&t3, &s3)] {
        assert_eq!(&as_of(&app, project, at).await, tree, "the tree at {at}");
    }
    // From step 1 to step 3: A renamed, B moved and renamed, C removed, D moved; E came
    // and went, so it is no change.
    let diff = app
        .data(&format!(
            r#"{{ project(id: "{project}") {{ treeDiff(kind: REQUIREMENTS, from: "{t1}", to: "{t3}") {{
                 id change title fromParentId toParentId changedFields }} }} }}"#
        ))
        .await;
    let mut expected = vec![
        json!({"id": a, "change": "CHANGED", "title": "A by hand", "fromParentId": null,
               "toParentId": null, "changedFields": ["title"]}),
        json!({"id": b, "change": "MOVED", "title": "B2", "fromParentId": a,
               "toParentId": null, "changedFields": ["title"]}),
        json!({"id": c, "change": "REMOVED", "title": "C", "fromParentId": null,
               "toParentId": null, "changedFields": []}),
        json!({"id": d, "change": "MOVED", "title": "D", "fromParentId": c,
               "toParentId": b, "changedFields": []}),
    ];
    expected.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
    assert_eq!(
        diff["project"]["treeDiff"],
        Value::Array(expected),
        "{diff:#}"
    );
    // Under B, from step 1 to step 2: B renamed, D moved in.
    let under_b = app
        .data(&format!(
            r#"{{ project(id: "{project}") {{ treeDiff(kind: REQUIREMENTS, root: "{b}", from: "{t1}", to: "{t2}") {{
                 id change }} }} }}"#
        ))
        .await;
    let mut expected = vec![
        json!({"id": b, "change": "CHANGED"}),
        json!({"id": d, "change": "MOVED"}),
    ];
    expected.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
    assert_eq!(under_b["project"]["treeDiff"], Value::Array(expected));
    // Under C, from step 1 to step 2: E added, D moved out (to B).
    let added = app
        .data(&format!(
            r#"{{ project(id: "{project}") {{ treeDiff(kind: REQUIREMENTS, root: "{c}", from: "{t1}", to: "{t2}") {{ id change }} }} }}"#
        ))
        .await;
    let mut expected = vec![
        json!({"id": d, "change": "MOVED"}),
        json!({"id": e, "change": "ADDED"}),
    ];
    expected.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
    assert_eq!(
        added["project"]["treeDiff"],
        Value::Array(expected),
        "{added}"
    );
    // `to` before `from` is refused naming the field.
    let backwards = app
        .run(&format!(
            r#"{{ project(id: "{project}") {{ treeDiff(kind: REQUIREMENTS, from: "{t2}", to: "{t1}") {{ id }} }} }}"#
        ))
        .await;
    assert_eq!(
        backwards["errors"][0]["extensions"]["field"], "to",
        "{backwards}"
    );
}

async fn history_costs_two_statements_for_a_level_of_projects(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(app.conn(), Shape::SMALL).await;
    let at = Utc::now().to_rfc3339();
    let query = |first: usize| {
        format!(
            r#"{{ projects(first: {first}) {{ nodes {{ treeAsOf(kind: TASKS, asOf: "{at}") {{ id }}
                 treeDiff(kind: COMPONENTS, from: "2020-01-01T00:00:00Z", to: "{at}") {{ id }} }} }} }}"#
        )
    };
    let (one, _) = app.counted(&query(1)).await;
    let (three, data) = app.counted(&query(3)).await;
    assert_eq!(
        one, three,
        "the statements of one project are those of three"
    );
    let trees = data["projects"]["nodes"].as_array().expect("projects");
    assert_eq!(trees.len(), 3);
    assert!(
        trees
            .iter()
            .all(|p| p["treeAsOf"].as_array().is_some_and(|t| !t.is_empty())),
        "{data}"
    );
}
