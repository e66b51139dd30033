//! Work: tasks, the work-breakdown tree of a project. The read keys of the task table —
//! filter, ordering, the links tasks hang off — the GraphQL task status, and the task
//! aggregates of the dashboards.

use std::collections::HashMap;

use async_graphql::{Enum, InputObject, SimpleObject};
use bduf_core::aggregate::{LabelCounts, count_by_label, grouped_counts, label, rank, sql};
use bduf_core::read::{Filter, Link};
use bduf_core::window::{any_of, col};
use bduf_core::{
    Error, Fetch, MAX_SEARCH, Reader, Result, check_len, check_range, ordering, search,
};
use chrono::NaiveDate;
use entity::sea_orm_active_enums::TaskStatus as DbTaskStatus;
use entity::{projects, tasks};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, Condition, DbBackend};
use uuid::Uuid;

/// Where a task stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::sea_orm_active_enums::TaskStatus")]
pub enum TaskStatus {
    Pending,
    InProgress,
    Review,
    Done,
    Cancelled,
    Deferred,
}

/// Which tasks to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TaskFilter {
    /// Words to look for in the title and description (see the README on search).
    pub search: Option<String>,
    pub project_id: Option<Uuid>,
    /// Only the direct sub-tasks of this task.
    pub parent_id: Option<Uuid>,
    /// Only tasks without a parent.
    pub roots_only: Option<bool>,
    pub status: Option<TaskStatus>,
    /// Priority, 1 (highest) to 5.
    pub priority: Option<i32>,
    pub assigned_to: Option<Uuid>,
    pub work_type: Option<String>,
    /// Planned to start on or after this date.
    pub planned_start_from: Option<NaiveDate>,
    /// Planned to start on or before this date.
    pub planned_start_to: Option<NaiveDate>,
}

impl Filter for TaskFilter {
    type Model = tasks::Model;

