//! Step 17: the database keeps the record — audit rows written by triggers, a change
//! feed, and `updated_at`/`version` maintained by the database.
//!
//! **Audit.** Every change of a row of the audited tables ([`AUDITED`]) — by the
//! application, by `psql`, by a script — writes one `audit_log` row in the same
//! transaction: table, record id, operation, the whole row on INSERT and DELETE, only
//! the changed fields (old and new values, and their names) on UPDATE; an UPDATE that
//! changes nothing writes nothing. Who acted comes from what the request told the
//! transaction:
//!
//! - PostgreSQL: the transaction-local settings `app.user_id`, `app.request_id`,
//!   `app.client_ip` and `app.user_agent` (`set_config(…, true)`, so nothing outlives
//!   the transaction on a pooled connection);
//! - SQLite, which has no such settings: the one row of `audit_context`, written by the
//!   request inside its write transaction and deleted before it commits — so the
//!   committed table is always empty and SQL run outside a request finds no row.
//!
//! `source` says which: `api` for a request, `sql:<login role>` (PostgreSQL) or `sql`
//! (SQLite) for anything else, whose `user_id` is then unknown (NULL) unless the SQL set
//! `app.user_id` itself. The rows written before this step were the application's and
//! become `api`.
//!
//! PostgreSQL: one statement-level trigger per table and operation with transition
//! tables (`REFERENCING NEW TABLE …`), so a statement writing 5,000 rows calls the
//! trigger once and writes its audit rows in one `INSERT … SELECT`; the function is
//! `SECURITY DEFINER` (it runs as the migrating owner), which is what lets `bduf_app`
//! lose every write privilege on `audit_log`: to the application role the log is
//! append-only by triggers and read-only otherwise. The owner is no longer bound by
//! `audit_log`'s policy (`NO FORCE`), since the triggers write there for whichever
//! organization a row belongs to. SQLite: three row triggers per table, generated from
//! the table's columns when this step runs; a later step that adds a column to an
//! audited table must recreate them ([`sqlite_triggers`]; `migration/tests/it/audit.rs`
//! checks every column is recorded).
//!
//! **Change feed.** Each audit row carries `seq`, its organization's change number:
//! 1, 2, 3… with no gap, in commit order, so a reader that has seen everything up to
//! `N` asks for `seq > N` and misses nothing. The counter is `audit_feed`'s row for the
//! organization, bumped by the trigger in the writing transaction: its row lock is held
//! until that transaction ends, so a second writer of the same organization takes its
//! numbers only after the first has committed (or rolled back, which gives its numbers
//! back). The price: writes of one organization queue behind each other from their
//! first audited change to their commit (SQLite has one writer anyway). Rows of an
//! organization being deleted are not recorded (its log goes with it, by cascade).
//!
//! **Versions.** `updated_at` is set by the database on every UPDATE of a table that has
//! it (the audited ones and `users`), and `projects.version` goes up by one on each (PostgreSQL: a `BEFORE UPDATE` row
//! trigger; SQLite, whose triggers cannot change `NEW`: the audit UPDATE trigger writes
//! them back first, which does not fire the trigger again as recursive triggers are
//! off). Whatever the statement put there is overwritten.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

/// The tables whose changes are recorded, each with the column naming its organization.
/// Not recorded: `users` (global, and their rows hold password hashes), `user_sessions`,
/// `idempotency_keys`, `sign_in_failures` (operational state, not the plan), and
/// `audit_log` itself.
pub const AUDITED: [(&str, &str); 13] = [
    ("organizations", "id"),
    ("organization_members", "organization_id"),
    ("projects", "organization_id"),
    ("requirements", "organization_id"),
    ("architectural_components", "organization_id"),
    ("analyses", "organization_id"),
    ("tasks", "organization_id"),
    ("collaboration_sessions", "organization_id"),
    ("session_participants", "organization_id"),
    ("approvals", "organization_id"),
    ("approval_participants", "organization_id"),
    ("comments", "organization_id"),
    ("notifications", "organization_id"),
];

/// A table not audited whose `updated_at` the database keeps too.
const TOUCHED: [&str; 1] = ["users"];

/// The tables with a version counter.
const VERSIONED: [&str; 1] = ["projects"];

