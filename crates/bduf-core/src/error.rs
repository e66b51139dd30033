//! [`Error`]: what a read can fail with, and its one mapping to client-safe GraphQL
//! errors with a stable `extensions.code`.

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// The error of every domain operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request broke a rule about one of its inputs.
    #[error("{field}: {rule}")]
    InvalidInput { field: String, rule: String },
    /// The database failed; the detail is logged, never shown to clients.
    #[error("the database could not answer; try again later")]
    Database(#[source] Arc<DbErr>),
    /// The request ended before its data arrived.
    #[error("the request was cancelled")]
    Cancelled,
    /// No database connection came free in time: the server is overloaded.
    #[error("the server is busy; try again shortly")]
    Busy,
    /// A statement ran longer than the server allows (PostgreSQL's `statement_timeout`).
    #[error("the query took too long and was stopped; ask for less")]
    Timeout,
    /// The request carries no valid session (none, unknown, expired or revoked).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The viewer may see the object but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// No object of that kind with that id is visible to the viewer (which says
    /// nothing about whether one exists elsewhere).
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: String },
    /// A value that must be unique is taken.
    #[error("{field}: {rule}")]
    Conflict { field: String, rule: String },
    /// A value that breaks a rule of the schema (a CHECK, a length, a reference).
    #[error("{field}: {rule}")]
    Validation { field: String, rule: String },
    /// Too many attempts: wait and try again.
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(u64),
}

/// The result of every domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An input rule broken by `field`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// A value of `field` that breaks a rule of the schema.
    pub fn validation(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// A unique value of `field` that is taken.
    pub fn conflict(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Conflict {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// No visible `kind` with `id`.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// The stable machine-readable code clients see in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "BAD_USER_INPUT",
            Error::Database(_) | Error::Cancelled => "INTERNAL_SERVER_ERROR",
            Error::Busy => "SERVER_BUSY",
            Error::Timeout => "TIMEOUT",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::Conflict { .. } => "CONFLICT",
            Error::Validation { .. } => "VALIDATION",
            Error::Throttled(_) => "THROTTLED",
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        // PostgreSQL cancels a statement past `statement_timeout` with SQLSTATE 57014.
        if err
            .to_string()
            .contains("canceling statement due to statement timeout")
        {
            return Error::Timeout;
        }
        Error::Database(Arc::new(err))
    }
}

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        if let Error::Database(err) = self {
            tracing::error!(error = %err, "database error while resolving a request");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Error::InvalidInput { field, .. }
                | Error::Validation { field, .. }
                | Error::Conflict { field, .. } => ext.set("field", field.as_str()),
                Error::Throttled(seconds) => ext.set("retryAfterSeconds", *seconds),
                _ => {}
            }
        })
    }
}

/// Turns a domain result into a GraphQL one, keeping the error's `extensions.code`
/// (a plain `?` would go through `Display` and drop it).
pub trait GraphqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GraphqlResult<T> for Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}
