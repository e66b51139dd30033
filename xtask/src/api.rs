//! The generated half of the GraphQL object types: for every table, a `…Fields` object
//! with one field per column (minus [`HIDDEN`]), the merged object type that joins it
//! with the hand-written `…Edges` of `crates/bduf-graphql/src/types/`, and the function
//! that tells which columns a selection needs. Written by `cargo xtask codegen` into
//! `crates/bduf-graphql/src/generated/` from the same discovered schema as the entities,
//! so a new column appears in the API (or fails `--check`) without anyone remembering it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use sea_schema::postgres::def::{ColumnType, TableDef};

use crate::codegen::BANNER;
use crate::{rustfmt, workspace_root};

/// Each table's object type: (table, type name, module of its edges, description).
pub const TYPES: [(&str, &str, &str, &str); 16] = [
    ("users", "User", "identity", "A person who signs in."),
    (
        "organizations",
        "Organization",
        "identity",
        "An organization: the tenant that owns projects.",
    ),
    (
        "organization_members",
        "OrganizationMember",
        "identity",
        "A user's membership of an organization.",
    ),
    (
        "projects",
        "Project",
        "planning",
        "A project: the plan of one system, owned by an organization.",
    ),
    (
        "requirements",
        "Requirement",
        "planning",
        "A requirement, in a tree under its project.",
    ),
    (
        "architectural_components",
        "ArchitecturalComponent",
        "planning",
        "An architectural component, in a tree under its project.",
    ),
    (
        "analyses",
        "Analysis",
        "planning",
        "The result of one analysis of a project.",
    ),
    (
        "tasks",
        "Task",
        "work",
        "A unit of work, in a tree under its project.",
    ),
    (
        "task_dependencies",
        "TaskDependency",
        "work",
        "A task waiting for another of its project.",
    ),
    (
        "collaboration_sessions",
        "CollaborationSession",
        "collaboration",
        "A live working session on a project.",
    ),
    (
        "session_participants",
        "SessionParticipant",
        "collaboration",
        "A user taking part in a session.",
    ),
    (
        "comments",
        "Comment",
        "collaboration",
        "A comment on a project, requirement, component, task, analysis or approval; replies form a tree.",
    ),
    (
        "notifications",
        "Notification",
        "collaboration",
        "A message to one user.",
    ),
    (
        "approvals",
        "Approval",
        "governance",
        "A request for sign-off on a project, requirement, analysis, …",
    ),
    (
        "approval_participants",
        "ApprovalParticipant",
        "governance",
        "One approver of an approval, and their response.",
    ),
    (
        "audit_log",
        "AuditLogEntry",
        "governance",
        "One recorded change to a record.",
    ),
];

/// Columns the API never exposes and never reads.
pub const HIDDEN: [&str; 1] = ["users.password_hash"];

/// Columns without a generated field: a hand-written field of the `…Edges` (with the same
/// name) decides who may see them. They are read when that field is selected.
pub const PRIVATE: [&str; 1] = ["users.email"];

/// Tables with an entity but no GraphQL type: what only the server itself reads.
pub const INTERNAL: [&str; 5] = [
    "seaql_migrations",
    "audit_feed",
    "user_sessions",
    "idempotency_keys",
    "sign_in_failures",
];

