//! Aggregate keys — counts and sums per parent, the numbers of a dashboard — and their
//! helpers: grouped counts read from `GROUP BY` rows, labels of database enums, and the
//! order of enum labels.
//!
//! An aggregate key is a [`Tally`]: it gives its statement as a [`Grouped`] select of a
//! fixed shape (`owner`, `n`, optionally `label` and up to [`VALUES`] more integers), and
//! the batcher runs every aggregate key of a wave — of any table, of any context — as
//! one statement, the `UNION ALL` of their selects ([`merged`]). So a project's task
//! roll-up, requirement counts and open approvals, or a portfolio's task counts and
//! approvals, cost one statement together, not one each.

use crate::Map;
use std::hash::Hash;

use sea_orm::sea_query::{Expr, Func, Query, SelectStatement, UnionType};
use sea_orm::{ActiveEnum, DbErr, Iterable, QueryResult};
use uuid::Uuid;

use crate::error::Result;
use crate::txn::RequestTxn;

/// How many integer values besides `n` a [`Grouped`] row may carry: `v1` to `v4`.
pub const VALUES: usize = 4;

/// The statement of a batch of aggregate keys: a select grouped by parent, with the
/// columns `owner` (the parent's id) and `n` (a count), `label` (text) when `label`, and
/// `v1`..`v{values}` (integers) — the shape every [`Tally`] shares, so that any number
/// of them can go out as one statement.
#[derive(Debug, Clone)]
pub struct Grouped {
    pub select: SelectStatement,
    /// Whether the select has a `label` column.
    pub label: bool,
    /// How many value columns (`v1`…) the select has, at most [`VALUES`].
    pub values: usize,
}

/// An aggregate key: its values come from one [`Grouped`] select, run together with the
/// wave's other aggregate keys (`Batcher::tally`).
pub trait Tally<K>: Send + Sync + 'static {
    type Value: Clone + Send + Sync + 'static;
    /// The select answering `keys` (without repeats). A bad input fails here, naming
    /// the field, before anything runs.
    fn grouped(&self, keys: &[K]) -> Result<Grouped>;
    /// The values of `keys` from the select's rows.
    fn answer(&self, keys: &[K], rows: &[TallyRow]) -> Result<Map<K, Self::Value>>;
}

/// A row of a [`Grouped`] select.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TallyRow {
    pub owner: Uuid,
    /// `label`; `None` when NULL or when the select has none.
    pub label: Option<String>,
    pub n: i64,
    /// `v1` to `v4`; `None` when NULL or beyond the select's own.
    pub values: [Option<i64>; VALUES],
}

impl TallyRow {
    /// Value `v{i}` (from 1), 0 when NULL: the sums of a group of rows.
    pub fn value(&self, i: usize) -> i64 {
        self.values
            .get(i.wrapping_sub(1))
            .copied()
            .flatten()
            .unwrap_or(0)
    }

    /// The row of the merged statement's branch `_m`, and `_m`.
    pub(crate) fn read(row: &QueryResult) -> Result<(usize, Self), DbErr> {
        let m: i32 = row.try_get("", "_m")?;
        let mut values = [None; VALUES];
        for (i, value) in values.iter_mut().enumerate() {
            *value = row.try_get("", &format!("v{}", i + 1))?;
        }
        Ok((
            usize::try_from(m).unwrap_or(usize::MAX),
            Self {
                owner: row.try_get("", "owner")?,
                label: row.try_get("", "label")?,
                n: row.try_get("", "n")?,
                values,
            },
        ))
    }
}

/// The one statement of several [`Grouped`] selects: `SELECT 0 AS _m, owner, label, n,
/// v1, …, v4 FROM (first) AS _t UNION ALL SELECT 1, … FROM (second) AS _t …`, every
/// column cast to one type (text, BIGINT) so the branches line up on both backends; the
/// rows of the select at position `m` are those with `_m = m`.
pub fn merged<'a>(parts: impl IntoIterator<Item = &'a Grouped>) -> Option<SelectStatement> {
    let mut union: Option<SelectStatement> = None;
    for (m, part) in parts.into_iter().enumerate() {
        let t = |name: &str| Expr::col(("_t", name.to_owned()));
        let mut branch = Query::select();
        branch
            .expr_as(Expr::cust(m.to_string()), "_m")
            .expr_as(t("owner"), "owner")
            .expr_as(
                if part.label {
                    Func::cast_as(t("label"), "TEXT").into()
                } else {
                    Expr::cust("CAST(NULL AS TEXT)")
                },
                "label",
            )
            .expr_as(Func::cast_as(t("n"), "BIGINT"), "n");
        for v in 1..=VALUES {
            let name = format!("v{v}");
            let value = if v <= part.values {
                Func::cast_as(t(&name), "BIGINT").into()
            } else {
                Expr::cust("CAST(NULL AS BIGINT)")
            };
            branch.expr_as(value, name);
        }
        branch.from_subquery(part.select.clone(), "_t");
        match &mut union {
            None => union = Some(branch),
            Some(union) => {
                union.union(UnionType::All, branch);
            }
        }
    }
    union
}

