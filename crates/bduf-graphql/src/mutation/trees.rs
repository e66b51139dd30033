//! The plan's trees — requirements, architectural components and tasks: create,
//! update, delete, move a subtree, and create a whole subtree in one call. All of a call
//! happens or none of it (one savepoint).
//!
//! - A parent must be in the same project; a node cannot move under itself or its own
//!   descendants (checked by walking up from the new parent).
//! - Moves and subtree creations of one project are serialized: each takes the
//!   project's row lock first (`FOR NO KEY UPDATE` on PostgreSQL; SQLite's write
//!   transaction is exclusive anyway), so two concurrent moves cannot build a cycle
//!   between them.
//! - A subtree is a flat list of nodes, each with a client `key` and an optional
//!   `parentKey` naming another node of the list (none: under the call's `parentId`, or
//!   a root); at most [`MAX_TREE_NODES`], inserted level by level in batches.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, InputObject, InputType, Json, MaybeUndefined, Object, Result};
use bduf_core::{Error, Record as _};
use bduf_work::TaskStatus;
use entity::sea_orm_active_enums::CollaborationRole;
use entity::{architectural_components, requirements, tasks};
use futures_util::FutureExt as _;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, Statement,
};
use uuid::Uuid;

use super::{
    Tx, audit, check_name, check_non_negative, check_range, check_text, db_error, now, patch, write,
};
use crate::generated::{ArchitecturalComponent, Requirement, Task};

/// The most nodes one `create…Tree` call takes.
pub const MAX_TREE_NODES: usize = 5_000;

/// Rows per multi-row INSERT of a subtree.
const BATCH: usize = 500;

/// One node of a subtree to create.
#[derive(InputObject, Debug)]
#[graphql(concrete(name = "RequirementNodeInput", params(RequirementInput)))]
#[graphql(concrete(name = "ComponentNodeInput", params(ComponentInput)))]
#[graphql(concrete(name = "TaskNodeInput", params(TaskInput)))]
pub struct TreeNodeInput<I: InputType> {
    /// The node's name within this call, for `parentKey`s to refer to.
    pub key: String,
    /// The `key` of the node's parent in this call; none: under the call's `parentId`.
    pub parent_key: Option<String>,
    pub fields: I,
}

/// A requirement's fields (on update, only those given change; `null` clears one).
#[derive(InputObject, Debug, Clone, Default)]
pub struct RequirementInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub acceptance_criteria: Option<Json<serde_json::Value>>,
    /// 1 (highest) to 5.
    pub priority: Option<i32>,
    pub category: MaybeUndefined<String>,
    /// 1 to 10.
    pub complexity_score: MaybeUndefined<i32>,
    pub effort_estimate_hours: MaybeUndefined<i32>,
    pub is_validated: Option<bool>,
    pub validation_notes: MaybeUndefined<String>,
}

/// A component's fields (on update, only those given change; `null` clears one).
#[derive(InputObject, Debug, Clone, Default)]
pub struct ComponentInput {
    pub name: Option<String>,
    pub r#type: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub technology: MaybeUndefined<String>,
    pub patterns: Option<Json<serde_json::Value>>,
    pub interfaces: Option<Json<serde_json::Value>>,
    pub implementation_status: Option<String>,
}

/// A task's fields (on update, only those given change; `null` clears one).
#[derive(InputObject, Debug, Clone, Default)]
pub struct TaskInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub work_type: MaybeUndefined<String>,
    /// 1 (highest) to 5.
    pub priority: Option<i32>,
    /// 1 to 10.
    pub complexity_score: MaybeUndefined<i32>,
    pub estimated_hours: MaybeUndefined<i32>,
    pub actual_hours: MaybeUndefined<i32>,
    /// A member of the organization.
    pub assigned_to: MaybeUndefined<Uuid>,
    pub status: Option<TaskStatus>,
    /// 0 to 100.
    pub progress_percentage: Option<i32>,
    pub planned_start_date: MaybeUndefined<chrono::NaiveDate>,
    pub planned_end_date: MaybeUndefined<chrono::NaiveDate>,
}

