//! Rows of a plan — users, organizations and their members, projects with requirement,
//! component and task trees, analyses, collaboration sessions, approvals, comments,
//! notifications (the database records each in its audit log) — made with one builder, [`Fixture`], for the demo data
//! and the tests; and [`act`], which runs a context's command as a member in a request of
//! its own, for the contexts' own tests.
//!
//! Each builder method takes what a row cannot do without (its parents, a title) and a
//! closure that may change any column of the row before it is queued; it returns the
//! row's id. Every column a method does not take is filled with the default the API gives
//! a new row (the `commands.rs` of the domain crates: a requirement's priority 3, `[]` and
//! `{}` in JSON columns, `pending` tasks, …), which is also the schema's default; only
//! timestamps that default to the time of the insert are left to the database unless the
//! closure sets them, so that rows look written when they are loaded.
//!
//! Nothing is written until [`Fixture::insert`]: then the rows go in in the order they
//! were made, each run of rows of one table (with the same columns set, in one
//! organization) in one multi-row `INSERT` of at most `bduf_core::write::BATCH` (500)
//! rows. On PostgreSQL the rows of an organization are written with `app.organization_id`
//! set to it, so that a fixture loaded in a transaction by a role that row-level security
//! binds (the server's `--demo`) may write them.
//!
//! Ids come from a function: [`Uuid::now_v7`] unless the fixture is made
//! [`Fixture::with_ids`] (fixed ids: the demo's, the tests' that must be the same on every
//! run).

pub mod act;
mod rows;
mod write;

use std::borrow::Cow;
use std::collections::HashMap;

use sea_orm::sea_query::Enum;
use sea_orm::{ActiveEnum, ConnectionTrait};
use uuid::Uuid;

use crate::write::Run;

pub use bduf_core::TargetType;
/// The schema's vocabulary the builder's rows use, for callers that name roles, statuses
/// and analysis types without `entity` (`cargo xtask seed` writes the same labels).
pub use entity::sea_orm_active_enums::{
    AnalysisType, ApprovalStatus, CollaborationRole, ProjectStatus, TaskStatus,
};
pub use write::insert_all;

/// The label a value of one of the schema's enums is stored as (`TaskStatus::InProgress`:
/// `in_progress`), for what writes rows without the entities: `COPY` text, raw SQL.
pub fn label<E: ActiveEnum<Value = Enum>>(value: E) -> Cow<'static, str> {
    value.to_value().value
}

/// The rows of a plan, queued until [`Fixture::insert`] writes them through `conn`.
#[must_use = "nothing is written until `insert`"]
pub struct Fixture<'c, C> {
    conn: &'c C,
    ids: Box<dyn FnMut() -> Uuid + Send>,
    /// The organization of every tenant row made so far, by the row's id.
    owners: HashMap<Uuid, Uuid>,
    /// Every comment made so far, by id: what it is on and its thread, for replies.
    comments: HashMap<Uuid, Thread>,
    runs: Vec<Run<C>>,
    /// What a method could not make sense of (a parent this fixture did not make):
    /// [`Fixture::insert`] refuses to write anything then.
    problems: Vec<String>,
}

/// What a comment is on, and the thread its replies join.
#[derive(Debug, Clone)]
struct Thread {
    organization: Uuid,
    target_type: String,
    target_id: Uuid,
    thread: Uuid,
}

impl<C> std::fmt::Debug for Fixture<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("runs", &self.runs.len())
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl<'c, C: ConnectionTrait> Fixture<'c, C> {
    /// A fixture writing through `conn`, with ids from [`Uuid::now_v7`].
    pub fn new(conn: &'c C) -> Self {
        Self::with_ids(conn, Uuid::now_v7)
    }

    /// A fixture writing through `conn`, with ids from `ids`, called once per row in the
    /// order the rows are made.
    pub fn with_ids(conn: &'c C, ids: impl FnMut() -> Uuid + Send + 'static) -> Self {
        Self {
            conn,
            ids: Box::new(ids),
            owners: HashMap::new(),
            comments: HashMap::new(),
            runs: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Takes `id`, a row of `organization` written before (by another fixture, or by a
    /// command), as a parent rows of this fixture may hang off.
    pub fn knowing(mut self, id: Uuid, organization: Uuid) -> Self {
        self.owners.insert(id, organization);
        self
    }

    /// The organization of `id`, a `what` this fixture made; a problem if it made none.
    fn owner(&mut self, what: &str, id: Uuid) -> Uuid {
        match self.owners.get(&id) {
            Some(organization) => *organization,
            None => {
                self.problems
                    .push(format!("{what} {id} was not made by this fixture"));
                Uuid::nil()
            }
        }
    }
}
