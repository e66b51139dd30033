//! Resolver plumbing shared by every object type: loader access, connections, errors.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ErrorExtensions, OutputType, SimpleObject};
use bduf_core::loader::{Ancestors, ByColumn, ById, ByTarget, Descendants, EntityLoader};
use bduf_core::paging::{self, Ordering, Page, PageArgs};
use bduf_core::{Error, Loaders, Record};
use sea_orm::{Condition, EntityTrait, ModelTrait, QueryFilter};
use uuid::Uuid;

/// The fields every connection has besides edges and page info.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct Totals {
    /// Rows matching the connection's filter, all pages together.
    pub total_count: i64,
}

/// A Relay connection of `N` nodes.
pub type Conn<N> = Connection<String, N, Totals, EmptyFields>;

/// The deepest `descendants(maxDepth)` a client may ask for.
pub const MAX_DESCENDANT_DEPTH: i32 = 50;

/// A domain error as a GraphQL error, keeping its `extensions.code`.
pub fn gql(err: impl Into<Error>) -> async_graphql::Error {
    err.into().extend()
}

/// This request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Loaders> {
    ctx.data::<Loaders>()
}

/// Loads one key through the request's loader.
pub async fn load<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<EntityLoader as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    EntityLoader: Loader<K, Error = std::sync::Arc<sea_orm::DbErr>>,
{
    loaders(ctx)?.load_one(key).await.map_err(gql)
}

/// Loads one aggregate key, falling back to its default when the loader has no row.
pub async fn load_or_default<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<<EntityLoader as Loader<K>>::Value>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    EntityLoader: Loader<K, Error = std::sync::Arc<sea_orm::DbErr>>,
    <EntityLoader as Loader<K>>::Value: Default,
{
    Ok(load(ctx, key).await?.unwrap_or_default())
}

/// The row of `M` with `id`, wrapped as `N`.
pub async fn node<M, N>(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<N>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
    N: From<M>,
{
    let Some(id) = id else { return Ok(None) };
    Ok(load(ctx, ById::<M>::new(id)).await?.map(N::from))
}

/// The rows of `M` whose `column` equals `id`, wrapped as `N`, by id.
pub async fn children<M, N>(
    ctx: &Context<'_>,
    column: &'static str,
    id: Uuid,
) -> async_graphql::Result<Vec<N>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
    N: From<M>,
{
    Ok(load(ctx, ByColumn::<M>::new(column, id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(N::from)
        .collect())
}

/// The rows of `M` aimed at `(target_type, id)`, wrapped as `N`.
pub async fn targeting<M, N>(
    ctx: &Context<'_>,
    target_type: &'static str,
    id: Uuid,
) -> async_graphql::Result<Vec<N>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
    N: From<M>,
{
    Ok(load(ctx, ByTarget::<M>::new(target_type, id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(N::from)
        .collect())
}

/// The ancestors of tree node `id`, root first.
pub async fn ancestors<M, N>(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<N>>
where
    M: Record,
    N: From<M>,
{
    Ok(load(ctx, Ancestors::<M>::new(id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(N::from)
        .collect())
}

/// How deep tree node `id` sits: 0 for a root.
pub async fn depth<M: Record>(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<i32> {
    let chain = load(ctx, Ancestors::<M>::new(id))
        .await?
        .unwrap_or_default();
    Ok(i32::try_from(chain.len()).unwrap_or(i32::MAX))
}

/// The descendants of tree node `id`, at most `max_depth` levels down, breadth first.
pub async fn descendants<M, N>(
    ctx: &Context<'_>,
    id: Uuid,
    max_depth: i32,
) -> async_graphql::Result<Vec<N>>
where
    M: Record,
    N: From<M>,
{
    if !(1..=MAX_DESCENDANT_DEPTH).contains(&max_depth) {
        return Err(gql(Error::invalid(
            "maxDepth",
            format!("must be between 1 and {MAX_DESCENDANT_DEPTH}, got {max_depth}"),
        )));
    }
    let depth = u32::try_from(max_depth).unwrap_or(1);
    Ok(load(ctx, Descendants::<M>::new(id, depth))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|(_, m)| N::from(m))
        .collect())
}

/// Whether the client selected `totalCount` on this connection.
fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
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
            .map(|(cursor, row)| async_graphql::connection::Edge::new(cursor, N::from(row))),
    );
    conn
}

/// The Relay arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

impl Window {
    fn check(self) -> async_graphql::Result<PageArgs> {
        PageArgs::new(self.after, self.before, self.first, self.last).map_err(gql)
    }
}

/// A root connection over `M`: the rows matching `condition`, keyset-paged in SQL.
pub async fn root_connection<M, N>(
    ctx: &Context<'_>,
    condition: Result<Condition, Error>,
    ordering: Ordering<M>,
    window: Window,
) -> async_graphql::Result<Conn<N>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
    N: OutputType + From<M>,
{
    let args = window.check()?;
    let condition = condition.map_err(gql)?;
    let db = loaders(ctx)?.loader().db();
    let select = M::E::find().filter(condition);
    let page = paging::keyset(db, select, &ordering, &args, wants_total(ctx))
        .await
        .map_err(gql)?;
    Ok(into_connection(page))
}

/// A nested connection: rows already loaded in one batch, paged in memory by id.
pub fn nested_connection<M, N>(rows: Vec<M>, window: Window) -> async_graphql::Result<Conn<N>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
    N: OutputType + From<M>,
{
    let args = window.check()?;
    Ok(into_connection(paging::in_memory(rows, &args)))
}

/// Declares `From<Model>` for a newtype object wrapper.
macro_rules! wrapper {
    ($($name:ident => $module:ident),* $(,)?) => {$(
        impl From<entity::$module::Model> for $name {
            fn from(model: entity::$module::Model) -> Self {
                Self(model)
            }
        }
    )*};
}
pub(crate) use wrapper;
