//! Step 23: the indexes a nested connection hangs off (`(link, id)`, step 8) also carry
//! the tenant key `organization_id`, so that counting a parent's rows — `totalCount`, a
//! project's task count, a node's children — is an index-only scan.
//!
//! Every read of a tenant table is filtered by its organization twice: by the
//! application's own condition and by row-level security (step 12). Neither can be
//! answered from `(link, id)` alone, so a count of a project's tasks fetched each task's
//! heap page only to read its `organization_id`: on M, a portfolio's task counts for 20
//! projects (5,000 tasks) read 4,774 heap pages, 15 of the statement's 19 ms. With the
//! key carried by the index (`INCLUDE`, no change to its order) the same count reads no
//! heap page (`Heap Fetches: 0`), 0.8 ms. SQLite, which has no `INCLUDE`, gets
//! `organization_id` as the index's last key column: after `id`, which is unique, it
//! changes no order either.
//!
//! An online step (`migration::online`): each new index is built `CONCURRENTLY`, then the
//! one it replaces is dropped `CONCURRENTLY`, so the application's writes go on. `down`
//! builds the old indexes again the same way and drops the new ones. `audit_log` keeps its
//! index: it is partitioned (step 21), and nothing counts it per user.

use sea_orm_migration::prelude::*;

use crate::online;

/// An index this step replaces: its name, table and key columns (as step 8 made it), and
/// the name of the index that replaces it, with the same key and `organization_id`.
struct Link {
    table: &'static str,
    columns: &'static str,
    old: &'static str,
    new: &'static str,
}

const fn link(
    table: &'static str,
    columns: &'static str,
    old: &'static str,
    new: &'static str,
) -> Link {
    Link {
        table,
        columns,
        old,
        new,
    }
}

/// Every `(link, id)` index of a tenant table, table by table.
const LINKS: [Link; 21] = [
    link(
        "requirements",
        "project_id, id",
        "idx_requirements_project_id_id",
        "idx_requirements_project_tenant",
    ),
    link(
        "requirements",
        "parent_id, id",
        "idx_requirements_parent_id_id",
        "idx_requirements_parent_tenant",
    ),
    link(
        "architectural_components",
        "project_id, id",
        "idx_arch_components_project_id_id",
        "idx_arch_components_project_tenant",
    ),
    link(
        "architectural_components",
        "parent_id, id",
        "idx_arch_components_parent_id_id",
        "idx_arch_components_parent_tenant",
    ),
    link(
        "analyses",
        "project_id, id",
        "idx_analyses_project_id_id",
        "idx_analyses_project_tenant",
    ),
    link(
        "tasks",
        "project_id, id",
        "idx_tasks_project_id_id",
        "idx_tasks_project_tenant",
    ),
    link(
        "tasks",
        "parent_id, id",
        "idx_tasks_parent_id_id",
        "idx_tasks_parent_tenant",
    ),
    link(
        "tasks",
        "assigned_to, id",
        "idx_tasks_assigned_to_id",
        "idx_tasks_assigned_to_tenant",
    ),
    link(
        "collaboration_sessions",
        "project_id, id",
        "idx_sessions_project_id_id",
        "idx_sessions_project_tenant",
    ),
    link(
        "collaboration_sessions",
        "created_by, id",
        "idx_sessions_created_by_id",
        "idx_sessions_created_by_tenant",
    ),
    link(
        "session_participants",
        "session_id, id",
        "idx_session_participants_session",
        "idx_session_participants_session_tenant",
    ),
    link(
        "session_participants",
        "user_id, id",
        "idx_session_participants_user_id_id",
        "idx_session_participants_user_tenant",
    ),
    link(
        "approvals",
        "project_id, id",
        "idx_approvals_project_id_id",
        "idx_approvals_project_tenant",
    ),
    link(
        "approvals",
        "target_type, target_id, id",
        "idx_approvals_target_id",
        "idx_approvals_target_tenant",
    ),
    link(
        "approvals",
        "requested_by, id",
        "idx_approvals_requested_by_id",
        "idx_approvals_requested_by_tenant",
    ),
    link(
        "approval_participants",
        "approval_id, id",
        "idx_approval_participants_approval",
        "idx_approval_participants_approval_tenant",
    ),
    link(
        "approval_participants",
        "user_id, id",
        "idx_approval_participants_user_id_id",
        "idx_approval_participants_user_tenant",
    ),
    link(
        "comments",
        "target_type, target_id, id",
        "idx_comments_target_id",
        "idx_comments_target_tenant",
    ),
    link(
        "comments",
        "parent_id, id",
        "idx_comments_parent_id_id",
        "idx_comments_parent_tenant",
    ),
    link(
        "comments",
        "author_id, id",
        "idx_comments_author_id_id",
        "idx_comments_author_tenant",
    ),
    link(
        "notifications",
        "user_id, id",
        "idx_notifications_user_id_id",
        "idx_notifications_user_tenant",
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
        for index in &LINKS {
            online::create_covering_index_concurrently(
                manager,
                index.new,
                index.table,
                index.columns,
                "organization_id",
            )
            .await?;
            online::drop_index_concurrently(manager, index.old).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in LINKS.iter().rev() {
            online::create_index_concurrently(manager, index.old, index.table, index.columns)
                .await?;
            online::drop_index_concurrently(manager, index.new).await?;
        }
        Ok(())
    }
}
