//! Step 7: the indexing strategy of seed 000, with the improvements listed in
//! `migration/README.md` (every foreign-key column indexed; indexes that only repeat a
//! UNIQUE constraint dropped). Partial indexes exist on both backends; the GIN full-text
//! expression indexes are PostgreSQL-only.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use crate::m20261121_000002_create_identity_tables::{OrganizationMembers, Organizations, Users};
use crate::m20261121_000003_create_planning_tables::{
    Analyses, ArchitecturalComponents, Projects, Requirements,
};
use crate::m20261121_000004_create_work_tables::Tasks;
use crate::m20261121_000005_create_collaboration_tables::{
    CollaborationSessions, Comments, Notifications, SessionParticipants,
};
use crate::m20261121_000006_create_governance_tables::{ApprovalParticipants, Approvals, AuditLog};

/// One B-tree index: name, table, columns, and an optional partial-index predicate.
struct Idx {
    name: &'static str,
    table: DynIden,
    cols: Vec<DynIden>,
    partial: Option<SimpleExpr>,
}

fn idx<T: IntoIden, C: IntoIden>(
    name: &'static str,
    table: T,
    cols: impl IntoIterator<Item = C>,
) -> Idx {
    Idx {
        name,
        table: table.into_iden(),
        cols: cols.into_iter().map(IntoIden::into_iden).collect(),
        partial: None,
    }
}

/// A single-column partial index `WHERE col = value`.
fn partial<T: IntoIden, C: IntoIden + Copy + 'static>(
    name: &'static str,
    table: T,
    col: C,
    value: bool,
) -> Idx {
    Idx {
        partial: Some(Expr::col(col).eq(value)),
        ..idx(name, table, [col])
    }
}

