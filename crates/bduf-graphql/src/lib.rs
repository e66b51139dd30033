//! The GraphQL schema of bduf: the object types of every context ([`types`]), the merged
//! root query ([`query`]), and the limits every request runs under.
//!
//! The object types live here rather than in the domain crates because the graph is
//! interconnected both ways (an organization lists its projects, a project names its
//! organization) and async-graphql cannot add fields to a type from another crate; the
//! domain crates keep what is theirs: filters, orderings, enums, aggregates and loaders.

pub mod query;
mod support;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use bduf_core::{Db, RequestContext};

pub use query::Query;
pub use support::{MAX_DESCENDANT_DEPTH, Totals};

/// The schema type the server executes.
pub type BdufSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Limits every request runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The deepest selection nesting allowed.
    pub depth: usize,
    /// The most fields one request may select (each field counts 1).
    pub complexity: usize,
    /// Whether clients may introspect the schema.
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 16,
            complexity: 20_000,
            introspection: true,
        }
    }
}

/// Builds the schema with `limits`.
pub fn schema(limits: Limits) -> BdufSchema {
    let mut builder = Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(64);
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL, for the snapshot test and for clients.
pub fn sdl() -> String {
    schema(Limits::default()).sdl()
}

/// Runs `request` against `db` with fresh loaders (batching never crosses requests).
///
/// The loaders' fetches run inside this future, polled only while the query's own
/// resolution waits: each nesting level queues all its keys before any fetch starts, so
/// every level costs one statement per kind of key, deterministically, however slow the
/// machine. (A fetch on a runtime thread of its own, after a timer, can start while a
/// large level is still queueing keys, and split its batch.)
pub async fn execute(
    schema: &BdufSchema,
    request: async_graphql::Request,
    db: &Db,
    context: RequestContext,
) -> async_graphql::Response {
    use futures_util::StreamExt as _;
    use futures_util::stream::FuturesUnordered;

    let (spawn, mut spawned) = tokio::sync::mpsc::unbounded_channel();
    let loaders = bduf_core::loader::request_loaders(db.clone(), move |fetch| {
        // The receiver lives as long as the request; a send can only fail after it ends.
        let _ = spawn.send(fetch);
    });
    let execution = schema.execute(request.data(loaders).data(context));
    tokio::pin!(execution);
    let mut fetches = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            response = &mut execution => return response,
            Some(fetch) = spawned.recv() => fetches.push(fetch),
            Some(()) = fetches.next(), if !fetches.is_empty() => {}
        }
    }
}