/// PostgreSQL: the columns, the feed, the touch functions and the privileges (the audit
/// function is [`pg_audit_function`]).
const PG_UP: &str = r#"
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '300s';
ALTER TABLE audit_log
    ADD COLUMN seq BIGINT,
    ADD COLUMN request_id UUID,
    ADD COLUMN source VARCHAR(100) NOT NULL DEFAULT 'sql';
UPDATE audit_log a SET seq = n.seq, source = 'api'
    FROM (SELECT id, row_number() OVER (PARTITION BY organization_id ORDER BY created_at, id) AS seq
          FROM audit_log) n
    WHERE a.id = n.id;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX idx_audit_log_feed ON audit_log (organization_id, seq);

CREATE TABLE audit_feed (
    organization_id UUID PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL
);
INSERT INTO audit_feed (organization_id, last_seq)
    SELECT organization_id, max(seq) FROM audit_log GROUP BY organization_id;
ALTER TABLE audit_feed ENABLE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION bduf_touch() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$fn$;

CREATE OR REPLACE FUNCTION bduf_touch_versioned() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.updated_at := now();
    NEW.version := coalesce(OLD.version, 0) + 1;
    RETURN NEW;
END
$fn$;

ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
REVOKE INSERT, UPDATE, DELETE ON audit_log FROM bduf_app;
"#;

/// PostgreSQL: `bduf_audit()`, the function of every audit trigger (its argument names
/// the column holding the organization). Each operation has its statement, whose plan
/// PL/pgSQL caches per table: the changes of the trigger's transition tables (`to_jsonb`
/// of each row; on UPDATE the fields whose value differs, rows without any dropped), the
/// organization's numbers taken from `audit_feed` in one upsert, the rows written in one
/// `INSERT … SELECT`.
fn pg_audit_function() -> String {
    let write = |changes: &str| {
        format!(
            "WITH changes AS ({changes}), \
             counts AS ( \
                 SELECT c.org, count(*) AS n FROM changes c \
                 WHERE EXISTS (SELECT 1 FROM organizations o WHERE o.id = c.org) \
                 GROUP BY c.org), \
             bumped AS ( \
                 INSERT INTO audit_feed AS f (organization_id, last_seq) \
                 SELECT org, n FROM counts ORDER BY org \
                 ON CONFLICT (organization_id) DO UPDATE SET last_seq = f.last_seq + EXCLUDED.last_seq \
                 RETURNING f.organization_id, f.last_seq) \
             INSERT INTO audit_log (id, table_name, record_id, operation, user_id, old_values, \
                 new_values, changed_fields, client_ip, user_agent, created_at, organization_id, \
                 seq, request_id, source) \
             SELECT gen_random_uuid(), TG_TABLE_NAME, c.record_id, TG_OP, actor, c.old_values, \
                 c.new_values, c.changed, ip, agent, now(), c.org, \
                 b.last_seq - k.n + row_number() OVER (PARTITION BY c.org ORDER BY c.record_id), \
                 request, origin \
             FROM changes c \
             JOIN counts k ON k.org = c.org \
             JOIN bumped b ON b.organization_id = c.org;"
        )
    };
    let insert = write(
        "SELECT (j->>'id')::uuid AS record_id, (j->>org_column)::uuid AS org, \
         NULL::jsonb AS old_values, j AS new_values, NULL::jsonb AS changed \
         FROM (SELECT to_jsonb(n) AS j FROM new_rows n) r",
    );
    let delete = write(
        "SELECT (j->>'id')::uuid AS record_id, (j->>org_column)::uuid AS org, \
         j AS old_values, NULL::jsonb AS new_values, NULL::jsonb AS changed \
         FROM (SELECT to_jsonb(o) AS j FROM old_rows o) r",
    );
    let update = write(
        "SELECT (p.nj->>'id')::uuid AS record_id, (p.nj->>org_column)::uuid AS org, \
         d.old_values, d.new_values, d.changed \
         FROM (SELECT to_jsonb(o) AS oj, to_jsonb(n) AS nj \
               FROM old_rows o JOIN new_rows n ON n.id = o.id) p \
         CROSS JOIN LATERAL ( \
             SELECT jsonb_object_agg(e.key, p.oj -> e.key) AS old_values, \
                    jsonb_object_agg(e.key, e.value) AS new_values, \
                    jsonb_agg(e.key ORDER BY length(e.key), e.key) AS changed \
             FROM jsonb_each(p.nj) e \
             WHERE p.oj -> e.key IS DISTINCT FROM e.value) d \
         WHERE d.changed IS NOT NULL",
    );
    format!(
        "CREATE OR REPLACE FUNCTION bduf_audit() RETURNS trigger \
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$ \
         DECLARE \
             org_column text := TG_ARGV[0]; \
             actor uuid := nullif(current_setting('app.user_id', true), '')::uuid; \
             request uuid := nullif(current_setting('app.request_id', true), '')::uuid; \
             ip inet := nullif(current_setting('app.client_ip', true), '')::inet; \
             agent text := nullif(current_setting('app.user_agent', true), ''); \
             origin text := CASE WHEN request IS NULL THEN 'sql:' || session_user ELSE 'api' END; \
         BEGIN \
             IF TG_OP = 'INSERT' THEN {insert} \
             ELSIF TG_OP = 'DELETE' THEN {delete} \
             ELSE {update} \
             END IF; \
             RETURN NULL; \
         END $fn$"
    )
}

