//! Collaboration: sessions and their participants, comment threads and notifications.
//! Filters and orderings for their connections.

use async_graphql::InputObject;
use bduf_core::{Result, check_len, ordering, target_type};
use chrono::{DateTime, Utc};
use entity::{collaboration_sessions, comments, notifications, session_participants};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Which collaboration sessions to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct SessionFilter {
    pub project_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub status: Option<String>,
    pub session_type: Option<String>,
}

impl SessionFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.status", self.status.as_ref(), 50)?;
        check_len("filter.sessionType", self.session_type.as_ref(), 100)?;
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

/// Which session participants to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ParticipantFilter {
    pub session_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub is_active: Option<bool>,
}

impl ParticipantFilter {
    pub fn condition(&self) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.session_id {
            c = c.add(session_participants::Column::SessionId.eq(v));
        }
        if let Some(v) = self.user_id {
            c = c.add(session_participants::Column::UserId.eq(v));
        }
        if let Some(v) = self.is_active {
            c = c.add(session_participants::Column::IsActive.eq(v));
        }
        Ok(c)
    }
}

/// Which comments to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CommentFilter {
    /// `project`, `requirement`, `component`, `task`, `analysis` or `approval`.
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub thread_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub is_resolved: Option<bool>,
    /// Only comments that start a thread.
    pub roots_only: Option<bool>,
}

impl CommentFilter {
    pub fn condition(&self) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = &self.target_type {
            c = c.add(comments::Column::TargetType.eq(target_type("filter.targetType", v)?));
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
            c = c.add(comments::Column::IsResolved.eq(v));
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

/// Which notifications to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct NotificationFilter {
    pub user_id: Option<Uuid>,
    /// Only notifications not yet read.
    pub unread_only: Option<bool>,
    pub r#type: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    /// Scheduled on or before this instant.
    pub scheduled_before: Option<DateTime<Utc>>,
}

impl NotificationFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.type", self.r#type.as_ref(), 100)?;
        let mut c = Condition::all();
        if let Some(v) = self.user_id {
            c = c.add(notifications::Column::UserId.eq(v));
        }
        if self.unread_only == Some(true) {
            c = c.add(notifications::Column::IsRead.eq(false));
        }
        if let Some(v) = &self.r#type {
            c = c.add(notifications::Column::Type.eq(v.clone()));
        }
        if let Some(v) = &self.target_type {
            c = c.add(notifications::Column::TargetType.eq(target_type("filter.targetType", v)?));
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
