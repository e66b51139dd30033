//! Planning: projects, requirements, architectural components and analyses. Filters and
//! orderings for their connections, their GraphQL enums, and the planning aggregates of
//! the dashboard statistics.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Enum, InputObject, SimpleObject};
use bduf_core::aggregate::{grouped_counts, label};
use bduf_core::{EntityLoader, Result, check_len, check_range, ordering};
use entity::{analyses, architectural_components, projects, requirements};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, Condition, DbErr, FromQueryResult};
use uuid::Uuid;

/// A project's lifecycle state.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::sea_orm_active_enums::ProjectStatus")]
pub enum ProjectStatus {
    Draft,
    Active,
    Completed,
    Archived,
    Cancelled,
}

/// What an analysis examined.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::sea_orm_active_enums::AnalysisType")]
pub enum AnalysisType {
    Requirements,
    Architecture,
    Technology,
    Risk,
    Quality,
}

/// Which projects to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ProjectFilter {
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

impl ProjectFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.projectType", self.project_type.as_ref(), 100)?;
        check_len("filter.industry", self.industry.as_ref(), 100)?;
        check_range("filter.complexityMin", self.complexity_min, 1, 10)?;
        check_range("filter.complexityMax", self.complexity_max, 1, 10)?;
        let mut c = Condition::all();
        if let Some(v) = self.organization_id {
            c = c.add(projects::Column::OrganizationId.eq(v));
        }
        if let Some(v) = self.status {
            c = c.add(
                projects::Column::Status.eq(entity::sea_orm_active_enums::ProjectStatus::from(v)),
            );
        }
        if let Some(v) = self.is_archived {
            c = c.add(projects::Column::IsArchived.eq(v));
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
        CreatedAt => projects::Column::CreatedAt,
        ComplexityScore => projects::Column::ComplexityScore,
    }
);

/// Which requirements to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct RequirementFilter {
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

impl RequirementFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.category", self.category.as_ref(), 100)?;
        check_range("filter.priority", self.priority, 1, 5)?;
        let mut c = Condition::all();
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
            c = c.add(requirements::Column::IsValidated.eq(v));
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

/// Which architectural components to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ComponentFilter {
    pub project_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub roots_only: Option<bool>,
    /// The component type (service, database, frontend, …).
    pub r#type: Option<String>,
    pub technology: Option<String>,
    pub implementation_status: Option<String>,
}

impl ComponentFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.type", self.r#type.as_ref(), 100)?;
        check_len("filter.technology", self.technology.as_ref(), 100)?;
        check_len(
            "filter.implementationStatus",
            self.implementation_status.as_ref(),
            50,
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

/// Which analyses to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct AnalysisFilter {
    pub project_id: Option<Uuid>,
    pub r#type: Option<AnalysisType>,
    pub status: Option<String>,
    /// Lowest confidence score, 0 to 1.
    pub min_confidence: Option<Decimal>,
}

impl AnalysisFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.status", self.status.as_ref(), 50)?;
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

/// Key: a project's components per implementation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentStatusOf(pub Uuid);

/// Key: a project's latest analysis of each type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestAnalysesOf(pub Uuid);

/// Key: an organization's projects per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProjectStatusOf(pub Uuid);

fn keys_of<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| id(*k)).collect()
}

impl Loader<RequirementCountsOf> for EntityLoader {
    type Value = RequirementCounts;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[RequirementCountsOf],
    ) -> Result<HashMap<RequirementCountsOf, RequirementCounts>, Self::Error> {
        let rows = self
            .db()
            .query_with_ids(
                "SELECT project_id, COUNT(*) AS total, \
                        COALESCE(SUM(CASE WHEN is_validated THEN 1 ELSE 0 END), 0) AS validated \
                 FROM requirements WHERE project_id IN ({ids}) GROUP BY project_id",
                &keys_of(keys, |k| k.0),
            )
            .await?;
        let mut out: HashMap<_, _> = keys
            .iter()
            .map(|k| (*k, RequirementCounts::default()))
            .collect();
        for row in rows {
            out.insert(
                RequirementCountsOf(row.try_get("", "project_id")?),
                RequirementCounts {
                    total: row.try_get("", "total")?,
                    validated: row.try_get("", "validated")?,
                },
            );
        }
        Ok(out)
    }
}

impl Loader<ComponentStatusOf> for EntityLoader {
    type Value = Vec<LabelCount>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ComponentStatusOf],
    ) -> Result<HashMap<ComponentStatusOf, Vec<LabelCount>>, Self::Error> {
        let rows = self
            .db()
            .query_with_ids(
                "SELECT project_id AS owner, implementation_status AS label, COUNT(*) AS n \
                 FROM architectural_components WHERE project_id IN ({ids}) \
                 GROUP BY project_id, implementation_status",
                &keys_of(keys, |k| k.0),
            )
            .await?;
        Ok(grouped_counts(keys, ComponentStatusOf, &rows)?
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.into_iter()
                        .map(|(label, count)| LabelCount { label, count })
                        .collect(),
                )
            })
            .collect())
    }
}

impl Loader<LatestAnalysesOf> for EntityLoader {
    type Value = Vec<analyses::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[LatestAnalysesOf],
    ) -> Result<HashMap<LatestAnalysesOf, Vec<analyses::Model>>, Self::Error> {
        // The newest analysis of each (project, type): no newer one of the same pair exists.
        let rows = self
            .db()
            .query_with_ids(
                "SELECT a.* FROM analyses a WHERE a.project_id IN ({ids}) AND NOT EXISTS ( \
                   SELECT 1 FROM analyses b WHERE b.project_id = a.project_id AND b.type = a.type \
                   AND (b.created_at > a.created_at OR (b.created_at = a.created_at AND b.id > a.id))) \
                 ORDER BY a.project_id, a.type",
                &keys_of(keys, |k| k.0),
            )
            .await?;
        let mut out: HashMap<_, Vec<analyses::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            let model = analyses::Model::from_query_result(&row, "")?;
            out.entry(LatestAnalysesOf(model.project_id))
                .or_default()
                .push(model);
        }
        Ok(out)
    }
}

impl Loader<ProjectStatusOf> for EntityLoader {
    type Value = Vec<ProjectStatusCount>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ProjectStatusOf],
    ) -> Result<HashMap<ProjectStatusOf, Vec<ProjectStatusCount>>, Self::Error> {
        let rows = self
            .db()
            .query_with_ids(
                "SELECT organization_id AS owner, CAST(status AS TEXT) AS label, COUNT(*) AS n \
                 FROM projects WHERE organization_id IN ({ids}) GROUP BY organization_id, status",
                &keys_of(keys, |k| k.0),
            )
            .await?;
        Ok(grouped_counts(keys, ProjectStatusOf, &rows)?
            .into_iter()
            .map(|(k, v)| {
                let counts = v
                    .iter()
                    .map(|(l, count)| ProjectStatusCount {
                        status: label::<entity::sea_orm_active_enums::ProjectStatus>(l)
                            .map(Into::into),
                        count: *count,
                    })
                    .collect();
                (k, counts)
            })
            .collect())
    }
}
