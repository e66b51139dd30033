//! The read keys every context builds on, and how the [`RequestTxn`] fetches a batch of each
//! with one statement (two with `totalCount`):
//!
//! - [`ById`]: rows by primary key;
//! - [`Rows`]: a page of a connection — of the whole table (a root connection) or of the
//!   rows under each parent (a nested connection), windowed in SQL per parent;
//! - [`Ancestors`], [`Descendants`], [`DepthOf`]: tree walks by one recursive CTE.
//!
//! A context describes its tables with three small types: a [`Filter`] input, an
//! [`Order`] input and a [`Link`] enum naming the foreign keys its rows hang off
//! (`TasksOf::Project`, `CommentsOf::Target(TargetType::Task)`, …). Keys carry the
//! [`Columns`] the client selected, so large columns are read only when asked for.

use crate::Map;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use sea_orm::sea_query::{
    Alias, Asterisk, ColumnType, Condition, Expr, ExprTrait, Func, JoinType, Order as SqlOrder,
    OverStatement, Query, SelectStatement, UnionType, WindowStatement,
};
use sea_orm::{DbBackend, ModelTrait};
use uuid::Uuid;

use crate::aggregate::{Grouped, Tally, TallyRow};
use crate::batch::Fetch;
use crate::error::{Error, Result};
use crate::paging::{Cursor, CursorKey, Page, PageArgs, SortKey};
use crate::prefetch::{self, Join};
use crate::record::{Columns, Layout, Record, Tree};
use crate::ride::Ride;
use crate::tree;
use crate::txn::RequestTxn;
use crate::window::{self, PageSpec, Parents, any_of, col, models, select_columns};

/// The filter input of a connection over `Model`.
pub trait Filter: Clone + Default + Eq + Hash + Debug + Send + Sync + 'static {
    type Model: Record;
    /// Checks the inputs (naming the field and the rule of a bad one) and returns the
    /// SQL condition.
    fn condition(&self, backend: DbBackend) -> Result<Condition>;
}

/// The ordering input of a connection over `Model`.
pub trait Order: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    type Model: Record;
    fn ordering(self) -> crate::paging::Ordering<Self::Model>;
}

/// A foreign key rows of `Model` hang off: the parent of a nested connection.
pub trait Link: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    type Model: Record;
    /// The column holding the parent's id.
    fn column(self) -> crate::record::Column<Self::Model>;
    /// A further condition of the link (the target type of a polymorphic target).
    fn scope(self) -> Option<Condition> {
        None
    }
}

/// What every parent of a level shares in a connection: filter, ordering, window,
/// columns, and whether the rows and `totalCount` are wanted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window<F, O> {
    pub filter: F,
    pub order: Option<O>,
    pub page: PageArgs,
    pub columns: Columns,
    /// Whether to read the page's rows: not when only `totalCount` is selected.
    pub rows: bool,
    pub total: bool,
    /// The to-one edges of the rows read with them (`crate::prefetch`).
    pub joins: Vec<Join>,
}

/// Key: a page of rows of `L::Model` — of the table (`parent` none) or under one parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rows<L, F, O> {
    pub parent: Option<(L, Uuid)>,
    pub window: Arc<Window<F, O>>,
}

impl<L, F, O> Rows<L, F, O>
where
    L: Link,
    F: Filter<Model = L::Model>,
    O: Order<Model = L::Model>,
{
    /// A root connection's page.
    pub fn root(window: Window<F, O>) -> Self {
        Self {
            parent: None,
            window: Arc::new(window),
        }
    }

    /// A nested connection's page: the rows linked by `link` to `parent`.
    pub fn under(link: L, parent: Uuid, window: Window<F, O>) -> Self {
        Self {
            parent: Some((link, parent)),
            window: Arc::new(window),
        }
    }

    /// Checks the window's inputs: the filter's fields and the cursors' provenance.
    pub fn check(&self, backend: DbBackend) -> Result<()> {
        self.window.filter.condition(backend)?;
        let ordering = ordering_of(self.window.order);
        self.window.page.check_for(&ordering)
    }
}

