//! The builder's methods, one a table: a new row as the API makes it (the defaults of the
//! `commands.rs` of its domain crate, which are the schema's too), changed by the caller's
//! closure, queued.

use entity::sea_orm_active_enums::{
    AnalysisType, ApprovalStatus, CollaborationRole, DependencyType, ProjectStatus, TaskStatus,
};
use entity::{
    analyses, approval_participants, approvals, architectural_components, collaboration_sessions,
    comments, notifications, organization_members, organizations, projects, requirements,
    session_participants, task_dependencies, tasks, users,
};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::{Fixture, TargetType, Thread};

impl<C: ConnectionTrait> Fixture<'_, C> {
    /// A user named by its id (`username` the id, `email` `{id}@example.com`) with the
    /// password hash `x`, which no password matches.
    pub fn user(&mut self, edit: impl FnOnce(&mut users::ActiveModel)) -> Uuid {
        let id = (self.ids)();
        let mut row = users::ActiveModel {
            id: Set(id),
            email: Set(format!("{id}@example.com")),
            username: Set(id.to_string()),
            password_hash: Set("x".to_owned()),
            first_name: Set(None),
            last_name: Set(None),
            avatar_url: Set(None),
            timezone: Set(Some("UTC".to_owned())),
            preferences: Set(Some(json!({}))),
            is_active: Set(Some(true)),
            email_verified: Set(Some(false)),
            last_login_at: Set(None),
            created_at: NotSet,
            updated_at: NotSet,
        };
        edit(&mut row);
        self.queue(None, row)
    }

    /// An organization named `Organization`, with the slug `org-{id}`.
    pub fn organization(&mut self, edit: impl FnOnce(&mut organizations::ActiveModel)) -> Uuid {
        let id = (self.ids)();
        let mut row = organizations::ActiveModel {
            id: Set(id),
            name: Set("Organization".to_owned()),
            slug: Set(format!("org-{id}")),
            description: Set(None),
            settings: Set(Some(json!({}))),
            is_active: Set(Some(true)),
            created_at: NotSet,
            updated_at: NotSet,
        };
        edit(&mut row);
        let organization = row.id.try_as_ref().copied();
        self.queue(organization, row)
    }

    /// `user`'s membership of `organization`, with `role`.
    pub fn member(
        &mut self,
        organization: Uuid,
        user: Uuid,
        role: CollaborationRole,
        edit: impl FnOnce(&mut organization_members::ActiveModel),
    ) -> Uuid {
        let mut row = organization_members::ActiveModel {
            id: Set((self.ids)()),
            organization_id: Set(organization),
            user_id: Set(user),
            role: Set(role),
            permissions: Set(Some(json!([]))),
            joined_at: NotSet,
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// A user per role of `roles`, each a member of `organization` with it; their ids in
    /// the same order.
    pub fn members<const N: usize>(
        &mut self,
        organization: Uuid,
        roles: [CollaborationRole; N],
    ) -> [Uuid; N] {
        roles.map(|role| {
            let user = self.user(|_| {});
            self.member(organization, user, role, |_| {});
            user
        })
    }

    /// A draft project of `organization`, created by `creator`.
    pub fn project(
        &mut self,
        organization: Uuid,
        creator: Uuid,
        name: &str,
        edit: impl FnOnce(&mut projects::ActiveModel),
    ) -> Uuid {
        let mut row = projects::ActiveModel {
            id: Set((self.ids)()),
            organization_id: Set(organization),
            created_by: Set(creator),
            name: Set(name.to_owned()),
            description: Set(None),
            status: Set(Some(ProjectStatus::Draft)),
            project_type: Set(None),
            industry: Set(None),
            complexity_score: Set(None),
            estimated_duration_weeks: Set(None),
            estimated_budget: Set(None),
            currency: Set(Some("USD".to_owned())),
            technology_stack: Set(Some(json!([]))),
            constraints: Set(Some(json!({}))),
            assumptions: Set(Some(json!([]))),
            version: Set(Some(1)),
            is_archived: Set(Some(false)),
            archived_at: Set(None),
            created_at: NotSet,
            updated_at: NotSet,
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// A requirement of `project` (made by this fixture), under `parent` or a root, of
    /// priority 3, not validated.
    pub fn requirement(
        &mut self,
        project: Uuid,
        parent: Option<Uuid>,
        title: &str,
        edit: impl FnOnce(&mut requirements::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the requirement's project", project);
        let mut row = requirements::ActiveModel {
            id: Set((self.ids)()),
            project_id: Set(project),
            parent_id: Set(parent),
            title: Set(title.to_owned()),
            description: Set(None),
            acceptance_criteria: Set(Some(json!([]))),
            priority: Set(Some(3)),
            category: Set(None),
            complexity_score: Set(None),
            effort_estimate_hours: Set(None),
            dependencies: Set(Some(json!([]))),
            is_validated: Set(Some(false)),
            validation_notes: Set(None),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// An architectural component of `project` (made by this fixture), under `parent` or a
    /// root, planned.
    pub fn component(
        &mut self,
        project: Uuid,
        parent: Option<Uuid>,
        name: &str,
        edit: impl FnOnce(&mut architectural_components::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the component's project", project);
        let mut row = architectural_components::ActiveModel {
            id: Set((self.ids)()),
            project_id: Set(project),
            parent_id: Set(parent),
            name: Set(name.to_owned()),
            r#type: Set(None),
            description: Set(None),
            technology: Set(None),
            patterns: Set(Some(json!([]))),
            interfaces: Set(Some(json!({}))),
            dependencies: Set(Some(json!([]))),
            scalability_requirements: Set(Some(json!({}))),
            performance_requirements: Set(Some(json!({}))),
            security_requirements: Set(Some(json!({}))),
            implementation_status: Set(Some("planned".to_owned())),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// A completed analysis of `kind` of `project` (made by this fixture).
    pub fn analysis(
        &mut self,
        project: Uuid,
        kind: AnalysisType,
        title: &str,
        edit: impl FnOnce(&mut analyses::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the analysis's project", project);
        let mut row = analyses::ActiveModel {
            id: Set((self.ids)()),
            project_id: Set(project),
            r#type: Set(kind),
            title: Set(title.to_owned()),
            description: Set(None),
            methodology: Set(None),
            findings: Set(Some(json!({}))),
            recommendations: Set(Some(json!([]))),
            risks: Set(Some(json!([]))),
            opportunities: Set(Some(json!([]))),
            confidence_score: Set(None),
            completeness_score: Set(None),
            processing_time_seconds: Set(None),
            ai_model_used: Set(None),
            context_sources: Set(Some(json!([]))),
            status: Set(Some("completed".to_owned())),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// A task of `project` (made by this fixture), under `parent` or a root: pending, of
    /// priority 3, unassigned, 0% done.
    pub fn task(
        &mut self,
        project: Uuid,
        parent: Option<Uuid>,
        title: &str,
        edit: impl FnOnce(&mut tasks::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the task's project", project);
        let mut row = tasks::ActiveModel {
            id: Set((self.ids)()),
            project_id: Set(project),
            parent_id: Set(parent),
            title: Set(title.to_owned()),
            description: Set(None),
            acceptance_criteria: Set(Some(json!([]))),
            work_type: Set(None),
            priority: Set(Some(3)),
            complexity_score: Set(None),
            estimated_hours: Set(None),
            actual_hours: Set(None),
            dependencies: Set(Some(json!([]))),
            blockers: Set(Some(json!([]))),
            assigned_to: Set(None),
            status: Set(Some(TaskStatus::Pending)),
            progress_percentage: Set(Some(0)),
            planned_start_date: Set(None),
            planned_end_date: Set(None),
            actual_start_date: Set(None),
            actual_end_date: Set(None),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// `task` waiting for `on` (both of `project`, made by this fixture): `blocks`, no
    /// lag, by nobody in particular.
    pub fn dependency(
        &mut self,
        project: Uuid,
        task: Uuid,
        on: Uuid,
        edit: impl FnOnce(&mut task_dependencies::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the dependency's project", project);
        let mut row = task_dependencies::ActiveModel {
            id: Set((self.ids)()),
            organization_id: Set(organization),
            project_id: Set(project),
            task_id: Set(task),
            depends_on_task_id: Set(on),
            dependency_type: Set(DependencyType::Blocks),
            lag_hours: Set(0),
            created_by: Set(None),
            created_at: NotSet,
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// An active collaboration session on `project` (made by this fixture), created by
    /// `creator`. (The API also makes its creator a participant; here that is a
    /// [`Fixture::participant`] of its own.)
    pub fn session(
        &mut self,
        project: Uuid,
        creator: Uuid,
        title: &str,
        edit: impl FnOnce(&mut collaboration_sessions::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the session's project", project);
        let mut row = collaboration_sessions::ActiveModel {
            id: Set((self.ids)()),
            project_id: Set(project),
            created_by: Set(creator),
            title: Set(title.to_owned()),
            description: Set(None),
            session_type: Set(None),
            status: Set(Some("active".to_owned())),
            current_phase: Set(None),
            session_data: Set(Some(json!({}))),
            started_at: NotSet,
            ended_at: Set(None),
            max_participants: Set(Some(50)),
            requires_approval: Set(Some(false)),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// `user`'s participation in `session` (made by this fixture), with `role`: active,
    /// editing, not approving.
    pub fn participant(
        &mut self,
        session: Uuid,
        user: Uuid,
        role: CollaborationRole,
        edit: impl FnOnce(&mut session_participants::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the participant's session", session);
        let mut row = session_participants::ActiveModel {
            id: Set((self.ids)()),
            session_id: Set(session),
            user_id: Set(user),
            role: Set(Some(role)),
            joined_at: NotSet,
            last_active_at: NotSet,
            is_active: Set(Some(true)),
            can_edit: Set(Some(true)),
            can_approve: Set(Some(false)),
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// A pending approval of the record `target` of `project` (both made by this fixture),
    /// requested by `requester`: one approver's answer decides it.
    pub fn approval(
        &mut self,
        project: Uuid,
        requester: Uuid,
        (target_type, target): (TargetType, Uuid),
        title: &str,
        edit: impl FnOnce(&mut approvals::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the approval's project", project);
        let mut row = approvals::ActiveModel {
            id: Set((self.ids)()),
            project_id: Set(project),
            requested_by: Set(requester),
            title: Set(title.to_owned()),
            description: Set(None),
            approval_type: Set(None),
            target_type: Set(Some(target_type.as_str().to_owned())),
            target_id: Set(target),
            status: Set(Some(ApprovalStatus::Pending)),
            decision_rationale: Set(None),
            conditions: Set(Some(json!([]))),
            requires_unanimous: Set(Some(false)),
            required_approver_count: Set(Some(1)),
            auto_approve_after_hours: Set(None),
            approved_by: Set(None),
            rejected_by: Set(None),
            resolved_at: Set(None),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// `user` as an approver of `approval` (made by this fixture): required, of weight 1,
    /// not answered yet.
    pub fn approver(
        &mut self,
        approval: Uuid,
        user: Uuid,
        edit: impl FnOnce(&mut approval_participants::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the approver's approval", approval);
        let mut row = approval_participants::ActiveModel {
            id: Set((self.ids)()),
            approval_id: Set(approval),
            user_id: Set(user),
            response: Set(None),
            response_notes: Set(None),
            responded_at: Set(None),
            is_required: Set(Some(true)),
            weight: Set(Some(1)),
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }

    /// A plain-text comment by `author` on the record `target` (made by this fixture),
    /// starting a thread of its own (as the API leaves it: no `thread_id`).
    pub fn comment(
        &mut self,
        (target_type, target): (TargetType, Uuid),
        author: Uuid,
        content: &str,
        edit: impl FnOnce(&mut comments::ActiveModel),
    ) -> Uuid {
        let organization = self.owner("the comment's target", target);
        self.add_comment(
            organization,
            target_type.as_str(),
            target,
            None,
            author,
            content,
            edit,
        )
    }

    /// A reply by `author` to the comment `to` (made by this fixture): on the same record,
    /// in `to`'s thread (`to` itself when it starts one).
    pub fn reply(
        &mut self,
        to: Uuid,
        author: Uuid,
        content: &str,
        edit: impl FnOnce(&mut comments::ActiveModel),
    ) -> Uuid {
        let Some(parent) = self.comments.get(&to).cloned() else {
            self.problems.push(format!(
                "the comment replied to, {to}, was not made by this fixture"
            ));
            return Uuid::nil();
        };
        self.add_comment(
            parent.organization,
            &parent.target_type,
            parent.target_id,
            Some((to, parent.thread)),
            author,
            content,
            edit,
        )
    }

    /// A comment, replying to `parent` (its id and thread) if any.
    #[allow(clippy::too_many_arguments)]
    fn add_comment(
        &mut self,
        organization: Uuid,
        target_type: &str,
        target: Uuid,
        parent: Option<(Uuid, Uuid)>,
        author: Uuid,
        content: &str,
        edit: impl FnOnce(&mut comments::ActiveModel),
    ) -> Uuid {
        let mut row = comments::ActiveModel {
            id: Set((self.ids)()),
            target_type: Set(target_type.to_owned()),
            target_id: Set(target),
            author_id: Set(author),
            content: Set(content.to_owned()),
            content_type: Set(Some("text".to_owned())),
            parent_id: Set(parent.map(|(id, _)| id)),
            thread_id: Set(parent.map(|(_, thread)| thread)),
            is_resolved: Set(Some(false)),
            resolved_by: Set(None),
            resolved_at: Set(None),
            created_at: NotSet,
            updated_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        let target_type = row.target_type.try_as_ref().cloned().unwrap_or_default();
        let target_id = row.target_id.try_as_ref().copied().unwrap_or(target);
        let thread = row.thread_id.try_as_ref().copied().flatten();
        let id = self.queue(Some(organization), row);
        self.comments.insert(
            id,
            Thread {
                organization,
                target_type,
                target_id,
                thread: thread.unwrap_or(id),
            },
        );
        id
    }

    /// An unread in-app notification of `kind` for `user`, in `organization`.
    pub fn notification(
        &mut self,
        organization: Uuid,
        user: Uuid,
        kind: &str,
        title: &str,
        edit: impl FnOnce(&mut notifications::ActiveModel),
    ) -> Uuid {
        let mut row = notifications::ActiveModel {
            id: Set((self.ids)()),
            user_id: Set(user),
            r#type: Set(kind.to_owned()),
            title: Set(title.to_owned()),
            message: Set(None),
            target_type: Set(None),
            target_id: Set(None),
            is_read: Set(Some(false)),
            read_at: Set(None),
            delivery_method: Set(Some("in-app".to_owned())),
            scheduled_for: NotSet,
            delivered_at: Set(None),
            created_at: NotSet,
            organization_id: Set(organization),
        };
        edit(&mut row);
        self.queue(Some(organization), row)
    }
}
