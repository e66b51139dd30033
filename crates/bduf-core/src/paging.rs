//! Relay cursor paging, the same for root and nested connections: the checked arguments
//! ([`PageArgs`]), the ordering of a connection ([`Ordering`]), opaque cursors
//! ([`CursorKey`]) and the page a read returns ([`Page`]). The SQL that serves a page is
//! built by [`crate::window`].
//!
//! Every ordering is total: a sort column, then the id. NULL sorts after every value, as
//! PostgreSQL's B-tree does: last ascending, first descending — so one index on
//! `(…, column, id)` serves both directions, forwards and backwards.
//!
//! A cursor is opaque to clients. It names the connection and ordering it was issued for
//! and holds the sort value and id of its edge; a cursor that does not decode, or was
//! issued for another connection, ordering or type, is `VALIDATION` naming the
//! argument.

use std::borrow::Cow;

use async_graphql::connection::{CursorType, OpaqueCursor};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::{ColumnTrait, IdenStatic, ModelTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::record::{Column, Record};

/// The largest page a client may ask for (GitHub's rule).
pub const MAX_PAGE: usize = 100;

/// The page size when a client gives neither `first` nor `last`.
pub const DEFAULT_PAGE: usize = 20;

/// The four Relay arguments, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub after: Option<CursorKey>,
    pub before: Option<CursorKey>,
    /// Page size.
    pub limit: usize,
    /// Whether the page is the last `limit` rows (`last`) rather than the first.
    pub from_end: bool,
}

/// What a cursor holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CursorKey {
    /// The connection that issued it: a table, or a derived list such as
    /// `tasks.descendants`.
    #[serde(rename = "c")]
    pub connection: Cow<'static, str>,
    /// The sort column; none when ordered by id alone.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub ordered_by: Option<Cow<'static, str>>,
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
    #[serde(rename = "k")]
    pub key: SortKey,
    pub id: Uuid,
}

/// A sort value, in a form that survives a cursor round trip.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// The kind of sort value a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
    Time,
    Date,
    Decimal,
    Bool,
}

impl KeyKind {
    /// The kind of values of `column`, if it can be sorted on.
    pub fn of<M: Record>(column: Column<M>) -> Option<KeyKind> {
        Self::of_type(column.def().get_column_type())
    }

    /// The kind of values of a column of type `column_type`, if it can be sorted on.
    pub fn of_type(column_type: &ColumnType) -> Option<KeyKind> {
        Some(match column_type {
            ColumnType::TinyInteger
            | ColumnType::SmallInteger
            | ColumnType::Integer
            | ColumnType::BigInteger => KeyKind::Int,
            ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => KeyKind::Text,
            ColumnType::TimestampWithTimeZone | ColumnType::Timestamp => KeyKind::Time,
            ColumnType::Date => KeyKind::Date,
            ColumnType::Decimal(_) | ColumnType::Money(_) => KeyKind::Decimal,
            ColumnType::Boolean => KeyKind::Bool,
            _ => return None,
        })
    }
}

impl SortKey {
    /// The sort value of a column value.
    pub fn from_value(value: Value) -> Self {
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

    /// The kind of value held, `None` for null.
    pub fn kind(&self) -> Option<KeyKind> {
        Some(match self {
            SortKey::Null => return None,
            SortKey::Int(_) => KeyKind::Int,
            SortKey::Text(_) => KeyKind::Text,
            SortKey::Time(_) => KeyKind::Time,
            SortKey::Date(_) => KeyKind::Date,
            SortKey::Decimal(_) => KeyKind::Decimal,
            SortKey::Bool(_) => KeyKind::Bool,
        })
    }

    /// The value to bind for a column of type `column`; `None` for null. Timestamps are
    /// bound in UTC: SQLite compares them as text in one canonical form.
    pub fn to_value(&self, column: &ColumnType) -> Option<Value> {
        Some(match self {
            SortKey::Null => return None,
            SortKey::Int(n) => match column {
                ColumnType::BigInteger => Value::BigInt(Some(*n)),
                ColumnType::SmallInteger | ColumnType::TinyInteger => {
                    Value::SmallInt(Some(i16::try_from(*n).ok()?))
                }
                _ => Value::Int(Some(i32::try_from(*n).ok()?)),
            },
            SortKey::Text(s) => Value::String(Some(s.clone())),
            SortKey::Time(t) => Value::ChronoDateTimeWithTimeZone(Some(crate::utc(*t))),
            SortKey::Date(d) => Value::ChronoDate(Some(*d)),
            SortKey::Decimal(d) => Value::Decimal(Some(*d)),
            SortKey::Bool(b) => Value::Bool(Some(*b)),
        })
    }
}

/// A cursor: its key, encoded only when a client asks for it (as async-graphql's
/// `OpaqueCursor` encodes it: JSON, then URL-safe base64 without padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub CursorKey);

impl CursorType for Cursor {
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn decode_cursor(s: &str) -> std::result::Result<Self, Self::Error> {
        OpaqueCursor::<CursorKey>::decode_cursor(s).map(|c| Cursor(c.0))
    }

    fn encode_cursor(&self) -> String {
        OpaqueCursor(self.0.clone()).encode_cursor()
    }
}

impl CursorKey {
    /// The opaque string clients see.
    pub fn encode(self) -> String {
        OpaqueCursor(self).encode_cursor()
    }
}

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

