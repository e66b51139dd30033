//! The SQL of pages: one statement returns the requested window of rows of every parent
//! of a batch (or of the whole table, for a root connection) and, when `totalCount` is
//! selected, each parent's count with it on PostgreSQL (a scalar subquery per parent,
//! the page joined `LEFT JOIN LATERAL` so an empty page still brings its count); SQLite,
//! which has no LATERAL, counts in a second statement — in process, without a round trip
//! — so its statement counts are one higher per counted connection with rows.
//!
//! - A page is a keyset range — `(sort, id) > (cursor)` — ordered by `sort, id` and
//!   limited to one row more than asked for; never OFFSET. NULL sorts after every value,
//!   so a range after a non-null cursor continues into the NULL rows: the page is then
//!   the union of two index ranges (non-null values, then NULLs by id), each limited,
//!   which keeps every range an index scan however deep the page.
//! - Nested pages on PostgreSQL: `unnest($parents) JOIN LATERAL (page of one parent)`,
//!   so each parent costs one index range of at most `n + 1` rows, whatever the number
//!   of its rows.
//! - Nested pages on SQLite (no LATERAL): `ROW_NUMBER() OVER (PARTITION BY parent ORDER
//!   BY sort, id)` over the parents' rows in range, keeping the first `n + 1` of each.
//!
//! Both give the same rows in the same order; the tests compare them.

use crate::Map;
use sea_orm::sea_query::{
    Alias, Asterisk, ColumnType, Condition, Expr, ExprTrait, Func, JoinType, NullOrdering, Order,
    OverStatement, PgFunc, Query, SelectStatement, UnionType, Value, WindowStatement,
};
use sea_orm::{
    ColumnDef, ColumnTrait, DbBackend, DbErr, IdenStatic, Iterable, ModelTrait, QueryResult,
    Statement,
};
use uuid::Uuid;

use crate::error::Result;
use crate::paging::{CursorKey, Ordering, Page, PageArgs};
use crate::record::{Column, Columns, Layout, Record};
use crate::txn::RequestTxn;

/// A column of `M`, qualified by its table.
pub fn col<M: Record>(column: Column<M>) -> Expr {
    Expr::col((M::E::default(), column))
}

/// `expr IN (ids)`, written `expr = ANY($1)` on PostgreSQL: one bind parameter and one
/// statement text (so one prepared statement) for any number of keys.
pub fn any_of(backend: DbBackend, expr: Expr, ids: &[Uuid]) -> Expr {
    match backend {
        DbBackend::Postgres => expr.eq(PgFunc::any(Expr::val(Value::from(ids.to_vec())))),
        _ => expr.is_in(ids.iter().copied()),
    }
}

/// Whether a column may be left out of a read: any nullable one, which the model then
/// holds as NULL, and a NOT NULL text, held as `''`. Every other column is always read.
/// (Which are left out is the caller's [`Columns`]: the GraphQL types name every key and
/// foreign key, whatever the selection.)
fn skippable(def: &ColumnDef) -> bool {
    def.is_null()
        || matches!(
            def.get_column_type(),
            ColumnType::Text | ColumnType::String(_) | ColumnType::Char(_)
        )
}

/// Whether a read of `columns` fetches the column at `position` (its definition `def`)
/// for real rather than as a placeholder.
fn read_for_real(columns: Columns, position: usize, def: &ColumnDef) -> bool {
    columns.has(position) || !skippable(def)
}

/// The columns of `M` that a read of `columns` fetches for real ([`select_columns`]
/// selects the others as placeholders).
pub fn real_columns<M: Record>(columns: Columns) -> impl Iterator<Item = Column<M>> {
    Column::<M>::iter()
        .enumerate()
        .filter(move |(position, column)| read_for_real(columns, *position, &column.def()))
        .map(|(_, column)| column)
}

/// Selects the columns of `M` into `select`: those in `columns` (and every one that
/// cannot be left out) for real, the others as placeholders.
pub fn select_columns<M: Record>(select: &mut SelectStatement, columns: Columns) {
    select_columns_as::<M>(select, columns, "");
}

