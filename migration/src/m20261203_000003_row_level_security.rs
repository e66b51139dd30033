//! Step 12 (PostgreSQL only; nothing on SQLite): row-level security.
//!
//! The server runs every request in a transaction that switches to `bduf_app` — a role
//! that cannot log in, owns nothing and has no `BYPASSRLS` — with `SET LOCAL ROLE`, and
//! sets who asks with `set_config(…, true)` (transaction-local, so nothing outlives the
//! request on a pooled connection):
//!
//! - `app.user_id` — the signed-in user;
//! - `app.organization_id` — the organization the request acts in (one per request).
//!
//! Every tenant table (`projects` and the eleven tables of step 11) has RLS enabled and
//! forced, with one policy: `organization_id = (SELECT nullif(current_setting(
//! 'app.organization_id', true), '')::uuid)`. The scalar sub-select is evaluated once
//! per statement (an InitPlan), so the planner compares the indexed column with a
//! constant; a missing or empty setting is NULL, which matches nothing: forgetting to set
//! the tenant denies everything instead of showing everything.
//!
//! Identity tables: `organizations` shows the active organization and those the user is
//! a member of, and takes writes only for the active one; `organization_members` shows
//! the active organization's members and the user's own memberships; `users` shows the
//! user and the members of the active organization; `user_sessions` the user's own
//! sessions. `users` and `user_sessions` have RLS enabled but not forced: sign-in and
//! token checks run before a user is known, as the owner.
//!
//! `bduf_app` is created if missing and granted to the migrating user (so it may `SET
//! ROLE` to it without being a superuser). Roles belong to the cluster, not to the
//! database, so `down` leaves it (other databases of the cluster may use it) and only
//! takes back its privileges here.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

use crate::m20261203_000002_add_tenant_keys::TENANT_TABLES;

/// The application role.
pub const APP_ROLE: &str = "bduf_app";

/// The active organization, NULL when unset.
const ORG: &str = "(SELECT nullif(current_setting('app.organization_id', true), '')::uuid)";
/// The signed-in user, NULL when unset.
const USER: &str = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)";

/// Every table the application reads or writes.
const APP_TABLES: [&str; 16] = [
    "users",
    "user_sessions",
    "organizations",
    "organization_members",
    "projects",
    "requirements",
    "architectural_components",
    "analyses",
    "tasks",
    "collaboration_sessions",
    "session_participants",
    "approvals",
    "approval_participants",
    "comments",
    "notifications",
    "audit_log",
];

/// `(table, policy, command, using, with check)`.
fn policies() -> Vec<(String, &'static str, &'static str, String, Option<String>)> {
    let mut list = Vec::new();
    for table in std::iter::once("projects").chain(TENANT_TABLES) {
        let rule = format!("organization_id = {ORG}");
        list.push((
            table.to_owned(),
            "tenant_isolation",
            "ALL",
            rule.clone(),
            Some(rule),
        ));
    }
    let active = format!("id = {ORG}");
    list.push((
        "organizations".to_owned(),
        "organization_active",
        "ALL",
        active.clone(),
        Some(active),
    ));
    list.push((
        "organizations".to_owned(),
        "organization_member",
        "SELECT",
        format!(
            "id IN (SELECT m.organization_id FROM organization_members m WHERE m.user_id = {USER})"
        ),
        None,
    ));
    let members = format!("organization_id = {ORG}");
    list.push((
        "organization_members".to_owned(),
        "members_active",
        "ALL",
        members.clone(),
        Some(members),
    ));
    list.push((
        "organization_members".to_owned(),
        "members_own",
        "SELECT",
        format!("user_id = {USER}"),
        None,
    ));
    list.push((
        "users".to_owned(),
        "users_visible",
        "SELECT",
        format!(
            "id = {USER} OR id IN (SELECT m.user_id FROM organization_members m \
             WHERE m.organization_id = {ORG})"
        ),
        None,
    ));
    let own = format!("id = {USER}");
    list.push((
        "users".to_owned(),
        "users_self",
        "UPDATE",
        own.clone(),
        Some(own),
    ));
    let sessions = format!("user_id = {USER}");
    list.push((
        "user_sessions".to_owned(),
        "sessions_own",
        "ALL",
        sessions.clone(),
        Some(sessions),
    ));
    list
}

/// The tables whose RLS is forced (applies to their owner too).
fn forced(table: &str) -> bool {
    !matches!(table, "users" | "user_sessions")
}

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
        // Two migrators of one cluster may both find the role missing; the second's
        // CREATE then fails on the first's row, which is what it wanted.
        db.execute_unprepared(&format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
                 CREATE ROLE {APP_ROLE} NOLOGIN NOINHERIT NOBYPASSRLS; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
             END $$"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "DO $$ BEGIN \
               IF NOT pg_has_role(CURRENT_USER, '{APP_ROLE}', 'MEMBER') THEN \
                 EXECUTE format('GRANT {APP_ROLE} TO %I', CURRENT_USER); \
               END IF; \
             END $$"
        ))
        .await?;
        db.execute_unprepared(&format!("GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
            .await?;
        for table in APP_TABLES {
            db.execute_unprepared(&format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}"
            ))
            .await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
                .await?;
            if forced(table) {
                db.execute_unprepared(&format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
                    .await?;
            }
        }
        for (table, name, command, using, check) in policies() {
            let check = check.map_or_else(String::new, |c| format!(" WITH CHECK ({c})"));
            db.execute_unprepared(&format!(
                "CREATE POLICY {name} ON {table} FOR {command} USING ({using}){check}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, name, ..) in policies() {
            db.execute_unprepared(&format!("DROP POLICY {name} ON {table}"))
                .await?;
        }
        for table in APP_TABLES {
            db.execute_unprepared(&format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
                .await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
                .await?;
            db.execute_unprepared(&format!("REVOKE ALL ON {table} FROM {APP_ROLE}"))
                .await?;
        }
        db.execute_unprepared(&format!("REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}"))
            .await?;
        Ok(())
    }
}
