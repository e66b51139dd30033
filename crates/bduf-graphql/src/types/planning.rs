//! Projects, requirement trees, architectural component trees, analyses, and the project
//! dashboard statistics.

use async_graphql::{Context, Json, Object, Result};
use bduf_core::loader::ByColumn;
use bduf_governance::OpenApprovalsOf;
use bduf_planning::{
    AnalysisType, ComponentStatusOf, LabelCount, LatestAnalysesOf, ProjectStatus,
    RequirementCounts, RequirementCountsOf,
};
use bduf_work::{TaskProgress, TaskProgressOf, TaskStatusCount, TaskStatusOf};
use chrono::{DateTime, FixedOffset};
use entity::{
    analyses, approvals, architectural_components, collaboration_sessions, comments, organizations,
    projects, requirements, tasks, users,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::collaboration::{CollaborationSession, Comment};
use super::governance::Approval;
use super::identity::{Organization, User};
use super::json;
use super::work::Task;
use crate::support::{
    Conn, Window, ancestors, children, depth, descendants, load, load_or_default,
    nested_connection, node, targeting, wrapper,
};

/// A project: the plan of one system, owned by an organization.
#[derive(Debug, Clone)]
pub struct Project(pub projects::Model);

/// A requirement, in a tree under its project.
#[derive(Debug, Clone)]
pub struct Requirement(pub requirements::Model);

/// An architectural component, in a tree under its project.
#[derive(Debug, Clone)]
pub struct ArchitecturalComponent(pub architectural_components::Model);

/// The result of one analysis of a project.
#[derive(Debug, Clone)]
pub struct Analysis(pub analyses::Model);

wrapper!(
    Project => projects,
    Requirement => requirements,
    ArchitecturalComponent => architectural_components,
    Analysis => analyses,
);

/// Keeps only root rows (no parent) when `roots_only`.
fn roots<M>(
    mut rows: Vec<M>,
    roots_only: Option<bool>,
    parent: impl Fn(&M) -> Option<Uuid>,
) -> Vec<M> {
    if roots_only == Some(true) {
        rows.retain(|r| parent(r).is_none());
    }
    rows
}

#[Object]
impl Project {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn status(&self) -> Option<ProjectStatus> {
        self.0.status.map(Into::into)
    }
    async fn project_type(&self) -> Option<&str> {
        self.0.project_type.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    async fn complexity_score(&self) -> Option<i32> {
        self.0.complexity_score
    }
    async fn estimated_duration_weeks(&self) -> Option<i32> {
        self.0.estimated_duration_weeks
    }
    async fn estimated_budget(&self) -> Option<Decimal> {
        self.0.estimated_budget
    }
    async fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
    async fn technology_stack(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.technology_stack)
    }
    async fn constraints(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.constraints)
    }
    async fn assumptions(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.assumptions)
    }
    async fn version(&self) -> Option<i32> {
        self.0.version
    }
    async fn is_archived(&self) -> Option<bool> {
        self.0.is_archived
    }
    async fn archived_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        node::<organizations::Model, _>(ctx, Some(self.0.organization_id)).await
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.created_by)).await
    }
    /// The project's requirements (only the roots of the trees with `rootsOnly`).
    async fn requirements(
        &self,
        ctx: &Context<'_>,
        roots_only: Option<bool>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Requirement>> {
        let rows = load(
            ctx,
            ByColumn::<requirements::Model>::new("project_id", self.0.id),
        )
        .await?
        .unwrap_or_default();
        nested_connection(
            roots(rows, roots_only, |r| r.parent_id),
            Window {
                after,
                before,
                first,
                last,
            },
        )
    }
    /// The project's architectural components (only the roots with `rootsOnly`).
    async fn components(
        &self,
        ctx: &Context<'_>,
        roots_only: Option<bool>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ArchitecturalComponent>> {
        let rows = load(
            ctx,
            ByColumn::<architectural_components::Model>::new("project_id", self.0.id),
        )
        .await?
        .unwrap_or_default();
        nested_connection(
            roots(rows, roots_only, |r| r.parent_id),
            Window {
                after,
                before,
                first,
                last,
            },
        )
    }
    /// The project's tasks (only the roots of the work breakdown with `rootsOnly`).
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        roots_only: Option<bool>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Task>> {
        let rows = load(ctx, ByColumn::<tasks::Model>::new("project_id", self.0.id))
            .await?
            .unwrap_or_default();
        nested_connection(
            roots(rows, roots_only, |r| r.parent_id),
            Window {
                after,
                before,
                first,
                last,
            },
        )
    }
    /// The project's analyses, oldest first.
    async fn analyses(
        &self,
        ctx: &Context<'_>,
        r#type: Option<AnalysisType>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Analysis>> {
        let mut rows = load(
            ctx,
            ByColumn::<analyses::Model>::new("project_id", self.0.id),
        )
        .await?
        .unwrap_or_default();
        if let Some(kind) = r#type {
            let kind = entity::sea_orm_active_enums::AnalysisType::from(kind);
            rows.retain(|a| a.r#type == kind);
        }
        nested_connection(
            rows,
            Window {
                after,
                before,
                first,
                last,
            },
        )
    }
    /// The project's approvals.
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Approval>> {
        let rows = load(
            ctx,
            ByColumn::<approvals::Model>::new("project_id", self.0.id),
        )
        .await?
        .unwrap_or_default();
        nested_connection(
            rows,
            Window {
                after,
                before,
                first,
                last,
            },
        )
    }
    /// The project's collaboration sessions.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<CollaborationSession>> {
        children::<collaboration_sessions::Model, _>(ctx, "project_id", self.0.id).await
    }
    /// Comments on the project itself.
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        targeting::<comments::Model, _>(ctx, "project", self.0.id).await
    }
    /// Dashboard numbers of the project.
    async fn stats(&self) -> ProjectStats {
        ProjectStats(self.0.id)
    }
}

