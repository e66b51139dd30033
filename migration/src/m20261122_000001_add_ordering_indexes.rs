//! Step 8: an index for every ordering the API offers. A connection pages by keyset,
//! `ORDER BY sort, id` from a cursor, so each `orderBy` field gets an index on
//! `(sort, id)`, and — together with the filter its nested connections always carry —
//! on `(parent, sort, id)`; each link column a nested connection hangs off gets
//! `(parent, id)`. The single-column indexes these extend are dropped (the wider index
//! serves every lookup they served). Text sorts compare byte-wise on PostgreSQL
//! (`COLLATE "C"`, as on SQLite), so their indexes carry that collation.
//!
//! PostgreSQL serves `sort ASC NULLS LAST, id ASC` forwards and `sort DESC NULLS FIRST,
//! id DESC` backwards from one such index: the API sorts NULL after every value.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

/// An index: name, table, column list (`{C}` marks a text column compared byte-wise), and
/// the single-column index it replaces with that one's column list.
struct Ordering {
    name: &'static str,
    table: &'static str,
    columns: &'static str,
    replaces: Option<(&'static str, &'static str)>,
}

const fn new(name: &'static str, table: &'static str, columns: &'static str) -> Ordering {
    Ordering {
        name,
        table,
        columns,
        replaces: None,
    }
}

const fn replacing(
    name: &'static str,
    table: &'static str,
    columns: &'static str,
    old: &'static str,
    old_columns: &'static str,
) -> Ordering {
    Ordering {
        name,
        table,
        columns,
        replaces: Some((old, old_columns)),
    }
}