/// `SELECT owner, label, COUNT(*) … GROUP BY owner, label` over the rows of `M` whose
/// `owner` column is one of `ids` and that match `condition`: counts per label (an enum
/// column is read as its text label). Read the rows with [`grouped_counts`].
pub fn by_label<M: crate::Record>(
    txn: &RequestTxn,
    owner: crate::record::Column<M>,
    label: crate::record::Column<M>,
    ids: &[Uuid],
    condition: sea_orm::Condition,
) -> Grouped {
    use sea_orm::ColumnTrait as _;

    use crate::window::{any_of, col};

    let mut select = Query::select();
    select
        .from(M::E::default())
        .expr_as(col::<M>(owner), "owner")
        .expr_as(label.select_as(col::<M>(label)), "label")
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .and_where(any_of(txn.backend(), col::<M>(owner), ids))
        .cond_where(condition)
        .cond_where(txn.visible::<M>())
        .add_group_by([col::<M>(owner), col::<M>(label)]);
    Grouped {
        select,
        label: true,
        values: 0,
    }
}

/// `SELECT owner, COUNT(*) … GROUP BY owner` over the rows of `M` whose `owner` column
/// is one of `ids` and that match `condition`. Read the rows with [`counts`].
pub fn by_owner<M: crate::Record>(
    txn: &RequestTxn,
    owner: crate::record::Column<M>,
    ids: &[Uuid],
    condition: sea_orm::Condition,
) -> Grouped {
    use crate::window::{any_of, col};

    let mut select = Query::select();
    select
        .from(M::E::default())
        .expr_as(col::<M>(owner), "owner")
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .and_where(any_of(txn.backend(), col::<M>(owner), ids))
        .cond_where(condition)
        .cond_where(txn.visible::<M>())
        .add_group_by([col::<M>(owner)]);
    Grouped {
        select,
        label: false,
        values: 0,
    }
}

/// The counts of a grouped count's rows by key, each key naming its parent with `id`:
/// every key present (0 when its parent has no row). The `answer` of a count per parent.
pub fn counts<K: Copy + Eq + Hash>(
    keys: &[K],
    id: impl Fn(&K) -> Uuid,
    rows: &[TallyRow],
) -> Map<K, i64> {
    let found: Map<Uuid, i64> = rows.iter().map(|row| (row.owner, row.n)).collect();
    keys.iter()
        .map(|key| (*key, found.get(&id(key)).copied().unwrap_or(0)))
        .collect()
}

/// Counts per label, for each owner.
pub type LabelCounts<K> = Map<K, Vec<(Option<String>, i64)>>;

/// Reads the `(owner, label, n)` of a grouped count's rows into per-owner lists, every
/// key present, labels in text order with null last.
pub fn grouped_counts<K: Copy + Eq + Hash>(
    keys: &[K],
    owner: impl Fn(Uuid) -> K,
    rows: &[TallyRow],
) -> LabelCounts<K> {
    let mut out: LabelCounts<K> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        out.entry(owner(row.owner))
            .or_default()
            .push((row.label.clone(), row.n));
    }
    for counts in out.values_mut() {
        counts.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
    }
    out
}

/// A database label as its active enum (`None` for null or unknown labels).
pub fn label<E>(label: &Option<String>) -> Option<E>
where
    E: ActiveEnum<Value = sea_orm::sea_query::Enum> + Iterable,
{
    let label = label.as_deref()?;
    E::iter().find(|e| e.to_value().value == label)
}

/// The position of `value` among the labels of its enum type, as PostgreSQL orders enum
/// values: by declaration. SQLite stores enum labels as text, so code that returns enum
/// values in order sorts them with this on both backends.
pub fn rank<E>(value: &E) -> usize
where
    E: ActiveEnum + Iterable + PartialEq,
{
    E::iter().position(|e| e == *value).unwrap_or(usize::MAX)
}

/// SQL helpers that render alike on both backends (custom SQL with `$1` placeholders does
/// not: SQLite's placeholder is `?`).
pub mod sql {
    use sea_orm::sea_query::{Expr, Func};

    /// `COALESCE(expr, 0)`.
    pub fn or_zero(expr: Expr) -> Expr {
        Func::coalesce([expr, Expr::cust("0")]).into()
    }

    /// `NULLIF(expr, 0)`.
    pub fn null_if_zero(expr: Expr) -> Expr {
        Func::cust("NULLIF").arg(expr).arg(Expr::cust("0")).into()
    }

    /// `CAST(SUM(expr) AS BIGINT)`: an integer sum on both backends (SQLite's driver
    /// otherwise may type a sum as REAL).
    pub fn sum(expr: Expr) -> Expr {
        Func::cast_as(Func::sum(expr), "BIGINT").into()
    }
}
