//! Step 22: the audit trail records the collaboration session a change was made in
//! (seed 000's `audit_log.session_id`, which no writer filled): a request names it (the
//! server's `X-Collaboration-Session` header), and the audit triggers copy it into every
//! row the request's changes write.
//!
//! - PostgreSQL: `bduf_audit()` also reads the transaction-local setting
//!   `app.session_id` (empty or unset: none).
//! - SQLite: `audit_context` gains `session_id`, and every audit trigger copies it.
//!
//! The triggers are step 17's with two more columns in their `INSERT` (and, on SQLite,
//! step 19's for `task_dependencies`): rather than repeat step 17's generators here, this
//! step edits what the database holds — the function's definition
//! (`pg_get_functiondef`), the triggers' SQL (`sqlite_schema`) — by exact fragments, and
//! fails if a fragment is not found as often as expected, so it never half-applies. `down`
//! makes the reverse edit. The application clears the session when a request moves into
//! another organization (a session belongs to one, and `audit_log`'s foreign key
//! `(session_id, organization_id)` holds the trail to it), so plain SQL that sets
//! `app.session_id` to another organization's session fails that key.
//!
//! Catalog changes only: `CREATE OR REPLACE FUNCTION` and, on SQLite, `DROP`/`CREATE
//! TRIGGER` and one `ADD COLUMN` of an always-empty table.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

/// The edits of the audit SQL: each fragment before and after, and how many times it
/// occurs in one trigger (SQLite) or in the function (PostgreSQL).
struct Edit {
    before: &'static str,
    after: &'static str,
    times: usize,
}

/// `bduf_audit()`: the setting read once per statement, then written by each of the
/// three operations' `INSERT`s.
const PG_EDITS: [Edit; 3] = [
    Edit {
        before: "agent text := nullif(current_setting('app.user_agent', true), '');",
        after: "agent text := nullif(current_setting('app.user_agent', true), ''); \
                session uuid := nullif(current_setting('app.session_id', true), '')::uuid;",
        times: 1,
    },
    Edit {
        before: "operation, user_id, old_values,",
        after: "operation, user_id, session_id, old_values,",
        times: 3,
    },
    Edit {
        before: "TG_OP, actor, c.old_values,",
        after: "TG_OP, actor, session, c.old_values,",
        times: 3,
    },
];

/// One SQLite audit trigger (each writes one row).
const SQLITE_EDITS: [Edit; 2] = [
    Edit {
        before: "operation, user_id, old_values,",
        after: "operation, user_id, session_id, old_values,",
        times: 1,
    },
    Edit {
        before: "c.user_id, ",
        after: "c.user_id, c.session_id, ",
        times: 1,
    },
];

/// Applies `edits` to `sql`, forwards or backwards, checking each fragment's count.
fn edit(sql: &str, edits: &[Edit], forwards: bool, what: &str) -> Result<String, DbErr> {
    let mut out = sql.to_owned();
    for e in edits {
        let (from, to) = if forwards {
            (e.before, e.after)
        } else {
            (e.after, e.before)
        };
        let found = out.matches(from).count();
        if found != e.times {
            return Err(DbErr::Migration(format!(
                "{what}: expected `{from}` {} time(s), found it {found} time(s); \
                 the audit SQL is not the one this step edits",
                e.times
            )));
        }
        out = out.replace(from, to);
    }
    Ok(out)
}

#[derive(DeriveMigrationName)]
pub struct Migration;

impl Migration {
    async fn apply(manager: &SchemaManager<'_>, forwards: bool) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        if backend == DbBackend::Postgres {
            // Replacing the function waits for no table lock, but give up rather than
            // queue behind a long transaction should one hold it.
            db.execute_unprepared(
                "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s'",
            )
            .await?;
            let row = db
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT pg_get_functiondef('bduf_audit()'::regprocedure) AS def",
                ))
                .await?
                .ok_or_else(|| DbErr::Migration("bduf_audit() not found".to_owned()))?;
            let definition: String = row.try_get("", "def")?;
            let edited = edit(&definition, &PG_EDITS, forwards, "bduf_audit()")?;
            db.execute_unprepared(&edited).await?;
            return Ok(());
        }
        if forwards {
            db.execute_unprepared("ALTER TABLE audit_context ADD COLUMN session_id uuid_text")
                .await?;
        }
        let triggers = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' \
                 AND sql LIKE '%INSERT INTO audit_log (%' ORDER BY name",
            ))
            .await?;
        if triggers.is_empty() {
            return Err(DbErr::Migration("no audit trigger found".to_owned()));
        }
        for trigger in &triggers {
            let name: String = trigger.try_get("", "name")?;
            let sql: String = trigger.try_get("", "sql")?;
            let edited = edit(&sql, &SQLITE_EDITS, forwards, &name)?;
            db.execute_unprepared(&format!("DROP TRIGGER \"{name}\""))
                .await?;
            db.execute_unprepared(&edited).await?;
        }
        if !forwards {
            db.execute_unprepared("ALTER TABLE audit_context DROP COLUMN session_id")
                .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Self::apply(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Self::apply(manager, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edits undo exactly, and a fragment found a wrong number of times is refused.
    #[test]
    fn edits_round_trip_and_refuse_what_they_do_not_know() {
        let trigger = "INSERT INTO audit_log (id, table_name, record_id, operation, user_id, \
                       old_values, new_values) SELECT x, 't', NEW.id, 'INSERT', c.user_id, \
                       NULL, json(NEW.a) FROM x LEFT JOIN audit_context c ON c.id = 1";
        let up = edit(trigger, &SQLITE_EDITS, true, "t").expect("the edit");
        assert!(up.contains("operation, user_id, session_id, old_values,"));
        assert!(up.contains("c.user_id, c.session_id, NULL"));
        assert_eq!(edit(&up, &SQLITE_EDITS, false, "t").expect("undone"), trigger);
        let err = edit(&up, &SQLITE_EDITS, true, "t").expect_err("applied twice");
        assert!(err.to_string().contains("found it 0 time(s)"), "{err}");
    }
}
