//! The commands of work: the task tree of a project — create, change, delete, move,
//! create a whole subtree — through the generic tree commands of [`bduf_core::tree`].
//! Contributors do all of it; an assignee must be a member of the organization, and is
//! notified when given a task by someone else ([`Tasks::written`]). And the
//! dependencies between tasks: add one (no cycle of `blocks`), remove one.

use async_graphql::{InputObject, MaybeUndefined};
use bduf_core::notify::{Kind, Notice, notify};
use bduf_core::tree::TreeKind;
use bduf_core::write::{delete, find, insert, patch, role_of, set, update};
use bduf_core::{Error, Result, Tx, check, now};
use entity::sea_orm_active_enums::CollaborationRole as Role;
use entity::{task_dependencies, tasks};
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::{DependencyType, TaskStatus};

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

    /// A task given an assignee (a new one, or another than before) tells them.
    async fn written(
        tx: &Tx<'_>,
        changes: &[(Option<&tasks::Model>, &tasks::Model)],
    ) -> Result<()> {
        let notices: Vec<Notice> = changes
            .iter()
            .filter_map(|(before, after)| {
                let user = after.assigned_to?;
                (before.and_then(|b| b.assigned_to) != Some(user)).then(|| Notice {
                    user,
                    kind: Kind::TaskAssigned,
                    title: format!("Assigned to you: {}", after.title),
                    message: None,
                    target_type: "task",
                    target_id: after.id,
                })
            })
            .collect();
        notify(tx, notices).await?;
        Ok(())
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

/// A dependency to add: `taskId` waits for `dependsOnTaskId`, of the same project.
#[derive(InputObject, Debug, Clone)]
pub struct TaskDependencyInput {
    /// The task that waits.
    pub task_id: Uuid,
    /// The task it waits for, of the same project.
    pub depends_on_task_id: Uuid,
    /// `BLOCKS` when left out.
    pub dependency_type: Option<DependencyType>,
    /// Hours between the end of the task waited for and the start of the waiting one,
    /// 0 to 8,760 (0 when left out).
    pub lag_hours: Option<i32>,
}

/// The advisory lock on a project's dependencies (PostgreSQL) that migration step 19's
/// trigger takes too: two writers adding `blocks` dependencies to one project check for
/// cycles one after the other.
async fn lock_dependencies(tx: &Tx<'_>, project: Uuid) -> Result<()> {
    if tx.txn.get_database_backend() == DbBackend::Postgres {
        tx.txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [format!("task_dependencies:{project}").into()],
            ))
            .await?;
    }
    Ok(())
}

/// Whether `from` waits, through `blocks` dependencies, for `target`.
async fn waits_for(tx: &Tx<'_>, from: Uuid, target: Uuid) -> Result<bool> {
    let backend = tx.txn.get_database_backend();
    let row = tx
        .txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "WITH RECURSIVE walk(node) AS ( \
               SELECT depends_on_task_id FROM task_dependencies \
               WHERE task_id = $1 AND dependency_type = 'blocks' \
               UNION \
               SELECT d.depends_on_task_id FROM task_dependencies d \
               JOIN walk w ON d.task_id = w.node WHERE d.dependency_type = 'blocks') \
             SELECT count(*) AS n FROM walk WHERE node = $2",
            [from.into(), target.into()],
        ))
        .await?;
    let n: i64 = row.map_or(Ok(0), |r| r.try_get("", "n"))?;
    Ok(n > 0)
}

/// Makes one task wait for another of its project (contributors). Refused: a task
/// waiting for itself, a task of another project, a pair already there (`CONFLICT`), and
/// a `BLOCKS` dependency that would close a cycle — the task waited for already waits,
/// however indirectly, for the waiting one.
pub async fn add_task_dependency(
    tx: &Tx<'_>,
    input: TaskDependencyInput,
) -> Result<task_dependencies::Model> {
    tx.require(Role::Contributor, "addTaskDependency")?;
    check::bounded(
        "input.lagHours",
        task_dependencies::Column::LagHours,
        input.lag_hours,
    )?;
    if input.task_id == input.depends_on_task_id {
        return Err(Error::invalid(
            "input.dependsOnTaskId",
            "a task cannot depend on itself",
        ));
    }
    let task: tasks::Model = find(tx, input.task_id, "input.taskId", "task").await?;
    let on: tasks::Model = find(
        tx,
        input.depends_on_task_id,
        "input.dependsOnTaskId",
        "task",
    )
    .await?;
    if on.project_id != task.project_id {
        return Err(Error::invalid(
            "input.dependsOnTaskId",
            "must be a task of the same project",
        ));
    }
    let kind = input.dependency_type.unwrap_or(DependencyType::Blocks);
    if kind == DependencyType::Blocks {
        lock_dependencies(tx, task.project_id).await?;
        if waits_for(tx, on.id, task.id).await? {
            return Err(Error::invalid(
                "input.dependsOnTaskId",
                format!(
                    "task {} already waits for task {}: the dependency would close a cycle",
                    on.id, task.id
                ),
            ));
        }
    }
    insert(
        tx,
        task_dependencies::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(tx.organization()),
            project_id: Set(task.project_id),
            task_id: Set(task.id),
            depends_on_task_id: Set(on.id),
            dependency_type: Set(kind.into()),
            lag_hours: Set(input.lag_hours.unwrap_or(0)),
            created_by: Set(Some(tx.user())),
            created_at: Set(now()),
        },
    )
    .await
}

/// Removes a dependency (contributors). Returns its id.
pub async fn remove_task_dependency(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Contributor, "removeTaskDependency")?;
    let old: task_dependencies::Model = find(tx, id, "id", "task dependency").await?;
    delete(tx, &old).await
}

/// Changes to a dependency: a field left out stays.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateTaskDependencyInput {
    pub dependency_type: Option<DependencyType>,
    /// 0 to 8,760.
    pub lag_hours: Option<i32>,
}

/// Changes a dependency's kind or lag (contributors); becoming `BLOCKS` is refused when
/// it would close a cycle.
pub async fn update_task_dependency(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateTaskDependencyInput,
) -> Result<task_dependencies::Model> {
    tx.require(Role::Contributor, "updateTaskDependency")?;
    check::bounded(
        "input.lagHours",
        task_dependencies::Column::LagHours,
        input.lag_hours,
    )?;
    let old: task_dependencies::Model = find(tx, id, "id", "task dependency").await?;
    if input.dependency_type == Some(DependencyType::Blocks)
        && DependencyType::from(old.dependency_type) != DependencyType::Blocks
    {
        lock_dependencies(tx, old.project_id).await?;
        if waits_for(tx, old.depends_on_task_id, old.task_id).await? {
            return Err(Error::invalid(
                "input.dependencyType",
                format!(
                    "task {} already waits for task {}: BLOCKS would close a cycle",
                    old.depends_on_task_id, old.task_id
                ),
            ));
        }
    }
    let mut row: task_dependencies::ActiveModel = old.into();
    set(
        &mut row.dependency_type,
        input.dependency_type.map(Into::into),
    );
    set(&mut row.lag_hours, input.lag_hours);
    update(tx, row).await
}
