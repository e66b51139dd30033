//! Step 15 (PostgreSQL only; nothing on SQLite): authentication reads a user's
//! memberships as the database's owner.
//!
//! A request's first statement finds the session of its bearer token, its user and the
//! user's memberships — before the request knows whom it acts for, so before
//! `app.user_id` is set and the transaction becomes `bduf_app`. Step 12 left `users` and
//! `user_sessions` unforced for that reason (row-level security binds their owner only
//! through `FORCE`), but forced `organization_members`: a server connecting as its
//! owner — not as a superuser, which bypasses row-level security anyway — found no
//! memberships and acted in no organization. Unforced, the owner reads them; `bduf_app`,
//! which every request becomes, stays bound by the table's policies as before.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

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
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE organization_members NO FORCE ROW LEVEL SECURITY")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE organization_members FORCE ROW LEVEL SECURITY")
            .await?;
        Ok(())
    }
}
