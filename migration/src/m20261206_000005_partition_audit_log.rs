//! Step 21 (PostgreSQL only; nothing on SQLite): `audit_log` range-partitioned by month
//! of `created_at` (seed 002's log partitioning), so retention detaches whole months
//! (`ALTER TABLE audit_log DETACH PARTITION audit_log_y2026m01`, then archive and drop
//! the detached table) instead of deleting rows one by one.
//!
//! - The table is rebuilt: the rows are copied into a partitioned table of the same
//!   columns, defaults and foreign keys, with one partition per month from the oldest
//!   row's to twelve months ahead and a DEFAULT partition for anything else. The copy
//!   holds an ACCESS EXCLUSIVE lock of `audit_log` for its length (about a second per
//!   100,000 rows on 2 cores): the change feed's writers wait, readers of the trail too.
//! - `created_at` becomes NOT NULL (a partition key of a primary key must be; the audit
//!   triggers always set it, and rows without one take the migration's instant), and
//!   the primary key becomes `(id, created_at)`: a partitioned table's unique keys must
//!   hold its partition key.
//! - For the same reason the change feed's index `(organization_id, seq)` can no longer
//!   be UNIQUE across months. Its numbers stay unique and gap-free by the way they are
//!   made: only the audit triggers write `audit_log` (`bduf_app` may not), and they take
//!   each organization's numbers from its `audit_feed` row, locked until commit.
//! - `bduf_audit_partitions(months_ahead)` creates the missing monthly partitions from
//!   the current month on (`SECURITY DEFINER`, executable by `bduf_scheduler`, whose job
//!   `audit_partitions` calls it every turn with 3): rows never wait for a partition,
//!   and the DEFAULT partition stays empty while the scheduler runs. A month whose rows
//!   already sit in the DEFAULT partition (a server off for months) is skipped with a
//!   warning; its rows stay in the DEFAULT partition, where retention can still delete
//!   them.
//! - Row-level security, its policy, `NO FORCE` and the grants (`bduf_app` reads only)
//!   are those of the table before; the partitions themselves grant nothing, so they are
//!   reached through `audit_log` alone.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

/// The active organization, NULL when unset.
const ORG: &str = "(SELECT nullif(current_setting('app.organization_id', true), '')::uuid)";

/// Every column, in the table's order.
const COLUMNS: &str = "id, table_name, record_id, operation, user_id, session_id, old_values, \
     new_values, changed_fields, change_reason, client_ip, user_agent, created_at, \
     organization_id, seq, request_id, source";

/// The indexes of `audit_log` (steps 7, 8, 17), the feed's no longer unique.
const INDEXES: [(&str, &str); 8] = [
    ("idx_audit_log_created_at_id", "(created_at, id)"),
    ("idx_audit_log_feed", "(organization_id, seq)"),
    ("idx_audit_log_operation", "(operation)"),
    ("idx_audit_log_organization_id", "(organization_id)"),
    ("idx_audit_log_session_id", "(session_id)"),
    ("idx_audit_log_table_record", "(table_name, record_id)"),
    ("idx_audit_log_user_created", "(user_id, created_at, id)"),
    ("idx_audit_log_user_id_id", "(user_id, id)"),
];

/// The foreign keys of `audit_log`.
const FOREIGN_KEYS: [&str; 3] = [
    "audit_log_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE",
    "audit_log_session_id_fkey FOREIGN KEY (session_id, organization_id) REFERENCES collaboration_sessions(id, organization_id)",
    "audit_log_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)",
];

/// The function that keeps monthly partitions ahead of the present.
const PARTITIONS_FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION bduf_audit_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    month timestamptz;
    name text;
    made integer := 0;
