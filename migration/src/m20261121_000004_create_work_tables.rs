//! Step 4: work — `tasks`, the work-breakdown tree.

use sea_orm_migration::prelude::*;

use crate::columns::*;
use crate::m20261121_000002_create_identity_tables::Users;
use crate::m20261121_000003_create_planning_tables::Projects;

#[derive(DeriveIden, Clone, Copy)]
pub enum Tasks {
    Table,
    Id,
    ProjectId,
    ParentId,
    Title,
    Description,
    AcceptanceCriteria,
    WorkType,
    Priority,
    ComplexityScore,
    EstimatedHours,
    ActualHours,
    Dependencies,
    Blockers,
    AssignedTo,
    Status,
    ProgressPercentage,
    PlannedStartDate,
    PlannedEndDate,
    ActualStartDate,
    ActualEndDate,
    CreatedAt,
    UpdatedAt,
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
                    .table(Tasks::Table)
                    .col(id(b, Tasks::Id))
                    .col(uuid_not_null(Tasks::ProjectId))
                    .col(uuid(Tasks::ParentId))
                    .col(varchar_not_null(Tasks::Title, 255))
                    .col(text(Tasks::Description))
                    .col(jsonb_default(Tasks::AcceptanceCriteria, "[]"))
                    .col(varchar(Tasks::WorkType, 100))
                    .col(integer_in_range(Tasks::Priority, 1, 5, Some(3)))
                    .col(integer_in_range(Tasks::ComplexityScore, 1, 10, None))
                    .col(integer(Tasks::EstimatedHours))
                    .col(integer(Tasks::ActualHours))
                    .col(jsonb_default(Tasks::Dependencies, "[]"))
                    .col(jsonb_default(Tasks::Blockers, "[]"))
                    .col(uuid(Tasks::AssignedTo))
                    .col(enumeration(
                        b,
                        Tasks::Status,
                        TASK_STATUS,
                        false,
                        Some("pending"),
                    ))
                    .col(integer_in_range(Tasks::ProgressPercentage, 0, 100, Some(0)))
                    .col(date(Tasks::PlannedStartDate))
                    .col(date(Tasks::PlannedEndDate))
                    .col(date(Tasks::ActualStartDate))
                    .col(date(Tasks::ActualEndDate))
                    .col(timestamptz_now(b, Tasks::CreatedAt))
                    .col(timestamptz_now(b, Tasks::UpdatedAt))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::ProjectId,
                        Projects::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::ParentId,
                        Tasks::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(Tasks::Table, Tasks::AssignedTo, Users::Table, None))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await
    }
}
