//! Index use, checked on the S dataset: every statement the dashboard suite makes the
//! server send is `EXPLAIN`ed — its generic plan, the one the server's requests run
//! (`bduf_core::txn::PLAN_CACHE_MODE`) — with sequential scans disabled so that any left
//! are scans no index could serve. A sequential scan of a large table, or a sort of one read whole,
//! fails the test.

use serde_json::Value;

/// Tables large enough that reading one whole is a bug: every read of the API is meant to
/// reach them through an index.
const LARGE: [&str; 11] = [
    "tasks",
    "requirements",
    "architectural_components",
    "comments",
    "notifications",
    "audit_log",
    "approvals",
    "approval_participants",
    "analyses",
    "collaboration_sessions",
    "session_participants",
];

/// What is wrong in a plan node and below: full scans and full sorts of large tables.
pub fn problems(plan: &Value, out: &mut Vec<String>) {
    let kind = plan["Node Type"].as_str().unwrap_or_default();
    let relation = plan["Relation Name"].as_str().unwrap_or_default();
    let large = LARGE.contains(&relation);
    if kind == "Seq Scan" && large {
        out.push(format!("a sequential scan of {relation}"));
    }
    if kind == "Sort" {
        for input in plan["Plans"].as_array().into_iter().flatten() {
            let scan = input["Node Type"].as_str().unwrap_or_default();
            let table = input["Relation Name"].as_str().unwrap_or_default();
            let whole = match scan {
                "Seq Scan" => true,
                "Index Scan" | "Index Only Scan" => input.get("Index Cond").is_none(),
                _ => false,
            };
            if whole && LARGE.contains(&table) {
                out.push(format!("a sort of the whole of {table} ({scan})"));
            }
        }
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        problems(child, out);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use async_graphql::{Request, Variables};
    use bduf_core::{Db, RequestContext};
    use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    use serde_json::{Value, json};

    use super::problems;
    use crate::bench::suite;

    #[test]
    fn full_scans_and_sorts_of_large_tables_are_found() {
        let plan = json!({"Node Type": "Limit", "Plans": [
            {"Node Type": "Sort", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "tasks"}]},
            {"Node Type": "Sort", "Plans": [{"Node Type": "Index Scan", "Relation Name": "comments", "Index Cond": "(x = 1)"}]},
            {"Node Type": "Seq Scan", "Relation Name": "organizations"}
        ]});
        let mut found = Vec::new();
        problems(&plan, &mut found);
        assert_eq!(
            found,
            [
                "a sort of the whole of tasks (Seq Scan)",
                "a sequential scan of tasks"
            ]
        );
    }

    /// Runs the suite in-process on S and examines every statement it sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_suite_reads_large_tables_only_through_indexes() {
        let server = std::env::var("BDUF_TEST_DATABASE_URL")
            .unwrap_or_else(|_| crate::scratch::DEFAULT_SERVER_URL.to_owned());
        let found = crate::scratch::with_migrated_database(&server, |conn| async move {
            crate::seed::load(&conn, crate::seed::Scale::S.sizes(), 1, false).await?;
            conn.execute_unprepared("ANALYZE").await?;
            let pool = conn.get_postgres_connection_pool().clone();
            let args = suite::Args::pick(&pool).await?;
            let db = Db::counting(conn.clone());
            let schema = bduf_graphql::schema(bduf_graphql::Limits::default());
            let run = |body: Value| {
                let (schema, db) = (schema.clone(), db.clone());
                let context = RequestContext {
                    token: Some(args.token.clone()),
                    organization: Some(args.organization),
                    ..RequestContext::default()
                };
                async move {
                    let request = Request::new(body["query"].as_str().unwrap_or_default())
                        .variables(Variables::from_json(body["variables"].clone()));
                    let response = bduf_graphql::execute(&schema, request, &db, context).await;
                    serde_json::to_value(response.response).unwrap_or_default()
                }
            };
            let page = run(suite::first_page(&args)).await;
            let after = page["data"]["user"]["assignedTasks"]["pageInfo"]["endCursor"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            db.record();
            let cases = suite::cases(&args, &after);
            let answerable = cases.iter().filter(|case| !case.refused).count();
            let mut ran = 0;
            let mut statements = Vec::new();
            let mut counted = Vec::new();
            for case in cases {
                let answer = run(case.body.clone()).await;
                let took = db.recorded();
                if !case.refused {
                    anyhow::ensure!(answer.get("errors").is_none(), "{}: {answer}", case.id);
                    ran += 1;
                    counted.push((case.id, took.len(), case.statements));
                }
                statements.extend(took);
            }
            // Each query takes the statements its case declares (`Case::statements`: the
            // levels plus the one that begins the request, or why more).
            for (id, took, declared) in &counted {
                anyhow::ensure!(
                    *took == *declared as usize,
                    "{id} took {took} statements, its case declares {declared}: {counted:?}"
                );
            }
            anyhow::ensure!(
                ran == answerable && ran >= 6 && statements.len() >= 20,
                "{ran} of {answerable} queries answered, {} statements",
                statements.len()
            );
            // One transaction: one connection, where the settings hold. The plans are
            // the generic ones the server's requests run (`bduf_core::txn::
            // PLAN_CACHE_MODE`): each statement prepared, then its execution explained.
            let explaining = conn.begin().await?;
            explaining
                .execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
            explaining
                .execute_unprepared(&format!(
                    "SET LOCAL plan_cache_mode = {}",
                    bduf_core::txn::PLAN_CACHE_MODE
                ))
                .await?;
            let mut found = BTreeSet::new();
            for (i, statement) in statements.iter().enumerate() {
                explaining
                    .execute_unprepared(&format!("PREPARE explained_{i} AS {}", statement.sql))
                    .await?;
                // EXECUTE takes no parameters of its own: each value is written as a
                // literal, cast to the type PostgreSQL gave its parameter.
                let types: Vec<String> = explaining
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!(
                            "SELECT parameter_types::text[] FROM pg_prepared_statements \
                             WHERE name = 'explained_{i}'"
                        ),
                    ))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("statement {i} was not prepared"))?
                    .try_get_by_index(0)?;
                let values = statement
                    .values
                    .as_ref()
                    .map(|v| v.0.clone())
                    .unwrap_or_default();
                let arguments: Vec<String> = values
                    .iter()
                    .zip(&types)
                    .map(|(value, ty)| {
                        format!("{}::{ty}", PostgresQueryBuilder.value_to_string(value))
                    })
                    .collect();
                let sql = if arguments.is_empty() {
                    format!("EXPLAIN (FORMAT JSON) EXECUTE explained_{i}")
                } else {
                    format!(
                        "EXPLAIN (FORMAT JSON) EXECUTE explained_{i}({})",
                        arguments.join(", ")
                    )
                };
                let row = explaining
                    .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no plan"))?;
                let plan: Value = row.try_get_by_index(0)?;
                let mut here = Vec::new();
                problems(&plan[0]["Plan"], &mut here);
                for problem in here {
                    found.insert(format!("{problem} in: {}", statement.sql));
                }
            }
            Ok(found)
        })
        .await
        .expect("running the suite on S");
        assert!(found.is_empty(), "{found:#?}");
    }
}
