//! Step 18: the trees' and the polymorphic targets' rules, kept by the database, so that
//! plain SQL under `bduf_app` cannot break them either.
//!
//! **Trees** (`requirements`, `architectural_components` and `tasks` within a project;
//! `comments` within a target): a node's parent is in the same project (a reply is on
//! the same record as the comment it answers), and following parents never comes back
//! to where it started.
//!
//! - A row's children must follow it too: changing a node's project (or a comment's
//!   target) while it has children is refused.
//! - Cycles: an UPDATE that gives rows a new parent walks up from each new parent
//!   (`WITH RECURSIVE`, at most [`MAX_WALK`] steps) and is refused when the walk reaches
//!   the row. Two moves that would only together make a cycle (A under B, B under A)
//!   must not both pass: on PostgreSQL each takes a transaction-level advisory lock per
//!   tree (table and project, or table and target) before its walk, so the second waits
//!   for the first to commit and then — READ COMMITTED: each statement of the check
//!   sees what committed before it began — finds the first's move. SQLite has one
//!   writer. An INSERT can close a cycle only among rows it inserts itself (nothing
//!   older can have a new row as its parent): PostgreSQL checks that every new row
//!   hangs, through new rows, off an older row or a root; SQLite walks up from a new row
//!   only when it already has children.
//!
//! **Polymorphic targets** (`comments`, `approvals`, `notifications`): the record a
//! `(target_type, target_id)` names must exist in the row's organization when the row is
//! written (a NULL type names nothing and is not checked: approvals and notifications
//! allow it), and deleting a record deletes the comments, approvals and notifications
//! on it, as a foreign key's `ON DELETE CASCADE` would (recorded in the audit log like
//! any delete). Rows written before this step are not checked.
//!
//! Refusals are `check_violation` (SQLSTATE 23514) naming the table, the column and the
//! rule: `requirements.parent_id: … is in another project`.
//!
//! PostgreSQL: statement-level triggers with transition tables, in `SECURITY DEFINER`
//! functions (a walk must see the whole tree, whatever the caller's row-level
//! security). SQLite: row triggers, the same rules.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

/// The longest walk up a tree a cycle check makes: far deeper than any plan (the API's
/// subtrees have at most 5,000 nodes), and the bound that ends a walk through a cycle
/// written before this step.
pub const MAX_WALK: u32 = 100_000;

/// The tree tables, each with the columns its nodes share with their parent.
const TREES: [(&str, &[&str]); 4] = [
    ("requirements", &["project_id"]),
    ("architectural_components", &["project_id"]),
    ("tasks", &["project_id"]),
    ("comments", &["target_type", "target_id"]),
];

/// The tables with a polymorphic target.
const POLYMORPHIC: [&str; 3] = ["comments", "approvals", "notifications"];

/// What each `target_type` label names: the API's six kinds, and `comment`, which
/// notifications of a mention point at.
const TARGETS: [(&str, &str); 7] = [
    ("project", "projects"),
    ("requirement", "requirements"),
    ("component", "architectural_components"),
    ("task", "tasks"),
    ("analysis", "analyses"),
    ("approval", "approvals"),
    ("comment", "comments"),
];

/// What a tree shares, said in an error: "project" or "target".
fn scope_name(columns: &[&str]) -> &'static str {
    if columns.len() == 1 {
        "project"
    } else {
        "target"
    }
}

