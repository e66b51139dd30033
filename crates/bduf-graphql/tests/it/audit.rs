//! The record the database keeps of what the API changes: one audit row per change,
//! with the request that made it; the change feed read through `auditLog`; versions.

use bduf_testkit::Backend;
use serde_json::{Value, json};

use crate::support::{Plan, TestApp, nodes, on_both_backends};
use crate::tenancy::plan_shape;

on_both_backends!(
    a_change_is_recorded_once_with_its_request,
    the_change_feed_gives_everything_after_a_number_once,
    a_stale_expected_version_is_refused_and_changes_nothing,
    a_deleted_subtree_is_recorded_node_by_node,
    a_change_in_a_collaboration_session_names_it,
);

/// The audit rows of `record`, in feed order.
async fn history(app: &TestApp, record: impl std::fmt::Display) -> Vec<Value> {
    let data = app
        .data(&format!(
            r#"{{ auditLog(filter: {{ recordId: "{record}" }}, orderBy: {{ field: SEQ }}, first: 100) {{
                nodes {{ seq tableName operation userId sessionId source requestId clientIp userAgent
                         oldValues newValues changedFields }} }} }}"#
        ))
        .await;
    nodes(&data["auditLog"])
}

async fn a_change_is_recorded_once_with_its_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let project = plan.projects[0];
    let before = history(&app, project).await;
    assert_eq!(before.len(), 1, "the fixture's INSERT: {before:?}");
    assert_eq!(
        before[0]["source"],
        json!(if backend == Backend::Postgres {
            "sql:postgres"
        } else {
            "sql"
        })
    );

    // Two fields in one request: the second fails, and only the first is recorded.
    let response = app
        .run_from(
            &format!(
                r#"mutation {{
                    a: updateProject(id: "{project}", input: {{ name: "Renamed" }}) {{ name version }}
                    b: updateProject(id: "{project}", input: {{ complexityScore: 11 }}) {{ name }}
                }}"#
            ),
            "192.0.2.7",
            "audit-tests/1.0",
        )
        .await;
    assert_eq!(
        response["data"]["a"],
        json!({ "name": "Renamed", "version": 2 })
    );
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        json!("VALIDATION"),
        "{response}"
    );

    let after = history(&app, project).await;
    assert_eq!(after.len(), 2, "{after:#?}");
    let entry = &after[1];
    assert_eq!(entry["operation"], json!("UPDATE"));
    assert_eq!(entry["tableName"], json!("projects"));
    assert_eq!(entry["userId"], json!(plan.users[0].to_string()));
    assert_eq!(entry["source"], json!("api"));
    assert!(entry["requestId"].is_string(), "{entry}");
    assert!(
        entry["clientIp"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("192.0.2.7")),
        "{entry}"
    );
    assert_eq!(entry["userAgent"], json!("audit-tests/1.0"));
    assert_eq!(
        entry["changedFields"],
        json!(["name", "version", "updated_at"])
    );
    assert_eq!(entry["oldValues"]["name"], json!("Project 0"));
    assert_eq!(entry["newValues"]["name"], json!("Renamed"));
    assert_eq!(
        (
            &entry["oldValues"]["version"],
            &entry["newValues"]["version"]
        ),
        (&json!(1), &json!(2))
    );
    assert!(
        entry["seq"].as_i64() > before[0]["seq"].as_i64(),
        "{after:#?}"
    );

    // A request that changes nothing records nothing.
    let unchanged = app
        .run(&format!(
            r#"mutation {{ updateProject(id: "{project}", input: {{}}) {{ version }} }}"#
        ))
        .await;
    assert_eq!(
        unchanged["data"]["updateProject"]["version"],
        json!(2),
        "{unchanged}"
    );
    assert_eq!(history(&app, project).await.len(), 2);
}

async fn the_change_feed_gives_everything_after_a_number_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let feed = |after: i64| {
        let app = &app;
        async move {
            let mut all = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let after_cursor = cursor
                    .as_ref()
                    .map(|c| format!(r#", after: "{c}""#))
                    .unwrap_or_default();
                let data = app
                    .data(&format!(
                        r#"{{ auditLog(filter: {{ afterSeq: {after} }}, orderBy: {{ field: SEQ }}, first: 20{after_cursor}) {{
                            nodes {{ seq }} pageInfo {{ hasNextPage endCursor }} }} }}"#
                    ))
                    .await;
                all.extend(
                    nodes(&data["auditLog"])
                        .iter()
                        .filter_map(|n| n["seq"].as_i64()),
                );
                if data["auditLog"]["pageInfo"]["hasNextPage"] != json!(true) {
                    return all;
                }
                cursor = data["auditLog"]["pageInfo"]["endCursor"]
                    .as_str()
                    .map(str::to_owned);
            }
        }
    };
    // Everything so far: 1, 2, 3… without a gap, over several pages.
    let all = feed(0).await;
    assert!(
        all.len() > 40,
        "the plan's rows make several pages: {}",
        all.len()
    );
    let expected: Vec<i64> = (1..=i64::try_from(all.len()).unwrap_or(0)).collect();
    assert_eq!(all, expected);

    // New changes: a reader that had everything up to N gets exactly them.
    let last = *all.last().unwrap_or(&0);
    let project = plan.projects[1];
    for name in ["One", "Two", "Three"] {
        app.data(&format!(
            r#"mutation {{ updateProject(id: "{project}", input: {{ name: "{name}" }}) {{ id }} }}"#
        ))
        .await;
    }
    assert_eq!(feed(last).await, vec![last + 1, last + 2, last + 3]);
    assert_eq!(feed(last + 3).await, Vec::<i64>::new());
}