    /// Checks that both cursors were issued by `connection` under `ordered_by` (a column
    /// name, none for the id) and `descending`, and hold a sort value that fits a column
    /// of type `sorts`.
    pub fn check(
        &self,
        connection: &str,
        ordered_by: Option<&str>,
        descending: bool,
        sorts: Option<&ColumnType>,
    ) -> Result<()> {
        for (name, cursor) in [("after", &self.after), ("before", &self.before)] {
            let Some(cursor) = cursor else { continue };
            if cursor.connection != connection {
                return Err(Error::invalid(
                    name,
                    format!(
                        "was issued by another connection ({}), not {connection}",
                        cursor.connection
                    ),
                ));
            }
            if cursor.ordered_by.as_deref() != ordered_by || cursor.descending != descending {
                return Err(Error::invalid(
                    name,
                    "was issued for another orderBy; pass the same orderBy",
                ));
            }
            let fits = match (sorts, &cursor.key) {
                (_, SortKey::Null) => true,
                (None, _) => false,
                (Some(column), key) => {
                    KeyKind::of_type(column) == key.kind() && key.to_value(column).is_some()
                }
            };
            if !fits {
                return Err(Error::invalid(name, "is not a cursor this API issued"));
            }
        }
        Ok(())
    }

    /// [`PageArgs::check`] for a connection over the table of `M` under `ordering`.
    pub fn check_for<M: Record>(&self, ordering: &Ordering<M>) -> Result<()> {
        let sorts = ordering.column.map(|c| c.def().get_column_type().clone());
        self.check(
            M::TABLE,
            ordering.column.map(|c| c.as_str()),
            ordering.descending,
            sorts.as_ref(),
        )
    }
}

/// One page of rows, with what the connection needs besides them.
#[derive(Debug, Clone)]
pub struct Page<M> {
    /// Each row with its cursor, in order. A cursor is encoded only if its field is asked
    /// for (async-graphql's `CursorType`), not for every row of every page.
    pub rows: Vec<(Cursor, M)>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    /// Rows matching the filter, all pages together, when asked for.
    pub total_count: Option<i64>,
}

impl<M> Default for Page<M> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            has_previous_page: false,
            has_next_page: false,
            total_count: None,
        }
    }
}

impl<M> Page<M> {
    /// The page of `rows` fetched in traversal order with one row more than `args.limit`
    /// asked for, to tell whether rows lie beyond.
    pub fn from_scan(mut rows: Vec<M>, args: &PageArgs, cursor: impl Fn(&M) -> Cursor) -> Self {
        let more = rows.len() > args.limit;
        rows.truncate(args.limit);
        if args.from_end {
            rows.reverse();
        }
        Page {
            rows: rows.into_iter().map(|r| (cursor(&r), r)).collect(),
            has_previous_page: if args.from_end {
                more
            } else {
                args.after.is_some()
            },
            has_next_page: if args.from_end {
                args.before.is_some()
            } else {
                more
            },
            total_count: None,
        }
    }
}

/// How a connection is ordered: a sort column or just the id, and the direction. The id
/// always breaks ties; NULL sorts after every value.
#[derive(Debug)]
pub struct Ordering<M: Record> {
    pub column: Option<Column<M>>,
    pub descending: bool,
}

impl<M: Record> Clone for Ordering<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: Record> Copy for Ordering<M> {}

impl<M: Record> Ordering<M> {
    /// By id ascending: creation order, as ids are UUIDv7.
    pub fn by_id() -> Self {
        Self {
            column: None,
            descending: false,
        }
    }

    /// The cursor of `row` under this ordering.
    pub fn cursor_of(&self, row: &M) -> Cursor
    where
        M: ModelTrait<Entity = <M as Record>::E>,
    {
        Cursor(CursorKey {
            connection: Cow::Borrowed(M::TABLE),
            ordered_by: self.column.map(|c| Cow::Borrowed(c.as_str())),
            descending: self.descending,
            key: self
                .column
                .map_or(SortKey::Null, |c| SortKey::from_value(row.get(c))),
            id: row.id(),
        })
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

/// Declares a GraphQL ordering input `$input { field: $fields, direction }` for a
/// connection over `$model`, with `ID` plus the listed indexed columns, and implements
/// [`crate::read::Order`] for it.
#[macro_export]
macro_rules! ordering {
    ($(#[$doc:meta])* $input:ident, $fields:ident, $model:ty { $($variant:ident => $col:expr),* $(,)? }) => {
        /// The columns this connection can be ordered by (the id always breaks ties).
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $fields {
            Id,
            $($variant),*
        }

        $(#[$doc])*
        #[derive(async_graphql::InputObject, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $input {
            pub field: $fields,
            #[graphql(default)]
            pub direction: $crate::OrderDirection,
        }

        impl $crate::read::Order for $input {
            type Model = $model;

            fn ordering(self) -> $crate::paging::Ordering<$model> {
                let column = match self.field {
                    $fields::Id => None,
                    $($fields::$variant => Some($col),)*
                };
                $crate::paging::Ordering {
                    column,
                    descending: self.direction == $crate::OrderDirection::Desc,
                }
            }
        }
    };
}
