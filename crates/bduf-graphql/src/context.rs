//! What a resolver reaches of its request: the request's transaction (through the
//! batcher), its viewer, and [`command`], the one way a mutation field runs a context's
//! command.

use async_graphql::Context;
use bduf_core::{Batcher, RequestContext, RequestTxn, Tx, Viewer};
use futures_util::future::BoxFuture;

use crate::error::{OrGql as _, gql};

/// What `execute` gives every request, or an internal error (with its code, like every
/// error of bduf's resolvers) when it is missing.
pub fn data<'a, T: std::any::Any + Send + Sync>(
    ctx: &Context<'a>,
    what: &'static str,
) -> async_graphql::Result<&'a T> {
    ctx.data_opt::<T>().ok_or_else(|| {
        tracing::error!(what, "a request's context lacks what execute gives it");
        gql(bduf_core::Error::Internal(what))
    })
}

/// This request's batcher.
pub fn batcher<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Batcher> {
    data(ctx, "the batcher")
}

/// This request's transaction.
pub fn txn<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestTxn> {
    Ok(batcher(ctx)?.txn())
}

/// What the client said of itself.
pub fn client<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    data(ctx, "the request context")
}

/// The request's viewer (`UNAUTHENTICATED` without one).
pub fn viewer(ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
    txn(ctx)?.viewer().or_gql()
}

/// Runs a context's command as the viewer, in a savepoint of the request's transaction,
/// and answers with its result as the field's type (an object type from a model).
pub async fn command<M, T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    T: From<M>,
    F: for<'a> FnOnce(&'a Tx<'a>) -> BoxFuture<'a, bduf_core::Result<M>>,
{
    txn(ctx)?.command(work).await.map(T::from).or_gql()
}
