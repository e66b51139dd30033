//! Column builders shared by the migrations: each renders the seed's PostgreSQL type and
//! its documented SQLite equivalent (see `migration/README.md`, "SQLite mapping").
//!
//! These helpers are part of every migration that uses them, so treat them as frozen: a
//! change here silently changes old migrations. Add a new helper instead of editing one.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

/// A PostgreSQL enum type of the seed with its labels, in declaration order.
#[derive(Debug, Clone, Copy)]
pub struct PgEnum {
    pub name: &'static str,
    pub labels: &'static [&'static str],
}

pub const PROJECT_STATUS: PgEnum = PgEnum {
    name: "project_status",
    labels: &["draft", "active", "completed", "archived", "cancelled"],
};
pub const ANALYSIS_TYPE: PgEnum = PgEnum {
    name: "analysis_type",
    labels: &[
        "requirements",
        "architecture",
        "technology",
        "risk",
        "quality",
    ],
};
pub const TASK_STATUS: PgEnum = PgEnum {
    name: "task_status",
    labels: &[
        "pending",
        "in_progress",
        "review",
        "done",
        "cancelled",
        "deferred",
    ],
};
pub const COLLABORATION_ROLE: PgEnum = PgEnum {
    name: "collaboration_role",
    labels: &["owner", "admin", "contributor", "viewer"],
};
pub const APPROVAL_STATUS: PgEnum = PgEnum {
    name: "approval_status",
    labels: &["pending", "approved", "rejected", "cancelled"],
};

/// Every enum type of the schema, in the order the first migration creates them.
pub const ALL_ENUMS: [PgEnum; 5] = [
    PROJECT_STATUS,
    ANALYSIS_TYPE,
    TASK_STATUS,
    COLLABORATION_ROLE,
    APPROVAL_STATUS,
];

/// `id UUID PRIMARY KEY DEFAULT gen_random_uuid()`.
///
/// The application generates UUIDv7 ids; the PostgreSQL default serves raw SQL inserts.
/// SQLite has no UUID generator, so there the application must always supply the id.
pub fn id<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.uuid().not_null().primary_key();
    if backend == DbBackend::Postgres {
        def.default(Expr::cust("gen_random_uuid()"));
    }
    def
}

/// A nullable `UUID` column.
pub fn uuid<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().null().take()
}

/// A `UUID NOT NULL` column.
pub fn uuid_not_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().take()
}

/// A nullable `VARCHAR(len)` column.
pub fn varchar<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().take()
}

/// A `VARCHAR(len) NOT NULL` column.
pub fn varchar_not_null<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().take()
}

/// A nullable `VARCHAR(len) DEFAULT 'value'` column.
pub fn varchar_default<T: IntoIden>(col: T, len: u32, value: &'static str) -> ColumnDef {
    ColumnDef::new(col)
        .string_len(len)
        .null()
        .default(value)
        .take()
}

/// A nullable `TEXT` column.
pub fn text<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

/// A `TEXT NOT NULL` column.
pub fn text_not_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

/// A nullable `INTEGER` column.
pub fn integer<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).integer().null().take()
}

/// A nullable `INTEGER DEFAULT value` column.
pub fn integer_default<T: IntoIden>(col: T, value: i32) -> ColumnDef {
    ColumnDef::new(col).integer().null().default(value).take()
}

/// `CHECK (col >= low AND col <= high)`, the seed's spelling of a range rule.
pub fn between<T: IntoIden + Copy + 'static, V: Into<Value> + Copy>(
    col: T,
    low: V,
    high: V,
) -> Expr {
    Expr::col(col).gte(low).and(Expr::col(col).lte(high))
}

/// A nullable `INTEGER` column restricted to `low..=high`, with an optional default.
pub fn integer_in_range<T: IntoIden + Copy + 'static>(
    col: T,
    low: i32,
    high: i32,
    default: Option<i32>,
) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.integer().null();
    if let Some(value) = default {
        def.default(value);
    }
    def.check(between(col, low, high)).take()
}