/// Dashboard numbers of one project; each field costs one statement per batch of
/// projects, and only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct ProjectStats(Uuid);

#[Object]
impl ProjectStats {
    /// Tasks per status.
    async fn tasks_by_status(&self, ctx: &Context<'_>) -> Result<Vec<TaskStatusCount>> {
        load_or_default(ctx, TaskStatusOf(self.0)).await
    }
    /// Progress rolled up over the task tree, weighted by estimated hours.
    async fn progress(&self, ctx: &Context<'_>) -> Result<TaskProgress> {
        load_or_default(ctx, TaskProgressOf(self.0)).await
    }
    /// Requirements validated, and in all.
    async fn requirements(&self, ctx: &Context<'_>) -> Result<RequirementCounts> {
        load_or_default(ctx, RequirementCountsOf(self.0)).await
    }
    /// Architectural components per implementation status.
    async fn components_by_status(&self, ctx: &Context<'_>) -> Result<Vec<LabelCount>> {
        load_or_default(ctx, ComponentStatusOf(self.0)).await
    }
    /// Approvals still pending.
    async fn open_approvals(&self, ctx: &Context<'_>) -> Result<i64> {
        load_or_default(ctx, OpenApprovalsOf(self.0)).await
    }
    /// The newest analysis of each type, with its confidence.
    async fn latest_analyses(&self, ctx: &Context<'_>) -> Result<Vec<Analysis>> {
        Ok(load_or_default(ctx, LatestAnalysesOf(self.0))
            .await?
            .into_iter()
            .map(Analysis)
            .collect())
    }
}

