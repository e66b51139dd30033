//! The root mutation, merged from one part per context, and what every mutation field
//! shares: [`write`] runs a field's work in a savepoint of the request's transaction as
//! the signed-in viewer, after a role check; the `check_*` helpers mirror the schema's
//! rules (lengths, ranges, non-blank names) as `VALIDATION` errors naming the field;
//! [`audit`] records each change in `audit_log`; [`db_error`] turns a constraint the
//! database still refused into `CONFLICT` / `VALIDATION` / `FORBIDDEN`, never SQL.
//!
//! Rules every mutation follows:
//! - the organization is the request's active one (`X-Organization-Id`, or the viewer's
//!   earliest), never an input; `created_by`, `author_id` and `requested_by` are the
//!   viewer;
//! - an id that names no row visible to the viewer is `NOT_FOUND` — whether it exists in
//!   another organization is never told;
//! - a failed field rolls back its savepoint: it changes nothing, the audit row included.

mod identity;
mod planning;
mod trees;

use async_graphql::{Context, ErrorExtensions, MergedObject};
use bduf_core::{Batcher, Error, RequestContext, Viewer};
use entity::sea_orm_active_enums::CollaborationRole;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{ColumnType, StringLen};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr, SqlErr,
    TransactionTrait,
};
use uuid::Uuid;

pub use identity::{IdentityMutation, SessionInfo, SignedIn};
pub use planning::PlanningMutation;
pub use trees::{TreeNodeInput, TreesMutation};

/// The root mutation type.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(IdentityMutation, PlanningMutation, TreesMutation);

/// The longest text a `TEXT` column takes through the API, in characters.
pub const MAX_TEXT: usize = 50_000;

/// What a mutation's work gets: its savepoint, the viewer, and the active organization.
pub struct Tx<'a> {
    pub txn: &'a DatabaseTransaction,
    pub viewer: &'a Viewer,
    pub organization: Uuid,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("viewer", &self.viewer.user)
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

/// The request's viewer (`UNAUTHENTICATED` without one).
pub fn viewer<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Viewer> {
    let context = ctx.data::<RequestContext>()?;
    context.viewer().map_err(|e| e.extend())
}

/// Runs `work` for a viewer with at least the role `needed` in the active organization,
/// in a savepoint of the request's transaction: released when `work` succeeds, rolled
/// back when it fails.
pub async fn write<T, F>(
    ctx: &Context<'_>,
    needed: CollaborationRole,
    action: &str,
    work: F,
) -> async_graphql::Result<T>
where
    F: for<'a> FnOnce(&'a Tx<'a>) -> BoxFuture<'a, bduf_core::Result<T>>,
{
    let viewer = viewer(ctx)?;
    let organization = viewer.require(needed, action).map_err(|e| e.extend())?;
    run(ctx, viewer, organization, work).await
}

/// [`write`] without the role check, in `organization` (for what any signed-in user may
/// do: create an organization, answer their own approval).
pub async fn run<T, F>(
    ctx: &Context<'_>,
    viewer: &Viewer,
    organization: Uuid,
    work: F,
) -> async_graphql::Result<T>
where
    F: for<'a> FnOnce(&'a Tx<'a>) -> BoxFuture<'a, bduf_core::Result<T>>,
{
    let batcher = ctx.data::<Batcher>()?;
    let Some(transaction) = batcher.reader().transaction() else {
        return Err(Error::Forbidden("mutations need a request transaction".into()).extend());
    };
    let savepoint = transaction
        .begin()
        .await
        .map_err(|e| db_error(e).extend())?;
    let tx = Tx {
        txn: &savepoint,
        viewer,
        organization,
    };
    let outcome = work(&tx).await;
    drop(tx);
    match outcome {
        Ok(value) => {
            savepoint.commit().await.map_err(|e| db_error(e).extend())?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = savepoint.rollback().await {
                tracing::error!(error = %rollback, "rolling back a failed mutation failed");
            }
            Err(err.extend())
        }
    }
}