/// Descriptions of fields, by `table.column`.
pub const DOCS: [(&str, &str); 25] = [
    ("requirements.priority", "1 (highest) to 5."),
    ("requirements.complexity_score", "1 to 10."),
    ("projects.complexity_score", "1 to 10."),
    (
        "architectural_components.type",
        "Service, database, frontend, …",
    ),
    ("analyses.confidence_score", "0 to 1."),
    ("analyses.completeness_score", "0 to 1."),
    ("tasks.priority", "1 (highest) to 5."),
    ("tasks.complexity_score", "1 to 10."),
    ("tasks.progress_percentage", "0 to 100."),
    (
        "collaboration_sessions.session_type",
        "Review, planning, brainstorming, …",
    ),
    ("comments.target_type", "What the comment is on."),
    ("comments.content_type", "Text or markdown."),
    ("notifications.delivery_method", "In-app, email or SMS."),
    (
        "approvals.approval_type",
        "Design, requirements, architecture, …",
    ),
    (
        "approval_participants.response",
        "The approver's answer; null until they respond.",
    ),
    ("audit_log.operation", "INSERT, UPDATE or DELETE."),
    ("task_dependencies.task_id", "The task that waits."),
    (
        "task_dependencies.depends_on_task_id",
        "The task it waits for.",
    ),
    (
        "task_dependencies.lag_hours",
        "Hours between the end of the task waited for and the start of the one waiting (0 to 8,760).",
    ),
    (
        "audit_log.seq",
        "The organization's change number: 1, 2, 3… without gaps, in commit order.",
    ),
    (
        "audit_log.source",
        "`api` for a request; `sql:<role>` (SQLite: `sql`) for SQL run outside one.",
    ),
    (
        "audit_log.request_id",
        "The request that made the change; null outside one.",
    ),
    (
        "audit_log.old_values",
        "The row before: all of it for DELETE, the changed fields for UPDATE.",
    ),
    (
        "audit_log.new_values",
        "The row after: all of it for INSERT, the changed fields for UPDATE.",
    ),
    (
        "audit_log.client_ip",
        "The client's address, as PostgreSQL prints an `inet`.",
    ),
];

/// The GraphQL enum of each database enum type.
pub const ENUMS: [(&str, &str); 6] = [
    ("project_status", "bduf_planning::ProjectStatus"),
    ("analysis_type", "bduf_planning::AnalysisType"),
    ("task_status", "bduf_work::TaskStatus"),
    ("dependency_type", "bduf_work::DependencyType"),
    ("collaboration_role", "bduf_identity::CollaborationRole"),
    ("approval_status", "bduf_governance::ApprovalStatus"),
];

/// Text columns holding a target-type label, served as the `TargetType` enum.
pub const TARGET_TYPES: [&str; 3] = [
    "comments.target_type",
    "approvals.target_type",
    "notifications.target_type",
];

/// Where the generated modules live.
pub fn output_dir() -> std::path::PathBuf {
    workspace_root().join("crates/bduf-graphql/src/generated")
}

/// The generated files, by name, formatted and bannered.
pub fn render(tables: &[TableDef]) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    let mut modules = Vec::new();
    for (table, type_name, module, doc) in TYPES {
        let def = tables
            .iter()
            .find(|t| t.info.name == table)
            .with_context(|| format!("table {table} is not in the schema"))?;
        files.insert(
            format!("{table}.rs"),
            rustfmt(&render_table(def, type_name, module, doc)?)?,
        );
        modules.push((table, type_name));
    }
    for t in tables {
        let known = TYPES.iter().any(|(table, ..)| *table == t.info.name);
        if !known && !INTERNAL.contains(&t.info.name.as_str()) {
            bail!(
                "table {} has no GraphQL type: add it to TYPES (or INTERNAL) in xtask/src/api.rs",
                t.info.name
            );
        }
    }
    let mut lib = format!(
        "{BANNER}\n\n//! The scalar fields of every object type, one per column, and the merged object\n//! types that join them with the hand-written edges of `crate::types`.\n\n"
    );
    for (table, _) in &modules {
        let _ = writeln!(lib, "mod {table};");
    }
    lib.push('\n');
    for (table, type_name) in &modules {
        let _ = writeln!(lib, "pub use {table}::{{{type_name}, {type_name}Fields}};");
    }
    files.insert("mod.rs".to_owned(), rustfmt(&lib)?);
    Ok(files)
}

/// The Rust field name of a column, as sea-orm-codegen writes it.
fn rust_name(column: &str) -> String {
    match column {
        "type" => "r#type".to_owned(),
        other => other.to_owned(),
    }
}

