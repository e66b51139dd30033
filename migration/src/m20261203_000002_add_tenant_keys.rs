//! Step 11: the tenant key. Every tenant-owned table gets `organization_id`, added the
//! expand way: a nullable column, a backfill from what each row already belongs to, then
//! (PostgreSQL) `NOT NULL` and declarative consistency:
//!
//! - rows of a project (`requirements`, `architectural_components`, `analyses`, `tasks`,
//!   `collaboration_sessions`, `approvals`) reference `projects (id, organization_id)`,
//!   so a row's organization is its project's — a row cannot claim another tenant;
//! - participants reference their session's or approval's `(id, organization_id)`, tree
//!   rows their parent's, comments their parent comment's, audit rows their session's;
//! - the polymorphic tables (`comments`, `notifications`, `audit_log`) whose target is
//!   not a foreign key reference `organizations` directly; that their target is in the
//!   same organization is checked by the application when it writes them.
//!
//! Every such key is `ON DELETE CASCADE` (a tenant's data leaves with it) and every table
//! gets an index leading with `organization_id`, which the row-level-security policies
//! of step 12 compare against.
//!
//! The backfill takes a row's organization from its project, session, approval or
//! target; a row with none of these (a notification or audit row about no record, a
//! comment on a deleted record) takes the earliest organization of its user. If any row
//! is still without one, the step stops and names the table: nothing is changed.
//!
//! SQLite cannot add a constrained column to a table without rebuilding it; there the
//! column stays nullable in the table's definition and triggers refuse a NULL or a value
//! that differs from the project's (or parent's) on insert and update, and delete the
//! polymorphic rows of a deleted organization.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

/// The tables that get the key, in backfill order (a table's sources come before it).
pub const TENANT_TABLES: [&str; 11] = [
    "requirements",
    "architectural_components",
    "analyses",
    "tasks",
    "collaboration_sessions",
    "approvals",
    "session_participants",
    "approval_participants",
    "comments",
    "notifications",
    "audit_log",
];

/// `(table, column, referenced table, ON DELETE action)`: the keys that tie a row's
/// organization to the row it belongs to. On PostgreSQL each replaces the plain foreign
/// key of `column` (same name, same action) by `(column, organization_id)` referencing
/// `(id, organization_id)`, which implies it; the referenced table gets
/// `UNIQUE (id, organization_id)`.
const COMPOSITE: [(&str, &str, &str, &str); 13] = [
    ("requirements", "project_id", "projects", "CASCADE"),
    (
        "architectural_components",
        "project_id",
        "projects",
        "CASCADE",
    ),
    ("analyses", "project_id", "projects", "CASCADE"),
    ("tasks", "project_id", "projects", "CASCADE"),
    (
        "collaboration_sessions",
        "project_id",
        "projects",
        "CASCADE",
    ),
    ("approvals", "project_id", "projects", "CASCADE"),
    (
        "session_participants",
        "session_id",
        "collaboration_sessions",
        "CASCADE",
    ),
    (
        "approval_participants",
        "approval_id",
        "approvals",
        "CASCADE",
    ),
    ("requirements", "parent_id", "requirements", "CASCADE"),
    (
        "architectural_components",
        "parent_id",
        "architectural_components",
        "CASCADE",
    ),
    ("tasks", "parent_id", "tasks", "CASCADE"),
    ("comments", "parent_id", "comments", "CASCADE"),
    (
        "audit_log",
        "session_id",
        "collaboration_sessions",
        "NO ACTION",
    ),
];

/// The tables referenced by a composite key (they get `UNIQUE (id, organization_id)`).
const REFERENCED: [&str; 7] = [
    "projects",
    "collaboration_sessions",
    "approvals",
    "requirements",
    "architectural_components",
    "tasks",
    "comments",
];

/// The tables keyed to `organizations` directly.
const DIRECT: [&str; 3] = ["comments", "notifications", "audit_log"];

/// The organization of the record a `(target_type, target_id)` pair of `alias` names.
fn target_org(alias: &str) -> String {
    let arms = [
        ("project", "projects"),
        ("requirement", "requirements"),
        ("component", "architectural_components"),
        ("task", "tasks"),
        ("analysis", "analyses"),
        ("approval", "approvals"),
    ]
    .iter()
    .map(|(label, table)| {
        format!(
            "WHEN '{label}' THEN (SELECT t.organization_id FROM {table} t \
             WHERE t.id = {alias}.target_id)"
        )
    })
    .collect::<Vec<_>>()
    .join(" ");
    format!("CASE {alias}.target_type {arms} END")
}

