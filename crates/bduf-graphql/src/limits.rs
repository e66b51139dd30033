//! The limits every request runs under — the document's size, its nesting depth and its
//! cost — each checked before anything runs, with errors that name the limit, the
//! request's figure and the maximum; and what an accepted request may cost, in
//! `extensions.cost`.
//!
//! # The cost model
//!
//! A query's cost is two figures, computed from the document (as soon as it is parsed,
//! and judged once it is valid) with the request's variables, its fragments expanded
//! (each spread counts again) and the selections `@skip` or `@include` leave out not
//! counted:
//!
//! - **nodes**, the most objects the response can hold: GitHub's node count. Every
//!   connection counts its page size — `first` or `last`, without either the default
//!   page ([`DEFAULT_PAGE`](bduf_core::paging::DEFAULT_PAGE), 20); a variable counts
//!   with its value — times the page sizes of the connections and lists above it; the
//!   figure is the sum over every connection and list. A list that is not a connection counts its cap:
//!   `ancestors` [`ANCESTORS_WEIGHT`], `latestAnalyses` [`LATEST_ANALYSES_WEIGHT`];
//!   a list without one (a schedule's tasks, the viewer's sessions, counts per status, a
//!   created tree) a full page, [`MAX_PAGE`]. A connection asked only for `totalCount`
//!   counts its page too, as on GitHub. The lists of a connection (`nodes`, `edges`)
//!   are its page, not another level; introspection (`__schema`, `__type`), answered
//!   from memory, is not counted.
//! - **connections**, how many connection and list selections the query holds, each
//!   alias and each fragment spread counted again. Every one is work of its own: a key
//!   the batcher fetches (with its own arguments, its own window in SQL) at each level
//!   it appears on, and a page to build. Aliases and spreads repeat a selection for a
//!   few bytes each, which no page size bounds.
//!
//! So `{ projects { nodes { requirements { nodes { children { nodes { children { nodes
//! { title } } } } } } } } }`, a page of 20 projects with their requirement trees three
//! levels deep, is 20 + 20·20 + 20·20·20 + 20·20·20·20 = 168,420 nodes in 4
//! connections; a project's 100 root requirements with 20 children a level, three
//! levels, 100 + 100·20 + 100·20·20 = 42,100 nodes. Both are accepted by the defaults,
//! [`Limits::DEFAULT`]: 500,000 nodes and 100 connections. 100-node pages nested three
//! deep are 1,010,100 nodes and refused; 300 aliases of a 100-node page are only 30,000
//! nodes but 300 connections, and refused too. No single figure could tell those two
//! apart from the dashboards: the first hostile shape is large in nodes, the second in
//! selections, and a dashboard is large in neither.
//!
//! The connection limit, 100, is seven times the widest query the project itself sends
//! (the statement-count test's, 13 connections and lists; the README's largest has 6),
//! and a third of the alias bomb.
//!
//! # Compared with GitHub
//!
//! GitHub's GraphQL API requires `first` or `last` on every connection, between 1 and
//! 100, and refuses a call of more than 500,000 nodes, counted as above. bduf counts
//! nodes the same way and refuses over the same 500,000 (`--node-limit`), but lets a
//! client leave `first` and `last` out: a page is then 20 rows and counts as 20, so
//! dashboards written without page sizes fit. `first`/`last` may be 0 to 100
//! ([`MAX_PAGE`]). GitHub counts connections only; bduf's plain lists count their caps.
//! Where GitHub then charges each call points against an hourly budget, bduf caps the
//! selections of one call (`--connection-limit`).
//!
//! # The second line
//!
//! The figures bound what a query may ask for, not what answering it costs the
//! database: a page of 20 under a filter no index serves, `descendants` of a deep tree
//! or a long critical path cost more than their node counts say. The request timeout
//! (`--request-timeout-ms`) and PostgreSQL's statement timeout
//! (`--statement-timeout-ms`) end those with `TIMEOUT`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextValidation,
};
use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, Field, FragmentDefinition, OperationType,
    Selection, SelectionSet, VariableDefinition,
};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{
    Name, Positioned, Request, Response, SchemaEnv, ServerError, ServerResult, ValidationResult,
    Value, Variables,
};
use bduf_core::paging::MAX_PAGE;

