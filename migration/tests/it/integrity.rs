//! The trees' and the polymorphic targets' rules, kept by the database (step 18): plain
//! SQL cannot make a parent cycle, hang a node under another project's, or point a
//! comment at nothing — and deleting a record takes what targets it.

use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use crate::support::{count, exec, new_id, on_both_backends, strings};

on_both_backends!(
    a_parent_stays_in_its_project_and_never_below_itself,
    a_target_exists_and_takes_what_targets_it_along
);

/// An organization with a user and two projects; returns `(org, user, [p, q])`.
async fn world(db: &DatabaseConnection) -> (String, String, [String; 2]) {
    let (o, u, p, q) = (new_id(), new_id(), new_id(), new_id());
    for sql in [
        format!(
            "INSERT INTO users (id, email, username, password_hash) \
             VALUES ('{u}', 'a@example.com', 'a', 'x')"
        ),
        format!("INSERT INTO organizations (id, name, slug) VALUES ('{o}', 'o', 'o')"),
        format!(
            "INSERT INTO projects (id, organization_id, created_by, name) \
             VALUES ('{p}', '{o}', '{u}', 'p'), ('{q}', '{o}', '{u}', 'q')"
        ),
    ] {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    (o, u, [p, q])
}

/// `INSERT INTO tasks …` of `(id, project, parent)` rows.
fn tasks(org: &str, rows: &[(&str, &str, Option<&str>)]) -> String {
    let values: Vec<String> = rows
        .iter()
        .map(|(id, project, parent)| {
            let parent = parent.map_or("NULL".to_owned(), |p| format!("'{p}'"));
            format!("('{org}', '{id}', '{project}', 't', {parent})")
        })
        .collect();
    format!(
        "INSERT INTO tasks (organization_id, id, project_id, title, parent_id) VALUES {}",
        values.join(", ")
    )
}

/// Runs `sql` and returns the refusal's message, failing the test if it passes.
async fn refused(db: &DatabaseConnection, sql: &str) -> String {
    let err = exec(db, sql).await.expect_err(&format!("refused: {sql}"));
    err.to_string()
}

async fn a_parent_stays_in_its_project_and_never_below_itself(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let (o, _, [p, q]) = world(conn).await;
    let [a, b, c, x, y] = [new_id(), new_id(), new_id(), new_id(), new_id()];
    // a ← b ← c in project p.
    exec(
        conn,
        &tasks(
            &o,
            &[(&a, &p, None), (&b, &p, Some(&a)), (&c, &p, Some(&b))],
        ),
    )
    .await
    .expect("a chain");
    let before = count(conn, "tasks").await;

    let other = new_id();
    let err = refused(conn, &tasks(&o, &[(&other, &q, Some(&a))])).await;
    assert!(
        err.contains("tasks.parent_id") && err.contains("another project"),
        "{err}"
    );
    let err = refused(conn, &tasks(&o, &[(&x, &p, Some(&x))])).await;
    // (SQLite's tenant-key trigger of step 11 may refuse it first: no parent yet.)
    assert!(err.contains("parent_id"), "a node its own parent: {err}");
    // Two new rows each the other's parent, in one statement.
    let err = refused(conn, &tasks(&o, &[(&x, &p, Some(&y)), (&y, &p, Some(&x))])).await;
    assert!(err.contains("parent_id"), "{err}");
    let err = refused(
        conn,
        &format!("UPDATE tasks SET parent_id = '{c}' WHERE id = '{a}'"),
    )
    .await;
    assert!(err.contains("own ancestor"), "{err}");
    let err = refused(
        conn,
        &format!("UPDATE tasks SET parent_id = '{a}' WHERE id = '{a}'"),
    )
    .await;
    assert!(err.contains("own ancestor"), "{err}");
    let err = refused(
        conn,
        &format!("UPDATE tasks SET project_id = '{q}' WHERE id = '{b}'"),
    )
    .await;
    assert!(
        err.contains("another project") || err.contains("children"),
        "{err}"
    );
    assert_eq!(count(conn, "tasks").await, before, "nothing was written");

    // What stays allowed: moving a node up, to the root, or within its project.
    exec(
        conn,
        &format!("UPDATE tasks SET parent_id = '{a}' WHERE id = '{c}'"),
    )
    .await
    .expect("a move up");
    exec(
        conn,
        &format!("UPDATE tasks SET parent_id = NULL WHERE id = '{b}'"),
    )
    .await
    .expect("a move to the root");
    exec(
        conn,
        &format!("UPDATE tasks SET parent_id = '{c}' WHERE id = '{b}'"),
    )
    .await
    .expect("a move under a former descendant, now a sibling's child");

    // A deep chain: a cycle is found at the far end of a walk of 2,000 steps.
    let mut chain = vec![new_id()];
    for _ in 1..2_000 {
        chain.push(new_id());
    }
    let rows: Vec<(&str, &str, Option<&str>)> = chain
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.as_str(),
                p.as_str(),
                (i > 0).then(|| chain[i - 1].as_str()),
            )
        })
        .collect();
    for part in rows.chunks(500) {
        exec(conn, &tasks(&o, part)).await.expect("a deep chain");
    }
    let (top, bottom) = (&chain[0], &chain[chain.len() - 1]);
    let err = refused(
        conn,
        &format!("UPDATE tasks SET parent_id = '{bottom}' WHERE id = '{top}'"),
    )
    .await;
    assert!(err.contains("own ancestor"), "{err}");
}

