//! Steps that must not block a big table while they work (issue 19: "make the heavy
//! steps batchable"): the documented exception to one transaction per step. Such a step
//! returns `Some(false)` from `use_transaction` — sea-orm-migration then runs it outside a
//! transaction and writes its ledger row only after it succeeds — and does its work with
//! these helpers, each statement or batch its own short transaction, so the application's
//! reads and writes go on between them. Everything here can be run again: a step that
//! fails half-way (a lock it could not get, a deploy stopped) has no ledger row, and the
//! next `up` runs it again from the start, finding done what was done.
//!
//! - [`create_index_concurrently`]: PostgreSQL's `CREATE INDEX CONCURRENTLY IF NOT
//!   EXISTS`, which takes a `SHARE UPDATE EXCLUSIVE` lock (writes go on) instead of
//!   `SHARE` (writes wait for the whole build), after dropping an `INVALID` index a
//!   failed build left behind. SQLite: `CREATE INDEX IF NOT EXISTS` (one process's
//!   database; nothing to keep going meanwhile). [`create_covering_index_concurrently`]
//!   is the same with columns the index carries without sorting by them (`INCLUDE`;
//!   SQLite, which has no `INCLUDE`, gets them as the last key columns).
//! - [`update_in_batches`]: a backfill of [`BATCH`] rows a transaction, each with
//!   `lock_timeout` 5 s, until no row is left to do. The audit triggers record every
//!   row it changes, as for any writer.
//!
//! Not for `down`'s sake alone: a step's `down` may stay transactional SQL, since undoing
//! usually drops (an index: `DROP INDEX CONCURRENTLY IF EXISTS`, also here).

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sea_orm_migration::SchemaManager;

/// Rows one batch of [`update_in_batches`] updates.
pub const BATCH: u64 = 5_000;

/// Whether the index `name` exists and is `INVALID` (a `CONCURRENTLY` build that failed).
async fn invalid_index(manager: &SchemaManager<'_>, name: &str) -> Result<bool, DbErr> {
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT NOT i.indisvalid AS invalid FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
            [name.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool>("", "invalid"))
        .transpose()?
        .unwrap_or(false))
}

/// Creates the index `name` on `table` `(columns)` without blocking the table's writes
/// (module documentation). Must run outside a transaction on PostgreSQL.
pub async fn create_index_concurrently(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    columns: &str,
) -> Result<(), DbErr> {
    create_covering_index_concurrently(manager, name, table, columns, "").await
}

/// Creates the index `name` on `table` `(columns)` that also carries the columns
/// `include` (none when empty), without blocking the table's writes: PostgreSQL's
/// `INCLUDE (include)`, and on SQLite, which has no `INCLUDE`, `include` as the index's
/// last key columns. Either way an index-only scan can read them. Must run outside a
/// transaction on PostgreSQL.
pub async fn create_covering_index_concurrently(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    columns: &str,
    include: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() != DbBackend::Postgres {
        let key = if include.is_empty() {
            columns.to_owned()
        } else {
            format!("{columns}, {include}")
        };
        db.execute_unprepared(&format!(
            "CREATE INDEX IF NOT EXISTS {name} ON {table} ({key})"
        ))
        .await?;
        return Ok(());
    }
    if invalid_index(manager, name).await? {
        db.execute_unprepared(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))
            .await?;
    }
    let include = if include.is_empty() {
        String::new()
    } else {
        format!(" INCLUDE ({include})")
    };
    db.execute_unprepared(&format!(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({columns}){include}"
    ))
    .await?;
    Ok(())
}

/// Drops the index `name` without blocking its table's reads and writes on PostgreSQL
/// (`DROP INDEX CONCURRENTLY IF EXISTS`, outside a transaction); `DROP INDEX IF EXISTS`
/// on SQLite.
pub async fn drop_index_concurrently(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    let concurrently = if manager.get_database_backend() == DbBackend::Postgres {
        "CONCURRENTLY "
    } else {
        ""
    };
    manager
        .get_connection()
        .execute_unprepared(&format!("DROP INDEX {concurrently}IF EXISTS {name}"))
        .await?;
    Ok(())
}

/// Sets `set` on the rows of `table` (which has an `id` key) matching `pending`, [`BATCH`]
/// rows a transaction in the order of `id`, until none matches; returns how many rows it
/// updated. `set` must make `pending` false for every row it updates — that is what lets
/// a run stopped half-way go on where it stopped, and what ends the loop. Each batch sets
/// `lock_timeout = '5s'` (PostgreSQL): a row the application holds locked longer fails
/// the step, to be run again, instead of stalling it.
pub async fn update_in_batches(
    manager: &SchemaManager<'_>,
    table: &str,
    set: &str,
    pending: &str,
) -> Result<u64, DbErr> {
    let postgres = manager.get_database_backend() == DbBackend::Postgres;
    let mut updated = 0;
    loop {
        let batch = manager.begin().await?;
        let db = batch.get_connection();
        if postgres {
            db.execute_unprepared("SET LOCAL lock_timeout = '5s'")
                .await?;
        }
        let done = db
            .execute_unprepared(&format!(
                "UPDATE {table} SET {set} WHERE id IN \
                 (SELECT id FROM {table} WHERE {pending} ORDER BY id LIMIT {BATCH})"
            ))
            .await?
            .rows_affected();
        batch.commit().await?;
        updated += done;
        if done < BATCH {
            return Ok(updated);
        }
    }
}
