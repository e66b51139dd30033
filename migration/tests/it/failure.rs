//! A migration that fails half-way leaves schema and ledger exactly as before, and a
//! migrator that cannot get the lock in time gives up with a clear error.

use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::runner::{self, Command, MigrationLock};
use migration::{MigrateError, Migrator, MigratorTrait};
use sea_orm_migration::prelude::*;

use crate::support::{assert_same_schema, ledger, on_both_backends, snapshot};

on_both_backends!(
    a_migration_failing_half_way_changes_nothing,
    a_migrator_gives_up_when_the_lock_is_held
);

/// The real migrations followed by one that fails after doing some work.
struct WithFailingStep;

impl MigratorTrait for WithFailingStep {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = Migrator::migrations();
        migrations.push(Box::new(FailsHalfWay));
        migrations
    }
}

impl runner::History for WithFailingStep {}

#[derive(DeriveMigrationName)]
struct FailsHalfWay;

#[derive(DeriveIden)]
enum HalfDone {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for FailsHalfWay {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HalfDone::Table)
                    .col(
                        ColumnDef::new(HalfDone::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO half_done (id) VALUES (1)")
            .await?;
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE users ADD COLUMN half_done_flag INTEGER")
            .await?;
        // The failure: a table that does not exist.
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO no_such_table (id) VALUES (1)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HalfDone::Table).to_owned())
            .await
    }
}

async fn a_migration_failing_half_way_changes_nothing(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let schema_before = snapshot(conn).await;
    let ledger_before = ledger(conn).await;
    assert_eq!(ledger_before.len(), Migrator::migrations().len());

    let err = runner::run::<WithFailingStep>(
        conn,
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_secs(10),
    )
    .await
    .expect_err("the failing step fails");
    assert!(err.to_string().contains("no_such_table"), "{err}");

    assert_same_schema(
        &schema_before,
        &snapshot(conn).await,
        "after the failed migration",
    );
    assert_eq!(ledger(conn).await, ledger_before, "the ledger changed");

    // The lock was given back: the next run goes through at once.
    let states = runner::run::<Migrator>(
        conn,
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_millis(500),
    )
    .await
    .expect("a run after the failure");
    assert!(states.iter().all(|s| s.applied));
}

async fn a_migrator_gives_up_when_the_lock_is_held(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let holder = db.connect_again().await;
    let lock = MigrationLock::acquire(&holder, Duration::from_secs(5))
        .await
        .expect("taking the lock");

    let err = runner::run::<Migrator>(
        db.conn(),
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_millis(300),
    )
    .await
    .expect_err("the lock is held");
    assert!(matches!(err, MigrateError::LockTimeout { .. }), "{err:?}");
    assert!(err.to_string().contains("--lock-timeout"), "{err}");
    assert!(
        ledger_if_any(db.conn()).await.is_empty(),
        "nothing was applied"
    );

    lock.release().await.expect("releasing the lock");
    runner::run::<Migrator>(
        db.conn(),
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_secs(5),
    )
    .await
    .expect("up once the lock is free");
}

/// The ledger, or nothing when the ledger table does not exist yet.
async fn ledger_if_any(conn: &sea_orm::DatabaseConnection) -> Vec<String> {
    runner::status::<Migrator>(conn)
        .await
        .expect("status")
        .into_iter()
        .filter(|s| s.applied)
        .map(|s| s.name)
        .collect()
}