/// The earliest organization of the user in `column`.
fn user_org(column: &str) -> String {
    format!(
        "(SELECT m.organization_id FROM organization_members m WHERE m.user_id = {column} \
         ORDER BY m.joined_at, m.id LIMIT 1)"
    )
}

/// The backfill statements, in order.
fn backfill() -> Vec<String> {
    let mut statements = Vec::new();
    for table in [
        "requirements",
        "architectural_components",
        "analyses",
        "tasks",
        "collaboration_sessions",
        "approvals",
    ] {
        statements.push(format!(
            "UPDATE {table} SET organization_id = (SELECT p.organization_id FROM projects p \
             WHERE p.id = {table}.project_id)"
        ));
    }
    statements.push(
        "UPDATE session_participants SET organization_id = (SELECT s.organization_id \
         FROM collaboration_sessions s WHERE s.id = session_participants.session_id)"
            .to_owned(),
    );
    statements.push(
        "UPDATE approval_participants SET organization_id = (SELECT a.organization_id \
         FROM approvals a WHERE a.id = approval_participants.approval_id)"
            .to_owned(),
    );
    statements.push(format!(
        "UPDATE comments SET organization_id = {}",
        target_org("comments")
    ));
    // A reply belongs where its thread does; roots first, then each level below.
    statements.push(
        "UPDATE comments SET organization_id = (SELECT p.organization_id FROM comments p \
         WHERE p.id = comments.parent_id) WHERE parent_id IS NOT NULL AND organization_id IS NULL"
            .to_owned(),
    );
    statements.push(format!(
        "UPDATE comments SET organization_id = {} WHERE organization_id IS NULL",
        user_org("comments.author_id")
    ));
    statements.push(format!(
        "UPDATE notifications SET organization_id = COALESCE({}, {})",
        target_org("notifications"),
        user_org("notifications.user_id")
    ));
    let mut arms = vec![
        "WHEN 'organizations' THEN (SELECT o.id FROM organizations o \
         WHERE o.id = audit_log.record_id)"
            .to_owned(),
        "WHEN 'projects' THEN (SELECT t.organization_id FROM projects t \
         WHERE t.id = audit_log.record_id)"
            .to_owned(),
        "WHEN 'organization_members' THEN (SELECT t.organization_id FROM \
         organization_members t WHERE t.id = audit_log.record_id)"
            .to_owned(),
    ];
    for table in &TENANT_TABLES[..10] {
        arms.push(format!(
            "WHEN '{table}' THEN (SELECT t.organization_id FROM {table} t \
             WHERE t.id = audit_log.record_id)"
        ));
    }
    statements.push(format!(
        "UPDATE audit_log SET organization_id = COALESCE(CASE audit_log.table_name {} END, \
         (SELECT s.organization_id FROM collaboration_sessions s \
          WHERE s.id = audit_log.session_id), {})",
        arms.join(" "),
        user_org("audit_log.user_id")
    ));
    statements
}

