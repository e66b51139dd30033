//! Step 20 (PostgreSQL only; nothing on SQLite): the role the server's scheduler acts as.
//!
//! The scheduler's jobs — approving approvals past their `auto_approve_after_hours`,
//! delivering notifications whose `scheduled_for` has come — find their rows across
//! every organization, which neither `bduf_app` (one organization per request) nor a
//! non-superuser owner (bound by `FORCE ROW LEVEL SECURITY`) can. `bduf_scheduler` — a
//! role that cannot log in and has no `BYPASSRLS`, granted to the migrating user so the
//! server may `SET LOCAL ROLE` to it — reads `approvals` and `notifications` of every
//! organization, and writes only in the organization the transaction names in
//! `app.organization_id` (the scheduler sets it for each organization in turn, which the
//! audit and integrity triggers need anyway): its UPDATE and INSERT policies are the
//! tenant rule. Its grants are those two tables, nothing else: it cannot read a plan,
//! a comment or a user.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

/// The scheduler's role.
pub const SCHEDULER_ROLE: &str = "bduf_scheduler";

/// The active organization, NULL when unset.
const ORG: &str = "(SELECT nullif(current_setting('app.organization_id', true), '')::uuid)";

/// The tables the scheduler works on.
const TABLES: [&str; 2] = ["approvals", "notifications"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        // CREATE POLICY takes an ACCESS EXCLUSIVE lock of its table, briefly: give up
        // rather than queue every request behind a long transaction.
        db.execute_unprepared("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s'")
            .await?;
        // As for `bduf_app` (step 12): two migrators of one cluster may both find the
        // role missing; the second's CREATE then fails on the first's row.
        db.execute_unprepared(&format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SCHEDULER_ROLE}') THEN \
                 CREATE ROLE {SCHEDULER_ROLE} NOLOGIN NOINHERIT NOBYPASSRLS; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
             END $$"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "DO $$ BEGIN \
               IF NOT pg_has_role(CURRENT_USER, '{SCHEDULER_ROLE}', 'MEMBER') THEN \
                 EXECUTE format('GRANT {SCHEDULER_ROLE} TO %I', CURRENT_USER); \
               END IF; \
             END $$"
        ))
        .await?;
        db.execute_unprepared(&format!("GRANT USAGE ON SCHEMA public TO {SCHEDULER_ROLE}"))
            .await?;
        for table in TABLES {
            let tenant = format!("organization_id = {ORG}");
            for sql in [
                format!("GRANT SELECT, INSERT, UPDATE ON {table} TO {SCHEDULER_ROLE}"),
                format!(
                    "CREATE POLICY scheduler_reads ON {table} FOR SELECT TO {SCHEDULER_ROLE} \
                     USING (true)"
                ),
                format!(
                    "CREATE POLICY scheduler_inserts ON {table} FOR INSERT TO {SCHEDULER_ROLE} \
                     WITH CHECK ({tenant})"
                ),
                format!(
                    "CREATE POLICY scheduler_updates ON {table} FOR UPDATE TO {SCHEDULER_ROLE} \
                     USING ({tenant}) WITH CHECK ({tenant})"
                ),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s'")
            .await?;
        for table in TABLES {
            for sql in [
                format!("DROP POLICY scheduler_reads ON {table}"),
                format!("DROP POLICY scheduler_inserts ON {table}"),
                format!("DROP POLICY scheduler_updates ON {table}"),
                format!("REVOKE ALL ON {table} FROM {SCHEDULER_ROLE}"),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        // Roles belong to the cluster: other databases may use it (as step 12's role).
        db.execute_unprepared(&format!("REVOKE USAGE ON SCHEMA public FROM {SCHEDULER_ROLE}"))
            .await?;
        Ok(())
    }
}
