//! The audit trail the database keeps (step 17): one row per change made with plain SQL,
//! with the changed fields only on UPDATE; `updated_at` and `version` kept by the
//! database; the change feed's numbers gap-free and in commit order; the log closed to
//! the application role's writes.

use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::{AUDITED, Migrator};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::support::{exec, new_id, on_both_backends, plain_plan, strings};

on_both_backends!(
    plain_sql_is_recorded_once_per_change,
    a_change_names_the_collaboration_session_it_was_told
);

/// An organization, a user and a project, written with plain SQL; returns their ids.
async fn plan(db: &DatabaseConnection) -> (String, String, String) {
    plain_plan(db, "a", "o").await
}

/// The audit rows of organization `org` in feed order:
/// `(seq, table, operation, source, old, new, changed)`.
async fn log(
    db: &DatabaseConnection,
    org: &str,
) -> Vec<(i64, String, String, String, Value, Value, Value)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT seq, table_name, operation, source, CAST(old_values AS TEXT) AS o, \
                 CAST(new_values AS TEXT) AS n, CAST(changed_fields AS TEXT) AS c \
                 FROM audit_log WHERE organization_id = '{org}' ORDER BY seq"
            ),
        ))
        .await
        .expect("reading the log");
    let json = |text: Option<String>| {
        text.map_or(Value::Null, |t| serde_json::from_str(&t).expect("JSON"))
    };
    rows.iter()
        .map(|r| {
            (
                r.try_get::<i64>("", "seq").expect("seq"),
                r.try_get::<String>("", "table_name").expect("table"),
                r.try_get::<String>("", "operation").expect("operation"),
                r.try_get::<String>("", "source").expect("source"),
                json(r.try_get("", "o").expect("old")),
                json(r.try_get("", "n").expect("new")),
                json(r.try_get("", "c").expect("changed")),
            )
        })
        .collect()
}

async fn plain_sql_is_recorded_once_per_change(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let (o, _u, p) = plan(conn).await;
    let version = |conn: &DatabaseConnection| {
        let p = p.clone();
        let conn = conn.clone();
        async move {
            strings(
                &conn,
                &format!("SELECT CAST(version AS TEXT) || ' ' || CAST(updated_at AS TEXT) FROM projects WHERE id = '{p}'"),
            )
            .await
            .expect("the project")
            .remove(0)
        }
    };
    // SQLite's clock has milliseconds: let each change come at a later one.
    let tick = || tokio::time::sleep(Duration::from_millis(5));
    let before = version(conn).await;
    tick().await;
    exec(
        conn,
        &format!("UPDATE projects SET name = 'q' WHERE id = '{p}'"),
    )
    .await
    .expect("an update");
    let after = version(conn).await;
    assert!(
        before.starts_with("1 ") && after.starts_with("2 "),
        "{before} → {after}"
    );
    assert_ne!(before[2..], after[2..], "updated_at is the database's");
    // A statement that sets `version` itself does not choose it.
    tick().await;
    exec(
        conn,
        &format!("UPDATE projects SET version = 40 WHERE id = '{p}'"),
    )
    .await
    .expect("an update of version");
    assert!(version(conn).await.starts_with("3 "));
    // A notification (no updated_at) set to what it holds: no change, no row.
    let n = new_id();
    exec(
        conn,
        &format!(
            "INSERT INTO notifications (organization_id, id, user_id, type, title) \
             VALUES ('{o}', '{n}', (SELECT id FROM users), 'mention', 'n')"
        ),
    )
    .await
    .expect("a notification");
    exec(
        conn,
        &format!("UPDATE notifications SET title = 'n' WHERE id = '{n}'"),
    )
    .await
    .expect("an update that changes nothing");
    exec(conn, &format!("DELETE FROM projects WHERE id = '{p}'"))
        .await
        .expect("a delete");

    let entries = log(conn, &o).await;
    let sql = match backend {
        Backend::Postgres => "sql:postgres",
        Backend::Sqlite => "sql",
    };
    let summary: Vec<(i64, &str, &str, &str)> = entries
        .iter()
        .map(|(seq, table, op, source, ..)| (*seq, table.as_str(), op.as_str(), source.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "organizations", "INSERT", sql),
            (2, "projects", "INSERT", sql),
            (3, "projects", "UPDATE", sql),
            (4, "projects", "UPDATE", sql),
            (5, "notifications", "INSERT", sql),
            (6, "projects", "DELETE", sql),
        ]
    );
    // INSERT: the whole new row; DELETE: the whole old row.
    let (_, _, _, _, old, new, changed) = &entries[1];
    assert_eq!((old, changed), (&Value::Null, &Value::Null));
    assert_eq!(new["name"], json!("p"));
    assert_eq!(new["id"], json!(p));
    assert_eq!(new["is_archived"], json!(false));
    assert_eq!(new["technology_stack"], json!([]));
    let (_, _, _, _, old, new, _) = &entries[5];
    assert_eq!(
        (old["name"].clone(), old["version"].clone(), new),
        (json!("q"), json!(3), &Value::Null)
    );
    // UPDATE: the changed fields only, old and new, and their names.
    let (_, _, _, _, old, new, changed) = &entries[2];
    assert_eq!(changed, &json!(["name", "version", "updated_at"]));
    assert_eq!((&old["name"], &new["name"]), (&json!("p"), &json!("q")));
    assert_eq!((&old["version"], &new["version"]), (&json!(1), &json!(2)));
    assert_eq!(old.as_object().map(|o| o.len()), Some(3));
    let (_, _, _, _, old, new, changed) = &entries[3];
    assert_eq!(changed, &json!(["version", "updated_at"]), "{old} {new}");

    // Deleting the organization takes its log with it, and records nothing of itself.
    exec(conn, &format!("DELETE FROM organizations WHERE id = '{o}'"))
        .await
        .expect("deleting the organization");
    assert_eq!(log(conn, &o).await.len(), 0);
}

