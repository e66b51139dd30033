//! The root query, merged from one part per context: a lookup by id and a filtered,
//! ordered, keyset-paged connection for every table.

use async_graphql::{Context, MergedObject, Object, Result};
use bduf_collaboration::{
    CommentFilter, CommentOrder, NotificationFilter, NotificationOrder, ParticipantFilter,
    SessionFilter, SessionOrder,
};
use bduf_core::paging::Ordering;
use bduf_governance::{
    ApprovalFilter, ApprovalOrder, ApprovalParticipantFilter, AuditLogFilter, AuditLogOrder,
};
use bduf_identity::{MemberFilter, OrganizationFilter, OrganizationOrder, UserFilter, UserOrder};
use bduf_planning::{
    AnalysisFilter, AnalysisOrder, ComponentFilter, ComponentOrder, ProjectFilter, ProjectOrder,
    RequirementFilter, RequirementOrder,
};
use bduf_work::{TaskFilter, TaskOrder};
use entity::*;
use uuid::Uuid;

use crate::support::{Conn, Window, node, root_connection};
use crate::types::collaboration::{
    CollaborationSession, Comment, Notification, SessionParticipant,
};
use crate::types::governance::{Approval, ApprovalParticipant, AuditLogEntry};
use crate::types::identity::{Organization, OrganizationMember, User};
use crate::types::planning::{Analysis, ArchitecturalComponent, Project, Requirement};
use crate::types::work::Task;

/// The root query type.
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    IdentityQuery,
    PlanningQuery,
    WorkQuery,
    CollaborationQuery,
    GovernanceQuery,
);

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

/// Declares a root query part: for each table, a lookup by id and a filtered, ordered
/// (where an ordering is given, else by id), keyset-paged connection.
macro_rules! root_fields {
    ($part:ident { $(
        $one:ident / $many:ident: $module:ident => $node:ident, $filter:ident $(, $order:ident)?;
    )* }) => {
        #[Object]
        impl $part {
            $(
                #[doc = concat!("One `", stringify!($node), "` by id; null when there is none.")]
                async fn $one(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<$node>> {
                    node::<$module::Model, _>(ctx, Some(id)).await
                }

                #[doc = concat!("`", stringify!($node), "` rows matching `filter`, keyset-paged (`first`/`last` at most 100).")]
                #[allow(clippy::too_many_arguments)]
                async fn $many(
                    &self,
                    ctx: &Context<'_>,
                    filter: Option<$filter>,
                    $(order_by: Option<$order>,)?
                    after: Option<String>,
                    before: Option<String>,
                    first: Option<i32>,
                    last: Option<i32>,
                ) -> Result<Conn<$node>> {
                    let condition = filter.unwrap_or_default().condition();
                    let ordering = ordering!($module $(, $order, order_by)?);
                    root_connection(ctx, condition, ordering, Window { after, before, first, last }).await
                }
            )*
        }
    };
}

/// The ordering of a root connection: the input's, or by id where there is none.
macro_rules! ordering {
    ($module:ident) => {
        Ordering::<$module::Model>::by_id()
    };
    ($module:ident, $order:ident, $input:ident) => {
        $order::ordering($input)
    };
}

root_fields!(IdentityQuery {
    user / users: users => User, UserFilter, UserOrder;
    organization / organizations: organizations => Organization, OrganizationFilter, OrganizationOrder;
    organization_member / organization_members: organization_members => OrganizationMember, MemberFilter;
});

root_fields!(PlanningQuery {
    project / projects: projects => Project, ProjectFilter, ProjectOrder;
    requirement / requirements: requirements => Requirement, RequirementFilter, RequirementOrder;
    architectural_component / architectural_components: architectural_components => ArchitecturalComponent, ComponentFilter, ComponentOrder;
    analysis / analyses: analyses => Analysis, AnalysisFilter, AnalysisOrder;
});

root_fields!(WorkQuery {
    task / tasks: tasks => Task, TaskFilter, TaskOrder;
});

root_fields!(CollaborationQuery {
    collaboration_session / collaboration_sessions: collaboration_sessions => CollaborationSession, SessionFilter, SessionOrder;
    session_participant / session_participants: session_participants => SessionParticipant, ParticipantFilter;
    comment / comments: comments => Comment, CommentFilter, CommentOrder;
    notification / notifications: notifications => Notification, NotificationFilter, NotificationOrder;
});

root_fields!(GovernanceQuery {
    approval / approvals: approvals => Approval, ApprovalFilter, ApprovalOrder;
    approval_participant / approval_participants: approval_participants => ApprovalParticipant, ApprovalParticipantFilter;
    audit_log_entry / audit_log: audit_log => AuditLogEntry, AuditLogFilter, AuditLogOrder;
});
