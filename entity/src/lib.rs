//! SeaORM entities of the bduf schema, for PostgreSQL and SQLite alike.
//!
//! `generated/` is written by `cargo xtask codegen` from the live PostgreSQL schema and is
//! never edited by hand (`cargo test` fails when it is stale). Hand-written additions live
//! beside it, in modules of their own: [`links`] and [`inet`].

mod generated;
pub mod inet;
pub mod links;

pub use generated::*;
