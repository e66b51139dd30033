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

mod collaboration;
mod governance;
mod identity;
mod planning;
mod trees;

use async_graphql::{Context, ErrorExtensions, MergedObject};
use bduf_core::{Batcher, Error, Record, RequestContext, TargetType, Viewer};
use entity::sea_orm_active_enums::CollaborationRole;
use entity::{analyses, approvals, architectural_components, projects, requirements, tasks};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Alias, ColumnType, Expr, ExprTrait, StringLen};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, SqlErr,
    TransactionTrait,
};
use uuid::Uuid;

pub use collaboration::CollaborationMutation;
pub use governance::{ApprovalResponse, GovernanceMutation};
pub use identity::{IdentityMutation, SessionInfo, SignedIn};
pub use planning::PlanningMutation;
pub use trees::{TreeNodeInput, TreesMutation};

/// The root mutation type.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    IdentityMutation,
    PlanningMutation,
    TreesMutation,
    CollaborationMutation,
    GovernanceMutation,
);

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

/// The row `id` of `M`'s table in the active organization. Not there (or in another
/// organization) is `NOT_FOUND` when `field` is the mutation's own `id`, and a
/// `VALIDATION` error on `field` when it is a reference the input makes.
pub async fn find<M: Record>(
    tx: &Tx<'_>,
    id: Uuid,
    field: &str,
    kind: &'static str,
) -> bduf_core::Result<M> {
    one_in_org(tx, id, field, kind, false).await
}

/// [`find`], locking the row (`FOR UPDATE` on PostgreSQL; SQLite's one writer needs
/// no lock) until the request's transaction ends: for read-decide-write changes that
/// concurrent requests must not interleave.
pub async fn find_for_update<M: Record>(
    tx: &Tx<'_>,
    id: Uuid,
    field: &str,
    kind: &'static str,
) -> bduf_core::Result<M> {
    one_in_org(tx, id, field, kind, true).await
}

async fn one_in_org<M: Record>(
    tx: &Tx<'_>,
    id: Uuid,
    field: &str,
    kind: &'static str,
    lock: bool,
) -> bduf_core::Result<M> {
    let mut select = M::E::find()
        .filter(M::id_column().eq(id))
        .filter(Expr::col((M::E::default(), Alias::new("organization_id"))).eq(tx.organization));
    if lock && tx.txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    select
        .one(tx.txn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| match field {
            "id" => Error::not_found(kind, id),
            other => Error::validation(other, format!("no {kind} with id {id}")),
        })
}