fn ordering_of<O: Order>(order: Option<O>) -> crate::paging::Ordering<O::Model> {
    order.map_or_else(crate::paging::Ordering::by_id, Order::ordering)
}

impl<L, F, O> Fetch<Rows<L, F, O>> for RequestTxn
where
    L: Link,
    F: Filter<Model = L::Model>,
    O: Order<Model = L::Model>,
    L::Model: ModelTrait<Entity = <L::Model as Record>::E>,
{
    type Value = Page<L::Model>;

    async fn fetch(&self, keys: &[Rows<L, F, O>]) -> Result<Map<Rows<L, F, O>, Page<L::Model>>> {
        // One statement per (link, window): a level's keys share both.
        type Group<'a, L, F, O> = (Option<L>, &'a Arc<Window<F, O>>);
        let mut groups: Map<Group<'_, L, F, O>, Vec<Uuid>> = Map::default();
        for key in keys {
            let (link, parent) = match key.parent {
                Some((link, parent)) => (Some(link), parent),
                None => (None, Uuid::nil()),
            };
            groups.entry((link, &key.window)).or_default().push(parent);
        }
        let mut out = Map::with_capacity_and_hasher(keys.len(), Default::default());
        for ((link, window), ids) in groups {
            let spec = PageSpec {
                condition: window.filter.condition(self.backend())?,
                ordering: ordering_of(window.order),
                args: &window.page,
                columns: window.columns,
                rows: window.rows,
                total: window.total,
                joins: &window.joins,
            };
            let parents = link.map(|link| Parents {
                column: link.column(),
                scope: link.scope(),
                ids: &ids,
            });
            for (parent, page) in window::pages(self, parents, &spec).await? {
                let key = Rows {
                    parent: link.map(|l| (l, parent)),
                    window: Arc::clone(window),
                };
                out.insert(key, page);
            }
        }
        Ok(out)
    }
}

/// Key: how many rows of `L::Model` match a filter — of the table (`parent` none) or
/// under one parent: a connection's `totalCount` when nothing of its page is selected.
/// An aggregate key ([`Tally`]), so it shares its wave's one aggregate statement with
/// the level's other counts and sums.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountOf<L, F> {
    pub parent: Option<(L, Uuid)>,
    pub filter: Arc<F>,
}

impl<L, F> Tally<CountOf<L, F>> for RequestTxn
where
    L: Link,
    F: Filter<Model = L::Model>,
{
    type Value = i64;

    /// One grouped count per (link, filter) among the keys, in the order first asked,
    /// told apart by `label` (the count's position): `UNION ALL` of them.
    fn grouped(&self, keys: &[CountOf<L, F>]) -> Result<Grouped> {
        let backend = self.backend();
        let mut union: Option<SelectStatement> = None;
        for (position, ((link, filter), ids)) in count_groups(keys).into_iter().enumerate() {
            let mut select = Query::select();
            select
                .from(<L::Model as Record>::E::default())
                .expr_as(Expr::cust(format!("'{position}'")), "label")
                .expr_as(Expr::cust("COUNT(*)"), "n")
                .cond_where(filter.condition(backend)?)
                .cond_where(self.visible::<L::Model>());
            match link {
                Some(link) => {
                    let column = col::<L::Model>(link.column());
                    select
                        .expr_as(column.clone(), "owner")
                        .and_where(any_of(backend, column.clone(), &ids))
                        .add_group_by([column]);
                    if let Some(scope) = link.scope() {
                        select.cond_where(scope);
                    }
                }
                None => {
                    select.expr_as(Expr::val(Uuid::nil()), "owner");
                }
            }
            match &mut union {
                None => union = Some(select),
                Some(union) => {
                    union.union(UnionType::All, select);
                }
            }
        }
        // (A batch always has keys; without any, a select of no rows.)
        let select = union.unwrap_or_else(|| {
            Query::select()
                .expr_as(Expr::val(Uuid::nil()), "owner")
                .expr_as(Expr::cust("''"), "label")
                .expr_as(Expr::cust("0"), "n")
                .and_where(Expr::cust("1 = 0"))
                .to_owned()
        });
        // The union as one select, so that the merged statement can wrap it.
        let mut outer = Query::select();
        outer.column(Asterisk).from_subquery(select, "_c");
        Ok(Grouped {
            select: outer,
            label: true,
            values: 0,
        })
    }

    fn answer(&self, keys: &[CountOf<L, F>], rows: &[TallyRow]) -> Result<Map<CountOf<L, F>, i64>> {
        let found: Map<(Uuid, &str), i64> = rows
            .iter()
            .map(|row| ((row.owner, row.label.as_deref().unwrap_or("")), row.n))
            .collect();
        let groups = count_groups(keys);
        let mut out = Map::with_capacity_and_hasher(keys.len(), Default::default());
        for (position, ((link, filter), ids)) in groups.into_iter().enumerate() {
            for id in ids {
                let n = found
                    .get(&(id, position.to_string().as_str()))
                    .copied()
                    .unwrap_or(0);
                let key = CountOf {
                    parent: link.map(|link| (link, id)),
                    filter: Arc::clone(filter),
                };
                out.insert(key, n);
            }
        }
        Ok(out)
    }
}

