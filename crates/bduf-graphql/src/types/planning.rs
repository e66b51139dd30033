//! The edges of projects, requirement trees, architectural component trees and analyses,
//! and the project dashboard statistics.

use crate::error::OrGql as _;
use async_graphql::{Context, Object, Result};
use bduf_collaboration::{
    CommentFilter, CommentOrder, CommentsOf, SessionFilter, SessionOrder, SessionsOf,
};
use bduf_core::TargetType;
use bduf_core::history::{NodeChange, NodeVersion, PlanTree, TreeAt, TreeDiff};
use bduf_governance::{ApprovalFilter, ApprovalOrder, ApprovalsOf, OpenApprovalsOf};
use bduf_planning::{
    AnalysesOf, AnalysisFilter, AnalysisOrder, ComponentFilter, ComponentOrder, ComponentStatusOf,
    ComponentsOf, LabelCount, LatestAnalysesOf, RequirementCounts, RequirementCountsOf,
    RequirementFilter, RequirementOrder, RequirementsOf,
};
use bduf_work::{
    CriticalPathOf, TaskDependenciesOf, TaskDependencyFilter, TaskDependencyOrder, TaskFilter,
    TaskOrder, TaskProgress, TaskRollupOf, TaskStatusCount, TasksOf,
};
use chrono::{DateTime, Utc};
use entity::{analyses, architectural_components, projects, requirements, tasks};
use uuid::Uuid;

use crate::generated::{
    Analysis, Approval, ArchitecturalComponent, CollaborationSession, Comment, Organization,
    Project, Requirement, Task, TaskDependency, User,
};
use crate::support::{depth, edges, load, one, selected, tally, value};
use crate::types::work::Schedule;

edges! {
    /// The edges of `Project`.
    ProjectEdges(projects::Model) {
        async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
            one(ctx, Some(self.0.organization_id)).await
        }
        async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.created_by)).await
        }
        /// The project's requirements (`filter: {rootsOnly: true}` for the roots of the trees).
        connection requirements: Requirement = RequirementsOf::Project, RequirementFilter, RequirementOrder;
        /// The project's architectural components.
        connection components: ArchitecturalComponent = ComponentsOf::Project, ComponentFilter, ComponentOrder;
        /// The project's tasks.
        connection tasks: Task = TasksOf::Project, TaskFilter, TaskOrder;
        /// The dependencies between the project's tasks.
        connection task_dependencies: TaskDependency = TaskDependenciesOf::Project, TaskDependencyFilter, TaskDependencyOrder;
        /// The tasks that can start now: not done or cancelled, and everything they wait
        /// for with `BLOCKS` done or cancelled (`tasks` with `filter: {ready: true}`).
        connection ready_tasks: Task = TasksOf::Project, TaskOrder,
            where TaskFilter { ready: Some(true), ..TaskFilter::default() };
        /// The project's schedule over its `BLOCKS` dependencies: the critical path and
        /// each unfinished task's slack.
        async fn critical_path(&self, ctx: &Context<'_>) -> Result<Schedule> {
            Ok(Schedule(load(ctx, CriticalPathOf(self.0.id)).await?.unwrap_or_default()))
        }
        /// The project's requirement, component or task tree as it stood at `asOf`,
        /// reconstructed from the audit trail: parents before children (by depth, then
        /// id). Two statements for every project of the level.
        async fn tree_as_of(
            &self,
            ctx: &Context<'_>,
            kind: PlanTree,
            as_of: DateTime<Utc>,
        ) -> Result<Vec<NodeVersion>> {
            let project = self.0.id;
            match kind {
                PlanTree::Requirements => {
                    value(ctx, TreeAt::<requirements::Model>::new(project, as_of)).await
                }
                PlanTree::Components => {
                    value(ctx, TreeAt::<architectural_components::Model>::new(project, as_of)).await
                }
                PlanTree::Tasks => value(ctx, TreeAt::<tasks::Model>::new(project, as_of)).await,
            }
        }
        /// What changed in the tree between `from` and `to` (under `root`, itself
        /// included, when given): nodes added, removed, moved and changed, by id, with
        /// the fields that differ. Two statements for every project of the level.
        async fn tree_diff(
            &self,
            ctx: &Context<'_>,
            kind: PlanTree,
            root: Option<Uuid>,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<NodeChange>> {
            let project = self.0.id;
            match kind {
                PlanTree::Requirements => {
                    let key = TreeDiff::<requirements::Model>::new(project, root, from, to).or_gql()?;
                    value(ctx, key).await
                }
                PlanTree::Components => {
                    let key = TreeDiff::<architectural_components::Model>::new(project, root, from, to)
                        .or_gql()?;
                    value(ctx, key).await
                }
                PlanTree::Tasks => {
                    let key = TreeDiff::<tasks::Model>::new(project, root, from, to).or_gql()?;
                    value(ctx, key).await
                }
            }
        }
        /// The project's analyses.
        connection analyses: Analysis = AnalysesOf::Project, AnalysisFilter, AnalysisOrder;
        /// The project's approvals, whatever they are about.
        connection approvals: Approval = ApprovalsOf::Project, ApprovalFilter, ApprovalOrder;
        /// The project's collaboration sessions.
        connection sessions: CollaborationSession = SessionsOf::Project, SessionFilter, SessionOrder;
        /// Comments on the project itself.
        connection comments: Comment = CommentsOf::Target(TargetType::Project), CommentFilter, CommentOrder;
        /// Dashboard numbers of the project.
        async fn stats(&self, ctx: &Context<'_>) -> ProjectStats {
            ProjectStats {
                project: self.0.id,
                progress: ctx.look_ahead().field("progress").exists(),
            }
        }
    }
}

