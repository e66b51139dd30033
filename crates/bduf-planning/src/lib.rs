//! Planning: projects, requirements, architectural components and analyses. The read
//! keys of their tables — filters, orderings, the links they hang off — their GraphQL
//! enums, and the planning aggregates of the dashboard statistics.

pub mod commands;

use async_graphql::{Enum, InputObject, SimpleObject};
use bduf_core::Map;
use bduf_core::aggregate::{Grouped, Tally, TallyRow, by_label, grouped_counts, label, rank, sql};
use bduf_core::read::{Filter, Link};
use bduf_core::window::{any_of, col, select_columns};
use bduf_core::{Columns, Fetch, MAX_SEARCH, RequestTxn, Result, check, flag, ordering, search};
use entity::{analyses, architectural_components, projects, requirements};
use rust_decimal::Decimal;
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, Func, NullOrdering, Order, OverStatement, Query, WindowStatement,
};
use sea_orm::{ColumnTrait, Condition, DbBackend, FromQueryResult};
use uuid::Uuid;

/// A project's lifecycle state.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::sea_orm_active_enums::ProjectStatus")]
pub enum ProjectStatus {
    Draft,
    Active,
    Completed,
    Archived,
    Cancelled,
}

/// What an analysis examined.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::sea_orm_active_enums::AnalysisType")]
pub enum AnalysisType {
    Requirements,
    Architecture,
    Technology,
    Risk,
    Quality,
}

/// Which projects to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProjectFilter {
    /// Words to look for in the name and description (see the README on search).
    pub search: Option<String>,
    pub organization_id: Option<Uuid>,
    pub status: Option<ProjectStatus>,
    pub is_archived: Option<bool>,
    pub project_type: Option<String>,
    pub industry: Option<String>,
    /// Lowest complexity score, 1 to 10.
    pub complexity_min: Option<i32>,
    /// Highest complexity score, 1 to 10.
    pub complexity_max: Option<i32>,
}

impl Filter for ProjectFilter {
    type Model = projects::Model;

    fn condition(&self, backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.projectType",
            projects::Column::ProjectType,
            self.project_type.as_deref(),
        )?;
        check::text(
            "filter.industry",
            projects::Column::Industry,
            self.industry.as_deref(),
        )?;
        check::bounded(
            "filter.complexityMin",
            projects::Column::ComplexityScore,
            self.complexity_min,
        )?;
        check::bounded(
            "filter.complexityMax",
            projects::Column::ComplexityScore,
            self.complexity_max,
        )?;
        let mut c = Condition::all();
        check::at_most("filter.search", self.search.as_deref(), MAX_SEARCH)?;
        if let Some(term) = &self.search {
            c = c.add(search(
                backend,
                col::<projects::Model>(projects::Column::Name),
                col::<projects::Model>(projects::Column::Description),
                term,
            ));
        }
        if let Some(v) = self.organization_id {
            c = c.add(projects::Column::OrganizationId.eq(v));
        }
        if let Some(v) = self.status {
            c = c.add(
                projects::Column::Status.eq(entity::sea_orm_active_enums::ProjectStatus::from(v)),
            );
        }
        if let Some(v) = self.is_archived {
            c = c.add(flag(projects::Column::IsArchived, v, false));
        }
        if let Some(v) = &self.project_type {
            c = c.add(projects::Column::ProjectType.eq(v.clone()));
        }
        if let Some(v) = &self.industry {
            c = c.add(projects::Column::Industry.eq(v.clone()));
        }
        if let Some(v) = self.complexity_min {
            c = c.add(projects::Column::ComplexityScore.gte(v));
        }
        if let Some(v) = self.complexity_max {
            c = c.add(projects::Column::ComplexityScore.lte(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order projects.
    ProjectOrder, ProjectOrderField, projects::Model {
        Name => projects::Column::Name,
        CreatedAt => projects::Column::CreatedAt,
        ComplexityScore => projects::Column::ComplexityScore,
    }
);

/// What projects hang off: an organization, their creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProjectsOf {
    Organization,
    CreatedBy,
}

impl Link for ProjectsOf {
    type Model = projects::Model;
    fn column(self) -> projects::Column {
        match self {
            ProjectsOf::Organization => projects::Column::OrganizationId,
            ProjectsOf::CreatedBy => projects::Column::CreatedBy,
        }
    }
}

/// Which requirements to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequirementFilter {
    /// Words to look for in the title and description (see the README on search).
    pub search: Option<String>,
    pub project_id: Option<Uuid>,
    /// Only the direct children of this requirement.
    pub parent_id: Option<Uuid>,
    /// Only requirements without a parent.
    pub roots_only: Option<bool>,
    pub category: Option<String>,
    /// Priority, 1 (highest) to 5.
    pub priority: Option<i32>,
    pub is_validated: Option<bool>,
}

impl Filter for RequirementFilter {
    type Model = requirements::Model;