/// The indexes, table by table.
const INDEXES: [Ordering; 60] = [
    // users: orderBy LAST_LOGIN_AT.
    replacing(
        "idx_users_last_login_id",
        "users",
        "last_login_at, id",
        "idx_users_last_login",
        "last_login_at",
    ),
    // organizations: orderBy SLUG.
    new("idx_organizations_slug_id", "organizations", "slug{C}, id"),
    // organization_members: by organization (members) or user (memberships); orderBy JOINED_AT.
    new(
        "idx_org_members_org_id_id",
        "organization_members",
        "organization_id, id",
    ),
    new(
        "idx_org_members_org_joined",
        "organization_members",
        "organization_id, joined_at, id",
    ),
    new(
        "idx_org_members_joined",
        "organization_members",
        "joined_at, id",
    ),
    replacing(
        "idx_org_members_user_id_id",
        "organization_members",
        "user_id, id",
        "idx_org_members_user_id",
        "user_id",
    ),
    // projects: by organization or creator; orderBy NAME, CREATED_AT, COMPLEXITY_SCORE.
    replacing(
        "idx_projects_org_id_id",
        "projects",
        "organization_id, id",
        "idx_projects_org_id",
        "organization_id",
    ),
    new(
        "idx_projects_org_name",
        "projects",
        "organization_id, name{C}, id",
    ),
    new(
        "idx_projects_org_created",
        "projects",
        "organization_id, created_at, id",
    ),
    new(
        "idx_projects_org_complexity",
        "projects",
        "organization_id, complexity_score, id",
    ),
    new("idx_projects_name", "projects", "name{C}, id"),
    replacing(
        "idx_projects_created_at_id",
        "projects",
        "created_at, id",
        "idx_projects_created_at",
        "created_at",
    ),
    replacing(
        "idx_projects_complexity_id",
        "projects",
        "complexity_score, id",
        "idx_projects_complexity",
        "complexity_score",
    ),
    replacing(
        "idx_projects_created_by_id",
        "projects",
        "created_by, id",
        "idx_projects_created_by",
        "created_by",
    ),
    // requirements: by project or parent; orderBy PRIORITY.
    replacing(
        "idx_requirements_project_id_id",
        "requirements",
        "project_id, id",
        "idx_requirements_project_id",
        "project_id",
    ),
    new(
        "idx_requirements_project_priority",
        "requirements",
        "project_id, priority, id",
    ),
    replacing(
        "idx_requirements_parent_id_id",
        "requirements",
        "parent_id, id",
        "idx_requirements_parent_id",
        "parent_id",
    ),
    replacing(
        "idx_requirements_priority_id",
        "requirements",
        "priority, id",
        "idx_requirements_priority",
        "priority",
    ),
    // architectural_components: by project or parent.
    replacing(
        "idx_arch_components_project_id_id",
        "architectural_components",
        "project_id, id",
        "idx_arch_components_project_id",
        "project_id",
    ),
    replacing(
        "idx_arch_components_parent_id_id",
        "architectural_components",
        "parent_id, id",
        "idx_arch_components_parent_id",
        "parent_id",
    ),
    // analyses: by project; orderBy CREATED_AT, CONFIDENCE_SCORE; the latest of each type.
    replacing(
        "idx_analyses_project_id_id",
        "analyses",
        "project_id, id",
        "idx_analyses_project_id",
        "project_id",
    ),
    new(
        "idx_analyses_project_created",
        "analyses",
        "project_id, created_at, id",
    ),
    new(
        "idx_analyses_project_confidence",
        "analyses",
        "project_id, confidence_score, id",
    ),
    new(
        "idx_analyses_project_type_created",
        "analyses",
        "project_id, type, created_at, id",
    ),
    replacing(
        "idx_analyses_created_at_id",
        "analyses",
        "created_at, id",
        "idx_analyses_created_at",
        "created_at",
    ),
    replacing(
        "idx_analyses_confidence_id",
        "analyses",
        "confidence_score, id",
        "idx_analyses_confidence",
        "confidence_score",
    ),
    // tasks: by project, parent or assignee; orderBy PRIORITY, PROGRESS_PERCENTAGE,
    // PLANNED_START_DATE.
    replacing(
        "idx_tasks_project_id_id",
        "tasks",
        "project_id, id",
        "idx_tasks_project_id",
        "project_id",
    ),
    new(
        "idx_tasks_project_priority",
        "tasks",
        "project_id, priority, id",
    ),
    new(
        "idx_tasks_project_progress",
        "tasks",
        "project_id, progress_percentage, id",
    ),
    new(
        "idx_tasks_project_planned",
        "tasks",
        "project_id, planned_start_date, id",
    ),
    replacing(
        "idx_tasks_parent_id_id",
        "tasks",
        "parent_id, id",
        "idx_tasks_parent_id",
        "parent_id",
    ),
    replacing(
        "idx_tasks_assigned_to_id",
        "tasks",
        "assigned_to, id",
        "idx_tasks_assigned_to",
        "assigned_to",
    ),
    new(
        "idx_tasks_assigned_priority",
        "tasks",
        "assigned_to, priority, id",
    ),
    replacing(
        "idx_tasks_priority_id",
        "tasks",
        "priority, id",
        "idx_tasks_priority",
        "priority",
    ),
    replacing(
        "idx_tasks_progress_id",
        "tasks",
        "progress_percentage, id",
        "idx_tasks_progress",
        "progress_percentage",
    ),
    new("idx_tasks_planned_start", "tasks", "planned_start_date, id"),
    // collaboration_sessions: by project or creator; orderBy STARTED_AT.
    replacing(
        "idx_sessions_project_id_id",
        "collaboration_sessions",
        "project_id, id",
        "idx_sessions_project_id",
        "project_id",
    ),
    new(
        "idx_sessions_project_started",
        "collaboration_sessions",
        "project_id, started_at, id",
    ),
    replacing(
        "idx_sessions_started_at_id",
        "collaboration_sessions",
        "started_at, id",
        "idx_sessions_started_at",
        "started_at",
    ),
    replacing(
        "idx_sessions_created_by_id",
        "collaboration_sessions",
        "created_by, id",
        "idx_sessions_created_by",
        "created_by",
    ),
    // session_participants: by session or user; orderBy JOINED_AT.
    new(
        "idx_session_participants_session",
        "session_participants",
        "session_id, id",
    ),
    new(
        "idx_session_participants_session_joined",
        "session_participants",
        "session_id, joined_at, id",
    ),
    new(
        "idx_session_participants_joined",
        "session_participants",
        "joined_at, id",
    ),
    replacing(
        "idx_session_participants_user_id_id",
        "session_participants",
        "user_id, id",
        "idx_session_participants_user_id",
        "user_id",
    ),
    // comments: by target, parent or author; orderBy CREATED_AT.
    replacing(
        "idx_comments_target_id",
        "comments",
        "target_type, target_id, id",
        "idx_comments_target",
        "target_type, target_id",
    ),
    new(
        "idx_comments_target_created",
        "comments",
        "target_type, target_id, created_at, id",
    ),
    replacing(
        "idx_comments_parent_id_id",
        "comments",
        "parent_id, id",
        "idx_comments_parent_id",
        "parent_id",
    ),
    replacing(
        "idx_comments_author_id_id",
        "comments",
        "author_id, id",
        "idx_comments_author_id",
        "author_id",
    ),
    replacing(
        "idx_comments_created_at_id",
        "comments",
        "created_at, id",
        "idx_comments_created_at",
        "created_at",
    ),
    // notifications: by user; orderBy SCHEDULED_FOR.
    replacing(
        "idx_notifications_user_id_id",
        "notifications",
        "user_id, id",
        "idx_notifications_user_id",
        "user_id",
    ),
    new(
        "idx_notifications_user_scheduled",
        "notifications",
        "user_id, scheduled_for, id",
    ),
    replacing(
        "idx_notifications_scheduled_id",
        "notifications",
        "scheduled_for, id",
        "idx_notifications_scheduled",
        "scheduled_for",
    ),
    // approvals: by project, target or requester; orderBy CREATED_AT.
    replacing(
        "idx_approvals_project_id_id",
        "approvals",
        "project_id, id",
        "idx_approvals_project_id",
        "project_id",
    ),
    new(
        "idx_approvals_project_created",
        "approvals",
        "project_id, created_at, id",
    ),
    replacing(
        "idx_approvals_target_id",
        "approvals",
        "target_type, target_id, id",
        "idx_approvals_target",
        "target_type, target_id",
    ),
    replacing(
        "idx_approvals_requested_by_id",
        "approvals",
        "requested_by, id",
        "idx_approvals_requested_by",
        "requested_by",
    ),
    replacing(
        "idx_approvals_created_at_id",
        "approvals",
        "created_at, id",
        "idx_approvals_created_at",
        "created_at",
    ),
    // approval_participants: by approval or user; orderBy RESPONDED_AT.
    new(
        "idx_approval_participants_approval",
        "approval_participants",
        "approval_id, id",
    ),
    new(
        "idx_approval_participants_responded",
        "approval_participants",
        "responded_at, id",
    ),
    replacing(
        "idx_approval_participants_user_id_id",
        "approval_participants",
        "user_id, id",
        "idx_approval_participants_user_id",
        "user_id",
    ),
];

