//! The root mutation, merged from one part per context. Every field is one delegation
//! to a command of the context that owns the table ([`crate::context::command`]): who
//! may do it, what its input must satisfy and the statements it runs are the context's
//! (`bduf_identity::commands`, `bduf_planning::commands`, …). Each runs in a savepoint
//! of the request's transaction, so a failed field changes nothing and the others stand.

mod collaboration;
mod governance;
mod identity;
mod planning;
mod trees;
mod work;

use async_graphql::MergedObject;

pub use collaboration::CollaborationMutation;
pub use governance::GovernanceMutation;
pub use identity::IdentityMutation;
pub use planning::PlanningMutation;
pub use trees::TreesMutation;
pub use work::WorkMutation;

/// The root mutation type.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    IdentityMutation,
    PlanningMutation,
    TreesMutation,
    WorkMutation,
    CollaborationMutation,
    GovernanceMutation,
);