/// What the generic tree operations need of one tree table.
trait Kind: Sized + Send + Sync + 'static {
    type Entity: EntityTrait<Model = Self::Model>;
    type Model: bduf_core::Record<E = Self::Entity>
        + serde::Serialize
        + IntoActiveModel<Self::Active>;
    type Active: ActiveModelTrait<Entity = Self::Entity> + sea_orm::ActiveModelBehavior + Send;
    type Input: Clone + Send + Sync;
    /// The name of one row in errors (`requirement`).
    const KIND: &'static str;
    const TABLE: &'static str;
    fn check(prefix: &str, input: &Self::Input, create: bool) -> bduf_core::Result<()>;
    fn new_row(
        input: Self::Input,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> Self::Active;
    fn apply(input: Self::Input, row: &mut Self::Active);
    fn set_parent(row: &mut Self::Active, parent: Option<Uuid>);
    fn project_of(model: &Self::Model) -> Uuid;
    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    fn org_column() -> <Self::Entity as EntityTrait>::Column;
    fn parent_column() -> <Self::Entity as EntityTrait>::Column;
    /// Checks that refer to other rows (an assignee).
    async fn check_refs(
        _tx: &Tx<'_>,
        _prefix: &str,
        _input: &Self::Input,
    ) -> bduf_core::Result<()> {
        Ok(())
    }
}

fn required(
    prefix: &str,
    name: &str,
    value: Option<&String>,
    create: bool,
) -> bduf_core::Result<()> {
    if create && value.is_none() {
        return Err(Error::validation(format!("{prefix}{name}"), "is required"));
    }
    Ok(())
}

