//! Hand-written additions to the generated entities: the relations sea-orm-codegen does
//! not emit.
//!
//! A self-referencing foreign key (`parent_id`) comes out only as `Relation::SelfRef`, the
//! child-to-parent direction. These [`Linked`] paths give the parent-to-children direction,
//! for `parent.find_linked(RequirementChildren)`. Whole trees are better fetched by their
//! shared key (`project_id`) and assembled in memory, or by one recursive CTE.

use sea_orm::entity::prelude::*;
use sea_orm::{Linked, RelationDef};

use crate::{architectural_components, comments, requirements, tasks};

macro_rules! children_link {
    ($(#[$doc:meta])* $name:ident, $module:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Linked for $name {
            type FromEntity = $module::Entity;
            type ToEntity = $module::Entity;

            fn link(&self) -> Vec<RelationDef> {
                vec![$module::Relation::SelfRef.def().rev()]
            }
        }
    };
}

children_link!(
    /// A requirement's direct sub-requirements.
    RequirementChildren,
    requirements
);
children_link!(
    /// An architectural component's direct sub-components.
    ComponentChildren,
    architectural_components
);
children_link!(
    /// A task's direct sub-tasks.
    TaskChildren,
    tasks
);
children_link!(
    /// A comment's direct replies.
    CommentReplies,
    comments
);
