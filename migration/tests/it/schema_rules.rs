//! Rules checked on the live, migrated PostgreSQL schema.

use bduf_testkit::{Backend, TestDb};
use migration::Migrator;

use crate::support::strings;

/// The tables of seed 000, `user_sessions` (sibling seeds 001 and 004),
/// `idempotency_keys` (step 13), `sign_in_failures` (step 16), `audit_feed` (step 17) and
/// `task_dependencies` (step 19; seeds 001 and 004).
const SEED_TABLES: [&str; 20] = [
    "analyses",
    "approval_participants",
    "approvals",
    "architectural_components",
    "audit_feed",
    "audit_log",
    "collaboration_sessions",
    "comments",
    "idempotency_keys",
    "notifications",
    "organization_members",
    "organizations",
    "projects",
    "requirements",
    "session_participants",
    "sign_in_failures",
    "task_dependencies",
    "tasks",
    "user_sessions",
    "users",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_foreign_key_column_is_indexed() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let foreign_keys = strings(
        db.conn(),
        "SELECT conrelid::regclass::text || '.' || a.attname FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace \
           AND c.conparentid = 0",
    )
    .await
    .expect("listing foreign keys (a partition's, copies of its table's, aside)");
    assert_eq!(foreign_keys.len(), 39, "foreign keys: {foreign_keys:#?}");
    // An index covers a foreign key when the key's column leads it.
    let unindexed = strings(
        db.conn(),
        "SELECT conrelid::regclass::text || '.' || a.attname FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace \
           AND c.conparentid = 0 \
           AND NOT EXISTS (SELECT 1 FROM pg_index i \
                           WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])",
    )
    .await
    .expect("listing unindexed foreign keys");
    assert!(
        unindexed.is_empty(),
        "foreign-key columns without an index: {unindexed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_has_the_seed_tables_and_enum_types() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let tables = strings(
        db.conn(),
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
         AND relkind IN ('r', 'p') AND NOT relispartition \
         AND relname <> 'seaql_migrations' ORDER BY relname",
    )
    .await
    .expect("listing tables (partitioned ones, not their partitions)");
    assert_eq!(tables, SEED_TABLES);
    let enums = strings(
        db.conn(),
        "SELECT t.typname || ': ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) \
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY t.typname",
    )
    .await
    .expect("listing enum types");
    assert_eq!(
        enums,
        [
            "analysis_type: requirements,architecture,technology,risk,quality",
            "approval_status: pending,approved,rejected,cancelled",
            "collaboration_role: owner,admin,contributor,viewer",
            "dependency_type: blocks,relates_to,duplicates",
            "project_status: draft,active,completed,archived,cancelled",
            "task_status: pending,in_progress,review,done,cancelled,deferred",
        ]
    );
    let search = strings(
        db.conn(),
        "SELECT indexname::text FROM pg_indexes WHERE indexdef LIKE '%USING gin%' ORDER BY indexname",
    )
    .await
    .expect("listing GIN indexes");
    assert_eq!(
        search,
        [
            "idx_projects_search",
            "idx_requirements_search",
            "idx_tasks_search"
        ]
    );
}
