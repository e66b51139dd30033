//! Step 10: `user_sessions` — one row per signed-in client (sibling seeds 001 and 004).
//!
//! A session is named by an opaque bearer token of 256 random bits that only its client
//! holds; the table stores the token's SHA-256 (`token_hash`, 64 hex digits), so a copy
//! of the database signs nobody in. A session ends when `expires_at` passes (absolute
//! lifetime), when it has not been used for the idle lifetime (`last_used_at`), or when
//! it is revoked (`revoked_at`, set by sign-out); rows stay for the audit trail until
//! the user is deleted.

use sea_orm_migration::prelude::*;

use crate::columns::*;
use crate::m20261121_000002_create_identity_tables::Users;

#[derive(DeriveIden, Clone, Copy)]
pub enum UserSessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    UserAgent,
    IpAddress,
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
                    .table(UserSessions::Table)
                    .col(id(b, UserSessions::Id))
                    .col(uuid_not_null(UserSessions::UserId))
                    .col(varchar_not_null(UserSessions::TokenHash, 64).unique_key())
                    .col(timestamptz_now_canonical(b, UserSessions::CreatedAt))
                    .col(
                        ColumnDef::new(UserSessions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(timestamptz(UserSessions::LastUsedAt))
                    .col(timestamptz(UserSessions::RevokedAt))
                    .col(varchar(UserSessions::UserAgent, 500))
                    .col(inet(b, UserSessions::IpAddress))
                    .foreign_key(&mut fk(
                        UserSessions::Table,
                        UserSessions::UserId,
                        Users::Table,
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_user_sessions_user_id", UserSessions::UserId),
            ("idx_user_sessions_expires_at", UserSessions::ExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(UserSessions::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserSessions::Table).to_owned())
            .await
    }
}
