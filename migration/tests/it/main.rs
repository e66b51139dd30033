//! The migration crate's integration tests: one binary, each test on its own database,
//! on PostgreSQL and on SQLite.

mod support;

mod audit;
mod checksums;
mod cli;
mod concurrency;
mod constraints;
mod failure;
mod integrity;
mod lifecycle;
mod online;
mod partitions;
mod rls;
mod roundtrip;
mod schema_rules;
