//! The GraphQL schema's tests: resolvers on both backends against real databases, the
//! statement-count guarantee, and the SDL snapshot.

mod support;

mod audit;
mod checks;
mod cost;
mod dependencies;
mod documents;
mod errors;
mod history;
mod idempotency;
mod paging;
mod prefetch;
mod resolvers;
mod sdl;
mod sql;
mod statements;
mod tenancy;
mod workflows;