struct Req;
impl Kind for Req {
    type Entity = requirements::Entity;
    type Model = requirements::Model;
    type Active = requirements::ActiveModel;
    type Input = RequirementInput;
    const KIND: &'static str = "requirement";
    const TABLE: &'static str = "requirements";
    fn check(p: &str, i: &RequirementInput, create: bool) -> bduf_core::Result<()> {
        use requirements::Column as C;
        required(p, "title", i.title.as_ref(), create)?;
        if let Some(t) = &i.title {
            check_name(&format!("{p}title"), C::Title, t)?;
        }
        check_text(
            &format!("{p}description"),
            C::Description,
            i.description.value().map(String::as_str),
        )?;
        check_text(
            &format!("{p}category"),
            C::Category,
            i.category.value().map(String::as_str),
        )?;
        check_text(
            &format!("{p}validationNotes"),
            C::ValidationNotes,
            i.validation_notes.value().map(String::as_str),
        )?;
        check_range(&format!("{p}priority"), i.priority, 1, 5)?;
        check_range(
            &format!("{p}complexityScore"),
            i.complexity_score.value().copied(),
            1,
            10,
        )?;
        check_non_negative(
            &format!("{p}effortEstimateHours"),
            i.effort_estimate_hours.value().copied(),
        )
    }
    fn new_row(
        i: RequirementInput,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> Self::Active {
        let now = now();
        let mut row = requirements::ActiveModel {
            id: Set(id),
            project_id: Set(project),
            parent_id: Set(parent),
            title: Set(String::new()),
            description: Set(None),
            acceptance_criteria: Set(Some(serde_json::json!([]))),
            priority: Set(Some(3)),
            category: Set(None),
            complexity_score: Set(None),
            effort_estimate_hours: Set(None),
            dependencies: Set(Some(serde_json::json!([]))),
            is_validated: Set(Some(false)),
            validation_notes: Set(None),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(org),
        };
        Self::apply(i, &mut row);
        row
    }
    fn apply(i: RequirementInput, row: &mut Self::Active) {
        if let Some(v) = i.title {
            row.title = Set(v);
        }
        patch(&mut row.description, i.description);
        if let Some(v) = i.acceptance_criteria {
            row.acceptance_criteria = Set(Some(v.0));
        }
        if i.priority.is_some() {
            row.priority = Set(i.priority);
        }
        patch(&mut row.category, i.category);
        patch(&mut row.complexity_score, i.complexity_score);
        patch(&mut row.effort_estimate_hours, i.effort_estimate_hours);
        if i.is_validated.is_some() {
            row.is_validated = Set(i.is_validated);
        }
        patch(&mut row.validation_notes, i.validation_notes);
        row.updated_at = Set(Some(now()));
    }
    fn set_parent(row: &mut Self::Active, parent: Option<Uuid>) {
        row.parent_id = Set(parent);
        row.updated_at = Set(Some(now()));
    }
    fn project_of(m: &Self::Model) -> Uuid {
        m.project_id
    }
    fn id_column() -> requirements::Column {
        requirements::Column::Id
    }
    fn org_column() -> requirements::Column {
        requirements::Column::OrganizationId
    }
    fn parent_column() -> requirements::Column {
        requirements::Column::ParentId
    }
}

struct Comp;
impl Kind for Comp {
    type Entity = architectural_components::Entity;
    type Model = architectural_components::Model;
    type Active = architectural_components::ActiveModel;
    type Input = ComponentInput;
    const KIND: &'static str = "component";
    const TABLE: &'static str = "architectural_components";
    fn check(p: &str, i: &ComponentInput, create: bool) -> bduf_core::Result<()> {
        use architectural_components::Column as C;
        required(p, "name", i.name.as_ref(), create)?;
        if let Some(t) = &i.name {
            check_name(&format!("{p}name"), C::Name, t)?;
        }
        check_text(
            &format!("{p}type"),
            C::Type,
            i.r#type.value().map(String::as_str),
        )?;
        check_text(
            &format!("{p}description"),
            C::Description,
            i.description.value().map(String::as_str),
        )?;
        check_text(
            &format!("{p}technology"),
            C::Technology,
            i.technology.value().map(String::as_str),
        )?;
        check_text(
            &format!("{p}implementationStatus"),
            C::ImplementationStatus,
            i.implementation_status.as_deref(),
        )
    }
    fn new_row(
        i: ComponentInput,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> Self::Active {
        let now = now();
        let mut row = architectural_components::ActiveModel {
            id: Set(id),
            project_id: Set(project),
            parent_id: Set(parent),
            name: Set(String::new()),
            r#type: Set(None),
            description: Set(None),
            technology: Set(None),
            patterns: Set(Some(serde_json::json!([]))),
            interfaces: Set(Some(serde_json::json!({}))),
            dependencies: Set(Some(serde_json::json!([]))),
            scalability_requirements: Set(Some(serde_json::json!({}))),
            performance_requirements: Set(Some(serde_json::json!({}))),
            security_requirements: Set(Some(serde_json::json!({}))),
            implementation_status: Set(Some("planned".to_owned())),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(org),
        };
        Self::apply(i, &mut row);
        row
    }
    fn apply(i: ComponentInput, row: &mut Self::Active) {
        if let Some(v) = i.name {
            row.name = Set(v);
        }
        patch(&mut row.r#type, i.r#type);
        patch(&mut row.description, i.description);
        patch(&mut row.technology, i.technology);
        if let Some(v) = i.patterns {
            row.patterns = Set(Some(v.0));
        }
        if let Some(v) = i.interfaces {
            row.interfaces = Set(Some(v.0));
        }
        if i.implementation_status.is_some() {
            row.implementation_status = Set(i.implementation_status);
        }
        row.updated_at = Set(Some(now()));
    }
    fn set_parent(row: &mut Self::Active, parent: Option<Uuid>) {
        row.parent_id = Set(parent);
        row.updated_at = Set(Some(now()));
    }
    fn project_of(m: &Self::Model) -> Uuid {
        m.project_id
    }
    fn id_column() -> architectural_components::Column {
        architectural_components::Column::Id
    }
    fn org_column() -> architectural_components::Column {
        architectural_components::Column::OrganizationId
    }
    fn parent_column() -> architectural_components::Column {
        architectural_components::Column::ParentId
    }
}

struct Work;
impl Kind for Work {
    type Entity = tasks::Entity;
    type Model = tasks::Model;
    type Active = tasks::ActiveModel;
    type Input = TaskInput;
    const KIND: &'static str = "task";
    const TABLE: &'static str = "tasks";
    fn check(p: &str, i: &TaskInput, create: bool) -> bduf_core::Result<()> {
        use tasks::Column as C;
        required(p, "title", i.title.as_ref(), create)?;
        if let Some(t) = &i.title {
            check_name(&format!("{p}title"), C::Title, t)?;
        }
        check_text(
            &format!("{p}description"),
            C::Description,
            i.description.value().map(String::as_str),
        )?;
        check_text(
            &format!("{p}workType"),
            C::WorkType,
            i.work_type.value().map(String::as_str),
        )?;
        check_range(&format!("{p}priority"), i.priority, 1, 5)?;
        check_range(
            &format!("{p}complexityScore"),
            i.complexity_score.value().copied(),
            1,
            10,
        )?;
        check_range(
            &format!("{p}progressPercentage"),
            i.progress_percentage,
            0,
            100,
        )?;
        check_non_negative(
            &format!("{p}estimatedHours"),
            i.estimated_hours.value().copied(),
        )?;
        check_non_negative(&format!("{p}actualHours"), i.actual_hours.value().copied())?;
        if let (Some(start), Some(end)) = (
            i.planned_start_date.value().copied(),
            i.planned_end_date.value().copied(),
        ) && end < start
        {
            return Err(Error::validation(
                format!("{p}plannedEndDate"),
                "must not be before plannedStartDate",
            ));
        }
        Ok(())
    }
    async fn check_refs(tx: &Tx<'_>, p: &str, i: &TaskInput) -> bduf_core::Result<()> {
        if let Some(user) = i.assigned_to.value().copied()
            && super::role_of(tx, user).await?.is_none()
        {
            return Err(Error::validation(
                format!("{p}assignedTo"),
                "must be a member of the organization",
            ));
        }
        Ok(())
    }
    fn new_row(
        i: TaskInput,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> Self::Active {
        let now = now();
        let mut row = tasks::ActiveModel {
            id: Set(id),
            project_id: Set(project),
            parent_id: Set(parent),
            title: Set(String::new()),
            description: Set(None),
            acceptance_criteria: Set(Some(serde_json::json!([]))),
            work_type: Set(None),
            priority: Set(Some(3)),
            complexity_score: Set(None),
            estimated_hours: Set(None),
            actual_hours: Set(None),
            dependencies: Set(Some(serde_json::json!([]))),
            blockers: Set(Some(serde_json::json!([]))),
            assigned_to: Set(None),
            status: Set(Some(TaskStatus::Pending.into())),
            progress_percentage: Set(Some(0)),
            planned_start_date: Set(None),
            planned_end_date: Set(None),
            actual_start_date: Set(None),
            actual_end_date: Set(None),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(org),
        };
        Self::apply(i, &mut row);
        row
    }
    fn apply(i: TaskInput, row: &mut Self::Active) {
        if let Some(v) = i.title {
            row.title = Set(v);
        }
        patch(&mut row.description, i.description);
        patch(&mut row.work_type, i.work_type);
        if i.priority.is_some() {
            row.priority = Set(i.priority);
        }
        patch(&mut row.complexity_score, i.complexity_score);
        patch(&mut row.estimated_hours, i.estimated_hours);
        patch(&mut row.actual_hours, i.actual_hours);
        patch(&mut row.assigned_to, i.assigned_to);
        if let Some(s) = i.status {
            row.status = Set(Some(s.into()));
        }
        if i.progress_percentage.is_some() {
            row.progress_percentage = Set(i.progress_percentage);
        }
        patch(&mut row.planned_start_date, i.planned_start_date);
        patch(&mut row.planned_end_date, i.planned_end_date);
        row.updated_at = Set(Some(now()));
    }
    fn set_parent(row: &mut Self::Active, parent: Option<Uuid>) {
        row.parent_id = Set(parent);
        row.updated_at = Set(Some(now()));
    }
    fn project_of(m: &Self::Model) -> Uuid {
        m.project_id
    }
    fn id_column() -> tasks::Column {
        tasks::Column::Id
    }
    fn org_column() -> tasks::Column {
        tasks::Column::OrganizationId
    }
    fn parent_column() -> tasks::Column {
        tasks::Column::ParentId
    }
}

/// The row `id` of the active organization.
async fn find<K: Kind>(tx: &Tx<'_>, id: Uuid, field: &str) -> bduf_core::Result<K::Model> {
    super::find::<K::Model>(tx, id, field, K::KIND).await
}

/// Locks the project `id` of the active organization against concurrent tree changes.
async fn lock_project(tx: &Tx<'_>, id: Uuid, field: &str) -> bduf_core::Result<()> {
    let backend = tx.txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT id FROM projects WHERE id = $1 AND organization_id = $2 FOR NO KEY UPDATE"
        }
        _ => "SELECT id FROM projects WHERE id = ? AND organization_id = ?",
    };
    let row = tx
        .txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [id.into(), tx.organization.into()],
        ))
        .await
        .map_err(db_error)?;
    if row.is_none() {
        return Err(if field == "id" {
            Error::not_found("project", id)
        } else {
            Error::validation(field, format!("no project with id {id}"))
        });
    }
    Ok(())
}

