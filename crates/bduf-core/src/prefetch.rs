//! To-one edges read ahead with a page's rows. When a connection's nodes select an edge
//! to one row of another table — a task's `project` or `assignee`, a comment's
//! `author` — the page's statement reads that row too, by a `LEFT JOIN` on the foreign
//! key under the target table's own visibility, and each row it finds (or the absence
//! of one) answers the `ById` key the edge's resolver will ask for
//! ([`RequestTxn::prime_all`]). So the edge costs no statement and no wave of its own: a
//! page with its rows' projects and assignees is one statement, where it was three over
//! two waves.
//!
//! The joined row is the one `ById` would read — the same columns (the edge's
//! selection), the same visibility, in the same transaction — so answers do not change.
//! A page joins a target table at most once (the visibility conditions name the table,
//! so it cannot be aliased), and never its own table (a tree's `parent`): such edges are
//! read by their own key as before. Every change and every change of scope forgets what
//! was read ahead.

use std::hash::{Hash, Hasher};

use sea_orm::QueryResult;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, SelectStatement};
use uuid::Uuid;

use crate::error::Result;
use crate::read::ById;
use crate::record::{Columns, Layout, Record};
use crate::txn::RequestTxn;
use crate::window::{col, select_columns_as};

/// The table a to-one edge points to, with how to read its rows into a page's statement
/// and how to remember them.
#[derive(Clone, Copy)]
pub struct Target {
    /// Its table.
    pub table: &'static str,
    join: fn(&RequestTxn, &mut SelectStatement, Expr, Columns, &str),
    prime: Prime,
}

/// Remembers the targets a statement's rows read: its rows, where their columns are, the
/// foreign key, the target's column prefix and the columns read.
type Prime = fn(&RequestTxn, &[QueryResult], &Layout, &str, &str, Columns) -> Result<()>;

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Target").field(&self.table).finish()
    }
}

impl Target {
    /// The target table of `T`.
    pub const fn of<T: Record>() -> Self {
        Self {
            table: T::TABLE,
            join: join_target::<T>,
            prime: prime_target::<T>,
        }
    }
}

/// A to-one edge a page reads ahead: the page's column holding the target's id, and the
/// target's columns the edge's selection needs.
#[derive(Clone, Copy)]
pub struct Join {
    /// The foreign-key column of the page's table.
    pub fk: &'static str,
    /// The columns of the target to read: those its `ById` key will name.
    pub columns: Columns,
    pub target: Target,
}

impl PartialEq for Join {
    fn eq(&self, other: &Self) -> bool {
        (self.fk, self.columns, self.target.table) == (other.fk, other.columns, other.target.table)
    }
}

impl Eq for Join {}

impl Hash for Join {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.fk, self.columns, self.target.table).hash(state);
    }
}

impl std::fmt::Debug for Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Join")
            .field("fk", &self.fk)
            .field("columns", &self.columns)
            .field("target", &self.target)
            .finish()
    }
}

/// The prefix of the columns of the `n`th join of a statement.
fn prefix(n: usize) -> String {
    format!("_j{n}_")
}

/// Adds `joins` to `select`, a select of `M`'s rows: each target `LEFT JOIN`ed on its
/// id under its visibility, its columns read as `_j{n}_{column}`.
pub fn add<M: Record>(txn: &RequestTxn, select: &mut SelectStatement, joins: &[Join]) {
    for (n, joined) in joins.iter().enumerate() {
        let fk = Expr::col((M::E::default(), Alias::new(joined.fk)));
        (joined.target.join)(txn, select, fk, joined.columns, &prefix(n));
    }
}

/// Remembers what `rows` (of a statement made with [`add`]) read of each join's target:
/// the row, or none where the foreign key names one the request may not see.
pub fn prime(txn: &RequestTxn, rows: &[QueryResult], joins: &[Join]) -> Result<()> {
    if rows.is_empty() || joins.is_empty() {
        return Ok(());
    }
    // Where the columns are, once for every join of the statement.
    let layout = Layout::of(rows);
    for (n, joined) in joins.iter().enumerate() {
        (joined.target.prime)(txn, rows, &layout, joined.fk, &prefix(n), joined.columns)?;
    }
    Ok(())
}

fn join_target<T: Record>(
    txn: &RequestTxn,
    select: &mut SelectStatement,
    fk: Expr,
    columns: Columns,
    prefix: &str,
) {
    select.join(
        JoinType::LeftJoin,
        T::E::default(),
        Condition::all()
            .add(col::<T>(T::id_column()).eq(fk))
            .add(txn.visible::<T>()),
    );
    select_columns_as::<T>(select, columns, prefix);
}

fn prime_target<T: Record>(
    txn: &RequestTxn,
    rows: &[QueryResult],
    layout: &Layout,
    fk: &str,
    prefix: &str,
    columns: Columns,
) -> Result<()> {
    let (fk, at) = (layout.index(fk)?, layout.model::<T>(prefix)?);
    let id = at.id_index();
    // Each target once, however many rows point to it (an assignee of 100 tasks is
    // decoded once, as its own key would have read it once).
    let mut found: crate::Map<Uuid, Option<T>> = crate::Map::default();
    for row in rows {
        let Some(target) = row.try_get_by_index::<Option<Uuid>>(fk)? else {
            continue;
        };
        if found.contains_key(&target) {
            continue;
        }
        let model = match row.try_get_by_index::<Option<Uuid>>(id)? {
            Some(_) => Some(at.read(row)?),
            None => None,
        };
        found.insert(target, model);
    }
    txn.prime_all(
        found
            .into_iter()
            .map(|(target, model)| (ById::<T>::new(target, columns), model)),
    );
    Ok(())
}
