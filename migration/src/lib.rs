//! The bduf schema (seed 000) as reversible sea-orm-migration steps, and a runner that is
//! safer than sea-orm-migration's own: every step runs in a transaction on both backends,
//! and concurrent migrators are serialized by a lock (see [`runner`]).

pub use sea_orm_migration::prelude::*;

mod columns;
pub mod online;
pub mod runner;

pub use m20261203_000002_add_tenant_keys::TENANT_TABLES;
pub use m20261206_000001_audit_by_trigger::{AUDITED, Column, columns, sqlite_triggers};
pub use m20261206_000004_scheduler_role::SCHEDULER_ROLE;
pub use runner::{Command, MigrateError, connect};

/// The database every command uses when `DATABASE_URL` is unset: a SQLite file under
/// `data/` in the working directory, created (with its folder) on first use. The server
/// serves the same file, so `cargo run -p migration -- status` describes what it serves.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/bduf.sqlite3?mode=rwc";

/// The schema's migrations, in the order they apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

/// Declares the migration modules, in the order they apply, and makes them [`Migrator`]'s
/// steps, each with its source for the checksums of the ledger ([`runner::History`]).
macro_rules! migrations {
    ($($step:ident),* $(,)?) => {
        $(mod $step;)*

        #[async_trait::async_trait]
        impl MigratorTrait for Migrator {
            fn migrations() -> Vec<Box<dyn MigrationTrait>> {
                vec![$(Box::new($step::Migration)),*]
            }
        }

        impl runner::History for Migrator {
            fn sources() -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($step), include_str!(concat!(stringify!($step), ".rs")))),*]
            }
        }
    };
}

migrations!(
    m20261121_000001_create_extensions_and_types,
    m20261121_000002_create_identity_tables,
    m20261121_000003_create_planning_tables,
    m20261121_000004_create_work_tables,
    m20261121_000005_create_collaboration_tables,
    m20261121_000006_create_governance_tables,
    m20261121_000007_create_indexes,
    m20261122_000001_add_ordering_indexes,
    m20261122_000002_canonical_sqlite_timestamps,
    m20261203_000001_create_user_sessions,
    m20261203_000002_add_tenant_keys,
    m20261203_000003_row_level_security,
    m20261204_000001_create_idempotency_keys,
    m20261204_000002_notifications_for_their_recipient,
    m20261205_000001_authentication_reads_memberships,
    m20261205_000002_create_sign_in_failures,
    m20261206_000001_audit_by_trigger,
    m20261206_000002_integrity_in_the_database,
    m20261206_000003_create_task_dependencies,
    m20261206_000004_scheduler_role,
    m20261206_000005_partition_audit_log,
    m20261206_000006_audit_collaboration_session,
    m20261207_000001_tenant_key_in_link_indexes,
    m20261207_000002_tenant_key_in_index_keys,
);