/// [`select_columns`], each column named with `prefix` (read back with
/// `FromQueryResult::from_query_result(row, prefix)`).
pub fn select_columns_as<M: Record>(select: &mut SelectStatement, columns: Columns, prefix: &str) {
    for (position, column) in Column::<M>::iter().enumerate() {
        let def = column.def();
        let expr = if read_for_real(columns, position, &def) {
            column.select_as(col::<M>(column))
        } else if def.is_null() {
            Expr::cust("NULL")
        } else {
            Expr::cust("''")
        };
        if prefix.is_empty() {
            select.expr_as(expr, column.as_str());
        } else {
            select.expr_as(expr, Alias::new(format!("{prefix}{}", column.as_str())));
        }
    }
}

/// The names [`select_columns_as`] gives `M`'s columns, in order, each with whether it
/// is read for real (not a placeholder).
pub fn column_names_as<M: Record>(columns: Columns, prefix: &str) -> Vec<(String, bool)> {
    Column::<M>::iter()
        .enumerate()
        .map(|(position, column)| {
            let real = read_for_real(columns, position, &column.def());
            (format!("{prefix}{}", column.as_str()), real)
        })
        .collect()
}

/// `SELECT <columns> FROM <table>`.
pub fn select_from<M: Record>(columns: Columns) -> SelectStatement {
    let mut select = Query::select();
    select_columns::<M>(&mut select, columns);
    select.from(M::E::default());
    select
}

/// Runs `select` and reads the rows as models.
pub async fn models<M: Record>(txn: &RequestTxn, statement: Statement) -> Result<Vec<M>> {
    let rows = txn.query(statement).await?;
    read_models(&rows)
}

/// The rows of a statement that selects `M`'s columns unprefixed, read as models by
/// position ([`Layout`]).
pub fn read_models<M: Record>(rows: &[QueryResult]) -> Result<Vec<M>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let at = Layout::of(rows).model::<M>("")?;
    Ok(rows
        .iter()
        .map(|row| at.read(row))
        .collect::<Result<_, DbErr>>()?)
}

/// How the rows of a nested connection hang off their parents.
#[derive(Debug, Clone)]
pub struct Parents<'a, M: Record> {
    /// The column holding the parent's id.
    pub column: Column<M>,
    /// A further condition of the link (the target type of a polymorphic target).
    pub scope: Option<Condition>,
    /// The parents of the batch, without repeats.
    pub ids: &'a [Uuid],
}

/// A page request: everything but the parents.
#[derive(Debug, Clone)]
pub struct PageSpec<'a, M: Record> {
    /// The filter.
    pub condition: Condition,
    pub ordering: Ordering<M>,
    pub args: &'a PageArgs,
    pub columns: Columns,
    /// Whether to read the rows (not when only their number is wanted).
    pub rows: bool,
    /// Whether to count the filtered rows too.
    pub total: bool,
    /// The to-one edges of the rows read with them (`crate::prefetch`).
    pub joins: &'a [crate::prefetch::Join],
}

/// One range of a page: its condition and whether it is the range of NULL sort values.
struct Range {
    condition: Condition,
    nulls: bool,
}

/// The sort expression of `column`: text compares byte-wise (`COLLATE "C"`) on
/// PostgreSQL, as SQLite's default collation does, so both order text alike.
fn sorted<M: Record>(backend: DbBackend, column: Column<M>, expr: Expr) -> Expr {
    let text = matches!(
        column.def().get_column_type(),
        ColumnType::Text | ColumnType::String(_) | ColumnType::Char(_)
    );
    if text && backend == DbBackend::Postgres {
        Expr::cust_with_expr(r#"$1 COLLATE "C""#, expr)
    } else {
        expr
    }
}

/// Which way a page scans the base order `(sort ASC NULLS LAST, id ASC)`: up, or down.
fn scans_up<M: Record>(spec: &PageSpec<'_, M>) -> bool {
    spec.ordering.descending == spec.args.from_end
}

/// A bound on the base order: rows strictly after (`above`) or before a cursor.
fn bounds<'a, M: Record>(spec: &PageSpec<'a, M>) -> Vec<(bool, &'a CursorKey)> {
    let desc = spec.ordering.descending;
    let mut out = Vec::new();
    if let Some(after) = &spec.args.after {
        out.push((!desc, after));
    }
    if let Some(before) = &spec.args.before {
        out.push((desc, before));
    }
    out
}

