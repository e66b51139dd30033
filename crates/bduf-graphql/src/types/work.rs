//! Tasks: the work-breakdown tree of a project.

use async_graphql::{Context, Json, Object, Result};
use bduf_work::TaskStatus;
use chrono::{DateTime, FixedOffset, NaiveDate};
use entity::{comments, projects, tasks, users};
use uuid::Uuid;

use super::collaboration::Comment;
use super::identity::User;
use super::json;
use super::planning::Project;
use crate::support::{ancestors, children, depth, descendants, node, targeting, wrapper};

/// A unit of work, in a tree under its project.
#[derive(Debug, Clone)]
pub struct Task(pub tasks::Model);

wrapper!(Task => tasks);

#[Object]
impl Task {
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
    async fn work_type(&self) -> Option<&str> {
        self.0.work_type.as_deref()
    }
    /// 1 (highest) to 5.
    async fn priority(&self) -> Option<i32> {
        self.0.priority
    }
    async fn complexity_score(&self) -> Option<i32> {
        self.0.complexity_score
    }
    async fn estimated_hours(&self) -> Option<i32> {
        self.0.estimated_hours
    }
    async fn actual_hours(&self) -> Option<i32> {
        self.0.actual_hours
    }
    async fn dependencies(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.dependencies)
    }
    async fn blockers(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.blockers)
    }
    async fn status(&self) -> Option<TaskStatus> {
        self.0.status.map(Into::into)
    }
    /// 0 to 100.
    async fn progress_percentage(&self) -> Option<i32> {
        self.0.progress_percentage
    }
    async fn planned_start_date(&self) -> Option<NaiveDate> {
        self.0.planned_start_date
    }
    async fn planned_end_date(&self) -> Option<NaiveDate> {
        self.0.planned_end_date
    }
    async fn actual_start_date(&self) -> Option<NaiveDate> {
        self.0.actual_start_date
    }
    async fn actual_end_date(&self) -> Option<NaiveDate> {
        self.0.actual_end_date
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
    /// The user the task is assigned to.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, self.0.assigned_to).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        node::<tasks::Model, _>(ctx, self.0.parent_id).await
    }
    /// Direct sub-tasks.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        children::<tasks::Model, _>(ctx, "parent_id", self.0.id).await
    }
    /// From the root down to the parent.
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        ancestors::<tasks::Model, _>(ctx, self.0.id).await
    }
    /// Everything below, at most `maxDepth` levels down, level by level.
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
    ) -> Result<Vec<Task>> {
        descendants::<tasks::Model, _>(ctx, self.0.id, max_depth).await
    }
    /// 0 for a root task.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<tasks::Model>(ctx, self.0.id).await
    }
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        targeting::<comments::Model, _>(ctx, "task", self.0.id).await
    }
}