/// PostgreSQL: undoes [`PG_UP`] (the triggers are dropped first).
const PG_DOWN: &str = r#"
GRANT INSERT, UPDATE, DELETE ON audit_log TO bduf_app;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
DROP FUNCTION bduf_touch_versioned();
DROP FUNCTION bduf_touch();
DROP FUNCTION bduf_audit();
DROP TABLE audit_feed;
DROP INDEX idx_audit_log_feed;
ALTER TABLE audit_log DROP COLUMN seq, DROP COLUMN request_id, DROP COLUMN source;
"#;

/// SQLite: the columns, the feed and the request's context.
const SQLITE_UP: [&str; 7] = [
    "ALTER TABLE audit_log ADD COLUMN seq integer NOT NULL DEFAULT 0",
    "ALTER TABLE audit_log ADD COLUMN request_id uuid_text",
    "ALTER TABLE audit_log ADD COLUMN source varchar(100) NOT NULL DEFAULT 'sql'",
    "UPDATE audit_log SET source = 'api', seq = n.seq \
     FROM (SELECT id, row_number() OVER (PARTITION BY organization_id ORDER BY created_at, id) AS seq \
           FROM audit_log) AS n \
     WHERE audit_log.id = n.id",
    "CREATE UNIQUE INDEX idx_audit_log_feed ON audit_log (organization_id, seq)",
    "CREATE TABLE audit_feed ( \
         organization_id uuid_text NOT NULL PRIMARY KEY \
             REFERENCES organizations (id) ON DELETE CASCADE, \
         last_seq integer NOT NULL)",
    "CREATE TABLE audit_context ( \
         id integer NOT NULL PRIMARY KEY CHECK (id = 1), \
         user_id uuid_text, \
         request_id uuid_text NOT NULL, \
         client_ip text, \
         user_agent text)",
];

/// SQLite: undoes [`SQLITE_UP`] (the triggers are dropped first).
const SQLITE_DOWN: [&str; 6] = [
    "DROP TABLE audit_context",
    "DROP TABLE audit_feed",
    "DROP INDEX idx_audit_log_feed",
    "ALTER TABLE audit_log DROP COLUMN source",
    "ALTER TABLE audit_log DROP COLUMN request_id",
    "ALTER TABLE audit_log DROP COLUMN seq",
];

/// PostgreSQL: the triggers of one table.
fn pg_triggers(table: &str, org: &str, touch: bool) -> Vec<String> {
    let mut list = vec![
        format!(
            "CREATE TRIGGER audit_insert AFTER INSERT ON {table} \
             REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_audit('{org}')"
        ),
        format!(
            "CREATE TRIGGER audit_update AFTER UPDATE ON {table} \
             REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
             FOR EACH STATEMENT EXECUTE FUNCTION bduf_audit('{org}')"
        ),
        format!(
            "CREATE TRIGGER audit_delete AFTER DELETE ON {table} \
             REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_audit('{org}')"
        ),
    ];
    if touch {
        let function = if VERSIONED.contains(&table) {
            "bduf_touch_versioned"
        } else {
            "bduf_touch"
        };
        list.push(format!(
            "CREATE TRIGGER touch BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        ));
    }
    list
}

/// A column of a table, as SQLite declares it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub declared: String,
}

/// The columns of `table` in the order the JSON of an audit row lists them: shorter
/// names first, then by name — the order in which PostgreSQL's `jsonb` keeps keys, so
/// both backends write the same key order.
pub async fn columns<C: ConnectionTrait>(db: &C, table: &str) -> Result<Vec<Column>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT name, type FROM pragma_table_info(?) ORDER BY length(name), name",
            [table.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Column {
                name: row.try_get_by_index(0)?,
                declared: row.try_get_by_index::<String>(1)?.to_ascii_lowercase(),
            })
        })
        .collect()
}