use crate::support::page_cost;

/// Limits every request runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most field selections a document may hold (counted right after parsing, so a
    /// huge document is refused before validation, whose cost grows faster than its size).
    pub fields: usize,
    /// The deepest selection nesting allowed.
    pub depth: usize,
    /// The most nodes a query may ask for (see the module documentation).
    pub nodes: usize,
    /// The most connection and list selections a query may hold (see the module
    /// documentation).
    pub connections: usize,
    /// Whether clients may introspect the schema.
    pub introspection: bool,
}

impl Limits {
    /// The defaults: 1,000 fields, 16 levels, 500,000 nodes (GitHub's node limit), 100
    /// connections, introspection on.
    pub const DEFAULT: Limits = Limits {
        fields: 1_000,
        depth: 16,
        nodes: 500_000,
        connections: 100,
        introspection: true,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
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

/// The weight of a list without a cap of its own: a full page.
const LIST_WEIGHT: usize = MAX_PAGE;

/// The weight of the list field `name` (not a connection's `nodes` or `edges`).
fn list_weight(name: &str) -> usize {
    match name {
        "ancestors" => ANCESTORS_WEIGHT,
        "latestAnalyses" => LATEST_ANALYSES_WEIGHT,
        _ => LIST_WEIGHT,
    }
}

/// What a query may cost (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    nodes: usize,
    connections: usize,
}

impl std::ops::Add for Cost {
    type Output = Cost;

    fn add(self, other: Cost) -> Cost {
        Cost {
            nodes: self.nodes.saturating_add(other.nodes),
            connections: self.connections.saturating_add(other.connections),
        }
    }
}

/// The cost of the operation of `document` the request names (every operation when it
/// names none: a document of several then fails anyway), with `variables`.
pub(crate) fn cost(
    registry: &Registry,
    document: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
) -> Cost {
    let operations: Vec<_> = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => vec![op],
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).into_iter().collect(),
        (DocumentOperations::Multiple(ops), None) => ops.values().collect(),
    };
    operations
        .into_iter()
        .map(|op| {
            let root = match op.node.ty {
                OperationType::Query => Some(registry.query_type.as_str()),
                OperationType::Mutation => registry.mutation_type.as_deref(),
                OperationType::Subscription => registry.subscription_type.as_deref(),
            };
            let mut walk = Walk {
                registry,
                fragments: &document.fragments,
                variables,
                definitions: &op.node.variable_definitions,
                spread: HashMap::new(),
            };
            root.map_or_else(Cost::default, |root| {
                walk.selections(root, &op.node.selection_set.node)
            })
        })
        .fold(Cost::default(), |a, b| a + b)
}

/// A walk over one operation of a parsed document, before validation: what validation
/// will refuse (an unknown field or fragment, a fragment cycle) counts nothing.
struct Walk<'a> {
    registry: &'a Registry,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
    /// The cost of each fragment walked so far: a fragment's cost does not depend on
    /// where it is spread, so a document spreading fragments into each other costs a
    /// walk of its own size, not of its expansion.
    spread: HashMap<&'a str, Cost>,
}