BEGIN
    FOR i IN 0..greatest(months_ahead, 0) LOOP
        month := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                 + make_interval(months => i);
        name := 'audit_log_' || to_char(month AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
        CONTINUE WHEN to_regclass('public.' || name) IS NOT NULL;
        BEGIN
            EXECUTE format(
                'CREATE TABLE public.%I PARTITION OF public.audit_log FOR VALUES FROM (%L) TO (%L)',
                name, month, month + interval '1 month');
            made := made + 1;
        EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'audit_log: % not created: the DEFAULT partition holds rows of that month', name;
        END;
    END LOOP;
    RETURN made;
END
$fn$
"#;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let mut statements = vec![
            "SET LOCAL lock_timeout = '5s'".to_owned(),
            "SET LOCAL statement_timeout = '1800s'".to_owned(),
            "LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE".to_owned(),
            "ALTER TABLE audit_log RENAME TO audit_log_unpartitioned".to_owned(),
            "CREATE TABLE audit_log (LIKE audit_log_unpartitioned INCLUDING DEFAULTS) \
             PARTITION BY RANGE (created_at)"
                .to_owned(),
            "ALTER TABLE audit_log ALTER COLUMN created_at SET NOT NULL".to_owned(),
            "CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT".to_owned(),
            // One partition per month of the rows there are, up to twelve ahead.
            "DO $$ DECLARE month timestamptz; BEGIN \
               FOR month IN SELECT generate_series( \
                   date_trunc('month', coalesce((SELECT min(created_at) FROM audit_log_unpartitioned), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', \
                   date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '12 months', \
                   interval '1 month') LOOP \
                 EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)', \
                   'audit_log_' || to_char(month AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM'), \
                   month, month + interval '1 month'); \
               END LOOP; \
             END $$"
                .to_owned(),
            format!(
                "INSERT INTO audit_log ({COLUMNS}) SELECT {} FROM audit_log_unpartitioned",
                COLUMNS.replace("created_at", "coalesce(created_at, now())")
            ),
            // The old table's names go with it: keys and indexes come after.
            "DROP TABLE audit_log_unpartitioned".to_owned(),
            "ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, created_at)"
                .to_owned(),
        ];
        statements.extend(keys(false));
        statements.extend(security());
        statements.push(PARTITIONS_FUNCTION.to_owned());
        statements.push(
            "REVOKE ALL ON FUNCTION bduf_audit_partitions(integer) FROM PUBLIC".to_owned(),
        );
        statements.push(
            "GRANT EXECUTE ON FUNCTION bduf_audit_partitions(integer) TO bduf_scheduler"
                .to_owned(),
        );
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let mut statements = vec![
            "SET LOCAL lock_timeout = '5s'".to_owned(),
            "SET LOCAL statement_timeout = '1800s'".to_owned(),
            "DROP FUNCTION bduf_audit_partitions(integer)".to_owned(),
            "LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE".to_owned(),
            "ALTER TABLE audit_log RENAME TO audit_log_partitioned".to_owned(),
            "CREATE TABLE audit_log (LIKE audit_log_partitioned INCLUDING DEFAULTS)".to_owned(),
            "ALTER TABLE audit_log ALTER COLUMN created_at DROP NOT NULL".to_owned(),
            format!(
                "INSERT INTO audit_log ({COLUMNS}) SELECT {COLUMNS} FROM audit_log_partitioned"
            ),
            "DROP TABLE audit_log_partitioned".to_owned(),
            "ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id)".to_owned(),
        ];
        statements.extend(keys(true));
        statements.extend(security());
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// The indexes and foreign keys of `audit_log`; the change feed's index is UNIQUE only
/// on the unpartitioned table (`feed_unique`), the one `down` rebuilds.
fn keys(feed_unique: bool) -> Vec<String> {
    let indexes = INDEXES.iter().map(|(name, columns)| {
        let unique = if feed_unique && *name == "idx_audit_log_feed" {
            "UNIQUE "
        } else {
            ""
        };
        format!("CREATE {unique}INDEX {name} ON audit_log {columns}")
    });
    let foreign_keys = FOREIGN_KEYS
        .iter()
        .map(|fk| format!("ALTER TABLE audit_log ADD CONSTRAINT {fk}"));
    indexes.chain(foreign_keys).collect()
}

/// Row-level security and grants of `audit_log`, as steps 12 and 17 left them.
fn security() -> Vec<String> {
    let tenant = format!("organization_id = {ORG}");
    vec![
        "ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY".to_owned(),
        "ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY".to_owned(),
        format!(
            "CREATE POLICY tenant_isolation ON audit_log FOR ALL USING ({tenant}) \
             WITH CHECK ({tenant})"
        ),
        "GRANT SELECT ON audit_log TO bduf_app".to_owned(),
    ]
}
