//! The generic batched loaders. One [`EntityLoader`] per request, behind an async-graphql
//! `DataLoader`, batches every key of a kind that resolvers ask for while a query level
//! resolves, and answers each batch with one statement:
//!
//! - [`ById`]: rows by primary key (`WHERE id IN (…)`);
//! - [`ByColumn`]: rows by a foreign-key column, grouped per value (`WHERE fk IN (…)`);
//! - [`ByTarget`]: rows pointing at a polymorphic target (`target_type`, `target_id`);
//! - [`Ancestors`] / [`Descendants`]: tree walks by one recursive CTE over `parent_id`.
//!
//! Domain crates add their own keys (aggregates) by implementing `Loader<TheirKey>` for
//! [`EntityLoader`]. So the number of statements of a request depends on its shape, never
//! on how many rows it touches.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::sea_query::{ExprTrait, Value};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, ModelTrait, QueryFilter,
    QueryOrder, Statement,
};
use uuid::Uuid;

use crate::db::{Db, placeholders};
use crate::record::{Column, Record};

/// The deepest tree walk: a guard against `parent_id` cycles, which the schema allows.
pub const MAX_TREE_DEPTH: u32 = 1_000;

/// The most keys one statement carries; a larger batch is split. Below both backends'
/// bind-parameter limits (PostgreSQL 65,535; SQLite 32,766).
pub const MAX_BATCH: usize = 10_000;

/// Answers every generic key (and the domain crates' aggregate keys) for one request.
#[derive(Debug, Clone)]
pub struct EntityLoader {
    db: Db,
}

impl EntityLoader {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database this loader reads.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// The per-request loader handle resolvers use.
pub type Loaders = DataLoader<EntityLoader>;

/// A fresh loader for one request. `spawner` runs its fetches; with no delay, a fetch
/// takes every key queued before it is first polled, so a spawner that polls fetches only
/// while the request's own future is waiting (see `bduf_graphql::execute`) batches each
/// query level whole, however long resolving that level takes.
pub fn request_loaders<S, R>(db: Db, spawner: S) -> Loaders
where
    S: Fn(futures_util::future::BoxFuture<'static, ()>) -> R + Send + Sync + 'static,
{
    DataLoader::new(EntityLoader::new(db), spawner)
        .delay(std::time::Duration::ZERO)
        .max_batch_size(MAX_BATCH)
}

macro_rules! key_impls {
    ($name:ident { $($field:ident),* }) => {
        impl<M> Clone for $name<M> {
            fn clone(&self) -> Self {
                Self { $($field: self.$field.clone(),)* _model: PhantomData }
            }
        }
        impl<M> PartialEq for $name<M> {
            fn eq(&self, other: &Self) -> bool {
                true $(&& self.$field == other.$field)*
            }
        }
        impl<M> Eq for $name<M> {}
        impl<M> Hash for $name<M> {
            fn hash<H: Hasher>(&self, state: &mut H) {
                $(self.$field.hash(state);)*
            }
        }
        impl<M> std::fmt::Debug for $name<M> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))$(.field(stringify!($field), &self.$field))*.finish()
            }
        }
    };
}

/// The row of `M` with this id.
pub struct ById<M> {
    pub id: Uuid,
    _model: PhantomData<fn() -> M>,
}
key_impls!(ById { id });

impl<M> ById<M> {
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            _model: PhantomData,
        }
    }
}

/// The rows of `M` whose column `column` (a UUID foreign key) equals `value`, by id.
pub struct ByColumn<M> {
    pub column: &'static str,
    pub value: Uuid,
    _model: PhantomData<fn() -> M>,
}
key_impls!(ByColumn { column, value });

impl<M> ByColumn<M> {
    pub fn new(column: &'static str, value: Uuid) -> Self {
        Self {
            column,
            value,
            _model: PhantomData,
        }
    }
}