/// A count's link (none for the table's) and filter.
type CountGroup<'a, L, F> = (Option<L>, &'a Arc<F>);

/// The keys of a count by (link, filter), in the order first asked, each with its
/// parents (`Uuid::nil()` for the table's count).
fn count_groups<L: Link, F: Filter>(
    keys: &[CountOf<L, F>],
) -> Vec<(CountGroup<'_, L, F>, Vec<Uuid>)> {
    let mut groups: Vec<(CountGroup<'_, L, F>, Vec<Uuid>)> = Vec::new();
    for key in keys {
        let (link, id) = match key.parent {
            Some((link, id)) => (Some(link), id),
            None => (None, Uuid::nil()),
        };
        match groups
            .iter_mut()
            .find(|((l, f), _)| *l == link && *f == &key.filter)
        {
            Some((_, ids)) => ids.push(id),
            None => groups.push(((link, &key.filter), vec![id])),
        }
    }
    groups
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
        impl<M> Debug for $name<M> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))$(.field(stringify!($field), &self.$field))*.finish()
            }
        }
    };
}

/// Key: the row of `M` with this id.
pub struct ById<M> {
    pub id: Uuid,
    pub columns: Columns,
    _model: PhantomData<fn() -> M>,
}
key_impls!(ById { id, columns });

impl<M> ById<M> {
    pub fn new(id: Uuid, columns: Columns) -> Self {
        Self {
            id,
            columns,
            _model: PhantomData,
        }
    }
}

impl<M: Record> Fetch<ById<M>> for RequestTxn {
    type Value = M;

