//! Task dependencies through the API: their rules, what waits for what, the ready tasks
//! and a project's critical path — at a thousand tasks, and under racing writers.

use bduf_fixture::Fixture;
use bduf_testkit::Backend;
use entity::task_dependencies;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Plan, TestApp, nodes, on_both_backends, session_for, strings};
use crate::tenancy::{code, plan_shape};

on_both_backends!(
    dependencies_keep_their_rules_and_tell_what_is_ready,
    a_chain_of_a_thousand_is_scheduled_and_cannot_be_closed,
    racing_dependencies_cannot_close_a_cycle,
);

fn add(task: Uuid, on: Uuid, extra: &str) -> String {
    format!(
        r#"mutation {{ addTaskDependency(input: {{ taskId: "{task}", dependsOnTaskId: "{on}" {extra} }}) {{
            id dependencyType lagHours task {{ title }} dependsOnTask {{ title }} }} }}"#
    )
}

fn field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("none")
}

async fn dependencies_keep_their_rules_and_tell_what_is_ready(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    // Project 0: Build (in progress) ⊃ Part (done), Sub (in progress) ⊃ Leaf (pending).
    let [build, part, sub, leaf] = [plan.tasks[0], plan.tasks[1], plan.tasks[2], plan.tasks[3]];
    let elsewhere = plan.tasks[4];
    let project = plan.projects[0];

    let made = app.run(&add(leaf, sub, ", lagHours: 2")).await;
    assert_eq!(
        made["data"]["addTaskDependency"]["task"]["title"],
        json!("Leaf"),
        "{made}"
    );
    assert_eq!(
        made["data"]["addTaskDependency"]["dependsOnTask"]["title"],
        json!("Sub")
    );
    assert_eq!(
        made["data"]["addTaskDependency"]["dependencyType"],
        json!("BLOCKS")
    );
    assert_eq!(made["data"]["addTaskDependency"]["lagHours"], json!(2));
    let dependency = made["data"]["addTaskDependency"]["id"].clone();

    let count = || async {
        app.data(&format!(
            r#"{{ project(id: "{project}") {{ taskDependencies {{ totalCount }} }} }}"#
        ))
        .await["project"]["taskDependencies"]["totalCount"]
            .clone()
    };
    for (query, code_, field_) in [
        (add(leaf, sub, ""), "CONFLICT", None),
        (
            add(leaf, leaf, ""),
            "VALIDATION",
            Some("input.dependsOnTaskId"),
        ),
        (
            add(leaf, elsewhere, ""),
            "VALIDATION",
            Some("input.dependsOnTaskId"),
        ),
        (
            add(sub, leaf, ""),
            "VALIDATION",
            Some("input.dependsOnTaskId"),
        ),
        (
            add(build, sub, ", lagHours: 9000"),
            "VALIDATION",
            Some("input.lagHours"),
        ),
        (
            add(leaf, Uuid::now_v7(), ""),
            "VALIDATION",
            Some("input.dependsOnTaskId"),
        ),
    ] {
        let refused = app.run(&query).await;
        assert_eq!(code(&refused), code_, "{query}\n{refused}");
        if let Some(f) = field_ {
            assert_eq!(field(&refused), f, "{refused}");
        }
    }
    let cycle = app.run(&add(sub, leaf, "")).await;
    assert!(
        cycle["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cycle")),
        "{cycle}"
    );
    assert_eq!(count().await, json!(1), "nothing else was written");
    // Only BLOCKS may not close a cycle: the other kinds say nothing of order.
    let related = app
        .run(&add(sub, leaf, ", dependencyType: RELATES_TO"))
        .await;
    assert!(related.get("errors").is_none(), "{related}");

    let edges = app
        .data(&format!(
            r#"{{ leaf: task(id: "{leaf}") {{ dependsOn {{ nodes {{ dependsOnTask {{ title }} }} }}
                                           blockedBy {{ nodes {{ dependsOnTask {{ title }} }} }} }}
                 sub: task(id: "{sub}") {{ dependents {{ nodes {{ task {{ title }} }} }} }}
                 project(id: "{project}") {{ readyTasks {{ nodes {{ title }} }} }} }}"#
        ))
        .await;
    let titles = |v: &Value, path: &str| -> Vec<String> {
        nodes(v)
            .iter()
            .map(|n| {
                n.pointer(path)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        titles(&edges["leaf"]["dependsOn"], "/dependsOnTask/title"),
        ["Sub"]
    );
    assert_eq!(
        titles(&edges["leaf"]["blockedBy"], "/dependsOnTask/title"),
        ["Sub"]
    );
    assert_eq!(titles(&edges["sub"]["dependents"], "/task/title"), ["Leaf"]);
    let mut ready = strings(&nodes(&edges["project"]["readyTasks"]), "title");
    ready.sort();
    assert_eq!(ready, ["Build", "Sub"], "Part is done, Leaf waits for Sub");

    // Sub done: Leaf is blocked no longer.
    app.data(&format!(
        r#"mutation {{ updateTask(id: "{sub}", input: {{ status: DONE }}) {{ id }} }}"#
    ))
    .await;
    let after = app
        .data(&format!(
            r#"{{ task(id: "{leaf}") {{ blockedBy {{ totalCount }} }}
                 project(id: "{project}") {{ readyTasks {{ nodes {{ title }} }} }} }}"#
        ))
        .await;
    assert_eq!(after["task"]["blockedBy"]["totalCount"], json!(0));
    let mut ready = strings(&nodes(&after["project"]["readyTasks"]), "title");
    ready.sort();
    assert_eq!(ready, ["Build", "Leaf"]);
    let _ = part;

    // Removed, and recorded.
    let removed = app
        .data(&format!(
            r#"mutation {{ removeTaskDependency(id: {dependency}) }}"#
        ))
        .await;
    assert_eq!(removed["removeTaskDependency"], dependency);
    let audit = app
        .data(&format!(
            r#"{{ auditLog(filter: {{ tableName: "task_dependencies", recordId: {dependency} }}, orderBy: {{ field: SEQ }}) {{ nodes {{ operation }} }} }}"#
        ))
        .await;
    assert_eq!(
        strings(&nodes(&audit["auditLog"]), "operation"),
        ["INSERT", "DELETE"]
    );
}

