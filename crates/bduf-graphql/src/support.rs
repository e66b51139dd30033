//! Resolver plumbing shared by every object type: the request's batcher, connections and
//! the columns a selection needs. Every edge of every object type is one call to one of
//! [`one`], [`connection`], [`ancestors`], [`descendants`], [`depth`] or [`value`].

use std::hash::Hash;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{
    Context, InputType, Lookahead, Name, OutputType, SelectionField, SimpleObject, Value,
};
use bduf_core::aggregate::Tally;
use bduf_core::paging::{Cursor, DEFAULT_PAGE, Page, PageArgs};
use bduf_core::read::{
    Ancestors, ById, CountOf, DepthOf, Descendants, Filter, Link, Order, Rows, TreeWindow, Window,
    descendant_depth,
};
use bduf_core::{Batcher, Columns, Fetch, Record as _, RequestTxn, Row, Tree};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::context::{batcher, txn};
use crate::error::{OrGql as _, gql};

/// An object type over the rows of one table: built from a model, and able to tell
/// which columns a selection of its fields needs (generated, see `crate::generated`).
pub trait Node: OutputType + From<Self::Model> + Send + Sync + 'static {
    type Model: Row;
    /// The columns the selections `looks` of this type need.
    fn columns(looks: &[Lookahead<'_>]) -> Columns;
}

/// The fields every connection has besides edges and page info.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct Totals {
    /// Rows matching the connection's filter, all pages together. Counted (one grouped
    /// `COUNT` per level) only when selected.
    pub total_count: i64,
}

/// A Relay connection of `N` nodes.
pub type Conn<N> = Connection<Cursor, N, Totals, EmptyFields>;

/// The nodes a connection field may return, with what they select (see `crate::limits`):
/// its page size — `first` or `last`, the default page size when neither is given —
/// times `per_node`, a node and the nodes below it.
pub fn page_cost(first: Option<i32>, last: Option<i32>, per_node: usize) -> usize {
    let size = first
        .or(last)
        .map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(0));
    size.max(1).saturating_mul(per_node)
}

/// The value of `key`, fetched in the request's next wave.
pub async fn load<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<RequestTxn as Fetch<K>>::Value>>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    RequestTxn: Fetch<K>,
{
    batcher(ctx)?.load(key).await.map_err(gql)
}

/// The value of an aggregate key, its default when the key has none.
pub async fn value<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<<RequestTxn as Fetch<K>>::Value>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    RequestTxn: Fetch<K>,
    <RequestTxn as Fetch<K>>::Value: Default,
{
    Ok(load(ctx, key).await?.unwrap_or_default())
}

/// The value of aggregate key `key` — answered, with every other aggregate key of the
/// request's next wave, by one statement — its default when the key has none.
pub async fn tally<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<<RequestTxn as Tally<K>>::Value>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    RequestTxn: Tally<K>,
    <RequestTxn as Tally<K>>::Value: Default,
{
    Ok(batcher(ctx)?
        .tally(key)
        .await
        .map_err(gql)?
        .unwrap_or_default())
}

/// The columns of `N` this field's selection needs (the field is an `N` or a list).
pub fn selected<N: Node>(ctx: &Context<'_>) -> Columns {
    N::columns(&[ctx.look_ahead()])
}

/// The columns the nodes of the connection field `look` selects need.
fn selected_nodes<N: Node>(look: &Lookahead<'_>) -> Columns {
    N::columns(&[look.field("nodes"), look.field("edges").field("node")])
}

/// Whether the client selected anything of this connection's page: its nodes, edges or
/// page info. A connection asked only for `totalCount` reads no rows.
fn wants_rows(look: &Lookahead<'_>) -> bool {
    ["nodes", "edges", "pageInfo"]
        .into_iter()
        .any(|field| look.field(field).exists())
}

/// Whether the client selected `totalCount` on this connection.
fn wants_total(look: &Lookahead<'_>) -> bool {
    look.field("totalCount").exists()
}