/// The SQLite triggers of `table`: `(name, body)`.
fn sqlite_triggers(table: &str) -> Vec<(String, String)> {
    let source = COMPOSITE
        .iter()
        .filter(|(t, column, ..)| *t == table && *column != "parent_id")
        .map(|(_, column, referenced, _)| (*column, *referenced))
        .next();
    let parent = COMPOSITE
        .iter()
        .any(|(t, column, ..)| *t == table && *column == "parent_id");
    let mut rules = vec![format!(
        "SELECT RAISE(ABORT, '{table}.organization_id must not be null') \
         WHERE NEW.organization_id IS NULL;"
    )];
    if let Some((column, referenced)) = source {
        rules.push(format!(
            "SELECT RAISE(ABORT, '{table}.organization_id must be the organization of its \
             {column}') WHERE NEW.{column} IS NOT NULL AND NEW.organization_id IS NOT \
             (SELECT r.organization_id FROM {referenced} r WHERE r.id = NEW.{column});"
        ));
    }
    if parent {
        rules.push(format!(
            "SELECT RAISE(ABORT, '{table}.organization_id must be the organization of its \
             parent_id') WHERE NEW.parent_id IS NOT NULL AND NEW.organization_id IS NOT \
             (SELECT r.organization_id FROM {table} r WHERE r.id = NEW.parent_id);"
        ));
    }
    let body = rules.join(" ");
    ["insert", "update"]
        .iter()
        .map(|event| {
            (
                format!("trg_{table}_organization_{event}"),
                format!(
                    "CREATE TRIGGER trg_{table}_organization_{event} BEFORE {} ON {table} \
                     FOR EACH ROW BEGIN {body} END",
                    event.to_uppercase()
                ),
            )
        })
        .collect()
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let db = manager.get_connection();
        let uuid = if b == DbBackend::Postgres {
            "uuid"
        } else {
            "uuid_text"
        };
        for table in TENANT_TABLES {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN organization_id {uuid}"
            ))
            .await?;
        }
        for statement in backfill() {
            db.execute_unprepared(&statement).await?;
        }
        for table in TENANT_TABLES {
            let missing: i64 = db
                .query_one_raw(Statement::from_string(
                    b,
                    format!("SELECT COUNT(*) FROM {table} WHERE organization_id IS NULL"),
                ))
                .await?
                .map(|row| row.try_get_by_index(0))
                .transpose()?
                .unwrap_or(0);
            if missing > 0 {
                return Err(DbErr::Migration(format!(
                    "{missing} row(s) of {table} belong to no organization (no project, \
                     session, approval or target, and a user of no organization); give them \
                     one or delete them, then migrate again"
                )));
            }
        }
        for table in TENANT_TABLES {
            db.execute_unprepared(&format!(
                "CREATE INDEX idx_{table}_organization_id ON {table} (organization_id)"
            ))
            .await?;
        }
        if b == DbBackend::Postgres {
            for table in TENANT_TABLES {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ALTER COLUMN organization_id SET NOT NULL"
                ))
                .await?;
            }
            for table in REFERENCED {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {table}_id_organization_id_key \
                     UNIQUE (id, organization_id)"
                ))
                .await?;
            }
            for (table, column, referenced, action) in COMPOSITE {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey, \
                     ADD CONSTRAINT {table}_{column}_fkey \
                     FOREIGN KEY ({column}, organization_id) \
                     REFERENCES {referenced} (id, organization_id) ON DELETE {action}"
                ))
                .await?;
            }
            for table in DIRECT {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {table}_organization_id_fkey \
                     FOREIGN KEY (organization_id) REFERENCES organizations (id) \
                     ON DELETE CASCADE"
                ))
                .await?;
            }
        } else {
            for table in TENANT_TABLES {
                for (_, sql) in sqlite_triggers(table) {
                    db.execute_unprepared(&sql).await?;
                }
            }
            let deletes = DIRECT
                .iter()
                .map(|table| format!("DELETE FROM {table} WHERE organization_id = OLD.id;"))
                .collect::<String>();
            db.execute_unprepared(&format!(
                "CREATE TRIGGER trg_organizations_delete_tenant_rows AFTER DELETE ON \
                 organizations FOR EACH ROW BEGIN {deletes} END"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let db = manager.get_connection();
        if b == DbBackend::Postgres {
            for table in DIRECT {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {table}_organization_id_fkey"
                ))
                .await?;
            }
            for (table, column, referenced, action) in COMPOSITE {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey, \
                     ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY ({column}) \
                     REFERENCES {referenced} (id) ON DELETE {action}"
                ))
                .await?;
            }
            for table in REFERENCED {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {table}_id_organization_id_key"
                ))
                .await?;
            }
        } else {
            db.execute_unprepared("DROP TRIGGER trg_organizations_delete_tenant_rows")
                .await?;
            for table in TENANT_TABLES {
                for (name, _) in sqlite_triggers(table) {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}"))
                        .await?;
                }
            }
        }
        for table in TENANT_TABLES.iter().rev() {
            db.execute_unprepared(&format!("DROP INDEX idx_{table}_organization_id"))
                .await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN organization_id"))
                .await?;
        }
        Ok(())
    }
}
