//! Work: tasks, the work-breakdown tree of a project. The read keys of the task table —
//! filter, ordering, the links tasks hang off — the GraphQL task status, and the task
//! aggregates of the dashboards.

pub mod commands;
pub mod dependencies;

pub use dependencies::{
    CriticalPath, CriticalPathOf, DependencyType, ScheduledTask, TaskDependenciesOf,
    TaskDependencyFilter, TaskDependencyOrder,
};

use async_graphql::{Enum, InputObject, SimpleObject};
use bduf_core::Map;
use bduf_core::aggregate::{
    Grouped, LabelCounts, Tally, TallyRow, by_label, grouped_counts, label, rank, sql,
};
use bduf_core::read::{Filter, Link};
use bduf_core::window::{any_of, col};
use bduf_core::{Error, MAX_SEARCH, RequestTxn, Result, check, ordering, search};
use chrono::NaiveDate;
use entity::sea_orm_active_enums::TaskStatus as DbTaskStatus;
use entity::{projects, tasks};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
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
    /// Only tasks that can start now (`true`): not done or cancelled, and every task they
    /// depend on with `BLOCKS` done or cancelled; `false`: the others.
    pub ready: Option<bool>,
}

impl Filter for TaskFilter {
    type Model = tasks::Model;

    fn condition(&self, backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.workType",
            tasks::Column::WorkType,
            self.work_type.as_deref(),
        )?;
        check::bounded("filter.priority", tasks::Column::Priority, self.priority)?;
        if let (Some(from), Some(to)) = (self.planned_start_from, self.planned_start_to)
            && from > to
        {
            return Err(Error::invalid(
                "filter.plannedStartTo",
                format!("must not be before plannedStartFrom ({from})"),
            ));
        }
        let mut c = Condition::all();
        check::at_most("filter.search", self.search.as_deref(), MAX_SEARCH)?;
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
        if let Some(v) = self.ready {
            c = c.add(dependencies::ready(v));
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

/// Key: a project's task roll-up — its tasks per status and, when `progress`, its
/// progress — for any number of projects in one grouped statement. The two dashboard
/// numbers share the key so that asking for both costs one statement, not two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskRollupOf {
    pub project: Uuid,
    /// Whether to roll up the progress of the leaf tasks too.
    pub progress: bool,
}

/// What [`TaskRollupOf`] reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRollup {
    /// Tasks per status, in the order of the statuses (null last).
    pub by_status: Vec<TaskStatusCount>,
    /// The progress; all zero unless the key asked for it.
    pub progress: TaskProgress,
}

/// Key: an organization's tasks per status, over all its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationTaskStatusOf(pub Uuid);

/// Label counts as status counts, in the order of the statuses, null last.
fn status_counts<K: Copy + Eq + std::hash::Hash>(
    counts: LabelCounts<Uuid>,
    key: impl Fn(Uuid) -> K,
) -> Map<K, Vec<TaskStatusCount>> {
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

impl Tally<OrganizationTaskStatusOf> for RequestTxn {
    type Value = Vec<TaskStatusCount>;

    fn grouped(&self, keys: &[OrganizationTaskStatusOf]) -> Result<Grouped> {
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
            .expr_as(organization.clone(), "owner")
            .expr_as(tasks::Column::Status.select_as(status.clone()), "label")
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .and_where(any_of(backend, organization.clone(), &ids))
            .cond_where(self.visible::<tasks::Model>())
            .add_group_by([organization, status]);
        Ok(Grouped {
            select,
            label: true,
            values: 0,
        })
    }

    fn answer(
        &self,
        keys: &[OrganizationTaskStatusOf],
        rows: &[TallyRow],
    ) -> Result<Map<OrganizationTaskStatusOf, Vec<TaskStatusCount>>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts = grouped_counts(&ids, |id| id, rows);
        Ok(status_counts(counts, OrganizationTaskStatusOf))
    }
}

impl Tally<TaskRollupOf> for RequestTxn {
    type Value = TaskRollup;

    fn grouped(&self, keys: &[TaskRollupOf]) -> Result<Grouped> {
        let ids = rollup_projects(keys);
        Ok(if keys.iter().any(|k| k.progress) {
            rollup(self, &ids)
        } else {
            by_label::<tasks::Model>(
                self,
                tasks::Column::ProjectId,
                tasks::Column::Status,
                &ids,
                Condition::all(),
            )
        })
    }

