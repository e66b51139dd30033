//! Work: tasks, the work-breakdown tree of a project. Filters and orderings for task
//! connections, the GraphQL task status, and the task aggregates of the dashboards.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Enum, InputObject, SimpleObject};
use bduf_core::aggregate::{grouped_counts, label};
use bduf_core::{EntityLoader, Error, Result, check_len, check_range, ordering};
use chrono::NaiveDate;
use entity::tasks;
use sea_orm::{ColumnTrait, Condition, DbErr};
use uuid::Uuid;

/// Where a task stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(InputObject, Debug, Clone, Default)]
pub struct TaskFilter {
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

impl TaskFilter {
    pub fn condition(&self) -> Result<Condition> {
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
            c = c.add(tasks::Column::Status.eq(entity::sea_orm_active_enums::TaskStatus::from(v)));
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

/// Key: a project's tasks per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskStatusOf(pub Uuid);

/// Key: an organization's tasks per status, over all its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationTaskStatusOf(pub Uuid);

/// Key: a project's rolled-up progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskProgressOf(pub Uuid);

fn status_counts<K: Copy + Eq + std::hash::Hash>(
    keys: &[K],
    owner: impl Fn(Uuid) -> K,
    rows: &[sea_orm::QueryResult],
) -> Result<HashMap<K, Vec<TaskStatusCount>>, DbErr> {
    Ok(grouped_counts(keys, owner, rows)?
        .into_iter()
        .map(|(k, v)| {
            let counts = v
                .iter()
                .map(|(l, count)| TaskStatusCount {
                    status: label::<entity::sea_orm_active_enums::TaskStatus>(l).map(Into::into),
                    count: *count,
                })
                .collect();
            (k, counts)
        })
        .collect())
}

impl Loader<TaskStatusOf> for EntityLoader {
    type Value = Vec<TaskStatusCount>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[TaskStatusOf],
    ) -> Result<HashMap<TaskStatusOf, Vec<TaskStatusCount>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .db()
            .query_with_ids(
                "SELECT project_id AS owner, CAST(status AS TEXT) AS label, COUNT(*) AS n \
                 FROM tasks WHERE project_id IN ({ids}) GROUP BY project_id, status",
                &ids,
            )
            .await?;
        Ok(status_counts(keys, TaskStatusOf, &rows)?)
    }
}

impl Loader<OrganizationTaskStatusOf> for EntityLoader {
    type Value = Vec<TaskStatusCount>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OrganizationTaskStatusOf],
    ) -> Result<HashMap<OrganizationTaskStatusOf, Vec<TaskStatusCount>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .db()
            .query_with_ids(
                "SELECT p.organization_id AS owner, CAST(t.status AS TEXT) AS label, COUNT(*) AS n \
                 FROM tasks t JOIN projects p ON p.id = t.project_id \
                 WHERE p.organization_id IN ({ids}) GROUP BY p.organization_id, t.status",
                &ids,
            )
            .await?;
        Ok(status_counts(keys, OrganizationTaskStatusOf, &rows)?)
    }
}

impl Loader<TaskProgressOf> for EntityLoader {
    type Value = TaskProgress;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[TaskProgressOf],
    ) -> Result<HashMap<TaskProgressOf, TaskProgress>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .db()
            .query_with_ids(
                "SELECT project_id, SUM(w * p) AS weighted, SUM(w) AS weight, COUNT(*) AS leaves, \
                        SUM(COALESCE(estimated_hours, 0)) AS hours \
                 FROM (SELECT t.project_id, t.estimated_hours, \
                              COALESCE(NULLIF(t.estimated_hours, 0), 1) AS w, \
                              CASE WHEN t.status = 'done' THEN 100 ELSE COALESCE(t.progress_percentage, 0) END AS p \
                       FROM tasks t WHERE t.project_id IN ({ids}) \
                         AND (t.status IS NULL OR t.status <> 'cancelled') \
                         AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = t.id)) leaves \
                 GROUP BY project_id",
                &ids,
            )
            .await?;
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
                TaskProgressOf(row.try_get("", "project_id")?),
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