    /// One statement for every key, whatever columns each names: it reads the columns of
    /// them all, and a key naming fewer gets the row with more.
    async fn fetch(&self, keys: &[ById<M>]) -> Result<Map<ById<M>, M>> {
        let backend = self.backend();
        let columns = keys
            .iter()
            .fold(Columns(0), |columns, key| columns.union(key.columns));
        // Each id once, with how many keys name it (the last takes the row, the others
        // a copy).
        let mut wanted: Map<Uuid, usize> = Map::default();
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            let n = wanted.entry(key.id).or_default();
            if *n == 0 {
                ids.push(key.id);
            }
            *n += 1;
        }
        let mut select = window::select_from::<M>(columns);
        select
            .and_where(any_of(backend, col::<M>(M::id_column()), &ids))
            .cond_where(self.visible::<M>());
        let mut rows: Map<Uuid, M> = models::<M>(self, backend.build(&select))
            .await?
            .into_iter()
            .map(|row| (row.id(), row))
            .collect();
        let mut out = Map::with_capacity_and_hasher(keys.len(), Default::default());
        for key in keys {
            let Some(left) = wanted.get_mut(&key.id) else {
                continue;
            };
            *left -= 1;
            let row = if *left == 0 {
                rows.remove(&key.id)
            } else {
                rows.get(&key.id).cloned()
            };
            if let Some(row) = row {
                out.insert(ById::new(key.id, key.columns), row);
            }
        }
        Ok(out)
    }

    /// On PostgreSQL, each row rides on another read of the wave (a root found by id,
    /// read with its first nested level: `bduf_graphql::support::root`): read by that
    /// read's statement (`crate::ride`), as this fetch would read it.
    fn rider(&self, keys: &[ById<M>]) -> Vec<Ride<ById<M>, M>> {
        if self.backend() != DbBackend::Postgres {
            return Vec::new();
        }
        let columns = keys
            .iter()
            .fold(Columns(0), |columns, key| columns.union(key.columns));
        let mut ids: Vec<Uuid> = keys.iter().map(|key| key.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let visible = self.visible::<M>();
                let keys: Vec<ById<M>> = keys.iter().filter(|key| key.id == id).cloned().collect();
                Ride {
                    select: Box::new(move |prefix: &str| {
                        let mut select = Query::select();
                        window::select_columns_as::<M>(&mut select, columns, prefix);
                        select
                            .from(M::E::default())
                            .and_where(col::<M>(M::id_column()).eq(id))
                            .cond_where(visible);
                        let names = window::column_names_as::<M>(columns, prefix);
                        (select, names)
                    }) as crate::ride::RideSelect,
                    answer: Box::new(move |row: &sea_orm::QueryResult, prefix: &str| {
                        let at = Layout::of(std::slice::from_ref(row)).model::<M>(prefix)?;
                        let mut out = Map::with_capacity_and_hasher(keys.len(), Default::default());
                        if row
                            .try_get_by_index::<Option<Uuid>>(at.id_index())?
                            .is_some()
                        {
                            let model = at.read(row)?;
                            for key in keys {
                                out.insert(key, model.clone());
                            }
                        }
                        Ok(out)
                    }),
                }
            })
            .collect()
    }
}

/// Key: the ancestors of a tree node, root first: the nearest [`MAX_ANCESTORS`].
pub struct Ancestors<M> {
    pub id: Uuid,
    pub columns: Columns,
    _model: PhantomData<fn() -> M>,
}
key_impls!(Ancestors { id, columns });

impl<M> Ancestors<M> {
    pub fn new(id: Uuid, columns: Columns) -> Self {
        Self {
            id,
            columns,
            _model: PhantomData,
        }
    }
}

/// Key: how deep a tree node sits — its number of ancestors, 0 for a root.
pub struct DepthOf<M> {
    pub id: Uuid,
    _model: PhantomData<fn() -> M>,
}
key_impls!(DepthOf { id });

impl<M> DepthOf<M> {
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            _model: PhantomData,
        }
    }
}

/// Depths known without a statement of their own. A tree's walks find depths on the way:
/// a descendant sits as deep as its start plus its depth below it (the `_depth` of the
/// walk, its cursor's key), and a chain of ancestors that reaches a root numbers itself.
/// Each walk records what it found ([`RequestTxn::prime_all`]), so `depth` on a page of
/// descendants, on a list of ancestors or on a root costs no wave: a requirement tree with
/// its depths is as many statements as its levels without them. The rows of a tree are
/// of one organization (composite foreign keys), so the nodes a walk sees are the ones
/// [`DepthOf`]'s own walk would count.
impl<M: Tree> DepthOf<M> {
    /// How deep `node` sits, when that is known: 0 for a root, or recorded by a walk.
    pub fn known(txn: &RequestTxn, node: &M) -> Option<i32> {
        if node.parent().is_none() {
            return Some(0);
        }
        txn.primed::<Self, i32>(&Self::new(node.id())).flatten()
    }