/// The GraphQL field name of a column (camelCase of the resolver's name).
fn graphql_name(column: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether the API reads a column only when a client selects it.
fn is_wide(column_type: &ColumnType) -> bool {
    matches!(
        column_type,
        ColumnType::Text | ColumnType::Json | ColumnType::JsonBinary
    )
}

/// Whether a nullable column holds a plain value that only its own field shows, and so is
/// read only when a selection asks for that field (the model holds NULL otherwise): not an
/// id nor a foreign key, which edges, cursors and visibility read whatever is selected.
fn is_value(column_type: &ColumnType, name: &str, foreign_keys: &[&str]) -> bool {
    !matches!(column_type, ColumnType::Uuid) && !foreign_keys.contains(&name)
}

/// A resolver's return type and body for a column.
fn resolver(
    table: &str,
    column: &str,
    ty: &ColumnType,
    nullable: bool,
) -> Result<(String, String)> {
    let field = format!("self.0.{}", rust_name(column));
    let qualified = format!("{table}.{column}");
    let wrap = |t: &str| {
        if nullable {
            format!("Option<{t}>")
        } else {
            t.to_owned()
        }
    };
    if TARGET_TYPES.contains(&qualified.as_str()) {
        let body = if nullable {
            format!("{field}.as_deref().and_then(bduf_core::TargetType::from_label)")
        } else {
            format!("bduf_core::TargetType::from_label(&{field})")
        };
        return Ok(("Option<bduf_core::TargetType>".to_owned(), body));
    }
    let copy = |t: &str| (wrap(t), field.clone());
    Ok(match ty {
        ColumnType::Uuid => copy("uuid::Uuid"),
        ColumnType::SmallInt => copy("i16"),
        ColumnType::Integer => copy("i32"),
        ColumnType::BigInt => copy("i64"),
        ColumnType::Boolean => copy("bool"),
        ColumnType::Date => copy("chrono::NaiveDate"),
        ColumnType::TimestampWithTimeZone(_) => copy("chrono::DateTime<chrono::FixedOffset>"),
        ColumnType::Varchar(_) | ColumnType::Char(_) | ColumnType::Text => {
            if nullable {
                ("Option<&str>".to_owned(), format!("{field}.as_deref()"))
            } else {
                ("&str".to_owned(), format!("&{field}"))
            }
        }
        ColumnType::Json | ColumnType::JsonBinary => {
            if nullable {
                (
                    "Option<async_graphql::Json<&serde_json::Value>>".to_owned(),
                    format!("{field}.as_ref().map(async_graphql::Json)"),
                )
            } else {
                (
                    "async_graphql::Json<&serde_json::Value>".to_owned(),
                    format!("async_graphql::Json(&{field})"),
                )
            }
        }
        ColumnType::Decimal(attr) | ColumnType::Numeric(attr) => {
            let scale = attr.scale.unwrap_or(0);
            let t = wrap("rust_decimal::Decimal");
            let body = if nullable {
                format!("{field}.map(|d| bduf_core::fixed_scale(d, {scale}))")
            } else {
                format!("bduf_core::fixed_scale({field}, {scale})")
            };
            (t, body)
        }
        ColumnType::Inet => {
            if nullable {
                (
                    "Option<String>".to_owned(),
                    format!("{field}.as_ref().map(ToString::to_string)"),
                )
            } else {
                ("String".to_owned(), format!("{field}.to_string()"))
            }
        }
        ColumnType::Enum(def) => {
            let Some((_, path)) = ENUMS.iter().find(|(name, _)| *name == def.typename) else {
                bail!(
                    "enum type {} has no GraphQL enum: add it to ENUMS in xtask/src/api.rs",
                    def.typename
                );
            };
            if nullable {
                (
                    format!("Option<{path}>"),
                    format!("{field}.map(Into::into)"),
                )
            } else {
                (path.to_string(), format!("{field}.into()"))
            }
        }
        other => bail!("{qualified}: no GraphQL mapping for {other:?}"),
    })
}

fn render_table(def: &TableDef, type_name: &str, module: &str, doc: &str) -> Result<String> {
    let table = def.info.name.as_str();
    let foreign_keys: Vec<&str> = def
        .reference_constraints
        .iter()
        .flat_map(|r| r.columns.iter().map(String::as_str))
        .collect();
    let mut always: u64 = 0;
    let mut wide = Vec::new();
    let mut fields = String::new();
    for (position, column) in def.columns.iter().enumerate() {
        let name = column.name.as_str();
        let qualified = format!("{table}.{name}");
        if HIDDEN.contains(&qualified.as_str()) {
            continue;
        }
        if position >= 64 {
            bail!("{table} has more than 64 columns; widen bduf_core::Columns");
        }
        // A foreign key not named `…_id` gets the suffix, so that the edge to the row it
        // points at can take the plain name (`createdBy` is the user, `createdById` the id).
        let method = if foreign_keys.contains(&name) && !name.ends_with("_id") {
            format!("{name}_id")
        } else {
            rust_name(name)
        };
        if PRIVATE.contains(&qualified.as_str()) {
            wide.push((graphql_name(method.trim_start_matches("r#")), position));
            continue;
        }
        let nullable = column.not_null.is_none();
        if is_wide(&column.col_type) || nullable && is_value(&column.col_type, name, &foreign_keys)
        {
            wide.push((graphql_name(method.trim_start_matches("r#")), position));
        } else {
            always |= 1 << position;
        }
        let (ty, body) = resolver(table, name, &column.col_type, nullable)?;
        if let Some((_, text)) = DOCS.iter().find(|(q, _)| *q == qualified) {
            let _ = writeln!(fields, "/// {text}");
        }
        let _ = writeln!(fields, "async fn {method}(&self) -> {ty} {{ {body} }}");
    }
    // The keys and the NOT NULL columns always, any other when a selection asks for its
    // field: one pass over each selection (fragments included).
    let (looks, columns) = if wide.is_empty() {
        ("_looks", format!("Columns({always:#b})"))
    } else {
        let mut body = format!(
            "let mut columns = Columns({always:#b});\nfor look in looks {{\n\
             for field in look.selection_fields() {{\n\
             for selected in field.selection_set() {{\n\
             columns = match selected.name() {{\n"
        );
        for (field, position) in &wide {
            let _ = writeln!(body, "\"{field}\" => columns.with({position}),");
        }
        body.push_str("_ => columns,\n};\n}\n}\n}\ncolumns");
        ("looks", body)
    };
    let edges = format!("{type_name}Edges");
    let doc_literal = format!("{:?}", doc.trim());
    Ok(format!(
        r#"{BANNER}

//! `{type_name}`: the object type of `{table}`.

use std::sync::Arc;

use async_graphql::{{Lookahead, Object}};
use bduf_core::Columns;
use entity::{table}::Model;

use crate::object::object;
use crate::support::Node;
use crate::types::{module}::{edges};

/// {doc}
#[derive(Debug, Clone)]
pub struct {type_name}(pub {type_name}Fields, pub {edges});

object!({type_name}({type_name}Fields, {edges}), {doc_literal});

impl From<Model> for {type_name} {{
    fn from(model: Model) -> Self {{
        let model = Arc::new(model);
        Self({type_name}Fields(Arc::clone(&model)), {edges}(model))
    }}
}}

impl Node for {type_name} {{
    type Model = Model;

    fn columns({looks}: &[Lookahead<'_>]) -> Columns {{
        {columns}
    }}
}}

/// The scalar fields of `{type_name}`: one per column of `{table}`.
#[derive(Debug, Clone)]
pub struct {type_name}Fields(pub Arc<Model>);

#[Object]
impl {type_name}Fields {{
{fields}
}}
"#
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn graphql_names_are_camel_case() {
        assert_eq!(
            super::graphql_name("acceptance_criteria"),
            "acceptanceCriteria"
        );
        assert_eq!(super::graphql_name("type"), "type");
        assert_eq!(super::graphql_name("created_by_id"), "createdById");
    }
}