    fn condition(&self, backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.category",
            requirements::Column::Category,
            self.category.as_deref(),
        )?;
        check::bounded(
            "filter.priority",
            requirements::Column::Priority,
            self.priority,
        )?;
        let mut c = Condition::all();
        check::at_most("filter.search", self.search.as_deref(), MAX_SEARCH)?;
        if let Some(term) = &self.search {
            c = c.add(search(
                backend,
                col::<requirements::Model>(requirements::Column::Title),
                col::<requirements::Model>(requirements::Column::Description),
                term,
            ));
        }
        if let Some(v) = self.project_id {
            c = c.add(requirements::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.parent_id {
            c = c.add(requirements::Column::ParentId.eq(v));
        }
        if self.roots_only == Some(true) {
            c = c.add(requirements::Column::ParentId.is_null());
        }
        if let Some(v) = &self.category {
            c = c.add(requirements::Column::Category.eq(v.clone()));
        }
        if let Some(v) = self.priority {
            c = c.add(requirements::Column::Priority.eq(v));
        }
        if let Some(v) = self.is_validated {
            c = c.add(flag(requirements::Column::IsValidated, v, false));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order requirements.
    RequirementOrder, RequirementOrderField, requirements::Model {
        Priority => requirements::Column::Priority,
    }
);

/// What requirements hang off: their project, their parent requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequirementsOf {
    Project,
    Parent,
}

impl Link for RequirementsOf {
    type Model = requirements::Model;
    fn column(self) -> requirements::Column {
        match self {
            RequirementsOf::Project => requirements::Column::ProjectId,
            RequirementsOf::Parent => requirements::Column::ParentId,
        }
    }
}

/// Which architectural components to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ComponentFilter {
    pub project_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub roots_only: Option<bool>,
    /// The component type (service, database, frontend, …).
    pub r#type: Option<String>,
    pub technology: Option<String>,
    pub implementation_status: Option<String>,
}

impl Filter for ComponentFilter {
    type Model = architectural_components::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.type",
            architectural_components::Column::Type,
            self.r#type.as_deref(),
        )?;
        check::text(
            "filter.technology",
            architectural_components::Column::Technology,
            self.technology.as_deref(),
        )?;
        check::text(
            "filter.implementationStatus",
            architectural_components::Column::ImplementationStatus,
            self.implementation_status.as_deref(),
        )?;
        let mut c = Condition::all();
        if let Some(v) = self.project_id {
            c = c.add(architectural_components::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.parent_id {
            c = c.add(architectural_components::Column::ParentId.eq(v));
        }
        if self.roots_only == Some(true) {
            c = c.add(architectural_components::Column::ParentId.is_null());
        }
        if let Some(v) = &self.r#type {
            c = c.add(architectural_components::Column::Type.eq(v.clone()));
        }
        if let Some(v) = &self.technology {
            c = c.add(architectural_components::Column::Technology.eq(v.clone()));
        }
        if let Some(v) = &self.implementation_status {
            c = c.add(architectural_components::Column::ImplementationStatus.eq(v.clone()));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order architectural components.
    ComponentOrder, ComponentOrderField, architectural_components::Model {}
);

/// What architectural components hang off: their project, their parent component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentsOf {
    Project,
    Parent,
}

impl Link for ComponentsOf {
    type Model = architectural_components::Model;
    fn column(self) -> architectural_components::Column {
        match self {
            ComponentsOf::Project => architectural_components::Column::ProjectId,
            ComponentsOf::Parent => architectural_components::Column::ParentId,
        }
    }
}

/// Which analyses to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AnalysisFilter {
    pub project_id: Option<Uuid>,
    pub r#type: Option<AnalysisType>,
    pub status: Option<String>,
    /// Lowest confidence score, 0 to 1.
    pub min_confidence: Option<Decimal>,
}

impl Filter for AnalysisFilter {
    type Model = analyses::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.status",
            analyses::Column::Status,
            self.status.as_deref(),
        )?;
        if let Some(v) = self.min_confidence {
            bduf_core::paging::check(
                "filter.minConfidence",
                (Decimal::ZERO..=Decimal::ONE).contains(&v),
                &format!("must be between 0 and 1, got {v}"),
            )?;
        }
        let mut c = Condition::all();
        if let Some(v) = self.project_id {
            c = c.add(analyses::Column::ProjectId.eq(v));
        }
        if let Some(v) = self.r#type {
            c = c.add(
                analyses::Column::Type.eq(entity::sea_orm_active_enums::AnalysisType::from(v)),
            );
        }
        if let Some(v) = &self.status {
            c = c.add(analyses::Column::Status.eq(v.clone()));
        }
        if let Some(v) = self.min_confidence {
            c = c.add(analyses::Column::ConfidenceScore.gte(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order analyses.
    AnalysisOrder, AnalysisOrderField, analyses::Model {
        CreatedAt => analyses::Column::CreatedAt,
        ConfidenceScore => analyses::Column::ConfidenceScore,
    }
);

/// What analyses hang off: their project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnalysesOf {
    Project,
}

impl Link for AnalysesOf {
    type Model = analyses::Model;
    fn column(self) -> analyses::Column {
        match self {
            AnalysesOf::Project => analyses::Column::ProjectId,
        }
    }
}

/// How many requirements a project has, and how many are validated.
#[derive(SimpleObject, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequirementCounts {
    pub total: i64,
    pub validated: i64,
}