/// The ranges of a page in scan order (at most two: non-null sort values and NULLs).
fn ranges<M: Record>(backend: DbBackend, spec: &PageSpec<'_, M>) -> Vec<Range> {
    let id = col::<M>(M::id_column());
    let Some(sort) = spec.ordering.column else {
        let mut condition = Condition::all();
        for (above, cursor) in bounds(spec) {
            condition = condition.add(if above {
                id.clone().gt(cursor.id)
            } else {
                id.clone().lt(cursor.id)
            });
        }
        return vec![Range {
            condition,
            nulls: false,
        }];
    };
    let value = sorted::<M>(backend, sort, col::<M>(sort));
    let column_type = sort.def().get_column_type().clone();
    let mut values = Some(Condition::all().add(value.clone().is_not_null()));
    let mut nulls = Some(Condition::all().add(value.clone().is_null()));
    for (above, cursor) in bounds(spec) {
        match cursor.key.to_value(&column_type) {
            Some(v) => {
                let row = Expr::tuple([value.clone(), id.clone()]);
                let at = Expr::tuple([Expr::val(v), Expr::val(cursor.id)]);
                values = values.map(|c| c.add(if above { row.gt(at) } else { row.lt(at) }));
                // Above a value come all NULLs; below it none.
                if !above {
                    nulls = None;
                }
            }
            None => {
                nulls = nulls.map(|c| {
                    c.add(if above {
                        id.clone().gt(cursor.id)
                    } else {
                        id.clone().lt(cursor.id)
                    })
                });
                // Above a NULL come only NULLs; below it every value.
                if above {
                    values = None;
                }
            }
        }
    }
    let mut out: Vec<Range> = [(values, false), (nulls, true)]
        .into_iter()
        .filter_map(|(c, nulls)| c.map(|condition| Range { condition, nulls }))
        .collect();
    if !scans_up(spec) {
        out.reverse();
    }
    out
}

/// Orders `select` in scan direction, naming columns with `name`.
fn order_by<M: Record>(
    backend: DbBackend,
    select: &mut SelectStatement,
    spec: &PageSpec<'_, M>,
    nulls_only: bool,
    name: &impl Fn(Column<M>) -> Expr,
) {
    let up = scans_up(spec);
    let direction = || if up { Order::Asc } else { Order::Desc };
    if let (Some(sort), false) = (spec.ordering.column, nulls_only) {
        let nulls = if up {
            NullOrdering::Last
        } else {
            NullOrdering::First
        };
        select.order_by_expr_with_nulls(sorted::<M>(backend, sort, name(sort)), direction(), nulls);
    }
    select.order_by_expr(name(M::id_column()), direction());
}

/// The same ordering as a window's.
fn window_order<M: Record>(
    backend: DbBackend,
    window: &mut WindowStatement,
    spec: &PageSpec<'_, M>,
    name: &impl Fn(Column<M>) -> Expr,
) {
    let up = scans_up(spec);
    let direction = || if up { Order::Asc } else { Order::Desc };
    if let Some(sort) = spec.ordering.column {
        let nulls = if up {
            NullOrdering::Last
        } else {
            NullOrdering::First
        };
        window.order_by_expr_with_nulls(sorted::<M>(backend, sort, name(sort)), direction(), nulls);
    }
    window.order_by_expr(name(M::id_column()), direction());
}

fn limit(args: &PageArgs) -> u64 {
    u64::try_from(args.limit).unwrap_or(u64::MAX) + 1
}

/// The columns to read: those asked for plus the sort column, which the cursors need.
fn read_columns<M: Record>(spec: &PageSpec<'_, M>) -> Columns {
    match spec.ordering.column {
        Some(sort) => spec.columns.with(Columns::position::<M>(sort)),
        None => spec.columns,
    }
}

/// The page of the rows matching `base` (a select with its columns and conditions):
/// one limited, ordered range, or the union of two.
fn page_select<M: Record>(
    backend: DbBackend,
    base: &SelectStatement,
    spec: &PageSpec<'_, M>,
) -> SelectStatement {
    let mut parts: Vec<SelectStatement> = ranges(backend, spec)
        .into_iter()
        .map(|range| {
            let mut part = base.clone();
            part.cond_where(range.condition);
            order_by(backend, &mut part, spec, range.nulls, &|c| col::<M>(c));
            part.limit(limit(spec.args));
            part
        })
        .collect();
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let mut union = Query::select();
    union.column(Asterisk);
    for (i, part) in parts.into_iter().enumerate() {
        let alias = Alias::new(format!("_r{i}"));
        if i == 0 {
            union.from_subquery(part, alias);
        } else {
            let mut next = Query::select();
            next.column(Asterisk).from_subquery(part, alias);
            union.union(UnionType::All, next);
        }
    }
    let mut outer = Query::select();
    outer.column(Asterisk).from_subquery(union, "_u");
    order_by(backend, &mut outer, spec, false, &|c: Column<M>| {
        Expr::col(("_u", c.as_str()))
    });
    outer.limit(limit(spec.args));
    outer
}

