//! Shared helpers: schema snapshots, raw SQL, and the macro that runs a test on both
//! backends.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// Declares, for each `async fn name(backend: Backend)` listed, a module `name` with the
/// tests `postgres` and `sqlite` that run it on that backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(bduf_testkit::Backend::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(bduf_testkit::Backend::Sqlite).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// PostgreSQL catalog queries, each yielding one text line per object of the `public`
/// schema (or, for extensions, of the database).
const PG_SNAPSHOT: &[&str] = &[
    "SELECT 'extension ' || extname FROM pg_extension",
    "SELECT 'enum ' || t.typname || ' (' || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) || ')' \
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
     WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname",
    "SELECT 'type ' || typname::text || ' ' || typtype::text FROM pg_type WHERE typnamespace = 'public'::regnamespace",
    "SELECT 'relation ' || relname::text || ' kind ' || relkind::text FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    // Columns by position among the live ones: a column dropped and added again takes a
    // new attnum, but the same place.
    "SELECT 'column ' || c.relname || '.' \
       || lpad((row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))::text, 3, '0') \
       || ' ' || a.attname || ' ' \
       || format_type(a.atttypid, a.atttypmod) \
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END \
       || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') \
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
    "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
     FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
    "SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' \
     FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace",
    "SELECT 'security ' || relname || ' rls ' || relrowsecurity::text || ' forced ' \
       || relforcerowsecurity::text || ' grants ' || COALESCE((SELECT string_agg( \
         pg_get_userbyid(x.grantee) || ':' || x.privilege_type, ',' ORDER BY 1) \
         FROM aclexplode(relacl) x WHERE x.grantee <> relowner), '-') \
     FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
    "SELECT 'policy ' || tablename || '.' || policyname || ' ' || cmd || ' to ' \
       || array_to_string(roles, ',') || ' using ' || COALESCE(qual, '-') \
       || ' check ' || COALESCE(with_check, '-') FROM pg_policies WHERE schemaname = 'public'",
    "SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ': ' \
       || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
];

/// A full, sorted dump of the schema: on PostgreSQL the catalog (extensions, enum and
/// other types, relations, columns with types and defaults, constraints, indexes,
/// functions, row-level security, grants, policies, triggers), on SQLite `sqlite_schema`;
/// monthly partitions named without their month ([`undated`]).
pub async fn snapshot(db: &DatabaseConnection) -> Vec<String> {
    let queries: Vec<&str> = match db.get_database_backend() {
        DbBackend::Postgres => PG_SNAPSHOT.to_vec(),
        _ => vec![
            "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '') FROM sqlite_schema",
        ],
    };
    let mut lines = Vec::new();
    for sql in queries {
        lines.extend(
            strings(db, sql)
                .await
                .expect(sql)
                .iter()
                .map(|line| undated(line)),
        );
    }
    lines.sort();
    lines
}

/// `line` with the month of every monthly partition of `audit_log` (step 21) replaced by
/// `yYYYYmMM`: the partitions are made relative to the current month, so two snapshots
/// taken either side of a month's end name different ones, the same in number and shape.
fn undated(line: &str) -> String {
    const PREFIX: &str = "audit_log_y";
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(PREFIX) {
        let (before, from) = rest.split_at(at + PREFIX.len());
        out.push_str(before);
        let month = from.as_bytes();
        let dated = month.len() >= 7
            && month[..4].iter().all(u8::is_ascii_digit)
            && month[4] == b'm'
            && month[5..7].iter().all(u8::is_ascii_digit);
        if dated {
            out.push_str("YYYYmMM");
            rest = &from[7..];
        } else {
            rest = from;
        }
    }
    out.push_str(rest);
    out
}

/// Asserts two snapshots are equal, listing the lines that differ.
#[track_caller]
pub fn assert_same_schema(expected: &[String], actual: &[String], context: &str) {
    if expected != actual {
        let missing: Vec<_> = expected.iter().filter(|l| !actual.contains(l)).collect();
        let extra: Vec<_> = actual.iter().filter(|l| !expected.contains(l)).collect();
        panic!("{context}: schema differs.\nmissing: {missing:#?}\nunexpected: {extra:#?}");
    }
}

/// The first column of every row of `sql`, as text.
pub async fn strings(db: &DatabaseConnection, sql: &str) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// Runs one statement.
pub async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

/// The number of rows of `table`.
pub async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("counting rows")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("a count")
}

/// A fresh id in the canonical text form both backends accept in SQL literals.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The names of the ledger's rows, in order.
pub async fn ledger(db: &DatabaseConnection) -> Vec<String> {
    strings(db, "SELECT version FROM seaql_migrations ORDER BY version")
        .await
        .expect("reading the ledger")
}

/// Monthly partition names lose their month, and nothing else changes.
#[test]
fn snapshots_name_partitions_without_their_month() {
    assert_eq!(
        undated("index audit_log_y2026m12_pkey on audit_log_y2026m12: (id)"),
        "index audit_log_yYYYYmMM_pkey on audit_log_yYYYYmMM: (id)"
    );
    for kept in [
        "relation audit_log_default kind r",
        "audit_log_y20",
        "audit_log_yabcdm01",
    ] {
        assert_eq!(undated(kept), kept);
    }
}

/// A user, an organization and a project of it, written with plain SQL: the user
/// `user` (`user@example.com`), the organization named and slugged `org`, the project
/// `p`; returns their ids `(organization, user, project)`.
pub async fn plain_plan(
    db: &DatabaseConnection,
    user: &str,
    org: &str,
) -> (String, String, String) {
    let (o, u, p) = (new_id(), new_id(), new_id());
    for sql in [
        format!(
            "INSERT INTO users (id, email, username, password_hash) \
             VALUES ('{u}', '{user}@example.com', '{user}', 'x')"
        ),
        format!("INSERT INTO organizations (id, name, slug) VALUES ('{o}', '{org}', '{org}')"),
        format!(
            "INSERT INTO projects (id, organization_id, created_by, name) \
             VALUES ('{p}', '{o}', '{u}', 'p')"
        ),
    ] {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    (o, u, p)
}