/// Whether `node` is `from` or one of its ancestors.
async fn is_ancestor_or_self<K: Kind>(
    tx: &Tx<'_>,
    node: Uuid,
    from: Uuid,
) -> bduf_core::Result<bool> {
    let backend = tx.txn.get_database_backend();
    let t = K::TABLE;
    let (a, b) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    // The walk is bounded by the tree's height; UNION stops at a cycle.
    let sql = format!(
        "WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM {t} WHERE id = {a} \
         UNION SELECT t.id, t.parent_id FROM {t} t JOIN up ON t.id = up.parent_id) \
         SELECT COUNT(*) AS n FROM up WHERE id = {b}"
    );
    let row = tx
        .txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [from.into(), node.into()],
        ))
        .await
        .map_err(db_error)?;
    let n: i64 = row
        .map_or(Ok(0), |r| r.try_get("", "n"))
        .map_err(db_error)?;
    Ok(n > 0)
}

/// The parent `parent` for a node of `project`: in the same project.
async fn parent_in<K: Kind>(
    tx: &Tx<'_>,
    parent: Option<Uuid>,
    project: Uuid,
    field: &str,
) -> bduf_core::Result<()> {
    if let Some(parent) = parent {
        let row = find::<K>(tx, parent, field).await?;
        if K::project_of(&row) != project {
            return Err(Error::validation(
                field,
                format!("must be a {} of the same project", K::KIND),
            ));
        }
    }
    Ok(())
}