/// The rows of `M` (comments, approvals, notifications) aimed at one target, by id.
pub struct ByTarget<M> {
    pub target_type: &'static str,
    pub target_id: Uuid,
    _model: PhantomData<fn() -> M>,
}
key_impls!(ByTarget {
    target_type,
    target_id
});

impl<M> ByTarget<M> {
    pub fn new(target_type: &'static str, target_id: Uuid) -> Self {
        Self {
            target_type,
            target_id,
            _model: PhantomData,
        }
    }
}

/// The ancestors of a tree node, root first.
pub struct Ancestors<M> {
    pub id: Uuid,
    _model: PhantomData<fn() -> M>,
}
key_impls!(Ancestors { id });

impl<M> Ancestors<M> {
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            _model: PhantomData,
        }
    }
}

/// The descendants of a tree node down to `max_depth` levels, breadth first, with
/// their depth below the node (1 for children).
pub struct Descendants<M> {
    pub id: Uuid,
    pub max_depth: u32,
    _model: PhantomData<fn() -> M>,
}
key_impls!(Descendants { id, max_depth });

impl<M> Descendants<M> {
    pub fn new(id: Uuid, max_depth: u32) -> Self {
        Self {
            id,
            max_depth,
            _model: PhantomData,
        }
    }
}

/// A column's UUID value in a model (`None` when null).
pub fn uuid_of<M>(model: &M, column: Column<M>) -> Option<Uuid>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    match model.get(column) {
        Value::Uuid(Some(id)) => Some(id),
        _ => None,
    }
}

fn column<M: Record>(name: &str) -> Result<Column<M>, Arc<DbErr>> {
    Column::<M>::from_str(name)
        .map_err(|_| Arc::new(DbErr::Custom(format!("{} has no column {name}", M::TABLE))))
}

impl<M> Loader<ById<M>> for EntityLoader
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    type Value = M;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ById<M>]) -> Result<HashMap<ById<M>, M>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.id).collect();
        let rows = M::E::find()
            .filter(M::id_column().is_in(ids))
            .all(self.db.conn())
            .await?;
        Ok(rows.into_iter().map(|m| (ById::new(m.id()), m)).collect())
    }
}

impl<M> Loader<ByColumn<M>> for EntityLoader
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    type Value = Vec<M>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ByColumn<M>],
    ) -> Result<HashMap<ByColumn<M>, Vec<M>>, Self::Error> {
        let mut by_column: HashMap<&'static str, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_column.entry(key.column).or_default().push(key.value);
        }
        let mut out: HashMap<ByColumn<M>, Vec<M>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for (name, values) in by_column {
            let col = column::<M>(name)?;
            let rows = M::E::find()
                .filter(col.is_in(values))
                .order_by_asc(M::id_column())
                .all(self.db.conn())
                .await?;
            for row in rows {
                if let Some(value) = uuid_of(&row, col) {
                    out.entry(ByColumn::new(name, value)).or_default().push(row);
                }
            }
        }
        Ok(out)
    }
}

impl<M> Loader<ByTarget<M>> for EntityLoader
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    type Value = Vec<M>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ByTarget<M>],
    ) -> Result<HashMap<ByTarget<M>, Vec<M>>, Self::Error> {
        let type_col = column::<M>("target_type")?;
        let id_col = column::<M>("target_id")?;
        let mut by_type: HashMap<&'static str, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_type
                .entry(key.target_type)
                .or_default()
                .push(key.target_id);
        }
        let mut out: HashMap<ByTarget<M>, Vec<M>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        // One statement for the whole batch, whatever the mix of target types.
        let mut condition = sea_orm::Condition::any();
        for (target_type, ids) in &by_type {
            condition = condition.add(type_col.eq(*target_type).and(id_col.is_in(ids.clone())));
        }
        let rows = M::E::find()
            .filter(condition)
            .order_by_asc(M::id_column())
            .all(self.db.conn())
            .await?;
        for row in rows {
            let target_type = match row.get(type_col) {
                Value::String(Some(t)) => t,
                _ => continue,
            };
            let Some(target_id) = uuid_of(&row, id_col) else {
                continue;
            };
            if let Some((&kind, _)) = by_type.get_key_value(target_type.as_str()) {
                out.entry(ByTarget::new(kind, target_id))
                    .or_default()
                    .push(row);
            }
        }
        Ok(out)
    }
}