    /// Records the depth of every node of `page`, a page of `start`'s descendants, when
    /// `start`'s own depth is known.
    pub fn prime_below(txn: &RequestTxn, start: &M, page: &Page<M>) {
        let Some(base) = Self::known(txn, start) else {
            return;
        };
        txn.prime_all(page.rows.iter().filter_map(|(cursor, node)| {
            let SortKey::Int(below) = cursor.0.key else {
                return None;
            };
            let depth = i64::from(base).checked_add(below)?;
            Some((Self::new(node.id()), Some(i32::try_from(depth).ok()?)))
        }));
    }

    /// Records the depths along `chain`, the ancestors of node `id` root first, when it
    /// reaches a root (a chain cut at [`MAX_ANCESTORS`] does not).
    pub fn prime_along(txn: &RequestTxn, id: Uuid, chain: &[M]) {
        if chain.first().is_none_or(|root| root.parent().is_some()) {
            return;
        }
        let ids = chain.iter().map(Record::id).chain([id]);
        txn.prime_all(
            ids.zip(0..)
                .map(|(id, n): (Uuid, i32)| (Self::new(id), Some(n))),
        );
    }
}

fn alias(name: &str) -> Alias {
    Alias::new(name)
}

/// The most ancestors `ancestors` returns: the nearest ones, so a deeper chain is cut at
/// the top (its root missing, as `depth` shows). Also the weight of `ancestors` in a
/// query's cost.
pub const MAX_ANCESTORS: u32 = 32;

impl<M: Tree> Fetch<Ancestors<M>> for RequestTxn {
    type Value = Vec<M>;

    async fn fetch(&self, keys: &[Ancestors<M>]) -> Result<Map<Ancestors<M>, Vec<M>>> {
        let backend = self.backend();
        let mut groups: Map<Columns, Vec<Uuid>> = Map::default();
        for key in keys {
            groups.entry(key.columns).or_default().push(key.id);
        }
        let mut out = Map::with_capacity_and_hasher(keys.len(), Default::default());
        for (columns, ids) in groups {
            let mut select = Query::select();
            select
                .expr_as(tree::walked("_start"), alias("_walk_start"))
                .expr_as(tree::walked("_first"), alias("_walk_first"));
            // The chain is rebuilt from parent ids, which are always read.
            select_columns::<M>(&mut select, columns);
            select.from(alias("_walk")).inner_join(
                M::E::default(),
                col::<M>(M::id_column()).equals((alias("_walk"), alias("_node"))),
            );
            let walk = tree::up::<M>(backend, self.visible::<M>(), &ids, Some(MAX_ANCESTORS));
            let rows = self.query(backend.build(&select.with(walk))).await?;
            // Per start: its parent, and every ancestor by id.
            let mut first: Map<Uuid, Uuid> = Map::default();
            let mut found: Map<Uuid, Map<Uuid, M>> = Map::default();
            if !rows.is_empty() {
                let layout = Layout::of(&rows);
                let (start, is_first) =
                    (layout.index("_walk_start")?, layout.index("_walk_first")?);
                let at = layout.model::<M>("")?;
                for row in &rows {
                    let start: Uuid = row.try_get_by_index(start)?;
                    let model = at.read(row)?;
                    if row.try_get_by_index::<i32>(is_first)? == 1 {
                        first.insert(start, model.id());
                    }
                    found.entry(start).or_default().insert(model.id(), model);
                }
            }
            for id in ids {
                let mut nodes = found.remove(&id).unwrap_or_default();
                let mut chain = Vec::new();
                let mut next = first.get(&id).copied();
                while let Some(node) = next.and_then(|n| nodes.remove(&n)) {
                    next = node.parent();
                    chain.push(node);
                }
                chain.reverse();
                out.insert(Ancestors::new(id, columns), chain);
            }
        }
        Ok(out)
    }
}

impl<M: Tree> Fetch<DepthOf<M>> for RequestTxn {
    type Value = i32;