/// The row of `N`'s table with `id`, as `N`.
pub async fn one<N: Node>(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<N>> {
    let Some(id) = id else { return Ok(None) };
    let key = ById::<N::Model>::new(id, selected::<N>(ctx));
    Ok(load(ctx, key).await?.map(N::from))
}

/// An object type whose connections can be read together with its row when a root field
/// finds the row by id ([`root`]). Implemented by [`edges`] for every object type.
pub trait ReadAhead {
    /// Starts the read of `field`, a field of the row `id` of this type, when it is a
    /// connection or a tree's `descendants` whose key its arguments and selection tell:
    /// the read answers the key its resolver will ask for. `None` for any other field,
    /// and for arguments its resolver would refuse (the resolver then says why).
    fn ahead(batcher: &Batcher, field: SelectionField<'_>, id: Uuid) -> Option<Ahead>;
}

/// A read started ahead of its resolver.
pub type Ahead = BoxFuture<'static, ()>;

/// The row of `N`'s table with `id`, as `N`, for a root field: read together with the
/// first nested level's connections the field selects ([`ReadAhead`]). Their keys go to
/// the same wave as the row's, and on PostgreSQL the row rides on their statement
/// (`bduf_core::ride`), so a root and its first level cost one statement, not two. The
/// connections' resolvers then find their answers read (primed); a key this guessed
/// differently from its resolver's is simply read again by it.
pub async fn root<N: Node + ReadAhead>(
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<Option<N>> {
    let batcher = batcher(ctx)?;
    let mut ahead = Vec::new();
    for field in ctx.look_ahead().selection_fields() {
        ahead.extend(
            field
                .selection_set()
                .filter_map(|child| N::ahead(batcher, child, id)),
        );
    }
    if ahead.is_empty() {
        return one(ctx, Some(id)).await;
    }
    let key = ById::<N::Model>::new(id, selected::<N>(ctx));
    // The connections' keys are queued first, so the row's is not the wave's first key
    // type and may ride (`bduf_core::batch`).
    let (_, row) = futures_util::join!(
        futures_util::future::join_all(ahead),
        batcher.load_riding(key)
    );
    Ok(row.map_err(gql)?.map(N::from))
}

/// Reads `key` in the next wave and primes its answer for the resolver that will ask.
fn prime_ahead<K>(batcher: &Batcher, key: K) -> Ahead
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    RequestTxn: Fetch<K>,
{
    let batcher = batcher.clone();
    Box::pin(async move {
        if let Ok(value) = batcher.load(key.clone()).await {
            batcher.txn().prime_all([(key, value)]);
        }
    })
}

/// The value of argument `name` of `field`, parsed as its resolver would (`None` when
/// it would refuse it).
fn argument<T: InputType>(arguments: &[(Name, Value)], name: &str) -> Option<T> {
    let value = arguments
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, v)| v.clone());
    T::parse(value).ok()
}

/// The Relay arguments of `field`'s arguments.
fn paging_of(arguments: &[(Name, Value)]) -> Option<Paging> {
    Some(Paging {
        after: argument(arguments, "after")?,
        before: argument(arguments, "before")?,
        first: argument(arguments, "first")?,
        last: argument(arguments, "last")?,
    })
}

/// [`ReadAhead::ahead`] of a connection field of the row `parent`: the key
/// [`connection`] will ask for, from the field's arguments and selection.
pub fn connection_ahead<L, F, O, N>(
    batcher: &Batcher,
    field: SelectionField<'_>,
    parent: (L, Uuid),
) -> Option<Ahead>
where
    L: Link<Model = N::Model>,
    F: Filter<Model = N::Model> + InputType,
    O: Order<Model = N::Model> + InputType,
    N: Node,
{
    let arguments = field.arguments().ok()?;
    let filter: Option<F> = argument(&arguments, "filter")?;
    let order: Option<O> = argument(&arguments, "orderBy")?;
    let paging = paging_of(&arguments)?;
    let key = rows_key::<L, F, O, N>(&field.into(), Some(parent), filter, order, paging).ok()?;
    if !key.window.rows {
        return None;
    }
    key.check(batcher.txn().backend()).ok()?;
    Some(prime_ahead(batcher, key))
}

/// [`ReadAhead::ahead`] of a tree node's `descendants` field: the key [`descendants`]
/// will ask for.
pub fn descendants_ahead<F, N>(
    batcher: &Batcher,
    field: SelectionField<'_>,
    start: Uuid,
) -> Option<Ahead>
where
    N: Node,
    N::Model: Tree,
    F: Filter<Model = N::Model> + InputType,
{
    let arguments = field.arguments().ok()?;
    let max_depth: Option<i32> = argument(&arguments, "maxDepth")?;
    let filter: Option<F> = argument(&arguments, "filter")?;
    let paging = paging_of(&arguments)?;
    let key = descendants_key::<F, N>(
        &field.into(),
        start,
        max_depth.unwrap_or(DEFAULT_MAX_DEPTH),
        filter,
        paging,
    )
    .ok()?;
    key.check(batcher.txn().backend()).ok()?;
    Some(prime_ahead(batcher, key))
}

/// Whether the Rust name `snake` (`assigned_tasks`) is the GraphQL name `camel`
/// (`assignedTasks`), as async-graphql renames fields.
pub fn same_name(snake: &str, camel: &str) -> bool {
    let mut camel = camel.chars();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
            continue;
        }
        let want = if upper { c.to_ascii_uppercase() } else { c };
        upper = false;
        if camel.next() != Some(want) {
            return false;
        }
    }
    camel.next().is_none()
}

