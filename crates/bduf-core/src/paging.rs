//! Relay cursor paging. Root connections page in SQL by keyset — `WHERE (sort, id) > cursor
//! ORDER BY sort, id LIMIT n + 1`, never OFFSET — on an indexed sort column, nulls last.
//! Nested lists, which arrive whole from a batched loader, page in memory by id.
//!
//! A cursor is opaque to clients: the sort value and id of an edge.

use async_graphql::connection::{CursorType, OpaqueCursor};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait, Order, SimpleExpr, Value};
use sea_orm::{
    Condition, IdenStatic, ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::record::{Column, Record};

/// The largest page a client may ask for (GitHub's rule).
pub const MAX_PAGE: usize = 100;

/// The page size when a client gives neither `first` nor `last`.
pub const DEFAULT_PAGE: usize = 20;

/// The four Relay arguments, checked.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub after: Option<CursorKey>,
    pub before: Option<CursorKey>,
    /// Page size.
    pub limit: usize,
    /// Whether the page is the last `limit` rows (`last`) rather than the first.
    pub from_end: bool,
}

/// What a cursor holds: the sort column (none when ordered by id), the sort value and
/// the id of an edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorKey {
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub ordered_by: Option<String>,
    #[serde(rename = "k")]
    pub key: SortKey,
    pub id: Uuid,
}

/// A sort value, in a form that survives a cursor round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum SortKey {
    Null,
    Int(i64),
    Text(String),
    Time(DateTime<FixedOffset>),
    Date(NaiveDate),
    Decimal(Decimal),
    Bool(bool),
}

impl SortKey {
    fn from_value(value: Value) -> Self {
        match value {
            Value::Int(Some(n)) => SortKey::Int(n.into()),
            Value::BigInt(Some(n)) => SortKey::Int(n),
            Value::SmallInt(Some(n)) => SortKey::Int(n.into()),
            Value::String(Some(s)) => SortKey::Text(s),
            Value::ChronoDateTimeWithTimeZone(Some(t)) => SortKey::Time(t),
            Value::ChronoDate(Some(d)) => SortKey::Date(d),
            Value::Decimal(Some(d)) => SortKey::Decimal(d),
            Value::Bool(Some(b)) => SortKey::Bool(b),
            _ => SortKey::Null,
        }
    }

    fn into_value(self) -> Option<Value> {
        match self {
            SortKey::Null => None,
            SortKey::Int(n) => Some(n.into()),
            SortKey::Text(s) => Some(s.into()),
            SortKey::Time(t) => Some(t.into()),
            SortKey::Date(d) => Some(d.into()),
            SortKey::Decimal(d) => Some(d.into()),
            SortKey::Bool(b) => Some(b.into()),
        }
    }
}

/// The encoded form of a cursor.
pub type Cursor = OpaqueCursor<CursorKey>;

impl PageArgs {
    /// Checks the Relay arguments: `first`/`last` between 0 and [`MAX_PAGE`], not both,
    /// and cursors that decode.
    pub fn new(
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Self> {
        let size = |name: &str, n: i32| -> Result<usize> {
            usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE)
                .ok_or_else(|| {
                    Error::invalid(name, format!("must be between 0 and {MAX_PAGE}, got {n}"))
                })
        };
        let (limit, from_end) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid("last", "cannot be combined with first"));
            }
            (Some(n), None) => (size("first", n)?, false),
            (None, Some(n)) => (size("last", n)?, true),
            (None, None) => (DEFAULT_PAGE, false),
        };
        let decode = |name: &str, cursor: Option<String>| -> Result<Option<CursorKey>> {
            cursor
                .map(|c| {
                    Cursor::decode_cursor(&c)
                        .map(|c| c.0)
                        .map_err(|_| Error::invalid(name, "is not a cursor this API issued"))
                })
                .transpose()
        };
        Ok(Self {
            after: decode("after", after)?,
            before: decode("before", before)?,
            limit,
            from_end,
        })
    }
}

/// One page of rows, with what the connection needs besides them.
#[derive(Debug, Clone)]
pub struct Page<M> {
    /// Each row with its cursor, in order.
    pub rows: Vec<(String, M)>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    /// Rows matching the filter, all pages together, when asked for.
    pub total_count: Option<i64>,
}

/// How a root connection is ordered: a sort column (nulls last) or just the id, and the
/// direction. The id always breaks ties.
#[derive(Debug)]
pub struct Ordering<M: Record> {
    pub column: Option<Column<M>>,
    pub descending: bool,
}

impl<M: Record> Clone for Ordering<M> {
    fn clone(&self) -> Self {
        Self {
            column: self.column,
            descending: self.descending,
        }
    }
}

impl<M: Record> Ordering<M> {
    /// By id ascending: creation order, as ids are UUIDv7.
    pub fn by_id() -> Self {
        Self {
            column: None,
            descending: false,
        }
    }
}

/// The cursor of `row` under `ordering`.
pub fn cursor_of<M>(row: &M, ordering: &Ordering<M>) -> String
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    let key = ordering
        .column
        .map_or(SortKey::Null, |c| SortKey::from_value(row.get(c)));
    let ordered_by = ordering.column.map(|c| c.as_str().to_owned());
    OpaqueCursor(CursorKey {
        ordered_by,
        key,
        id: row.id(),
    })
    .encode_cursor()
}