/// The B-tree indexes, in the seed's order; improvements are marked.
fn btree_indexes() -> Vec<Idx> {
    vec![
        // users: idx_users_email and idx_users_username repeat UNIQUE(email), UNIQUE(username).
        partial("idx_users_active", Users::Table, Users::IsActive, true),
        idx("idx_users_last_login", Users::Table, [Users::LastLoginAt]),
        // organizations: idx_organizations_slug repeats UNIQUE(slug).
        partial(
            "idx_organizations_active",
            Organizations::Table,
            Organizations::IsActive,
            true,
        ),
        // organization_members: idx_org_members_org_id is the leading column of
        // UNIQUE(organization_id, user_id), whose index serves the same lookups.
        idx(
            "idx_org_members_user_id",
            OrganizationMembers::Table,
            [OrganizationMembers::UserId],
        ),
        idx(
            "idx_org_members_role",
            OrganizationMembers::Table,
            [OrganizationMembers::Role],
        ),
        idx(
            "idx_projects_org_id",
            Projects::Table,
            [Projects::OrganizationId],
        ),
        idx(
            "idx_projects_created_by",
            Projects::Table,
            [Projects::CreatedBy],
        ),
        idx("idx_projects_status", Projects::Table, [Projects::Status]),
        idx(
            "idx_projects_type",
            Projects::Table,
            [Projects::ProjectType],
        ),
        idx(
            "idx_projects_industry",
            Projects::Table,
            [Projects::Industry],
        ),
        idx(
            "idx_projects_complexity",
            Projects::Table,
            [Projects::ComplexityScore],
        ),
        partial(
            "idx_projects_active",
            Projects::Table,
            Projects::IsArchived,
            false,
        ),
        idx(
            "idx_projects_created_at",
            Projects::Table,
            [Projects::CreatedAt],
        ),
        idx(
            "idx_requirements_project_id",
            Requirements::Table,
            [Requirements::ProjectId],
        ),
        idx(
            "idx_requirements_parent_id",
            Requirements::Table,
            [Requirements::ParentId],
        ),
        idx(
            "idx_requirements_priority",
            Requirements::Table,
            [Requirements::Priority],
        ),
        idx(
            "idx_requirements_category",
            Requirements::Table,
            [Requirements::Category],
        ),
        idx(
            "idx_requirements_validated",
            Requirements::Table,
            [Requirements::IsValidated],
        ),
        idx(
            "idx_arch_components_project_id",
            ArchitecturalComponents::Table,
            [ArchitecturalComponents::ProjectId],
        ),
        idx(
            "idx_arch_components_parent_id",
            ArchitecturalComponents::Table,
            [ArchitecturalComponents::ParentId],
        ),
        idx(
            "idx_arch_components_type",
            ArchitecturalComponents::Table,
            [ArchitecturalComponents::Type],
        ),
        idx(
            "idx_arch_components_technology",
            ArchitecturalComponents::Table,
            [ArchitecturalComponents::Technology],
        ),
        idx(
            "idx_arch_components_status",
            ArchitecturalComponents::Table,
            [ArchitecturalComponents::ImplementationStatus],
        ),
        idx(
            "idx_analyses_project_id",
            Analyses::Table,
            [Analyses::ProjectId],
        ),
        idx("idx_analyses_type", Analyses::Table, [Analyses::Type]),
        idx("idx_analyses_status", Analyses::Table, [Analyses::Status]),
        idx(
            "idx_analyses_confidence",
            Analyses::Table,
            [Analyses::ConfidenceScore],
        ),
        idx(
            "idx_analyses_created_at",
            Analyses::Table,
            [Analyses::CreatedAt],
        ),
        idx("idx_tasks_project_id", Tasks::Table, [Tasks::ProjectId]),
        idx("idx_tasks_parent_id", Tasks::Table, [Tasks::ParentId]),
        idx("idx_tasks_assigned_to", Tasks::Table, [Tasks::AssignedTo]),
        idx("idx_tasks_status", Tasks::Table, [Tasks::Status]),
        idx("idx_tasks_priority", Tasks::Table, [Tasks::Priority]),
        idx("idx_tasks_work_type", Tasks::Table, [Tasks::WorkType]),
        idx(
            "idx_tasks_planned_dates",
            Tasks::Table,
            [Tasks::PlannedStartDate, Tasks::PlannedEndDate],
        ),
        idx(
            "idx_tasks_progress",
            Tasks::Table,
            [Tasks::ProgressPercentage],
        ),
        idx(
            "idx_sessions_project_id",
            CollaborationSessions::Table,
            [CollaborationSessions::ProjectId],
        ),
        idx(
            "idx_sessions_created_by",
            CollaborationSessions::Table,
            [CollaborationSessions::CreatedBy],
        ),
        idx(
            "idx_sessions_status",
            CollaborationSessions::Table,
            [CollaborationSessions::Status],
        ),
        idx(
            "idx_sessions_type",
            CollaborationSessions::Table,
            [CollaborationSessions::SessionType],
        ),
        idx(
            "idx_sessions_started_at",
            CollaborationSessions::Table,
            [CollaborationSessions::StartedAt],
        ),
        // session_participants: idx_session_participants_session_id is the leading column
        // of UNIQUE(session_id, user_id).
        idx(
            "idx_session_participants_user_id",
            SessionParticipants::Table,
            [SessionParticipants::UserId],
        ),
        partial(
            "idx_session_participants_active",
            SessionParticipants::Table,
            SessionParticipants::IsActive,
            true,
        ),
        idx(
            "idx_approvals_project_id",
            Approvals::Table,
            [Approvals::ProjectId],
        ),
        idx(
            "idx_approvals_requested_by",
            Approvals::Table,
            [Approvals::RequestedBy],
        ),
        // Added: the seed leaves these two foreign keys unindexed.
        idx(
            "idx_approvals_approved_by",
            Approvals::Table,
            [Approvals::ApprovedBy],
        ),
        idx(
            "idx_approvals_rejected_by",
            Approvals::Table,
            [Approvals::RejectedBy],
        ),
        idx(
            "idx_approvals_status",
            Approvals::Table,
            [Approvals::Status],
        ),
        idx(
            "idx_approvals_type",
            Approvals::Table,
            [Approvals::ApprovalType],
        ),
        idx(
            "idx_approvals_target",
            Approvals::Table,
            [
                Approvals::TargetType.into_iden(),
                Approvals::TargetId.into_iden(),
            ],
        ),
        idx(
            "idx_approvals_created_at",
            Approvals::Table,
            [Approvals::CreatedAt],
        ),
        // approval_participants: idx_approval_participants_approval_id is the leading
        // column of UNIQUE(approval_id, user_id).
        idx(
            "idx_approval_participants_user_id",
            ApprovalParticipants::Table,
            [ApprovalParticipants::UserId],
        ),
        idx(
            "idx_approval_participants_response",
            ApprovalParticipants::Table,
            [ApprovalParticipants::Response],
        ),
        idx(
            "idx_audit_log_table_record",
            AuditLog::Table,
            [AuditLog::TableName, AuditLog::RecordId],
        ),
        idx("idx_audit_log_user_id", AuditLog::Table, [AuditLog::UserId]),
        idx(
            "idx_audit_log_session_id",
            AuditLog::Table,
            [AuditLog::SessionId],
        ),
        idx(
            "idx_audit_log_created_at",
            AuditLog::Table,
            [AuditLog::CreatedAt],
        ),
        idx(
            "idx_audit_log_operation",
            AuditLog::Table,
            [AuditLog::Operation],
        ),
        idx(
            "idx_comments_target",
            Comments::Table,
            [Comments::TargetType, Comments::TargetId],
        ),
        idx(
            "idx_comments_author_id",
            Comments::Table,
            [Comments::AuthorId],
        ),
        idx(
            "idx_comments_parent_id",
            Comments::Table,
            [Comments::ParentId],
        ),
        idx(
            "idx_comments_thread_id",
            Comments::Table,
            [Comments::ThreadId],
        ),
        // Added: the seed leaves this foreign key unindexed.
        idx(
            "idx_comments_resolved_by",
            Comments::Table,
            [Comments::ResolvedBy],
        ),
        idx(
            "idx_comments_resolved",
            Comments::Table,
            [Comments::IsResolved],
        ),
        idx(
            "idx_comments_created_at",
            Comments::Table,
            [Comments::CreatedAt],
        ),
        idx(
            "idx_notifications_user_id",
            Notifications::Table,
            [Notifications::UserId],
        ),
        idx(
            "idx_notifications_type",
            Notifications::Table,
            [Notifications::Type],
        ),
        partial(
            "idx_notifications_unread",
            Notifications::Table,
            Notifications::IsRead,
            false,
        ),
        idx(
            "idx_notifications_target",
            Notifications::Table,
            [Notifications::TargetType, Notifications::TargetId],
        ),
        idx(
            "idx_notifications_scheduled",
            Notifications::Table,
            [Notifications::ScheduledFor],
        ),
    ]
}

