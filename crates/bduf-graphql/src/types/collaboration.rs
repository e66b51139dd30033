//! The edges of collaboration sessions and participants, comment threads and
//! notifications.

use async_graphql::{Context, Result};
use bduf_collaboration::{
    CommentFilter, CommentOrder, CommentsOf, ParticipantFilter, ParticipantOrder, ParticipantsOf,
};
use entity::{collaboration_sessions, comments, notifications, session_participants};

use crate::generated::{CollaborationSession, Comment, Project, SessionParticipant, User};
use crate::support::{depth, edges, one};

edges! {
    /// The edges of `CollaborationSession`.
    CollaborationSessionEdges(collaboration_sessions::Model) {
        async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
            one(ctx, Some(self.0.project_id)).await
        }
        async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.created_by)).await
        }
        /// Who takes part.
        connection participants: SessionParticipant = ParticipantsOf::Session, ParticipantFilter, ParticipantOrder;
    }
}

edges! {
    /// The edges of `SessionParticipant`.
    SessionParticipantEdges(session_participants::Model) {
        async fn session(&self, ctx: &Context<'_>) -> Result<Option<CollaborationSession>> {
            one(ctx, Some(self.0.session_id)).await
        }
        async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.user_id)).await
        }
    }
}

edges! {
    /// The edges of `Comment`.
    CommentEdges(comments::Model) {
        async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.author_id)).await
        }
        async fn resolved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, self.0.resolved_by).await
        }
        /// The comment this one replies to.
        async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Comment>> {
            one(ctx, self.0.parent_id).await
        }
        /// Direct replies.
        connection children: Comment = CommentsOf::Parent, CommentFilter, CommentOrder;
        /// From the thread's first comment down to the parent: the nearest 32; a deeper
        /// thread is cut at the top.
        ancestors: Comment;
        /// All replies below, at most `maxDepth` levels down, level by level.
        descendants: Comment, CommentFilter;
        /// 0 for a comment that starts a thread.
        async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
            depth::<comments::Model>(ctx, &self.0).await
        }
    }
}

edges! {
    /// The edges of `Notification`.
    NotificationEdges(notifications::Model) {
        async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.user_id)).await
        }
    }
}
