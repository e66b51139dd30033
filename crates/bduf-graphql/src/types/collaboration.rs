//! The edges of collaboration sessions and participants, comment threads and
//! notifications.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use bduf_collaboration::{
    CommentFilter, CommentOrder, CommentsOf, ParticipantFilter, ParticipantOrder, ParticipantsOf,
};
use entity::{collaboration_sessions, comments, notifications, session_participants};

use crate::generated::{CollaborationSession, Comment, Project, SessionParticipant, User};
use crate::limits::ANCESTORS_WEIGHT;
use crate::support::{Conn, Paging, ancestors, connection, depth, descendants, one, page_cost};

/// The edges of `CollaborationSession`.
#[derive(Debug, Clone)]
pub struct CollaborationSessionEdges(pub Arc<collaboration_sessions::Model>);

#[Object]
impl CollaborationSessionEdges {
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        one(ctx, Some(self.0.project_id)).await
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, Some(self.0.created_by)).await
    }
    /// Who takes part.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn participants(
        &self,
        ctx: &Context<'_>,
        filter: Option<ParticipantFilter>,
        order_by: Option<ParticipantOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<SessionParticipant>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((ParticipantsOf::Session, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
}

/// The edges of `SessionParticipant`.
#[derive(Debug, Clone)]
pub struct SessionParticipantEdges(pub Arc<session_participants::Model>);

#[Object]
impl SessionParticipantEdges {
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<CollaborationSession>> {
        one(ctx, Some(self.0.session_id)).await
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, Some(self.0.user_id)).await
    }
}

/// The edges of `Comment`.
#[derive(Debug, Clone)]
pub struct CommentEdges(pub Arc<comments::Model>);

#[Object]
impl CommentEdges {
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
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn children(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommentFilter>,
        order_by: Option<CommentOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Comment>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        connection(
            ctx,
            Some((CommentsOf::Parent, self.0.id)),
            filter,
            order_by,
            paging,
        )
        .await
    }
    /// From the thread's first comment down to the parent: the nearest 32; a deeper
    /// thread is cut at the top.
    #[graphql(complexity = "ANCESTORS_WEIGHT * child_complexity")]
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        ancestors(ctx, self.0.id).await
    }
    /// All replies below, at most `maxDepth` levels down, level by level.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] max_depth: i32,
        filter: Option<CommentFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Comment>> {
        let paging = Paging {
            after,
            before,
            first,
            last,
        };
        descendants(ctx, self.0.id, max_depth, filter, paging).await
    }
    /// 0 for a comment that starts a thread.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        depth::<comments::Model>(ctx, self.0.id).await
    }
}

/// The edges of `Notification`.
#[derive(Debug, Clone)]
pub struct NotificationEdges(pub Arc<notifications::Model>);

#[Object]
impl NotificationEdges {
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        one(ctx, Some(self.0.user_id)).await
    }
}
