//! [`Error`]: what every domain operation fails with, and the one place database errors
//! become domain errors ([`From<DbErr>`](Error#impl-From<DbErr>-for-Error)) — by SQLSTATE
//! and constraint name, never by message text. The GraphQL mapping (`extensions.code`)
//! lives in `bduf-graphql`'s `error` module.

use std::sync::Arc;

use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::{DbErr, RuntimeErr};

/// The error of every domain operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// An input breaks a rule — a length, a range, a reference, a cursor, a format —
    /// of the field it names.
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: String },
    /// A value that must be unique is taken (the field, when it is known).
    #[error("{}{rule}", field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Conflict { field: Option<String>, rule: String },
    /// No object of that kind with that id is visible to the viewer (which says
    /// nothing about whether one exists elsewhere).
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: String },
    /// The viewer may see the object but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The request carries no valid session (none, unknown, expired or revoked).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Too many attempts: wait this many seconds and try again.
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(u64),
    /// No database connection came free in time: the server is overloaded.
    #[error("the server is busy; try again shortly")]
    Busy,
    /// A statement ran longer than the server allows (PostgreSQL's `statement_timeout`).
    #[error("the query took too long and was stopped; ask for less")]
    Timeout,
    /// The request ended before its data arrived.
    #[error("the request was cancelled")]
    Cancelled,
    /// The server is wired wrong (what a request needs is missing); logged, not shown.
    #[error("the server could not answer")]
    Internal(&'static str),
    /// The database failed; the detail is logged, never shown to clients.
    #[error("the database could not answer; try again later")]
    Database(#[source] Arc<DbErr>),
}

/// The result of every domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An input rule broken by `field`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// A unique value of `field` that is taken.
    pub fn conflict(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Conflict {
            field: Some(field.into()),
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

    /// Not allowed, for the reason given.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Error::Forbidden(reason.into())
    }

    /// The stable machine-readable code clients see in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "VALIDATION",
            Error::Conflict { .. } => "CONFLICT",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Throttled(_) => "THROTTLED",
            Error::Busy => "SERVER_BUSY",
            Error::Timeout => "TIMEOUT",
            Error::Database(_) | Error::Cancelled | Error::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The input field the error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

/// SQLSTATEs and SQLite result codes the mapping names.
mod code {
    /// PostgreSQL: a statement cancelled, here by `statement_timeout`.
    pub const QUERY_CANCELED: &str = "57014";
    /// PostgreSQL: a row-level security policy refused the row (or another privilege).
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    /// SQLite's `SQLITE_CONSTRAINT_TRIGGER`: a trigger's `RAISE(ABORT, …)`. bduf's
    /// triggers (migration step 11) abort only when a row's organization is not its
    /// parent's.
    pub const SQLITE_CONSTRAINT_TRIGGER: &str = "1811";
}

/// The rule a foreign key, or SQLite's organization triggers, enforce.
const REFERENCE: &str = "refers to a record that does not exist in this organization";

/// The database's own error, when the driver reported one.
fn database_error(err: &DbErr) -> Option<&(dyn DatabaseError + 'static)> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            e.as_database_error()
        }
        _ => None,
    }
}

/// The API's name of a column: `user_id` → `userId`.
pub fn camel(column: &str) -> String {
    let mut out = String::with_capacity(column.len());
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The field a constraint is about: its last column that is not the tenant key or the
/// id (`UNIQUE (organization_id, user_id)` → `userId`; a composite foreign key
/// `(project_id, organization_id)` → `projectId`).
fn constraint_field(name: &str) -> Option<(String, &'static entity::rule::Constraint)> {
    let constraint = entity::rule::constraint(name)?;
    let column = constraint
        .columns
        .iter()
        .rev()
        .find(|c| !matches!(**c, "organization_id" | "id"))
        .or(constraint.columns.last())?;
    Some((camel(column), constraint))
}

/// The one mapping of database errors: by SQLSTATE (PostgreSQL) or result code
/// (SQLite), and on PostgreSQL by the constraint's name, looked up in the schema's rules
/// (`entity::rule`, generated from the catalog), to name the field. SQLite reports no
/// constraint names, so its violations name no field beyond `input`; bduf checks
/// uniqueness and references before writing, in SQLite's one write transaction, so they
/// reach the database only as a last line of defence.
impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if let DbErr::ConnectionAcquire(_) = err {
            return Error::Busy;
        }
        let Some(db) = database_error(&err) else {
            return Error::Database(Arc::new(err));
        };
        let named = db.constraint().and_then(constraint_field);
        match (db.kind(), db.code().as_deref()) {
            (ErrorKind::UniqueViolation, _) => Error::Conflict {
                field: named.map(|(field, _)| field),
                rule: "is already taken".to_owned(),
            },
            (ErrorKind::ForeignKeyViolation, _) => Error::invalid(
                named.map_or_else(|| "input".to_owned(), |(f, _)| f),
                REFERENCE,
            ),
            (ErrorKind::CheckViolation, _) => match named {
                Some((field, constraint)) => {
                    Error::invalid(field, format!("must satisfy {}", constraint.definition))
                }
                None => Error::invalid("input", "breaks a CHECK constraint of the schema"),
            },
            (ErrorKind::NotNullViolation, _) => {
                Error::invalid("input", "leaves a required value out")
            }
            (_, Some(code::QUERY_CANCELED)) => Error::Timeout,
            (_, Some(code::INSUFFICIENT_PRIVILEGE)) => {
                Error::forbidden("the row is not in your organization")
            }
            (_, Some(code::SQLITE_CONSTRAINT_TRIGGER)) => Error::invalid("input", REFERENCE),
            _ => Error::Database(Arc::new(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::camel;

    #[test]
    fn columns_are_named_as_the_api_names_them() {
        assert_eq!(camel("user_id"), "userId");
        assert_eq!(camel("slug"), "slug");
        assert_eq!(camel("progress_percentage"), "progressPercentage");
    }

    #[test]
    fn constraints_name_their_field() {
        let field = |name| super::constraint_field(name).map(|(f, _)| f);
        assert_eq!(field("organizations_slug_key").as_deref(), Some("slug"));
        assert_eq!(
            field("organization_members_organization_id_user_id_key").as_deref(),
            Some("userId")
        );
        assert_eq!(field("tasks_priority_check").as_deref(), Some("priority"));
        assert_eq!(field("no_such_constraint"), None);
    }
}