async fn a_target_exists_and_takes_what_targets_it_along(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let (o, u, [p, _]) = world(conn).await;
    let t = new_id();
    exec(conn, &tasks(&o, &[(&t, &p, None)]))
        .await
        .expect("a task");
    let comment = |target_type: &str, target: &str| {
        format!(
            "INSERT INTO comments (organization_id, id, target_type, target_id, author_id, content) \
             VALUES ('{o}', '{}', '{target_type}', '{target}', '{u}', 'hi')",
            new_id()
        )
    };
    let err = refused(conn, &comment("task", &new_id())).await;
    assert!(err.contains("comments.target_id"), "{err}");
    let err = refused(conn, &comment("requirement", &t)).await;
    assert!(
        err.contains("comments.target_id"),
        "a task is no requirement: {err}"
    );
    let err = refused(conn, &comment("nonsense", &t)).await;
    assert!(err.contains("comments.target_id"), "{err}");
    // Another organization's record is no target either.
    let (o2, u2) = (new_id(), new_id());
    for sql in [
        format!(
            "INSERT INTO users (id, email, username, password_hash) \
             VALUES ('{u2}', 'b@example.com', 'b', 'x')"
        ),
        format!("INSERT INTO organizations (id, name, slug) VALUES ('{o2}', 'o2', 'o2')"),
    ] {
        exec(conn, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let err = refused(
        conn,
        &format!(
            "INSERT INTO notifications (organization_id, id, user_id, type, title, target_type, target_id) \
             VALUES ('{o2}', '{}', '{u2}', 'mention', 'n', 'task', '{t}')",
            new_id()
        ),
    )
    .await;
    assert!(err.contains("notifications.target_id"), "{err}");

    exec(conn, &comment("task", &t))
        .await
        .expect("a comment on the task");
    exec(
        conn,
        &format!(
            "INSERT INTO approvals (organization_id, id, project_id, requested_by, title, target_type, target_id) \
             VALUES ('{o}', '{}', '{p}', '{u}', 'a', 'task', '{t}')",
            new_id()
        ),
    )
    .await
    .expect("an approval of the task");
    exec(conn, &format!("DELETE FROM tasks WHERE id = '{t}'"))
        .await
        .expect("deleting the task");
    assert_eq!(count(conn, "comments").await, 0, "its comments go with it");
    assert_eq!(
        count(conn, "approvals").await,
        0,
        "its approvals go with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_moves_cannot_make_a_cycle_together() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (o, _, [p, _]) = world(conn).await;
    let (a, b) = (new_id(), new_id());
    exec(conn, &tasks(&o, &[(&a, &p, None), (&b, &p, None)]))
        .await
        .expect("two roots");
    // First: a under b, not yet committed. Second: b under a, which alone is fine.
    let first = conn.begin().await.expect("begin");
    first
        .execute_unprepared(&format!(
            "UPDATE tasks SET parent_id = '{b}' WHERE id = '{a}'"
        ))
        .await
        .expect("the first move");
    let other = db.connect_again().await;
    let sql = format!("UPDATE tasks SET parent_id = '{a}' WHERE id = '{b}'");
    let second = tokio::spawn(async move {
        let txn = other.begin().await.expect("begin");
        let moved = txn.execute_unprepared(&sql).await;
        match moved {
            Ok(_) => txn.commit().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second move waits for the first");
    first.commit().await.expect("the first commits");
    let outcome = second.await.expect("the second move");
    let err = outcome.expect_err("the second move would close a cycle");
    assert!(err.contains("own ancestor"), "{err}");
    let parents = strings(
        conn,
        &format!("SELECT coalesce(parent_id::text, '-') FROM tasks WHERE id IN ('{a}', '{b}') ORDER BY id"),
    )
    .await
    .expect("the parents");
    assert!(
        parents.contains(&"-".to_owned()),
        "one of them is still a root: {parents:?}"
    );
}

on_both_backends!(dependencies_stay_in_their_project_and_never_close_a_cycle);

async fn dependencies_stay_in_their_project_and_never_close_a_cycle(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let (o, _, [p, q]) = world(conn).await;
    let chain: Vec<String> = (0..21).map(|_| new_id()).collect();
    let elsewhere = new_id();
    let rows: Vec<(&str, &str, Option<&str>)> = chain
        .iter()
        .map(|id| (id.as_str(), p.as_str(), None))
        .collect();
    exec(conn, &tasks(&o, &rows)).await.expect("21 tasks");
    exec(conn, &tasks(&o, &[(&elsewhere, &q, None)]))
        .await
        .expect("a task elsewhere");
    let depend = |task: &str, on: &str, project: &str, kind: &str| {
        format!(
            "INSERT INTO task_dependencies (organization_id, id, project_id, task_id, depends_on_task_id, dependency_type) \
             VALUES ('{o}', '{}', '{project}', '{task}', '{on}', '{kind}')",
            new_id()
        )
    };
    // A chain 20 deep: each task waits for the one before.
    for w in chain.windows(2) {
        exec(conn, &depend(&w[1], &w[0], &p, "blocks"))
            .await
            .expect("a link of the chain");
    }
    let before = count(conn, "task_dependencies").await;
    let err = refused(conn, &depend(&chain[0], &chain[20], &p, "blocks")).await;
    assert!(err.contains("wait for itself"), "closing the chain: {err}");
    let err = refused(conn, &depend(&chain[0], &chain[0], &p, "blocks")).await;
    assert!(
        err.contains("task_dependencies_not_self") || err.contains("CHECK"),
        "{err}"
    );
    let err = refused(conn, &depend(&chain[0], &elsewhere, &p, "blocks")).await;
    assert!(
        err.to_lowercase().contains("foreign key"),
        "another project's task: {err}"
    );
    let err = refused(conn, &depend(&chain[1], &chain[0], &p, "relates_to")).await;
    assert!(err.to_lowercase().contains("unique"), "a pair once: {err}");
    assert_eq!(count(conn, "task_dependencies").await, before);
    // Not BLOCKS: no order, no cycle rule.
    exec(conn, &depend(&chain[0], &chain[20], &p, "relates_to"))
        .await
        .expect("a relation the other way");
    // Deleting a task takes its dependencies along.
    exec(
        conn,
        &format!("DELETE FROM tasks WHERE id = '{}'", chain[10]),
    )
    .await
    .expect("deleting a task of the chain");
    assert_eq!(count(conn, "task_dependencies").await, before + 1 - 2);
}