/// The rows strictly past `cursor` in traversal order (`backward`: towards the start).
fn past<M: Record>(ordering: &Ordering<M>, cursor: &CursorKey, backward: bool) -> Condition {
    // Traversal runs towards smaller values when exactly one of (descending, backward) holds.
    let smaller = ordering.descending != backward;
    let beyond = |expr: SimpleExpr, value: Value| {
        if smaller {
            expr.lt(value)
        } else {
            expr.gt(value)
        }
    };
    let id = Expr::col(M::id_column());
    let Some(col) = ordering.column else {
        return Condition::all().add(beyond(id, cursor.id.into()));
    };
    let value = Expr::col(col);
    match cursor.key.clone().into_value() {
        // Nulls sort last: past a null, forward, only later nulls; backward, the later
        // nulls' complement: earlier nulls and every non-null.
        None => {
            let later_nulls = Condition::all()
                .add(value.clone().is_null())
                .add(beyond(id, cursor.id.into()));
            if backward {
                Condition::any().add(later_nulls).add(value.is_not_null())
            } else {
                later_nulls
            }
        }
        Some(v) => {
            let non_null = Condition::all().add(value.clone().is_not_null()).add(
                Condition::any().add(beyond(value.clone(), v.clone())).add(
                    Condition::all()
                        .add(value.clone().eq(v))
                        .add(beyond(id, cursor.id.into())),
                ),
            );
            if backward {
                non_null
            } else {
                Condition::any().add(non_null).add(value.is_null())
            }
        }
    }
}

/// Pages `select` (already filtered) by keyset; counts the filtered rows too when
/// `with_total_count`.
pub async fn keyset<M>(
    db: &Db,
    select: Select<M::E>,
    ordering: &Ordering<M>,
    args: &PageArgs,
    with_total_count: bool,
) -> Result<Page<M>>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    let total_count = if with_total_count {
        Some(i64::try_from(select.clone().count(db.conn()).await?).unwrap_or(i64::MAX))
    } else {
        None
    };
    let ordered_by = ordering.column.map(|c| c.as_str().to_owned());
    for (name, cursor) in [("after", &args.after), ("before", &args.before)] {
        if cursor.as_ref().is_some_and(|c| c.ordered_by != ordered_by) {
            return Err(Error::invalid(
                name,
                "was issued for another orderBy; pass the same orderBy",
            ));
        }
    }
    let backward = args.from_end;
    let mut query = select;
    if let Some(after) = &args.after {
        query = query.filter(past(ordering, after, false));
    }
    if let Some(before) = &args.before {
        query = query.filter(past(ordering, before, true));
    }
    let direction = |smaller: bool| if smaller { Order::Desc } else { Order::Asc };
    let smaller = ordering.descending != backward;
    if let Some(col) = ordering.column {
        query = query
            .order_by(Expr::col(col).is_null(), direction(backward))
            .order_by(col, direction(smaller));
    }
    query = query.order_by(M::id_column(), direction(smaller));
    let limit = u64::try_from(args.limit).unwrap_or(u64::MAX);
    let mut rows = query.limit(limit + 1).all(db.conn()).await?;
    let more = rows.len() > args.limit;
    rows.truncate(args.limit);
    if backward {
        rows.reverse();
    }
    Ok(Page {
        rows: rows
            .into_iter()
            .map(|r| (cursor_of(&r, ordering), r))
            .collect(),
        has_previous_page: if backward { more } else { args.after.is_some() },
        has_next_page: if backward {
            args.before.is_some()
        } else {
            more
        },
        total_count,
    })
}

/// Pages rows that are already loaded (a nested list), ordered by id.
pub fn in_memory<M>(mut rows: Vec<M>, args: &PageArgs) -> Page<M>
where
    M: Record + ModelTrait<Entity = <M as Record>::E>,
{
    rows.sort_by_key(|r| r.id());
    let total = rows.len();
    let ordering = Ordering::<M>::by_id();
    let start = args
        .after
        .as_ref()
        .map_or(0, |c| rows.partition_point(|r| r.id() <= c.id));
    let end = args
        .before
        .as_ref()
        .map_or(total, |c| rows.partition_point(|r| r.id() < c.id));
    let end = end.max(start);
    let (from, to) = if args.from_end {
        (end.saturating_sub(args.limit).max(start), end)
    } else {
        (start, (start + args.limit).min(end))
    };
    // The whole list is at hand, so both flags say exactly whether rows lie beyond.
    Page {
        has_previous_page: from > 0,
        has_next_page: to < total,
        rows: rows
            .drain(from..to)
            .map(|r| (cursor_of(&r, &ordering), r))
            .collect(),
        total_count: Some(i64::try_from(total).unwrap_or(i64::MAX)),
    }
}

/// Whether `rule` holds: a helper for filter inputs.
pub fn check(field: &str, ok: bool, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, rule))
    }
}

/// Declares a GraphQL ordering input `$input { field: $fields, direction }` for a root
/// connection over `$model`, with `ID` plus the listed indexed columns, and its
/// conversion into an [`Ordering`].
#[macro_export]
macro_rules! ordering {
    ($(#[$doc:meta])* $input:ident, $fields:ident, $model:ty { $($variant:ident => $col:expr),* $(,)? }) => {
        /// The columns this connection can be ordered by (the id always breaks ties).
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $fields {
            Id,
            $($variant),*
        }

        $(#[$doc])*
        #[derive(async_graphql::InputObject, Debug, Clone, Copy)]
        pub struct $input {
            pub field: $fields,
            #[graphql(default)]
            pub direction: $crate::OrderDirection,
        }

        impl $input {
            /// The ordering to page by; by id ascending (creation order) when absent.
            pub fn ordering(input: Option<Self>) -> $crate::paging::Ordering<$model> {
                let Some(input) = input else {
                    return $crate::paging::Ordering::by_id();
                };
                let column = match input.field {
                    $fields::Id => None,
                    $($fields::$variant => Some($col),)*
                };
                $crate::paging::Ordering {
                    column,
                    descending: input.direction == $crate::OrderDirection::Desc,
                }
            }
        }
    };
}