/// The GIN full-text indexes (PostgreSQL only): index name, table, title column.
/// Each indexes `to_tsvector('english', <title> || ' ' || COALESCE(description, ''))`.
const SEARCH_INDEXES: [(&str, &str, &str); 3] = [
    ("idx_projects_search", "projects", "name"),
    ("idx_requirements_search", "requirements", "title"),
    ("idx_tasks_search", "tasks", "title"),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for Idx {
            name,
            table,
            cols,
            partial,
        } in btree_indexes()
        {
            let mut stmt = Index::create();
            stmt.name(name).table(table);
            for col in cols {
                stmt.col(col);
            }
            if let Some(cond) = partial {
                stmt.and_where(cond);
            }
            manager.create_index(stmt).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            // sea-query cannot render expression index columns, hence raw SQL.
            let db = manager.get_connection();
            for (name, table, title) in SEARCH_INDEXES {
                db.execute_unprepared(&format!(
                    "CREATE INDEX {name} ON {table} USING gin \
                     (to_tsvector('english', {title} || ' ' || COALESCE(description, '')))"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for (name, table, _) in SEARCH_INDEXES.iter().rev() {
                manager
                    .drop_index(
                        Index::drop()
                            .name(*name)
                            .table(Alias::new(*table))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        for Idx { name, table, .. } in btree_indexes().into_iter().rev() {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