    fn answer(
        &self,
        keys: &[TaskRollupOf],
        rows: &[TallyRow],
    ) -> Result<Map<TaskRollupOf, TaskRollup>> {
        let ids = rollup_projects(keys);
        let counts = grouped_counts(&ids, |id| id, rows);
        let progress = if keys.iter().any(|k| k.progress) {
            progress(rows)
        } else {
            Map::default()
        };
        let by_status = status_counts(counts, |id| id);
        Ok(keys
            .iter()
            .map(|key| {
                let rollup = TaskRollup {
                    by_status: by_status.get(&key.project).cloned().unwrap_or_default(),
                    progress: if key.progress {
                        progress.get(&key.project).copied().unwrap_or_default()
                    } else {
                        TaskProgress::default()
                    },
                };
                (*key, rollup)
            })
            .collect())
    }
}

/// The projects of roll-up keys, without repeats.
fn rollup_projects(keys: &[TaskRollupOf]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = keys.iter().map(|k| k.project).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Tasks per status and the progress of the leaf tasks of the projects `ids`, in one
/// select: every task of the projects with its status and, for a leaf task (no
/// sub-task) that is not cancelled, its weight (estimated hours, 1 when unestimated) and
/// progress (100 when done), grouped by project and status. The values: `v1` the
/// weighted progress, `v2` the weight, `v3` the leaves, `v4` their hours.
fn rollup(txn: &RequestTxn, ids: &[Uuid]) -> Grouped {
    let backend = txn.backend();
    let task = |c: tasks::Column| col::<tasks::Model>(c);
    let child = "child";
    let is_leaf = Condition::all()
        .add(
            Condition::any()
                .add(tasks::Column::Status.is_null())
                .add(tasks::Column::Status.ne(DbTaskStatus::Cancelled)),
        )
        .add(
            Expr::exists(
                Query::select()
                    .expr(Expr::cust("1"))
                    .from_as(tasks::Entity, child)
                    .and_where(
                        Expr::col((child, tasks::Column::ParentId))
                            .equals((tasks::Entity, tasks::Column::Id)),
                    )
                    .to_owned(),
            )
            .not(),
        );
    let mut each = Query::select();
    each.from(tasks::Entity)
        .expr_as(task(tasks::Column::ProjectId), "owner")
        .expr_as(
            tasks::Column::Status.select_as(task(tasks::Column::Status)),
            "label",
        )
        .expr_as(
            Expr::case(is_leaf, Expr::cust("1")).finally(Expr::cust("0")),
            "leaf",
        )
        .expr_as(sql::or_zero(task(tasks::Column::EstimatedHours)), "hours")
        .expr_as(
            Func::coalesce([
                sql::null_if_zero(task(tasks::Column::EstimatedHours)),
                Expr::cust("1"),
            ]),
            "w",
        )
        .expr_as(
            Expr::case(
                tasks::Column::Status.eq(DbTaskStatus::Done),
                Expr::cust("100"),
            )
            .finally(sql::or_zero(task(tasks::Column::ProgressPercentage))),
            "p",
        )
        .and_where(any_of(backend, task(tasks::Column::ProjectId), ids))
        .cond_where(txn.visible::<tasks::Model>());
    if backend == DbBackend::Postgres {
        // A fence: PostgreSQL would otherwise pull this subquery up into the grouping
        // and copy `leaf`, sub-task probe and all, into each of the four sums below
        // (four probes a task instead of one: a third of a project overview's
        // statement on M).
        each.offset(0);
    }
    let t = |name: &'static str| Expr::col(("t", name));
    let mut select = Query::select();
    select
        .from_subquery(each, "t")
        .expr_as(t("owner"), "owner")
        .expr_as(t("label"), "label")
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .expr_as(sql::sum(t("leaf").mul(t("w")).mul(t("p"))), "v1")
        .expr_as(sql::sum(t("leaf").mul(t("w"))), "v2")
        .expr_as(sql::sum(t("leaf")), "v3")
        .expr_as(sql::sum(t("leaf").mul(t("hours"))), "v4")
        .add_group_by([t("owner"), t("label")]);
    Grouped {
        select,
        label: true,
        values: 4,
    }
}

/// The progress of each project from the rows of [`rollup`]: weighted progress, weight,
/// leaves and hours summed over the project's statuses.
fn progress(rows: &[TallyRow]) -> Map<Uuid, TaskProgress> {
    let mut sums: Map<Uuid, [i64; 4]> = Map::default();
    for row in rows {
        let sum = sums.entry(row.owner).or_default();
        for (i, total) in sum.iter_mut().enumerate() {
            *total += row.value(i + 1);
        }
    }
    sums.into_iter()
        .map(|(id, [weighted, weight, leaves, hours])| {
            #[allow(clippy::cast_precision_loss)]
            let percent = if weight > 0 {
                weighted as f64 / weight as f64
            } else {
                0.0
            };
            let progress = TaskProgress {
                percent: (percent * 10.0).round() / 10.0,
                leaf_tasks: leaves,
                estimated_hours: hours,
            };
            (id, progress)
        })
        .collect()
}