/// Inserts `row` and records it in `audit_log`.
pub async fn insert<M, A>(tx: &Tx<'_>, row: A) -> bduf_core::Result<M>
where
    M: Record + serde::Serialize + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = M::E> + ActiveModelBehavior + Send,
{
    let new: M = row.insert(tx.txn).await.map_err(db_error)?;
    audit(tx, M::TABLE, new.id(), "INSERT", None, Some(&new)).await?;
    Ok(new)
}

/// Writes the changed fields of `row`, recording `old` and the result in `audit_log`.
pub async fn update<M, A>(tx: &Tx<'_>, old: &M, row: A) -> bduf_core::Result<M>
where
    M: Record + serde::Serialize + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = M::E> + ActiveModelBehavior + Send,
{
    let new: M = row.update(tx.txn).await.map_err(db_error)?;
    audit(tx, M::TABLE, new.id(), "UPDATE", Some(old), Some(&new)).await?;
    Ok(new)
}

/// Deletes `old` (and, by the schema's cascades, what hangs off it), recording it in
/// `audit_log`. Returns its id.
pub async fn delete<M: Record + serde::Serialize>(tx: &Tx<'_>, old: &M) -> bduf_core::Result<Uuid> {
    M::E::delete_many()
        .filter(M::id_column().eq(old.id()))
        .exec(tx.txn)
        .await
        .map_err(db_error)?;
    audit(tx, M::TABLE, old.id(), "DELETE", Some(old), None).await?;
    Ok(old.id())
}

/// The role of `user` in the active organization, if a member.
pub async fn role_of(tx: &Tx<'_>, user: Uuid) -> bduf_core::Result<Option<CollaborationRole>> {
    entity::organization_members::Entity::find()
        .filter(entity::organization_members::Column::OrganizationId.eq(tx.organization))
        .filter(entity::organization_members::Column::UserId.eq(user))
        .one(tx.txn)
        .await
        .map(|m| m.map(|m| m.role))
        .map_err(db_error)
}

/// The role of `user` in the active organization, or a `VALIDATION` error on `field`
/// when they are not a member.
pub async fn member_role(
    tx: &Tx<'_>,
    user: Uuid,
    field: &str,
) -> bduf_core::Result<CollaborationRole> {
    role_of(tx, user).await?.ok_or_else(|| {
        Error::validation(
            field,
            format!("user {user} is not a member of the organization"),
        )
    })
}

/// The project of the record a `(target_type, target_id)` pair names, when that record
/// is in the active organization.
pub async fn target_project(
    tx: &Tx<'_>,
    target: TargetType,
    id: Uuid,
) -> bduf_core::Result<Option<Uuid>> {
    let org = tx.organization;
    macro_rules! project_of {
        ($m:ident, $column:ident) => {
            $m::Entity::find_by_id(id)
                .filter($m::Column::OrganizationId.eq(org))
                .select_only()
                .column($m::Column::$column)
                .into_tuple::<Uuid>()
                .one(tx.txn)
                .await
                .map_err(db_error)?
        };
    }
    Ok(match target {
        TargetType::Project => project_of!(projects, Id),
        TargetType::Requirement => project_of!(requirements, ProjectId),
        TargetType::Component => project_of!(architectural_components, ProjectId),
        TargetType::Task => project_of!(tasks, ProjectId),
        TargetType::Analysis => project_of!(analyses, ProjectId),
        TargetType::Approval => project_of!(approvals, ProjectId),
    })
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

/// The `VARCHAR(n)` columns of the schema and their `n` (the generated entities do not
/// carry lengths). The test `every_varchar_length_is_known` compares this list with the
/// live PostgreSQL catalog, so a migration that adds or changes one fails until it is
/// updated here.
pub const VARCHAR_LENGTHS: [(&str, usize); 45] = [
    ("analyses.ai_model_used", 100),
    ("analyses.methodology", 100),
    ("analyses.status", 50),
    ("analyses.title", 255),
    ("approvals.approval_type", 100),
    ("approvals.target_type", 100),
    ("approvals.title", 255),
    ("architectural_components.implementation_status", 50),
    ("architectural_components.name", 255),
    ("architectural_components.technology", 100),
    ("architectural_components.type", 100),
    ("audit_log.change_reason", 255),
    ("audit_log.operation", 10),
    ("audit_log.table_name", 100),
    ("collaboration_sessions.current_phase", 100),
    ("collaboration_sessions.session_type", 100),
    ("collaboration_sessions.status", 50),
    ("collaboration_sessions.title", 255),
    ("comments.content_type", 50),
    ("idempotency_keys.fingerprint", 64),
    ("idempotency_keys.key", 255),
    ("comments.target_type", 100),
    ("notifications.delivery_method", 50),
    ("notifications.target_type", 100),
    ("notifications.title", 255),
    ("notifications.type", 100),
    ("organizations.name", 255),
    ("organizations.slug", 100),
    ("projects.currency", 3),
    ("projects.industry", 100),
    ("projects.name", 255),
    ("projects.project_type", 100),
    ("requirements.category", 100),
    ("requirements.title", 255),
    ("tasks.title", 255),
    ("tasks.work_type", 100),
    ("user_sessions.token_hash", 64),
    ("user_sessions.user_agent", 500),
    ("users.avatar_url", 500),
    ("users.email", 255),
    ("users.first_name", 100),
    ("users.last_name", 100),
    ("users.password_hash", 255),
    ("users.timezone", 50),
    ("users.username", 100),
];

/// The longest value `column` takes: its `VARCHAR(n)`, or [`MAX_TEXT`] for `TEXT`.
pub fn max_len<C: ColumnTrait>(column: C) -> Option<usize> {
    let qualified = format!("{}.{}", column.entity_name(), column.as_str());
    if let Some((_, n)) = VARCHAR_LENGTHS.iter().find(|(c, _)| *c == qualified) {
        return Some(*n);
    }
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

/// Records the creation of `rows` of `table` in `audit_log`, 500 entries a statement.
pub async fn audit_inserts<M: serde::Serialize>(
    tx: &Tx<'_>,
    table: &str,
    rows: &[(Uuid, &M)],
) -> bduf_core::Result<()> {
    let now = now();
    for chunk in rows.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(id, row)| entity::audit_log::ActiveModel {
                id: Set(Uuid::now_v7()),
                table_name: Set(table.to_owned()),
                record_id: Set(*id),
                operation: Set("INSERT".to_owned()),
                user_id: Set(Some(tx.viewer.user)),
                session_id: Set(None),
                old_values: Set(None),
                new_values: Set(serde_json::to_value(row).ok()),
                changed_fields: Set(None),
                change_reason: Set(None),
                client_ip: Set(None),
                user_agent: Set(None),
                created_at: Set(Some(now)),
                organization_id: Set(tx.organization),
            });
        entity::audit_log::Entity::insert_many(entries)
            .exec(tx.txn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
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

/// Applies a nullable field of an update input: left out keeps the value, `null`
/// clears it, a value sets it.
pub fn patch<T>(slot: &mut sea_orm::ActiveValue<Option<T>>, value: async_graphql::MaybeUndefined<T>)
where
    Option<T>: Into<sea_orm::Value>,
{
    match value {
        async_graphql::MaybeUndefined::Undefined => {}
        async_graphql::MaybeUndefined::Null => *slot = Set(None),
        async_graphql::MaybeUndefined::Value(v) => *slot = Set(Some(v)),
    }
}
