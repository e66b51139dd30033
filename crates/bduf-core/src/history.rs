//! A project's plan trees as they stood at an instant, and what changed between two,
//! reconstructed from the audit trail (migration step 17: one `audit_log` row per change,
//! the whole row on INSERT and DELETE, the changed fields' old and new values on UPDATE).
//!
//! The reconstruction walks *back* from the present: the tree's rows as they are now,
//! then every recorded change of the table after the instant, newest first (the
//! organization's `seq`, commit order), undone — an UPDATE gives its fields their old
//! values, an INSERT removes the row, a DELETE puts the old row back. So it needs the
//! trail only from the instant on, which is complete since step 17 whoever wrote (the
//! API or plain SQL); before that instant of the upgrade the trees come back as the
//! oldest recorded change left them.
//!
//! Each kind of key costs two statements for all its keys of a wave: the changes after
//! the earliest instant asked for, then the rows of the projects asked for and of every
//! row those changes touched (a row since moved to another project). "At an instant"
//! means every change whose `created_at` — its transaction's start on PostgreSQL — is at
//! or before it.
//!
//! What comes back is the tree's shape and names — id, parent, depth, title (a
//! component's name) — and, in a diff, the names of the fields that changed, compared
//! value by value (a field changed and changed back is no change). Both backends record
//! the same values, so both answer alike.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::marker::PhantomData;

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use entity::audit_log;
use sea_orm::sea_query::{Expr, IntoColumnRef};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, IdenStatic, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::batch::{Fetch, Map};
use crate::record::{Column, Record, Tree};
use crate::txn::RequestTxn;
use crate::window::any_of;
use crate::{Error, Result};

/// Fields every update touches, which a diff does not report.
const BOOKKEEPING: [&str; 3] = ["updated_at", "version", "parent_id"];

/// A plan tree whose history can be told: a tree of a project.
pub trait History: Tree {
    /// Its project column.
    fn project_column() -> Column<Self>;
    /// The column a node is named by (`title`, a component's `name`).
    fn label_column() -> Column<Self>;
}

macro_rules! histories {
    ($($module:ident: $label:ident),* $(,)?) => {$(
        impl History for entity::$module::Model {
            fn project_column() -> Column<Self> {
                entity::$module::Column::ProjectId
            }
            fn label_column() -> Column<Self> {
                entity::$module::Column::$label
            }
        }
    )*};
}

histories!(requirements: Title, architectural_components: Name, tasks: Title);

/// Which of a project's plan trees.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanTree {
    Requirements,
    Components,
    Tasks,
}

/// One node of a tree as it stood.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct NodeVersion {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    /// 0 for a root.
    pub depth: i32,
    /// The node's title (a component's name) then.
    pub title: String,
}

/// How a node changed between two instants.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Not there at the first instant, there at the second.
    Added,
    /// There at the first, gone at the second (deleted, or moved to another project).
    Removed,
    /// Under another parent (and perhaps changed too: see `changedFields`).
    Moved,
    /// Same parent, other values.
    Changed,
}

/// A node that changed between two instants.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct NodeChange {
    pub id: Uuid,
    pub change: ChangeKind,
    /// Its title at the second instant (at the first, when removed).
    pub title: String,
    pub from_parent_id: Option<Uuid>,
    pub to_parent_id: Option<Uuid>,
    /// The columns whose value differs between the two instants, `parent_id`,
    /// `updated_at` and `version` aside, in name order.
    pub changed_fields: Vec<String>,
}

/// Key: project `project`'s tree of `M` at `at`.
pub struct TreeAt<M> {
    pub project: Uuid,
    pub at: DateTime<FixedOffset>,
    _m: PhantomData<fn() -> M>,
}

impl<M> TreeAt<M> {
    pub fn new(project: Uuid, at: DateTime<Utc>) -> Self {
        Self {
            project,
            at: at.fixed_offset(),
            _m: PhantomData,
        }
    }
}