    async fn fetch(&self, keys: &[DepthOf<M>]) -> Result<Map<DepthOf<M>, i32>> {
        let backend = self.backend();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.id).collect();
        let mut select = Query::select();
        select
            .expr_as(tree::walked("_start"), alias("owner"))
            .expr_as(Func::count_distinct(tree::walked("_node")), alias("n"))
            .from(alias("_walk"))
            .group_by_col((alias("_walk"), alias("_start")));
        let statement =
            backend.build(&select.with(tree::up::<M>(backend, self.visible::<M>(), &ids, None)));
        let rows = self.query(statement).await?;
        Ok(window::counts(&rows, &ids)?
            .into_iter()
            .map(|(id, n)| (DepthOf::new(id), i32::try_from(n).unwrap_or(i32::MAX)))
            .collect())
    }
}

/// The connection name of descendants lists in cursors.
fn descendants_connection<M: Record>() -> Cow<'static, str> {
    Cow::Owned(format!("{}.descendants", M::TABLE))
}

/// The deepest `descendants(maxDepth)` a client may ask for.
pub const MAX_DESCENDANT_DEPTH: i32 = 1_000;

/// `maxDepth` of a `descendants` connection, checked: 1 to [`MAX_DESCENDANT_DEPTH`].
pub fn descendant_depth(max_depth: i32) -> Result<u32> {
    if !(1..=MAX_DESCENDANT_DEPTH).contains(&max_depth) {
        return Err(Error::invalid(
            "maxDepth",
            format!("must be between 1 and {MAX_DESCENDANT_DEPTH}, got {max_depth}"),
        ));
    }
    Ok(max_depth.unsigned_abs())
}

/// What every node of a level shares in a `descendants` connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TreeWindow<F> {
    pub filter: F,
    /// How many levels down to walk: 1 for children only.
    pub max_depth: u32,
    pub page: PageArgs,
    pub columns: Columns,
    /// Whether to read the page's rows: not when only `totalCount` is selected.
    pub rows: bool,
    pub total: bool,
    /// The to-one edges of the rows read with them (`crate::prefetch`).
    pub joins: Vec<Join>,
}

/// Key: a page of the descendants of a tree node, breadth first: ordered by depth below
/// the node, then id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Descendants<F> {
    pub id: Uuid,
    pub window: Arc<TreeWindow<F>>,
}

impl<F: Filter> Descendants<F>
where
    F::Model: Tree,
{
    pub fn new(id: Uuid, window: TreeWindow<F>) -> Self {
        Self {
            id,
            window: Arc::new(window),
        }
    }

    /// Checks the window's inputs: the filter's fields and the cursors' provenance.
    pub fn check(&self, backend: DbBackend) -> Result<()> {
        self.window.filter.condition(backend)?;
        self.window.page.check(
            &descendants_connection::<F::Model>(),
            Some("depth"),
            false,
            Some(&ColumnType::BigInteger),
        )
    }
}

impl<F> Fetch<Descendants<F>> for RequestTxn
where
    F: Filter,
    F::Model: Tree,
{
    type Value = Page<F::Model>;

    async fn fetch(&self, keys: &[Descendants<F>]) -> Result<Map<Descendants<F>, Page<F::Model>>> {
        let mut groups: Map<&Arc<TreeWindow<F>>, Vec<Uuid>> = Map::default();
        for key in keys {
            groups.entry(&key.window).or_default().push(key.id);
        }
        let mut out = Map::with_capacity_and_hasher(keys.len(), Default::default());
        for (window, ids) in groups {
            for (id, page) in descendant_pages(self, window, &ids).await? {
                out.insert(
                    Descendants {
                        id,
                        window: Arc::clone(window),
                    },
                    page,
                );
            }
        }
        Ok(out)
    }
}

