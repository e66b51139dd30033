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

#[Object]
impl IdentityQuery {
    async fn user(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<User>> {
        node::<users::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<User>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            UserOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn organization(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Organization>> {
        node::<organizations::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationFilter>,
        order_by: Option<OrganizationOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Organization>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            OrganizationOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn organization_member(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<OrganizationMember>> {
        node::<organization_members::Model, _>(ctx, Some(id)).await
    }
    async fn organization_members(
        &self,
        ctx: &Context<'_>,
        filter: Option<MemberFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<OrganizationMember>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            Ordering::<organization_members::Model>::by_id(),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
}

#[Object]
impl PlanningQuery {
    async fn project(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Project>> {
        node::<projects::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProjectFilter>,
        order_by: Option<ProjectOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Project>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            ProjectOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn requirement(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Requirement>> {
        node::<requirements::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn requirements(
        &self,
        ctx: &Context<'_>,
        filter: Option<RequirementFilter>,
        order_by: Option<RequirementOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Requirement>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            RequirementOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn architectural_component(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<ArchitecturalComponent>> {
        node::<architectural_components::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn architectural_components(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComponentFilter>,
        order_by: Option<ComponentOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ArchitecturalComponent>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            ComponentOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn analysis(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Analysis>> {
        node::<analyses::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn analyses(
        &self,
        ctx: &Context<'_>,
        filter: Option<AnalysisFilter>,
        order_by: Option<AnalysisOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Analysis>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            AnalysisOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
}

#[Object]
impl WorkQuery {
    async fn task(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Task>> {
        node::<tasks::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        filter: Option<TaskFilter>,
        order_by: Option<TaskOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Task>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            TaskOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
}

#[Object]
impl CollaborationQuery {
    async fn collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<CollaborationSession>> {
        node::<collaboration_sessions::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn collaboration_sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SessionFilter>,
        order_by: Option<SessionOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<CollaborationSession>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            SessionOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn session_participant(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<SessionParticipant>> {
        node::<session_participants::Model, _>(ctx, Some(id)).await
    }
    async fn session_participants(
        &self,
        ctx: &Context<'_>,
        filter: Option<ParticipantFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<SessionParticipant>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            Ordering::<session_participants::Model>::by_id(),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn comment(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Comment>> {
        node::<comments::Model, _>(ctx, Some(id)).await
    }
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
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            CommentOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn notification(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Notification>> {
        node::<notifications::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        filter: Option<NotificationFilter>,
        order_by: Option<NotificationOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Notification>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            NotificationOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
}

#[Object]
impl GovernanceQuery {
    async fn approval(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Approval>> {
        node::<approvals::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApprovalFilter>,
        order_by: Option<ApprovalOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<Approval>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            ApprovalOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn approval_participant(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<ApprovalParticipant>> {
        node::<approval_participants::Model, _>(ctx, Some(id)).await
    }
    async fn approval_participants(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApprovalParticipantFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<ApprovalParticipant>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            Ordering::<approval_participants::Model>::by_id(),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    async fn audit_log_entry(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<AuditLogEntry>> {
        node::<audit_log::Model, _>(ctx, Some(id)).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        order_by: Option<AuditLogOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Conn<AuditLogEntry>> {
        let condition = filter.unwrap_or_default().condition();
        root_connection(
            ctx,
            condition,
            AuditLogOrder::ordering(order_by),
            Window {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
}