/// SQLite: the JSON text of `value`, a column of type `declared`, as PostgreSQL's
/// `to_jsonb` writes it: booleans `true`/`false` (SQLite stores 1/0), JSON columns as
/// JSON, UUIDs in their text form (SQLite stores them as 16 bytes), anything else quoted
/// by `json_quote` (text as a string, numbers as numbers, NULL as null).
fn json_of(value: &str, declared: &str) -> String {
    if declared.contains("bool") {
        format!("CASE {value} WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE 'null' END")
    } else if declared.contains("json") {
        format!("coalesce({value}, 'null')")
    } else if declared.contains("uuid") {
        let hex = format!("lower(hex({value}))");
        format!(
            "CASE WHEN typeof({value}) = 'blob' THEN json_quote(substr({hex}, 1, 8) || '-' || \
             substr({hex}, 9, 4) || '-' || substr({hex}, 13, 4) || '-' || substr({hex}, 17, 4) \
             || '-' || substr({hex}, 21, 12)) ELSE json_quote({value}) END"
        )
    } else {
        format!("json_quote({value})")
    }
}

/// SQLite: a fresh id, 16 random bytes, stored as the application's UUIDs are
/// (`randomblob`, not `unhex`, so SQLite shells older than 3.41 can still write to an
/// audited table; the bytes carry no RFC 4122 version, which nothing reads).
const SQLITE_UUID: &str = "randomblob(16)";

/// SQLite: now, in the application's timestamp form (step 9).
const SQLITE_NOW: &str = "CASE WHEN strftime('%f', 'now') LIKE '%.000' \
     THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') \
     ELSE strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') END";

