//! Collaboration: sessions and their participants, comment threads and notifications.
//! The read keys of their tables — filters, orderings and the links they hang off — and
//! their commands ([`commands`]).

pub mod commands;

use async_graphql::InputObject;
use bduf_core::read::{Filter, Link};
use bduf_core::{Result, TargetType, check, flag, ordering};
use chrono::{DateTime, Utc};
use entity::{collaboration_sessions, comments, notifications, session_participants};
use sea_orm::{ColumnTrait, Condition, DbBackend};
use uuid::Uuid;

/// Which collaboration sessions to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionFilter {
    pub project_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub status: Option<String>,
    pub session_type: Option<String>,
}

impl Filter for SessionFilter {
    type Model = collaboration_sessions::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.status",
            collaboration_sessions::Column::Status,
            self.status.as_deref(),
        )?;
        check::text(
            "filter.sessionType",
            collaboration_sessions::Column::SessionType,
            self.session_type.as_deref(),
        )?;
        let mut c = Condition::all();
        if let Some(v) = self.project_id {
            c = c.add(collaboration_sessions::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.created_by {
            c = c.add(collaboration_sessions::Column::CreatedBy.eq(v));
        }
        if let Some(v) = &self.status {
            c = c.add(collaboration_sessions::Column::Status.eq(v.clone()));
        }
        if let Some(v) = &self.session_type {
            c = c.add(collaboration_sessions::Column::SessionType.eq(v.clone()));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order sessions.
    SessionOrder, SessionOrderField, collaboration_sessions::Model {
        StartedAt => collaboration_sessions::Column::StartedAt,
    }
);

/// What sessions hang off: their project, their creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionsOf {
    Project,
    CreatedBy,
}

impl Link for SessionsOf {
    type Model = collaboration_sessions::Model;
    fn column(self) -> collaboration_sessions::Column {
        match self {
            SessionsOf::Project => collaboration_sessions::Column::ProjectId,
            SessionsOf::CreatedBy => collaboration_sessions::Column::CreatedBy,
        }
    }
}

/// Which session participants to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ParticipantFilter {
    pub session_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub is_active: Option<bool>,
}

impl Filter for ParticipantFilter {
    type Model = session_participants::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.session_id {
            c = c.add(session_participants::Column::SessionId.eq(v));
        }
        if let Some(v) = self.user_id {
            c = c.add(session_participants::Column::UserId.eq(v));
        }
        if let Some(v) = self.is_active {
            c = c.add(flag(session_participants::Column::IsActive, v, true));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order session participants.
    ParticipantOrder, ParticipantOrderField, session_participants::Model {
        JoinedAt => session_participants::Column::JoinedAt,
    }
);

/// What session participants hang off: their session, their user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipantsOf {
    Session,
    User,
}

impl Link for ParticipantsOf {
    type Model = session_participants::Model;
    fn column(self) -> session_participants::Column {
        match self {
            ParticipantsOf::Session => session_participants::Column::SessionId,
            ParticipantsOf::User => session_participants::Column::UserId,
        }
    }
}

/// Which comments to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CommentFilter {
    pub target_type: Option<TargetType>,
    pub target_id: Option<Uuid>,
    pub thread_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub is_resolved: Option<bool>,
    /// Only comments that start a thread.
    pub roots_only: Option<bool>,
}

impl Filter for CommentFilter {
    type Model = comments::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.target_type {
            c = c.add(comments::Column::TargetType.eq(v.as_str()));
        }
        if let Some(v) = self.target_id {
            c = c.add(comments::Column::TargetId.eq(v));
        }
        if let Some(v) = self.thread_id {
            c = c.add(comments::Column::ThreadId.eq(v));
        }
        if let Some(v) = self.author_id {
            c = c.add(comments::Column::AuthorId.eq(v));
        }
        if let Some(v) = self.is_resolved {
            c = c.add(flag(comments::Column::IsResolved, v, false));
        }
        if self.roots_only == Some(true) {
            c = c.add(comments::Column::ParentId.is_null());
        }
        Ok(c)
    }
}

ordering!(
    /// How to order comments.
    CommentOrder, CommentOrderField, comments::Model {
        CreatedAt => comments::Column::CreatedAt,
    }
);

/// What comments hang off: the record they are on, the comment they reply to, their
/// author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentsOf {
    Target(TargetType),
    Parent,
    Author,
}

impl Link for CommentsOf {
    type Model = comments::Model;
    fn column(self) -> comments::Column {
        match self {
            CommentsOf::Target(_) => comments::Column::TargetId,
            CommentsOf::Parent => comments::Column::ParentId,
            CommentsOf::Author => comments::Column::AuthorId,
        }
    }
    fn scope(self) -> Option<Condition> {
        match self {
            CommentsOf::Target(t) => {
                Some(Condition::all().add(comments::Column::TargetType.eq(t.as_str())))
            }
            _ => None,
        }
    }
}

/// Which notifications to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NotificationFilter {
    pub user_id: Option<Uuid>,
    /// Only notifications not yet read (an unset flag counts as unread).
    pub unread_only: Option<bool>,
    pub r#type: Option<String>,
    pub target_type: Option<TargetType>,
    pub target_id: Option<Uuid>,
    /// Scheduled on or before this instant.
    pub scheduled_before: Option<DateTime<Utc>>,
}

impl Filter for NotificationFilter {
    type Model = notifications::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.type",
            notifications::Column::Type,
            self.r#type.as_deref(),
        )?;
        let mut c = Condition::all();
        if let Some(v) = self.user_id {
            c = c.add(notifications::Column::UserId.eq(v));
        }
        if self.unread_only == Some(true) {
            c = c.add(flag(notifications::Column::IsRead, false, false));
        }
        if let Some(v) = &self.r#type {
            c = c.add(notifications::Column::Type.eq(v.clone()));
        }
        if let Some(v) = self.target_type {
            c = c.add(notifications::Column::TargetType.eq(v.as_str()));
        }
        if let Some(v) = self.target_id {
            c = c.add(notifications::Column::TargetId.eq(v));
        }
        if let Some(v) = self.scheduled_before {
            c = c.add(notifications::Column::ScheduledFor.lte(v.fixed_offset()));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order notifications.
    NotificationOrder, NotificationOrderField, notifications::Model {
        ScheduledFor => notifications::Column::ScheduledFor,
    }
);

/// What notifications hang off: their user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationsOf {
    User,
}

impl Link for NotificationsOf {
    type Model = notifications::Model;
    fn column(self) -> notifications::Column {
        match self {
            NotificationsOf::User => notifications::Column::UserId,
        }
    }
}
