//! A step that must not block a big table (`migration::online`): outside a transaction,
//! its index built `CONCURRENTLY` and its backfill committed batch by batch; a run that
//! fails half-way — here on a row the application holds locked — keeps the batches done,
//! has no ledger row, and the next `up` finishes the work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::online::{self, BATCH};
use migration::runner::{self, Command};
use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, TransactionTrait};
use sea_orm_migration::prelude::*;

use crate::support::{count, exec, ledger, new_id, on_both_backends, plain_plan, strings};

on_both_backends!(a_batched_step_resumes_where_it_stopped);

/// Tasks in the test on PostgreSQL: more than two batches.
const TASKS: u64 = 2 * BATCH + 2_345;

/// Tasks on SQLite, whose row triggers make every row slow to write: one batch is
/// enough to run its branch of the helpers (the batching is the same code).
const SQLITE_TASKS: u64 = 1_200;

/// The real migrations, then one online step.
struct WithOnlineStep;

impl MigratorTrait for WithOnlineStep {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = Migrator::migrations();
        migrations.push(Box::new(BackfillWorkType));
        migrations
    }
}

impl runner::History for WithOnlineStep {}

/// Whether [`BackfillWorkType`] has run, for the `down` test of the ledger.
static RAN: AtomicBool = AtomicBool::new(false);

#[derive(DeriveMigrationName)]
struct BackfillWorkType;

#[async_trait::async_trait]
impl MigrationTrait for BackfillWorkType {
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        RAN.store(true, Ordering::SeqCst);
        online::create_index_concurrently(
            manager,
            "idx_tasks_work_type_id",
            "tasks",
            "work_type, id",
        )
        .await?;
        online::update_in_batches(
            manager,
            "tasks",
            "work_type = 'backfilled'",
            "work_type IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        online::update_in_batches(
            manager,
            "tasks",
            "work_type = NULL",
            "work_type = 'backfilled'",
        )
        .await?;
        online::drop_index_concurrently(manager, "idx_tasks_work_type_id").await
    }
}

/// An organization and a project with `n` tasks; returns the tasks' ids, sorted.
async fn tasks(conn: &DatabaseConnection, n: u64) -> Vec<String> {
    let (o, _u, p) = plain_plan(conn, "a", "o").await;
    let mut ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    for chunk in ids.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|id| format!("('{id}', '{p}', '{o}', 't')"))
            .collect();
        exec(
            conn,
            &format!(
                "INSERT INTO tasks (id, project_id, organization_id, title) VALUES {}",
                values.join(", ")
            ),
        )
        .await
        .expect("tasks");
    }
    ids.sort();
    ids
}

fn up() -> Command {
    Command::Up {
        steps: None,
        allow_changed: false,
    }
}

async fn backfilled(conn: &DatabaseConnection) -> i64 {
    count(conn, "tasks WHERE work_type = 'backfilled'").await
}

/// On PostgreSQL a row held locked makes the second batch give up after its
/// `lock_timeout`: the first batch stays, the ledger has no row, the index is built and
/// valid; once the lock goes, `up` finishes the backfill (three batches in all, each its
/// own transaction) and every change is audited. `down` undoes both. On SQLite the same
/// step runs through in one go, on fewer rows.
async fn a_batched_step_resumes_where_it_stopped(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let n = match backend {
        Backend::Postgres => TASKS,
        Backend::Sqlite => SQLITE_TASKS,
    };
    let ids = tasks(conn, n).await;
    let name = BackfillWorkType.name().to_owned();
    let timeout = Duration::from_secs(60);

    if backend == Backend::Postgres {
        let holder = db.connect_again().await;
        let lock = holder.begin().await.expect("a transaction");
        let held = &ids[usize::try_from(BATCH).expect("a batch") + 100];
        exec_txn(
            &lock,
            &format!("SELECT 1 FROM tasks WHERE id = '{held}' FOR UPDATE"),
        )
        .await;
        let err = runner::run::<WithOnlineStep>(conn, up(), timeout)
            .await
            .expect_err("a locked row stops the second batch");
        assert!(err.to_string().contains("lock timeout"), "{err}");
        assert!(RAN.load(Ordering::SeqCst));
        assert!(
            !ledger(conn).await.contains(&name),
            "no ledger row after a failure"
        );
        assert_eq!(backfilled(conn).await, BATCH as i64);
        lock.rollback().await.expect("releasing the row");
    }

    runner::run::<WithOnlineStep>(conn, up(), timeout)
        .await
        .expect("the step, run again");
    assert!(ledger(conn).await.contains(&name));
    let all = n as i64;
    assert_eq!(backfilled(conn).await, all);
    if backend == Backend::Postgres {
        let valid = strings(
            conn,
            "SELECT i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = 'idx_tasks_work_type_id'",
        )
        .await
        .expect("the index");
        assert_eq!(valid, ["true"]);
        let batches = strings(conn, "SELECT count(DISTINCT xmin::text)::text FROM tasks")
            .await
            .expect("the batches");
        assert_eq!(batches, ["3"], "one transaction per batch");
        assert_eq!(
            count(
                conn,
                "audit_log WHERE table_name = 'tasks' AND operation = 'UPDATE' \
                 AND changed_fields::text LIKE '%work_type%'"
            )
            .await,
            all,
            "the audit triggers record a backfill as any writer"
        );
    } else {
        let index = strings(
            conn,
            "SELECT name FROM sqlite_schema WHERE name = 'idx_tasks_work_type_id'",
        )
        .await
        .expect("the index");
        assert_eq!(index.len(), 1);
    }

    runner::run::<WithOnlineStep>(conn, Command::Down { steps: 1 }, timeout)
        .await
        .expect("down");
    assert_eq!(backfilled(conn).await, 0);
    assert!(!ledger(conn).await.contains(&name));
}

async fn exec_txn(txn: &sea_orm::DatabaseTransaction, sql: &str) {
    use sea_orm::ConnectionTrait;
    txn.execute_unprepared(sql).await.expect(sql);
}
