//! The root query, merged from one part per context: a lookup by id and a filtered,
//! ordered, keyset-paged connection for every table.

use async_graphql::{Context, MergedObject, Object, Result};
use bduf_collaboration::{
    CommentFilter, CommentOrder, CommentsOf, NotificationFilter, NotificationOrder,
    NotificationsOf, ParticipantFilter, ParticipantOrder, ParticipantsOf, SessionFilter,
    SessionOrder, SessionsOf,
};
use bduf_governance::{
    ApprovalFilter, ApprovalOrder, ApprovalParticipantFilter, ApprovalParticipantOrder,
    ApprovalParticipantsOf, ApprovalsOf, AuditLogFilter, AuditLogOf, AuditLogOrder,
};
use bduf_identity::{
    MemberFilter, MemberOrder, MembersOf, OrganizationFilter, OrganizationOrder, OrganizationsOf,
    UserFilter, UserOrder, UserSessionsOf, UsersOf,
};
use bduf_planning::{
    AnalysesOf, AnalysisFilter, AnalysisOrder, ComponentFilter, ComponentOrder, ComponentsOf,
    ProjectFilter, ProjectOrder, ProjectsOf, RequirementFilter, RequirementOrder, RequirementsOf,
};
use bduf_work::{
    TaskDependenciesOf, TaskDependencyFilter, TaskDependencyOrder, TaskFilter, TaskOrder, TasksOf,
};
use uuid::Uuid;

use crate::context::viewer;
use crate::generated::{
    Analysis, Approval, ApprovalParticipant, ArchitecturalComponent, AuditLogEntry,
    CollaborationSession, Comment, Notification, Organization, OrganizationMember, Project,
    Requirement, SessionParticipant, Task, TaskDependency, User,
};
use crate::support::{Conn, Paging, connection, root, value};
use crate::types::identity::SessionInfo;

/// The root query type.
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    ViewerQuery,
    IdentityQuery,
    PlanningQuery,
    WorkQuery,
    CollaborationQuery,
    GovernanceQuery,
);

/// Root fields about the signed-in viewer.
#[derive(Default, Debug)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let viewer = viewer(ctx)?;
        root(ctx, viewer.user).await
    }

    /// The organization this request acts in (`X-Organization-Id`, else the viewer's
    /// earliest); null when the viewer belongs to none.
    async fn active_organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let viewer = viewer(ctx)?;
        match viewer.organization {
            Some(organization) => root(ctx, organization).await,
            None => Ok(None),
        }
    }

    /// The viewer's sessions, newest first: where they are signed in.
    async fn my_sessions(&self, ctx: &Context<'_>) -> Result<Vec<SessionInfo>> {
        let viewer = viewer(ctx)?;
        let rows = value(ctx, UserSessionsOf(viewer.user)).await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionInfo::new(row, viewer.session))
            .collect())
    }
}

/// Root fields over users, organizations and memberships.
#[derive(Default, Debug)]
pub struct IdentityQuery;

/// Root fields over projects, requirements, components and analyses.
#[derive(Default, Debug)]
pub struct PlanningQuery;

/// Root fields over tasks.
#[derive(Default, Debug)]
pub struct WorkQuery;

/// Root fields over sessions, participants, comments and notifications.
#[derive(Default, Debug)]
pub struct CollaborationQuery;

/// Root fields over approvals, approval participants and the audit log.
#[derive(Default, Debug)]
pub struct GovernanceQuery;

/// Declares a root query part: for each table, a lookup by id and a filtered, ordered,
/// keyset-paged connection.
macro_rules! root_fields {
    ($part:ident { $(
        $one:ident / $many:ident => $node:ident, $link:ident, $filter:ident, $order:ident;
    )* }) => {
        #[Object]
        impl $part {
            $(
                #[doc = concat!("One `", stringify!($node), "` by id; null when there is none.")]
                async fn $one(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<$node>> {
                    root(ctx, id).await
                }

                #[doc = concat!("`", stringify!($node), "` rows matching `filter`, keyset-paged (`first`/`last` at most 100).")]
                #[allow(clippy::too_many_arguments)]
                async fn $many(
                    &self,
                    ctx: &Context<'_>,
                    filter: Option<$filter>,
                    order_by: Option<$order>,
                    after: Option<String>,
                    before: Option<String>,
                    first: Option<i32>,
                    last: Option<i32>,
                ) -> Result<Conn<$node>> {
                    let paging = Paging { after, before, first, last };
                    connection(ctx, None::<($link, Uuid)>, filter, order_by, paging).await
                }
            )*
        }
    };
}

root_fields!(IdentityQuery {
    user / users => User, UsersOf, UserFilter, UserOrder;
    organization / organizations => Organization, OrganizationsOf, OrganizationFilter, OrganizationOrder;
    organization_member / organization_members => OrganizationMember, MembersOf, MemberFilter, MemberOrder;
});

root_fields!(PlanningQuery {
    project / projects => Project, ProjectsOf, ProjectFilter, ProjectOrder;
    requirement / requirements => Requirement, RequirementsOf, RequirementFilter, RequirementOrder;
    architectural_component / architectural_components => ArchitecturalComponent, ComponentsOf, ComponentFilter, ComponentOrder;
    analysis / analyses => Analysis, AnalysesOf, AnalysisFilter, AnalysisOrder;
});

root_fields!(WorkQuery {
    task / tasks => Task, TasksOf, TaskFilter, TaskOrder;
    task_dependency / task_dependencies => TaskDependency, TaskDependenciesOf, TaskDependencyFilter, TaskDependencyOrder;
});

root_fields!(CollaborationQuery {
    collaboration_session / collaboration_sessions => CollaborationSession, SessionsOf, SessionFilter, SessionOrder;
    session_participant / session_participants => SessionParticipant, ParticipantsOf, ParticipantFilter, ParticipantOrder;
    comment / comments => Comment, CommentsOf, CommentFilter, CommentOrder;
    notification / notifications => Notification, NotificationsOf, NotificationFilter, NotificationOrder;
});

root_fields!(GovernanceQuery {
    approval / approvals => Approval, ApprovalsOf, ApprovalFilter, ApprovalOrder;
    approval_participant / approval_participants => ApprovalParticipant, ApprovalParticipantsOf, ApprovalParticipantFilter, ApprovalParticipantOrder;
    audit_log_entry / audit_log => AuditLogEntry, AuditLogOf, AuditLogFilter, AuditLogOrder;
});
