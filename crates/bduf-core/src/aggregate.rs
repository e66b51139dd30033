//! Helpers for aggregate loaders: grouped counts read from raw `GROUP BY` rows.

use std::collections::HashMap;
use std::hash::Hash;

use sea_orm::{ActiveEnum, DbErr, QueryResult};
use uuid::Uuid;

/// Counts per label, for each owner.
pub type LabelCounts<K> = HashMap<K, Vec<(Option<String>, i64)>>;

/// Reads `(owner, label, n)` rows — `owner` the grouping id column, `label` a text column
/// (possibly null), `n` a count — into per-owner lists, every key present.
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
        counts.sort();
    }
    Ok(out)
}

/// A database label as its active enum (`None` for null or unknown labels).
pub fn label<E>(label: &Option<String>) -> Option<E>
where
    E: ActiveEnum<Value = sea_orm::sea_query::Enum> + sea_orm::Iterable,
{
    let label = label.as_deref()?;
    E::iter().find(|e| e.to_value().value == label)
}
