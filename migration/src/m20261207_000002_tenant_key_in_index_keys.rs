//! Step 24: the tenant key `organization_id` becomes a key column of the indexes a
//! nested connection walks, right after the link — `(link, organization_id, id)` and
//! `(link, organization_id, order, id)` — where step 23 carried it as a payload
//! (`INCLUDE`) and the ordering indexes (step 8) did not carry it at all.
//!
//! Every read of a tenant table is filtered by its organization twice, by the
//! application's own condition and by row-level security, and PostgreSQL cannot tell
//! that a link (a project, a parent, an assignee) implies the organization: it takes the
//! organization's condition as selecting about 1% of the link's rows. With that
//! condition answerable only by the single-column `organization_id` index, the plan for
//! a page of one parent's rows was a `BitmapAnd` of the link's index and the whole
//! organization's entries (5,000 a parent on M's `tasks`), then a sort: on M a user's
//! tasks page by priority (Q4) read 5,000 + 5,000 index entries and 245 rows to return
//! 21, 0.88 ms; a project's root requirements 0.24 ms. With the organization in the key
//! both conditions are the index's, and the page is an ordered index scan that stops at
//! its limit: 0.13 ms and 0.08 ms (`EXPLAIN ANALYZE` of the generic plans). Counts stay
//! index-only scans, as step 23 made them. An equality on every column before the order
//! keeps the index's order, so each index still serves the orderings it served.
//!
//! An online step (`migration::online`), like step 23: each new index is built
//! `CONCURRENTLY`, then the one it replaces is dropped `CONCURRENTLY`. `down` builds the
//! old ones again the same way and drops the new. SQLite gets the same keys.

use sea_orm_migration::prelude::*;

use crate::online;

/// What an index this step replaces was: step 23's `(link, id) INCLUDE
/// (organization_id)`, or an index without the tenant key.
#[derive(Clone, Copy)]
enum Was {
    Covering,
    Plain,
}

/// An index this step replaces, and the one that replaces it.
struct Index {
    table: &'static str,
    columns: &'static str,
    was: Was,
    old: &'static str,
    key: &'static str,
    new: &'static str,
}

const fn index(
    table: &'static str,
    columns: &'static str,
    was: Was,
    old: &'static str,
    key: &'static str,
    new: &'static str,
) -> Index {
    Index {
        table,
        columns,
        was,
        old,
        key,
        new,
    }
}