impl<'a> Walk<'a> {
    /// The cost of `set`, selected on one object of type `ty`.
    fn selections(&mut self, ty: &str, set: &'a SelectionSet) -> Cost {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => self.field(ty, &field.node),
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    if self.skipped(&inline.directives) {
                        return Cost::default();
                    }
                    let on = inline
                        .type_condition
                        .as_ref()
                        .map_or(ty, |c| c.node.on.node.as_str());
                    self.selections(on, &inline.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    if self.skipped(&spread.node.directives) {
                        return Cost::default();
                    }
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
            })
            .fold(Cost::default(), |a, b| a + b)
    }

    /// The cost of the fragment `name`.
    fn fragment(&mut self, name: &str) -> Cost {
        if let Some(cost) = self.spread.get(name) {
            return *cost;
        }
        let Some((name, definition)) = self.fragments.get_key_value(name) else {
            return Cost::default();
        };
        // Seen before its cost is known: a cycle (validation refuses it) counts nothing.
        self.spread.insert(name.as_str(), Cost::default());
        let definition = &definition.node;
        let cost = self.selections(
            definition.type_condition.node.on.node.as_str(),
            &definition.selection_set.node,
        );
        self.spread.insert(name.as_str(), cost);
        cost
    }

    /// The cost of `field`, selected on one object of type `ty`.
    fn field(&mut self, ty: &str, field: &'a Field) -> Cost {
        let name = field.name.node.as_str();
        if name.starts_with("__") || self.skipped(&field.directives) {
            return Cost::default();
        }
        let Some(meta) = self
            .registry
            .types
            .get(ty)
            .and_then(|t| t.field_by_name(name))
        else {
            return Cost::default();
        };
        let returns = MetaTypeName::concrete_typename(&meta.ty);
        let below = self.selections(returns, &field.selection_set.node);
        let one_more = |nodes: usize| nodes.saturating_add(1);
        if self.is_connection(returns) {
            Cost {
                nodes: page_cost(
                    self.int(field, "first"),
                    self.int(field, "last"),
                    one_more(below.nodes),
                ),
                connections: one_more(below.connections),
            }
        } else if MetaTypeName::create(&meta.ty).is_list() && !self.is_connection(ty) {
            Cost {
                nodes: list_weight(name).saturating_mul(one_more(below.nodes)),
                connections: one_more(below.connections),
            }
        } else {
            below
        }
    }

    /// Whether `ty` is a Relay connection: it has `pageInfo` and `edges`.
    fn is_connection(&self, ty: &str) -> bool {
        self.registry.types.get(ty).is_some_and(|t| {
            t.field_by_name("pageInfo").is_some() && t.field_by_name("edges").is_some()
        })
    }

    /// The value of the `Int` argument `name` of `field`, none when absent or null.
    fn int(&self, field: &Field, name: &str) -> Option<i32> {
        let value = field.get_argument(name)?.node.clone();
        let Value::Number(number) = value.into_const_with(|v| self.variable(&v)).ok()? else {
            return None;
        };
        let n = number.as_i64()?;
        Some(i32::try_from(n).unwrap_or(if n < 0 { 0 } else { i32::MAX }))
    }

    /// The value of the variable `name`: the request's, else the variable's default; an
    /// error for neither.
    fn variable(&self, name: &Name) -> Result<Value, ()> {
        self.variables
            .get(name)
            .or_else(|| {
                self.definitions
                    .iter()
                    .find(|d| d.node.name.node == *name)
                    .and_then(|d| d.node.default_value.as_ref())
                    .map(|v| &v.node)
            })
            .cloned()
            .ok_or(())
    }

    /// Whether `@skip` or `@include` leaves out the selection with `directives`.
    fn skipped(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().any(|directive| {
            let directive = &directive.node;
            let condition = directive
                .get_argument("if")
                .and_then(|v| v.node.clone().into_const_with(|v| self.variable(&v)).ok());
            match (directive.name.node.as_str(), condition) {
                ("skip", Some(Value::Boolean(skip))) => skip,
                ("include", Some(Value::Boolean(include))) => !include,
                _ => false,
            }
        })
    }
}

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

impl Limits {
    /// Refuses a document of more than [`Limits::fields`] field selections.
    pub(crate) fn judge_size(&self, document: &ExecutableDocument) -> ServerResult<()> {
        let count = document_fields(document);
        if count > self.fields {
            let mut error = refusal(
                "QUERY_TOO_LARGE",
                format!(
                    "the query selects {count} fields; at most {} are allowed",
                    self.fields
                ),
                "fields",
                count,
                self.fields,
            );
            error.locations = Vec::new();
            return Err(error);
        }
        Ok(())
    }

