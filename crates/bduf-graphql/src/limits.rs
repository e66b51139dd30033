//! The limits every request runs under — nesting depth and cost — checked after
//! validation, before anything runs, with errors that name the limit, the request's
//! figure and the maximum; and the cost of an accepted request in
//! `extensions.cost`.
//!
//! The cost of a query is async-graphql's complexity with bduf's weights: every field
//! costs 1 plus what it selects, a connection costs its page size (`first`/`last`, 20 by
//! default) times what one node selects, `ancestors` [`ANCESTORS_WEIGHT`] times and
//! `latestAnalyses` [`LATEST_ANALYSES_WEIGHT`] times. So the cost bounds the number of
//! fields a response can hold: 300 aliases of a 100-node page, or pages nested three
//! deep, are refused before a single statement runs.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};

/// The field selections in `set`, nested ones included.
fn fields(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => 1 + fields(&field.node.selection_set.node),
            Selection::InlineFragment(fragment) => fields(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// The field selections of a whole document: its operations and fragments.
fn document_fields(document: &ExecutableDocument) -> usize {
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| fields(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| fields(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// Limits every request runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most field selections a document may hold (counted right after parsing, so a
    /// huge document is refused before validation, whose cost grows faster than its size).
    pub fields: usize,
    /// The deepest selection nesting allowed.
    pub depth: usize,
    /// The highest cost a query may have (see the module documentation).
    pub cost: usize,
    /// Whether clients may introspect the schema.
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fields: 1_000,
            depth: 16,
            cost: 25_000,
            introspection: true,
        }
    }
}

/// The weight of `ancestors`: its cap, [`bduf_core::read::MAX_ANCESTORS`].
pub const ANCESTORS_WEIGHT: usize = bduf_core::read::MAX_ANCESTORS as usize;

// The `ancestors` fields' descriptions name the cap.
const _: () = assert!(
    bduf_core::read::MAX_ANCESTORS == 32,
    "update the descriptions of the `ancestors` fields"
);

/// The weight of `latestAnalyses`: one analysis per analysis type.
pub const LATEST_ANALYSES_WEIGHT: usize = 5;

/// The extension that enforces [`Limits`].
pub(crate) struct Guard(pub Limits);

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension {
            limits: self.0,
            cost: Mutex::new(None),
        })
    }
}

struct GuardExtension {
    limits: Limits,
    cost: Mutex<Option<usize>>,
}

/// An error refusing a query over `limit`, with its code and figures.
fn refusal(code: &str, message: String, figure: &str, value: usize, max: usize) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    extensions.set(figure, value);
    extensions.set("max", max);
    error.extensions = Some(extensions);
    error
}

#[async_trait::async_trait]
impl Extension for GuardExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        let cost = self.cost.lock().ok().and_then(|mut c| c.take());
        match cost {
            Some(cost) => response.extension(
                "cost",
                Value::from_json(serde_json::json!({ "requested": cost, "max": self.limits.cost }))
                    .unwrap_or(Value::Null),
            ),
            None => response,
        }
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let count = document_fields(&document);
        if count > self.limits.fields {
            let mut error = refusal(
                "QUERY_TOO_LARGE",
                format!(
                    "the query selects {count} fields; at most {} are allowed",
                    self.limits.fields
                ),
                "fields",
                count,
                self.limits.fields,
            );
            error.locations = Vec::new();
            return Err(error);
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let limits = self.limits;
        if result.depth > limits.depth {
            return Err(vec![refusal(
                "QUERY_TOO_DEEP",
                format!(
                    "the query nests {} levels deep; at most {} are allowed",
                    result.depth, limits.depth
                ),
                "depth",
                result.depth,
                limits.depth,
            )]);
        }
        if result.complexity > limits.cost {
            return Err(vec![refusal(
                "QUERY_TOO_COSTLY",
                format!(
                    "the query may cost up to {} (a connection costs its page size times its \
                     nodes' fields); at most {} is allowed: ask for smaller pages or fewer fields",
                    result.complexity, limits.cost
                ),
                "cost",
                result.complexity,
                limits.cost,
            )]);
        }
        if let Ok(mut cost) = self.cost.lock() {
            *cost = Some(result.complexity);
        }
        Ok(result)
    }
}