async fn a_stale_expected_version_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let project = plan.projects[0];
    let update = |name: &str, expected: i32| {
        format!(
            r#"mutation {{ updateProject(id: "{project}", input: {{ name: "{name}", expectedVersion: {expected} }}) {{ name version }} }}"#
        )
    };
    let first = app.run(&update("First", 1)).await;
    assert_eq!(
        first["data"]["updateProject"],
        json!({ "name": "First", "version": 2 }),
        "{first}"
    );
    let recorded = history(&app, project).await.len();

    // Someone else's change came in between: version 2 is current, 1 is stale.
    let stale = app.run(&update("Stale", 1)).await;
    assert_eq!(stale["data"]["updateProject"], Value::Null, "{stale}");
    let error = &stale["errors"][0];
    assert_eq!(error["extensions"]["code"], json!("CONFLICT"), "{stale}");
    assert_eq!(error["extensions"]["field"], json!("input.expectedVersion"));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("version 2")),
        "the answer names the current version: {error}"
    );
    let now = app
        .data(&format!(
            r#"{{ project(id: "{project}") {{ name version }} }}"#
        ))
        .await;
    assert_eq!(now["project"], json!({ "name": "First", "version": 2 }));
    assert_eq!(
        history(&app, project).await.len(),
        recorded,
        "nothing recorded"
    );

    let second = app.run(&update("Second", 2)).await;
    assert_eq!(
        second["data"]["updateProject"],
        json!({ "name": "Second", "version": 3 }),
        "{second}"
    );
}

async fn a_deleted_subtree_is_recorded_node_by_node(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    // A root with 2 children of 2 children each: 7 nodes.
    let root = plan.roots[0][0];
    let deleted = app
        .data(&format!(
            r#"mutation {{ deleteRequirement(id: "{root}") }}"#
        ))
        .await;
    assert_eq!(deleted["deleteRequirement"], json!(root.to_string()));
    let data = app
        .data(
            r#"{ auditLog(filter: { tableName: "requirements", operation: "DELETE" }, first: 100) {
                totalCount nodes { recordId oldValues } } }"#,
        )
        .await;
    assert_eq!(data["auditLog"]["totalCount"], json!(7), "{data}");
    let root_entry = nodes(&data["auditLog"])
        .into_iter()
        .find(|n| n["recordId"] == json!(root.to_string()))
        .expect("the root's DELETE");
    assert_eq!(root_entry["oldValues"]["title"], json!("R0.0"));
}

/// A request sent with `X-Collaboration-Session` names the session in every audit row of
/// its changes (migration step 22); without the header the rows name none. A session
/// that is not one of the organization's — unknown, or another organization's — is
/// refused naming the header, and nothing changes.
async fn a_change_in_a_collaboration_session_names_it(backend: Backend) {
    use bduf_fixture::Fixture;

    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let project = plan.projects[0];
    // The plan's project was made by another fixture: its session is written as a row.
    let session = uuid::Uuid::now_v7();
    {
        use entity::collaboration_sessions as sessions;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        sessions::ActiveModel {
            id: Set(session),
            project_id: Set(project),
            created_by: Set(plan.users[0]),
            title: Set("Design review".to_owned()),
            organization_id: Set(plan.organization),
            ..Default::default()
        }
        .insert(app.conn())
        .await
        .expect("the session");
    }
    let mut f = Fixture::new(app.conn());
    let other_org = f.organization(|_| {});
    let stranger = f.user(|_| {});
    let other_project = f.project(other_org, stranger, "Elsewhere", |_| {});
    let elsewhere = f.session(other_project, stranger, "Not ours", |_| {});
    f.insert().await.expect("the sessions");

    let rename = |name: &str| {
        format!(
            r#"mutation {{ updateProject(id: "{project}", input: {{ name: "{name}" }}) {{ name }} }}"#
        )
    };
    let answer = app.run_in_session(&rename("In session"), session).await;
    assert_eq!(
        answer["data"]["updateProject"]["name"],
        json!("In session"),
        "{answer}"
    );
    let answer = app.run(&rename("Outside")).await;
    assert_eq!(answer["data"]["updateProject"]["name"], json!("Outside"));
    let trail = history(&app, project).await;
    let sessions: Vec<&Value> = trail.iter().map(|e| &e["sessionId"]).collect();
    assert_eq!(
        sessions,
        [&Value::Null, &json!(session.to_string()), &Value::Null],
        "{trail:#?}"
    );

    for wrong in [uuid::Uuid::now_v7(), elsewhere] {
        let answer = app.run_in_session(&rename("Refused"), wrong).await;
        assert_eq!(answer["data"], Value::Null, "{answer}");
        let error = &answer["errors"][0];
        assert_eq!(error["extensions"]["code"], json!("VALIDATION"), "{answer}");
        assert_eq!(
            error["extensions"]["field"],
            json!("X-Collaboration-Session"),
            "{answer}"
        );
        assert_eq!(history(&app, project).await.len(), trail.len());
    }
    let name = app
        .data(&format!(r#"{{ project(id: "{project}") {{ name }} }}"#))
        .await;
    assert_eq!(name["project"]["name"], json!("Outside"));
}