async fn create<K: Kind>(
    tx: &Tx<'_>,
    project: Uuid,
    parent: Option<Uuid>,
    input: K::Input,
) -> bduf_core::Result<K::Model> {
    K::check("input.", &input, true)?;
    K::check_refs(tx, "input.", &input).await?;
    lock_project(tx, project, "projectId").await?;
    parent_in::<K>(tx, parent, project, "parentId").await?;
    super::insert(
        tx,
        K::new_row(input, Uuid::now_v7(), project, parent, tx.organization),
    )
    .await
}

async fn update<K: Kind>(tx: &Tx<'_>, id: Uuid, input: K::Input) -> bduf_core::Result<K::Model> {
    K::check("input.", &input, false)?;
    K::check_refs(tx, "input.", &input).await?;
    let old = find::<K>(tx, id, "id").await?;
    let mut row = old.clone().into_active_model();
    K::apply(input, &mut row);
    super::update(tx, &old, row).await
}

async fn delete<K: Kind>(tx: &Tx<'_>, id: Uuid) -> bduf_core::Result<Uuid> {
    let old = find::<K>(tx, id, "id").await?;
    // The subtree is detached and then deleted in one statement, not left to the
    // cascade: SQLite runs each level of a cascade as a nested trigger and stops at
    // 1,000 levels, and trees may be deeper.
    let backend = tx.txn.get_database_backend();
    let t = K::TABLE;
    let p = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let subtree = format!(
        "WITH RECURSIVE down(id) AS (SELECT id FROM {t} WHERE id = {p} \
         UNION SELECT c.id FROM {t} c JOIN down ON c.parent_id = down.id) SELECT id FROM down"
    );
    let rows = tx
        .txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            subtree,
            [id.into()],
        ))
        .await
        .map_err(db_error)?;
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|row| row.try_get_by_index::<Uuid>(0))
        .collect::<Result<_, _>>()
        .map_err(db_error)?;
    for chunk in ids.chunks(10_000) {
        K::Entity::update_many()
            .col_expr(
                K::parent_column(),
                sea_orm::sea_query::Expr::value(Option::<Uuid>::None),
            )
            .filter(K::id_column().is_in(chunk.iter().copied()))
            .exec(tx.txn)
            .await
            .map_err(db_error)?;
    }
    for chunk in ids.chunks(10_000) {
        K::Entity::delete_many()
            .filter(K::id_column().is_in(chunk.iter().copied()))
            .filter(K::org_column().eq(tx.organization))
            .exec(tx.txn)
            .await
            .map_err(db_error)?;
    }
    audit(tx, K::TABLE, id, "DELETE", Some(&old), None).await?;
    Ok(id)
}

