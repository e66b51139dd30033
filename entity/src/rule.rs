//! The types of the schema's rules, and lookups over them. The data — every named
//! constraint, the length of every `VARCHAR(n)` and the bounds of every integer CHECK —
//! is generated from the live catalog into [`crate::rules`] by `cargo xtask codegen`,
//! so it is the schema's, not a copy kept by hand.

use crate::generated::rules::{CONSTRAINTS, LENGTHS, RANGES};

/// What a constraint enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
}

/// A named constraint of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraint {
    pub name: &'static str,
    pub table: &'static str,
    pub kind: Kind,
    /// Its columns, in key order.
    pub columns: &'static [&'static str],
    /// Its definition, as PostgreSQL prints it (`UNIQUE (slug)`, `CHECK (…)`).
    pub definition: &'static str,
}

/// The `n` of a `VARCHAR(n)` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    pub table: &'static str,
    pub column: &'static str,
    pub max: usize,
}

/// The bounds of an integer CHECK `column BETWEEN low AND high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub table: &'static str,
    pub column: &'static str,
    pub low: i64,
    pub high: i64,
}

/// The constraint named `name`.
pub fn constraint(name: &str) -> Option<&'static Constraint> {
    CONSTRAINTS.iter().find(|c| c.name == name)
}

/// The `n` of `table.column` when it is a `VARCHAR(n)`.
pub fn max_len(table: &str, column: &str) -> Option<usize> {
    LENGTHS
        .iter()
        .find(|l| l.table == table && l.column == column)
        .map(|l| l.max)
}

/// The bounds of `table.column` when an integer CHECK bounds it.
pub fn range(table: &str, column: &str) -> Option<(i64, i64)> {
    RANGES
        .iter()
        .find(|r| r.table == table && r.column == column)
        .map(|r| (r.low, r.high))
}