/// Runs `statements` as the application role acting for `user` in `org`, committing.
async fn as_app(
    db: &DatabaseConnection,
    user: &str,
    org: &str,
    statements: &[String],
) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!(
        "SET LOCAL ROLE bduf_app; \
         SELECT set_config('app.user_id', '{user}', true), \
                set_config('app.organization_id', '{org}', true)"
    ))
    .await?;
    for sql in statements {
        txn.execute_unprepared(sql).await?;
    }
    txn.commit().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_role_changes_rows_but_never_the_log() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (o, u, p) = plan(conn).await;
    as_app(
        conn,
        &u,
        &o,
        &[format!(
            "UPDATE projects SET name = 'by the app role' WHERE id = '{p}'"
        )],
    )
    .await
    .expect("the application role changes a project");
    let who = strings(
        conn,
        &format!(
            "SELECT user_id::text || ' ' || source FROM audit_log \
             WHERE record_id = '{p}' AND operation = 'UPDATE'"
        ),
    )
    .await
    .expect("the update's row");
    assert_eq!(
        who,
        [format!("{u} sql:postgres")],
        "the acting user, from app.user_id"
    );

    for sql in [
        format!(
            "INSERT INTO audit_log (organization_id, table_name, record_id, operation, seq) \
             VALUES ('{o}', 'projects', '{p}', 'UPDATE', 99)"
        ),
        "UPDATE audit_log SET operation = 'DELETE'".to_owned(),
        "DELETE FROM audit_log".to_owned(),
        "UPDATE audit_feed SET last_seq = 0".to_owned(),
    ] {
        let err = as_app(conn, &u, &o, std::slice::from_ref(&sql))
            .await
            .expect_err(&sql);
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
    }
    let n: Vec<String> = strings(conn, "SELECT count(*)::text FROM audit_log")
        .await
        .expect("counting");
    assert_eq!(n, ["3"], "organization, project, update");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_numbers_are_gap_free_and_in_commit_order_under_concurrent_writers() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (o, _u, p) = plan(conn).await;
    let insert = |n: usize| {
        (0..n)
            .map(|_| {
                format!(
                    "INSERT INTO tasks (organization_id, id, project_id, title) \
                     VALUES ('{o}', '{}', '{p}', 't')",
                    new_id()
                )
            })
            .collect::<Vec<_>>()
    };

    // Eight writers at once, on connections of their own; every third rolls back.
    let mut writers = Vec::new();
    for w in 0..8 {
        let conn = db.connect_again().await;
        let statements = insert(20);
        writers.push(tokio::spawn(async move {
            let txn = conn.begin().await.expect("begin");
            for sql in &statements {
                txn.execute_unprepared(sql).await.expect("insert");
                tokio::task::yield_now().await;
            }
            if w % 3 == 2 {
                txn.rollback().await.expect("rollback");
            } else {
                txn.commit().await.expect("commit");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("a writer");
    }
    let seqs: Vec<String> = strings(
        conn,
        &format!("SELECT seq::text FROM audit_log WHERE organization_id = '{o}'"),
    )
    .await
    .expect("the numbers");
    let mut seqs: Vec<i64> = seqs.iter().map(|s| s.parse().expect("a number")).collect();
    seqs.sort_unstable();
    // Organization and project, then six committed writers' 20 tasks each.
    let expected: Vec<i64> = (1..=2 + 6 * 20).collect();
    assert_eq!(seqs, expected);

    // A second writer of the organization takes its numbers only after the first has
    // committed: a reader that has seen number N never later finds a smaller one.
    let first = conn.begin().await.expect("begin");
    first
        .execute_unprepared(&insert(1)[0])
        .await
        .expect("the first writer");
    let other = db.connect_again().await;
    let second_sql = insert(1).remove(0);
    let second = tokio::spawn(async move {
        let txn = other.begin().await.expect("begin");
        txn.execute_unprepared(&second_sql)
            .await
            .expect("the second writer");
        txn.commit().await.expect("commit");
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second writer waits for the first"
    );
    first.commit().await.expect("the first commits");
    second.await.expect("the second writer");
    let last: Vec<String> = strings(
        conn,
        &format!(
            "SELECT string_agg(seq::text, ' ' ORDER BY seq) FROM audit_log \
             WHERE organization_id = '{o}' AND seq > 122"
        ),
    )
    .await
    .expect("the numbers");
    assert_eq!(last, ["123 124"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_triggers_record_every_column_of_their_table() {
    let db = TestDb::migrated::<Migrator>(Backend::Sqlite).await;
    let conn = db.conn();
    for (table, _) in AUDITED {
        let columns = strings(
            conn,
            &format!("SELECT name FROM pragma_table_info('{table}')"),
        )
        .await
        .expect("the columns");
        assert!(columns.len() > 3, "{table}");
        for operation in ["insert", "update", "delete"] {
            let sql = conn
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    format!(
                        "SELECT sql FROM sqlite_schema WHERE type = 'trigger' \
                         AND name = 'audit_{operation}_{table}'"
                    ),
                ))
                .await
                .expect("the trigger")
                .unwrap_or_else(|| panic!("no {operation} trigger on {table}"))
                .try_get_by_index::<String>(0)
                .expect("its SQL");
            for column in &columns {
                let recorded = match operation {
                    "update" => format!("SELECT '{column}' AS k"),
                    _ => format!("'{column}', json("),
                };
                assert!(
                    sql.contains(&recorded),
                    "audit_{operation}_{table} does not record {column}: a step that adds a \
                     column to an audited table recreates its triggers (sqlite_triggers)"
                );
            }
        }
    }
}

/// Step 22: a transaction that names a collaboration session (PostgreSQL:
/// `app.session_id`; SQLite: `audit_context.session_id`, as a request does) has its
/// changes' audit rows name it; one that names none, none. Another organization's session
/// is refused by `audit_log`'s key `(session_id, organization_id)` (on SQLite its tenant
/// trigger), and the change with it.
async fn a_change_names_the_collaboration_session_it_was_told(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let (o, u, p) = plan(conn).await;
    let (o2, _u2, p2) = plain_plan(conn, "b", "b").await;
    let (s, s2) = (new_id(), new_id());
    for (session, org, project) in [(&s, &o, &p), (&s2, &o2, &p2)] {
        exec(
            conn,
            &format!(
                "INSERT INTO collaboration_sessions (id, organization_id, project_id, created_by, title) \
                 VALUES ('{session}', '{org}', '{project}', '{u}', 's')"
            ),
        )
        .await
        .expect("a session");
    }
    let rename = |session: &str, name: &str| {
        let tell = match backend {
            Backend::Postgres => format!("SELECT set_config('app.session_id', '{session}', true)"),
            Backend::Sqlite => format!(
                "INSERT INTO audit_context (id, request_id, session_id) \
                 VALUES (1, '{}', '{session}')",
                new_id()
            ),
        };
        let clear = match backend {
            Backend::Postgres => "SELECT 1".to_owned(),
            Backend::Sqlite => "DELETE FROM audit_context".to_owned(),
        };
        [
            tell,
            format!("UPDATE projects SET name = '{name}' WHERE id = '{p}'"),
            clear,
        ]
    };
    let in_txn = |statements: [String; 3]| async move {
        let txn = conn.begin().await.expect("a transaction");
        for sql in &statements {
            if let Err(err) = txn.execute_unprepared(sql).await {
                txn.rollback().await.expect("rollback");
                return Err(err);
            }
        }
        txn.commit().await.expect("commit");
        Ok(())
    };
    in_txn(rename(&s, "in session"))
        .await
        .expect("a change in the session");
    exec(
        conn,
        &format!("UPDATE projects SET name = 'outside' WHERE id = '{p}'"),
    )
    .await
    .expect("a change outside");
    let err = in_txn(rename(&s2, "elsewhere"))
        .await
        .expect_err("another organization's session");
    // PostgreSQL's foreign key; on SQLite step 11's tenant trigger, which says it plainly.
    let text = err.to_string();
    assert!(
        text.contains("foreign key") || text.contains("must be the organization of its session_id"),
        "{text}"
    );
    let sessions = strings(
        conn,
        &format!(
            "SELECT coalesce(CAST(session_id AS TEXT), '-') || ' ' || CAST(new_values AS TEXT) \
             FROM audit_log WHERE record_id = '{p}' AND operation = 'UPDATE' ORDER BY seq"
        ),
    )
    .await
    .expect("the trail");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert!(sessions[0].starts_with(&format!("{s} ")), "{sessions:?}");
    assert!(sessions[1].starts_with("- "), "{sessions:?}");
    assert!(sessions[1].contains("outside"), "{sessions:?}");
}