/// Key: what changed in project `project`'s tree of `M` (under `root`, itself included,
/// at either instant) between `from` and `to`.
pub struct TreeDiff<M> {
    pub project: Uuid,
    pub root: Option<Uuid>,
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    _m: PhantomData<fn() -> M>,
}

impl<M> TreeDiff<M> {
    /// The key; `from` after `to` is a `VALIDATION` error on `to`.
    pub fn new(
        project: Uuid,
        root: Option<Uuid>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Self> {
        if to < from {
            return Err(Error::invalid("to", "must not be before from"));
        }
        Ok(Self {
            project,
            root,
            from: from.fixed_offset(),
            to: to.fixed_offset(),
            _m: PhantomData,
        })
    }
}

/// `Clone`, `Eq`, `Hash` and `Debug` of a key by its fields, whatever `M`.
macro_rules! key_traits {
    ($key:ident { $($field:ident),* }) => {
        impl<M> Clone for $key<M> {
            fn clone(&self) -> Self {
                Self { $($field: self.$field),*, _m: PhantomData }
            }
        }
        impl<M> PartialEq for $key<M> {
            fn eq(&self, other: &Self) -> bool {
                $(self.$field == other.$field)&&*
            }
        }
        impl<M> Eq for $key<M> {}
        impl<M> Hash for $key<M> {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                $(self.$field.hash(state);)*
            }
        }
        impl<M> std::fmt::Debug for $key<M> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($key))$(.field(stringify!($field), &self.$field))*.finish()
            }
        }
    };
}

key_traits!(TreeAt { project, at });
key_traits!(TreeDiff {
    project,
    root,
    from,
    to
});

/// What a tree's history needs of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    project: Uuid,
    parent: Option<Uuid>,
    label: String,
}

/// One recorded change, newest first in the lists below.
#[derive(Debug)]
struct Change {
    record: Uuid,
    operation: String,
    old: Option<Value>,
    new: Option<Value>,
    at: DateTime<FixedOffset>,
}

/// An `audit_log` row as read: record, operation, old and new values, instant.
type Recorded = (
    Uuid,
    String,
    Option<Value>,
    Option<Value>,
    Option<DateTime<FixedOffset>>,
);

/// The rows of a table at some instant, by id.
type State = HashMap<Uuid, Node>;