/// A database error of a write as the client sees it: constraint violations by rule,
/// anything else as the generic database error (logged, not shown).
pub fn db_error(err: DbErr) -> Error {
    let text = err.to_string();
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => {
            return Error::conflict(unique_field(&detail), "is already taken");
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            return Error::validation(
                "input",
                "refers to a record that does not exist in this organization",
            );
        }
        _ => {}
    }
    if text.contains("row-level security") {
        return Error::Forbidden("the row is not in your organization".into());
    }
    if text.contains("check constraint") || text.contains("CHECK constraint failed") {
        return Error::validation("input", "breaks a rule of the schema (a CHECK constraint)");
    }
    if text.contains("must be the organization of") {
        return Error::validation(
            "input",
            "refers to a record that does not exist in this organization",
        );
    }
    Error::from(err)
}

/// The column a unique violation names, best effort (`organizations_slug_key` → `slug`).
fn unique_field(detail: &str) -> String {
    for (name, field) in [
        ("slug", "slug"),
        ("email", "email"),
        ("username", "username"),
        ("user_id", "userId"),
        ("key", "idempotencyKey"),
    ] {
        if detail.contains(name) {
            return field.to_owned();
        }
    }
    "input".to_owned()
}

/// The declared length of a `VARCHAR(n)` column, if it has one.
pub fn max_len<C: ColumnTrait>(column: C) -> Option<usize> {
    match column.def().get_column_type() {
        ColumnType::String(StringLen::N(n)) => usize::try_from(*n).ok(),
        ColumnType::Text => Some(MAX_TEXT),
        _ => None,
    }
}

/// `value` fits `column` (its `VARCHAR(n)`, or [`MAX_TEXT`] for `TEXT`).
pub fn check_text<C: ColumnTrait>(
    field: &str,
    column: C,
    value: Option<&str>,
) -> bduf_core::Result<()> {
    if let (Some(value), Some(max)) = (value, max_len(column)) {
        let n = value.chars().count();
        if n > max {
            return Err(Error::validation(
                field,
                format!("must be at most {max} characters, got {n}"),
            ));
        }
    }
    Ok(())
}

/// A required name or title: not blank, and fits `column`.
pub fn check_name<C: ColumnTrait>(field: &str, column: C, value: &str) -> bduf_core::Result<()> {
    if value.trim().is_empty() {
        return Err(Error::validation(field, "must not be blank"));
    }
    check_text(field, column, Some(value))
}

/// `value` lies in `low..=high` (the column's CHECK).
pub fn check_range(field: &str, value: Option<i32>, low: i32, high: i32) -> bduf_core::Result<()> {
    match value {
        Some(v) if v < low || v > high => Err(Error::validation(
            field,
            format!("must be between {low} and {high}, got {v}"),
        )),
        _ => Ok(()),
    }
}

/// `value` is not negative.
pub fn check_non_negative(field: &str, value: Option<i32>) -> bduf_core::Result<()> {
    check_range(field, value, 0, i32::MAX)
}

/// Records a change of `table` row `id` in `audit_log`, with the row before and after
/// (as JSON) and the fields that changed.
pub async fn audit<M: serde::Serialize>(
    tx: &Tx<'_>,
    table: &str,
    id: Uuid,
    operation: &str,
    old: Option<&M>,
    new: Option<&M>,
) -> bduf_core::Result<()> {
    let old = old.map(serde_json::to_value).transpose().ok().flatten();
    let new = new.map(serde_json::to_value).transpose().ok().flatten();
    let changed = match (&old, &new) {
        (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) => {
            Some(serde_json::Value::from(
                b.iter()
                    .filter(|(k, v)| a.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .collect::<Vec<_>>(),
            ))
        }
        _ => None,
    };
    entity::audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        table_name: Set(table.to_owned()),
        record_id: Set(id),
        operation: Set(operation.to_owned()),
        user_id: Set(Some(tx.viewer.user)),
        session_id: Set(None),
        old_values: Set(old),
        new_values: Set(new),
        changed_fields: Set(changed),
        change_reason: Set(None),
        client_ip: Set(None),
        user_agent: Set(None),
        created_at: Set(Some(now())),
        organization_id: Set(tx.organization),
    }
    .insert(tx.txn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Now, in the one form timestamps are written in.
pub fn now() -> chrono::DateTime<chrono::FixedOffset> {
    bduf_core::utc(chrono::Utc::now().fixed_offset())
}
