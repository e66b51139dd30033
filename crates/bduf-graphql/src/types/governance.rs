//! Approvals, their participants, and the audit log.

use async_graphql::{Context, Json, Object, Result};
use bduf_governance::ApprovalStatus;
use chrono::{DateTime, FixedOffset};
use entity::{
    approval_participants, approvals, audit_log, collaboration_sessions, comments, projects, users,
};
use uuid::Uuid;

use super::collaboration::{CollaborationSession, Comment};
use super::identity::User;
use super::json;
use super::planning::Project;
use crate::support::{children, node, targeting, wrapper};

/// A request for sign-off on a project, requirement, analysis, …
#[derive(Debug, Clone)]
pub struct Approval(pub approvals::Model);

/// One approver of an approval, and their response.
#[derive(Debug, Clone)]
pub struct ApprovalParticipant(pub approval_participants::Model);

/// One recorded change to a record.
#[derive(Debug, Clone)]
pub struct AuditLogEntry(pub audit_log::Model);

wrapper!(
    Approval => approvals,
    ApprovalParticipant => approval_participants,
    AuditLogEntry => audit_log,
);

#[Object]
impl Approval {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Design, requirements, architecture, …
    async fn approval_type(&self) -> Option<&str> {
        self.0.approval_type.as_deref()
    }
    async fn target_type(&self) -> Option<&str> {
        self.0.target_type.as_deref()
    }
    async fn target_id(&self) -> Uuid {
        self.0.target_id
    }
    async fn status(&self) -> Option<ApprovalStatus> {
        self.0.status.map(Into::into)
    }
    async fn decision_rationale(&self) -> Option<&str> {
        self.0.decision_rationale.as_deref()
    }
    async fn conditions(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.conditions)
    }
    async fn requires_unanimous(&self) -> Option<bool> {
        self.0.requires_unanimous
    }
    async fn required_approver_count(&self) -> Option<i32> {
        self.0.required_approver_count
    }
    async fn auto_approve_after_hours(&self) -> Option<i32> {
        self.0.auto_approve_after_hours
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
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        node::<projects::Model, _>(ctx, Some(self.0.project_id)).await
    }
    async fn requested_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.requested_by)).await
    }
    async fn approved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, self.0.approved_by).await
    }
    async fn rejected_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, self.0.rejected_by).await
    }
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<ApprovalParticipant>> {
        children::<approval_participants::Model, _>(ctx, "approval_id", self.0.id).await
    }
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        targeting::<comments::Model, _>(ctx, "approval", self.0.id).await
    }
}

#[Object]
impl ApprovalParticipant {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// The approver's answer; null until they respond.
    async fn response(&self) -> Option<ApprovalStatus> {
        self.0.response.map(Into::into)
    }
    async fn response_notes(&self) -> Option<&str> {
        self.0.response_notes.as_deref()
    }
    async fn responded_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.responded_at
    }
    async fn is_required(&self) -> Option<bool> {
        self.0.is_required
    }
    async fn weight(&self) -> Option<i32> {
        self.0.weight
    }
    async fn approval(&self, ctx: &Context<'_>) -> Result<Option<Approval>> {
        node::<approvals::Model, _>(ctx, Some(self.0.approval_id)).await
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(self.0.user_id)).await
    }
}

#[Object]
impl AuditLogEntry {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn table_name(&self) -> &str {
        &self.0.table_name
    }
    async fn record_id(&self) -> Uuid {
        self.0.record_id
    }
    /// INSERT, UPDATE or DELETE.
    async fn operation(&self) -> &str {
        &self.0.operation
    }
    async fn old_values(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.old_values)
    }
    async fn new_values(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.new_values)
    }
    async fn changed_fields(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.changed_fields)
    }
    async fn change_reason(&self) -> Option<&str> {
        self.0.change_reason.as_deref()
    }
    /// The client's address, as PostgreSQL prints an `inet`.
    async fn client_ip(&self) -> Option<String> {
        self.0.client_ip.map(|ip| ip.to_string())
    }
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.created_at
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, self.0.user_id).await
    }
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<CollaborationSession>> {
        node::<collaboration_sessions::Model, _>(ctx, self.0.session_id).await
    }
}