async fn a_chain_of_a_thousand_is_scheduled_and_cannot_be_closed(backend: Backend) {
    let app = TestApp::new(backend).await.without_cost_limit();
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let project = plan.projects[1];
    let mut f = Fixture::new(app.conn()).knowing(project, plan.organization);
    let chain: Vec<Uuid> = (0..1_000)
        .map(|i| {
            f.task(project, None, &format!("C{i}"), |t| {
                t.estimated_hours = Set(Some(if i % 2 == 0 { 1 } else { 2 }));
            })
        })
        .collect();
    f.insert().await.expect("the chain's tasks");
    let rows: Vec<task_dependencies::ActiveModel> = chain
        .windows(2)
        .map(|w| task_dependencies::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(plan.organization),
            project_id: Set(project),
            task_id: Set(w[1]),
            depends_on_task_id: Set(w[0]),
            dependency_type: Set(entity::sea_orm_active_enums::DependencyType::Blocks),
            lag_hours: Set(0),
            created_by: Set(None),
            created_at: Set(chrono::Utc::now().fixed_offset()),
        })
        .collect();
    for part in rows.chunks(200) {
        task_dependencies::Entity::insert_many(part.to_vec())
            .exec(app.conn())
            .await
            .expect("the chain's dependencies");
    }
    // Closing the chain: its first task waiting for its last.
    let closed = app.run(&add(chain[0], chain[999], "")).await;
    assert_eq!(code(&closed), "VALIDATION", "{closed}");

    let (statements, data) = app
        .counted(&format!(
            r#"{{ project(id: "{project}") {{ criticalPath {{ totalHours path {{ title }}
                  tasks {{ taskId slack critical earliestStart }} }} }} }}"#
        ))
        .await;
    let schedule = &data["project"]["criticalPath"];
    // 500 tasks of 1 hour and 500 of 2, one after the other; Build's and Sub's trees
    // (10 hours each, in progress) stand alone.
    assert_eq!(
        schedule["totalHours"],
        json!(1500.0),
        "{}",
        schedule["totalHours"]
    );
    let path = strings(
        schedule["path"].as_array().map_or(&[][..], Vec::as_slice),
        "title",
    );
    assert_eq!(path.len(), 1_000);
    assert_eq!((path[0].as_str(), path[999].as_str()), ("C0", "C999"));
    let tasks = schedule["tasks"].as_array().expect("the scheduled tasks");
    let critical = tasks
        .iter()
        .filter(|t| t["critical"] == json!(true))
        .count();
    assert_eq!(critical, 1_000, "the chain, nothing else");
    // The project: one statement each for the session, the project, its tasks, its
    // dependencies and the path's tasks — not one per task.
    assert!(statements <= 6, "{statements} statements");
}

async fn racing_dependencies_cannot_close_a_cycle(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let [a, b] = [plan.tasks[4], plan.tasks[6]];
    let token = session_for(app.conn(), plan.users[0]).await;
    let other = session_for(app.conn(), plan.users[1]).await;
    let org = plan.organization;
    for _ in 0..3 {
        let (there, back) = (add(a, b, ""), add(b, a, ""));
        let (one, two) = tokio::join!(
            app.run_for(&token, org, &there, Value::Null),
            app.run_for(&other, org, &back, Value::Null),
        );
        let passed = [&one, &two]
            .iter()
            .filter(|r| r.get("errors").is_none())
            .count();
        assert_eq!(passed, 1, "exactly one of them: {one}\n{two}");
        // Start again.
        let ids = app
            .data(&format!(
                r#"{{ taskDependencies(filter: {{ projectId: "{}" }}) {{ nodes {{ id }} }} }}"#,
                plan.projects[1]
            ))
            .await;
        for id in strings(&nodes(&ids["taskDependencies"]), "id") {
            app.data(&format!(
                r#"mutation {{ removeTaskDependency(id: "{id}") }}"#
            ))
            .await;
        }
    }
}
