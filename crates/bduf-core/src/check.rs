//! The checks every input goes through, on reads (filters) and writes (commands) alike,
//! each a `VALIDATION` error naming the field and the rule. Lengths and ranges come from
//! the schema itself (`entity::rule`, generated from the live catalog): the `n` of a
//! column's `VARCHAR(n)` and the bounds of its integer CHECK, so a check never disagrees
//! with the constraint behind it.

use sea_orm::sea_query::ColumnType;
use sea_orm::{ColumnTrait, EntityName};

use crate::error::{Error, Result};

/// The longest text a `TEXT` column takes through the API, in characters.
pub const MAX_TEXT: usize = 50_000;

/// The longest value `column` takes: its `VARCHAR(n)`, or [`MAX_TEXT`] for `TEXT`.
pub fn max_len<C: ColumnTrait>(column: C) -> Option<usize> {
    let table = C::EntityName::default().table_name();
    if let Some(n) = entity::rule::max_len(table, column.as_str()) {
        return Some(n);
    }
    match column.def().get_column_type() {
        ColumnType::Text | ColumnType::String(_) => Some(MAX_TEXT),
        _ => None,
    }
}

/// `value` fits `column` (its `VARCHAR(n)`, or [`MAX_TEXT`] for `TEXT`).
pub fn text<C: ColumnTrait>(field: &str, column: C, value: Option<&str>) -> Result<()> {
    match max_len(column) {
        Some(max) => at_most(field, value, max),
        None => Ok(()),
    }
}

/// `value` is at most `max` characters long (for texts that are not a column's: a
/// search, a key).
pub fn at_most(field: &str, value: Option<&str>, max: usize) -> Result<()> {
    if let Some(value) = value {
        let n = value.chars().count();
        if n > max {
            return Err(Error::invalid(
                field,
                format!("must be at most {max} characters, got {n}"),
            ));
        }
    }
    Ok(())
}

/// A required name or title: not blank, and fits `column`.
pub fn name<C: ColumnTrait>(field: &str, column: C, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be blank"));
    }
    text(field, column, Some(value))
}

/// `value` lies in `low..=high`.
pub fn range(field: &str, value: Option<i32>, low: i32, high: i32) -> Result<()> {
    match value {
        Some(v) if v < low || v > high => Err(Error::invalid(
            field,
            format!("must be between {low} and {high}, got {v}"),
        )),
        _ => Ok(()),
    }
}

/// `value` is not negative.
pub fn non_negative(field: &str, value: Option<i32>) -> Result<()> {
    range(field, value, 0, i32::MAX)
}

/// `value` lies within the bounds of `column`'s integer CHECK (`priority BETWEEN 1 AND
/// 5`). A column without one takes any value: the schema is the rule.
pub fn bounded<C: ColumnTrait>(field: &str, column: C, value: Option<i32>) -> Result<()> {
    let table = C::EntityName::default().table_name();
    match entity::rule::range(table, column.as_str()) {
        Some((low, high)) => range(
            field,
            value,
            i32::try_from(low).unwrap_or(i32::MIN),
            i32::try_from(high).unwrap_or(i32::MAX),
        ),
        None => Ok(()),
    }
}

/// A value a new row needs.
pub fn required<T>(field: &str, value: Option<&T>) -> Result<()> {
    match value {
        Some(_) => Ok(()),
        None => Err(Error::invalid(field, "is required")),
    }
}

#[cfg(test)]
mod tests {
    use entity::{organizations, tasks};

    #[test]
    fn lengths_and_ranges_are_the_schemas() {
        assert_eq!(super::max_len(organizations::Column::Slug), Some(100));
        assert_eq!(
            super::max_len(tasks::Column::Description),
            Some(super::MAX_TEXT)
        );
        assert!(super::bounded("priority", tasks::Column::Priority, Some(5)).is_ok());
        let err = super::bounded("priority", tasks::Column::Priority, Some(6))
            .expect_err("6 is above the CHECK");
        assert_eq!(err.to_string(), "priority: must be between 1 and 5, got 6");
        assert!(super::text("slug", organizations::Column::Slug, Some(&"s".repeat(101))).is_err());
    }
}
