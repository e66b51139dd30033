//! `audit_log` partitioned by month (step 21, PostgreSQL): rows land in their month's
//! partition, a month detaches whole, the partitions are kept ahead by a function the
//! scheduler may call and which leaves a month alone whose rows sit in the DEFAULT
//! partition, the application role reaches the partitions only through `audit_log`, and
//! `down` then `up` keep every row.

use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::runner::{self, Command};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use crate::support::{count, exec, new_id, strings};

/// The name of the partition of the month `offset` months from now's.
async fn partition(db: &DatabaseConnection, offset: i32) -> String {
    strings(
        db,
        &format!(
            "SELECT 'audit_log_' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC') \
             + make_interval(months => {offset}), '\"y\"YYYY\"m\"MM')"
        ),
    )
    .await
    .expect("a partition's name")
    .remove(0)
}

/// An organization with a user and a project, written with plain SQL (two audit rows);
/// returns the organization's and the user's ids.
async fn plan(db: &DatabaseConnection) -> (String, String) {
    let (o, u) = (new_id(), new_id());
    for sql in [
        format!(
            "INSERT INTO users (id, email, username, password_hash) \
             VALUES ('{u}', '{u}@example.com', '{u}', 'x')"
        ),
        format!("INSERT INTO organizations (id, name, slug) VALUES ('{o}', 'o', '{o}')"),
        format!(
            "INSERT INTO projects (organization_id, created_by, name) VALUES ('{o}', '{u}', 'p')"
        ),
    ] {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    (o, u)
}

/// Writes an audit row of `org` as the owner, at `created_at`.
async fn audit_at(db: &DatabaseConnection, org: &str, seq: i64, created_at: &str) {
    exec(
        db,
        &format!(
            "INSERT INTO audit_log (organization_id, table_name, record_id, operation, seq, \
             created_at) VALUES ('{org}', 'projects', '{}', 'UPDATE', {seq}, '{created_at}')",
            new_id()
        ),
    )
    .await
    .expect("an audit row by the owner");
}

/// The partitions `org`'s audit rows are in, with how many in each.
async fn placement(db: &DatabaseConnection, org: &str) -> Vec<String> {
    strings(
        db,
        &format!(
            "SELECT tableoid::regclass::text || ' ' || count(*) FROM audit_log \
             WHERE organization_id = '{org}' GROUP BY tableoid ORDER BY 1"
        ),
    )
    .await
    .expect("the rows' partitions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rows_land_in_their_month_and_a_month_detaches_whole() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (o, u) = plan(conn).await;
    let this_month = partition(conn, 0).await;
    // Organization and project: written now, in this month's partition.
    assert_eq!(placement(conn, &o).await, [format!("{this_month} 2")]);
    // A month before any partition goes to the DEFAULT one; one a year ahead has its own.
    audit_at(conn, &o, 1_000, &chrono_in_months(conn, -14).await).await;
    let next_year = partition(conn, 12).await;
    audit_at(conn, &o, 1_001, &chrono_in_months(conn, 12).await).await;
    let mut expected = vec![
        "audit_log_default 1".to_owned(),
        format!("{this_month} 2"),
        format!("{next_year} 1"),
    ];
    expected.sort();
    assert_eq!(placement(conn, &o).await, expected);

    // The application role reads its organization's rows through `audit_log` only.
    let txn = conn.begin().await.expect("a transaction");
    txn.execute_unprepared(&format!(
        "SET LOCAL ROLE bduf_app; \
         SELECT set_config('app.user_id', '{u}', true), \
                set_config('app.organization_id', '{o}', true)"
    ))
    .await
    .expect("acting as the application role");
    let seen = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM audit_log".to_owned(),
        ))
        .await
        .expect("reading audit_log")
        .expect("a count")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(seen, 4, "its organization's rows, every partition's");
    let err = txn
        .execute_unprepared(&format!("SELECT count(*) FROM {this_month}"))
        .await
        .expect_err("a partition read directly");
    assert!(err.to_string().contains("permission denied"), "{err}");
    txn.rollback().await.expect("rolling back");

    // Retention's unit: a month detaches whole, its rows with it, and nothing else moves.
    exec(
        conn,
        &format!("ALTER TABLE audit_log DETACH PARTITION {this_month}"),
    )
    .await
    .expect("detaching this month");
    assert_eq!(count(conn, &this_month).await, 2, "the detached month");
    let mut left = vec!["audit_log_default 1".to_owned(), format!("{next_year} 1")];
    left.sort();
    assert_eq!(placement(conn, &o).await, left);
}

