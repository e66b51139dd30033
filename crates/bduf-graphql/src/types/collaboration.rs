//! Collaboration sessions and participants, comment threads, notifications.

use async_graphql::{Context, Json, Object, Result};
use bduf_identity::CollaborationRole;
use chrono::{DateTime, FixedOffset};
use entity::{
    collaboration_sessions, comments, notifications, projects, session_participants, users,
};
use uuid::Uuid;

use super::identity::User;
use super::json;
use super::planning::Project;
use crate::support::{ancestors, children, depth, descendants, node, wrapper};

/// A live working session on a project.
#[derive(Debug, Clone)]
pub struct CollaborationSession(pub collaboration_sessions::Model);

/// A user taking part in a session.
#[derive(Debug, Clone)]
pub struct SessionParticipant(pub session_participants::Model);

/// A comment on a project, requirement, component, task, analysis or approval; replies
/// form a tree.
#[derive(Debug, Clone)]
pub struct Comment(pub comments::Model);

/// A message to one user.
#[derive(Debug, Clone)]
pub struct Notification(pub notifications::Model);

wrapper!(
    CollaborationSession => collaboration_sessions,
    SessionParticipant => session_participants,
    Comment => comments,
    Notification => notifications,
);

#[Object]
impl CollaborationSession {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Review, planning, brainstorming, …
    async fn session_type(&self) -> Option<&str> {
        self.0.session_type.as_deref()
    }
    async fn status(&self) -> Option<&str> {
        self.0.status.as_deref()
    }
    async fn current_phase(&self) -> Option<&str> {
        self.0.current_phase.as_deref()
    }
    async fn session_data(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.session_data)
    }
    async fn started_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.started_at
    }
    async fn ended_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.ended_at
    }
    async fn max_participants(&self) -> Option<i32> {
        self.0.max_participants
    }
    async fn requires_approval(&self) -> Option<bool> {
        self.0.requires_approval
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
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.created_by)).await
    }
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<SessionParticipant>> {
        children::<session_participants::Model, _>(ctx, "session_id", self.0.id).await
    }
}

#[Object]
impl SessionParticipant {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn role(&self) -> Option<CollaborationRole> {
        self.0.role.map(Into::into)
    }
    async fn joined_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.joined_at
    }
    async fn last_active_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.last_active_at
    }
    async fn is_active(&self) -> Option<bool> {
        self.0.is_active
    }
    async fn can_edit(&self) -> Option<bool> {
        self.0.can_edit
    }
    async fn can_approve(&self) -> Option<bool> {
        self.0.can_approve
    }
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<CollaborationSession>> {
        node::<collaboration_sessions::Model, _>(ctx, Some(self.0.session_id)).await
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.user_id)).await
    }
}

#[Object]
impl Comment {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// What the comment is on: project, requirement, component, task, analysis, approval.
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Uuid {
        self.0.target_id
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// Text or markdown.
    async fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }
    async fn thread_id(&self) -> Option<Uuid> {
        self.0.thread_id
    }
    async fn is_resolved(&self) -> Option<bool> {
        self.0.is_resolved
    }
    async fn resolved_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.resolved_at
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn updated_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.updated_at
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.author_id)).await
    }
    async fn resolved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, self.0.resolved_by).await
    }
    /// The comment this one replies to.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Comment>> {
        node::<comments::Model, _>(ctx, self.0.parent_id).await
    }
    /// Direct replies.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        children::<comments::Model, _>(ctx, "parent_id", self.0.id).await
    }
    /// From the thread's first comment down to the parent.
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        ancestors::<comments::Model, _>(ctx, self.0.id).await
    }
    /// All replies below, at most `maxDepth` levels down, level by level.
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
    ) -> Result<Vec<Comment>> {
        descendants::<comments::Model, _>(ctx, self.0.id, max_depth).await
    }
    /// 0 for a comment that starts a thread.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<comments::Model>(ctx, self.0.id).await
    }
}

#[Object]
impl Notification {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn r#type(&self) -> &str {
        &self.0.r#type
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    async fn target_type(&self) -> Option<&str> {
        self.0.target_type.as_deref()
    }
    async fn target_id(&self) -> Option<Uuid> {
        self.0.target_id
    }
    async fn is_read(&self) -> Option<bool> {
        self.0.is_read
    }
    async fn read_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.read_at
    }
    /// In-app, email or SMS.
    async fn delivery_method(&self) -> Option<&str> {
        self.0.delivery_method.as_deref()
    }
    async fn scheduled_for(&self) -> Option<DateTime<FixedOffset>> {
        self.0.scheduled_for
    }
    async fn delivered_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.delivered_at
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.user_id)).await
    }
}
