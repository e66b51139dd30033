//! Helpers for aggregate keys: grouped counts read from `GROUP BY` rows, labels of
//! database enums, and the order of enum labels.

use crate::Map;
use std::hash::Hash;

use sea_orm::{ActiveEnum, DbErr, Iterable, QueryResult};
use uuid::Uuid;

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

/// `SELECT owner, label, COUNT(*) … GROUP BY owner, label` over the rows of `M` whose
/// `owner` column is one of `ids` and that match `condition`: counts per label (an enum
/// column is read as its text label), every id present.
pub async fn count_by_label<M: crate::Record>(
    txn: &crate::RequestTxn,
    owner: crate::record::Column<M>,
    label: crate::record::Column<M>,
    ids: &[Uuid],
    condition: sea_orm::Condition,
) -> crate::Result<LabelCounts<Uuid>> {
    use sea_orm::ColumnTrait as _;
    use sea_orm::sea_query::{Expr, Query};

    use crate::window::{any_of, col};

    let backend = txn.backend();
    let mut select = Query::select();
    select
        .from(M::E::default())
        .expr_as(col::<M>(owner), "owner")
        .expr_as(label.select_as(col::<M>(label)), "label")
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .and_where(any_of(backend, col::<M>(owner), ids))
        .cond_where(condition)
        .cond_where(txn.visible::<M>())
        .add_group_by([col::<M>(owner), col::<M>(label)]);
    let rows = txn.query(backend.build(&select)).await?;
    Ok(grouped_counts(ids, |id| id, &rows)?)
}

/// `SELECT owner, COUNT(*) … GROUP BY owner` over the rows of `M` whose `owner` column is
/// one of `ids` and that match `condition`, every id present.
pub async fn count_by<M: crate::Record>(
    txn: &crate::RequestTxn,
    owner: crate::record::Column<M>,
    ids: &[Uuid],
    condition: sea_orm::Condition,
) -> crate::Result<Map<Uuid, i64>> {
    let parents = crate::window::Parents {
        column: owner,
        scope: Some(condition),
        ids,
    };
    crate::window::count::<M>(txn, Some(&parents), &sea_orm::Condition::all()).await
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