fn uuid_of(value: Option<&Value>) -> Option<Uuid> {
    value
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// `node` with the recorded values of `values` (a whole row, or changed fields).
fn apply(node: &mut Node, values: &Value, label: &str) {
    let Some(values) = values.as_object() else {
        return;
    };
    if let Some(v) = values.get("project_id")
        && let Some(project) = uuid_of(Some(v))
    {
        node.project = project;
    }
    if let Some(v) = values.get("parent_id") {
        node.parent = uuid_of(Some(v));
    }
    if let Some(v) = values.get(label).and_then(Value::as_str) {
        v.clone_into(&mut node.label);
    }
}

/// A whole recorded row as a node.
fn node_of(values: &Value, label: &str) -> Option<Node> {
    let project = uuid_of(values.get("project_id"))?;
    let mut node = Node {
        project,
        parent: None,
        label: String::new(),
    };
    apply(&mut node, values, label);
    Some(node)
}

/// Undoes `change` on `state`.
fn undo(state: &mut State, change: &Change, label: &str) {
    match change.operation.as_str() {
        "INSERT" => {
            state.remove(&change.record);
        }
        "DELETE" => {
            if let Some(node) = change.old.as_ref().and_then(|old| node_of(old, label)) {
                state.insert(change.record, node);
            }
        }
        _ => {
            if let (Some(node), Some(old)) = (state.get_mut(&change.record), &change.old) {
                apply(node, old, label);
            }
        }
    }
}

/// The changes of `M`'s table after `since`, newest first, and the rows now of
/// `projects` and of every row those changes touched.
async fn timeline<M: History>(
    txn: &RequestTxn,
    projects: &[Uuid],
    since: DateTime<FixedOffset>,
) -> Result<(State, Vec<Change>)> {
    let rows: Vec<Recorded> = audit_log::Entity::find()
        .select_only()
        .columns([
            audit_log::Column::RecordId,
            audit_log::Column::Operation,
            audit_log::Column::OldValues,
            audit_log::Column::NewValues,
            audit_log::Column::CreatedAt,
        ])
        .filter(audit_log::Column::TableName.eq(M::TABLE))
        .filter(audit_log::Column::CreatedAt.gt(since))
        .filter(txn.visible::<audit_log::Model>())
        .order_by_desc(audit_log::Column::Seq)
        .into_tuple()
        .all(txn.conn())
        .await?;
    let changes: Vec<Change> = rows
        .into_iter()
        .filter_map(|(record, operation, old, new, at)| {
            Some(Change {
                record,
                operation,
                old,
                new,
                at: at?,
            })
        })
        .collect();
    let touched: Vec<Uuid> = changes
        .iter()
        .map(|c| c.record)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let backend = txn.backend();
    let column = |c: Column<M>| Expr::col(c.into_column_ref());
    let now: Vec<(Uuid, Uuid, Option<Uuid>, String)> = <M as Record>::E::find()
        .select_only()
        .columns([
            M::id_column(),
            M::project_column(),
            M::parent_column(),
            M::label_column(),
        ])
        .filter(txn.visible::<M>())
        .filter(
            Condition::any()
                .add(any_of(backend, column(M::project_column()), projects))
                .add(any_of(backend, column(M::id_column()), &touched)),
        )
        .into_tuple()
        .all(txn.conn())
        .await?;
    let state = now
        .into_iter()
        .map(|(id, project, parent, label)| {
            (
                id,
                Node {
                    project,
                    parent,
                    label,
                },
            )
        })
        .collect();
    Ok((state, changes))
}

/// `now` as it stood at `at`: every change after it undone, newest first. (Changes come
/// in commit order, and a change's instant is its transaction's start, so one at or
/// before `at` may follow one after it: it is kept, and the walk goes on.)
fn back_to(now: &State, changes: &[Change], at: DateTime<FixedOffset>, label: &str) -> State {
    let mut state = now.clone();
    for change in changes.iter().filter(|c| c.at > at) {
        undo(&mut state, change, label);
    }
    state
}

/// Project `project`'s nodes of `state`, parents before children: by depth, then id.
fn tree_of(state: &State, project: Uuid) -> Vec<NodeVersion> {
    let mine: HashMap<Uuid, &Node> = state
        .iter()
        .filter(|(_, n)| n.project == project)
        .map(|(id, n)| (*id, n))
        .collect();
    let mut nodes: Vec<NodeVersion> = mine
        .iter()
        .map(|(id, node)| {
            // Walk up within the project; a cycle (never written since step 18) stops.
            let mut depth = 0;
            let mut at = node.parent;
            while let Some(parent) = at.and_then(|p| mine.get(&p)) {
                depth += 1;
                if depth > mine.len() {
                    break;
                }
                at = parent.parent;
            }
            NodeVersion {
                id: *id,
                parent_id: node.parent,
                depth: i32::try_from(depth).unwrap_or(i32::MAX),
                title: node.label.clone(),
            }
        })
        .collect();
    nodes.sort_by_key(|n| (n.depth, n.id));
    nodes
}

/// The ids of `root`'s subtree in `tree` (itself included), or every id without one.
fn under(tree: &[NodeVersion], root: Option<Uuid>) -> HashSet<Uuid> {
    let Some(root) = root else {
        return tree.iter().map(|n| n.id).collect();
    };
    let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for n in tree {
        if let Some(p) = n.parent_id {
            children.entry(p).or_default().push(n.id);
        }
    }
    let mut found = HashSet::new();
    if tree.iter().any(|n| n.id == root) {
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if found.insert(id) {
                stack.extend(children.get(&id).into_iter().flatten());
            }
        }
    }
    found
}

