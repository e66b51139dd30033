//! The schema's rules as data: every named constraint (primary keys, unique keys, foreign
//! keys, CHECKs), every `VARCHAR(n)` and every integer CHECK of the form `column BETWEEN
//! low AND high`, read from the live PostgreSQL catalog and written to
//! `entity/src/generated/rules.rs` by `cargo xtask codegen`. The write path checks inputs
//! against them and maps database errors by constraint name with them, so a migration
//! that adds or changes a rule changes what the API checks without anyone remembering it.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::codegen::BANNER;
use crate::rustfmt;

/// Every named constraint of the `public` schema but the migration ledger's (and a
/// partition's, which repeat their table's): name, table,
/// kind letter (`p`, `u`, `f`, `c`), columns in key order, and its definition.
const CONSTRAINTS: &str = "\
SELECT c.conname::text, t.relname::text, c.contype::text, \
       COALESCE((SELECT string_agg(a.attname::text, ',' ORDER BY k.i) \
                 FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i) \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n), ''), \
       pg_get_constraintdef(c.oid) \
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f', 'c') \
  AND t.relname <> 'seaql_migrations' AND NOT t.relispartition \
ORDER BY 1";

/// Every `VARCHAR(n)` column of a table (partitioned ones too, not their partitions):
/// table, column, n.
const LENGTHS: &str = "\
SELECT t.relname::text, a.attname::text, (a.atttypmod - 4)::int4 \
FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid \
WHERE t.relnamespace = 'public'::regnamespace AND t.relkind IN ('r', 'p') \
  AND NOT t.relispartition AND a.attnum > 0 \
  AND NOT a.attisdropped AND a.atttypid = 'varchar'::regtype AND a.atttypmod > 4 \
  AND t.relname <> 'seaql_migrations' \
ORDER BY 1, 2";

/// One constraint as read from the catalog.
struct Row {
    name: String,
    table: String,
    kind: String,
    columns: Vec<String>,
    definition: String,
}

/// The bounds of an integer CHECK `((column >= low) AND (column <= high))`, as
/// `pg_get_constraintdef` prints it.
fn integer_range(definition: &str) -> Option<(String, i64, i64)> {
    let inner = definition.strip_prefix("CHECK (((")?.strip_suffix(")))")?;
    let (low, high) = inner.split_once(") AND (")?;
    let (column, low) = low.split_once(" >= ")?;
    let (column_again, high) = high.split_once(" <= ")?;
    if column != column_again {
        return None;
    }
    Some((column.to_owned(), low.parse().ok()?, high.parse().ok()?))
}

/// The generated `rules.rs`: constraints, lengths and integer ranges.
pub async fn render(db: &DatabaseConnection) -> Result<String> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(backend, CONSTRAINTS))
        .await
        .context("reading the constraints")?;
    let mut constraints = Vec::new();
    for row in rows {
        let columns: String = row.try_get_by_index(3)?;
        constraints.push(Row {
            name: row.try_get_by_index(0)?,
            table: row.try_get_by_index(1)?,
            kind: row.try_get_by_index(2)?,
            columns: columns
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            definition: row.try_get_by_index(4)?,
        });
    }
    let lengths = db
        .query_all_raw(Statement::from_string(backend, LENGTHS))
        .await
        .context("reading the column lengths")?;

    let mut out = format!(
        "{BANNER}\n\n//! The schema's rules as data (see `entity::rule`): its named constraints, \
         the length of every `VARCHAR(n)` and the bounds of every integer CHECK.\n\n\
         use crate::rule::{{Constraint, Kind, Length, Range}};\n\n"
    );
    writeln!(
        out,
        "/// Every named constraint, by name.\npub const CONSTRAINTS: [Constraint; {}] = [",
        constraints.len()
    )?;
    for c in &constraints {
        let kind = match c.kind.as_str() {
            "p" => "PrimaryKey",
            "u" => "Unique",
            "f" => "ForeignKey",
            _ => "Check",
        };
        writeln!(
            out,
            "Constraint {{ name: {:?}, table: {:?}, kind: Kind::{kind}, columns: &{:?}, definition: {:?} }},",
            c.name, c.table, c.columns, c.definition
        )?;
    }
    out.push_str("];\n\n");
    writeln!(
        out,
        "/// The `n` of every `VARCHAR(n)` column, by table and column.\npub const LENGTHS: [Length; {}] = [",
        lengths.len()
    )?;
    for row in &lengths {
        let table: String = row.try_get_by_index(0)?;
        let column: String = row.try_get_by_index(1)?;
        let max: i32 = row.try_get_by_index(2)?;
        writeln!(
            out,
            "Length {{ table: {table:?}, column: {column:?}, max: {max} }},"
        )?;
    }
    out.push_str("];\n\n");
    let ranges: Vec<(String, String, i64, i64)> = constraints
        .iter()
        .filter(|c| c.kind == "c")
        .filter_map(|c| {
            integer_range(&c.definition)
                .map(|(column, low, high)| (c.table.clone(), column, low, high))
        })
        .collect();
    writeln!(
        out,
        "/// The bounds of every integer CHECK `column BETWEEN low AND high`, by table and column.\npub const RANGES: [Range; {}] = [",
        ranges.len()
    )?;
    for (table, column, low, high) in &ranges {
        writeln!(
            out,
            "Range {{ table: {table:?}, column: {column:?}, low: {low}, high: {high} }},"
        )?;
    }
    out.push_str("];\n");
    rustfmt(&out).context("formatting rules.rs")
}

#[cfg(test)]
mod tests {
    #[test]
    fn integer_checks_give_their_bounds() {
        assert_eq!(
            super::integer_range("CHECK (((priority >= 1) AND (priority <= 5)))"),
            Some(("priority".to_owned(), 1, 5))
        );
        assert_eq!(
            super::integer_range(
                "CHECK (((confidence_score >= (0)::numeric) AND (confidence_score <= (1)::numeric)))"
            ),
            None
        );
        assert_eq!(
            super::integer_range("CHECK (((a >= 1) AND (b <= 5)))"),
            None
        );
    }
}
