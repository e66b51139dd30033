//! The GraphQL schema of bduf: the object types of every context ([`types`]), the merged
//! root query ([`query`]) and mutation ([`mutation`]), the limits every request runs
//! under, and [`execute`], which runs a request in its one transaction.
//!
//! The object types live here rather than in the domain crates because the graph is
//! interconnected both ways (an organization lists its projects, a project names its
//! organization) and async-graphql cannot add fields to a type from another crate; the
//! domain crates keep what is theirs: filters, orderings, links, enums, aggregates and
//! commands. Each object type is generated (`generated/`, by `cargo xtask codegen`: one
//! field per column) merged with its hand-written edges (`types/`); each mutation field
//! delegates to a command of a context ([`context::command`]). Nothing here writes SQL or
//! decides a rule of the domain.

mod arguments;
pub mod context;
mod documents;
pub mod error;
pub mod generated;
pub mod jobs;
mod limits;
pub mod mutation;
pub(crate) mod object;
mod order;
mod prefetch;
pub mod query;
mod support;
pub mod types;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use std::sync::{Arc, OnceLock};

use async_graphql::{EmptySubscription, Schema, SchemaEnv, ValidationMode};
use bduf_core::{Access, Batcher, Client, Db, Error, RequestContext, RequestTxn};
use bduf_identity::idempotency::{self, Claim};

pub use bduf_identity::auth;
pub use error::refusal;
pub use limits::{ANCESTORS_WEIGHT, LATEST_ANALYSES_WEIGHT, Limits};
pub use mutation::Mutation;
pub use query::Query;
pub use support::{Totals, page_cost};

pub use documents::{CAPACITY as DOCUMENT_CACHE_CAPACITY, DocumentStats};

/// The schema the server executes, with the documents its requests sent
/// ([`documents`]: parsed and validated once, and known by hash to automatic persisted
/// queries). Clones share both.
#[derive(Clone)]
pub struct BdufSchema {
    /// Validates in full and enforces the limits in an extension ([`limits::Guard`]).
    strict: Schema<Query, Mutation, EmptySubscription>,
    /// Runs operations that passed validation before: no extension, only the validation
    /// execution needs; the limits are judged before it runs.
    fast: Schema<Query, Mutation, EmptySubscription>,
    limits: Limits,
    /// The schemas' environment (their registry), kept by the guard on the first request.
    env: Arc<OnceLock<SchemaEnv>>,
    documents: Arc<documents::Documents>,
}

impl std::fmt::Debug for BdufSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BdufSchema")
            .field("limits", &self.limits)
            .field("documents", &self.documents.stats())
            .finish_non_exhaustive()
    }
}

impl BdufSchema {
    /// The schema in SDL.
    pub fn sdl(&self) -> String {
        self.strict.sdl()
    }

    /// What the document cache holds and has done.
    pub fn document_stats(&self) -> DocumentStats {
        self.documents.stats()
    }

    /// Runs `request` for `document`: on the fast schema when its operation passed
    /// validation before and its variables' values fit their types (the limits judged
    /// here), else on the strict one.
    async fn run(
        &self,
        request: async_graphql::Request,
        document: Option<&Arc<documents::Document>>,
        batcher: &Batcher,
    ) -> async_graphql::Response {
        let operation = request.operation_name.clone();
        let known = document.and_then(|document| {
            let env = self.env.get()?;
            let validated = document.validated(operation.as_deref())?;
            let op = documents::operation(&document.parsed, operation.as_deref())?;
            documents::variables_valid(&env.registry, op, &request.variables)
                .then_some((env, validated))
        });
        let Some((env, validated)) = known else {
            return bduf_core::drive(batcher, self.strict.execute(request)).await;
        };
        let document = document.map(|d| &d.parsed);
        let cost = document.map_or_else(Default::default, |document| {
            limits::cost(
                &env.registry,
                document,
                operation.as_deref(),
                &request.variables,
            )
        });
        if let Err(refused) = self.limits.judge(validated.depth, cost) {
            return async_graphql::Response::from_errors(vec![refused]);
        }
        let response = bduf_core::drive(batcher, self.fast.execute(request)).await;
        self.limits.report(response, cost)
    }
}

