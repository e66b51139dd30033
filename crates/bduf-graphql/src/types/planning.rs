//! The edges of projects, requirement trees, architectural component trees and analyses,
//! and the project dashboard statistics.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use bduf_collaboration::{
    CommentFilter, CommentOrder, CommentsOf, SessionFilter, SessionOrder, SessionsOf,
};
use bduf_core::TargetType;
use bduf_governance::{ApprovalFilter, ApprovalOrder, ApprovalsOf, OpenApprovalsOf};
use bduf_planning::{
    AnalysesOf, AnalysisFilter, AnalysisOrder, ComponentFilter, ComponentOrder, ComponentStatusOf,
    ComponentsOf, LabelCount, LatestAnalysesOf, RequirementCounts, RequirementCountsOf,
    RequirementFilter, RequirementOrder, RequirementsOf,
};
use bduf_work::{TaskFilter, TaskOrder, TaskProgress, TaskRollupOf, TaskStatusCount, TasksOf};
use entity::{analyses, architectural_components, projects, requirements};
use uuid::Uuid;

use crate::generated::{
    Analysis, Approval, ArchitecturalComponent, CollaborationSession, Comment, Organization,
    Project, Requirement, Task, User,
};
use crate::limits::{ANCESTORS_WEIGHT, LATEST_ANALYSES_WEIGHT};
use crate::support::{
    Conn, Paging, ancestors, connection, depth, descendants, one, page_cost, selected, value,
};

/// The edges of `Project`.
#[derive(Debug, Clone)]
pub struct ProjectEdges(pub Arc<projects::Model>);

#[Object]
impl ProjectEdges {
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        one(ctx, Some(self.0.organization_id)).await
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, Some(self.0.created_by)).await
    }
    /// The project's requirements (`filter: {rootsOnly: true}` for the roots of the trees).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn requirements(
        &self,
        ctx: &Context<'_>,
        filter: Option<RequirementFilter>,
        order_by: Option<RequirementOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Requirement>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((RequirementsOf::Project, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// The project's architectural components.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn components(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComponentFilter>,
        order_by: Option<ComponentOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ArchitecturalComponent>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((ComponentsOf::Project, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// The project's tasks.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
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
            Some((TasksOf::Project, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// The project's analyses.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn analyses(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalysisFilter>,
        order_by: Option<AnalysisOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Analysis>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((AnalysesOf::Project, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// The project's approvals, whatever they are about.
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
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((ApprovalsOf::Project, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// The project's collaboration sessions.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SessionFilter>,
        order_by: Option<SessionOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<CollaborationSession>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((SessionsOf::Project, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// Comments on the project itself.
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
        let link = CommentsOf::Target(TargetType::Project);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
    /// Dashboard numbers of the project.
    async fn stats(&self, ctx: &Context<'_>) -> ProjectStats {
        ProjectStats {
            project: self.0.id,
            progress: ctx.look_ahead().field("progress").exists(),
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
        Ok(value(ctx, self.tasks()).await?.by_status)
    }
    /// Progress rolled up over the task tree, weighted by estimated hours.
    async fn progress(&self, ctx: &Context<'_>) -> Result<TaskProgress> {
        Ok(value(ctx, self.tasks()).await?.progress)
    }
    /// Requirements validated, and in all.
    async fn requirements(&self, ctx: &Context<'_>) -> Result<RequirementCounts> {
        value(ctx, RequirementCountsOf(self.project)).await
    }
    /// Architectural components per implementation status (none last).
    async fn components_by_status(&self, ctx: &Context<'_>) -> Result<Vec<LabelCount>> {
        value(ctx, ComponentStatusOf(self.project)).await
    }
    /// Approvals still pending.
    async fn open_approvals(&self, ctx: &Context<'_>) -> Result<i64> {
        value(ctx, OpenApprovalsOf(self.project)).await
    }
    /// The newest analysis of each type, in the order of the types.
    #[graphql(complexity = "LATEST_ANALYSES_WEIGHT * child_complexity")]
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

/// The edges of `Requirement`.
#[derive(Debug, Clone)]
pub struct RequirementEdges(pub Arc<requirements::Model>);

#[Object]
impl RequirementEdges {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        one(ctx, Some(self.0.project_id)).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Requirement>> {
        one(ctx, self.0.parent_id).await
    }
    /// Direct sub-requirements.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn children(
        &self,
        ctx: &Context<'_>,
        filter: Option<RequirementFilter>,
        order_by: Option<RequirementOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Requirement>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((RequirementsOf::Parent, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// From the root down to the parent: the nearest 32 ancestors; a deeper chain is cut
    /// at the top (`depth` tells).
    #[graphql(complexity = "ANCESTORS_WEIGHT * child_complexity")]
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Requirement>> {
        ancestors(ctx, self.0.id).await
    }
    /// Everything below, at most `maxDepth` levels down, level by level.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
        filter: Option<RequirementFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Requirement>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        descendants(ctx, self.0.id, max_depth, filter, paging).await
    }
    /// 0 for a root requirement.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<requirements::Model>(ctx, self.0.id).await
    }
    /// Comments on this requirement.
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
        let link = CommentsOf::Target(TargetType::Requirement);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
    /// Approvals about this requirement.
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
        let link = ApprovalsOf::Target(TargetType::Requirement);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
}

/// The edges of `ArchitecturalComponent`.
#[derive(Debug, Clone)]
pub struct ArchitecturalComponentEdges(pub Arc<architectural_components::Model>);

#[Object]
impl ArchitecturalComponentEdges {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        one(ctx, Some(self.0.project_id)).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<ArchitecturalComponent>> {
        one(ctx, self.0.parent_id).await
    }
    /// Direct sub-components.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn children(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComponentFilter>,
        order_by: Option<ComponentOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ArchitecturalComponent>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((ComponentsOf::Parent, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// From the root down to the parent: the nearest 32 ancestors; a deeper chain is cut
    /// at the top (`depth` tells).
    #[graphql(complexity = "ANCESTORS_WEIGHT * child_complexity")]
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<ArchitecturalComponent>> {
        ancestors(ctx, self.0.id).await
    }
    /// Everything below, at most `maxDepth` levels down, level by level.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
        filter: Option<ComponentFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ArchitecturalComponent>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        descendants(ctx, self.0.id, max_depth, filter, paging).await
    }
    /// 0 for a root component.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<architectural_components::Model>(ctx, self.0.id).await
    }
    /// Comments on this component.
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
        let link = CommentsOf::Target(TargetType::Component);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
}

/// The edges of `Analysis`.
#[derive(Debug, Clone)]
pub struct AnalysisEdges(pub Arc<analyses::Model>);

#[Object]
impl AnalysisEdges {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        one(ctx, Some(self.0.project_id)).await
    }
    /// Comments on this analysis.
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
        let link = CommentsOf::Target(TargetType::Analysis);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
    /// Approvals about this analysis.
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
        let link = ApprovalsOf::Target(TargetType::Analysis);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
}
