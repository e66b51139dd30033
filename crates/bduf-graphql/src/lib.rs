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
pub mod idempotency;
mod limits;
pub mod mutation;
mod order;
pub mod query;
mod support;
pub mod types;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{EmptySubscription, ErrorExtensions, Schema};
use bduf_core::{Access, Batcher, Db, Reader, RequestContext};

pub use bduf_identity::auth;
pub use limits::{ANCESTORS_WEIGHT, LATEST_ANALYSES_WEIGHT, Limits};
pub use mutation::Mutation;
pub use query::Query;
pub use support::{MAX_DESCENDANT_DEPTH, Totals, page_cost};

/// The schema type the server executes.
pub type BdufSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema with `limits`.
pub fn schema(limits: Limits) -> BdufSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(std::sync::Arc::new(auth::Throttle::default()))
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

/// What an operation is, read off the request before it runs.
struct Shape {
    mutation: bool,
    /// Whether every root field may be asked without signing in.
    anonymous: bool,
}

/// The root fields a client may ask for without a session.
const ANONYMOUS_FIELDS: [&str; 5] = ["signUp", "signIn", "__typename", "__schema", "__type"];

fn shape(document: &ExecutableDocument, operation: Option<&str>) -> Option<Shape> {
    let op = match &document.operations {
        DocumentOperations::Single(op) => op,
        DocumentOperations::Multiple(ops) => match operation {
            Some(name) => ops.get(name)?,
            None if ops.len() == 1 => ops.values().next()?,
            None => return None,
        },
    };
    let anonymous = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .all(|item| match &item.node {
            Selection::Field(field) => ANONYMOUS_FIELDS.contains(&field.node.name.node.as_str()),
            _ => false,
        });
    Some(Shape {
        mutation: op.node.ty == OperationType::Mutation,
        anonymous,
    })
}

fn refuse(err: &bduf_core::Error) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![err.extend().into_server_error(Default::default())])
}

/// Runs `request` against `db` for the client described by `context`.
///
/// 1. Authentication: the bearer token is looked up ([`bduf_identity::auth`]); without a
///    valid one, only `signUp`, `signIn` and introspection run — anything else is one
///    `UNAUTHENTICATED` error.
/// 2. One transaction for the whole request, in the viewer's scope ([`Reader::begin`]:
///    on PostgreSQL as the role `bduf_app` under row-level security): REPEATABLE READ
///    for a query (one snapshot for all its levels), READ COMMITTED for a mutation.
/// 3. Execution under a fresh batcher, fetching in waves (see [`bduf_core::batch`]):
///    every nesting level costs one statement per kind of key, however many items it
///    has. Each mutation field runs in a savepoint of its own, so a failed one changes
///    nothing and the others stand; a mutation's transaction is committed at the end, a
///    query's rolled back.
///
/// When no connection comes free in time the answer is one `SERVER_BUSY` error.
pub async fn execute(
    schema: &BdufSchema,
    request: async_graphql::Request,
    db: &Db,
    mut context: RequestContext,
) -> async_graphql::Response {
    let query = request.query.clone();
    let operation = request.operation_name.clone();
    let variables = request.variables.clone();
    let document = async_graphql::parser::parse_query(&query).ok();
    // A document that does not parse is left to async-graphql, which names the error.
    let shape = document
        .as_ref()
        .and_then(|d| shape(d, operation.as_deref()))
        .unwrap_or(Shape {
            mutation: false,
            anonymous: true,
        });
    if let Some(token) = context.token.clone() {
        match auth::authenticate(db, &token, context.organization).await {
            Ok(viewer) => context.viewer = Some(viewer),
            Err(err) if !shape.anonymous => return refuse(&err),
            Err(_) => {}
        }
    }
    if context.viewer.is_none() && !shape.anonymous {
        return refuse(&bduf_core::Error::Unauthenticated(
            "sign in first: send Authorization: Bearer <token> (signIn returns one)",
        ));
    }
    // Signing up or in writes through the pool, not the request's transaction, which
    // then must not hold SQLite's write lock.
    let access = if shape.mutation && !shape.anonymous {
        Access::Write
    } else {
        Access::Read
    };
    let scope = context.viewer.as_ref().map(bduf_core::Viewer::scope);
    let reader = match Reader::begin(db, scope, access).await {
        Ok(reader) => reader,
        Err(err) => return refuse(&err),
    };
    // A signed-in mutation with an idempotency key: claim the key, or replay its answer.
    let mut claimed = None;
    if access == Access::Write
        && let (Some(key), Some(viewer), Some(txn)) = (
            context.idempotency_key.as_deref(),
            context.viewer.as_ref(),
            reader.transaction(),
        )
    {
        let print = idempotency::fingerprint(
            &query,
            operation.as_deref(),
            &serde_json::to_value(&variables).unwrap_or_default(),
            viewer.organization,
        );
        let claim = match idempotency::check_key(key) {
            Ok(()) => idempotency::claim(txn, viewer, key, &print).await,
            Err(err) => Err(err),
        };
        match claim {
            Ok(idempotency::Claim::Run(id)) => claimed = Some(id),
            Ok(idempotency::Claim::Replay(mut response)) => {
                reader.finish().await;
                response.http_headers.insert(
                    "idempotent-replayed",
                    http::HeaderValue::from_static("true"),
                );
                return *response;
            }
            Err(err) => {
                reader.finish().await;
                return refuse(&err);
            }
        }
    }
    let batcher = Batcher::new(reader.clone());
    let execution = schema.execute(request.data(batcher.clone()).data(context).data(db.clone()));
    let mut response = bduf_core::drive(&batcher, execution).await;
    drop(batcher);
    with_codes(&mut response);
    if let Some(document) = &document {
        order::in_query_order(&mut response.data, document, operation.as_deref());
        arguments::name_bad_values(&mut response.errors, document, &variables);
    }
    if access == Access::Write {
        if let (Some(id), Some(txn)) = (claimed, reader.transaction())
            && let Err(err) = idempotency::store(txn, id, &response).await
        {
            reader.finish().await;
            return refuse(&err);
        }
        if let Err(err) = reader.commit().await {
            tracing::error!(error = %err, "committing a mutation failed");
            return refuse(&err);
        }
    } else {
        reader.finish().await;
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
