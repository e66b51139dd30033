//! Step 19: `task_dependencies` (sibling seeds 001 and 004) — a task waits for another
//! of the same project.
//!
//! A row says `task_id` depends on `depends_on_task_id`, how (`dependency_type`:
//! `blocks` — the task cannot start before the other is done, after `lag_hours`;
//! `relates_to`; `duplicates`) and who said so. The database keeps the rules:
//!
//! - no task depends on itself (`task_dependencies_not_self`), and a pair at most once
//!   (`task_dependencies_task_id_depends_on_task_id_key`);
//! - both tasks are of the row's project: composite foreign keys `(task_id, project_id)`
//!   and `(depends_on_task_id, project_id)` to `tasks (id, project_id)` (a new UNIQUE on
//!   tasks), so a dependency can never cross projects, and goes with either task;
//! - no cycle of `blocks`: a trigger walks from the task depended on along its own
//!   `blocks` dependencies and refuses the row when the walk reaches the depending task.
//!   On PostgreSQL it first takes a transaction-level advisory lock on the project's
//!   dependencies (`hashtextextended('task_dependencies:' || project_id, 0)`, the lock
//!   `bduf_work::commands` takes too), so two rows that would only together close a
//!   cycle are written one after the other and the second is refused; SQLite has one
//!   writer.
//!
//! Tenancy and the record as for every tenant table: `organization_id` tied to the
//! project's, row-level security under `bduf_app`, audit triggers (step 17).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

use crate::m20261206_000001_audit_by_trigger::{columns, sqlite_triggers};

/// PostgreSQL: the table, its type, keys, indexes, security and triggers.
const PG_UP: &str = r#"
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '300s';
CREATE TYPE dependency_type AS ENUM ('blocks', 'relates_to', 'duplicates');
ALTER TABLE tasks ADD CONSTRAINT tasks_id_project_id_key UNIQUE (id, project_id);
CREATE TABLE task_dependencies (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID NOT NULL,
    project_id UUID NOT NULL,
    task_id UUID NOT NULL,
    depends_on_task_id UUID NOT NULL,
    dependency_type dependency_type NOT NULL DEFAULT 'blocks',
    lag_hours INTEGER NOT NULL DEFAULT 0,
    created_by UUID REFERENCES users (id),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT task_dependencies_not_self CHECK (task_id <> depends_on_task_id),
    CONSTRAINT task_dependencies_lag_hours_check CHECK (lag_hours >= 0 AND lag_hours <= 8760),
    CONSTRAINT task_dependencies_task_id_depends_on_task_id_key UNIQUE (task_id, depends_on_task_id),
    CONSTRAINT task_dependencies_project_id_fkey FOREIGN KEY (project_id, organization_id)
        REFERENCES projects (id, organization_id) ON DELETE CASCADE,
    CONSTRAINT task_dependencies_task_id_fkey FOREIGN KEY (task_id, project_id)
        REFERENCES tasks (id, project_id) ON DELETE CASCADE,
    CONSTRAINT task_dependencies_depends_on_task_id_fkey FOREIGN KEY (depends_on_task_id, project_id)
        REFERENCES tasks (id, project_id) ON DELETE CASCADE
);
CREATE INDEX idx_task_dependencies_depends_on_task_id_id ON task_dependencies (depends_on_task_id, id);
CREATE INDEX idx_task_dependencies_task_id_id ON task_dependencies (task_id, id);
CREATE INDEX idx_task_dependencies_project_id_id ON task_dependencies (project_id, id);
CREATE INDEX idx_task_dependencies_created_by ON task_dependencies (created_by);
CREATE INDEX idx_task_dependencies_created_at_id ON task_dependencies (created_at, id);

ALTER TABLE task_dependencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_dependencies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_dependencies FOR ALL
    USING (organization_id = (SELECT nullif(current_setting('app.organization_id', true), '')::uuid))
    WITH CHECK (organization_id = (SELECT nullif(current_setting('app.organization_id', true), '')::uuid));
GRANT SELECT, INSERT, UPDATE, DELETE ON task_dependencies TO bduf_app;

CREATE TRIGGER audit_insert AFTER INSERT ON task_dependencies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_audit('organization_id');
CREATE TRIGGER audit_update AFTER UPDATE ON task_dependencies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bduf_audit('organization_id');
CREATE TRIGGER audit_delete AFTER DELETE ON task_dependencies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_audit('organization_id');

CREATE OR REPLACE FUNCTION bduf_dependencies_acyclic() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE bad uuid;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('task_dependencies:' || p::text, 0))
    FROM (SELECT DISTINCT project_id AS p FROM new_rows WHERE dependency_type = 'blocks' ORDER BY 1) projects;
    WITH RECURSIVE walk(start, node) AS (
        SELECT n.task_id, n.depends_on_task_id FROM new_rows n WHERE n.dependency_type = 'blocks'
        UNION
        SELECT w.start, d.depends_on_task_id FROM walk w
        JOIN task_dependencies d ON d.task_id = w.node AND d.dependency_type = 'blocks')
    SELECT start INTO bad FROM walk WHERE node = start LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'task_dependencies.depends_on_task_id: task % would wait for itself', bad
            USING ERRCODE = 'check_violation', CONSTRAINT = 'task_dependencies_no_cycle';
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER acyclic_insert AFTER INSERT ON task_dependencies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_dependencies_acyclic();
CREATE TRIGGER acyclic_update AFTER UPDATE ON task_dependencies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_dependencies_acyclic();
"#;

