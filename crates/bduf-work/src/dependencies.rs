//! Task dependencies (migration step 19): the read keys of `task_dependencies` — filter,
//! ordering, the links rows hang off — what makes a task ready, and a project's critical
//! path, computed from one fetch of its tasks and one of its `blocks` dependencies.

use bduf_core::Map;
use std::collections::VecDeque;

use async_graphql::{Enum, InputObject, SimpleObject};
use bduf_core::read::{Filter, Link};
use bduf_core::window::any_of;
use bduf_core::{Fetch, RequestTxn, Result, ordering};
use entity::sea_orm_active_enums::{
    DependencyType as DbDependencyType, TaskStatus as DbTaskStatus,
};
use entity::{task_dependencies as deps, tasks};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// How a task depends on another.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::sea_orm_active_enums::DependencyType")]
pub enum DependencyType {
    /// The task cannot start before the other is done (plus the dependency's lag).
    Blocks,
    RelatesTo,
    Duplicates,
}

/// Statuses a task is finished in: its dependents wait for it no longer.
pub const FINISHED: [DbTaskStatus; 2] = [DbTaskStatus::Done, DbTaskStatus::Cancelled];

/// The condition that a task is not finished: no status yet, or one not in [`FINISHED`].
fn unfinished() -> Condition {
    Condition::any()
        .add(tasks::Column::Status.is_null())
        .add(tasks::Column::Status.is_not_in(FINISHED))
}

/// Which dependencies to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TaskDependencyFilter {
    pub project_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub depends_on_task_id: Option<Uuid>,
    pub dependency_type: Option<DependencyType>,
    /// Only dependencies on tasks not finished yet (not done, not cancelled).
    pub unfinished: Option<bool>,
}

impl Filter for TaskDependencyFilter {
    type Model = deps::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.project_id {
            c = c.add(deps::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.task_id {
            c = c.add(deps::Column::TaskId.eq(v));
        }
        if let Some(v) = self.depends_on_task_id {
            c = c.add(deps::Column::DependsOnTaskId.eq(v));
        }
        if let Some(v) = self.dependency_type {
            c = c.add(deps::Column::DependencyType.eq(DbDependencyType::from(v)));
        }
        if let Some(unfinished) = self.unfinished {
            let finished = Query::select()
                .column(tasks::Column::Id)
                .from(tasks::Entity)
                .and_where(tasks::Column::Status.is_in(FINISHED))
                .to_owned();
            c = c.add(if unfinished {
                deps::Column::DependsOnTaskId.not_in_subquery(finished)
            } else {
                deps::Column::DependsOnTaskId.in_subquery(finished)
            });
        }
        Ok(c)
    }
}

ordering!(
    /// How to order dependencies.
    TaskDependencyOrder, TaskDependencyOrderField, deps::Model {
        CreatedAt => deps::Column::CreatedAt,
    }
);

/// What dependencies hang off: the task that waits, the task waited for, the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskDependenciesOf {
    /// The dependencies of a task: what it waits for.
    Task,
    /// The dependencies on a task: what waits for it.
    DependsOn,
    Project,
}

impl Link for TaskDependenciesOf {
    type Model = deps::Model;
    fn column(self) -> deps::Column {
        match self {
            TaskDependenciesOf::Task => deps::Column::TaskId,
            TaskDependenciesOf::DependsOn => deps::Column::DependsOnTaskId,
            TaskDependenciesOf::Project => deps::Column::ProjectId,
        }
    }
}

/// The condition that a task is ready (`true`): not finished, and every task it depends
/// on with `blocks` finished — or not ready (`false`).
pub fn ready(ready: bool) -> Condition {
    let blocked = Query::select()
        .column((deps::Entity, deps::Column::TaskId))
        .from(deps::Entity)
        .inner_join(
            tasks::Entity,
            Expr::col((tasks::Entity, tasks::Column::Id))
                .equals((deps::Entity, deps::Column::DependsOnTaskId)),
        )
        .and_where(deps::Column::DependencyType.eq(DbDependencyType::Blocks))
        .cond_where(unfinished())
        .to_owned();
    let is_ready = Condition::all()
        .add(unfinished())
        .add(tasks::Column::Id.not_in_subquery(blocked));
    if ready { is_ready } else { is_ready.not() }
}

/// One task on a project's schedule, in hours from the project's start.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ScheduledTask {
    pub task_id: Uuid,
    /// The task's estimated hours (0 when unestimated).
    pub duration: f64,
    pub earliest_start: f64,
    pub earliest_finish: f64,
    pub latest_start: f64,
    pub latest_finish: f64,
    /// How much the task may slip without delaying the project.
    pub slack: f64,
    /// On a critical path: no slack.
    pub critical: bool,
}

