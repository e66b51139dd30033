//! To-one edges read ahead with a page's rows (`bduf_core::prefetch`): they answer what
//! their own keys would, at levels of 1,000 rows, cost no statement, see only what the
//! viewer may, and never answer from before a change of the same request.

use bduf_testkit::Backend;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::support::{Breadth, TestApp, nodes, on_both_backends};

on_both_backends!(
    edges_read_ahead_answer_what_their_own_keys_do,
    edges_read_ahead_see_only_what_the_viewer_may,
    a_change_forgets_what_was_read_ahead
);

/// 100 users' first 10 assigned tasks (1,000 tasks), each with its project and assignee.
const ASSIGNED: &str = r#"{
  users(first: 100) { nodes { assignedTasks(first: 10) { nodes {
    id {edges}
  } } } }
}"#;

async fn edges_read_ahead_answer_what_their_own_keys_do(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    let breadth = Breadth::build(app.conn(), 1_000).await;
    let (bare, _) = app.counted(&ASSIGNED.replace("{edges}", "")).await;
    let (with_edges, data) = app
        .counted(&ASSIGNED.replace("{edges}", "project { id name } assignee { id username }"))
        .await;
    assert_eq!(with_edges, bare, "the edges read ahead cost no statement");

    // What each task's edges should be, read with plain SQL.
    let rows = app
        .conn()
        .query_all_raw(Statement::from_string(
            app.conn().get_database_backend(),
            "SELECT t.id AS task, p.id AS project, p.name AS name, u.id AS user, u.username AS username \
             FROM tasks t JOIN projects p ON p.id = t.project_id JOIN users u ON u.id = t.assigned_to",
        ))
        .await
        .expect("the tasks' edges");
    let mut expected = std::collections::HashMap::new();
    for row in rows {
        let task: uuid::Uuid = row.try_get("", "task").expect("task");
        let project: uuid::Uuid = row.try_get("", "project").expect("project");
        let user: uuid::Uuid = row.try_get("", "user").expect("user");
        let name: String = row.try_get("", "name").expect("name");
        let username: String = row.try_get("", "username").expect("username");
        expected.insert(
            task.to_string(),
            (project.to_string(), name, user.to_string(), username),
        );
    }
    let tasks: Vec<Value> = nodes(&data["users"])
        .iter()
        .flat_map(|u| nodes(&u["assignedTasks"]))
        .collect();
    assert_eq!(tasks.len(), 1_000, "a level of 1,000 tasks");
    assert_eq!(expected.len(), breadth.projects.len());
    for task in &tasks {
        let id = task["id"].as_str().expect("an id");
        let (project, name, user, username) = &expected[id];
        assert_eq!(task["project"]["id"], project.as_str(), "{task}");
        assert_eq!(task["project"]["name"], name.as_str(), "{task}");
        assert_eq!(task["assignee"]["id"], user.as_str(), "{task}");
        assert_eq!(task["assignee"]["username"], username.as_str(), "{task}");
    }

    // The same answers as each task's own keys give.
    let sample = &tasks[tasks.len() - 1];
    let one = app
        .data(&format!(
            r#"{{ task(id: "{}") {{ id project {{ id name }} assignee {{ id username }} }} }}"#,
            sample["id"].as_str().expect("an id")
        ))
        .await;
    assert_eq!(&one["task"], sample);
}

async fn edges_read_ahead_see_only_what_the_viewer_may(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    let breadth = Breadth::build(app.conn(), 20).await;
    // The second member (projects 10 to 19) leaves: their tasks stay assigned to them,
    // but they are no longer a user the organization's members may see.
    let gone = breadth.users[1];
    app.conn()
        .execute_raw(Statement::from_sql_and_values(
            app.conn().get_database_backend(),
            match app.conn().get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "DELETE FROM organization_members WHERE user_id = $1"
                }
                _ => "DELETE FROM organization_members WHERE user_id = ?",
            },
            [gone.into()],
        ))
        .await
        .expect("the member leaves");
    let data = app
        .data("{ tasks(first: 100, filter: { rootsOnly: true }) { nodes { id assignee { id } } } }")
        .await;
    let tasks = nodes(&data["tasks"]);
    assert_eq!(tasks.len(), 20, "{data}");
    let hidden: Vec<&Value> = tasks.iter().filter(|t| t["assignee"].is_null()).collect();
    assert_eq!(
        hidden.len(),
        10,
        "the leaver's ten tasks show no assignee: {data}"
    );
    for task in &hidden {
        let one = app
            .data(&format!(
                r#"{{ task(id: "{}") {{ assignee {{ id }} }} }}"#,
                task["id"].as_str().expect("an id")
            ))
            .await;
        assert!(one["task"]["assignee"].is_null(), "{one}");
    }
}

async fn a_change_forgets_what_was_read_ahead(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    let breadth = Breadth::build(app.conn(), 1).await;
    let (project, task) = (breadth.projects[0], breadth.tasks[0]);
    // `first` reads the project's name ahead with its tasks; `second` renames it; `third`
    // reads the project by its own key, with the same selection.
    let data = app
        .data(&format!(
            r#"mutation {{
              first: updateProject(id: "{project}", input: {{ name: "First" }}) {{
                tasks(first: 5) {{ nodes {{ project {{ name }} }} }}
              }}
              second: updateProject(id: "{project}", input: {{ name: "Second" }}) {{ id }}
              third: updateTask(id: "{task}", input: {{ title: "T" }}) {{ project {{ name }} }}
            }}"#
        ))
        .await;
    let first: Vec<Value> = nodes(&data["first"]["tasks"]);
    assert!(!first.is_empty(), "{data}");
    assert!(
        first.iter().all(|t| t["project"]["name"] == "First"),
        "{data}"
    );
    assert_eq!(data["third"]["project"]["name"], "Second", "{data}");
}