/// The instant `months` months from now, as text PostgreSQL reads back.
async fn chrono_in_months(db: &DatabaseConnection, months: i32) -> String {
    strings(
        db,
        &format!("SELECT (now() + make_interval(months => {months}))::text"),
    )
    .await
    .expect("an instant")
    .remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_are_kept_ahead_and_a_month_already_in_default_is_left_alone() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (o, _u) = plan(conn).await;
    let made = |conn: DatabaseConnection| async move {
        let txn = conn.begin().await.expect("a transaction");
        txn.execute_unprepared("SET LOCAL ROLE bduf_scheduler")
            .await
            .expect("acting as the scheduler");
        let made = txn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT bduf_audit_partitions(3) AS made".to_owned(),
            ))
            .await
            .map(|row| {
                row.expect("a row")
                    .try_get::<i32>("", "made")
                    .expect("made")
            });
        txn.commit().await.expect("committing");
        made
    };
    // The migration made twelve months ahead: nothing to do.
    assert_eq!(made(conn.clone()).await.expect("keeping partitions"), 0);

    // Two months ahead lost its partition, and a row of that month went to DEFAULT.
    let month = partition(conn, 2).await;
    exec(conn, &format!("DROP TABLE {month}"))
        .await
        .expect("dropping a month");
    audit_at(conn, &o, 1_000, &chrono_in_months(conn, 2).await).await;
    assert!(
        placement(conn, &o)
            .await
            .contains(&"audit_log_default 1".to_owned())
    );
    // Creating the month would have to move that row: it is left, with a warning.
    assert_eq!(made(conn.clone()).await.expect("keeping partitions"), 0);
    assert_eq!(
        strings(
            conn,
            &format!("SELECT count(*)::text FROM pg_class WHERE relname = '{month}'")
        )
        .await
        .expect("the month"),
        ["0"],
        "no partition while its rows sit in DEFAULT"
    );
    // Once the DEFAULT partition holds none of its rows, the month is made again.
    exec(conn, "DELETE FROM audit_log_default")
        .await
        .expect("emptying DEFAULT");
    assert_eq!(made(conn.clone()).await.expect("keeping partitions"), 1);
    audit_at(conn, &o, 1_001, &chrono_in_months(conn, 2).await).await;
    assert!(placement(conn, &o).await.contains(&format!("{month} 1")));
    // Anyone else may not call it.
    let txn = conn.begin().await.expect("a transaction");
    txn.execute_unprepared("SET LOCAL ROLE bduf_app")
        .await
        .expect("acting as the application role");
    let err = txn
        .execute_unprepared("SELECT bduf_audit_partitions(3)")
        .await
        .expect_err("the application role keeping partitions");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_and_up_again_keep_every_audit_row() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (o, _u) = plan(conn).await;
    let old = partition(conn, -14).await;
    audit_at(conn, &o, 1_000, &chrono_in_months(conn, -14).await).await;
    let rows = |conn: DatabaseConnection| async move {
        strings(
            &conn,
            "SELECT id::text || ' ' || seq || ' ' || created_at::text FROM audit_log ORDER BY 1",
        )
        .await
        .expect("the audit rows")
    };
    let before = rows(conn.clone()).await;
    assert_eq!(before.len(), 3);
    let timeout = Duration::from_secs(30);
    // Down to just before step 21, whatever steps came after it.
    let after_21 = Migrator::migrations()
        .iter()
        .rev()
        .take_while(|m| m.name() != "m20261206_000005_partition_audit_log")
        .count();
    runner::run::<Migrator>(
        conn,
        Command::Down {
            steps: u32::try_from(after_21 + 1).expect("a few steps"),
        },
        timeout,
    )
    .await
    .expect("down step 21");
    assert_eq!(rows(conn.clone()).await, before, "after down");
    runner::run::<Migrator>(
        conn,
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        timeout,
    )
    .await
    .expect("up step 21 again");
    assert_eq!(rows(conn.clone()).await, before, "after up again");
    // The old row's month, the oldest, now has a partition of its own.
    assert_eq!(
        placement(conn, &o).await,
        [
            format!("{old} 1"),
            format!("{} 2", partition(conn, 0).await)
        ]
    );
}