/// The audit log's indexes: by user; orderBy CREATED_AT.
const AUDIT_INDEXES: [Ordering; 3] = [
    replacing(
        "idx_audit_log_user_id_id",
        "audit_log",
        "user_id, id",
        "idx_audit_log_user_id",
        "user_id",
    ),
    new(
        "idx_audit_log_user_created",
        "audit_log",
        "user_id, created_at, id",
    ),
    replacing(
        "idx_audit_log_created_at_id",
        "audit_log",
        "created_at, id",
        "idx_audit_log_created_at",
        "created_at",
    ),
];

/// `columns` for `backend`: `{C}` becomes `COLLATE "C"` on PostgreSQL and nothing on
/// SQLite, whose default collation already compares bytes.
fn columns(backend: DbBackend, columns: &str) -> String {
    let collate = if backend == DbBackend::Postgres {
        r#" COLLATE "C""#
    } else {
        ""
    };
    columns.replace("{C}", collate)
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for index in INDEXES.iter().chain(AUDIT_INDEXES.iter()) {
            // Index columns with a collation need raw SQL: sea-query cannot render them.
            db.execute_unprepared(&format!(
                "CREATE INDEX {} ON {} ({})",
                index.name,
                index.table,
                columns(backend, index.columns)
            ))
            .await?;
            if let Some((old, _)) = index.replaces {
                db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for index in INDEXES.iter().chain(AUDIT_INDEXES.iter()).rev() {
            if let Some((old, old_columns)) = index.replaces {
                // Exactly as step 7 (sea-query) wrote it: SQLite keeps the text.
                let quoted: Vec<String> = old_columns
                    .split(", ")
                    .map(|c| format!("\"{c}\""))
                    .collect();
                db.execute_unprepared(&format!(
                    "CREATE INDEX \"{old}\" ON \"{}\" ({})",
                    index.table,
                    quoted.join(", ")
                ))
                .await?;
            }
            db.execute_unprepared(&format!("DROP INDEX {}", index.name))
                .await?;
        }
        Ok(())
    }
}
