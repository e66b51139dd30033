//! Dependencies between tasks: delegations to `bduf_work::commands`.

use async_graphql::{Context, Object, Result};
use bduf_work::commands::{self as work, TaskDependencyInput, UpdateTaskDependencyInput};
use futures_util::FutureExt as _;
use uuid::Uuid;

use crate::context::command;
use crate::generated::TaskDependency;

/// Mutations of task dependencies (contributors).
#[derive(Default, Debug)]
pub struct WorkMutation;

#[Object]
impl WorkMutation {
    /// Makes a task wait for another of its project. Refused: a task waiting for itself,
    /// one of another project, a pair already there (`CONFLICT`), a `BLOCKS` dependency
    /// that would close a cycle.
    async fn add_task_dependency(
        &self,
        ctx: &Context<'_>,
        input: TaskDependencyInput,
    ) -> Result<TaskDependency> {
        command(ctx, move |tx| work::add_task_dependency(tx, input).boxed()).await
    }

    /// Changes a dependency's kind or lag; becoming `BLOCKS` is refused when it would
    /// close a cycle.
    async fn update_task_dependency(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateTaskDependencyInput,
    ) -> Result<TaskDependency> {
        command(ctx, move |tx| {
            work::update_task_dependency(tx, id, input).boxed()
        })
        .await
    }

    /// Removes a dependency. Returns its id.
    async fn remove_task_dependency(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| work::remove_task_dependency(tx, id).boxed()).await
    }
}