/// A count of rows sharing a free-text status.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct LabelCount {
    /// The status; null for rows without one.
    pub label: Option<String>,
    pub count: i64,
}

/// A count of projects in one status.
#[derive(SimpleObject, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectStatusCount {
    /// The status; null for projects without one.
    pub status: Option<ProjectStatus>,
    pub count: i64,
}

/// Key: a project's requirement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequirementCountsOf(pub Uuid);

/// Key: a project's components per implementation status, in text order (null last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentStatusOf(pub Uuid);

/// Key: a project's latest analysis of each type, in the order of the types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestAnalysesOf {
    pub project: Uuid,
    /// The columns to read.
    pub columns: Columns,
}

/// Key: an organization's projects per status, in the order of the statuses (null last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProjectStatusOf(pub Uuid);

impl Tally<RequirementCountsOf> for RequestTxn {
    type Value = RequirementCounts;

    fn grouped(&self, keys: &[RequirementCountsOf]) -> Result<Grouped> {
        let backend = self.backend();
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let project = col::<requirements::Model>(requirements::Column::ProjectId);
        let mut select = Query::select();
        select
            .from(requirements::Entity)
            .expr_as(project.clone(), "owner")
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .expr_as(
                sql::or_zero(sql::sum(
                    Expr::case(
                        col::<requirements::Model>(requirements::Column::IsValidated),
                        Expr::cust("1"),
                    )
                    .finally(Expr::cust("0"))
                    .into(),
                )),
                "v1",
            )
            .and_where(any_of(backend, project.clone(), &ids))
            .cond_where(self.visible::<requirements::Model>())
            .add_group_by([project]);
        Ok(Grouped {
            select,
            label: false,
            values: 1,
        })
    }

    fn answer(
        &self,
        keys: &[RequirementCountsOf],
        rows: &[TallyRow],
    ) -> Result<Map<RequirementCountsOf, RequirementCounts>> {
        let mut out: Map<_, _> = keys
            .iter()
            .map(|k| (*k, RequirementCounts::default()))
            .collect();
        for row in rows {
            out.insert(
                RequirementCountsOf(row.owner),
                RequirementCounts {
                    total: row.n,
                    validated: row.value(1),
                },
            );
        }
        Ok(out)
    }
}