/// The Relay arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct Paging {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

impl Paging {
    fn check(self) -> async_graphql::Result<PageArgs> {
        PageArgs::new(self.after, self.before, self.first, self.last).or_gql()
    }
}

fn into_connection<M, N>(page: Page<M>) -> Conn<N>
where
    N: OutputType + From<M>,
{
    let mut conn = Connection::with_additional_fields(
        page.has_previous_page,
        page.has_next_page,
        Totals {
            total_count: page.total_count.unwrap_or_default(),
        },
    );
    conn.edges.extend(
        page.rows
            .into_iter()
            .map(|(cursor, row)| Edge::new(cursor, N::from(row))),
    );
    conn
}

/// How many rows of `L`'s table under `parent` match `filter`: a connection's
/// `totalCount` without its page (an aggregate key: one statement per level with the
/// level's other counts and sums).
pub async fn count<L, F>(
    ctx: &Context<'_>,
    parent: (L, Uuid),
    filter: F,
) -> async_graphql::Result<i64>
where
    L: Link,
    L::Model: Row,
    F: Filter<Model = L::Model>,
{
    filter.condition(txn(ctx)?.backend()).or_gql()?;
    let key = CountOf {
        parent: Some(parent),
        filter: Arc::new(filter),
    };
    tally(ctx, key).await
}

/// A connection over the rows of `N`'s table: the whole table (`parent` none, a root
/// connection) or the rows linked to one parent (a nested connection). Either way one
/// statement per level (two with `totalCount`), windowed in SQL.
pub async fn connection<L, F, O, N>(
    ctx: &Context<'_>,
    parent: Option<(L, Uuid)>,
    filter: Option<F>,
    order: Option<O>,
    paging: Paging,
) -> async_graphql::Result<Conn<N>>
where
    L: Link<Model = N::Model>,
    F: Filter<Model = N::Model>,
    O: Order<Model = N::Model>,
    N: Node,
{
    let key = rows_key::<L, F, O, N>(&ctx.look_ahead(), parent, filter, order, paging)?;
    key.check(txn(ctx)?.backend()).or_gql()?;
    if !key.window.rows && key.window.total {
        // Only the count: an aggregate key, with the level's other counts and sums.
        let count = CountOf {
            parent: key.parent,
            filter: Arc::new(key.window.filter.clone()),
        };
        let total_count = tally(ctx, count).await?;
        return Ok(Connection::with_additional_fields(
            false,
            false,
            Totals { total_count },
        ));
    }
    let page = load(ctx, key).await?.unwrap_or_default();
    Ok(into_connection(page))
}

/// The key of a connection field `look` selects (see [`connection`]).
fn rows_key<L, F, O, N>(
    look: &Lookahead<'_>,
    parent: Option<(L, Uuid)>,
    filter: Option<F>,
    order: Option<O>,
    paging: Paging,
) -> async_graphql::Result<Rows<L, F, O>>
where
    L: Link<Model = N::Model>,
    F: Filter<Model = N::Model>,
    O: Order<Model = N::Model>,
    N: Node,
{
    let window = Window {
        filter: filter.unwrap_or_default(),
        order,
        page: paging.check()?,
        columns: selected_nodes::<N>(look),
        rows: wants_rows(look),
        total: wants_total(look),
        joins: crate::prefetch::joins::<N>(look),
    };
    Ok(match parent {
        Some((link, id)) => Rows::under(link, id, window),
        None => Rows::root(window),
    })
}

