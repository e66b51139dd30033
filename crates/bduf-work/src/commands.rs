//! The commands of work: the task tree of a project — create, change, delete, move,
//! create a whole subtree — through the generic tree commands of [`bduf_core::tree`].
//! Contributors do all of it; an assignee must be a member of the organization.

use async_graphql::{InputObject, MaybeUndefined};
use bduf_core::tree::TreeKind;
use bduf_core::write::{patch, role_of, set};
use bduf_core::{Error, Result, Tx, check, now};
use entity::tasks;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::TaskStatus;

/// A task's fields (on update, only those given change; `null` clears one).
#[derive(InputObject, Debug, Clone, Default)]
pub struct TaskInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub work_type: MaybeUndefined<String>,
    /// 1 (highest) to 5.
    pub priority: Option<i32>,
    /// 1 to 10.
    pub complexity_score: MaybeUndefined<i32>,
    pub estimated_hours: MaybeUndefined<i32>,
    pub actual_hours: MaybeUndefined<i32>,
    /// A member of the organization.
    pub assigned_to: MaybeUndefined<Uuid>,
    pub status: Option<TaskStatus>,
    /// 0 to 100.
    pub progress_percentage: Option<i32>,
    pub planned_start_date: MaybeUndefined<chrono::NaiveDate>,
    pub planned_end_date: MaybeUndefined<chrono::NaiveDate>,
}

bduf_core::node_input!(TaskNodeInput, TaskInput);

/// The task tree, for the generic tree commands.
#[derive(Debug)]
pub struct Tasks;

impl TreeKind for Tasks {
    type Model = tasks::Model;
    type Active = tasks::ActiveModel;
    type Input = TaskInput;
    const KIND: &'static str = "task";

    fn project(node: &tasks::Model) -> Uuid {
        node.project_id
    }

    fn check(p: &str, i: &TaskInput, create: bool) -> Result<()> {
        use tasks::Column as C;
        if create {
            check::required(&format!("{p}title"), i.title.as_ref())?;
        }
        if let Some(t) = &i.title {
            check::name(&format!("{p}title"), C::Title, t)?;
        }
        for (field, column, value) in [
            ("description", C::Description, i.description.value()),
            ("workType", C::WorkType, i.work_type.value()),
        ] {
            check::text(&format!("{p}{field}"), column, value.map(String::as_str))?;
        }
        check::bounded(&format!("{p}priority"), C::Priority, i.priority)?;
        check::bounded(
            &format!("{p}complexityScore"),
            C::ComplexityScore,
            i.complexity_score.value().copied(),
        )?;
        check::bounded(
            &format!("{p}progressPercentage"),
            C::ProgressPercentage,
            i.progress_percentage,
        )?;
        check::non_negative(
            &format!("{p}estimatedHours"),
            i.estimated_hours.value().copied(),
        )?;
        check::non_negative(&format!("{p}actualHours"), i.actual_hours.value().copied())?;
        if let (Some(start), Some(end)) = (
            i.planned_start_date.value().copied(),
            i.planned_end_date.value().copied(),
        ) && end < start
        {
            return Err(Error::invalid(
                format!("{p}plannedEndDate"),
                "must not be before plannedStartDate",
            ));
        }
        Ok(())
    }

    async fn check_refs(tx: &Tx<'_>, p: &str, i: &TaskInput) -> Result<()> {
        if let Some(user) = i.assigned_to.value().copied()
            && role_of(tx, user).await?.is_none()
        {
            return Err(Error::invalid(
                format!("{p}assignedTo"),
                "must be a member of the organization",
            ));
        }
        Ok(())
    }

    fn new_row(
        i: TaskInput,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> tasks::ActiveModel {
        let now = now();
        let mut row = tasks::ActiveModel {
            id: Set(id),
            project_id: Set(project),
            parent_id: Set(parent),
            title: Set(String::new()),
            description: Set(None),
            acceptance_criteria: Set(Some(serde_json::json!([]))),
            work_type: Set(None),
            priority: Set(Some(3)),
            complexity_score: Set(None),
            estimated_hours: Set(None),
            actual_hours: Set(None),
            dependencies: Set(Some(serde_json::json!([]))),
            blockers: Set(Some(serde_json::json!([]))),
            assigned_to: Set(None),
            status: Set(Some(TaskStatus::Pending.into())),
            progress_percentage: Set(Some(0)),
            planned_start_date: Set(None),
            planned_end_date: Set(None),
            actual_start_date: Set(None),
            actual_end_date: Set(None),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(org),
        };
        Self::apply(i, &mut row);
        row
    }

    fn apply(i: TaskInput, row: &mut tasks::ActiveModel) {
        set(&mut row.title, i.title);
        patch(&mut row.description, i.description);
        patch(&mut row.work_type, i.work_type);
        set(&mut row.priority, i.priority.map(Some));
        patch(&mut row.complexity_score, i.complexity_score);
        patch(&mut row.estimated_hours, i.estimated_hours);
        patch(&mut row.actual_hours, i.actual_hours);
        patch(&mut row.assigned_to, i.assigned_to);
        set(&mut row.status, i.status.map(|s| Some(s.into())));
        set(
            &mut row.progress_percentage,
            i.progress_percentage.map(Some),
        );
        patch(&mut row.planned_start_date, i.planned_start_date);
        patch(&mut row.planned_end_date, i.planned_end_date);
    }
}

bduf_core::tree_commands!(Tasks, TaskNodeInput, "task":
    create_task, update_task, delete_task, move_task, create_task_tree);
