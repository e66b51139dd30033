//! Bad input gets a clear error naming the field and the rule, with a stable code, and
//! never a database error.

use bduf_testkit::Backend;
use serde_json::json;

use crate::support::{Plan, Shape, TestApp, on_both_backends};

on_both_backends!(bad_arguments_are_named_in_errors);

async fn bad_arguments_are_named_in_errors(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(
        app.conn(),
        Shape {
            projects: 2,
            roots: 0,
            breadth: 0,
            comments: 0,
        },
    )
    .await;
    for (query, field, rule) in [
        (
            "{ projects(first: 101) { totalCount } }",
            "first",
            "between 0 and 100",
        ),
        (
            "{ projects(last: -1) { totalCount } }",
            "last",
            "between 0 and 100",
        ),
        (
            "{ projects(first: 1, last: 1) { totalCount } }",
            "last",
            "cannot be combined",
        ),
        (
            r#"{ projects(after: "not-a-cursor") { totalCount } }"#,
            "after",
            "not a cursor",
        ),
        (
            "{ projects(filter: {complexityMin: 11}) { totalCount } }",
            "filter.complexityMin",
            "between 1 and 10",
        ),
        (
            "{ requirements(filter: {priority: 0}) { totalCount } }",
            "filter.priority",
            "between 1 and 5",
        ),
        (
            r#"{ auditLog(filter: {operation: "TRUNCATE"}) { totalCount } }"#,
            "filter.operation",
            "INSERT, UPDATE or DELETE",
        ),
    ] {
        let response = app.run(query).await;
        let error = &response["errors"][0];
        // A value of the argument's type that breaks a rule: VALIDATION, as in a
        // mutation's input (BAD_USER_INPUT is for values that do not parse, below).
        assert_eq!(
            error["extensions"]["code"], "VALIDATION",
            "{query}: {response:#}"
        );
        assert_eq!(error["extensions"]["field"], field, "{query}: {response:#}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(rule), "{query}: {message}");
    }
    // A cursor only continues the ordering it came from.
    let data = app
        .data(
            "{ projects(first: 1, orderBy: {field: COMPLEXITY_SCORE}) { pageInfo { endCursor } } }",
        )
        .await;
    if let Some(cursor) = data["projects"]["pageInfo"]["endCursor"].as_str() {
        let response = app
            .run(&format!(
                r#"{{ projects(after: "{cursor}") {{ totalCount }} }}"#
            ))
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["field"], "after",
            "{response:#}"
        );
    }
    let long = "x".repeat(101);
    let response = app
        .run(&format!(
            r#"{{ projects(filter: {{industry: "{long}"}}) {{ totalCount }} }}"#
        ))
        .await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 100 characters"),
        "{response:#}"
    );

    // Malformed ids, unknown enum values and unknown fields are rejected by validation,
    // naming the input, before anything runs.
    for (query, named) in [
        (
            r#"{ comments(filter: {targetType: PLANET}) { totalCount } }"#,
            "targetType",
        ),
        (
            r#"{ comments(filter: {targetType: "task"}) { totalCount } }"#,
            "targetType",
        ),
        ("{ projects { nodes { passwordHash } } }", "passwordHash"),
    ] {
        let response = app.run(query).await;
        let error = &response["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{query}: {response:#}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains(named),
            "{query}: {response:#}"
        );
        assert_eq!(response["data"], serde_json::Value::Null, "{response:#}");
    }
    // A value that does not parse is BAD_USER_INPUT naming the argument, and the input
    // field inside it, whether written in the query or passed as a variable.
    let filter = "query($f: TaskFilter) { tasks(filter: $f) { totalCount } }";
    let id = "query($id: UUID!) { project(id: $id) { name } }";
    for (query, variables, argument) in [
        (r#"{ project(id: "nope") { name } }"#, json!(null), "id"),
        (id, json!({"id": "nope"}), "id"),
        (
            r#"{ tasks(filter: {projectId: "x"}) { totalCount } }"#,
            json!(null),
            "filter.projectId",
        ),
        (filter, json!({"f": {"projectId": "x"}}), "filter.projectId"),
        (
            r#"{ comments(filter: {targetType: TASK, targetId: "7"}) { totalCount } }"#,
            json!(null),
            "filter.targetId",
        ),
    ] {
        let response = app.run_with(query, variables).await;
        let error = &response["errors"][0];
        assert_eq!(
            error["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": argument}),
            "{query}: {response:#}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{argument}: Failed to parse \"UUID\"")),
            "{query}: {response:#}"
        );
        assert_eq!(response["data"], serde_json::Value::Null, "{response:#}");
    }
    let response = app.run("{ project { name } }").await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("id"),
        "{response:#}"
    );
    let response = app
        .run("{ projects { edges { node { passwordHash } } } }")
        .await;
    assert!(response["errors"].is_array(), "{response:#}");
    let response = app.run("{ projects { ").await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expected"),
        "{response:#}"
    );

    let response = app.run(r#"{ requirement(id: "00000000-0000-7000-8000-000000000000") { descendants(maxDepth: 0) { nodes { id } } } }"#).await;
    assert_eq!(
        response["data"]["requirement"],
        serde_json::Value::Null,
        "unknown id: {response:#}"
    );
}
