//! SeaORM entities of the bduf schema, for PostgreSQL and SQLite alike.
//!
//! `generated/` is written by `cargo xtask codegen` from the live PostgreSQL schema and is
//! never edited by hand (`cargo test` fails when it is stale). Hand-written additions live
//! beside it, in modules of their own: [`links`], [`inet`], [`position`] (decoding a model
//! by the position of its columns, whose impls `generated/positions.rs` holds) and [`rule`]
//! (the types and lookups of the schema's rules, whose data `generated/rules.rs` holds).

mod generated;
pub mod inet;
pub mod links;
pub mod position;
pub mod rule;

pub use generated::*;