    /// Refuses a query nested deeper than [`Limits::depth`], or costing more than
    /// [`Limits::nodes`] or [`Limits::connections`].
    pub(crate) fn judge(&self, depth: usize, cost: Cost) -> ServerResult<()> {
        if depth > self.depth {
            return Err(refusal(
                "QUERY_TOO_DEEP",
                format!(
                    "the query nests {depth} levels deep; at most {} are allowed",
                    self.depth
                ),
                "depth",
                depth,
                self.depth,
            ));
        }
        if cost.nodes > self.nodes {
            return Err(refusal(
                "QUERY_TOO_COSTLY",
                format!(
                    "the query may return up to {} nodes (each connection's page size, \
                     `first`/`last` or 20, times the pages above it, summed); at most {} \
                     are allowed: ask for smaller pages or nest fewer connections",
                    cost.nodes, self.nodes
                ),
                "nodes",
                cost.nodes,
                self.nodes,
            ));
        }
        if cost.connections > self.connections {
            return Err(refusal(
                "QUERY_TOO_COSTLY",
                format!(
                    "the query selects {} connections and lists (each alias and fragment \
                     spread counts); at most {} are allowed: select fewer",
                    cost.connections, self.connections
                ),
                "connections",
                cost.connections,
                self.connections,
            ));
        }
        Ok(())
    }

    /// `response` with what the accepted query cost in `extensions.cost`.
    pub(crate) fn report(&self, response: Response, cost: Cost) -> Response {
        response.extension(
            "cost",
            Value::from_json(serde_json::json!({
                "nodes": { "requested": cost.nodes, "max": self.nodes },
                "connections": {
                    "requested": cost.connections,
                    "max": self.connections,
                },
            }))
            .unwrap_or(Value::Null),
        )
    }
}

/// The extension that enforces [`Limits`] on a request async-graphql parses and
/// validates; it also keeps the schema's environment (its registry) for the requests
/// that skip both ([`crate::documents`]).
pub(crate) struct Guard {
    pub limits: Limits,
    pub env: Arc<OnceLock<SchemaEnv>>,
}

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension {
            limits: self.limits,
            env: Arc::clone(&self.env),
            pricing: Mutex::default(),
        })
    }
}

struct GuardExtension {
    limits: Limits,
    env: Arc<OnceLock<SchemaEnv>>,
    pricing: Mutex<Pricing>,
}

/// What the guard learns of a request as it passes.
#[derive(Debug, Default)]
struct Pricing {
    /// The operation the request names.
    operation: Option<String>,
    /// The request's cost, priced as soon as it is parsed (the walk copes with a document
    /// validation is yet to refuse) and judged once it is valid.
    cost: Option<Cost>,
    /// Whether the request passed every limit.
    accepted: bool,
}