/// Runs a page request: of the whole table (`parents` none; the page comes back under
/// `Uuid::nil()`) or of each parent's rows. Every parent gets a page, empty or not.
pub async fn pages<M>(
    txn: &RequestTxn,
    parents: Option<Parents<'_, M>>,
    spec: &PageSpec<'_, M>,
) -> Result<Map<Uuid, Page<M>>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    let backend = txn.backend();
    let mut base = select_from::<M>(read_columns(spec));
    base.cond_where(spec.condition.clone())
        .cond_where(txn.visible::<M>());
    crate::prefetch::add::<M>(txn, &mut base, spec.joins);
    let cursor = |row: &M| spec.ordering.cursor_of(row);
    // On PostgreSQL a page and its count are one statement: the count rides along as a
    // column of every row (and of one row of NULLs where the page is empty).
    let counted = spec.rows && spec.total && backend == DbBackend::Postgres;
    let Some(parents) = parents else {
        if counted {
            let rows = txn.query(counted_root(&base, txn, spec)).await?;
            crate::prefetch::prime(txn, &rows, spec.joins)?;
            let (mut by_parent, totals) = split_counted::<M>(&rows, None)?;
            let rows = by_parent.remove(&Uuid::nil()).unwrap_or_default();
            let mut page = Page::from_scan(rows, spec.args, cursor);
            page.total_count = Some(totals.get(&Uuid::nil()).copied().unwrap_or(0));
            return Ok(Map::from_iter([(Uuid::nil(), page)]));
        }
        let rows: Vec<M> = if spec.rows {
            let rows = txn
                .query(backend.build(&page_select(backend, &base, spec)))
                .await?;
            crate::prefetch::prime(txn, &rows, spec.joins)?;
            read_models(&rows)?
        } else {
            Vec::new()
        };
        let mut page = Page::from_scan(rows, spec.args, cursor);
        if spec.total {
            page.total_count = Some(count::<M>(txn, None, &spec.condition).await?[&Uuid::nil()]);
        }
        return Ok(Map::from_iter([(Uuid::nil(), page)]));
    };
    if let Some(scope) = &parents.scope {
        base.cond_where(scope.clone());
    }
    let (mut by_parent, totals) = if counted {
        let total = parent_count(txn, &parents, &spec.condition);
        let rows = txn
            .query(lateral(&base, &parents, spec, Some(total)))
            .await?;
        crate::prefetch::prime(txn, &rows, spec.joins)?;
        let (by_parent, totals) = split_counted::<M>(&rows, Some(parents.ids))?;
        (by_parent, Some(totals))
    } else {
        let rows = if spec.rows {
            let statement = match backend {
                DbBackend::Postgres => lateral(&base, &parents, spec, None),
                _ => partitioned(backend, &base, &parents, spec),
            };
            txn.query(statement).await?
        } else {
            Vec::new()
        };
        crate::prefetch::prime(txn, &rows, spec.joins)?;
        let mut by_parent: Map<Uuid, Vec<M>> = Map::default();
        if !rows.is_empty() {
            let layout = Layout::of(&rows);
            let (parent, at) = (layout.index("_parent")?, layout.model::<M>("")?);
            for row in &rows {
                by_parent
                    .entry(row.try_get_by_index(parent)?)
                    .or_default()
                    .push(at.read(row)?);
            }
        }
        let totals = if spec.total {
            Some(count(txn, Some(&parents), &spec.condition).await?)
        } else {
            None
        };
        (by_parent, totals)
    };
    Ok(parents
        .ids
        .iter()
        .map(|id| {
            let rows = by_parent.remove(id).unwrap_or_default();
            let mut page = Page::from_scan(rows, spec.args, cursor);
            page.total_count = totals.as_ref().map(|t| t.get(id).copied().unwrap_or(0));
            (*id, page)
        })
        .collect())
}

