//! Step 3: planning — `projects`, `requirements`, `architectural_components`, `analyses`.

use sea_orm_migration::prelude::*;

use crate::columns::*;
use crate::m20261121_000002_create_identity_tables::{Organizations, Users};

#[derive(DeriveIden, Clone, Copy)]
pub enum Projects {
    Table,
    Id,
    OrganizationId,
    CreatedBy,
    Name,
    Description,
    Status,
    ProjectType,
    Industry,
    ComplexityScore,
    EstimatedDurationWeeks,
    EstimatedBudget,
    Currency,
    TechnologyStack,
    Constraints,
    Assumptions,
    Version,
    IsArchived,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Requirements {
    Table,
    Id,
    ProjectId,
    ParentId,
    Title,
    Description,
    AcceptanceCriteria,
    Priority,
    Category,
    ComplexityScore,
    EffortEstimateHours,
    Dependencies,
    IsValidated,
    ValidationNotes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum ArchitecturalComponents {
    Table,
    Id,
    ProjectId,
    ParentId,
    Name,
    Type,
    Description,
    Technology,
    Patterns,
    Interfaces,
    Dependencies,
    ScalabilityRequirements,
    PerformanceRequirements,
    SecurityRequirements,
    ImplementationStatus,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Analyses {
    Table,
    Id,
    ProjectId,
    Type,
    Title,
    Description,
    Methodology,
    Findings,
    Recommendations,
    Risks,
    Opportunities,
    ConfidenceScore,
    CompletenessScore,
    ProcessingTimeSeconds,
    AiModelUsed,
    ContextSources,
    Status,
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
                    .table(Projects::Table)
                    .col(id(b, Projects::Id))
                    .col(uuid_not_null(Projects::OrganizationId))
                    .col(uuid_not_null(Projects::CreatedBy))
                    .col(varchar_not_null(Projects::Name, 255))
                    .col(text(Projects::Description))
                    .col(enumeration(
                        b,
                        Projects::Status,
                        PROJECT_STATUS,
                        false,
                        Some("draft"),
                    ))
                    .col(varchar(Projects::ProjectType, 100))
                    .col(varchar(Projects::Industry, 100))
                    .col(integer_in_range(Projects::ComplexityScore, 1, 10, None))
                    .col(integer(Projects::EstimatedDurationWeeks))
                    .col(decimal(Projects::EstimatedBudget, 15, 2))
                    .col(varchar_default(Projects::Currency, 3, "USD"))
                    .col(jsonb_default(Projects::TechnologyStack, "[]"))
                    .col(jsonb_default(Projects::Constraints, "{}"))
                    .col(jsonb_default(Projects::Assumptions, "[]"))
                    .col(integer_default(Projects::Version, 1))
                    .col(boolean_default(Projects::IsArchived, false))
                    .col(timestamptz(Projects::ArchivedAt))
                    .col(timestamptz_now(b, Projects::CreatedAt))
                    .col(timestamptz_now(b, Projects::UpdatedAt))
                    .foreign_key(&mut fk(
                        Projects::Table,
                        Projects::OrganizationId,
                        Organizations::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        Projects::Table,
                        Projects::CreatedBy,
                        Users::Table,
                        None,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Requirements::Table)
                    .col(id(b, Requirements::Id))
                    .col(uuid_not_null(Requirements::ProjectId))
                    .col(uuid(Requirements::ParentId))
                    .col(varchar_not_null(Requirements::Title, 255))
                    .col(text(Requirements::Description))
                    .col(jsonb_default(Requirements::AcceptanceCriteria, "[]"))
                    .col(integer_in_range(Requirements::Priority, 1, 5, Some(3)))
                    .col(varchar(Requirements::Category, 100))
                    .col(integer_in_range(Requirements::ComplexityScore, 1, 10, None))
                    .col(integer(Requirements::EffortEstimateHours))
                    .col(jsonb_default(Requirements::Dependencies, "[]"))
                    .col(boolean_default(Requirements::IsValidated, false))
                    .col(text(Requirements::ValidationNotes))
                    .col(timestamptz_now(b, Requirements::CreatedAt))
                    .col(timestamptz_now(b, Requirements::UpdatedAt))
                    .foreign_key(&mut fk(
                        Requirements::Table,
                        Requirements::ProjectId,
                        Projects::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        Requirements::Table,
                        Requirements::ParentId,
                        Requirements::Table,
                        cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ArchitecturalComponents::Table)
                    .col(id(b, ArchitecturalComponents::Id))
                    .col(uuid_not_null(ArchitecturalComponents::ProjectId))
                    .col(uuid(ArchitecturalComponents::ParentId))
                    .col(varchar_not_null(ArchitecturalComponents::Name, 255))
                    .col(varchar(ArchitecturalComponents::Type, 100))
                    .col(text(ArchitecturalComponents::Description))
                    .col(varchar(ArchitecturalComponents::Technology, 100))
                    .col(jsonb_default(ArchitecturalComponents::Patterns, "[]"))
                    .col(jsonb_default(ArchitecturalComponents::Interfaces, "{}"))
                    .col(jsonb_default(ArchitecturalComponents::Dependencies, "[]"))
                    .col(jsonb_default(
                        ArchitecturalComponents::ScalabilityRequirements,
                        "{}",
                    ))
                    .col(jsonb_default(
                        ArchitecturalComponents::PerformanceRequirements,
                        "{}",
                    ))
                    .col(jsonb_default(
                        ArchitecturalComponents::SecurityRequirements,
                        "{}",
                    ))
                    .col(varchar_default(
                        ArchitecturalComponents::ImplementationStatus,
                        50,
                        "planned",
                    ))
                    .col(timestamptz_now(b, ArchitecturalComponents::CreatedAt))
                    .col(timestamptz_now(b, ArchitecturalComponents::UpdatedAt))
                    .foreign_key(&mut fk(
                        ArchitecturalComponents::Table,
                        ArchitecturalComponents::ProjectId,
                        Projects::Table,
                        cascade,
                    ))
                    .foreign_key(&mut fk(
                        ArchitecturalComponents::Table,
                        ArchitecturalComponents::ParentId,
                        ArchitecturalComponents::Table,
                        cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Analyses::Table)
                    .col(id(b, Analyses::Id))
                    .col(uuid_not_null(Analyses::ProjectId))
                    .col(enumeration(b, Analyses::Type, ANALYSIS_TYPE, true, None))
                    .col(varchar_not_null(Analyses::Title, 255))
                    .col(text(Analyses::Description))
                    .col(varchar(Analyses::Methodology, 100))
                    .col(jsonb_default(Analyses::Findings, "{}"))
                    .col(jsonb_default(Analyses::Recommendations, "[]"))
                    .col(jsonb_default(Analyses::Risks, "[]"))
                    .col(jsonb_default(Analyses::Opportunities, "[]"))
                    .col(score(Analyses::ConfidenceScore))
                    .col(score(Analyses::CompletenessScore))
                    .col(integer(Analyses::ProcessingTimeSeconds))
                    .col(varchar(Analyses::AiModelUsed, 100))
                    .col(jsonb_default(Analyses::ContextSources, "[]"))
                    .col(varchar_default(Analyses::Status, 50, "completed"))
                    .col(timestamptz_now(b, Analyses::CreatedAt))
                    .col(timestamptz_now(b, Analyses::UpdatedAt))
                    .foreign_key(&mut fk(
                        Analyses::Table,
                        Analyses::ProjectId,
                        Projects::Table,
                        cascade,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Analyses::Table.into_iden(),
            ArchitecturalComponents::Table.into_iden(),
            Requirements::Table.into_iden(),
            Projects::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