async fn move_node<K: Kind>(
    tx: &Tx<'_>,
    id: Uuid,
    parent: Option<Uuid>,
) -> bduf_core::Result<K::Model> {
    let old = find::<K>(tx, id, "id").await?;
    let project = K::project_of(&old);
    lock_project(tx, project, "id").await?;
    if let Some(parent) = parent {
        parent_in::<K>(tx, Some(parent), project, "parentId").await?;
        if is_ancestor_or_self::<K>(tx, id, parent).await? {
            return Err(Error::validation(
                "parentId",
                format!(
                    "a {} cannot move under itself or one of its descendants",
                    K::KIND
                ),
            ));
        }
    }
    let mut row = old.clone().into_active_model();
    K::set_parent(&mut row, parent);
    super::update(tx, &old, row).await
}

async fn create_tree<K: Kind>(
    tx: &Tx<'_>,
    project: Uuid,
    parent: Option<Uuid>,
    nodes: Vec<TreeNodeInput<K::Input>>,
) -> bduf_core::Result<Vec<K::Model>>
where
    K::Input: InputType,
{
    if nodes.is_empty() || nodes.len() > MAX_TREE_NODES {
        return Err(Error::validation(
            "nodes",
            format!("must hold 1 to {MAX_TREE_NODES} nodes, got {}", nodes.len()),
        ));
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let field = format!("nodes[{i}].key");
        if node.key.is_empty() || node.key.chars().count() > 100 {
            return Err(Error::validation(field, "must be 1 to 100 characters long"));
        }
        if index.insert(node.key.as_str(), i).is_some() {
            return Err(Error::validation(
                field,
                format!("repeats the key {:?}", node.key),
            ));
        }
        K::check(&format!("nodes[{i}].fields."), &node.fields, true)?;
    }
    // Parents first: a node's depth is its parent's plus one; a cycle has none.
    let mut depth: Vec<Option<usize>> = vec![None; nodes.len()];
    for start in 0..nodes.len() {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut at = start;
        let base = loop {
            if let Some(d) = depth[at] {
                break d + 1;
            }
            if !seen.insert(at) {
                return Err(Error::validation(
                    format!("nodes[{at}].parentKey"),
                    "the parent keys form a cycle",
                ));
            }
            chain.push(at);
            match &nodes[at].parent_key {
                None => break 0,
                Some(key) => match index.get(key.as_str()) {
                    Some(&p) => at = p,
                    None => {
                        return Err(Error::validation(
                            format!("nodes[{at}].parentKey"),
                            format!("names no node of this call: {key:?}"),
                        ));
                    }
                },
            }
        };
        for (offset, node) in chain.iter().rev().enumerate() {
            depth[*node] = Some(base + offset);
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        K::check_refs(tx, &format!("nodes[{i}].fields."), &node.fields).await?;
    }
    lock_project(tx, project, "projectId").await?;
    parent_in::<K>(tx, parent, project, "parentId").await?;
    let ids: Vec<Uuid> = nodes.iter().map(|_| Uuid::now_v7()).collect();
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|i| depth[*i]);
    let rows: Vec<K::Active> = order
        .iter()
        .map(|&i| {
            let node = &nodes[i];
            let under = match &node.parent_key {
                Some(key) => Some(ids[index[key.as_str()]]),
                None => parent,
            };
            K::new_row(node.fields.clone(), ids[i], project, under, tx.organization)
        })
        .collect();
    let mut models = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<K::Active> = rows.by_ref().take(BATCH).collect();
        let inserted = K::Entity::insert_many(chunk)
            .exec_with_returning(tx.txn)
            .await
            .map_err(db_error)?;
        models.extend(inserted);
    }
    for model in &models {
        audit(
            tx,
            K::TABLE,
            model.id(),
            "INSERT",
            None::<&K::Model>,
            Some(model),
        )
        .await?;
    }
    // In the order of the call's nodes.
    let position: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    models.sort_by_key(|m| position.get(&m.id()).copied().unwrap_or(usize::MAX));
    Ok(models)
}

