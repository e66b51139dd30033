//! The edges of approvals, their participants, and the audit log.

use async_graphql::{Context, Result};
use bduf_collaboration::{CommentFilter, CommentOrder, CommentsOf};
use bduf_core::TargetType;
use bduf_governance::{
    ApprovalParticipantFilter, ApprovalParticipantOrder, ApprovalParticipantsOf,
};
use entity::{approval_participants, approvals, audit_log};

use crate::generated::{
    Approval, ApprovalParticipant, CollaborationSession, Comment, Project, User,
};
use crate::support::{edges, one};

edges! {
    /// The edges of `Approval`.
    ApprovalEdges(approvals::Model) {
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
        connection participants: ApprovalParticipant = ApprovalParticipantsOf::Approval, ApprovalParticipantFilter, ApprovalParticipantOrder;
        /// Comments on this approval.
        connection comments: Comment = CommentsOf::Target(TargetType::Approval), CommentFilter, CommentOrder;
    }
}

edges! {
    /// The edges of `ApprovalParticipant`.
    ApprovalParticipantEdges(approval_participants::Model) {
        async fn approval(&self, ctx: &Context<'_>) -> Result<Option<Approval>> {
            one(ctx, Some(self.0.approval_id)).await
        }
        async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.user_id)).await
        }
    }
}

edges! {
    /// The edges of `AuditLogEntry`.
    AuditLogEntryEdges(audit_log::Model) {
        async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, self.0.user_id).await
        }
        async fn session(&self, ctx: &Context<'_>) -> Result<Option<CollaborationSession>> {
            one(ctx, self.0.session_id).await
        }
    }
}
