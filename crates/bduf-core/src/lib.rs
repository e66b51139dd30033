//! bduf's shared kernel, used by every domain crate: the database handle ([`Db`]), the
//! error type ([`Error`]), keyset paging ([`paging`]), the per-request context
//! ([`RequestContext`]) and the generic batched loaders ([`loader`]).

pub mod aggregate;
pub mod db;
pub mod error;
pub mod loader;
pub mod paging;
pub mod record;

pub use db::Db;
pub use error::{Error, GraphqlResult, Result};
pub use loader::{EntityLoader, Loaders, request_loaders};
pub use record::Record;

/// The direction of an ordering.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// Checks that an optional text filter is at most `max` characters long.
pub fn check_len(field: &str, value: Option<&String>, max: usize) -> Result<()> {
    match value {
        Some(v) if v.chars().count() > max => Err(Error::invalid(
            field,
            format!(
                "must be at most {max} characters, got {}",
                v.chars().count()
            ),
        )),
        _ => Ok(()),
    }
}

/// Checks that an optional integer filter lies in `low..=high`.
pub fn check_range(field: &str, value: Option<i32>, low: i32, high: i32) -> Result<()> {
    match value {
        Some(v) if v < low || v > high => Err(Error::invalid(
            field,
            format!("must be between {low} and {high}, got {v}"),
        )),
        _ => Ok(()),
    }
}

/// The kinds of record comments, approvals and notifications may target.
pub const TARGET_TYPES: [&str; 6] = [
    "project",
    "requirement",
    "component",
    "task",
    "analysis",
    "approval",
];

/// Checks a `targetType` input against [`TARGET_TYPES`] and returns its static form.
pub fn target_type(field: &str, value: &str) -> Result<&'static str> {
    TARGET_TYPES
        .iter()
        .find(|t| **t == value)
        .copied()
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("must be one of {}, got {value:?}", TARGET_TYPES.join(", ")),
            )
        })
}

/// What every request carries besides its loaders. Authentication fills `viewer`; until
/// then every request is anonymous and every read is allowed.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The signed-in user, if any.
    pub viewer: Option<uuid::Uuid>,
}
