//! The edges of tasks: the work-breakdown tree of a project.

use async_graphql::{Context, Result};
use bduf_collaboration::{CommentFilter, CommentOrder, CommentsOf};
use bduf_core::TargetType;
use bduf_governance::{ApprovalFilter, ApprovalOrder, ApprovalsOf};
use bduf_work::{TaskFilter, TaskOrder, TasksOf};
use entity::tasks;

use crate::generated::{Approval, Comment, Project, Task, User};
use crate::support::{depth, edges, one};

edges! {
    /// The edges of `Task`.
    TaskEdges(tasks::Model) {
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
        connection children: Task = TasksOf::Parent, TaskFilter, TaskOrder;
        /// From the root down to the parent: the nearest 32 ancestors; a deeper chain is cut
        /// at the top (`depth` tells).
        ancestors: Task;
        /// Everything below, at most `maxDepth` levels down, level by level.
        descendants: Task, TaskFilter;
        /// 0 for a root task.
        async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
            depth::<tasks::Model>(ctx, self.0.id).await
        }
        /// Comments on this task.
        connection comments: Comment = CommentsOf::Target(TargetType::Task), CommentFilter, CommentOrder;
        /// Approvals about this task.
        connection approvals: Approval = ApprovalsOf::Target(TargetType::Task), ApprovalFilter, ApprovalOrder;
    }
}