/// SQLite: the three triggers of `table` (organization in column `org`) over its
/// `columns` — what a step that adds a column to an audited table runs again after
/// dropping them.
///
/// Each writes its audit row numbered one past `audit_feed`'s count for the
/// organization, then sets the count to the highest number the organization's log holds
/// (so a row not written — an UPDATE that changed nothing — takes no number). UPDATE
/// first writes the database's `updated_at` and `version` back into the row; the audit
/// row compares OLD with NEW as touched: the same `now` for both, since SQLite gives one
/// value of `now` for a whole statement, triggers included.
pub fn sqlite_triggers(table: &str, org: &str, columns: &[Column]) -> Vec<String> {
    let has = |name: &str| columns.iter().any(|c| c.name == name);
    // What each column holds after an UPDATE: the touched ones are the database's.
    let after = |c: &Column| match c.name.as_str() {
        "updated_at" => format!("({SQLITE_NOW})"),
        "version" if VERSIONED.contains(&table) => "(coalesce(OLD.version, 0) + 1)".to_owned(),
        name => format!("NEW.{name}"),
    };
    let object = |row: &str| {
        let pairs: Vec<String> = columns
            .iter()
            .map(|c| {
                format!(
                    "'{}', json({})",
                    c.name,
                    json_of(&format!("{row}.{}", c.name), &c.declared)
                )
            })
            .collect();
        format!("json_object({})", pairs.join(", "))
    };
    let record = |row: &str, operation: &str, values: &str, from: &str, tail: &str| {
        format!(
            "INSERT INTO audit_log (id, table_name, record_id, operation, user_id, old_values, \
             new_values, changed_fields, client_ip, user_agent, organization_id, seq, request_id, \
             source) \
             SELECT {SQLITE_UUID}, '{table}', {row}.id, '{operation}', c.user_id, {values}, \
             c.client_ip, c.user_agent, {row}.{org}, \
             coalesce((SELECT last_seq FROM audit_feed WHERE organization_id = {row}.{org}), 0) + 1, \
             c.request_id, CASE WHEN c.request_id IS NULL THEN 'sql' ELSE 'api' END \
             FROM {from} LEFT JOIN audit_context c ON c.id = 1 {tail}; \
             INSERT INTO audit_feed (organization_id, last_seq) \
             SELECT {row}.{org}, max(seq) FROM audit_log WHERE organization_id = {row}.{org} \
             HAVING max(seq) IS NOT NULL \
             ON CONFLICT (organization_id) DO UPDATE SET last_seq = excluded.last_seq;"
        )
    };
    let exists = |row: &str| format!("EXISTS (SELECT 1 FROM organizations WHERE id = {row}.{org})");
    let mut touch = Vec::new();
    if has("updated_at") {
        touch.push(format!("updated_at = {SQLITE_NOW}"));
    }
    if has("version") && VERSIONED.contains(&table) {
        touch.push("version = coalesce(OLD.version, 0) + 1".to_owned());
    }
    let touch_statement = if touch.is_empty() {
        String::new()
    } else {
        format!("UPDATE {table} SET {} WHERE id = NEW.id;", touch.join(", "))
    };
    let diffs: Vec<String> = columns
        .iter()
        .map(|c| {
            let new = after(c);
            format!(
                "SELECT '{name}' AS k, {old} AS o, {new_json} AS n WHERE OLD.{name} IS NOT {new}",
                name = c.name,
                old = json_of(&format!("OLD.{}", c.name), &c.declared),
                new_json = json_of(&new, &c.declared),
            )
        })
        .collect();
    vec![
        format!(
            "CREATE TRIGGER audit_insert_{table} AFTER INSERT ON {table} FOR EACH ROW \
             WHEN {exists} BEGIN {insert} END",
            exists = exists("NEW"),
            insert = record(
                "NEW",
                "INSERT",
                &format!("NULL, {}, NULL", object("NEW")),
                "(SELECT 1)",
                ""
            ),
        ),
        format!(
            "CREATE TRIGGER audit_update_{table} AFTER UPDATE ON {table} FOR EACH ROW \
             WHEN {exists} BEGIN {touch_statement} {insert} END",
            exists = exists("NEW"),
            insert = record(
                "NEW",
                "UPDATE",
                "json_group_object(d.k, json(d.o)), json_group_object(d.k, json(d.n)), \
                 json_group_array(d.k)",
                &format!("({}) AS d", diffs.join(" UNION ALL ")),
                "HAVING count(*) > 0"
            ),
        ),
        format!(
            "CREATE TRIGGER audit_delete_{table} AFTER DELETE ON {table} FOR EACH ROW \
             WHEN {exists} BEGIN {insert} END",
            exists = exists("OLD"),
            insert = record(
                "OLD",
                "DELETE",
                &format!("{}, NULL, NULL", object("OLD")),
                "(SELECT 1)",
                ""
            ),
        ),
    ]
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(PG_UP).await?;
                db.execute_unprepared(&pg_audit_function()).await?;
                for (table, org) in AUDITED {
                    let touch = db
                        .query_one_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            "SELECT 1 FROM information_schema.columns \
                             WHERE table_schema = current_schema() AND table_name = $1 \
                             AND column_name = 'updated_at'",
                            [table.into()],
                        ))
                        .await?
                        .is_some();
                    for statement in pg_triggers(table, org, touch) {
                        db.execute_unprepared(&statement).await?;
                    }
                }
                for table in TOUCHED {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER touch BEFORE UPDATE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION bduf_touch()"
                    ))
                    .await?;
                }
            }
            _ => {
                for statement in SQLITE_UP {
                    db.execute_unprepared(statement).await?;
                }
                for (table, org) in AUDITED {
                    let columns = columns(db, table).await?;
                    for statement in sqlite_triggers(table, org, &columns) {
                        db.execute_unprepared(&statement).await?;
                    }
                }
                for table in TOUCHED {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER touch_{table} AFTER UPDATE ON {table} FOR EACH ROW \
                         BEGIN UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for table in TOUCHED {
                    db.execute_unprepared(&format!("DROP TRIGGER touch ON {table}"))
                        .await?;
                }
                for (table, _) in AUDITED {
                    for trigger in ["audit_insert", "audit_update", "audit_delete", "touch"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER IF EXISTS {trigger} ON {table}"
                        ))
                        .await?;
                    }
                }
                db.execute_unprepared(PG_DOWN).await?;
            }
            _ => {
                for table in TOUCHED {
                    db.execute_unprepared(&format!("DROP TRIGGER touch_{table}"))
                        .await?;
                }
                for (table, _) in AUDITED {
                    for operation in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER audit_{operation}_{table}"
                        ))
                        .await?;
                    }
                }
                for statement in SQLITE_DOWN {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }
}
