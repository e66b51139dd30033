//! The edges of tasks: the work-breakdown tree of a project.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use bduf_collaboration::{CommentFilter, CommentOrder, CommentsOf};
use bduf_core::TargetType;
use bduf_governance::{ApprovalFilter, ApprovalOrder, ApprovalsOf};
use bduf_work::{TaskFilter, TaskOrder, TasksOf};
use entity::tasks;

use crate::generated::{Approval, Comment, Project, Task, User};
use crate::limits::ANCESTORS_WEIGHT;
use crate::support::{Conn, Paging, ancestors, connection, depth, descendants, one, page_cost};

/// The edges of `Task`.
#[derive(Debug, Clone)]
pub struct TaskEdges(pub Arc<tasks::Model>);

#[Object]
impl TaskEdges {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        one(ctx, Some(self.0.project_id)).await
    }
    /// The user the task is assigned to.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, self.0.assigned_to).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        one(ctx, self.0.parent_id).await
    }
    /// Direct sub-tasks.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn children(
        &self,
        ctx: &Context<'_>,
        filter: Option<TaskFilter>,
        order_by: Option<TaskOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Task>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((TasksOf::Parent, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// From the root down to the parent: the nearest 32 ancestors; a deeper chain is cut
    /// at the top (`depth` tells).
    #[graphql(complexity = "ANCESTORS_WEIGHT * child_complexity")]
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        ancestors(ctx, self.0.id).await
    }
    /// Everything below, at most `maxDepth` levels down, level by level.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
        filter: Option<TaskFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Task>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        descendants(ctx, self.0.id, max_depth, filter, paging).await
    }
    /// 0 for a root task.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<tasks::Model>(ctx, self.0.id).await
    }
    /// Comments on this task.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommentFilter>,
        order_by: Option<CommentOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Comment>> {
        let link = CommentsOf::Target(TargetType::Task);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
    /// Approvals about this task.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApprovalFilter>,
        order_by: Option<ApprovalOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Approval>> {
        let link = ApprovalsOf::Target(TargetType::Task);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
}
