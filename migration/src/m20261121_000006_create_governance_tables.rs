//! Step 6: governance — `approvals`, `approval_participants`, `audit_log`.

use sea_orm_migration::prelude::*;

use crate::columns::*;
use crate::m20261121_000002_create_identity_tables::Users;
use crate::m20261121_000003_create_planning_tables::Projects;
use crate::m20261121_000005_create_collaboration_tables::CollaborationSessions;

#[derive(DeriveIden, Clone, Copy)]
pub enum Approvals {
    Table,
    Id,
    ProjectId,
    RequestedBy,
    Title,
    Description,
    ApprovalType,
    TargetType,
    TargetId,
    Status,
    DecisionRationale,
    Conditions,
    RequiresUnanimous,
    RequiredApproverCount,
    AutoApproveAfterHours,
    ApprovedBy,
    RejectedBy,
    ResolvedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum ApprovalParticipants {
    Table,
    Id,
    ApprovalId,
    UserId,
    Response,
    ResponseNotes,
    RespondedAt,
    IsRequired,
    Weight,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AuditLog {
    Table,
    Id,
    TableName,
    RecordId,
    Operation,
    UserId,
    SessionId,
    OldValues,
    NewValues,
    ChangedFields,
    ChangeReason,
    ClientIp,
    UserAgent,
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
                    .table(Approvals::Table)
                    .col(id(b, Approvals::Id))
                    .col(uuid_not_null(Approvals::ProjectId))
                    .col(uuid_not_null(Approvals::RequestedBy))
                    .col(varchar_not_null(Approvals::Title, 255))
                    .col(text(Approvals::Description))
                    .col(varchar(Approvals::ApprovalType, 100))
                    .col(varchar(Approvals::TargetType, 100))
                    .col(uuid_not_null(Approvals::TargetId))
                    .col(enumeration(
                        b,
                        Approvals::Status,
                        APPROVAL_STATUS,
                        false,
                        Some("pending"),
                    ))
                    .col(text(Approvals::DecisionRationale))
                    .col(jsonb_default(Approvals::Conditions, "[]"))
                    .col(boolean_default(Approvals::RequiresUnanimous, false))
                    .col(integer_default(Approvals::RequiredApproverCount, 1))
                    .col(integer(Approvals::AutoApproveAfterHours))
                    .col(uuid(Approvals::ApprovedBy))
                    .col(uuid(Approvals::RejectedBy))
                    .col(timestamptz(Approvals::ResolvedAt))
                    .col(timestamptz_now(b, Approvals::CreatedAt))
                    .col(timestamptz_now(b, Approvals::UpdatedAt))
                    .foreign_key(&mut fk(
                        Approvals::Table,
                        Approvals::ProjectId,
                        Projects::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        Approvals::Table,
                        Approvals::RequestedBy,
                        Users::Table,
                        None,
                    ))
                    .foreign_key(&mut fk(
                        Approvals::Table,
                        Approvals::ApprovedBy,
                        Users::Table,
                        None,
                    ))
                    .foreign_key(&mut fk(
                        Approvals::Table,
                        Approvals::RejectedBy,
                        Users::Table,
                        None,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApprovalParticipants::Table)
                    .col(id(b, ApprovalParticipants::Id))
                    .col(uuid_not_null(ApprovalParticipants::ApprovalId))
                    .col(uuid_not_null(ApprovalParticipants::UserId))
                    .col(enumeration(
                        b,
                        ApprovalParticipants::Response,
                        APPROVAL_STATUS,
                        false,
                        None,
                    ))
                    .col(text(ApprovalParticipants::ResponseNotes))
                    .col(timestamptz(ApprovalParticipants::RespondedAt))
                    .col(boolean_default(ApprovalParticipants::IsRequired, true))
                    .col(integer_default(ApprovalParticipants::Weight, 1))
                    .foreign_key(&mut fk(
                        ApprovalParticipants::Table,
                        ApprovalParticipants::ApprovalId,
                        Approvals::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        ApprovalParticipants::Table,
                        ApprovalParticipants::UserId,
                        Users::Table,
                        cascade,
                    ))
                    .index(
                        Index::create()
                            .unique()
                            .col(ApprovalParticipants::ApprovalId)
                            .col(ApprovalParticipants::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(id(b, AuditLog::Id))
                    .col(varchar_not_null(AuditLog::TableName, 100))
                    .col(uuid_not_null(AuditLog::RecordId))
                    .col(varchar_not_null(AuditLog::Operation, 10))
                    .col(uuid(AuditLog::UserId))
                    .col(uuid(AuditLog::SessionId))
                    .col(jsonb(AuditLog::OldValues))
                    .col(jsonb(AuditLog::NewValues))
                    .col(jsonb(AuditLog::ChangedFields))
                    .col(varchar(AuditLog::ChangeReason, 255))
                    .col(inet(b, AuditLog::ClientIp))
                    .col(text(AuditLog::UserAgent))
                    .col(timestamptz_now(b, AuditLog::CreatedAt))
                    .foreign_key(&mut fk(
                        AuditLog::Table,
                        AuditLog::UserId,
                        Users::Table,
                        None,
                    ))
                    .foreign_key(&mut fk(
                        AuditLog::Table,
                        AuditLog::SessionId,
                        CollaborationSessions::Table,
                        None,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            ApprovalParticipants::Table.into_iden(),
            Approvals::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
