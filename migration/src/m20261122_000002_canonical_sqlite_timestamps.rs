//! Step 9 (SQLite only; nothing on PostgreSQL): one form for every timestamp.
//!
//! SQLite stores timestamps as text and compares them as text. Values bound by the
//! application are written by sqlx as RFC 3339 in UTC with a `+00:00` offset and the
//! shortest of 0, 3, 6 or 9 fraction digits — a form whose text order is time order.
//! Defaults written by step 2–6 came out as `…:21.123Z`, which compares wrongly against
//! it (`Z` sorts after `+`), so cursors and time filters skipped or repeated rows. This
//! step rewrites those defaults to produce the application's form and converts the
//! values they already stored.
//!
//! SQLite cannot alter a column's default; its documented procedure for that edits the
//! table's SQL in `sqlite_schema` under `PRAGMA writable_schema` and bumps the schema
//! version (<https://www.sqlite.org/lang_altertable.html#otheralter>), which is what this
//! step does, exactly reversed by `down`.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

/// The default the earlier steps wrote (see `columns::timestamptz_now`).
const OLD_DEFAULT: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// The application's form: `+00:00`, and no fraction on a whole second (`'now'` is the
/// same instant for every call within one statement).
const NEW_DEFAULT: &str = "CASE WHEN strftime('%f', 'now') LIKE '%.000' \
     THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') \
     ELSE strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') END";

/// Every column with the old default, as `(table, column)`.
const COLUMNS: [(&str, &str); 27] = [
    ("users", "created_at"),
    ("users", "updated_at"),
    ("organizations", "created_at"),
    ("organizations", "updated_at"),
    ("organization_members", "joined_at"),
    ("projects", "created_at"),
    ("projects", "updated_at"),
    ("requirements", "created_at"),
    ("requirements", "updated_at"),
    ("architectural_components", "created_at"),
    ("architectural_components", "updated_at"),
    ("analyses", "created_at"),
    ("analyses", "updated_at"),
    ("tasks", "created_at"),
    ("tasks", "updated_at"),
    ("collaboration_sessions", "started_at"),
    ("collaboration_sessions", "created_at"),
    ("collaboration_sessions", "updated_at"),
    ("session_participants", "joined_at"),
    ("session_participants", "last_active_at"),
    ("comments", "created_at"),
    ("comments", "updated_at"),
    ("notifications", "scheduled_for"),
    ("notifications", "created_at"),
    ("approvals", "created_at"),
    ("approvals", "updated_at"),
    ("audit_log", "created_at"),
];

/// Replaces `from` by `to` in the SQL of every table, as SQLite documents for changing
/// defaults.
async fn rewrite_defaults(
    db: &SchemaManagerConnection<'_>,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let version: i64 = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("PRAGMA schema_version returned nothing".to_owned()))?
        .try_get_by_index(0)?;
    db.execute_unprepared("PRAGMA writable_schema = ON").await?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table'",
        [from.into(), to.into()],
    ))
    .await?;
    db.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
        .await?;
    db.execute_unprepared("PRAGMA writable_schema = OFF")
        .await?;
    Ok(())
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        rewrite_defaults(db, OLD_DEFAULT, NEW_DEFAULT).await?;
        // Values the old defaults stored: `…:21.123Z` (milliseconds, always three digits).
        for (table, column) in COLUMNS {
            db.execute_unprepared(&format!(
                "UPDATE {table} SET {column} = CASE \
                   WHEN {column} LIKE '%.000Z' THEN substr({column}, 1, 19) || '+00:00' \
                   ELSE substr({column}, 1, length({column}) - 1) || '+00:00' END \
                 WHERE {column} LIKE '%Z'"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        // Stored values stay in the application's form, which the old code reads too.
        rewrite_defaults(manager.get_connection(), NEW_DEFAULT, OLD_DEFAULT).await
    }
}