#[Object]
impl Requirement {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn acceptance_criteria(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.acceptance_criteria)
    }
    /// 1 (highest) to 5.
    async fn priority(&self) -> Option<i32> {
        self.0.priority
    }
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    async fn complexity_score(&self) -> Option<i32> {
        self.0.complexity_score
    }
    async fn effort_estimate_hours(&self) -> Option<i32> {
        self.0.effort_estimate_hours
    }
    async fn dependencies(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.dependencies)
    }
    async fn is_validated(&self) -> Option<bool> {
        self.0.is_validated
    }
    async fn validation_notes(&self) -> Option<&str> {
        self.0.validation_notes.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        node::<projects::Model, _>(ctx, Some(self.0.project_id)).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Requirement>> {
        node::<requirements::Model, _>(ctx, self.0.parent_id).await
    }
    /// Direct sub-requirements.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Requirement>> {
        children::<requirements::Model, _>(ctx, "parent_id", self.0.id).await
    }
    /// From the root down to the parent.
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Requirement>> {
        ancestors::<requirements::Model, _>(ctx, self.0.id).await
    }
    /// Everything below, at most `maxDepth` levels down, level by level.
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
    ) -> Result<Vec<Requirement>> {
        descendants::<requirements::Model, _>(ctx, self.0.id, max_depth).await
    }
    /// 0 for a root requirement.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<requirements::Model>(ctx, self.0.id).await
    }
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        targeting::<comments::Model, _>(ctx, "requirement", self.0.id).await
    }
    async fn approvals(&self, ctx: &Context<'_>) -> Result<Vec<Approval>> {
        targeting::<approvals::Model, _>(ctx, "requirement", self.0.id).await
    }
}

#[Object]
impl ArchitecturalComponent {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Service, database, frontend, …
    async fn r#type(&self) -> Option<&str> {
        self.0.r#type.as_deref()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn technology(&self) -> Option<&str> {
        self.0.technology.as_deref()
    }
    async fn patterns(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.patterns)
    }
    async fn interfaces(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.interfaces)
    }
    async fn dependencies(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.dependencies)
    }
    async fn scalability_requirements(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.scalability_requirements)
    }
    async fn performance_requirements(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.performance_requirements)
    }
    async fn security_requirements(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.security_requirements)
    }
    async fn implementation_status(&self) -> Option<&str> {
        self.0.implementation_status.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        node::<projects::Model, _>(ctx, Some(self.0.project_id)).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<ArchitecturalComponent>> {
        node::<architectural_components::Model, _>(ctx, self.0.parent_id).await
    }
    /// Direct sub-components.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<ArchitecturalComponent>> {
        children::<architectural_components::Model, _>(ctx, "parent_id", self.0.id).await
    }
    /// From the root down to the parent.
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<ArchitecturalComponent>> {
        ancestors::<architectural_components::Model, _>(ctx, self.0.id).await
    }
    /// Everything below, at most `maxDepth` levels down, level by level.
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
    ) -> Result<Vec<ArchitecturalComponent>> {
        descendants::<architectural_components::Model, _>(ctx, self.0.id, max_depth).await
    }
    /// 0 for a root component.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<architectural_components::Model>(ctx, self.0.id).await
    }
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        targeting::<comments::Model, _>(ctx, "component", self.0.id).await
    }
}

#[Object]
impl Analysis {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn r#type(&self) -> AnalysisType {
        self.0.r#type.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn methodology(&self) -> Option<&str> {
        self.0.methodology.as_deref()
    }
    async fn findings(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.findings)
    }
    async fn recommendations(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.recommendations)
    }
    async fn risks(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.risks)
    }
    async fn opportunities(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.opportunities)
    }
    /// 0 to 1.
    async fn confidence_score(&self) -> Option<Decimal> {
        self.0.confidence_score
    }
    /// 0 to 1.
    async fn completeness_score(&self) -> Option<Decimal> {
        self.0.completeness_score
    }
    async fn processing_time_seconds(&self) -> Option<i32> {
        self.0.processing_time_seconds
    }
    async fn ai_model_used(&self) -> Option<&str> {
        self.0.ai_model_used.as_deref()
    }
    async fn context_sources(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.context_sources)
    }
    async fn status(&self) -> Option<&str> {
        self.0.status.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        node::<projects::Model, _>(ctx, Some(self.0.project_id)).await
    }
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        targeting::<comments::Model, _>(ctx, "analysis", self.0.id).await
    }
}
