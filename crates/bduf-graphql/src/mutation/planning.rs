//! Projects, analyses, comments and notifications: delegations to
//! `bduf_planning::commands` and `bduf_collaboration::commands`.

use async_graphql::{Context, Object, Result};
use bduf_collaboration::commands as collaboration;
use bduf_core::TargetType;
use bduf_planning::commands::{
    self as planning, CreateAnalysisInput, CreateProjectInput, UpdateAnalysisInput,
    UpdateProjectInput,
};
use futures_util::FutureExt as _;
use uuid::Uuid;

use crate::context::command;
use crate::generated::{Analysis, Comment, Notification, Project};

/// Mutations of projects, analyses, comments and notifications.
#[derive(Default, Debug)]
pub struct PlanningMutation;

#[Object]
impl PlanningMutation {
    /// Creates a project in the active organization (contributors), created by the
    /// viewer.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> Result<Project> {
        command(ctx, |tx| planning::create_project(tx, input).boxed()).await
    }

    /// Changes a project (contributors); its `version` goes up by one.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateProjectInput,
    ) -> Result<Project> {
        command(ctx, move |tx| {
            planning::update_project(tx, id, input).boxed()
        })
        .await
    }

    /// Archives (or, with `archived: false`, restores) a project (contributors).
    async fn archive_project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] archived: bool,
    ) -> Result<Project> {
        command(ctx, move |tx| {
            planning::archive_project(tx, id, archived).boxed()
        })
        .await
    }

    /// Deletes a project and its whole plan (admins). Returns its id.
    async fn delete_project(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| planning::delete_project(tx, id).boxed()).await
    }

    /// Records an analysis of a project (contributors).
    async fn create_analysis(
        &self,
        ctx: &Context<'_>,
        project_id: Uuid,
        input: CreateAnalysisInput,
    ) -> Result<Analysis> {
        command(ctx, move |tx| {
            planning::create_analysis(tx, project_id, input).boxed()
        })
        .await
    }

    /// Changes an analysis (contributors).
    async fn update_analysis(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateAnalysisInput,
    ) -> Result<Analysis> {
        command(ctx, move |tx| {
            planning::update_analysis(tx, id, input).boxed()
        })
        .await
    }

    /// Deletes an analysis (contributors). Returns its id.
    async fn delete_analysis(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| planning::delete_analysis(tx, id).boxed()).await
    }

    /// Comments on a record of the active organization (contributors), as the viewer;
    /// with `parentId`, a reply in that comment's thread.
    async fn create_comment(
        &self,
        ctx: &Context<'_>,
        target_type: TargetType,
        target_id: Uuid,
        content: String,
        parent_id: Option<Uuid>,
    ) -> Result<Comment> {
        command(ctx, move |tx| {
            collaboration::create_comment(tx, target_type, target_id, content, parent_id).boxed()
        })
        .await
    }

    /// Edits a comment (its author only).
    async fn update_comment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        content: String,
    ) -> Result<Comment> {
        command(ctx, move |tx| {
            collaboration::update_comment(tx, id, content).boxed()
        })
        .await
    }

    /// Resolves (or reopens) a comment thread (contributors).
    async fn resolve_comment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] resolved: bool,
    ) -> Result<Comment> {
        command(ctx, move |tx| {
            collaboration::resolve_comment(tx, id, resolved).boxed()
        })
        .await
    }

    /// Deletes a comment and its replies (its author, or admins). Returns its id.
    async fn delete_comment(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| collaboration::delete_comment(tx, id).boxed()).await
    }

    /// Marks one of the viewer's notifications read (or unread).
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] read: bool,
    ) -> Result<Notification> {
        command(ctx, move |tx| {
            collaboration::mark_notification_read(tx, id, read).boxed()
        })
        .await
    }
}