/// The ancestors of tree node `id`, root first. A chain that reaches its root tells the
/// depth of each of its nodes and of `id` ([`DepthOf::prime_along`]).
pub async fn ancestors<N>(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<N>>
where
    N: Node,
    N::Model: Tree,
{
    let key = Ancestors::<N::Model>::new(id, selected::<N>(ctx));
    let chain = value(ctx, key).await?;
    DepthOf::prime_along(txn(ctx)?, id, &chain);
    Ok(chain.into_iter().map(N::from).collect())
}

/// How deep tree node `node` sits: 0 for a root; a wave's walk up for the others, unless
/// the walk that found the node told (its answer primed: [`DepthOf::prime_below`],
/// [`DepthOf::prime_along`]).
pub async fn depth<M: Tree>(ctx: &Context<'_>, node: &M) -> async_graphql::Result<i32> {
    if node.parent().is_none() {
        return Ok(0);
    }
    value(ctx, DepthOf::<M>::new(node.id())).await
}

/// The descendants of tree node `start`, at most `max_depth` levels down, breadth first.
/// When `start`'s depth is known, so are theirs ([`DepthOf::prime_below`]).
pub async fn descendants<F, N>(
    ctx: &Context<'_>,
    start: &N::Model,
    max_depth: i32,
    filter: Option<F>,
    paging: Paging,
) -> async_graphql::Result<Conn<N>>
where
    N: Node,
    N::Model: Tree,
    F: Filter<Model = N::Model>,
{
    let key = descendants_key::<F, N>(&ctx.look_ahead(), start.id(), max_depth, filter, paging)?;
    key.check(txn(ctx)?.backend()).or_gql()?;
    let page = load(ctx, key).await?.unwrap_or_default();
    DepthOf::prime_below(txn(ctx)?, start, &page);
    Ok(into_connection(page))
}

/// The default of `descendants`' `maxDepth`.
pub const DEFAULT_MAX_DEPTH: i32 = 10;

/// The key of a `descendants` field `look` selects (see [`descendants`]).
fn descendants_key<F, N>(
    look: &Lookahead<'_>,
    start: Uuid,
    max_depth: i32,
    filter: Option<F>,
    paging: Paging,
) -> async_graphql::Result<Descendants<F>>
where
    N: Node,
    N::Model: Tree,
    F: Filter<Model = N::Model>,
{
    let max_depth = descendant_depth(max_depth).or_gql()?;
    Ok(Descendants::new(
        start,
        TreeWindow {
            filter: filter.unwrap_or_default(),
            max_depth,
            page: paging.check()?,
            columns: selected_nodes::<N>(look),
            rows: wants_rows(look),
            total: wants_total(look),
            joins: crate::prefetch::joins::<N>(look),
        },
    ))
}

/// Declares the hand-written half of an object type: `pub struct $ty(pub Arc<$model>)`
/// and its `#[Object]` impl, whose fields come in the order given, each one of
/// - `connection name: Node = link, Filter, Order;` — a one-to-many edge: a Relay
///   connection of `Node` rows hanging off this row by `link` (a variant of the table's
///   `…Of` enum), with the root connection's `filter`, `orderBy` and cursor arguments;
/// - `ancestors: Node;` and `descendants: Node, Filter;` — a tree node's walks;
/// - a hand-written `async fn` field.
macro_rules! edges {
    ($(#[$meta:meta])* $ty:ident($model:ty) { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $ty(pub std::sync::Arc<$model>);

        $crate::support::edges!(@fields $ty [] [] $($body)*);
    };
    (@fields $ty:ident [$($done:tt)*] [$($ahead:tt)*]
        $(#[$doc:meta])* connection $name:ident: $node:ty = $link:expr, $filter:ty, $order:ty;
        $($rest:tt)*) => {
        $crate::support::edges!(@fields $ty [$($done)*
            $(#[$doc])*
            #[allow(clippy::too_many_arguments)]
            async fn $name(
                &self,
                ctx: &async_graphql::Context<'_>,
                filter: Option<$filter>,
                order_by: Option<$order>,
                after: Option<String>,
                before: Option<String>,
                first: Option<i32>,
                last: Option<i32>,
            ) -> async_graphql::Result<$crate::support::Conn<$node>> {
                let paging = $crate::support::Paging { after, before, first, last };
                $crate::support::connection(ctx, Some(($link, self.0.id)), filter, order_by, paging)
                    .await
            }
        ] [$($ahead)* (connection $name, $node, $link, $filter, $order)] $($rest)*);
    };
    (@fields $ty:ident [$($done:tt)*] [$($ahead:tt)*]
        $(#[$doc:meta])* connection $name:ident: $node:ty = $link:expr, $order:ty, where $filter:expr;
        $($rest:tt)*) => {
        $crate::support::edges!(@fields $ty [$($done)*
            $(#[$doc])*
            #[allow(clippy::too_many_arguments)]
            async fn $name(
                &self,
                ctx: &async_graphql::Context<'_>,
                order_by: Option<$order>,
                after: Option<String>,
                before: Option<String>,
                first: Option<i32>,
                last: Option<i32>,
            ) -> async_graphql::Result<$crate::support::Conn<$node>> {
                let paging = $crate::support::Paging { after, before, first, last };
                $crate::support::connection(ctx, Some(($link, self.0.id)), Some($filter), order_by, paging)
                    .await
            }
        ] [$($ahead)*] $($rest)*);
    };
    (@fields $ty:ident [$($done:tt)*] [$($ahead:tt)*]
        $(#[$doc:meta])* ancestors: $node:ty;
        $($rest:tt)*) => {
        $crate::support::edges!(@fields $ty [$($done)*
            $(#[$doc])*
            async fn ancestors(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$node>> {
                $crate::support::ancestors(ctx, self.0.id).await
            }
        ] [$($ahead)*] $($rest)*);
    };
    (@fields $ty:ident [$($done:tt)*] [$($ahead:tt)*]
        $(#[$doc:meta])* descendants: $node:ty, $filter:ty;
        $($rest:tt)*) => {
        $crate::support::edges!(@fields $ty [$($done)*
            $(#[$doc])*
            #[allow(clippy::too_many_arguments)]
            async fn descendants(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(default_with = "crate::support::DEFAULT_MAX_DEPTH")] max_depth: i32,
                filter: Option<$filter>,
                after: Option<String>,
                before: Option<String>,
                first: Option<i32>,
                last: Option<i32>,
            ) -> async_graphql::Result<$crate::support::Conn<$node>> {
                let paging = $crate::support::Paging { after, before, first, last };
                $crate::support::descendants(ctx, &*self.0, max_depth, filter, paging).await
            }
        ] [$($ahead)* (descendants $node, $filter)] $($rest)*);
    };
    (@fields $ty:ident [$($done:tt)*] [$($ahead:tt)*]
        $(#[$attr:meta])* async fn $name:ident $args:tt -> $ret:ty $body:block
        $($rest:tt)*) => {
        $crate::support::edges!(@fields $ty
            [$($done)* $(#[$attr])* async fn $name $args -> $ret $body] [$($ahead)*] $($rest)*);
    };
    (@fields $ty:ident [$($done:tt)*] [$($ahead:tt)*]) => {
        #[async_graphql::Object]
        impl $ty {
            $($done)*
        }

        impl $crate::support::ReadAhead for $ty {
            #[allow(unused_variables)]
            fn ahead(
                batcher: &bduf_core::Batcher,
                field: async_graphql::SelectionField<'_>,
                id: uuid::Uuid,
            ) -> Option<$crate::support::Ahead> {
                $($crate::support::edges!(@ahead (batcher, field, id) $ahead);)*
                None
            }
        }
    };
    (@ahead ($batcher:ident, $field:ident, $id:ident)
        (connection $name:ident, $node:ty, $link:expr, $filter:ty, $order:ty)) => {
        if $crate::support::same_name(stringify!($name), $field.name()) {
            return $crate::support::connection_ahead::<_, $filter, $order, $node>(
                $batcher,
                $field,
                ($link, $id),
            );
        }
    };
    (@ahead ($batcher:ident, $field:ident, $id:ident) (descendants $node:ty, $filter:ty)) => {
        if $field.name() == "descendants" {
            return $crate::support::descendants_ahead::<$filter, $node>($batcher, $field, $id);
        }
    };
}
pub(crate) use edges;