/// The fields of `record` whose value at `from` differs from its value at `to`, by the
/// updates between them (`changes` newest first).
fn changed_fields(
    changes: &[Change],
    record: Uuid,
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
) -> Vec<String> {
    let mut first_old: HashMap<String, Value> = HashMap::new();
    let mut last_new: HashMap<String, Value> = HashMap::new();
    for change in changes
        .iter()
        .filter(|c| c.record == record && c.operation == "UPDATE" && c.at > from && c.at <= to)
    {
        // Newest first: the first `new` seen is the last value, the last `old` the first.
        if let Some(new) = change.new.as_ref().and_then(Value::as_object) {
            for (k, v) in new {
                last_new.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if let Some(old) = change.old.as_ref().and_then(Value::as_object) {
            for (k, v) in old {
                first_old.insert(k.clone(), v.clone());
            }
        }
    }
    let mut fields: Vec<String> = last_new
        .into_iter()
        .filter(|(k, v)| !BOOKKEEPING.contains(&k.as_str()) && first_old.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    fields.sort();
    fields
}

fn distinct<T: Copy + Eq + Hash>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|i| seen.insert(*i)).collect()
}

impl<M: History> Fetch<TreeAt<M>> for RequestTxn {
    type Value = Vec<NodeVersion>;

    async fn fetch(&self, keys: &[TreeAt<M>]) -> Result<Map<TreeAt<M>, Vec<NodeVersion>>> {
        let Some(since) = keys.iter().map(|k| k.at).min() else {
            return Ok(Map::default());
        };
        let projects = distinct(keys.iter().map(|k| k.project));
        let (now, changes) = timeline::<M>(self, &projects, since).await?;
        let label = M::label_column().as_str().to_owned();
        Ok(keys
            .iter()
            .map(|key| {
                let state = back_to(&now, &changes, key.at, &label);
                (key.clone(), tree_of(&state, key.project))
            })
            .collect())
    }
}

impl<M: History> Fetch<TreeDiff<M>> for RequestTxn {
    type Value = Vec<NodeChange>;

    async fn fetch(&self, keys: &[TreeDiff<M>]) -> Result<Map<TreeDiff<M>, Vec<NodeChange>>> {
        let Some(since) = keys.iter().map(|k| k.from).min() else {
            return Ok(Map::default());
        };
        let projects = distinct(keys.iter().map(|k| k.project));
        let (now, changes) = timeline::<M>(self, &projects, since).await?;
        let label = M::label_column().as_str().to_owned();
        let mut answers = Map::default();
        for key in keys {
            let to = tree_of(&back_to(&now, &changes, key.to, &label), key.project);
            let from = tree_of(&back_to(&now, &changes, key.from, &label), key.project);
            let (before, after) = (under(&from, key.root), under(&to, key.root));
            let by_id = |tree: &[NodeVersion]| -> HashMap<Uuid, NodeVersion> {
                tree.iter().map(|n| (n.id, n.clone())).collect()
            };
            let (was, is) = (by_id(&from), by_id(&to));
            let mut ids: Vec<Uuid> = before.union(&after).copied().collect();
            ids.sort_unstable();
            let diff = ids
                .into_iter()
                .filter_map(|id| {
                    let fields = changed_fields(&changes, id, key.from, key.to);
                    let (change, title) = match (was.get(&id), is.get(&id)) {
                        (None, Some(n)) => (ChangeKind::Added, n.title.clone()),
                        (Some(n), None) => (ChangeKind::Removed, n.title.clone()),
                        (Some(a), Some(b)) if a.parent_id != b.parent_id => {
                            (ChangeKind::Moved, b.title.clone())
                        }
                        (Some(_), Some(b)) if !fields.is_empty() => {
                            (ChangeKind::Changed, b.title.clone())
                        }
                        _ => return None,
                    };
                    Some(NodeChange {
                        id,
                        change,
                        title,
                        from_parent_id: was.get(&id).and_then(|n| n.parent_id),
                        to_parent_id: is.get(&id).and_then(|n| n.parent_id),
                        changed_fields: match change {
                            ChangeKind::Added | ChangeKind::Removed => Vec::new(),
                            _ => fields,
                        },
                    })
                })
                .collect();
            answers.insert(key.clone(), diff);
        }
        Ok(answers)
    }
}
