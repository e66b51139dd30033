//! The edges of users, organizations and memberships, and the organization dashboard
//! statistics.

use async_graphql::{Context, Object, Result, SimpleObject};
use bduf_collaboration::{NotificationFilter, NotificationOrder, NotificationsOf};
use bduf_governance::OrganizationOpenApprovalsOf;
use bduf_identity::auth::NewSession;
use bduf_identity::commands::email_visible;
use bduf_identity::{MemberCount, MemberFilter, MemberOrder, MembersOf};
use bduf_planning::{ProjectFilter, ProjectOrder, ProjectStatusCount, ProjectStatusOf, ProjectsOf};
use bduf_work::{OrganizationTaskStatusOf, TaskFilter, TaskOrder, TaskStatusCount, TasksOf};
use chrono::{DateTime, FixedOffset};
use entity::{organization_members, organizations, users};
use uuid::Uuid;

use crate::context::txn;
use crate::generated::{Notification, Organization, OrganizationMember, Project, Task, User};
use crate::support::{count, edges, one, tally};

/// A new session: the bearer token to send as `Authorization: Bearer <token>` (shown
/// this once), when it expires, and who it signs in.
#[derive(SimpleObject, Debug)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: DateTime<FixedOffset>,
    pub user: User,
}

impl From<NewSession> for SignedIn {
    fn from(s: NewSession) -> Self {
        SignedIn {
            token: s.token,
            expires_at: s.session.expires_at,
            user: User::from(s.user),
        }
    }
}

/// One of the viewer's sessions (its token is never shown again).
#[derive(SimpleObject, Debug)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: Option<DateTime<FixedOffset>>,
    pub expires_at: DateTime<FixedOffset>,
    pub last_used_at: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

impl SessionInfo {
    pub fn new(model: entity::user_sessions::Model, current: Uuid) -> Self {
        SessionInfo {
            current: model.id == current,
            id: model.id,
            created_at: model.created_at,
            expires_at: model.expires_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
            user_agent: model.user_agent,
            ip_address: model.ip_address.map(|ip| ip.0.ip().to_string()),
        }
    }
}

edges! {
    /// The edges of `User`.
    UserEdges(users::Model) {
        /// The email address: shown to the user themself and to admins and owners of the
        /// organization the request acts in (which the user belongs to, or they would not be
        /// visible); null to everyone else.
        async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
            let visible = txn(ctx)?
                .with_viewer(|viewer| email_visible(viewer, self.0.id))
                .unwrap_or(false);
            Ok(visible.then(|| self.0.email.clone()))
        }
        /// The organizations this user belongs to, with the role in each.
        connection memberships: OrganizationMember = MembersOf::User, MemberFilter, MemberOrder;
        /// Tasks assigned to this user.
        connection assigned_tasks: Task = TasksOf::Assignee, TaskFilter, TaskOrder;
        /// This user's notifications.
        connection notifications: Notification = NotificationsOf::User, NotificationFilter, NotificationOrder;
        /// How many of this user's notifications are unread: the viewer's own count (a
        /// user's notifications are theirs alone, so another user's count is 0).
        async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<i64> {
            let unread = NotificationFilter {
                unread_only: Some(true),
                ..NotificationFilter::default()
            };
            count(ctx, (NotificationsOf::User, self.0.id), unread).await
        }
    }
}

edges! {
    /// The edges of `Organization`.
    OrganizationEdges(organizations::Model) {
        /// The organization's members.
        connection members: OrganizationMember = MembersOf::Organization, MemberFilter, MemberOrder;
        /// The organization's projects.
        connection projects: Project = ProjectsOf::Organization, ProjectFilter, ProjectOrder;
        /// Dashboard numbers over all the organization's projects.
        async fn stats(&self) -> OrganizationStats {
            OrganizationStats(self.0.id)
        }
    }
}

/// Dashboard numbers of one organization; each field costs one statement per level of
/// organizations, and only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct OrganizationStats(Uuid);

#[Object]
impl OrganizationStats {
    /// Projects per status, in the order of the statuses (none last).
    async fn projects_by_status(&self, ctx: &Context<'_>) -> Result<Vec<ProjectStatusCount>> {
        tally(ctx, ProjectStatusOf(self.0)).await
    }
    /// Tasks per status over all projects, in the order of the statuses (none last).
    async fn tasks_by_status(&self, ctx: &Context<'_>) -> Result<Vec<TaskStatusCount>> {
        tally(ctx, OrganizationTaskStatusOf(self.0)).await
    }
    /// Members of the organization.
    async fn members(&self, ctx: &Context<'_>) -> Result<i64> {
        tally(ctx, MemberCount(self.0)).await
    }
    /// Approvals still pending, over all projects.
    async fn open_approvals(&self, ctx: &Context<'_>) -> Result<i64> {
        tally(ctx, OrganizationOpenApprovalsOf(self.0)).await
    }
}

edges! {
    /// The edges of `OrganizationMember`.
    OrganizationMemberEdges(organization_members::Model) {
        async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
            one(ctx, Some(self.0.organization_id)).await
        }
        async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(ctx, Some(self.0.user_id)).await
        }
    }
}