/// A project's schedule over its `blocks` dependencies (the critical path method).
#[derive(SimpleObject, Debug, Clone, Default, PartialEq)]
pub struct CriticalPath {
    /// The length of the longest chain, in hours: the project's shortest duration.
    pub total_hours: f64,
    /// The tasks of one longest chain, first to last.
    pub path: Vec<Uuid>,
    /// Every unfinished task, in a topological order (a task after all it waits for).
    pub tasks: Vec<ScheduledTask>,
}

/// Schedules `tasks` (id, duration in hours) over `edges` (task, task it waits for, lag
/// in hours) with the critical path method: Kahn's topological order, earliest times
/// forward, latest times backward. Edges to tasks not listed are ignored. `None` when
/// the edges have a cycle (the database refuses one; a caller may still pass any graph).
pub fn critical_path(tasks: &[Duration], edges: &[Edge]) -> Option<CriticalPath> {
    let index: Map<Uuid, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let n = tasks.len();
    // successors[a] = (b, lag): b waits for a.
    let mut successors: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for (task, on, lag) in edges {
        if let (Some(&b), Some(&a)) = (index.get(task), index.get(on)) {
            successors[a].push((b, *lag));
            waiting[b] += 1;
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    while let Some(a) = queue.pop_front() {
        order.push(a);
        for &(b, _) in &successors[a] {
            waiting[b] -= 1;
            if waiting[b] == 0 {
                queue.push_back(b);
            }
        }
    }
    if order.len() < n {
        return None;
    }
    let duration = |i: usize| tasks[i].1;
    let mut earliest = vec![0.0f64; n];
    // The predecessor that sets each task's earliest start, for the path.
    let mut via: Vec<Option<usize>> = vec![None; n];
    for &a in &order {
        let finish = earliest[a] + duration(a);
        for &(b, lag) in &successors[a] {
            if finish + lag > earliest[b] {
                earliest[b] = finish + lag;
                via[b] = Some(a);
            }
        }
    }
    let total = (0..n)
        .map(|i| earliest[i] + duration(i))
        .fold(0.0, f64::max);
    let mut latest_finish = vec![total; n];
    for &a in order.iter().rev() {
        for &(b, lag) in &successors[a] {
            let bound = latest_finish[b] - duration(b) - lag;
            if bound < latest_finish[a] {
                latest_finish[a] = bound;
            }
        }
    }
    const EPSILON: f64 = 1e-9;
    let mut path = Vec::new();
    let end = (0..n).find(|&i| (earliest[i] + duration(i) - total).abs() < EPSILON && n > 0);
    let mut at = end;
    while let Some(i) = at {
        path.push(tasks[i].0);
        at = via[i];
    }
    path.reverse();
    let scheduled = order
        .iter()
        .map(|&i| {
            let latest_start = latest_finish[i] - duration(i);
            let slack = latest_start - earliest[i];
            ScheduledTask {
                task_id: tasks[i].0,
                duration: duration(i),
                earliest_start: earliest[i],
                earliest_finish: earliest[i] + duration(i),
                latest_start,
                latest_finish: latest_finish[i],
                slack,
                critical: slack.abs() < EPSILON,
            }
        })
        .collect();
    Some(CriticalPath {
        total_hours: total,
        path,
        tasks: scheduled,
    })
}

/// A task and its duration in hours.
type Duration = (Uuid, f64);
/// A task, the task it waits for, and the lag in hours.
type Edge = (Uuid, Uuid, f64);

/// Key: a project's critical path over its unfinished tasks. Two statements for any
/// number of projects: their unfinished tasks, their `blocks` dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CriticalPathOf(pub Uuid);

impl Fetch<CriticalPathOf> for RequestTxn {
    type Value = CriticalPath;

    async fn fetch(&self, keys: &[CriticalPathOf]) -> Result<Map<CriticalPathOf, CriticalPath>> {
        let backend = self.backend();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows: Vec<(Uuid, Uuid, Option<i32>)> = tasks::Entity::find()
            .select_only()
            .column(tasks::Column::ProjectId)
            .column(tasks::Column::Id)
            .column(tasks::Column::EstimatedHours)
            .filter(any_of(
                backend,
                Expr::col((tasks::Entity, tasks::Column::ProjectId)),
                &ids,
            ))
            .filter(unfinished())
            .filter(self.visible::<tasks::Model>())
            .into_tuple()
            .all(self.conn())
            .await?;
        let edges: Vec<(Uuid, Uuid, Uuid, i32)> = deps::Entity::find()
            .select_only()
            .column(deps::Column::ProjectId)
            .column(deps::Column::TaskId)
            .column(deps::Column::DependsOnTaskId)
            .column(deps::Column::LagHours)
            .filter(any_of(
                backend,
                Expr::col((deps::Entity, deps::Column::ProjectId)),
                &ids,
            ))
            .filter(deps::Column::DependencyType.eq(DbDependencyType::Blocks))
            .filter(self.visible::<deps::Model>())
            .into_tuple()
            .all(self.conn())
            .await?;
        let mut by_project: Map<Uuid, (Vec<Duration>, Vec<Edge>)> = Map::default();
        for (project, id, hours) in rows {
            by_project
                .entry(project)
                .or_default()
                .0
                .push((id, f64::from(hours.unwrap_or(0))));
        }
        for (project, task, on, lag) in edges {
            by_project
                .entry(project)
                .or_default()
                .1
                .push((task, on, f64::from(lag)));
        }
        Ok(keys
            .iter()
            .map(|k| {
                let (tasks, edges) = by_project.remove(&k.0).unwrap_or_default();
                (*k, critical_path(&tasks, &edges).unwrap_or_default())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::now_v7()).collect()
    }

    #[test]
    fn the_longest_chain_is_critical_and_the_rest_has_slack() {
        // a(3) → b(2) → d(4); a → c(1) → d: c may slip an hour.
        let [a, b, c, d] = ids(4)[..] else {
            unreachable!()
        };
        let tasks = [(a, 3.0), (b, 2.0), (c, 1.0), (d, 4.0)];
        let edges = [(b, a, 0.0), (c, a, 0.0), (d, b, 0.0), (d, c, 0.0)];
        let cp = critical_path(&tasks, &edges).expect("no cycle");
        assert_eq!(cp.total_hours, 9.0);
        assert_eq!(cp.path, [a, b, d]);
        let of = |id| {
            cp.tasks
                .iter()
                .find(|t| t.task_id == id)
                .expect("scheduled")
        };
        assert!(of(a).critical && of(b).critical && of(d).critical);
        assert_eq!((of(c).earliest_start, of(c).slack), (3.0, 1.0));
        assert!(!of(c).critical);
        assert_eq!((of(d).earliest_start, of(d).latest_start), (5.0, 5.0));
        // A lag of an hour on c → d uses c's slack up: both chains are critical.
        let lagged = [(b, a, 0.0), (c, a, 0.0), (d, b, 0.0), (d, c, 1.0)];
        let cp = critical_path(&tasks, &lagged).expect("no cycle");
        assert_eq!(cp.total_hours, 9.0);
        assert!(cp.tasks.iter().all(|t| t.critical));
    }

    #[test]
    fn a_cycle_has_no_schedule_and_unlisted_tasks_are_ignored() {
        let [a, b, outside] = ids(3)[..] else {
            unreachable!()
        };
        assert_eq!(
            critical_path(&[(a, 1.0), (b, 1.0)], &[(a, b, 0.0), (b, a, 0.0)]),
            None
        );
        let cp = critical_path(&[(a, 1.0), (b, 2.0)], &[(a, outside, 0.0)]).expect("no cycle");
        assert_eq!((cp.total_hours, cp.path.clone()), (2.0, vec![b]));
        assert_eq!(critical_path(&[], &[]), Some(CriticalPath::default()));
    }

    #[test]
    fn a_long_chain_and_a_wide_fan_are_scheduled() {
        let chain = ids(10_000);
        let tasks: Vec<(Uuid, f64)> = chain.iter().map(|id| (*id, 1.0)).collect();
        let edges: Vec<(Uuid, Uuid, f64)> = chain.windows(2).map(|w| (w[1], w[0], 0.0)).collect();
        let cp = critical_path(&tasks, &edges).expect("no cycle");
        assert_eq!(cp.total_hours, 10_000.0);
        assert_eq!(cp.path.len(), 10_000);
        // One task everyone waits for: all critical only if equally long.
        let fan = ids(2_001);
        let tasks: Vec<(Uuid, f64)> = fan
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, if i == 1 { 5.0 } else { 1.0 }))
            .collect();
        let edges: Vec<(Uuid, Uuid, f64)> = fan[1..].iter().map(|t| (*t, fan[0], 0.0)).collect();
        let cp = critical_path(&tasks, &edges).expect("no cycle");
        assert_eq!(cp.total_hours, 6.0);
        assert_eq!(cp.path, [fan[0], fan[1]]);
        assert_eq!(cp.tasks.iter().filter(|t| t.critical).count(), 2);
    }
}