/// Builds the schema with `limits`.
pub fn schema(limits: Limits) -> BdufSchema {
    let env = Arc::new(OnceLock::new());
    let build = |mode: ValidationMode| {
        let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
            .validation_mode(mode)
            .limit_recursive_depth(64);
        if !limits.introspection {
            builder = builder.disable_introspection().disable_suggestions();
        }
        builder
    };
    let strict = build(ValidationMode::Strict)
        .extension(limits::Guard {
            limits,
            env: Arc::clone(&env),
        })
        // Inside the guard, so it sees async-graphql's validation alone.
        .extension(documents::Remember)
        .finish();
    BdufSchema {
        strict,
        fast: build(ValidationMode::Fast).finish(),
        limits,
        env,
        documents: Arc::default(),
    }
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

/// What a request comes to: the response, and whether it was refused for want of a
/// database connection (the HTTP layer answers that with `503` and `Retry-After`).
#[derive(Debug)]
pub struct Answer {
    pub response: async_graphql::Response,
    /// No connection came free within the pool's acquire timeout: nothing ran.
    pub busy: bool,
}

impl From<async_graphql::Response> for Answer {
    fn from(response: async_graphql::Response) -> Self {
        Answer {
            response,
            busy: false,
        }
    }
}

/// Runs `request` against `db` for the client described by `context`, in one
/// transaction on one connection from the first statement to the last.
///
/// 1. The transaction begins — REPEATABLE READ for a query (one snapshot for all its
///    levels), READ COMMITTED for a mutation — or, when no connection comes free in
///    time, the answer is [`Answer::busy`].
/// 2. Authentication, in that transaction: the bearer token is looked up and the
///    transaction made to act for its viewer, in one statement ([`auth::authenticate`]:
///    on PostgreSQL the role `bduf_app` under row-level security, with the user and
///    organization set); without a valid token the request acts for nobody
///    ([`RequestTxn::enter`]) and only `signUp`, `signIn` and introspection run —
///    anything else is one `UNAUTHENTICATED` error.
/// 3. A signed-in mutation with an `Idempotency-Key` claims the key or replays the
///    answer stored under it ([`bduf_identity::idempotency`]).
/// 4. Execution under a fresh batcher, fetching in waves (see [`bduf_core::batch`]):
///    every nesting level costs one statement per kind of key, however many items it
///    has. Each mutation field runs in a savepoint of its own, so a failed one changes
///    nothing and the others stand.
/// 5. The transaction commits (a query's too: it may have touched the session).
pub async fn execute(
    schema: &BdufSchema,
    mut request: async_graphql::Request,
    db: &Db,
    context: RequestContext,
) -> Answer {
    // A document that does not parse is left to async-graphql, which names the error.
    let document = match schema.documents.document(&mut request) {
        Ok(document) => document,
        Err(missing) => return async_graphql::Response::from_errors(vec![missing.error()]).into(),
    };
    let operation = request.operation_name.clone();
    let variables = request.variables.clone();
    let shape = document
        .as_ref()
        .and_then(|d| shape(&d.parsed, operation.as_deref()))
        .unwrap_or(Shape {
            mutation: false,
            anonymous: true,
        });
    let access = if shape.mutation {
        Access::Write
    } else {
        Access::Read
    };
    let client = Client {
        request_id: uuid::Uuid::now_v7(),
        ip: context.ip,
        user_agent: context.user_agent.clone(),
        collaboration_session: context.collaboration_session,
    };
    let txn = match RequestTxn::begin(db, access).await {
        Ok(txn) => txn.from_client(client),
        Err(Error::Busy) => {
            return Answer {
                response: refusal(Error::Busy),
                busy: true,
            };
        }
        Err(err) => return refusal(err).into(),
    };
    let viewer = match &context.token {
        None => None,
        Some(token) => match auth::authenticate(&txn, token, context.organization).await {
            Ok(viewer) => Some(viewer),
            Err(err @ Error::Database(_)) => return refused(txn, err).await,
            Err(err) if !shape.anonymous => return refused(txn, err).await,
            Err(_) => None,
        },
    };
    if viewer.is_none() && !shape.anonymous {
        let err = Error::Unauthenticated(
            "sign in first: send Authorization: Bearer <token> (signIn returns one)",
        );
        return refused(txn, err).await;
    }
    // Authentication made the request act for its viewer; without one it acts for
    // nobody, whatever a refused token's statement set.
    if viewer.is_none()
        && let Err(err) = txn.enter(None).await
    {
        return refused(txn, err).await;
    }
    let organization = viewer.as_ref().and_then(|v| v.organization);
    let signed_in = viewer.is_some();
    // A signed-in mutation with an idempotency key: claim the key, or replay its answer.
    let mut claimed = None;
    if let (true, true, Some(key)) = (shape.mutation, signed_in, &context.idempotency_key) {
        let variables = serde_json::to_value(&variables).unwrap_or_default();
        let print = idempotency::fingerprint(
            &request.query,
            operation.as_deref(),
            &variables,
            organization,
        );
        match idempotency::claim(&txn, key, &print).await {
            Ok(Claim::Run(id)) => claimed = Some(id),
            Ok(Claim::Replay(stored)) => {
                txn.rollback().await;
                return replay(stored).into();
            }
            Err(err) => return refused(txn, err).await,
        }
    }
    if let Some(document) = &document {
        request.set_parsed_query(document.parsed.clone());
        request = request.data(documents::Known {
            documents: Arc::clone(&schema.documents),
            document: Arc::clone(document),
            operation: operation.clone(),
        });
    }
    let batcher = Batcher::new(txn.clone());
    let request = request.data(batcher.clone()).data(context);
    let mut response = schema.run(request, document.as_ref(), &batcher).await;
    drop(batcher);
    error::with_codes(&mut response);
    if let Some(document) = &document {
        order::in_query_order(&mut response.data, &document.parsed, operation.as_deref());
        arguments::name_bad_values(&mut response.errors, &document.parsed, &variables);
    }
    if let Some(id) = claimed {
        let stored = serde_json::to_value(&response).unwrap_or_default();
        if let Err(err) = idempotency::store(&txn, id, stored).await {
            return refused(txn, err).await;
        }
    }
    if let Err(err) = txn.commit().await {
        tracing::error!(error = %err, "committing a request failed");
        return refusal(err).into();
    }
    response.into()
}

/// Ends `txn` without keeping anything and answers with `err`.
async fn refused(txn: RequestTxn, err: Error) -> Answer {
    txn.rollback().await;
    refusal(err).into()
}

/// The stored answer of an idempotent request, marked as a replay.
fn replay(stored: serde_json::Value) -> async_graphql::Response {
    match serde_json::from_value::<async_graphql::Response>(stored) {
        Ok(mut response) => {
            response.http_headers.insert(
                "idempotent-replayed",
                http::HeaderValue::from_static("true"),
            );
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "a stored idempotent response does not parse");
            refusal(idempotency::unreplayable())
        }
    }
}
