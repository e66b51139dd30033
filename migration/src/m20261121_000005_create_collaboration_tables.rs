//! Step 5: collaboration — `collaboration_sessions`, `session_participants`, `comments`,
//! `notifications`.

use sea_orm_migration::prelude::*;

use crate::columns::*;
use crate::m20261121_000002_create_identity_tables::Users;
use crate::m20261121_000003_create_planning_tables::Projects;

#[derive(DeriveIden, Clone, Copy)]
pub enum CollaborationSessions {
    Table,
    Id,
    ProjectId,
    CreatedBy,
    Title,
    Description,
    SessionType,
    Status,
    CurrentPhase,
    SessionData,
    StartedAt,
    EndedAt,
    MaxParticipants,
    RequiresApproval,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum SessionParticipants {
    Table,
    Id,
    SessionId,
    UserId,
    Role,
    JoinedAt,
    LastActiveAt,
    IsActive,
    CanEdit,
    CanApprove,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Comments {
    Table,
    Id,
    TargetType,
    TargetId,
    AuthorId,
    Content,
    ContentType,
    ParentId,
    ThreadId,
    IsResolved,
    ResolvedBy,
    ResolvedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Notifications {
    Table,
    Id,
    UserId,
    Type,
    Title,
    Message,
    TargetType,
    TargetId,
    IsRead,
    ReadAt,
    DeliveryMethod,
    ScheduledFor,
    DeliveredAt,
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
        let cascade = Some(ForeignKeyAction::Cascade);
        manager
            .create_table(
                Table::create()
                    .table(CollaborationSessions::Table)
                    .col(id(b, CollaborationSessions::Id))
                    .col(uuid_not_null(CollaborationSessions::ProjectId))
                    .col(uuid_not_null(CollaborationSessions::CreatedBy))
                    .col(varchar_not_null(CollaborationSessions::Title, 255))
                    .col(text(CollaborationSessions::Description))
                    .col(varchar(CollaborationSessions::SessionType, 100))
                    .col(varchar_default(CollaborationSessions::Status, 50, "active"))
                    .col(varchar(CollaborationSessions::CurrentPhase, 100))
                    .col(jsonb_default(CollaborationSessions::SessionData, "{}"))
                    .col(timestamptz_now(b, CollaborationSessions::StartedAt))
                    .col(timestamptz(CollaborationSessions::EndedAt))
                    .col(integer_default(CollaborationSessions::MaxParticipants, 50))
                    .col(boolean_default(
                        CollaborationSessions::RequiresApproval,
                        false,
                    ))
                    .col(timestamptz_now(b, CollaborationSessions::CreatedAt))
                    .col(timestamptz_now(b, CollaborationSessions::UpdatedAt))
                    .foreign_key(&mut fk(
                        CollaborationSessions::Table,
                        CollaborationSessions::ProjectId,
                        Projects::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        CollaborationSessions::Table,
                        CollaborationSessions::CreatedBy,
                        Users::Table,
                        None,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionParticipants::Table)
                    .col(id(b, SessionParticipants::Id))
                    .col(uuid_not_null(SessionParticipants::SessionId))
                    .col(uuid_not_null(SessionParticipants::UserId))
                    .col(enumeration(
                        b,
                        SessionParticipants::Role,
                        COLLABORATION_ROLE,
                        false,
                        Some("contributor"),
                    ))
                    .col(timestamptz_now(b, SessionParticipants::JoinedAt))
                    .col(timestamptz_now(b, SessionParticipants::LastActiveAt))
                    .col(boolean_default(SessionParticipants::IsActive, true))
                    .col(boolean_default(SessionParticipants::CanEdit, true))
                    .col(boolean_default(SessionParticipants::CanApprove, false))
                    .foreign_key(&mut fk(
                        SessionParticipants::Table,
                        SessionParticipants::SessionId,
                        CollaborationSessions::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        SessionParticipants::Table,
                        SessionParticipants::UserId,
                        Users::Table,
                        cascade,
                    ))
                    .index(
                        Index::create()
                            .unique()
                            .col(SessionParticipants::SessionId)
                            .col(SessionParticipants::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(id(b, Comments::Id))
                    .col(varchar_not_null(Comments::TargetType, 100))
                    .col(uuid_not_null(Comments::TargetId))
                    .col(uuid_not_null(Comments::AuthorId))
                    .col(text_not_null(Comments::Content))
                    .col(varchar_default(Comments::ContentType, 50, "text"))
                    .col(uuid(Comments::ParentId))
                    .col(uuid(Comments::ThreadId))
                    .col(boolean_default(Comments::IsResolved, false))
                    .col(uuid(Comments::ResolvedBy))
                    .col(timestamptz(Comments::ResolvedAt))
                    .col(timestamptz_now(b, Comments::CreatedAt))
                    .col(timestamptz_now(b, Comments::UpdatedAt))
                    .foreign_key(&mut fk(
                        Comments::Table,
                        Comments::AuthorId,
                        Users::Table,
                        None,
                    ))
                    .foreign_key(&mut fk(
                        Comments::Table,
                        Comments::ParentId,
                        Comments::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        Comments::Table,
                        Comments::ResolvedBy,
                        Users::Table,
                        None,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(id(b, Notifications::Id))
                    .col(uuid_not_null(Notifications::UserId))
                    .col(varchar_not_null(Notifications::Type, 100))
                    .col(varchar_not_null(Notifications::Title, 255))
                    .col(text(Notifications::Message))
                    .col(varchar(Notifications::TargetType, 100))
                    .col(uuid(Notifications::TargetId))
                    .col(boolean_default(Notifications::IsRead, false))
                    .col(timestamptz(Notifications::ReadAt))
                    .col(varchar_default(Notifications::DeliveryMethod, 50, "in-app"))
                    .col(timestamptz_now(b, Notifications::ScheduledFor))
                    .col(timestamptz(Notifications::DeliveredAt))
                    .col(timestamptz_now(b, Notifications::CreatedAt))
                    .foreign_key(&mut fk(
                        Notifications::Table,
                        Notifications::UserId,
                        Users::Table,
                        cascade,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notifications::Table.into_iden(),
            Comments::Table.into_iden(),
            SessionParticipants::Table.into_iden(),
            CollaborationSessions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