/// An error refusing a query over a limit, with its code and figures.
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
        let cost = self
            .pricing
            .lock()
            .ok()
            .and_then(|p| p.cost.filter(|_| p.accepted));
        match cost {
            Some(cost) => self.limits.report(response, cost),
            None => response,
        }
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = next.run(ctx, request).await?;
        if let Ok(mut pricing) = self.pricing.lock() {
            pricing.operation = request.operation_name.clone();
        }
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        self.env.get_or_init(|| ctx.schema_env.clone());
        let document = next.run(ctx, query, variables).await?;
        self.limits.judge_size(&document)?;
        if let Ok(mut pricing) = self.pricing.lock() {
            let registry = &ctx.schema_env.registry;
            let operation = pricing.operation.as_deref();
            pricing.cost = Some(cost(registry, &document, operation, variables));
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let cost = self
            .pricing
            .lock()
            .ok()
            .and_then(|p| p.cost)
            .unwrap_or_default();
        self.limits.judge(result.depth, cost).map_err(|e| vec![e])?;
        if let Ok(mut pricing) = self.pricing.lock() {
            pricing.accepted = true;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    //! The figures of the issue's shapes and of the README's queries, on the schema with
    //! the guard alone and no database: a refused query ends before any resolver runs;
    //! an accepted one reaches its resolvers, which fail for want of a transaction, and
    //! still says what it cost.

    use async_graphql::{EmptySubscription, Request, Schema, Variables};
    use serde_json::{Value, json};

    use super::*;

    /// Runs `request` under `limits`; the whole response as JSON.
    async fn execute(limits: Limits, request: Request) -> Value {
        let schema = Schema::build(
            crate::Query::default(),
            crate::Mutation::default(),
            EmptySubscription,
        )
        .extension(Guard {
            limits,
            env: Arc::default(),
        })
        .finish();
        serde_json::to_value(schema.execute(request).await).expect("a response serializes")
    }

    /// Runs `query` with `variables` under `limits`; the whole response as JSON.
    async fn run_under(limits: Limits, query: &str, variables: Value) -> Value {
        let request = Request::new(query).variables(Variables::from_json(variables));
        execute(limits, request).await
    }

    /// The figures of an accepted query under the default limits: (nodes, connections).
    async fn accepted(query: &str, variables: Value) -> (u64, u64) {
        let response = run_under(Limits::DEFAULT, query, variables).await;
        let cost = &response["extensions"]["cost"];
        assert_eq!(cost["nodes"]["max"], 500_000, "{response:#}");
        assert_eq!(cost["connections"]["max"], 100, "{response:#}");
        let figure = |name: &str| cost[name]["requested"].as_u64();
        match (figure("nodes"), figure("connections")) {
            (Some(nodes), Some(connections)) => (nodes, connections),
            _ => panic!("{query}: not accepted: {response:#}"),
        }
    }

    /// The extensions of the error refusing `query` under the default limits.
    async fn refused(query: &str, variables: Value) -> Value {
        let response = run_under(Limits::DEFAULT, query, variables).await;
        assert_eq!(response["data"], Value::Null, "{response:#}");
        assert!(
            response["extensions"]["cost"].is_null(),
            "a refused query reports no cost: {response:#}"
        );
        response["errors"][0]["extensions"].clone()
    }

    /// The issue's dashboard: a page of 20 projects, each with its requirement tree
    /// three levels deep, at default page sizes.
    const DASHBOARD: &str = "{ projects { nodes { name requirements { nodes { title
        children { nodes { title children { nodes { title } } } } } } } } }";

    /// 100-node pages nested three deep.
    const NESTED: &str = "{ projects(first: 100) { nodes { requirements(first: 100) {
        nodes { children(first: 100) { nodes { title } } } } } } }";

    #[tokio::test]
    async fn dashboards_at_default_page_sizes_are_accepted() {
        assert_eq!(
            accepted(DASHBOARD, Value::Null).await,
            (20 + 20 * 20 + 20 * 20 * 20 + 20 * 20 * 20 * 20, 4)
        );
        assert_eq!(accepted(DASHBOARD, Value::Null).await.0, 168_420);
        let five = DASHBOARD.replacen("projects", "projects(first: 5)", 1);
        assert_eq!(accepted(&five, Value::Null).await, (42_105, 4));
        // A project's 100 root requirements with 20 children a level, three levels.
        let roots = r#"query($id: UUID!) { project(id: $id) {
            requirements(first: 100, filter: {rootsOnly: true}) { nodes { title
              children { nodes { title children { nodes { title } } } } } } } }"#;
        let id = json!({"id": "00000000-0000-0000-0000-000000000001"});
        assert_eq!(
            accepted(roots, id).await,
            (100 + 100 * 20 + 100 * 20 * 20, 3)
        );
    }

    #[tokio::test]
    async fn hostile_shapes_are_refused_by_the_figure_they_exceed() {
        assert_eq!(
            refused(NESTED, Value::Null).await,
            json!({"code": "QUERY_TOO_COSTLY", "nodes": 1_010_100, "max": 500_000})
        );
        let aliases: String = (0..300)
            .map(|i| format!("a{i}: tasks(first: 100) {{ nodes {{ title }} }} "))
            .collect();
        let aliases = format!("{{ {aliases} }}");
        assert_eq!(
            refused(&aliases, Value::Null).await,
            json!({"code": "QUERY_TOO_COSTLY", "connections": 300, "max": 100})
        );
        // Nodes alone would let the alias bomb through: it is only 30,000 of them.
        let lax = Limits {
            connections: 1_000,
            ..Limits::DEFAULT
        };
        let response = run_under(lax, &aliases, Value::Null).await;
        assert_eq!(
            response["extensions"]["cost"]["nodes"]["requested"], 30_000,
            "{response:#}"
        );
        // Each message names the rule.
        let response = run_under(Limits::DEFAULT, NESTED, Value::Null).await;
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("1010100 nodes"), "{message}");
        assert!(message.contains("at most 500000"), "{message}");
    }

    #[tokio::test]
    async fn page_sizes_in_variables_count_with_their_values() {
        let query = "query($n: Int) { projects(first: $n) { nodes {
            requirements(first: $n) { nodes { title } } } } }";
        assert_eq!(
            accepted(query, json!({"n": 100})).await,
            (100 + 100 * 100, 2)
        );
        assert_eq!(accepted(query, json!({"n": 3})).await, (3 + 3 * 3, 2));
        // No value, or null: the default page.
        assert_eq!(accepted(query, json!({})).await, (20 + 20 * 20, 2));
        assert_eq!(accepted(query, json!({"n": null})).await, (20 + 20 * 20, 2));
        // The variable's default, unless the request gives a value.
        let defaulted = query.replace("$n: Int", "$n: Int = 50");
        assert_eq!(accepted(&defaulted, json!({})).await, (50 + 50 * 50, 2));
        assert_eq!(accepted(&defaulted, json!({"n": 2})).await, (2 + 2 * 2, 2));
        // `last` counts like `first`.
        let last = query.replace("first", "last");
        assert_eq!(accepted(&last, json!({"n": 7})).await, (7 + 7 * 7, 2));
        // A variable can make a query too costly.
        let nested = "query($n: Int) { projects(first: $n) { nodes { requirements(first: $n) {
            nodes { children(first: $n) { nodes { title } } } } } } }";
        assert_eq!(accepted(nested, json!({"n": 20})).await, (8_420, 3));
        assert_eq!(
            refused(nested, json!({"n": 100})).await,
            json!({"code": "QUERY_TOO_COSTLY", "nodes": 1_010_100, "max": 500_000})
        );
    }

    #[tokio::test]
    async fn fragments_count_where_they_are_spread() {
        let query = "{ a: projects(first: 10) { ...P } b: projects(first: 10) { ...P }
                       c: tasks(first: 2) { nodes { ... on Task { children(first: 3) { totalCount } } } } }
            fragment P on ProjectConnection { nodes { requirements(first: 10) { nodes { ...R } } } }
            fragment R on Requirement { children(first: 5) { totalCount } }";
        // Per project: 10 requirements, each with 5 children: 10 · (1 + 5) = 60.
        let projects = 10 * (1 + 60);
        assert_eq!(
            accepted(query, Value::Null).await,
            (2 * projects + 2 * (1 + 3), 2 * 3 + 2)
        );
        // Spreading a fragment of connections 101 times is 101 connections.
        let spreads: String = (0..101)
            .map(|i| format!("a{i}: project(id: $id) {{ ...T }} "))
            .collect();
        let query = format!(
            "query($id: UUID!) {{ {spreads} }} fragment T on Project {{ tasks(first: 1) {{ totalCount }} }}"
        );
        let id = json!({"id": "00000000-0000-0000-0000-000000000001"});
        assert_eq!(
            refused(&query, id).await,
            json!({"code": "QUERY_TOO_COSTLY", "connections": 101, "max": 100})
        );
    }

    #[tokio::test]
    async fn skipped_selections_are_not_counted() {
        let query = "query($all: Boolean!) { projects { nodes {
            requirements @include(if: $all) { nodes { title } }
            tasks(first: 5) @skip(if: $all) { nodes { title } } } } }";
        assert_eq!(
            accepted(query, json!({"all": true})).await,
            (20 + 20 * 20, 2)
        );
        assert_eq!(
            accepted(query, json!({"all": false})).await,
            (20 + 20 * 5, 2)
        );
        let both = "query($all: Boolean!) { projects { nodes {
            ... @include(if: $all) { requirements { nodes { title } } } } } }";
        assert_eq!(accepted(both, json!({"all": false})).await, (20, 1));
        assert_eq!(accepted(both, json!({"all": true})).await, (420, 2));
    }

    #[tokio::test]
    async fn lists_count_their_caps_and_a_connection_its_page_once() {
        assert_eq!(
            accepted(
                "{ tasks { nodes { title ancestors { title } } } }",
                Value::Null
            )
            .await,
            (20 * (1 + 32), 2)
        );
        assert_eq!(
            accepted(
                "{ projects { nodes { stats { latestAnalyses { type } tasksByStatus { count } } } } }",
                Value::Null
            )
            .await,
            (20 * (1 + 5 + 100), 3)
        );
        // `nodes` and `edges` are the connection's page, whichever is selected.
        assert_eq!(
            accepted(
                "{ projects(first: 10) { totalCount pageInfo { hasNextPage }
                   edges { cursor node { name } } nodes { name } } }",
                Value::Null
            )
            .await,
            (10, 1)
        );
        // A connection asked only for its count counts its page, as on GitHub.
        assert_eq!(
            accepted("{ projects { totalCount } }", Value::Null).await,
            (20, 1)
        );
        // Objects that are not lists multiply nothing.
        assert_eq!(
            accepted(
                "{ tasks { nodes { project { organization { projects(first: 3) { totalCount } } } } } }",
                Value::Null
            )
            .await,
            (20 * (1 + 3), 2)
        );
        // A mutation's list counts as a full page.
        assert_eq!(
            accepted(
                r#"mutation { createRequirementTree(projectId: "00000000-0000-0000-0000-000000000001",
                     nodes: []) { title children(first: 2) { totalCount } } }"#,
                Value::Null
            )
            .await,
            (100 * (1 + 2), 2)
        );
    }

    #[tokio::test]
    async fn the_operation_named_is_the_one_priced() {
        let query = format!("query Nested {NESTED} query Light {{ projects {{ totalCount }} }}");
        let light = Request::new(&query).operation_name("Light");
        let light = execute(Limits::DEFAULT, light).await;
        assert_eq!(
            light["extensions"]["cost"]["nodes"]["requested"], 20,
            "{light:#}"
        );
        let nested = Request::new(&query).operation_name("Nested");
        let nested = execute(Limits::DEFAULT, nested).await;
        assert_eq!(
            nested["errors"][0]["extensions"]["nodes"], 1_010_100,
            "{nested:#}"
        );
    }

    #[tokio::test]
    async fn introspection_is_not_counted() {
        let query = "{ __schema { types { name fields { name args { name type { name ofType { name } } } }
            inputFields { name } enumValues { name } interfaces { name } possibleTypes { name } } } }";
        assert_eq!(accepted(query, Value::Null).await, (0, 0));
    }

    #[tokio::test]
    async fn the_readme_queries_are_accepted() {
        let overview = include_str!("../../../docs/queries/organization-overview.graphql");
        // 20 organizations, each with its project counts (a list: 100) and 10 projects,
        // each with its task counts (100) and latest analyses (5).
        assert_eq!(
            accepted(overview, Value::Null).await,
            (20 * (1 + 100 + 10 * (1 + 100 + 5)), 5)
        );
        let tree = include_str!("../../../docs/queries/requirement-tree.graphql");
        // 1 project, 1 root, its 20 comments and 20 children of 20 children with their
        // ancestors (32).
        let children = 20 * (1 + 20 * (1 + 32));
        assert_eq!(
            accepted(tree, Value::Null).await,
            (1 + (1 + 20 + children), 6)
        );
        let work = include_str!("../../../docs/queries/work-in-flight.graphql");
        // 5 tasks with their ancestors; 20 approvals with 20 participants each.
        assert_eq!(
            accepted(work, Value::Null).await,
            (5 * (1 + 32) + 20 * (1 + 20), 4)
        );
    }

    #[test]
    fn latest_analyses_holds_one_analysis_per_type() {
        use sea_orm::Iterable as _;
        assert_eq!(
            entity::sea_orm_active_enums::AnalysisType::iter().count(),
            LATEST_ANALYSES_WEIGHT
        );
    }
}
