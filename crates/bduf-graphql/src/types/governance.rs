//! The edges of approvals, their participants, and the audit log.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use bduf_collaboration::{CommentFilter, CommentOrder, CommentsOf};
use bduf_core::TargetType;
use bduf_governance::{
    ApprovalParticipantFilter, ApprovalParticipantOrder, ApprovalParticipantsOf,
};
use entity::{approval_participants, approvals, audit_log};

use crate::generated::{
    Approval, ApprovalParticipant, CollaborationSession, Comment, Project, User,
};
use crate::support::{Conn, Paging, connection, one, page_cost};

/// The edges of `Approval`.
#[derive(Debug, Clone)]
pub struct ApprovalEdges(pub Arc<approvals::Model>);

#[Object]
impl ApprovalEdges {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        one(ctx, Some(self.0.project_id)).await
    }
    async fn requested_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, Some(self.0.requested_by)).await
    }
    async fn approved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, self.0.approved_by).await
    }
    async fn rejected_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, self.0.rejected_by).await
    }
    /// The approvers and their responses.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn participants(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApprovalParticipantFilter>,
        order_by: Option<ApprovalParticipantOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ApprovalParticipant>> {
        let link = ApprovalParticipantsOf::Approval;
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
    /// Comments on this approval.
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
        let link = CommentsOf::Target(TargetType::Approval);
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(ctx, Some((link, self.0.id)), filter, order_by, paging).await
    }
}

/// The edges of `ApprovalParticipant`.
#[derive(Debug, Clone)]
pub struct ApprovalParticipantEdges(pub Arc<approval_participants::Model>);

#[Object]
impl ApprovalParticipantEdges {
    async fn approval(&self, ctx: &Context<'_>) -> Result<Option<Approval>> {
        one(ctx, Some(self.0.approval_id)).await
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, Some(self.0.user_id)).await
    }
}

/// The edges of `AuditLogEntry`.
#[derive(Debug, Clone)]
pub struct AuditLogEntryEdges(pub Arc<audit_log::Model>);

#[Object]
impl AuditLogEntryEdges {
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, self.0.user_id).await
    }
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<CollaborationSession>> {
        one(ctx, self.0.session_id).await
    }
}
