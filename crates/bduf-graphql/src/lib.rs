//! The GraphQL schema of bduf: the object types of every context ([`types`]), the merged
//! root query ([`query`]), and the limits every request runs under.
//!
//! The object types live here rather than in the domain crates because the graph is
//! interconnected both ways (an organization lists its projects, a project names its
//! organization) and async-graphql cannot add fields to a type from another crate; the
//! domain crates keep what is theirs: filters, orderings, links, enums and aggregates.
//! Each object type is generated (`generated/`, by `cargo xtask codegen`: one field per
//! column) merged with its hand-written edges (`types/`).

mod arguments;
pub mod generated;
mod limits;
mod order;
pub mod query;
mod support;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, ErrorExtensions, Schema};
use bduf_core::{Batcher, Db, Reader, RequestContext};

pub use limits::{ANCESTORS_WEIGHT, LATEST_ANALYSES_WEIGHT, Limits};
pub use query::Query;
pub use support::{MAX_DESCENDANT_DEPTH, Totals, page_cost};

/// The schema type the server executes.
pub type BdufSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema with `limits`.
pub fn schema(limits: Limits) -> BdufSchema {
    let mut builder = Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .extension(limits::Guard(limits))
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

/// Runs `request` against `db` in one read-only transaction (one connection, one
/// snapshot) with a fresh batcher (batching never crosses requests), fetching in waves:
/// see [`bduf_core::batch`]. Every nesting level costs one statement per kind of key,
/// deterministically, however many items it has and however slow the machine. When no
/// connection comes free in time the answer is one `SERVER_BUSY` error.
pub async fn execute(
    schema: &BdufSchema,
    request: async_graphql::Request,
    db: &Db,
    context: RequestContext,
) -> async_graphql::Response {
    let reader = match Reader::begin(db).await {
        Ok(reader) => reader,
        Err(err) => {
            return async_graphql::Response::from_errors(vec![
                err.extend().into_server_error(Default::default()),
            ]);
        }
    };
    let batcher = Batcher::new(reader.clone());
    let query = request.query.clone();
    let operation = request.operation_name.clone();
    let variables = request.variables.clone();
    let execution = schema.execute(request.data(batcher.clone()).data(context));
    let mut response = bduf_core::drive(&batcher, execution).await;
    drop(batcher);
    reader.finish().await;
    with_codes(&mut response);
    // async-graphql keeps its parsed document to itself: parsed again, once, for both.
    if let Ok(document) = async_graphql::parser::parse_query(&query) {
        order::in_query_order(&mut response.data, &document, operation.as_deref());
        arguments::name_bad_values(&mut response.errors, &document, &variables);
    }
    response
}

/// Gives every error a stable `extensions.code`. Errors of bduf's resolvers carry theirs;
/// the others come from async-graphql: parsing and validating the request before
/// anything ran (no path), or parsing an argument's value (`Failed to parse "UUID"`).
fn with_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            let code = if error.path.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else if error.message.starts_with("Failed to parse") {
                "BAD_USER_INPUT"
            } else {
                "INTERNAL_SERVER_ERROR"
            };
            extensions.set("code", code);
        }
    }
}