/// Mutations of requirements, components and tasks (contributors).
#[derive(Default, Debug)]
pub struct TreesMutation;

macro_rules! tree_mutations {
    ($($kind:ident, $node:ident, $input:ident:
        $create:ident, $update:ident, $delete:ident, $move_:ident, $tree:ident;)*) => {
        #[Object]
        impl TreesMutation {
            $(
                #[doc = concat!("Creates a `", stringify!($node), "` in a project of the active organization, under `parentId` (same project) or as a root.")]
                async fn $create(&self, ctx: &Context<'_>, project_id: Uuid, parent_id: Option<Uuid>, input: $input) -> Result<$node> {
                    write(ctx, CollaborationRole::Contributor, stringify!($create), move |tx| {
                        async move { create::<$kind>(tx, project_id, parent_id, input).await.map($node::from) }.boxed()
                    })
                    .await
                }

                #[doc = concat!("Changes the given fields of a `", stringify!($node), "`.")]
                async fn $update(&self, ctx: &Context<'_>, id: Uuid, input: $input) -> Result<$node> {
                    write(ctx, CollaborationRole::Contributor, stringify!($update), move |tx| {
                        async move { update::<$kind>(tx, id, input).await.map($node::from) }.boxed()
                    })
                    .await
                }

                #[doc = concat!("Deletes a `", stringify!($node), "` and its subtree. Returns its id.")]
                async fn $delete(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
                    write(ctx, CollaborationRole::Contributor, stringify!($delete), move |tx| {
                        async move { delete::<$kind>(tx, id).await }.boxed()
                    })
                    .await
                }

                #[doc = concat!("Moves a `", stringify!($node), "` with its subtree under `parentId` (same project; not its own descendant), or to the root without one.")]
                async fn $move_(&self, ctx: &Context<'_>, id: Uuid, parent_id: Option<Uuid>) -> Result<$node> {
                    write(ctx, CollaborationRole::Contributor, stringify!($move_), move |tx| {
                        async move { move_node::<$kind>(tx, id, parent_id).await.map($node::from) }.boxed()
                    })
                    .await
                }

                #[doc = concat!("Creates a whole subtree of `", stringify!($node), "`s in one call, all or nothing: the nodes come back in the order given.")]
                async fn $tree(&self, ctx: &Context<'_>, project_id: Uuid, parent_id: Option<Uuid>, nodes: Vec<TreeNodeInput<$input>>) -> Result<Vec<$node>> {
                    write(ctx, CollaborationRole::Contributor, stringify!($tree), move |tx| {
                        async move {
                            let rows = create_tree::<$kind>(tx, project_id, parent_id, nodes).await?;
                            Ok(rows.into_iter().map($node::from).collect())
                        }
                        .boxed()
                    })
                    .await
                }
            )*
        }
    };
}

tree_mutations! {
    Req, Requirement, RequirementInput:
        create_requirement, update_requirement, delete_requirement, move_requirement, create_requirement_tree;
    Comp, ArchitecturalComponent, ComponentInput:
        create_component, update_component, delete_component, move_component, create_component_tree;
    Work, Task, TaskInput:
        create_task, update_task, delete_task, move_task, create_task_tree;
}
