//! bduf's shared kernel, used by every domain crate: the database handle ([`Db`]), the
//! request's one transaction ([`RequestTxn`]), the error type ([`Error`]) and input
//! checks ([`check`]), the write kernel commands build on ([`write`]), the
//! notifications commands write ([`notify`]), the server's own jobs ([`system`]),
//! a plan tree's history ([`history`]),
//! the retention sweeps and audit archive of `bduf maintenance` ([`maintenance`]),
//! per-request batching in waves ([`batch`]), the generic read keys and their SQL
//! ([`read`], [`window`], [`tree`]), cursor paging ([`paging`]) and what a request says
//! of its client ([`RequestContext`]).

pub mod aggregate;
pub mod batch;
pub mod check;
pub mod db;
pub mod error;
pub mod history;
pub mod maintenance;
pub mod notify;
pub mod paging;
pub mod prefetch;
pub mod read;
pub mod record;
pub mod ride;
pub mod scope;
pub mod system;
pub mod tree;
pub mod txn;
pub mod window;
pub mod write;

pub use batch::{Batcher, Fetch, Map, drive};
pub use db::Db;
pub use error::{Error, Result};
pub use record::{Columns, Record, Row, Tree};
pub use scope::{Scope, Tenancy, Viewer, rank};
pub use txn::{Access, Client, RequestTxn};
pub use write::Tx;

use chrono::{DateTime, FixedOffset, Utc};

/// The direction of an ordering.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// A timestamp in UTC, the one form timestamps are bound in: SQLite stores timestamps as
/// RFC 3339 text and compares them as text, which orders instants correctly only when
/// every value has the same offset (see `migration/README.md`, "SQLite mapping").
pub fn utc(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    t.with_timezone(&Utc).fixed_offset()
}

/// Now, in the one form timestamps are written in.
pub fn now() -> DateTime<FixedOffset> {
    utc(Utc::now().fixed_offset())
}

/// The kinds of record comments, approvals and notifications may target.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    Project,
    Requirement,
    Component,
    Task,
    Analysis,
    Approval,
}

impl TargetType {
    /// Every target type.
    pub const ALL: [TargetType; 6] = [
        TargetType::Project,
        TargetType::Requirement,
        TargetType::Component,
        TargetType::Task,
        TargetType::Analysis,
        TargetType::Approval,
    ];

    /// The label stored in `target_type` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Project => "project",
            TargetType::Requirement => "requirement",
            TargetType::Component => "component",
            TargetType::Task => "task",
            TargetType::Analysis => "analysis",
            TargetType::Approval => "approval",
        }
    }

    /// The target type a stored label names.
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == label)
    }
}

/// What a request says of its client (filled by the HTTP layer); who it acts for is the
/// request's transaction's to know ([`RequestTxn::viewer`]).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The bearer token of `Authorization: Bearer …`, if any.
    pub token: Option<String>,
    /// The organization asked for by `X-Organization-Id`, if any (else the viewer's
    /// earliest).
    pub organization: Option<uuid::Uuid>,
    /// The client's `User-Agent`, for new sessions.
    pub user_agent: Option<String>,
    /// The client's address, for new sessions and sign-in throttling.
    pub ip: Option<std::net::IpAddr>,
    /// The `Idempotency-Key` header, if any: a signed-in mutation request's retries
    /// with the same key get its first answer instead of writing again.
    pub idempotency_key: Option<String>,
    /// The collaboration session the request works in (`X-Collaboration-Session`), if
    /// any: its changes' audit rows name it.
    pub collaboration_session: Option<uuid::Uuid>,
}

/// The condition of a filter on a boolean column that has a default: NULL counts as the
/// default, so `isArchived: false` finds rows never archived whether their flag is false
/// or unset, on both backends alike.
pub fn flag<C: sea_orm::ColumnTrait>(column: C, value: bool, default: bool) -> sea_orm::Condition {
    let is = sea_orm::Condition::any().add(column.eq(value));
    if value == default {
        is.add(column.is_null())
    } else {
        is
    }
}

/// A decimal at the scale of its column (`DECIMAL(p, scale)`): PostgreSQL returns
/// `0.90` for a `DECIMAL(3,2)`, SQLite (which stores a float) `0.9`; both print `0.90`.
pub fn fixed_scale(value: rust_decimal::Decimal, scale: u32) -> rust_decimal::Decimal {
    let mut value = value;
    value.rescale(scale);
    value
}

/// The longest search text a filter accepts.
pub const MAX_SEARCH: usize = 200;

/// A text search of `term` over a row's `name` (title) and `description`. On PostgreSQL
/// a full-text match, `to_tsvector('english', name || ' ' || COALESCE(description, '')) @@
/// plainto_tsquery('english', term)` — the expression of the table's GIN index, so
/// searching never scans the table: every word of `term` must appear, stemmed (`plans`
/// finds `planning`). SQLite has no such index: there the whole `term` must appear as
/// written, case-insensitively for ASCII. The two backends may answer differently.
pub fn search(
    backend: sea_orm::DbBackend,
    name: sea_orm::sea_query::Expr,
    description: sea_orm::sea_query::Expr,
    term: &str,
) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::Expr;
    match backend {
        sea_orm::DbBackend::Postgres => Expr::cust_with_exprs(
            "to_tsvector('english', $1 || ' ' || COALESCE($2, '')) @@ plainto_tsquery('english', $3)",
            [name, description, Expr::val(term)],
        ),
        _ => {
            let escaped = term
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            Expr::cust_with_exprs(
                "(? || ' ' || COALESCE(?, '')) LIKE ? ESCAPE '\\'",
                [name, description, Expr::val(format!("%{escaped}%"))],
            )
        }
    }
}