impl Tally<ComponentStatusOf> for RequestTxn {
    type Value = Vec<LabelCount>;

    fn grouped(&self, keys: &[ComponentStatusOf]) -> Result<Grouped> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(by_label::<architectural_components::Model>(
            self,
            architectural_components::Column::ProjectId,
            architectural_components::Column::ImplementationStatus,
            &ids,
            Condition::all(),
        ))
    }

    fn answer(
        &self,
        keys: &[ComponentStatusOf],
        rows: &[TallyRow],
    ) -> Result<Map<ComponentStatusOf, Vec<LabelCount>>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(grouped_counts(&ids, |id| id, rows)
            .into_iter()
            .map(|(id, v)| {
                let counts = v
                    .into_iter()
                    .map(|(label, count)| LabelCount { label, count })
                    .collect();
                (ComponentStatusOf(id), counts)
            })
            .collect())
    }
}

impl Fetch<LatestAnalysesOf> for RequestTxn {
    type Value = Vec<analyses::Model>;

    async fn fetch(
        &self,
        keys: &[LatestAnalysesOf],
    ) -> Result<Map<LatestAnalysesOf, Vec<analyses::Model>>> {
        let backend = self.backend();
        let mut groups: Map<Columns, Vec<Uuid>> = Map::default();
        for key in keys {
            groups.entry(key.columns).or_default().push(key.project);
        }
        let mut out: Map<_, Vec<analyses::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (columns, ids) in groups {
            // The newest analysis of each (project, type): the first of its partition.
            let mut newest = WindowStatement::new();
            newest
                .add_partition_by(col::<analyses::Model>(analyses::Column::ProjectId))
                .add_partition_by(col::<analyses::Model>(analyses::Column::Type));
            newest
                .order_by_expr_with_nulls(
                    col::<analyses::Model>(analyses::Column::CreatedAt),
                    Order::Desc,
                    NullOrdering::Last,
                )
                .order_by_expr(col::<analyses::Model>(analyses::Column::Id), Order::Desc);
            let mut inner = Query::select();
            select_columns::<analyses::Model>(&mut inner, columns);
            inner
                .from(analyses::Entity)
                .expr_window_as(Func::cust("ROW_NUMBER"), newest, "_rn")
                .and_where(any_of(
                    backend,
                    col::<analyses::Model>(analyses::Column::ProjectId),
                    &ids,
                ))
                .cond_where(self.visible::<analyses::Model>());
            let mut select = Query::select();
            select
                .column(Asterisk)
                .from_subquery(inner, "_w")
                .and_where(Expr::col(("_w", "_rn")).eq(1));
            let rows = self.query(backend.build(&select)).await?;
            for row in rows {
                let model = analyses::Model::from_query_result(&row, "")?;
                out.entry(LatestAnalysesOf {
                    project: model.project_id,
                    columns,
                })
                .or_default()
                .push(model);
            }
        }
        for analyses in out.values_mut() {
            analyses.sort_by_key(|a| rank(&a.r#type));
        }
        Ok(out)
    }
}

impl Tally<ProjectStatusOf> for RequestTxn {
    type Value = Vec<ProjectStatusCount>;

    fn grouped(&self, keys: &[ProjectStatusOf]) -> Result<Grouped> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(by_label::<projects::Model>(
            self,
            projects::Column::OrganizationId,
            projects::Column::Status,
            &ids,
            Condition::all(),
        ))
    }

    fn answer(
        &self,
        keys: &[ProjectStatusOf],
        rows: &[TallyRow],
    ) -> Result<Map<ProjectStatusOf, Vec<ProjectStatusCount>>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(grouped_counts(&ids, |id| id, rows)
            .into_iter()
            .map(|(id, v)| {
                let mut counts: Vec<(Option<entity::sea_orm_active_enums::ProjectStatus>, i64)> =
                    v.iter().map(|(l, n)| (label(l), *n)).collect();
                counts.sort_by_key(|(status, _)| status.as_ref().map_or(usize::MAX, rank));
                let counts = counts
                    .into_iter()
                    .map(|(status, count)| ProjectStatusCount {
                        status: status.map(Into::into),
                        count,
                    })
                    .collect();
                (ProjectStatusOf(id), counts)
            })
            .collect())
    }
}
