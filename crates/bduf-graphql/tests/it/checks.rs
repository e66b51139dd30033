//! Every CHECK constraint of the live PostgreSQL schema has its rule mirrored by the
//! mutations: for each, a value just below and just above its bounds (read from the
//! catalog) is refused with `VALIDATION` naming the field, before the database is asked.
//! A migration that adds a CHECK fails here until a mutation mirrors it.

use std::collections::BTreeSet;

use bduf_testkit::Backend;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::support::{Plan, TestApp};
use crate::tenancy::{code, plan_shape, snapshot};

/// `(table.column, field, mutation with {} for the value)`.
fn mirrors(
    project: &str,
    requirement: &str,
    task: &str,
    dependency: &str,
) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "task_dependencies.lag_hours",
            "input.lagHours",
            format!(
                r#"mutation {{ updateTaskDependency(id: "{dependency}", input: {{ lagHours: {{}} }}) {{ id }} }}"#
            ),
        ),
        (
            "projects.complexity_score",
            "input.complexityScore",
            format!(
                r#"mutation {{ updateProject(id: "{project}", input: {{ complexityScore: {{}} }}) {{ id }} }}"#
            ),
        ),
        (
            "requirements.priority",
            "input.priority",
            format!(
                r#"mutation {{ updateRequirement(id: "{requirement}", input: {{ priority: {{}} }}) {{ id }} }}"#
            ),
        ),
        (
            "requirements.complexity_score",
            "input.complexityScore",
            format!(
                r#"mutation {{ updateRequirement(id: "{requirement}", input: {{ complexityScore: {{}} }}) {{ id }} }}"#
            ),
        ),
        (
            "analyses.confidence_score",
            "input.confidenceScore",
            format!(
                r#"mutation {{ createAnalysis(projectId: "{project}", input: {{ type: RISK, title: "a", confidenceScore: "{{}}" }}) {{ id }} }}"#
            ),
        ),
        (
            "analyses.completeness_score",
            "input.completenessScore",
            format!(
                r#"mutation {{ createAnalysis(projectId: "{project}", input: {{ type: RISK, title: "a", completenessScore: "{{}}" }}) {{ id }} }}"#
            ),
        ),
        (
            "tasks.priority",
            "input.priority",
            format!(
                r#"mutation {{ updateTask(id: "{task}", input: {{ priority: {{}} }}) {{ id }} }}"#
            ),
        ),
        (
            "tasks.complexity_score",
            "input.complexityScore",
            format!(
                r#"mutation {{ updateTask(id: "{task}", input: {{ complexityScore: {{}} }}) {{ id }} }}"#
            ),
        ),
        (
            "tasks.progress_percentage",
            "input.progressPercentage",
            format!(
                r#"mutation {{ updateTask(id: "{task}", input: {{ progressPercentage: {{}} }}) {{ id }} }}"#
            ),
        ),
    ]
}

/// The two bounds of a `CHECK ((c >= low) AND (c <= high))`, as written.
fn bounds(definition: &str) -> Option<(f64, f64)> {
    let number = |after: &str| -> Option<f64> {
        let start = definition.find(after)? + after.len();
        let text: String = definition[start..]
            .chars()
            .skip_while(|c| *c == ' ' || *c == '(')
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect();
        text.parse().ok()
    };
    Some((number(">=")?, number("<=")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_constraint_is_mirrored_by_the_mutations() {
    let app = TestApp::new(Backend::Postgres).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    app.act_as(plan.users[2], plan.organization).await;
    let dependency = app
        .data(&format!(
            r#"mutation {{ addTaskDependency(input: {{ taskId: "{}", dependsOnTaskId: "{}" }}) {{ id }} }}"#,
            plan.tasks[3], plan.tasks[2]
        ))
        .await["addTaskDependency"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rows = app
        .conn()
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT c.conrelid::regclass::text || '.' || a.attname, pg_get_constraintdef(c.oid), \
                    format_type(a.atttypid, a.atttypmod) \
             FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace \
               AND cardinality(c.conkey) = 1",
        ))
        .await
        .expect("listing CHECK constraints");
    let checks: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("column"),
                r.try_get_by_index(1).expect("definition"),
                r.try_get_by_index(2).expect("type"),
            )
        })
        .collect();
    let mirrored = mirrors(
        &plan.projects[0].to_string(),
        &plan.roots[0][0].to_string(),
        &plan.tasks[0].to_string(),
        &dependency,
    );
    let in_catalog: BTreeSet<&str> = checks.iter().map(|(c, _, _)| c.as_str()).collect();
    let in_mirrors: BTreeSet<&str> = mirrored.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(
        in_catalog, in_mirrors,
        "CHECK constraints without a mirror here (or mirrors of none)"
    );
    let before = snapshot(&app, plan.organization).await;
    for (column, definition, column_type) in &checks {
        let (low, high) =
            bounds(definition).unwrap_or_else(|| panic!("{column}: cannot read {definition}"));
        let step = if column_type.starts_with("numeric") {
            0.01
        } else {
            1.0
        };
        let (_, field, template) = mirrored
            .iter()
            .find(|(c, _, _)| c == column)
            .expect("mirrored");
        for (value, inside) in [
            (low - step, false),
            (high + step, false),
            (low, true),
            (high, true),
        ] {
            let text = if step < 1.0 {
                format!("{value:.2}")
            } else {
                format!("{value:.0}")
            };
            let mutation = template.replace("{}", &text);
            let answer = app.run(&mutation).await;
            if inside {
                assert!(
                    answer.get("errors").is_none(),
                    "{column} = {text}: {answer}"
                );
            } else {
                assert_eq!(code(&answer), "VALIDATION", "{column} = {text}: {answer}");
                assert_eq!(
                    answer["errors"][0]["extensions"]["field"],
                    Value::from(*field),
                    "{column} = {text}: {answer}"
                );
            }
        }
    }
    let after = snapshot(&app, plan.organization).await;
    assert_eq!(
        after.len(),
        before.len() + 4,
        "only the four analyses inside the bounds were written"
    );
}
