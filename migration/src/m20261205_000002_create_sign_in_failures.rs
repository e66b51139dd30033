//! Step 16: `sign_in_failures` — failed sign-ins counted in the database, so throttling
//! holds across restarts and across every server of one database (it was each process's
//! memory).
//!
//! One row per key — `email:<address>` or `ip:<address>` — with how many sign-ins failed
//! since the first failure of the current window, and when that window began. The
//! server reads and writes it only while signing in, as the owner (sign-in runs before
//! anyone is signed in). On PostgreSQL RLS is enabled with no policy and no grant for
//! `bduf_app`: a request's role sees none of it.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveIden, Clone, Copy)]
pub enum SignInFailures {
    Table,
    Key,
    Failures,
    FirstFailedAt,
    LastFailedAt,
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
                    .table(SignInFailures::Table)
                    .col(
                        varchar_not_null(SignInFailures::Key, 300)
                            .primary_key()
                            .take(),
                    )
                    .col(integer_default(SignInFailures::Failures, 0).not_null().take())
                    .col(
                        timestamptz_now_canonical(b, SignInFailures::FirstFailedAt)
                            .not_null()
                            .take(),
                    )
                    .col(
                        timestamptz_now_canonical(b, SignInFailures::LastFailedAt)
                            .not_null()
                            .take(),
                    )
                    .to_owned(),
            )
            .await?;
        if b == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE sign_in_failures ENABLE ROW LEVEL SECURITY")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInFailures::Table).to_owned())
            .await
    }
}