const PG_DOWN: &str = r#"
DROP TABLE task_dependencies;
DROP FUNCTION bduf_dependencies_acyclic();
ALTER TABLE tasks DROP CONSTRAINT tasks_id_project_id_key;
DROP TYPE dependency_type;
"#;

/// SQLite: the same table (the enum as checked text), keys and indexes.
const SQLITE_UP: [&str; 8] = [
    "CREATE UNIQUE INDEX tasks_id_project_id_key ON tasks (id, project_id)",
    "CREATE TABLE task_dependencies (
        id uuid_text NOT NULL PRIMARY KEY,
        organization_id uuid_text NOT NULL,
        project_id uuid_text NOT NULL,
        task_id uuid_text NOT NULL,
        depends_on_task_id uuid_text NOT NULL,
        dependency_type enum_text NOT NULL DEFAULT 'blocks'
            CHECK (dependency_type IN ('blocks', 'relates_to', 'duplicates')),
        lag_hours integer NOT NULL DEFAULT 0,
        created_by uuid_text REFERENCES users (id),
        created_at timestamp_with_timezone_text NOT NULL DEFAULT (CASE WHEN strftime('%f', 'now') LIKE '%.000' \
            THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') ELSE strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') END),
        CONSTRAINT task_dependencies_not_self CHECK (task_id <> depends_on_task_id),
        CONSTRAINT task_dependencies_lag_hours_check CHECK (lag_hours >= 0 AND lag_hours <= 8760),
        CONSTRAINT task_dependencies_task_id_depends_on_task_id_key UNIQUE (task_id, depends_on_task_id),
        CONSTRAINT task_dependencies_project_id_fkey FOREIGN KEY (project_id)
            REFERENCES projects (id) ON DELETE CASCADE,
        CONSTRAINT task_dependencies_task_id_fkey FOREIGN KEY (task_id, project_id)
            REFERENCES tasks (id, project_id) ON DELETE CASCADE,
        CONSTRAINT task_dependencies_depends_on_task_id_fkey FOREIGN KEY (depends_on_task_id, project_id)
            REFERENCES tasks (id, project_id) ON DELETE CASCADE
    )",
    // SQLite's projects have no UNIQUE (id, organization_id) to point a composite key at
    // (step 11): a trigger ties the organization to the project's instead.
    "CREATE TRIGGER tenant_task_dependencies BEFORE INSERT ON task_dependencies FOR EACH ROW BEGIN \
         SELECT RAISE(ABORT, 'task_dependencies.organization_id must be the organization of its project_id') \
         WHERE NEW.organization_id IS NOT (SELECT organization_id FROM projects WHERE id = NEW.project_id); END",
    "CREATE INDEX idx_task_dependencies_depends_on_task_id_id ON task_dependencies (depends_on_task_id, id)",
    "CREATE INDEX idx_task_dependencies_task_id_id ON task_dependencies (task_id, id)",
    "CREATE INDEX idx_task_dependencies_project_id_id ON task_dependencies (project_id, id)",
    "CREATE INDEX idx_task_dependencies_created_by ON task_dependencies (created_by)",
    "CREATE INDEX idx_task_dependencies_created_at_id ON task_dependencies (created_at, id)",
];

/// SQLite: no cycle of `blocks`, row by row.
const SQLITE_ACYCLIC: &str = "CREATE TRIGGER acyclic_task_dependencies \
     AFTER INSERT ON task_dependencies FOR EACH ROW WHEN NEW.dependency_type = 'blocks' BEGIN \
     SELECT RAISE(ABORT, 'task_dependencies.depends_on_task_id: the task would wait for itself') \
     WHERE EXISTS (WITH RECURSIVE walk(node) AS ( \
         SELECT NEW.depends_on_task_id \
         UNION \
         SELECT d.depends_on_task_id FROM walk w \
         JOIN task_dependencies d ON d.task_id = w.node AND d.dependency_type = 'blocks') \
       SELECT 1 FROM walk WHERE node = NEW.task_id); END";

/// SQLite: the same check when a row's tasks or type change.
const SQLITE_ACYCLIC_UPDATE: &str = "CREATE TRIGGER acyclic_update_task_dependencies \
     AFTER UPDATE OF task_id, depends_on_task_id, dependency_type ON task_dependencies \
     FOR EACH ROW WHEN NEW.dependency_type = 'blocks' BEGIN \
     SELECT RAISE(ABORT, 'task_dependencies.depends_on_task_id: the task would wait for itself') \
     WHERE EXISTS (WITH RECURSIVE walk(node) AS ( \
         SELECT NEW.depends_on_task_id \
         UNION \
         SELECT d.depends_on_task_id FROM walk w \
         JOIN task_dependencies d ON d.task_id = w.node AND d.dependency_type = 'blocks') \
       SELECT 1 FROM walk WHERE node = NEW.task_id); END";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(PG_UP).await?;
            return Ok(());
        }
        for statement in SQLITE_UP {
            db.execute_unprepared(statement).await?;
        }
        let columns = columns(db, "task_dependencies").await?;
        for statement in sqlite_triggers("task_dependencies", "organization_id", &columns) {
            db.execute_unprepared(&statement).await?;
        }
        db.execute_unprepared(SQLITE_ACYCLIC).await?;
        db.execute_unprepared(SQLITE_ACYCLIC_UPDATE).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(PG_DOWN).await?;
            return Ok(());
        }
        db.execute_unprepared("DROP TABLE task_dependencies").await?;
        db.execute_unprepared("DROP INDEX tasks_id_project_id_key")
            .await?;
        Ok(())
    }
}
