//! Step 14 (PostgreSQL only; nothing on SQLite): a notification is its recipient's.
//!
//! Step 12 gave `notifications` the tenant policy of every tenant table (the active
//! organization's rows). A notification is addressed to one user, so reading, changing
//! and deleting it now also needs `user_id = app.user_id`; creating one still needs only
//! the active organization (notifying someone else is how notifications are made).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

const ORG: &str = "(SELECT nullif(current_setting('app.organization_id', true), '')::uuid)";
const USER: &str = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)";

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
        let mine = format!("organization_id = {ORG} AND user_id = {USER}");
        for sql in [
            "DROP POLICY tenant_isolation ON notifications".to_owned(),
            format!(
                "CREATE POLICY notifications_create ON notifications FOR INSERT \
                 WITH CHECK (organization_id = {ORG})"
            ),
            format!("CREATE POLICY notifications_read ON notifications FOR SELECT USING ({mine})"),
            format!(
                "CREATE POLICY notifications_change ON notifications FOR UPDATE \
                 USING ({mine}) WITH CHECK ({mine})"
            ),
            format!(
                "CREATE POLICY notifications_delete ON notifications FOR DELETE USING ({mine})"
            ),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let tenant = format!("organization_id = {ORG}");
        for sql in [
            "DROP POLICY notifications_create ON notifications".to_owned(),
            "DROP POLICY notifications_read ON notifications".to_owned(),
            "DROP POLICY notifications_change ON notifications".to_owned(),
            "DROP POLICY notifications_delete ON notifications".to_owned(),
            format!(
                "CREATE POLICY tenant_isolation ON notifications FOR ALL \
                 USING ({tenant}) WITH CHECK ({tenant})"
            ),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
