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
    /// The values of `keys` from the select's rows: `owner`, `label` (NULL when the
    /// select has none), `n`, and `v1` to `v4` (NULL beyond the select's own).
    fn answer(&self, keys: &[K], rows: &[QueryResult]) -> Result<Map<K, Self::Value>>;
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

/// Reads `(owner, n)` rows of a grouped count, every key present (0 when it has no row).
pub fn counts(rows: &[QueryResult], keys: &[Uuid]) -> Result<Map<Uuid, i64>, DbErr> {
    let mut out: Map<Uuid, i64> = keys.iter().map(|id| (*id, 0)).collect();
    for row in rows {
        out.insert(row.try_get("", "owner")?, row.try_get("", "n")?);
    }
    Ok(out)
}

/// Counts per label, for each owner.
pub type LabelCounts<K> = Map<K, Vec<(Option<String>, i64)>>;

/// Reads `(owner, label, n)` rows — `owner` the grouping id column, `label` a text column
/// (possibly null), `n` a count — into per-owner lists, every key present, labels in
/// text order with null last.
pub fn grouped_counts<K: Copy + Eq + Hash>(
    keys: &[K],
    owner: impl Fn(Uuid) -> K,
    rows: &[QueryResult],
) -> Result<LabelCounts<K>, DbErr> {
    let mut out: LabelCounts<K> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        let id: Uuid = row.try_get("", "owner")?;
        let label: Option<String> = row.try_get("", "label")?;
        let n: i64 = row.try_get("", "n")?;
        out.entry(owner(id)).or_default().push((label, n));
    }
    for counts in out.values_mut() {
        counts.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
    }
    Ok(out)
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