    fn condition(&self, backend: DbBackend) -> Result<Condition> {
        check_len("filter.workType", self.work_type.as_ref(), 100)?;
        check_range("filter.priority", self.priority, 1, 5)?;
        if let (Some(from), Some(to)) = (self.planned_start_from, self.planned_start_to)
            && from > to
        {
            return Err(Error::invalid(
                "filter.plannedStartTo",
                format!("must not be before plannedStartFrom ({from})"),
            ));
        }
        let mut c = Condition::all();
        check_len("filter.search", self.search.as_ref(), MAX_SEARCH)?;
        if let Some(term) = &self.search {
            c = c.add(search(
                backend,
                col::<tasks::Model>(tasks::Column::Title),
                col::<tasks::Model>(tasks::Column::Description),
                term,
            ));
        }
        if let Some(v) = self.project_id {
            c = c.add(tasks::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.parent_id {
            c = c.add(tasks::Column::ParentId.eq(v));
        }
        if self.roots_only == Some(true) {
            c = c.add(tasks::Column::ParentId.is_null());
        }
        if let Some(v) = self.status {
            c = c.add(tasks::Column::Status.eq(DbTaskStatus::from(v)));
        }
        if let Some(v) = self.priority {
            c = c.add(tasks::Column::Priority.eq(v));
        }
        if let Some(v) = self.assigned_to {
            c = c.add(tasks::Column::AssignedTo.eq(v));
        }
        if let Some(v) = &self.work_type {
            c = c.add(tasks::Column::WorkType.eq(v.clone()));
        }
        if let Some(v) = self.planned_start_from {
            c = c.add(tasks::Column::PlannedStartDate.gte(v));
        }
        if let Some(v) = self.planned_start_to {
            c = c.add(tasks::Column::PlannedStartDate.lte(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order tasks.
    TaskOrder, TaskOrderField, tasks::Model {
        Priority => tasks::Column::Priority,
        ProgressPercentage => tasks::Column::ProgressPercentage,
        PlannedStartDate => tasks::Column::PlannedStartDate,
    }
);

/// What tasks hang off: their project, their parent task, their assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TasksOf {
    Project,
    Parent,
    Assignee,
}

impl Link for TasksOf {
    type Model = tasks::Model;
    fn column(self) -> tasks::Column {
        match self {
            TasksOf::Project => tasks::Column::ProjectId,
            TasksOf::Parent => tasks::Column::ParentId,
            TasksOf::Assignee => tasks::Column::AssignedTo,
        }
    }
}

/// A count of tasks in one status.
#[derive(SimpleObject, Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStatusCount {
    /// The status; null for tasks without one.
    pub status: Option<TaskStatus>,
    pub count: i64,
}

/// A project's progress, rolled up over its task tree.
#[derive(SimpleObject, Debug, Clone, Copy, Default, PartialEq)]
pub struct TaskProgress {
    /// Percent done, 0 to 100: the progress of the leaf tasks (done counts as 100),
    /// weighted by their estimated hours (1 when unestimated); cancelled tasks left out.
    pub percent: f64,
    /// Leaf tasks counted.
    pub leaf_tasks: i64,
    /// Estimated hours of the leaf tasks counted.
    pub estimated_hours: i64,
}

/// Key: a project's tasks per status, in the order of the statuses (null last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskStatusOf(pub Uuid);

/// Key: an organization's tasks per status, over all its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationTaskStatusOf(pub Uuid);

/// Key: a project's rolled-up progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskProgressOf(pub Uuid);

/// Label counts as status counts, in the order of the statuses, null last.
fn status_counts<K: Copy + Eq + std::hash::Hash>(
    counts: LabelCounts<Uuid>,
    key: impl Fn(Uuid) -> K,
) -> HashMap<K, Vec<TaskStatusCount>> {
    counts
        .into_iter()
        .map(|(id, v)| {
            let mut counts: Vec<(Option<DbTaskStatus>, i64)> =
                v.iter().map(|(l, n)| (label(l), *n)).collect();
            counts.sort_by_key(|(status, _)| status.as_ref().map_or(usize::MAX, rank));
            let counts = counts
                .into_iter()
                .map(|(status, count)| TaskStatusCount {
                    status: status.map(Into::into),
                    count,
                })
                .collect();
            (key(id), counts)
        })
        .collect()
}

impl Fetch<TaskStatusOf> for Reader {
    type Value = Vec<TaskStatusCount>;

    async fn fetch(
        &self,
        keys: &[TaskStatusOf],
    ) -> Result<HashMap<TaskStatusOf, Vec<TaskStatusCount>>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts = count_by_label::<tasks::Model>(
            self,
            tasks::Column::ProjectId,
            tasks::Column::Status,
            &ids,
            Condition::all(),
        )
        .await?;
        Ok(status_counts(counts, TaskStatusOf))
    }
}

impl Fetch<OrganizationTaskStatusOf> for Reader {
    type Value = Vec<TaskStatusCount>;

    async fn fetch(
        &self,
        keys: &[OrganizationTaskStatusOf],
    ) -> Result<HashMap<OrganizationTaskStatusOf, Vec<TaskStatusCount>>> {
        let backend = self.backend();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let organization = col::<projects::Model>(projects::Column::OrganizationId);
        let status = col::<tasks::Model>(tasks::Column::Status);
        let mut select = Query::select();
        select
            .from(tasks::Entity)
            .inner_join(
                projects::Entity,
                col::<projects::Model>(projects::Column::Id)
                    .equals((tasks::Entity, tasks::Column::ProjectId)),
            )
            .expr_as(organization.clone(), Alias::new("owner"))
            .expr_as(
                tasks::Column::Status.select_as(status.clone()),
                Alias::new("label"),
            )
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .and_where(any_of(backend, organization.clone(), &ids))
            .add_group_by([organization, status]);
        let rows = self.query(backend.build(&select)).await?;
        let counts = grouped_counts(&ids, |id| id, &rows)?;
        Ok(status_counts(counts, OrganizationTaskStatusOf))
    }
}

impl Fetch<TaskProgressOf> for Reader {
    type Value = TaskProgress;

    async fn fetch(
        &self,
        keys: &[TaskProgressOf],
    ) -> Result<HashMap<TaskProgressOf, TaskProgress>> {
        let backend = self.backend();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let task = |c: tasks::Column| col::<tasks::Model>(c);
        let child = Alias::new("child");
        // The leaf tasks (no sub-task) of the projects, cancelled ones left out, each with
        // its weight (estimated hours, 1 when unestimated) and progress (100 when done).
        let mut leaves = Query::select();
        leaves
            .from(tasks::Entity)
            .expr_as(task(tasks::Column::ProjectId), Alias::new("owner"))
            .expr_as(
                sql::or_zero(task(tasks::Column::EstimatedHours)),
                Alias::new("hours"),
            )
            .expr_as(
                Func::coalesce([
                    sql::null_if_zero(task(tasks::Column::EstimatedHours)),
                    Expr::cust("1"),
                ]),
                Alias::new("w"),
            )
            .expr_as(
                Expr::case(
                    tasks::Column::Status.eq(DbTaskStatus::Done),
                    Expr::cust("100"),
                )
                .finally(sql::or_zero(task(tasks::Column::ProgressPercentage))),
                Alias::new("p"),
            )
            .and_where(any_of(backend, task(tasks::Column::ProjectId), &ids))
            .cond_where(
                Condition::any()
                    .add(tasks::Column::Status.is_null())
                    .add(tasks::Column::Status.ne(DbTaskStatus::Cancelled)),
            )
            .and_where(
                Expr::exists(
                    Query::select()
                        .expr(Expr::cust("1"))
                        .from_as(tasks::Entity, child.clone())
                        .and_where(
                            Expr::col((child.clone(), tasks::Column::ParentId))
                                .equals((tasks::Entity, tasks::Column::Id)),
                        )
                        .to_owned(),
                )
                .not(),
            );
        let leaf = |name: &str| Expr::col((Alias::new("leaves"), Alias::new(name)));
        let mut select = Query::select();
        select
            .from_subquery(leaves, Alias::new("leaves"))
            .expr_as(leaf("owner"), Alias::new("owner"))
            .expr_as(sql::sum(leaf("w").mul(leaf("p"))), Alias::new("weighted"))
            .expr_as(sql::sum(leaf("w")), Alias::new("weight"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("leaves"))
            .expr_as(sql::sum(leaf("hours")), Alias::new("hours"))
            .add_group_by([leaf("owner")]);
        let rows = self.query(backend.build(&select)).await?;
        let mut out: HashMap<_, _> = keys.iter().map(|k| (*k, TaskProgress::default())).collect();
        for row in rows {
            let weighted: i64 = row.try_get("", "weighted")?;
            let weight: i64 = row.try_get("", "weight")?;
            #[allow(clippy::cast_precision_loss)]
            let percent = if weight > 0 {
                weighted as f64 / weight as f64
            } else {
                0.0
            };
            out.insert(
                TaskProgressOf(row.try_get("", "owner")?),
                TaskProgress {
                    percent: (percent * 10.0).round() / 10.0,
                    leaf_tasks: row.try_get("", "leaves")?,
                    estimated_hours: row.try_get("", "hours")?,
                },
            );
        }
        Ok(out)
    }
}
