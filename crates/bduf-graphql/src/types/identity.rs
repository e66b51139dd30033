//! Users, organizations, memberships, and the organization dashboard statistics.

use async_graphql::{Context, Json, Object, Result};
use bduf_core::loader::ByColumn;
use bduf_governance::OrganizationOpenApprovalsOf;
use bduf_identity::{CollaborationRole, MemberCount};
use bduf_planning::{ProjectStatus, ProjectStatusCount, ProjectStatusOf};
use bduf_work::{OrganizationTaskStatusOf, TaskStatusCount};
use chrono::{DateTime, FixedOffset};
use entity::{notifications, organization_members, organizations, projects, tasks, users};
use uuid::Uuid;

use super::collaboration::Notification;
use super::json;
use super::planning::Project;
use super::work::Task;
use crate::support::{
    Conn, Window, children, load, load_or_default, nested_connection, node, wrapper,
};

/// A person who signs in.
#[derive(Debug, Clone)]
pub struct User(pub users::Model);

/// An organization: the tenant that owns projects.
#[derive(Debug, Clone)]
pub struct Organization(pub organizations::Model);

/// A user's membership of an organization.
#[derive(Debug, Clone)]
pub struct OrganizationMember(pub organization_members::Model);

wrapper!(User => users, Organization => organizations, OrganizationMember => organization_members);

#[Object]
impl User {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }
    async fn timezone(&self) -> Option<&str> {
        self.0.timezone.as_deref()
    }
    async fn preferences(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.preferences)
    }
    async fn is_active(&self) -> Option<bool> {
        self.0.is_active
    }
    async fn email_verified(&self) -> Option<bool> {
        self.0.email_verified
    }
    async fn last_login_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.last_login_at
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    /// The organizations this user belongs to, with the role in each.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<OrganizationMember>> {
        children::<organization_members::Model, _>(ctx, "user_id", self.0.id).await
    }
    /// Tasks assigned to this user.
    async fn assigned_tasks(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Task>> {
        let rows = load(ctx, ByColumn::<tasks::Model>::new("assigned_to", self.0.id))
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
    /// This user's notifications, newest schedule last.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        unread_only: Option<bool>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Notification>> {
        let mut rows = load(
            ctx,
            ByColumn::<notifications::Model>::new("user_id", self.0.id),
        )
        .await?
        .unwrap_or_default();
        if unread_only == Some(true) {
            rows.retain(|n| n.is_read != Some(true));
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
}

#[Object]
impl Organization {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn settings(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.settings)
    }
    async fn is_active(&self) -> Option<bool> {
        self.0.is_active
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    /// The organization's members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<OrganizationMember>> {
        children::<organization_members::Model, _>(ctx, "organization_id", self.0.id).await
    }
    /// The organization's projects, in creation order. Loaded for every organization of
    /// the page at once and paged in memory; for more filters and orderings use the root
    /// `projects(filter: {organizationId})`.
    #[allow(clippy::too_many_arguments)]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        status: Option<ProjectStatus>,
        is_archived: Option<bool>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Project>> {
        let mut rows = load(
            ctx,
            ByColumn::<projects::Model>::new("organization_id", self.0.id),
        )
        .await?
        .unwrap_or_default();
        if let Some(status) = status {
            let status = entity::sea_orm_active_enums::ProjectStatus::from(status);
            rows.retain(|p| p.status == Some(status));
        }
        if let Some(archived) = is_archived {
            rows.retain(|p| p.is_archived.unwrap_or(false) == archived);
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
    /// Dashboard numbers over all the organization's projects.
    async fn stats(&self) -> OrganizationStats {
        OrganizationStats(self.0.id)
    }
}

/// Dashboard numbers of one organization; each field costs one statement per batch of
/// organizations, and only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct OrganizationStats(Uuid);

#[Object]
impl OrganizationStats {
    /// Projects per status.
    async fn projects_by_status(&self, ctx: &Context<'_>) -> Result<Vec<ProjectStatusCount>> {
        load_or_default(ctx, ProjectStatusOf(self.0)).await
    }
    /// Tasks per status, over all projects.
    async fn tasks_by_status(&self, ctx: &Context<'_>) -> Result<Vec<TaskStatusCount>> {
        load_or_default(ctx, OrganizationTaskStatusOf(self.0)).await
    }
    /// Members of the organization.
    async fn members(&self, ctx: &Context<'_>) -> Result<i64> {
        load_or_default(ctx, MemberCount(self.0)).await
    }
    /// Approvals still pending, over all projects.
    async fn open_approvals(&self, ctx: &Context<'_>) -> Result<i64> {
        load_or_default(ctx, OrganizationOpenApprovalsOf(self.0)).await
    }
}

#[Object]
impl OrganizationMember {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn role(&self) -> CollaborationRole {
        self.0.role.into()
    }
    async fn permissions(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.permissions)
    }
    async fn joined_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.joined_at
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        node::<organizations::Model, _>(ctx, Some(self.0.organization_id)).await
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.user_id)).await
    }
}
