//! The write kernel every context's commands build on: [`Tx`], what a command runs in,
//! and the statements commands share — [`find`] a row of the active organization (or
//! lock it with [`find_for_update`]), [`insert`], [`update`] and [`delete`] it.
//!
//! Commands write no audit rows, `updated_at` or `version`: the database's triggers do,
//! for every change whoever makes it (migration step 17), from what
//! [`crate::RequestTxn`] tells the transaction about the request.
//!
//! Rules every command follows:
//! - the organization is the request's active one (`X-Organization-Id`, or the viewer's
//!   earliest), never an input; `created_by`, `author_id` and `requested_by` are the
//!   viewer;
//! - an id that names no row visible to the viewer is `NOT_FOUND` when it is the
//!   command's own, and `VALIDATION` on its field when the input refers to it — whether
//!   it exists in another organization is never told;
//! - a command runs in a savepoint ([`crate::RequestTxn::command`]): a failed one changes
//!   nothing, the audit rows its changes caused included.

use std::sync::Mutex;

use entity::sea_orm_active_enums::CollaborationRole;
use entity::{analyses, approvals, architectural_components, projects, requirements, tasks};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::TargetType;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::scope::Viewer;
use crate::txn::{APP_ROLE, set_local};

/// What a command runs in: its savepoint of the request's transaction, the viewer, and
/// the organization it acts in.
pub struct Tx<'a> {
    /// The savepoint: every statement of the command goes through it.
    pub txn: &'a DatabaseTransaction,
    viewer: &'a Viewer,
    /// Where the command moved the request ([`Tx::act_in`]), with the viewer's role
    /// there.
    moved: Mutex<Option<(Uuid, CollaborationRole)>>,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("viewer", &self.viewer.user)
            .field("organization", &self.organization())
            .finish_non_exhaustive()
    }
}

impl<'a> Tx<'a> {
    /// A command of `viewer` in `txn`.
    pub fn new(txn: &'a DatabaseTransaction, viewer: &'a Viewer) -> Self {
        Self {
            txn,
            viewer,
            moved: Mutex::new(None),
        }
    }

    /// The signed-in user.
    pub fn user(&self) -> Uuid {
        self.viewer.user
    }

    /// The viewer.
    pub fn viewer(&self) -> &Viewer {
        self.viewer
    }

    /// The organization the command acts in (nil when the viewer belongs to none: then
    /// it finds nothing, and [`Tx::require`] refuses).
    pub fn organization(&self) -> Uuid {
        self.moved()
            .map(|(org, _)| org)
            .or(self.viewer.organization)
            .unwrap_or_default()
    }

    /// The viewer's role in the active organization.
    pub fn role(&self) -> Option<CollaborationRole> {
        match self.moved() {
            Some((_, role)) => Some(role),
            None => self
                .viewer
                .organization
                .and_then(|org| self.viewer.role_in(org)),
        }
    }

    /// The active organization, when the viewer's role there is at least `needed`;
    /// otherwise `FORBIDDEN`, naming what `action` needs.
    pub fn require(&self, needed: CollaborationRole, action: &str) -> Result<Uuid> {
        self.viewer.require(needed, action)
    }

    /// Whether the viewer's role is at least `needed`.
    pub fn has(&self, needed: CollaborationRole) -> bool {
        self.role()
            .is_some_and(|role| crate::rank(role) >= crate::rank(needed))
    }

    /// Acts in `organization` (where the viewer now has `role`) for the rest of the
    /// command — and, once it succeeds, of the request. On PostgreSQL row-level
    /// security follows at once (`app.organization_id`, local to the savepoint until
    /// it is released).
    pub async fn act_in(&self, organization: Uuid, role: CollaborationRole) -> Result<()> {
        // A collaboration session belongs to one organization: the request's changes in
        // another are in none (and `audit_log`'s key `(session_id, organization_id)`
        // would refuse them).
        if self.txn.get_database_backend() == DbBackend::Postgres {
            self.txn
                .execute_raw(set_local(&[
                    ("app.organization_id", organization.to_string()),
                    ("app.session_id", String::new()),
                ]))
                .await?;
        } else {
            self.txn
                .execute_unprepared("UPDATE audit_context SET session_id = NULL")
                .await?;
        }
        *self
            .moved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((organization, role));
        Ok(())
    }

