//! The edges of tasks: the work-breakdown tree of a project.

use async_graphql::{Context, Result};
use bduf_collaboration::{CommentFilter, CommentOrder, CommentsOf};
use bduf_core::TargetType;
use bduf_governance::{ApprovalFilter, ApprovalOrder, ApprovalsOf};
use bduf_work::{
    CriticalPath, DependencyType, ScheduledTask, TaskDependenciesOf, TaskDependencyFilter,
    TaskDependencyOrder, TaskFilter, TaskOrder, TasksOf,
};
use entity::{task_dependencies, tasks};

use crate::generated::{Approval, Comment, Project, Task, TaskDependency, User};
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
            depth::<tasks::Model>(ctx, &self.0).await
        }
        /// Comments on this task.
        connection comments: Comment = CommentsOf::Target(TargetType::Task), CommentFilter, CommentOrder;
        /// Approvals about this task.
        connection approvals: Approval = ApprovalsOf::Target(TargetType::Task), ApprovalFilter, ApprovalOrder;
        /// What this task waits for: its dependencies on other tasks.
        connection depends_on: TaskDependency = TaskDependenciesOf::Task, TaskDependencyFilter, TaskDependencyOrder;
        /// What waits for this task: the dependencies of other tasks on it.
        connection dependents: TaskDependency = TaskDependenciesOf::DependsOn, TaskDependencyFilter, TaskDependencyOrder;
        /// What keeps this task from starting: its `BLOCKS` dependencies on tasks not done
        /// or cancelled (`dependsOn` with that filter). Empty: the task is ready.
        connection blocked_by: TaskDependency = TaskDependenciesOf::Task, TaskDependencyOrder,
            where TaskDependencyFilter {
                dependency_type: Some(DependencyType::Blocks),
                unfinished: Some(true),
                ..TaskDependencyFilter::default()
            };
    }
}

edges! {
    /// The edges of `TaskDependency`.
    TaskDependencyEdges(task_dependencies::Model) {
        /// The task that waits.
        async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
            one(ctx, Some(self.0.task_id)).await
        }
        /// The task it waits for.
        async fn depends_on_task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
            one(ctx, Some(self.0.depends_on_task_id)).await
        }
        async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
            one(ctx, Some(self.0.project_id)).await
        }
        async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, self.0.created_by).await
        }
    }
}

/// A project's schedule over its `BLOCKS` dependencies (the critical path method), in
/// hours from the start, over its unfinished tasks: a task starts once everything it
/// waits for is finished, plus the dependency's lag, and takes its estimated hours.
#[derive(Debug, Clone)]
pub struct Schedule(pub CriticalPath);

#[async_graphql::Object]
impl Schedule {
    /// The length of the longest chain of waiting tasks, in hours.
    async fn total_hours(&self) -> f64 {
        self.0.total_hours
    }
    /// One longest chain, first task to last.
    async fn path(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        // All at once: one wave, one statement.
        let tasks = futures_util::future::try_join_all(
            self.0.path.iter().map(|id| one::<Task>(ctx, Some(*id))),
        )
        .await?;
        Ok(tasks.into_iter().flatten().collect())
    }
    /// Every unfinished task, each after everything it waits for.
    async fn tasks(&self) -> Vec<ScheduledTask> {
        self.0.tasks.clone()
    }
}