/// Every index a nested connection of a tenant table walks: step 23's link indexes, the
/// ordering indexes of nested connections (step 8) and `task_dependencies`' links
/// (step 19).
const INDEXES: [Index; 37] = [
    index(
        "requirements",
        "project_id, id",
        Was::Covering,
        "idx_requirements_project_tenant",
        "project_id, organization_id, id",
        "idx_requirements_project_org",
    ),
    index(
        "requirements",
        "parent_id, id",
        Was::Covering,
        "idx_requirements_parent_tenant",
        "parent_id, organization_id, id",
        "idx_requirements_parent_org",
    ),
    index(
        "architectural_components",
        "project_id, id",
        Was::Covering,
        "idx_arch_components_project_tenant",
        "project_id, organization_id, id",
        "idx_arch_components_project_org",
    ),
    index(
        "architectural_components",
        "parent_id, id",
        Was::Covering,
        "idx_arch_components_parent_tenant",
        "parent_id, organization_id, id",
        "idx_arch_components_parent_org",
    ),
    index(
        "analyses",
        "project_id, id",
        Was::Covering,
        "idx_analyses_project_tenant",
        "project_id, organization_id, id",
        "idx_analyses_project_org",
    ),
    index(
        "tasks",
        "project_id, id",
        Was::Covering,
        "idx_tasks_project_tenant",
        "project_id, organization_id, id",
        "idx_tasks_project_org",
    ),
    index(
        "tasks",
        "parent_id, id",
        Was::Covering,
        "idx_tasks_parent_tenant",
        "parent_id, organization_id, id",
        "idx_tasks_parent_org",
    ),
    index(
        "tasks",
        "assigned_to, id",
        Was::Covering,
        "idx_tasks_assigned_to_tenant",
        "assigned_to, organization_id, id",
        "idx_tasks_assigned_to_org",
    ),
    index(
        "collaboration_sessions",
        "project_id, id",
        Was::Covering,
        "idx_sessions_project_tenant",
        "project_id, organization_id, id",
        "idx_sessions_project_org",
    ),
    index(
        "collaboration_sessions",
        "created_by, id",
        Was::Covering,
        "idx_sessions_created_by_tenant",
        "created_by, organization_id, id",
        "idx_sessions_created_by_org",
    ),
    index(
        "session_participants",
        "session_id, id",
        Was::Covering,
        "idx_session_participants_session_tenant",
        "session_id, organization_id, id",
        "idx_session_participants_session_org",
    ),
    index(
        "session_participants",
        "user_id, id",
        Was::Covering,
        "idx_session_participants_user_tenant",
        "user_id, organization_id, id",
        "idx_session_participants_user_org",
    ),
    index(
        "approvals",
        "project_id, id",
        Was::Covering,
        "idx_approvals_project_tenant",
        "project_id, organization_id, id",
        "idx_approvals_project_org",
    ),
    index(
        "approvals",
        "target_type, target_id, id",
        Was::Covering,
        "idx_approvals_target_tenant",
        "target_type, target_id, organization_id, id",
        "idx_approvals_target_org",
    ),
    index(
        "approvals",
        "requested_by, id",
        Was::Covering,
        "idx_approvals_requested_by_tenant",
        "requested_by, organization_id, id",
        "idx_approvals_requested_by_org",
    ),
    index(
        "approval_participants",
        "approval_id, id",
        Was::Covering,
        "idx_approval_participants_approval_tenant",
        "approval_id, organization_id, id",
        "idx_approval_participants_approval_org",
    ),
    index(
        "approval_participants",
        "user_id, id",
        Was::Covering,
        "idx_approval_participants_user_tenant",
        "user_id, organization_id, id",
        "idx_approval_participants_user_org",
    ),
    index(
        "comments",
        "target_type, target_id, id",
        Was::Covering,
        "idx_comments_target_tenant",
        "target_type, target_id, organization_id, id",
        "idx_comments_target_org",
    ),
    index(
        "comments",
        "parent_id, id",
        Was::Covering,
        "idx_comments_parent_tenant",
        "parent_id, organization_id, id",
        "idx_comments_parent_org",
    ),
    index(
        "comments",
        "author_id, id",
        Was::Covering,
        "idx_comments_author_tenant",
        "author_id, organization_id, id",
        "idx_comments_author_org",
    ),
    index(
        "notifications",
        "user_id, id",
        Was::Covering,
        "idx_notifications_user_tenant",
        "user_id, organization_id, id",
        "idx_notifications_user_org",
    ),
    index(
        "requirements",
        "project_id, priority, id",
        Was::Plain,
        "idx_requirements_project_priority",
        "project_id, organization_id, priority, id",
        "idx_requirements_project_priority_org",
    ),
    index(
        "analyses",
        "project_id, created_at, id",
        Was::Plain,
        "idx_analyses_project_created",
        "project_id, organization_id, created_at, id",
        "idx_analyses_project_created_org",
    ),
    index(
        "analyses",
        "project_id, confidence_score, id",
        Was::Plain,
        "idx_analyses_project_confidence",
        "project_id, organization_id, confidence_score, id",
        "idx_analyses_project_confidence_org",
    ),
    index(
        "analyses",
        "project_id, type, created_at, id",
        Was::Plain,
        "idx_analyses_project_type_created",
        "project_id, organization_id, type, created_at, id",
        "idx_analyses_project_type_created_org",
    ),
    index(
        "tasks",
        "project_id, priority, id",
        Was::Plain,
        "idx_tasks_project_priority",
        "project_id, organization_id, priority, id",
        "idx_tasks_project_priority_org",
    ),
    index(
        "tasks",
        "project_id, progress_percentage, id",
        Was::Plain,
        "idx_tasks_project_progress",
        "project_id, organization_id, progress_percentage, id",
        "idx_tasks_project_progress_org",
    ),
    index(
        "tasks",
        "project_id, planned_start_date, id",
        Was::Plain,
        "idx_tasks_project_planned",
        "project_id, organization_id, planned_start_date, id",
        "idx_tasks_project_planned_org",
    ),
    index(
        "tasks",
        "assigned_to, priority, id",
        Was::Plain,
        "idx_tasks_assigned_priority",
        "assigned_to, organization_id, priority, id",
        "idx_tasks_assigned_priority_org",
    ),
    index(
        "collaboration_sessions",
        "project_id, started_at, id",
        Was::Plain,
        "idx_sessions_project_started",
        "project_id, organization_id, started_at, id",
        "idx_sessions_project_started_org",
    ),
    index(
        "session_participants",
        "session_id, joined_at, id",
        Was::Plain,
        "idx_session_participants_session_joined",
        "session_id, organization_id, joined_at, id",
        "idx_session_participants_session_joined_org",
    ),
    index(
        "approvals",
        "project_id, created_at, id",
        Was::Plain,
        "idx_approvals_project_created",
        "project_id, organization_id, created_at, id",
        "idx_approvals_project_created_org",
    ),
    index(
        "comments",
        "target_type, target_id, created_at, id",
        Was::Plain,
        "idx_comments_target_created",
        "target_type, target_id, organization_id, created_at, id",
        "idx_comments_target_created_org",
    ),
    index(
        "notifications",
        "user_id, scheduled_for, id",
        Was::Plain,
        "idx_notifications_user_scheduled",
        "user_id, organization_id, scheduled_for, id",
        "idx_notifications_user_scheduled_org",
    ),
    index(
        "task_dependencies",
        "task_id, id",
        Was::Plain,
        "idx_task_dependencies_task_id_id",
        "task_id, organization_id, id",
        "idx_task_dependencies_task_id_id_org",
    ),
    index(
        "task_dependencies",
        "depends_on_task_id, id",
        Was::Plain,
        "idx_task_dependencies_depends_on_task_id_id",
        "depends_on_task_id, organization_id, id",
        "idx_task_dependencies_depends_on_task_id_id_org",
    ),
    index(
        "task_dependencies",
        "project_id, id",
        Was::Plain,
        "idx_task_dependencies_project_id_id",
        "project_id, organization_id, id",
        "idx_task_dependencies_project_id_id_org",
    ),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// Outside a transaction: `CONCURRENTLY` cannot run in one (`migration::online`).
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in &INDEXES {
            online::create_index_concurrently(manager, index.new, index.table, index.key)
                .await?;
            online::drop_index_concurrently(manager, index.old).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in INDEXES.iter().rev() {
            match index.was {
                Was::Covering => {
                    online::create_covering_index_concurrently(
                        manager,
                        index.old,
                        index.table,
                        index.columns,
                        "organization_id",
                    )
                    .await?
                }
                Was::Plain => {
                    online::create_index_concurrently(
                        manager,
                        index.old,
                        index.table,
                        index.columns,
                    )
                    .await?
                }
            }
            online::drop_index_concurrently(manager, index.new).await?;
        }
        Ok(())
    }
}