/// Dashboard numbers of one project; each field costs one statement per level of
/// projects, and only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct ProjectStats {
    project: Uuid,
    /// Whether `progress` is selected: then `tasksByStatus` reads it in the same
    /// statement.
    progress: bool,
}

impl ProjectStats {
    fn tasks(&self) -> TaskRollupOf {
        TaskRollupOf {
            project: self.project,
            progress: self.progress,
        }
    }
}

#[Object]
impl ProjectStats {
    /// Tasks per status, in the order of the statuses (none last).
    async fn tasks_by_status(&self, ctx: &Context<'_>) -> Result<Vec<TaskStatusCount>> {
        Ok(tally(ctx, self.tasks()).await?.by_status)
    }
    /// Progress rolled up over the task tree, weighted by estimated hours.
    async fn progress(&self, ctx: &Context<'_>) -> Result<TaskProgress> {
        Ok(tally(ctx, self.tasks()).await?.progress)
    }
    /// Requirements validated, and in all.
    async fn requirements(&self, ctx: &Context<'_>) -> Result<RequirementCounts> {
        tally(ctx, RequirementCountsOf(self.project)).await
    }
    /// Architectural components per implementation status (none last).
    async fn components_by_status(&self, ctx: &Context<'_>) -> Result<Vec<LabelCount>> {
        tally(ctx, ComponentStatusOf(self.project)).await
    }
    /// Approvals still pending.
    async fn open_approvals(&self, ctx: &Context<'_>) -> Result<i64> {
        tally(ctx, OpenApprovalsOf(self.project)).await
    }
    /// The newest analysis of each type, in the order of the types.
    async fn latest_analyses(&self, ctx: &Context<'_>) -> Result<Vec<Analysis>> {
        let key = LatestAnalysesOf {
            project: self.project,
            columns: selected::<Analysis>(ctx),
        };
        Ok(value(ctx, key)
            .await?
            .into_iter()
            .map(Analysis::from)
            .collect())
    }
}

edges! {
    /// The edges of `Requirement`.
    RequirementEdges(requirements::Model) {
        async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
            one(ctx, Some(self.0.project_id)).await
        }
        async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Requirement>> {
            one(ctx, self.0.parent_id).await
        }
        /// Direct sub-requirements.
        connection children: Requirement = RequirementsOf::Parent, RequirementFilter, RequirementOrder;
        /// From the root down to the parent: the nearest 32 ancestors; a deeper chain is cut
        /// at the top (`depth` tells).
        ancestors: Requirement;
        /// Everything below, at most `maxDepth` levels down, level by level.
        descendants: Requirement, RequirementFilter;
        /// 0 for a root requirement.
        async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
            depth::<requirements::Model>(ctx, &self.0).await
        }
        /// Comments on this requirement.
        connection comments: Comment = CommentsOf::Target(TargetType::Requirement), CommentFilter, CommentOrder;
        /// Approvals about this requirement.
        connection approvals: Approval = ApprovalsOf::Target(TargetType::Requirement), ApprovalFilter, ApprovalOrder;
    }
}

edges! {
    /// The edges of `ArchitecturalComponent`.
    ArchitecturalComponentEdges(architectural_components::Model) {
        async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
            one(ctx, Some(self.0.project_id)).await
        }
        async fn parent(&self, ctx: &Context<'_>) -> Result<Option<ArchitecturalComponent>> {
            one(ctx, self.0.parent_id).await
        }
        /// Direct sub-components.
        connection children: ArchitecturalComponent = ComponentsOf::Parent, ComponentFilter, ComponentOrder;
        /// From the root down to the parent: the nearest 32 ancestors; a deeper chain is cut
        /// at the top (`depth` tells).
        ancestors: ArchitecturalComponent;
        /// Everything below, at most `maxDepth` levels down, level by level.
        descendants: ArchitecturalComponent, ComponentFilter;
        /// 0 for a root component.
        async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
            depth::<architectural_components::Model>(ctx, &self.0).await
        }
        /// Comments on this component.
        connection comments: Comment = CommentsOf::Target(TargetType::Component), CommentFilter, CommentOrder;
    }
}

edges! {
    /// The edges of `Analysis`.
    AnalysisEdges(analyses::Model) {
        async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
            one(ctx, Some(self.0.project_id)).await
        }
        /// Comments on this analysis.
        connection comments: Comment = CommentsOf::Target(TargetType::Analysis), CommentFilter, CommentOrder;
        /// Approvals about this analysis.
        connection approvals: Approval = ApprovalsOf::Target(TargetType::Analysis), ApprovalFilter, ApprovalOrder;
    }
}