/// Walks `parent_id` from every id in `ids`: up to the roots (`up`) or down at most
/// `max_depth` levels. Returns `(start id, distance, row)` ordered by start, distance, id.
async fn walk<M: Record + FromQueryResult>(
    db: &Db,
    ids: &[Uuid],
    up: bool,
    max_depth: u32,
) -> Result<Vec<(Uuid, i64, M)>, Arc<DbErr>> {
    let backend = db.backend();
    let table = M::TABLE;
    let step = if up {
        format!(
            "SELECT w.start_id, n.id, n.parent_id, w.depth + 1 FROM {table} n JOIN walk w ON n.id = w.parent_id"
        )
    } else {
        format!(
            "SELECT w.start_id, n.id, n.parent_id, w.depth + 1 FROM {table} n JOIN walk w ON n.parent_id = w.node_id"
        )
    };
    let sql = format!(
        "WITH RECURSIVE walk(start_id, node_id, parent_id, depth) AS ( \
           SELECT id, id, parent_id, 0 FROM {table} WHERE id IN ({params}) \
           UNION ALL {step} WHERE w.depth < {max_depth} \
         ) \
         SELECT w.start_id AS walk_start, CAST(w.depth AS BIGINT) AS walk_depth, t.* \
         FROM walk w JOIN {table} t ON t.id = w.node_id \
         WHERE w.depth > 0 ORDER BY walk_start, walk_depth, t.id",
        params = placeholders(backend, 1, ids.len()),
        max_depth = Ord::min(max_depth, MAX_TREE_DEPTH),
    );
    let values: Vec<Value> = ids.iter().map(|id| (*id).into()).collect();
    let rows = db
        .conn()
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|row| {
            let start: Uuid = row.try_get("", "walk_start")?;
            let depth: i64 = row.try_get("", "walk_depth")?;
            Ok((start, depth, M::from_query_result(row, "")?))
        })
        .collect::<Result<_, DbErr>>()
        .map_err(Arc::new)
}

impl<M> Loader<Ancestors<M>> for EntityLoader
where
    M: Record + FromQueryResult,
{
    type Value = Vec<M>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[Ancestors<M>],
    ) -> Result<HashMap<Ancestors<M>, Vec<M>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.id).collect();
        let mut out: HashMap<Ancestors<M>, Vec<M>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for (start, _, row) in walk::<M>(&self.db, &ids, true, MAX_TREE_DEPTH).await? {
            out.entry(Ancestors::new(start)).or_default().push(row);
        }
        // The walk goes parent first; callers want the root first.
        for chain in out.values_mut() {
            chain.reverse();
        }
        Ok(out)
    }
}

impl<M> Loader<Descendants<M>> for EntityLoader
where
    M: Record + FromQueryResult,
{
    type Value = Vec<(u32, M)>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[Descendants<M>],
    ) -> Result<HashMap<Descendants<M>, Vec<(u32, M)>>, Self::Error> {
        let mut by_depth: HashMap<u32, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_depth.entry(key.max_depth).or_default().push(key.id);
        }
        let mut out: HashMap<Descendants<M>, Vec<(u32, M)>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for (max_depth, ids) in by_depth {
            for (start, depth, row) in walk::<M>(&self.db, &ids, false, max_depth).await? {
                let depth = u32::try_from(depth).unwrap_or(u32::MAX);
                out.entry(Descendants::new(start, max_depth))
                    .or_default()
                    .push((depth, row));
            }
        }
        Ok(out)
    }
}