/// PostgreSQL: each parent's page by a lateral subquery over the unnested parent ids:
/// `FROM unnest($ids) AS _p JOIN LATERAL (page of one parent) AS _w ON TRUE`. With
/// `total` (a count of one parent's rows, correlated on `_p._p`), every row carries its
/// parent's count as `_total` and the join is a LEFT one, so a parent whose page is empty
/// still has one row (of NULLs but for `_parent` and `_total`). The count is a lateral
/// of its own, `CROSS JOIN LATERAL (count) AS _c`, between the parents and their pages:
/// counted once a parent. (As a scalar subquery in the select list PostgreSQL counted
/// once a *row*: twenty times for a parent with a page of twenty.)
fn lateral<M: Record>(
    base: &SelectStatement,
    parents: &Parents<'_, M>,
    spec: &PageSpec<'_, M>,
    total: Option<SelectStatement>,
) -> Statement {
    let parent = || Expr::col(("_p", "_p"));
    let mut one = base.clone();
    one.and_where(col::<M>(parents.column).eq(parent()));
    let page = page_select(DbBackend::Postgres, &one, spec);
    let ids = Func::cast_as(Expr::val(Value::from(parents.ids.to_vec())), "uuid[]");
    let mut select = Query::select();
    select
        .expr_as(parent(), "_parent")
        .from_function(Func::cust("unnest").arg(ids), "_p");
    let join = match total {
        Some(mut total) => {
            total.expr_as(Expr::cust("COUNT(*)"), "_total");
            select.column(("_c", "_total")).join_lateral(
                JoinType::InnerJoin,
                total,
                "_c",
                Expr::cust("TRUE"),
            );
            JoinType::LeftJoin
        }
        None => JoinType::InnerJoin,
    };
    select
        .column(("_w", Asterisk))
        .join_lateral(join, page, "_w", Expr::cust("TRUE"))
        .order_by_expr(parent(), Order::Asc);
    in_page_order(select, spec)
}

/// PostgreSQL: `select`, whose page rows are `_w`, ordered as the page is, built.
fn in_page_order<M: Record>(mut select: SelectStatement, spec: &PageSpec<'_, M>) -> Statement {
    order_by(
        DbBackend::Postgres,
        &mut select,
        spec,
        false,
        &|c: Column<M>| Expr::col(("_w", c.as_str())),
    );
    DbBackend::Postgres.build(&select)
}

/// SQLite: the parents' rows in range, numbered per parent, the first `n + 1` kept.
fn partitioned<M: Record>(
    backend: DbBackend,
    base: &SelectStatement,
    parents: &Parents<'_, M>,
    spec: &PageSpec<'_, M>,
) -> Statement {
    let link = col::<M>(parents.column);
    let mut inner = base.clone();
    inner.and_where(any_of(backend, link.clone(), parents.ids));
    let mut either = Condition::any();
    for range in ranges(backend, spec) {
        either = either.add(range.condition);
    }
    inner.cond_where(either);
    inner.expr_as(link.clone(), "_parent");
    let mut window = WindowStatement::new();
    window.add_partition_by(link);
    window_order(backend, &mut window, spec, &|c| col::<M>(c));
    inner.expr_window_as(Func::cust("ROW_NUMBER"), window, "_rn");
    let rank = || Expr::col(("_w", "_rn"));
    let mut outer = Query::select();
    outer
        .column(Asterisk)
        .from_subquery(inner, "_w")
        .and_where(rank().lte(limit(spec.args)))
        .order_by_expr(Expr::col(("_w", "_parent")), Order::Asc)
        .order_by_expr(rank(), Order::Asc);
    backend.build(&outer)
}

/// PostgreSQL, a root page with its count: `FROM (SELECT COUNT(*) …) AS _c LEFT JOIN
/// LATERAL (page) AS _w ON TRUE`, so an empty page still brings its count.
fn counted_root<M: Record>(
    base: &SelectStatement,
    txn: &RequestTxn,
    spec: &PageSpec<'_, M>,
) -> Statement {
    let mut total = count_select::<M>(txn, &spec.condition);
    total.expr_as(Expr::cust("COUNT(*)"), "_total");
    let page = page_select(DbBackend::Postgres, base, spec);
    let mut select = Query::select();
    select
        .expr_as(Expr::val(Uuid::nil()), "_parent")
        .column(("_c", "_total"))
        .column(("_w", Asterisk))
        .from_subquery(total, "_c")
        .join_lateral(JoinType::LeftJoin, page, "_w", Expr::cust("TRUE"));
    in_page_order(select, spec)
}

