//! Trees over `parent_id` — requirements, architectural components, tasks, comment
//! threads: the walks reads and commands share, built once with sea-query, and the
//! generic commands of the plan's trees.
//!
//! Walks: [`up`] (each node's ancestors, with their distance) and [`down`] (each node's
//! descendants, with their depth), as `WITH RECURSIVE _walk` clauses that the read keys
//! (`ancestors`, `depth`, `descendants`: [`crate::read`]) select from and the commands
//! ([`subtree`], [`is_ancestor_or_self`]) count or list. The schema does not forbid a
//! `parent_id` cycle; every walk ends on one: an uncapped walk by `UNION` (a node seen
//! again adds no row), a capped one by its cap.
//!
//! Commands ([`create`], [`update`], [`delete`], [`move_to`], [`create_subtree`]), for
//! any table that is a [`TreeKind`]; all of a call happens or none of it (one savepoint):
//! - a parent must be in the same project; a node cannot move under itself or its own
//!   descendants ([`is_ancestor_or_self`], walking up from the new parent);
//! - moves and subtree creations of one project are serialized: each locks the
//!   project's row first ([`lock`]: `FOR NO KEY UPDATE` on PostgreSQL; SQLite's write
//!   transaction is exclusive anyway), so two concurrent moves cannot build a cycle
//!   between them;
//! - a subtree is a flat list of nodes ([`NodeSpec`]), each with a client `key` and an
//!   optional `parentKey` naming another node of the list (none: under the call's
//!   parent, or a root); at most [`MAX_TREE_NODES`], inserted parents first, [`BATCH`]
//!   rows a statement (the database records each row).

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{
    CommonTableExpression, Condition, Expr, ExprTrait, Func, LockType, Query, SelectStatement,
    UnionType, WithClause,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IdenStatic, IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::record::{Column, Record, Tree};
use crate::window::{any_of, col};
use crate::write::{self, BATCH, Tx, missing};

/// The name of the walk every tree statement selects from.
pub const WALK: &str = "_walk";

/// A column of the walk.
pub fn walked(name: &'static str) -> Expr {
    Expr::col((WALK, name))
}

/// `WITH RECURSIVE _walk(_start, _node, _first[, _depth])`: for every id of `ids` that
/// `anchor` keeps, each ancestor (`_node`) — the parent marked `_first = 1` — and, with a
/// `cap`, its distance (`_depth`, 1 for the parent), at most `cap` away.
pub fn up<M: Tree>(
    backend: DbBackend,
    anchor: Condition,
    ids: &[Uuid],
    cap: Option<u32>,
) -> WithClause {
    let parent = col::<M>(M::parent_column());
    let mut start = Query::select();
    start
        .expr_as(col::<M>(M::id_column()), "_start")
        .expr_as(parent.clone(), "_node")
        .expr_as(Expr::cust("1"), "_first")
        .from(M::E::default())
        .and_where(any_of(backend, col::<M>(M::id_column()), ids))
        .cond_where(anchor)
        .and_where(parent.clone().is_not_null());
    let mut step = Query::select();
    step.expr(walked("_start"))
        .expr(parent.clone())
        .expr(Expr::cust("0"))
        .from(M::E::default())
        .inner_join(WALK, col::<M>(M::id_column()).equals((WALK, "_node")))
        .and_where(parent.is_not_null());
    let mut columns = vec!["_start", "_node", "_first"];
    if let Some(cap) = cap {
        start.expr_as(Expr::cust("1"), "_depth");
        step.expr(walked("_depth").add(1))
            .and_where(walked("_depth").lt(i64::from(cap)));
        columns.push("_depth");
    }
    recursive(start, step, cap.is_some(), columns)
}

/// `WITH RECURSIVE _walk(_start, _node[, _depth])`: for every id of `ids`, each
/// descendant (`_node`) of it that `anchor` keeps at the first level, and, with a `cap`,
/// its depth below the start (`_depth`, 1 for a child), at most `cap` down. The rest of a
/// walk stays in its start's organization (a child is in its parent's: migration step
/// 11). A walk never steps into its own start, so a start on a cycle is not its own
/// descendant (see [`down_carrying`]).
pub fn down<M: Tree>(
    backend: DbBackend,
    anchor: Condition,
    ids: &[Uuid],
    cap: Option<u32>,
) -> WithClause {
    walk_down::<M>(backend, anchor, ids, cap, &[])
}

/// `WITH RECURSIVE _walk(_start, _node, _depth, columns…)`: [`down`] capped at `cap`
/// levels, each node carrying its own `columns`, so that the statement selecting from the
/// walk reads the rows from it (`FROM _walk AS <table>`) instead of looking each one up
/// again by id (on M, Q2's descendants: a third less of PostgreSQL's time).
///
/// No node is walked into from its own start. Below a start, a node is reached a second
/// time only through a cycle, and only through a cycle that passes through the start: a
/// node has one parent, so the path up from it is unique, and a node at two depths below
/// the start would make the start its own ancestor. Cut there, the walk holds each node
/// once per start, at its one depth — what [`down`]'s callers keep with a grouping by
/// start and node — and a start on a cycle (possible only in rows written before
/// migration step 18) is not listed among its own descendants.
pub fn down_carrying<M: Tree>(
    backend: DbBackend,
    anchor: Condition,
    ids: &[Uuid],
    cap: u32,
    columns: &[Column<M>],
) -> WithClause {
    walk_down::<M>(backend, anchor, ids, Some(cap), columns)
}

/// [`down`], each node carrying `columns` after `_depth` (or after `_node` uncapped).
fn walk_down<M: Tree>(
    backend: DbBackend,
    anchor: Condition,
    ids: &[Uuid],
    cap: Option<u32>,
    carried: &[Column<M>],
) -> WithClause {
    let parent = col::<M>(M::parent_column());
    let id = col::<M>(M::id_column());
    let mut start = Query::select();
    start
        .expr(parent.clone())
        .expr(id.clone())
        .from(M::E::default())
        .and_where(any_of(backend, parent.clone(), ids))
        .cond_where(anchor)
        .and_where(id.clone().ne(parent.clone()));
    let mut step = Query::select();
    step.expr(walked("_start"))
        .expr(id.clone())
        .from(M::E::default())
        .inner_join(WALK, parent.equals((WALK, "_node")));
    let mut columns = vec!["_start", "_node"];
    if let Some(cap) = cap {
        start.expr(Expr::cust("CAST(1 AS BIGINT)"));
        step.expr(walked("_depth").add(1))
            .and_where(walked("_depth").lt(i64::from(cap)));
        columns.push("_depth");
    }
    step.and_where(id.ne(walked("_start")));
    for column in carried {
        start.expr(col::<M>(*column));
        step.expr(col::<M>(*column));
        columns.push(column.as_str());
    }
    recursive(start, step, cap.is_some(), columns)
}

/// `WITH RECURSIVE _walk(columns) AS (start UNION [ALL] step)`: `UNION ALL` when a cap
/// ends the walk, `UNION` (which ends it on a cycle) otherwise.
fn recursive(
    mut start: SelectStatement,
    step: SelectStatement,
    capped: bool,
    columns: Vec<&'static str>,
) -> WithClause {
    let union = if capped {
        UnionType::All
    } else {
        UnionType::Distinct
    };
    start.union(union, step);
    let mut cte = CommonTableExpression::new();
    cte.table_name(WALK).columns(columns).query(start);
    WithClause::new().recursive(true).cte(cte).to_owned()
}

/// The ids of `id`'s subtree, `id` first, in the active organization.
pub async fn subtree<M: Tree>(tx: &Tx<'_>, id: Uuid) -> Result<Vec<Uuid>> {
    let backend = tx.txn.get_database_backend();
    let walk = down::<M>(backend, M::in_organization(tx.organization()), &[id], None);
    let mut select = Query::select();
    select.expr(walked("_node")).from(WALK);
    let rows = tx
        .txn
        .query_all_raw(backend.build(&select.with(walk)))
        .await?;
    let mut ids = vec![id];
    for row in rows {
        let node: Uuid = row.try_get_by_index(0)?;
        if node != id {
            ids.push(node);
        }
    }
    Ok(ids)
}

/// Whether `node` is `from` or one of its ancestors.
pub async fn is_ancestor_or_self<M: Tree>(tx: &Tx<'_>, node: Uuid, from: Uuid) -> Result<bool> {
    if node == from {
        return Ok(true);
    }
    let backend = tx.txn.get_database_backend();
    let walk = up::<M>(
        backend,
        M::in_organization(tx.organization()),
        &[from],
        None,
    );
    let mut select = Query::select();
    select
        .expr_as(Func::count(Expr::cust("*")), "n")
        .from(WALK)
        .and_where(walked("_node").eq(node));
    let row = tx
        .txn
        .query_one_raw(backend.build(&select.with(walk)))
        .await?;
    let n: i64 = row.map_or(Ok(0), |r| r.try_get("", "n"))?;
    Ok(n > 0)
}

/// Locks row `id` of `M` in the active organization against concurrent changes to what
/// hangs off it until the request ends (`FOR NO KEY UPDATE` on PostgreSQL; SQLite's one
/// writer needs no lock): a missing row is [`missing`] on `field`.
pub async fn lock<M: Record>(tx: &Tx<'_>, id: Uuid, field: &str, kind: &'static str) -> Result<()> {
    let backend = tx.txn.get_database_backend();
    let mut select = Query::select();
    select
        .expr(col::<M>(M::id_column()))
        .from(M::E::default())
        .and_where(col::<M>(M::id_column()).eq(id))
        .cond_where(M::in_organization(tx.organization()))
        .lock(LockType::NoKeyUpdate);
    match tx.txn.query_one_raw(backend.build(&select)).await? {
        Some(_) => Ok(()),
        None => Err(missing(field, kind, id)),
    }
}

/// The most nodes one [`create_subtree`] call takes.
pub const MAX_TREE_NODES: usize = 5_000;

/// A table whose rows are nodes of a project's tree, as its commands need it: what
/// [`Tree`] does not already give. Implemented by a marker type of the context that owns
/// the table (the entity's model belongs to another crate).
pub trait TreeKind: Send + Sync + 'static {
    type Model: Tree + serde::Serialize + IntoActiveModel<Self::Active>;
    type Active: ActiveModelTrait<Entity = <Self::Model as Record>::E>
        + ActiveModelBehavior
        + Send
        + Sync;
    /// The fields a client gives (on update, only those that change).
    type Input: Clone + Send + Sync;
    /// The name of one row in errors (`requirement`).
    const KIND: &'static str;
    /// The project a node belongs to.
    fn project(node: &Self::Model) -> Uuid;
    /// Checks `input`, naming fields after `prefix`; `create` when it makes a new row.
    fn check(prefix: &str, input: &Self::Input, create: bool) -> Result<()>;
    /// Checks that refer to other rows (an assignee).
    fn check_refs(
        _tx: &Tx<'_>,
        _prefix: &str,
        _input: &Self::Input,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
    /// A new row from `input`, with the defaults of the schema.
    fn new_row(
        input: Self::Input,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> Self::Active;
    /// `input`'s changes to `row`.
    fn apply(input: Self::Input, row: &mut Self::Active);
    /// What follows a write of nodes in the command's transaction (a task's assignee is
    /// notified): `before` is the row an update changed (`None` for a new row), `after`
    /// the row written.
    fn written(
        _tx: &Tx<'_>,
        _changes: &[(Option<&Self::Model>, &Self::Model)],
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// One node of a subtree to create: its key, its parent's key (none: under the call's
/// parent), its fields.
#[derive(Debug, Clone)]
pub struct NodeSpec<I> {
    pub key: String,
    pub parent_key: Option<String>,
    pub fields: I,
}

/// Declares the GraphQL input of one node of a subtree of `$fields`, convertible to a
/// [`NodeSpec`].
#[macro_export]
macro_rules! node_input {
    ($name:ident, $fields:ty) => {
        /// One node of a subtree to create.
        #[derive(async_graphql::InputObject, Debug)]
        pub struct $name {
            /// The node's name within this call, for `parentKey`s to refer to.
            pub key: String,
            /// The `key` of the node's parent in this call; none: under the call's `parentId`.
            pub parent_key: Option<String>,
            pub fields: $fields,
        }

        impl From<$name> for $crate::tree::NodeSpec<$fields> {
            fn from(node: $name) -> Self {
                $crate::tree::NodeSpec {
                    key: node.key,
                    parent_key: node.parent_key,
                    fields: node.fields,
                }
            }
        }
    };
}

/// Declares the five commands of the tree table of `$kind` (a [`TreeKind`]) in the
/// calling context: create a node, change it, delete it with its subtree, move it with
/// its subtree, create a whole subtree. Contributors do all of it; each command names
/// itself in a refusal.
#[macro_export]
macro_rules! tree_commands {
    ($kind:ty, $node:ty, $name:literal:
        $create:ident, $update:ident, $delete:ident, $move_:ident, $subtree:ident) => {
        #[doc = concat!("Creates a ", $name, " in a project of the active organization, under `parent` (same project) or as a root.")]
        pub async fn $create(
            tx: &$crate::Tx<'_>,
            project: uuid::Uuid,
            parent: Option<uuid::Uuid>,
            input: <$kind as $crate::tree::TreeKind>::Input,
        ) -> $crate::Result<<$kind as $crate::tree::TreeKind>::Model> {
            tx.require($crate::tree::EDITOR, stringify!($create))?;
            $crate::tree::create::<$kind, entity::projects::Model>(tx, project, parent, input).await
        }

        #[doc = concat!("Changes the given fields of a ", $name, ".")]
        pub async fn $update(
            tx: &$crate::Tx<'_>,
            id: uuid::Uuid,
            input: <$kind as $crate::tree::TreeKind>::Input,
        ) -> $crate::Result<<$kind as $crate::tree::TreeKind>::Model> {
            tx.require($crate::tree::EDITOR, stringify!($update))?;
            $crate::tree::update::<$kind>(tx, id, input).await
        }

        #[doc = concat!("Deletes a ", $name, " and its subtree. Returns its id.")]
        pub async fn $delete(tx: &$crate::Tx<'_>, id: uuid::Uuid) -> $crate::Result<uuid::Uuid> {
            tx.require($crate::tree::EDITOR, stringify!($delete))?;
            $crate::tree::delete::<$kind>(tx, id).await
        }

        #[doc = concat!("Moves a ", $name, " with its subtree under `parent` (same project; not its own descendant), or to the root without one.")]
        pub async fn $move_(
            tx: &$crate::Tx<'_>,
            id: uuid::Uuid,
            parent: Option<uuid::Uuid>,
        ) -> $crate::Result<<$kind as $crate::tree::TreeKind>::Model> {
            tx.require($crate::tree::EDITOR, stringify!($move_))?;
            $crate::tree::move_to::<$kind, entity::projects::Model>(tx, id, parent).await
        }

        #[doc = concat!("Creates a whole subtree of ", $name, "s in one call, all or nothing; the nodes come back in the order given.")]
        pub async fn $subtree(
            tx: &$crate::Tx<'_>,
            project: uuid::Uuid,
            parent: Option<uuid::Uuid>,
            nodes: Vec<$node>,
        ) -> $crate::Result<Vec<<$kind as $crate::tree::TreeKind>::Model>> {
            tx.require($crate::tree::EDITOR, stringify!($subtree))?;
            let nodes = nodes.into_iter().map($crate::tree::NodeSpec::from).collect();
            $crate::tree::create_subtree::<$kind, entity::projects::Model>(tx, project, parent, nodes)
                .await
        }
    };
}

/// Who edits the plan's trees: contributors and up.
pub const EDITOR: entity::sea_orm_active_enums::CollaborationRole =
    entity::sea_orm_active_enums::CollaborationRole::Contributor;

/// The row `id` of the active organization.
async fn find<K: TreeKind>(tx: &Tx<'_>, id: Uuid, field: &str) -> Result<K::Model> {
    write::find::<K::Model>(tx, id, field, K::KIND).await
}

/// `parent`, when given, is a node of `project`.
async fn parent_in<K: TreeKind>(
    tx: &Tx<'_>,
    parent: Option<Uuid>,
    project: Uuid,
    field: &str,
) -> Result<()> {
    if let Some(parent) = parent {
        let row = find::<K>(tx, parent, field).await?;
        if K::project(&row) != project {
            return Err(Error::invalid(
                field,
                format!("must be a {} of the same project", K::KIND),
            ));
        }
    }
    Ok(())
}

/// Creates a node of project `project` (a row of `P`) under `parent`, or a root.
pub async fn create<K: TreeKind, P: Record>(
    tx: &Tx<'_>,
    project: Uuid,
    parent: Option<Uuid>,
    input: K::Input,
) -> Result<K::Model> {
    K::check("input.", &input, true)?;
    K::check_refs(tx, "input.", &input).await?;
    lock::<P>(tx, project, "projectId", "project").await?;
    parent_in::<K>(tx, parent, project, "parentId").await?;
    let node: K::Model = write::insert(
        tx,
        K::new_row(input, Uuid::now_v7(), project, parent, tx.organization()),
    )
    .await?;
    K::written(tx, &[(None, &node)]).await?;
    Ok(node)
}

/// Changes the given fields of node `id`.
pub async fn update<K: TreeKind>(tx: &Tx<'_>, id: Uuid, input: K::Input) -> Result<K::Model> {
    K::check("input.", &input, false)?;
    K::check_refs(tx, "input.", &input).await?;
    let old = find::<K>(tx, id, "id").await?;
    let mut row = old.clone().into_active_model();
    K::apply(input, &mut row);
    let node: K::Model = write::update(tx, row).await?;
    K::written(tx, &[(Some(&old), &node)]).await?;
    Ok(node)
}

/// Deletes node `id` and its subtree. Returns its id.
pub async fn delete<K: TreeKind>(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    type M<K> = <K as TreeKind>::Model;
    find::<K>(tx, id, "id").await?;
    // The subtree is deleted in one statement per 10,000 nodes, deepest first (the walk
    // lists them by level), not left to the cascade, which would nest one level of
    // cascade per level of the tree: on PostgreSQL a statement's cascades run after it,
    // and find every child already gone. SQLite runs a cascade at once, as a nested
    // trigger, and stops at 1,000 levels, so there the subtree is detached first (its
    // audit trail shows each node's `parent_id` set to NULL, then the node deleted).
    let mut ids = subtree::<M<K>>(tx, id).await?;
    ids.reverse();
    if tx.txn.get_database_backend() == DbBackend::Sqlite {
        for chunk in ids.chunks(10_000) {
            <M<K> as Record>::E::update_many()
                .col_expr(M::<K>::parent_column(), Expr::value(Option::<Uuid>::None))
                .filter(M::<K>::id_column().is_in(chunk.iter().copied()))
                .exec(tx.txn)
                .await?;
        }
    }
    for chunk in ids.chunks(10_000) {
        <M<K> as Record>::E::delete_many()
            .filter(M::<K>::id_column().is_in(chunk.iter().copied()))
            .filter(M::<K>::in_organization(tx.organization()))
            .exec(tx.txn)
            .await?;
    }
    Ok(id)
}

/// Moves node `id` with its subtree under `parent` (same project; not its own
/// descendant), or to the root without one.
pub async fn move_to<K: TreeKind, P: Record>(
    tx: &Tx<'_>,
    id: Uuid,
    parent: Option<Uuid>,
) -> Result<K::Model> {
    let old = find::<K>(tx, id, "id").await?;
    let project = K::project(&old);
    lock::<P>(tx, project, "id", "project").await?;
    if let Some(parent) = parent {
        parent_in::<K>(tx, Some(parent), project, "parentId").await?;
        if is_ancestor_or_self::<K::Model>(tx, id, parent).await? {
            return Err(Error::invalid(
                "parentId",
                format!(
                    "a {} cannot move under itself or one of its descendants",
                    K::KIND
                ),
            ));
        }
    }
    let mut row = old.clone().into_active_model();
    row.set(K::Model::parent_column(), parent.into());
    write::update(tx, row).await
}

/// Creates a whole subtree of `project` under `parent` (or as roots) in one call, all or
/// nothing; the nodes come back in the order given.
pub async fn create_subtree<K: TreeKind, P: Record>(
    tx: &Tx<'_>,
    project: Uuid,
    parent: Option<Uuid>,
    nodes: Vec<NodeSpec<K::Input>>,
) -> Result<Vec<K::Model>> {
    if nodes.is_empty() || nodes.len() > MAX_TREE_NODES {
        return Err(Error::invalid(
            "nodes",
            format!("must hold 1 to {MAX_TREE_NODES} nodes, got {}", nodes.len()),
        ));
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let field = format!("nodes[{i}].key");
        if node.key.is_empty() || node.key.chars().count() > 100 {
            return Err(Error::invalid(field, "must be 1 to 100 characters long"));
        }
        if index.insert(node.key.as_str(), i).is_some() {
            return Err(Error::invalid(
                field,
                format!("repeats the key {:?}", node.key),
            ));
        }
        K::check(&format!("nodes[{i}].fields."), &node.fields, true)?;
    }
    let depth = depths(&nodes, &index)?;
    for (i, node) in nodes.iter().enumerate() {
        K::check_refs(tx, &format!("nodes[{i}].fields."), &node.fields).await?;
    }
    lock::<P>(tx, project, "projectId", "project").await?;
    parent_in::<K>(tx, parent, project, "parentId").await?;
    let ids: Vec<Uuid> = nodes.iter().map(|_| Uuid::now_v7()).collect();
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|i| depth[*i]);
    let rows: Vec<K::Active> = order
        .iter()
        .map(|&i| {
            let node = &nodes[i];
            let under = match &node.parent_key {
                Some(key) => Some(ids[index[key.as_str()]]),
                None => parent,
            };
            K::new_row(
                node.fields.clone(),
                ids[i],
                project,
                under,
                tx.organization(),
            )
        })
        .collect();
    let mut models: Vec<K::Model> = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<K::Active> = rows.by_ref().take(BATCH).collect();
        models.extend(
            <K::Model as Record>::E::insert_many(chunk)
                .exec_with_returning(tx.txn)
                .await?,
        );
    }
    // In the order of the call's nodes.
    let position: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    models.sort_by_key(|m| position.get(&m.id()).copied().unwrap_or(usize::MAX));
    let changes: Vec<(Option<&K::Model>, &K::Model)> = models.iter().map(|m| (None, m)).collect();
    K::written(tx, &changes).await?;
    Ok(models)
}

/// Each node's depth in the call (0 under the call's parent): parents first; a cycle of
/// parent keys, or a key naming no node, is refused on the node that shows it.
fn depths<I>(nodes: &[NodeSpec<I>], index: &HashMap<&str, usize>) -> Result<Vec<usize>> {
    let mut depth: Vec<Option<usize>> = vec![None; nodes.len()];
    for start in 0..nodes.len() {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut at = start;
        let base = loop {
            if let Some(d) = depth[at] {
                break d + 1;
            }
            if !seen.insert(at) {
                return Err(Error::invalid(
                    format!("nodes[{at}].parentKey"),
                    "the parent keys form a cycle",
                ));
            }
            chain.push(at);
            match &nodes[at].parent_key {
                None => break 0,
                Some(key) => match index.get(key.as_str()) {
                    Some(&p) => at = p,
                    None => {
                        return Err(Error::invalid(
                            format!("nodes[{at}].parentKey"),
                            format!("names no node of this call: {key:?}"),
                        ));
                    }
                },
            }
        };
        for (offset, node) in chain.iter().rev().enumerate() {
            depth[*node] = Some(base + offset);
        }
    }
    Ok(depth.into_iter().map(Option::unwrap_or_default).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{NodeSpec, depths};

    fn node(key: &str, parent: Option<&str>) -> NodeSpec<()> {
        NodeSpec {
            key: key.to_owned(),
            parent_key: parent.map(str::to_owned),
            fields: (),
        }
    }

    fn index(nodes: &[NodeSpec<()>]) -> HashMap<&str, usize> {
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.key.as_str(), i))
            .collect()
    }

    #[test]
    fn parents_come_first_and_cycles_are_named() {
        let nodes = [node("c", Some("b")), node("a", None), node("b", Some("a"))];
        assert_eq!(depths(&nodes, &index(&nodes)).expect("a tree"), [2, 0, 1]);
        let cycle = [node("a", Some("b")), node("b", Some("a"))];
        let err = depths(&cycle, &index(&cycle)).expect_err("a cycle");
        assert!(err.to_string().contains("form a cycle"), "{err}");
        let orphan = [node("a", Some("zz"))];
        let err = depths(&orphan, &index(&orphan)).expect_err("no parent");
        assert_eq!(err.field(), Some("nodes[0].parentKey"));
    }

    #[test]
    fn a_chain_thousands_long_gets_its_depths() {
        let keys: Vec<String> = (0..3_000).map(|i| format!("n{i}")).collect();
        let nodes: Vec<NodeSpec<()>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| node(k, (i > 0).then(|| keys[i - 1].as_str())))
            .rev()
            .collect();
        let depth = depths(&nodes, &index(&nodes)).expect("a chain");
        assert_eq!(depth[0], 2_999);
        assert_eq!(depth[2_999], 0);
    }
}