    /// Where the command moved the request, if it did.
    pub fn moved(&self) -> Option<(Uuid, CollaborationRole)> {
        *self
            .moved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `work` as the database's owner ([`as_owner`]).
    pub async fn as_owner<T, F>(&self, work: impl FnOnce() -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        as_owner(self.txn, work).await
    }
}

/// Runs `work` as the database's owner, past row-level security (PostgreSQL: the role is
/// reset for `work` and set back to `bduf_app` after; a failed `work` leaves the reset
/// to its savepoint's rollback). For the few statements that must see beyond the
/// request's organization and user: signing up and in, finding an account by email to
/// add it to the organization.
pub async fn as_owner<T, F>(conn: &DatabaseTransaction, work: impl FnOnce() -> F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let postgres = conn.get_database_backend() == DbBackend::Postgres;
    if postgres {
        conn.execute_raw(set_local(&[("role", "none".to_owned())]))
            .await?;
    }
    let value = work().await?;
    if postgres {
        conn.execute_raw(set_local(&[("role", APP_ROLE.to_owned())]))
            .await?;
    }
    Ok(value)
}

/// The row `id` of `M`'s table in the active organization. Not there (or in another
/// organization) is `NOT_FOUND` when `field` is the command's own `id`, and a
/// `VALIDATION` error on `field` when it is a reference the input makes.
pub async fn find<M: Record>(tx: &Tx<'_>, id: Uuid, field: &str, kind: &'static str) -> Result<M> {
    one_in_org(tx, id, field, kind, false).await
}

/// [`find`], locking the row (`FOR UPDATE` on PostgreSQL; SQLite's one writer needs no
/// lock) until the request's transaction ends: for read-decide-write changes that
/// concurrent requests must not interleave.
pub async fn find_for_update<M: Record>(
    tx: &Tx<'_>,
    id: Uuid,
    field: &str,
    kind: &'static str,
) -> Result<M> {
    one_in_org(tx, id, field, kind, true).await
}

async fn one_in_org<M: Record>(
    tx: &Tx<'_>,
    id: Uuid,
    field: &str,
    kind: &'static str,
    lock: bool,
) -> Result<M> {
    let mut select = M::E::find()
        .filter(M::id_column().eq(id))
        .filter(M::in_organization(tx.organization()));
    if lock {
        // SQLite's builder writes no lock clause: its one writer needs none.
        select = select.lock_exclusive();
    }
    select
        .one(tx.txn)
        .await?
        .ok_or_else(|| missing(field, kind, id))
}

/// What a missing row is: `NOT_FOUND` for the command's own `id`, a `VALIDATION` error
/// on any other field that refers to it.
pub fn missing(field: &str, kind: &'static str, id: Uuid) -> Error {
    match field {
        "id" => Error::not_found(kind, id),
        other => Error::invalid(other, format!("no {kind} with id {id}")),
    }
}

/// Inserts `row` and returns it as written.
pub async fn insert<M, A>(tx: &Tx<'_>, row: A) -> Result<M>
where
    M: Record + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = M::E> + ActiveModelBehavior + Send,
{
    Ok(row.insert(tx.txn).await?)
}

/// Writes the changed fields of `row` and returns the row as written (with the
/// `updated_at` and `version` the database gave it). On SQLite those are written by an
/// AFTER trigger, which the UPDATE's own result does not show: the row is read again.
pub async fn update<M, A>(tx: &Tx<'_>, row: A) -> Result<M>
where
    M: Record + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = M::E> + ActiveModelBehavior + Send,
{
    let written: M = row.update(tx.txn).await?;
    if tx.txn.get_database_backend() != DbBackend::Sqlite {
        return Ok(written);
    }
    M::E::find()
        .filter(M::id_column().eq(written.id()))
        .one(tx.txn)
        .await?
        .ok_or_else(|| Error::Internal("a row just updated is gone"))
}

/// Deletes `old` (and, by the schema's cascades, what hangs off it). Returns its id.
pub async fn delete<M: Record>(tx: &Tx<'_>, old: &M) -> Result<Uuid> {
    M::E::delete_many()
        .filter(M::id_column().eq(old.id()))
        .exec(tx.txn)
        .await?;
    Ok(old.id())
}

/// `user`'s membership of the active organization, if a member.
pub async fn membership(
    tx: &Tx<'_>,
    user: Uuid,
) -> Result<Option<entity::organization_members::Model>> {
    use entity::organization_members as members;
    Ok(members::Entity::find()
        .filter(members::Column::OrganizationId.eq(tx.organization()))
        .filter(members::Column::UserId.eq(user))
        .one(tx.txn)
        .await?)
}

/// The role of `user` in the active organization, if a member.
pub async fn role_of(tx: &Tx<'_>, user: Uuid) -> Result<Option<CollaborationRole>> {
    Ok(membership(tx, user).await?.map(|m| m.role))
}

/// The role of `user` in the active organization, or a `VALIDATION` error on `field`
/// when they are not a member.
pub async fn member_role(tx: &Tx<'_>, user: Uuid, field: &str) -> Result<CollaborationRole> {
    role_of(tx, user).await?.ok_or_else(|| {
        Error::invalid(
            field,
            format!("user {user} is not a member of the organization"),
        )
    })
}

/// The project of the record a `(target_type, target_id)` pair names, when that record
/// is in the active organization.
pub async fn target_project(tx: &Tx<'_>, target: TargetType, id: Uuid) -> Result<Option<Uuid>> {
    let org = tx.organization();
    macro_rules! project_of {
        ($m:ident, $column:ident) => {
            $m::Entity::find_by_id(id)
                .filter($m::Column::OrganizationId.eq(org))
                .select_only()
                .column($m::Column::$column)
                .into_tuple::<Uuid>()
                .one(tx.txn)
                .await?
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

/// Rows per multi-row INSERT of a command writing many rows at once.
pub const BATCH: usize = 500;

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

/// Sets a field of a row from an input that may leave it out.
pub fn set<T>(slot: &mut sea_orm::ActiveValue<T>, value: Option<T>)
where
    T: Into<sea_orm::Value>,
{
    if let Some(v) = value {
        *slot = Set(v);
    }
}
