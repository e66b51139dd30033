//! Step 2: identity — `users`, `organizations` and `organization_members`.

use sea_orm_migration::prelude::*;

use crate::columns::*;

#[derive(DeriveIden, Clone, Copy)]
pub enum Users {
    Table,
    Id,
    Email,
    Username,
    PasswordHash,
    FirstName,
    LastName,
    AvatarUrl,
    Timezone,
    Preferences,
    IsActive,
    EmailVerified,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    Description,
    Settings,
    IsActive,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum OrganizationMembers {
    Table,
    Id,
    OrganizationId,
    UserId,
    Role,
    Permissions,
    JoinedAt,
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
                    .table(Users::Table)
                    .col(id(b, Users::Id))
                    .col(varchar_not_null(Users::Email, 255).unique_key())
                    .col(varchar_not_null(Users::Username, 100).unique_key())
                    .col(varchar_not_null(Users::PasswordHash, 255))
                    .col(varchar(Users::FirstName, 100))
                    .col(varchar(Users::LastName, 100))
                    .col(varchar(Users::AvatarUrl, 500))
                    .col(varchar_default(Users::Timezone, 50, "UTC"))
                    .col(jsonb_default(Users::Preferences, "{}"))
                    .col(boolean_default(Users::IsActive, true))
                    .col(boolean_default(Users::EmailVerified, false))
                    .col(timestamptz(Users::LastLoginAt))
                    .col(timestamptz_now(b, Users::CreatedAt))
                    .col(timestamptz_now(b, Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(id(b, Organizations::Id))
                    .col(varchar_not_null(Organizations::Name, 255))
                    .col(varchar_not_null(Organizations::Slug, 100).unique_key())
                    .col(text(Organizations::Description))
                    .col(jsonb_default(Organizations::Settings, "{}"))
                    .col(boolean_default(Organizations::IsActive, true))
                    .col(timestamptz_now(b, Organizations::CreatedAt))
                    .col(timestamptz_now(b, Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganizationMembers::Table)
                    .col(id(b, OrganizationMembers::Id))
                    .col(uuid_not_null(OrganizationMembers::OrganizationId))
                    .col(uuid_not_null(OrganizationMembers::UserId))
                    .col(enumeration(
                        b,
                        OrganizationMembers::Role,
                        COLLABORATION_ROLE,
                        true,
                        Some("viewer"),
                    ))
                    .col(jsonb_default(OrganizationMembers::Permissions, "[]"))
                    .col(timestamptz_now(b, OrganizationMembers::JoinedAt))
                    .foreign_key(&mut fk(
                        OrganizationMembers::Table,
                        OrganizationMembers::OrganizationId,
                        Organizations::Table,
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut fk(
                        OrganizationMembers::Table,
                        OrganizationMembers::UserId,
                        Users::Table,
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .index(
                        Index::create()
                            .unique()
                            .col(OrganizationMembers::OrganizationId)
                            .col(OrganizationMembers::UserId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OrganizationMembers::Table.into_iden(),
            Organizations::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