/// A nullable `DECIMAL(precision, scale)` column.
pub fn decimal<T: IntoIden>(col: T, precision: u32, scale: u32) -> ColumnDef {
    ColumnDef::new(col)
        .decimal_len(precision, scale)
        .null()
        .take()
}

/// A nullable `DECIMAL(3,2)` score restricted to `0..=1`.
pub fn score<T: IntoIden + Copy + 'static>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .decimal_len(3, 2)
        .null()
        .check(between(col, 0, 1))
        .take()
}

/// A nullable `BOOLEAN DEFAULT value` column.
pub fn boolean_default<T: IntoIden>(col: T, value: bool) -> ColumnDef {
    ColumnDef::new(col).boolean().null().default(value).take()
}

/// A nullable `JSONB` column (JSON text on SQLite).
pub fn jsonb<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).json_binary().null().take()
}

/// A nullable `JSONB DEFAULT 'value'` column, `value` being `{}` or `[]`.
pub fn jsonb_default<T: IntoIden>(col: T, value: &'static str) -> ColumnDef {
    ColumnDef::new(col)
        .json_binary()
        .null()
        .default(value)
        .take()
}

/// A nullable `DATE` column.
pub fn date<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).date().null().take()
}

/// A nullable `TIMESTAMP WITH TIME ZONE` column.
pub fn timestamptz<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

/// A nullable `TIMESTAMP WITH TIME ZONE DEFAULT NOW()` column.
///
/// PostgreSQL stores the default as `CURRENT_TIMESTAMP` (the same function as `now()`).
/// SQLite's own `CURRENT_TIMESTAMP` has no zone and no `T`, which the drivers cannot read
/// back as a zoned timestamp, so there the default is an RFC 3339 UTC string.
pub fn timestamptz_now<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let now = match backend {
        DbBackend::Sqlite => Expr::cust("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"),
        _ => Expr::current_timestamp(),
    };
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .default(now)
        .take()
}

/// A column of one of the seed's enum types, nullable unless `not_null`, with an optional
/// default label. On SQLite it is text with a `CHECK` listing the same labels.
pub fn enumeration<T: IntoIden + Copy + 'static>(
    backend: DbBackend,
    col: T,
    ty: PgEnum,
    not_null: bool,
    default: Option<&'static str>,
) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.enumeration(
        Alias::new(ty.name),
        ty.labels.iter().map(|l| Alias::new(*l)),
    );
    if not_null {
        def.not_null();
    } else {
        def.null();
    }
    if let Some(label) = default {
        def.default(label);
    }
    if backend == DbBackend::Sqlite {
        def.check(Expr::col(col).is_in(ty.labels.iter().copied()));
    }
    def
}

/// A nullable `INET` column (text on SQLite, which has no address type).
pub fn inet<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DbBackend::Postgres => def.inet(),
        _ => def.text(),
    };
    def.null().take()
}

/// A foreign key from `table.col` to `to_table.id` with the seed's `ON DELETE` action.
/// `None` is the seed's unspecified action, `NO ACTION`.
pub fn fk<T, C, R>(
    table: T,
    col: C,
    to_table: R,
    on_delete: Option<ForeignKeyAction>,
) -> ForeignKeyCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
    R: IntoIden + 'static,
{
    let mut fk = ForeignKey::create();
    fk.from(table, col).to(to_table, Alias::new("id"));
    if let Some(action) = on_delete {
        fk.on_delete(action);
    }
    fk
}

/// A nullable `TIMESTAMP WITH TIME ZONE DEFAULT NOW()` column whose SQLite default writes
/// the application's form (`+00:00`, see step 9), for tables created after step 9.
pub fn timestamptz_now_canonical<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let now = match backend {
        DbBackend::Sqlite => Expr::cust(
            "(CASE WHEN strftime('%f', 'now') LIKE '%.000' \
             THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') \
             ELSE strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') END)",
        ),
        _ => Expr::current_timestamp(),
    };
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .default(now)
        .take()
}