/// `a.c1 IS DISTINCT FROM b.c1 OR …` (PostgreSQL) / `a.c1 IS NOT b.c1 OR …` (SQLite).
fn differ(columns: &[&str], a: &str, b: &str, postgres: bool) -> String {
    let op = if postgres { "IS DISTINCT FROM" } else { "IS NOT" };
    columns
        .iter()
        .map(|c| format!("{a}.{c} {op} {b}.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// PostgreSQL: the check function of tree `table` and its two triggers.
fn pg_tree(table: &str, columns: &[&str]) -> Vec<String> {
    let scope = scope_name(columns);
    let parent_differs = differ(columns, "p", "n", true);
    let child_differs = differ(columns, "c", "n", true);
    let key = columns
        .iter()
        .map(|c| format!("n.{c}::text"))
        .collect::<Vec<_>>()
        .join(" || ':' || ");
    let function = format!(
        "CREATE OR REPLACE FUNCTION bduf_tree_{table}() RETURNS trigger \
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$ \
         DECLARE bad uuid; total bigint; reached bigint; \
         BEGIN \
           SELECT n.id INTO bad FROM new_rows n JOIN {table} p ON p.id = n.parent_id \
             WHERE {parent_differs} LIMIT 1; \
           IF bad IS NOT NULL THEN \
             RAISE EXCEPTION '{table}.parent_id: the parent of % is in another {scope}', bad \
               USING ERRCODE = 'check_violation', CONSTRAINT = '{table}_parent_same_{scope}'; \
           END IF; \
           IF TG_OP = 'INSERT' THEN \
             WITH RECURSIVE hung(id) AS ( \
               SELECT n.id FROM new_rows n WHERE n.parent_id IS NULL \
                 OR NOT EXISTS (SELECT 1 FROM new_rows m WHERE m.id = n.parent_id) \
               UNION \
               SELECT n.id FROM new_rows n JOIN hung h ON n.parent_id = h.id) \
             SELECT (SELECT count(*) FROM new_rows), (SELECT count(*) FROM hung) \
               INTO total, reached; \
             IF reached < total THEN \
               RAISE EXCEPTION '{table}.parent_id: the new rows'' parents form a cycle' \
                 USING ERRCODE = 'check_violation', CONSTRAINT = '{table}_no_cycle'; \
             END IF; \
             RETURN NULL; \
           END IF; \
           SELECT n.id INTO bad FROM new_rows n JOIN {table} c ON c.parent_id = n.id \
             WHERE {child_differs} LIMIT 1; \
           IF bad IS NOT NULL THEN \
             RAISE EXCEPTION '{table}: % has children, which stay in its {scope}', bad \
               USING ERRCODE = 'check_violation', CONSTRAINT = '{table}_parent_same_{scope}'; \
           END IF; \
           PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM ( \
             SELECT DISTINCT '{table}:' || {key} AS k FROM new_rows n JOIN old_rows o ON o.id = n.id \
             WHERE n.parent_id IS NOT NULL AND n.parent_id IS DISTINCT FROM o.parent_id \
             ORDER BY 1) keys; \
           WITH RECURSIVE walk(start, node, steps) AS ( \
             SELECT n.id, n.parent_id, 1 FROM new_rows n JOIN old_rows o ON o.id = n.id \
               WHERE n.parent_id IS NOT NULL AND n.parent_id IS DISTINCT FROM o.parent_id \
             UNION ALL \
             SELECT w.start, t.parent_id, w.steps + 1 FROM walk w JOIN {table} t ON t.id = w.node \
               WHERE w.node <> w.start AND t.parent_id IS NOT NULL AND w.steps < {MAX_WALK}) \
           SELECT start INTO bad FROM walk WHERE node = start LIMIT 1; \
           IF bad IS NOT NULL THEN \
             RAISE EXCEPTION '{table}.parent_id: % would be its own ancestor', bad \
               USING ERRCODE = 'check_violation', CONSTRAINT = '{table}_no_cycle'; \
           END IF; \
           RETURN NULL; \
         END $fn$"
    );
    vec![
        function,
        format!(
            "CREATE TRIGGER tree_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows \
             FOR EACH STATEMENT EXECUTE FUNCTION bduf_tree_{table}()"
        ),
        format!(
            "CREATE TRIGGER tree_update AFTER UPDATE ON {table} \
             REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
             FOR EACH STATEMENT EXECUTE FUNCTION bduf_tree_{table}()"
        ),
    ]
}

/// The condition that the target of row `n` exists in its organization (PostgreSQL and
/// SQLite alike).
fn target_exists(n: &str) -> String {
    let arms: Vec<String> = TARGETS
        .iter()
        .map(|(label, table)| {
            format!(
                "WHEN '{label}' THEN EXISTS (SELECT 1 FROM {table} t \
                 WHERE t.id = {n}.target_id AND t.organization_id = {n}.organization_id)"
            )
        })
        .collect();
    format!("CASE {n}.target_type {} ELSE 0 = 1 END", arms.join(" "))
}

/// PostgreSQL: the target check of `table` and its triggers.
fn pg_polymorphic(table: &str) -> Vec<String> {
    let exists = target_exists("n");
    vec![
        format!(
            "CREATE OR REPLACE FUNCTION bduf_target_{table}() RETURNS trigger \
             LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$ \
             DECLARE bad record; \
             BEGIN \
               SELECT n.target_type, n.target_id INTO bad FROM new_rows n \
                 WHERE n.target_type IS NOT NULL AND n.target_id IS NOT NULL AND NOT ({exists}) \
                 LIMIT 1; \
               IF FOUND THEN \
                 RAISE EXCEPTION '{table}.target_id: no % with id % in the organization', \
                   bad.target_type, bad.target_id \
                   USING ERRCODE = 'check_violation', CONSTRAINT = '{table}_target_exists'; \
               END IF; \
               RETURN NULL; \
             END $fn$"
        ),
        format!(
            "CREATE TRIGGER target_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows \
             FOR EACH STATEMENT EXECUTE FUNCTION bduf_target_{table}()"
        ),
        format!(
            "CREATE TRIGGER target_update AFTER UPDATE ON {table} \
             REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bduf_target_{table}()"
        ),
    ]
}

/// PostgreSQL: deleting a record of `table` (label `label`) deletes what targets it. A
/// statement trigger fires for a statement that deleted nothing too — the cascade's own
/// deletes included — so one that has nothing to cascade stops at once.
fn pg_cascade(label: &str, table: &str) -> Vec<String> {
    let deletes: Vec<String> = POLYMORPHIC
        .iter()
        .map(|p| {
            format!(
                "DELETE FROM {p} x USING old_rows o \
                 WHERE x.target_type = '{label}' AND x.target_id = o.id;"
            )
        })
        .collect();
    vec![
        format!(
            "CREATE OR REPLACE FUNCTION bduf_targets_of_{table}() RETURNS trigger \
             LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$ \
             BEGIN \
               IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF; \
               {} RETURN NULL; \
             END $fn$",
            deletes.join(" ")
        ),
        format!(
            "CREATE TRIGGER targets_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows \
             FOR EACH STATEMENT EXECUTE FUNCTION bduf_targets_of_{table}()"
        ),
    ]
}

/// SQLite: the triggers of tree `table`.
fn sqlite_tree(table: &str, columns: &[&str]) -> Vec<String> {
    let scope = scope_name(columns);
    let parent_differs = differ(columns, "p", "NEW", false);
    let child_differs = differ(columns, "c", "NEW", false);
    let walk = format!(
        "EXISTS (WITH RECURSIVE w(node, steps) AS ( \
           SELECT NEW.parent_id, 1 \
           UNION ALL \
           SELECT t.parent_id, w.steps + 1 FROM w JOIN {table} t ON t.id = w.node \
           WHERE w.node IS NOT NEW.id AND t.parent_id IS NOT NULL AND w.steps < {MAX_WALK}) \
         SELECT 1 FROM w WHERE w.node = NEW.id)"
    );
    let parent_check = format!(
        "SELECT RAISE(ABORT, '{table}.parent_id: the parent is in another {scope}') \
         FROM {table} p WHERE p.id = NEW.parent_id AND ({parent_differs});"
    );
    let scope_columns = columns.join(", ");
    vec![
        format!(
            "CREATE TRIGGER tree_insert_{table} AFTER INSERT ON {table} FOR EACH ROW \
             WHEN NEW.parent_id IS NOT NULL BEGIN {parent_check} \
             SELECT RAISE(ABORT, '{table}.parent_id: the new rows'' parents form a cycle') \
             WHERE NEW.parent_id = NEW.id OR (EXISTS (SELECT 1 FROM {table} c WHERE c.parent_id = NEW.id) \
             AND {walk}); END"
        ),
        format!(
            "CREATE TRIGGER tree_update_{table} AFTER UPDATE OF parent_id, {scope_columns} ON {table} \
             FOR EACH ROW BEGIN \
             SELECT RAISE(ABORT, '{table}: a node with children stays in its {scope}') \
             WHERE EXISTS (SELECT 1 FROM {table} c WHERE c.parent_id = NEW.id AND ({child_differs})); \
             {parent_check} \
             SELECT RAISE(ABORT, '{table}.parent_id: a node would be its own ancestor') \
             WHERE NEW.parent_id IS NOT NULL AND NEW.parent_id IS NOT OLD.parent_id AND {walk}; END"
        ),
    ]
}

/// SQLite: the target check of `table`.
fn sqlite_polymorphic(table: &str) -> Vec<String> {
    let check = format!(
        "SELECT RAISE(ABORT, '{table}.target_id: no such record in the organization') \
         WHERE NEW.target_type IS NOT NULL AND NEW.target_id IS NOT NULL AND NOT ({});",
        target_exists("NEW")
    );
    vec![
        format!(
            "CREATE TRIGGER target_insert_{table} AFTER INSERT ON {table} FOR EACH ROW \
             BEGIN {check} END"
        ),
        format!(
            "CREATE TRIGGER target_update_{table} AFTER UPDATE OF target_type, target_id ON {table} \
             FOR EACH ROW BEGIN {check} END"
        ),
    ]
}

/// SQLite: deleting a record of `table` deletes what targets it.
fn sqlite_cascade(label: &str, table: &str) -> String {
    let deletes: Vec<String> = POLYMORPHIC
        .iter()
        .map(|p| format!("DELETE FROM {p} WHERE target_type = '{label}' AND target_id = OLD.id;"))
        .collect();
    format!(
        "CREATE TRIGGER targets_delete_{table} AFTER DELETE ON {table} FOR EACH ROW BEGIN {} END",
        deletes.join(" ")
    )
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
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let mut statements = Vec::new();
        if postgres {
            // Triggers take a SHARE ROW EXCLUSIVE lock of their table: rather fail the
            // step than queue the application behind a long transaction.
            statements.push("SET LOCAL lock_timeout = '5s'".to_owned());
            statements.push("SET LOCAL statement_timeout = '60s'".to_owned());
        }
        for (table, columns) in TREES {
            statements.extend(if postgres {
                pg_tree(table, columns)
            } else {
                sqlite_tree(table, columns)
            });
        }
        for table in POLYMORPHIC {
            statements.extend(if postgres {
                pg_polymorphic(table)
            } else {
                sqlite_polymorphic(table)
            });
        }
        for (label, table) in TARGETS {
            if postgres {
                statements.extend(pg_cascade(label, table));
            } else {
                statements.push(sqlite_cascade(label, table));
            }
        }
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let mut statements = Vec::new();
        for (table, _) in TREES {
            if postgres {
                statements.push(format!("DROP TRIGGER tree_insert ON {table}"));
                statements.push(format!("DROP TRIGGER tree_update ON {table}"));
                statements.push(format!("DROP FUNCTION bduf_tree_{table}()"));
            } else {
                statements.push(format!("DROP TRIGGER tree_insert_{table}"));
                statements.push(format!("DROP TRIGGER tree_update_{table}"));
            }
        }
        for table in POLYMORPHIC {
            if postgres {
                statements.push(format!("DROP TRIGGER target_insert ON {table}"));
                statements.push(format!("DROP TRIGGER target_update ON {table}"));
                statements.push(format!("DROP FUNCTION bduf_target_{table}()"));
            } else {
                statements.push(format!("DROP TRIGGER target_insert_{table}"));
                statements.push(format!("DROP TRIGGER target_update_{table}"));
            }
        }
        for (_, table) in TARGETS {
            if postgres {
                statements.push(format!("DROP TRIGGER targets_delete ON {table}"));
                statements.push(format!("DROP FUNCTION bduf_targets_of_{table}()"));
            } else {
                statements.push(format!("DROP TRIGGER targets_delete_{table}"));
            }
        }
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