/// The count of one parent's rows matching `condition`, correlated on the lateral
/// parent `_p._p`, its select list left to [`lateral`].
fn parent_count<M: Record>(
    txn: &RequestTxn,
    parents: &Parents<'_, M>,
    condition: &Condition,
) -> SelectStatement {
    let mut select = count_select::<M>(txn, condition);
    select.and_where(col::<M>(parents.column).eq(Expr::col(("_p", "_p"))));
    if let Some(scope) = &parents.scope {
        select.cond_where(scope.clone());
    }
    select
}

/// `SELECT … FROM M WHERE condition AND visible`, the columns left to the caller.
fn count_select<M: Record>(txn: &RequestTxn, condition: &Condition) -> SelectStatement {
    let mut select = Query::select();
    select
        .from(M::E::default())
        .cond_where(condition.clone())
        .cond_where(txn.visible::<M>());
    select
}

/// Rows of a page statement by parent.
type ByParent<M> = Map<Uuid, Vec<M>>;

/// The rows of a counted page statement, per parent, and each parent's count: every
/// parent of `ids` (or the root, `Uuid::nil()`) is counted, 0 when it has no row; a row
/// whose id is NULL is a parent's empty page.
fn split_counted<M: Record>(
    rows: &[QueryResult],
    ids: Option<&[Uuid]>,
) -> Result<(ByParent<M>, Map<Uuid, i64>)> {
    let mut totals: Map<Uuid, i64> = ids
        .unwrap_or(&[Uuid::nil()])
        .iter()
        .map(|id| (*id, 0))
        .collect();
    let mut by_parent: Map<Uuid, Vec<M>> = Map::default();
    if rows.is_empty() {
        return Ok((by_parent, totals));
    }
    let layout = Layout::of(rows);
    let (parent, total) = (layout.index("_parent")?, layout.index("_total")?);
    let at = layout.model::<M>("")?;
    let id = at.id_index();
    for row in rows {
        let parent: Uuid = row.try_get_by_index(parent)?;
        totals.insert(parent, row.try_get_by_index(total)?);
        if row.try_get_by_index::<Option<Uuid>>(id)?.is_some() {
            by_parent.entry(parent).or_default().push(at.read(row)?);
        }
    }
    Ok((by_parent, totals))
}

/// Counts the rows matching `condition`, per parent (every parent present) or in all
/// (under `Uuid::nil()`).
pub async fn count<M: Record>(
    txn: &RequestTxn,
    parents: Option<&Parents<'_, M>>,
    condition: &Condition,
) -> Result<Map<Uuid, i64>> {
    let backend = txn.backend();
    let mut select = count_select::<M>(txn, condition);
    select.expr_as(Expr::cust("COUNT(*)"), "_n");
    let Some(parents) = parents else {
        let rows = txn.query(backend.build(&select)).await?;
        let n: i64 = rows.first().map_or(Ok(0), |r| r.try_get("", "_n"))?;
        return Ok(Map::from_iter([(Uuid::nil(), n)]));
    };
    let link = col::<M>(parents.column);
    if let Some(scope) = &parents.scope {
        select.cond_where(scope.clone());
    }
    select
        .expr_as(link.clone(), "_parent")
        .and_where(any_of(backend, link.clone(), parents.ids))
        .add_group_by([link]);
    let rows = txn.query(backend.build(&select)).await?;
    let mut out: Map<Uuid, i64> = parents.ids.iter().map(|id| (*id, 0)).collect();
    for row in rows {
        out.insert(row.try_get("", "_parent")?, row.try_get("", "_n")?);
    }
    Ok(out)
}

/// Reads `(owner, n)` rows of a grouped count, every key present (0 when it has no row).
pub fn counts(rows: &[QueryResult], keys: &[Uuid]) -> Result<Map<Uuid, i64>, DbErr> {
    let mut out: Map<Uuid, i64> = keys.iter().map(|id| (*id, 0)).collect();
    for row in rows {
        out.insert(row.try_get("", "owner")?, row.try_get("", "n")?);
    }
    Ok(out)
}
