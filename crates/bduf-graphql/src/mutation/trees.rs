//! The plan's trees — requirements, architectural components and tasks: delegations to
//! the tree commands of `bduf_planning::commands` and `bduf_work::commands`.

use async_graphql::{Context, Object, Result};
use bduf_planning::commands::{
    self as planning, ComponentInput, ComponentNodeInput, RequirementInput, RequirementNodeInput,
};
use bduf_work::commands::{self as work, TaskInput, TaskNodeInput};
use futures_util::FutureExt as _;
use uuid::Uuid;

use crate::context::command;
use crate::generated::{ArchitecturalComponent, Requirement, Task};

/// Mutations of requirements, components and tasks (contributors).
#[derive(Default, Debug)]
pub struct TreesMutation;

macro_rules! tree_mutations {
    ($($context:ident, $node:ident, $input:ident, $nodes:ident:
        $create:ident, $update:ident, $delete:ident, $move_:ident, $tree:ident;)*) => {
        #[Object]
        impl TreesMutation {
            $(
                #[doc = concat!("Creates a `", stringify!($node), "` in a project of the active organization, under `parentId` (same project) or as a root.")]
                async fn $create(&self, ctx: &Context<'_>, project_id: Uuid, parent_id: Option<Uuid>, input: $input) -> Result<$node> {
                    command(ctx, move |tx| $context::$create(tx, project_id, parent_id, input).boxed()).await
                }

                #[doc = concat!("Changes the given fields of a `", stringify!($node), "`.")]
                async fn $update(&self, ctx: &Context<'_>, id: Uuid, input: $input) -> Result<$node> {
                    command(ctx, move |tx| $context::$update(tx, id, input).boxed()).await
                }

                #[doc = concat!("Deletes a `", stringify!($node), "` and its subtree. Returns its id.")]
                async fn $delete(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
                    command(ctx, move |tx| $context::$delete(tx, id).boxed()).await
                }

                #[doc = concat!("Moves a `", stringify!($node), "` with its subtree under `parentId` (same project; not its own descendant), or to the root without one.")]
                async fn $move_(&self, ctx: &Context<'_>, id: Uuid, parent_id: Option<Uuid>) -> Result<$node> {
                    command(ctx, move |tx| $context::$move_(tx, id, parent_id).boxed()).await
                }

                #[doc = concat!("Creates a whole subtree of `", stringify!($node), "`s in one call, all or nothing: the nodes come back in the order given.")]
                async fn $tree(&self, ctx: &Context<'_>, project_id: Uuid, parent_id: Option<Uuid>, nodes: Vec<$nodes>) -> Result<Vec<$node>> {
                    let rows: Vec<_> = command(ctx, move |tx| $context::$tree(tx, project_id, parent_id, nodes).boxed()).await?;
                    Ok(rows.into_iter().map($node::from).collect())
                }
            )*
        }
    };
}

tree_mutations! {
    planning, Requirement, RequirementInput, RequirementNodeInput:
        create_requirement, update_requirement, delete_requirement, move_requirement, create_requirement_tree;
    planning, ArchitecturalComponent, ComponentInput, ComponentNodeInput:
        create_component, update_component, delete_component, move_component, create_component_tree;
    work, Task, TaskInput, TaskNodeInput:
        create_task, update_task, delete_task, move_task, create_task_tree;
}
