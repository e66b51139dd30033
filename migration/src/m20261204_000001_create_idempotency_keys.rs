//! Step 13: `idempotency_keys` — the first answer to each mutation request that carried
//! an `Idempotency-Key` header, so a client that retries after a lost response gets that
//! answer again instead of a second write.
//!
//! A key belongs to the user who sent it (`UNIQUE (user_id, key)`); `organization_id` is
//! the organization the request acted in (NULL for a user who belonged to none), so
//! removing the organization or the user removes their keys. `fingerprint` is the
//! SHA-256 (64 hex digits) of the request — document, operation name, variables and
//! organization — so the same key sent with a different request is refused instead of
//! replayed. `response` is the GraphQL answer as JSON, written in the same transaction
//! as the mutation's changes; keys older than a day are replaced when used again.
//!
//! On PostgreSQL the table has RLS enabled and forced, with one policy: a user's
//! requests see and write only their own keys (`user_id = app.user_id`).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

use crate::columns::*;
use crate::m20261121_000002_create_identity_tables::{Organizations, Users};
use crate::m20261203_000003_row_level_security::APP_ROLE;

#[derive(DeriveIden, Clone, Copy)]
pub enum IdempotencyKeys {
    Table,
    Id,
    UserId,
    OrganizationId,
    Key,
    Fingerprint,
    Response,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(id(b, IdempotencyKeys::Id))
                    .col(uuid_not_null(IdempotencyKeys::UserId))
                    .col(uuid(IdempotencyKeys::OrganizationId))
                    .col(varchar_not_null(IdempotencyKeys::Key, 255))
                    .col(varchar_not_null(IdempotencyKeys::Fingerprint, 64))
                    .col(jsonb(IdempotencyKeys::Response))
                    .col(
                        timestamptz_now_canonical(b, IdempotencyKeys::CreatedAt)
                            .not_null()
                            .take(),
                    )
                    .foreign_key(&mut fk(
                        IdempotencyKeys::Table,
                        IdempotencyKeys::UserId,
                        Users::Table,
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut fk(
                        IdempotencyKeys::Table,
                        IdempotencyKeys::OrganizationId,
                        Organizations::Table,
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .index(
                        Index::create()
                            .name("idempotency_keys_user_id_key_key")
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_organization_id")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::OrganizationId)
                    .to_owned(),
            )
            .await?;
        if b == DbBackend::Postgres {
            let db = manager.get_connection();
            let own = "user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)";
            for sql in [
                format!("GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO {APP_ROLE}"),
                "ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY".to_owned(),
                "ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY".to_owned(),
                format!(
                    "CREATE POLICY idempotency_keys_own ON idempotency_keys FOR ALL \
                     USING ({own}) WITH CHECK ({own})"
                ),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!("REVOKE ALL ON idempotency_keys FROM {APP_ROLE}"))
                .await?;
        }
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