/// One statement: walk down from every id at most `max_depth` levels, keep each node at
/// its smallest depth, filter, and number each start's nodes by `(depth, id)` in scan
/// direction, keeping the first `n + 1`.
///
/// Without a filter the walk carries the columns the page reads and is the page's source
/// (`tree::down_carrying`: each node once per start, read where the walk found it). With
/// one, the walk carries ids only, and the rows are looked up by id and filtered (the
/// filter may name any column).
async fn descendant_pages<M: Tree, F: Filter<Model = M>>(
    txn: &RequestTxn,
    window: &TreeWindow<F>,
    ids: &[Uuid],
) -> Result<Map<Uuid, Page<M>>> {
    let backend = txn.backend();
    let id = col::<M>(M::id_column());
    let filter = window.filter.condition(backend)?;
    let carried = filter.is_empty();
    let walk = if carried {
        let columns: Vec<_> = window::real_columns::<M>(window.columns).collect();
        tree::down_carrying::<M>(backend, txn.visible::<M>(), ids, window.max_depth, &columns)
    } else {
        tree::down::<M>(backend, txn.visible::<M>(), ids, Some(window.max_depth))
    };
    // Where the walk's columns are: the walk itself under the table's name, or `_d`.
    let source = if carried { M::TABLE } else { "_d" };
    let near = |name: &str| Expr::col((alias(source), alias(name)));
    // The rows of the walk: read from it as the table, or each node once per start at
    // its smallest depth (a cycle revisits nodes), looked up and filtered.
    let from_walk = |select: &mut SelectStatement, depth: bool| {
        if carried {
            select.from_as(alias(tree::WALK), alias(M::TABLE));
            return;
        }
        let mut nearest = Query::select();
        nearest
            .expr_as(tree::walked("_start"), alias("_start"))
            .expr_as(tree::walked("_node"), alias("_node"))
            .from(alias(tree::WALK))
            .group_by_col((alias(tree::WALK), alias("_start")))
            .group_by_col((alias(tree::WALK), alias("_node")));
        if depth {
            nearest.expr_as(Func::min(tree::walked("_depth")), alias("_depth"));
        }
        select
            .from_subquery(nearest, alias("_d"))
            .inner_join(
                M::E::default(),
                col::<M>(M::id_column()).equals((alias("_d"), alias("_node"))),
            )
            .cond_where(filter.clone());
    };

    let args = &window.page;
    let up = !args.from_end;
    let mut inner = Query::select();
    select_columns::<M>(&mut inner, window.columns);
    inner
        .expr_as(near("_start"), alias("_parent"))
        .expr_as(near("_depth"), alias("_depth"));
    from_walk(&mut inner, true);
    prefetch::add::<M>(txn, &mut inner, &window.joins);
    for (above, cursor) in [(true, &args.after), (false, &args.before)] {
        let Some(cursor) = cursor else { continue };
        let SortKey::Int(depth) = cursor.key else {
            return Err(Error::invalid(
                if above { "after" } else { "before" },
                "is not a cursor this API issued",
            ));
        };
        let row = Expr::tuple([near("_depth"), id.clone()]);
        let at = Expr::tuple([Expr::val(depth), Expr::val(cursor.id)]);
        inner.and_where(if above { row.gt(at) } else { row.lt(at) });
    }
    let direction = || if up { SqlOrder::Asc } else { SqlOrder::Desc };
    let mut numbering = WindowStatement::new();
    numbering.add_partition_by(near("_start"));
    numbering
        .order_by_expr(near("_depth"), direction())
        .order_by_expr(id, direction());
    inner.expr_window_as(Func::cust("ROW_NUMBER"), numbering, alias("_rn"));
    let rank = || Expr::col((alias("_w"), alias("_rn")));
    let mut outer = Query::select();
    outer
        .column(Asterisk)
        .from_subquery(inner, alias("_w"))
        .and_where(rank().lte(u64::try_from(args.limit).unwrap_or(u64::MAX) + 1))
        .order_by_expr(Expr::col((alias("_w"), alias("_parent"))), SqlOrder::Asc)
        .order_by_expr(rank(), SqlOrder::Asc);
    let mut count = Query::select();
    count
        .expr_as(near("_start"), alias("owner"))
        .expr_as(Expr::cust("COUNT(*)"), alias("n"));
    from_walk(&mut count, false);
    count.group_by_col((alias(source), alias("_start")));
    let mut by_start: Map<Uuid, Vec<(i64, M)>> = Map::default();
    let mut read = |rows: &[sea_orm::QueryResult]| -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let layout = Layout::of(rows);
        let (parent, depth) = (layout.index("_parent")?, layout.index("_depth")?);
        let at = layout.model::<M>("")?;
        for row in rows {
            // A start whose page is empty but whose count is not: one row of NULLs.
            let Some(start) = row.try_get_by_index::<Option<Uuid>>(parent)? else {
                continue;
            };
            let depth: i64 = row.try_get_by_index(depth)?;
            by_start
                .entry(start)
                .or_default()
                .push((depth, at.read(row)?));
        }
        Ok(())
    };
    let totals = match (window.rows, window.total) {
        (true, true) => {
            // Rows and counts in one statement: each start's count, its page joined on.
            let mut both = Query::select();
            both.expr_as(Expr::col((alias("_c"), alias("n"))), alias("_total"))
                .expr_as(Expr::col((alias("_c"), alias("owner"))), alias("_owner"))
                .column((alias("_p"), Asterisk))
                .from_subquery(count, alias("_c"))
                .join_subquery(
                    JoinType::LeftJoin,
                    outer.clear_order_by().to_owned(),
                    alias("_p"),
                    Expr::col((alias("_p"), alias("_parent")))
                        .equals((alias("_c"), alias("owner"))),
                )
                .order_by_expr(Expr::col((alias("_c"), alias("owner"))), SqlOrder::Asc)
                .order_by_expr(Expr::col((alias("_p"), alias("_rn"))), SqlOrder::Asc);
            let rows = txn.query(backend.build(&both.with(walk))).await?;
            read(&rows)?;
            prefetch::prime(txn, &rows, &window.joins)?;
            let mut totals: Map<Uuid, i64> = ids.iter().map(|id| (*id, 0)).collect();
            for row in &rows {
                totals.insert(row.try_get("", "_owner")?, row.try_get("", "_total")?);
            }
            Some(totals)
        }
        (true, false) => {
            let rows = txn.query(backend.build(&outer.with(walk))).await?;
            read(&rows)?;
            prefetch::prime(txn, &rows, &window.joins)?;
            None
        }
        (false, true) => {
            let rows = txn.query(backend.build(&count.with(walk))).await?;
            Some(window::counts(&rows, ids)?)
        }
        (false, false) => None,
    };
    let connection = descendants_connection::<M>();
    let mut seen = HashSet::new();
    Ok(ids
        .iter()
        .filter(|id| seen.insert(**id))
        .map(|id| {
            let rows = by_start.remove(id).unwrap_or_default();
            let page = Page::from_scan(rows, args, |(depth, row)| {
                Cursor(CursorKey {
                    connection: connection.clone(),
                    ordered_by: Some(Cow::Borrowed("depth")),
                    descending: false,
                    key: SortKey::Int(*depth),
                    id: row.id(),
                })
            });
            let mut page = Page {
                rows: page.rows.into_iter().map(|(c, (_, m))| (c, m)).collect(),
                has_previous_page: page.has_previous_page,
                has_next_page: page.has_next_page,
                total_count: None,
            };
            page.total_count = totals.as_ref().map(|t| t.get(id).copied().unwrap_or(0));
            (*id, page)
        })
        .collect())
}

/// A helper for aggregate keys: `SELECT … FROM M WHERE column IN (ids)` built by the
/// caller, run as one statement.
pub async fn grouped(
    txn: &RequestTxn,
    select: &SelectStatement,
) -> Result<Vec<sea_orm::QueryResult>> {
    let backend = txn.backend();
    Ok(txn.query(backend.build(select)).await?)
}
