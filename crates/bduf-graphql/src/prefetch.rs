//! The to-one edges a page reads ahead with its rows (`bduf_core::prefetch`): for each
//! table, the edges of its object type that point to a row of another table — the
//! GraphQL field, the foreign-key column, the target — so that a connection whose nodes
//! select one reads it in the page's statement instead of in a wave of its own.
//!
//! An edge missing here, or a selection that differs from the one the edge's resolver
//! sees, costs a statement, never an answer: what is read ahead answers only the `ById`
//! key of the very row (id and columns) the resolver asks for.

use async_graphql::Lookahead;
use bduf_core::Columns;
use bduf_core::prefetch::{Join, Target};
use entity::{organizations, projects, users};

use crate::generated::{Organization, Project, User};
use crate::support::Node;

/// A to-one edge of a table's object type.
struct ToOne {
    /// The GraphQL field.
    field: &'static str,
    /// The table's column holding the target's id.
    fk: &'static str,
    target: Target,
    /// The columns the target's object type needs for a selection.
    columns: for<'a, 'b> fn(&'b [Lookahead<'a>]) -> Columns,
}

const fn to_user(field: &'static str, fk: &'static str) -> ToOne {
    ToOne {
        field,
        fk,
        target: Target::of::<users::Model>(),
        columns: <User as Node>::columns,
    }
}

const fn to_project() -> ToOne {
    ToOne {
        field: "project",
        fk: "project_id",
        target: Target::of::<projects::Model>(),
        columns: <Project as Node>::columns,
    }
}

static TASKS: [ToOne; 2] = [to_project(), to_user("assignee", "assigned_to")];
static PROJECTS: [ToOne; 2] = [
    ToOne {
        field: "organization",
        fk: "organization_id",
        target: Target::of::<organizations::Model>(),
        columns: <Organization as Node>::columns,
    },
    to_user("createdBy", "created_by"),
];
static PROJECT_ONLY: [ToOne; 1] = [to_project()];
static COMMENTS: [ToOne; 1] = [to_user("author", "author_id")];
static APPROVALS: [ToOne; 2] = [to_project(), to_user("requestedBy", "requested_by")];
static SESSIONS: [ToOne; 2] = [to_project(), to_user("createdBy", "created_by")];

/// The to-one edges of the object type of `table` that a page may read ahead.
fn edges_of(table: &str) -> &'static [ToOne] {
    match table {
        "tasks" => &TASKS,
        "projects" => &PROJECTS,
        "requirements" | "architectural_components" | "analyses" => &PROJECT_ONLY,
        "comments" => &COMMENTS,
        "approvals" => &APPROVALS,
        "collaboration_sessions" => &SESSIONS,
        _ => &[],
    }
}

/// The joins of the connection field `look` selects: each to-one edge its nodes select
/// (under `nodes`, else under `edges { node }`), one per target table.
pub fn joins<N: Node>(look: &Lookahead<'_>) -> Vec<Join> {
    let (nodes, edge_nodes) = (look.field("nodes"), look.field("edges").field("node"));
    let mut out: Vec<Join> = Vec::new();
    for edge in edges_of(<N::Model as bduf_core::Record>::TABLE) {
        if out.iter().any(|j| j.target.table == edge.target.table) {
            continue;
        }
        let field = match nodes.field(edge.field) {
            field if field.exists() => field,
            _ => edge_nodes.field(edge.field),
        };
        if field.exists() {
            out.push(Join {
                fk: edge.fk,
                columns: (edge.columns)(&[field]),
                target: edge.target,
            });
        }
    }
    out
}
