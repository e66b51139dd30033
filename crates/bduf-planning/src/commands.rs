//! The commands of planning: projects (create, change, archive, delete), analyses
//! (record, change, delete), and the requirement and component trees (create, change,
//! delete, move, create a whole subtree — the generic tree commands of
//! [`bduf_core::tree`], for these two tables). Contributors do all of it but deleting a
//! project, which is for admins.

use async_graphql::{InputObject, Json, MaybeUndefined};
use bduf_core::tree::TreeKind;
use bduf_core::write::{delete, find, find_for_update, insert, patch, set, update};
use bduf_core::{Error, Result, Tx, check, now};
use entity::sea_orm_active_enums::CollaborationRole as Role;
use entity::{analyses, architectural_components as components, projects, requirements};
use rust_decimal::Decimal;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::{AnalysisType, ProjectStatus};

// A new project.
#[derive(InputObject, Debug)]
pub struct CreateProjectInput {
    pub name: String,
    pub description: Option<String>,
    pub status: Option<ProjectStatus>,
    pub project_type: Option<String>,
    pub industry: Option<String>,
    /// 1 to 10.
    pub complexity_score: Option<i32>,
    pub estimated_duration_weeks: Option<i32>,
    pub estimated_budget: Option<Decimal>,
    /// ISO 4217, three letters.
    pub currency: Option<String>,
    pub technology_stack: Option<Json<serde_json::Value>>,
}

/// Changes to a project: a field left out stays, `null` clears it.
#[derive(InputObject, Debug, Default)]
pub struct UpdateProjectInput {
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    pub status: Option<ProjectStatus>,
    pub project_type: MaybeUndefined<String>,
    pub industry: MaybeUndefined<String>,
    pub complexity_score: MaybeUndefined<i32>,
    pub estimated_duration_weeks: MaybeUndefined<i32>,
    pub estimated_budget: MaybeUndefined<Decimal>,
    pub currency: Option<String>,
    pub technology_stack: Option<Json<serde_json::Value>>,
    /// The `version` the change was made against: when the project has moved on since,
    /// the answer is `CONFLICT` naming its current version, and nothing changes.
    pub expected_version: Option<i32>,
}

/// The largest `DECIMAL(15, 2)`: 13 digits before the point.
const BUDGET_LIMIT: i64 = 10_000_000_000_000;

fn check_project(p: &UpdateProjectInput) -> Result<()> {
    use projects::Column as C;
    if let Some(name) = &p.name {
        check::name("input.name", C::Name, name)?;
    }
    for (field, column, value) in [
        ("input.description", C::Description, p.description.value()),
        ("input.projectType", C::ProjectType, p.project_type.value()),
        ("input.industry", C::Industry, p.industry.value()),
        ("input.currency", C::Currency, p.currency.as_ref()),
    ] {
        check::text(field, column, value.map(String::as_str))?;
    }
    check::bounded(
        "input.complexityScore",
        C::ComplexityScore,
        p.complexity_score.value().copied(),
    )?;
    check::non_negative(
        "input.estimatedDurationWeeks",
        p.estimated_duration_weeks.value().copied(),
    )?;
    if let Some(budget) = p.estimated_budget.value().copied()
        && (budget.is_sign_negative() || budget.trunc().abs() >= Decimal::from(BUDGET_LIMIT))
    {
        return Err(Error::invalid(
            "input.estimatedBudget",
            "must be between 0 and 9999999999999.99",
        ));
    }
    Ok(())
}

/// Creates a project in the active organization (contributors), created by the viewer.
pub async fn create_project(tx: &Tx<'_>, input: CreateProjectInput) -> Result<projects::Model> {
    let organization = tx.require(Role::Contributor, "createProject")?;
    check_project(&UpdateProjectInput {
        name: Some(input.name.clone()),
        description: Some(input.description.clone()).into(),
        project_type: Some(input.project_type.clone()).into(),
        industry: Some(input.industry.clone()).into(),
        currency: input.currency.clone(),
        complexity_score: Some(input.complexity_score).into(),
        estimated_duration_weeks: Some(input.estimated_duration_weeks).into(),
        estimated_budget: Some(input.estimated_budget).into(),
        ..Default::default()
    })?;
    let now = now();
    insert(
        tx,
        projects::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            created_by: Set(tx.user()),
            name: Set(input.name),
            description: Set(input.description),
            status: Set(Some(input.status.unwrap_or(ProjectStatus::Draft).into())),
            project_type: Set(input.project_type),
            industry: Set(input.industry),
            complexity_score: Set(input.complexity_score),
            estimated_duration_weeks: Set(input.estimated_duration_weeks),
            estimated_budget: Set(input.estimated_budget),
            currency: Set(Some(input.currency.unwrap_or_else(|| "USD".to_owned()))),
            technology_stack: Set(Some(
                input
                    .technology_stack
                    .map_or(serde_json::json!([]), |j| j.0),
            )),
            constraints: Set(Some(serde_json::json!({}))),
            assumptions: Set(Some(serde_json::json!([]))),
            version: Set(Some(1)),
            is_archived: Set(Some(false)),
            archived_at: Set(None),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
        },
    )
    .await
}

/// Changes a project (contributors); the database moves its `version` up by one. With
/// `expectedVersion`, only if the project is still at that version (the row is locked
/// from the check to the change, so two writers that read the same version cannot both
/// pass).
pub async fn update_project(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateProjectInput,
) -> Result<projects::Model> {
    tx.require(Role::Contributor, "updateProject")?;
    check_project(&input)?;
    let old: projects::Model = if input.expected_version.is_some() {
        find_for_update(tx, id, "id", "project").await?
    } else {
        find(tx, id, "id", "project").await?
    };
    if let Some(expected) = input.expected_version {
        let current = old.version.unwrap_or(1);
        if current != expected {
            return Err(Error::conflict(
                "input.expectedVersion",
                format!(
                    "the project is at version {current}, not {expected}: \
                     read it again and redo the change"
                ),
            ));
        }
    }
    let mut row: projects::ActiveModel = old.clone().into();
    set(&mut row.name, input.name);
    patch(&mut row.description, input.description);
    set(&mut row.status, input.status.map(|s| Some(s.into())));
    patch(&mut row.project_type, input.project_type);
    patch(&mut row.industry, input.industry);
    patch(&mut row.complexity_score, input.complexity_score);
    patch(
        &mut row.estimated_duration_weeks,
        input.estimated_duration_weeks,
    );
    patch(&mut row.estimated_budget, input.estimated_budget);
    set(&mut row.currency, input.currency.map(Some));
    set(
        &mut row.technology_stack,
        input.technology_stack.map(|j| Some(j.0)),
    );
    update(tx, row).await
}

/// Archives (or, with `archived: false`, restores) a project (contributors).
pub async fn archive_project(tx: &Tx<'_>, id: Uuid, archived: bool) -> Result<projects::Model> {
    tx.require(Role::Contributor, "archiveProject")?;
    let old: projects::Model = find(tx, id, "id", "project").await?;
    let mut row: projects::ActiveModel = old.clone().into();
    row.is_archived = Set(Some(archived));
    row.archived_at = Set(archived.then(now));
    update(tx, row).await
}

/// Deletes a project and its whole plan (admins). Returns its id.
pub async fn delete_project(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Admin, "deleteProject")?;
    let old: projects::Model = find(tx, id, "id", "project").await?;
    delete(tx, &old).await
}

/// An analysis's result.
#[derive(InputObject, Debug)]
pub struct CreateAnalysisInput {
    pub r#type: AnalysisType,
    pub title: String,
    pub description: Option<String>,
    pub methodology: Option<String>,
    pub findings: Option<Json<serde_json::Value>>,
    pub recommendations: Option<Json<serde_json::Value>>,
    pub risks: Option<Json<serde_json::Value>>,
    /// 0 to 1, two decimals.
    pub confidence_score: Option<Decimal>,
    /// 0 to 1, two decimals.
    pub completeness_score: Option<Decimal>,
    pub ai_model_used: Option<String>,
}

/// Changes to an analysis: a field left out stays, `null` clears it.
#[derive(InputObject, Debug, Default)]
pub struct UpdateAnalysisInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub methodology: MaybeUndefined<String>,
    pub findings: Option<Json<serde_json::Value>>,
    pub recommendations: Option<Json<serde_json::Value>>,
    pub risks: Option<Json<serde_json::Value>>,
    pub opportunities: Option<Json<serde_json::Value>>,
    /// 0 to 1, two decimals.
    pub confidence_score: MaybeUndefined<Decimal>,
    /// 0 to 1, two decimals.
    pub completeness_score: MaybeUndefined<Decimal>,
    pub ai_model_used: MaybeUndefined<String>,
    /// pending, running, completed, failed, …
    pub status: Option<String>,
}

/// A `DECIMAL(3,2)` score in `0..=1` (the column's CHECK).
fn check_score(field: &str, value: Option<Decimal>) -> Result<()> {
    match value {
        Some(v) if v < Decimal::ZERO || v > Decimal::ONE || v.scale() > 2 && v.round_dp(2) != v => {
            Err(Error::invalid(
                field,
                format!("must be between 0 and 1 with at most two decimals, got {v}"),
            ))
        }
        _ => Ok(()),
    }
}

/// Records an analysis of a project (contributors).
pub async fn create_analysis(
    tx: &Tx<'_>,
    project: Uuid,
    input: CreateAnalysisInput,
) -> Result<analyses::Model> {
    use analyses::Column as C;
    let organization = tx.require(Role::Contributor, "createAnalysis")?;
    check::name("input.title", C::Title, &input.title)?;
    for (field, column, value) in [
        ("input.description", C::Description, &input.description),
        ("input.methodology", C::Methodology, &input.methodology),
        ("input.aiModelUsed", C::AiModelUsed, &input.ai_model_used),
    ] {
        check::text(field, column, value.as_deref())?;
    }
    check_score("input.confidenceScore", input.confidence_score)?;
    check_score("input.completenessScore", input.completeness_score)?;
    let _: projects::Model = find(tx, project, "projectId", "project").await?;
    let now = now();
    let json = |value: Option<Json<serde_json::Value>>, empty: serde_json::Value| {
        Set(Some(value.map_or(empty, |j| j.0)))
    };
    insert(
        tx,
        analyses::ActiveModel {
            id: Set(Uuid::now_v7()),
            project_id: Set(project),
            r#type: Set(input.r#type.into()),
            title: Set(input.title),
            description: Set(input.description),
            methodology: Set(input.methodology),
            findings: json(input.findings, serde_json::json!({})),
            recommendations: json(input.recommendations, serde_json::json!([])),
            risks: json(input.risks, serde_json::json!([])),
            opportunities: Set(Some(serde_json::json!([]))),
            confidence_score: Set(input.confidence_score),
            completeness_score: Set(input.completeness_score),
            processing_time_seconds: Set(None),
            ai_model_used: Set(input.ai_model_used),
            context_sources: Set(Some(serde_json::json!([]))),
            status: Set(Some("completed".to_owned())),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(organization),
        },
    )
    .await
}

/// Changes an analysis (contributors).
pub async fn update_analysis(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateAnalysisInput,
) -> Result<analyses::Model> {
    use analyses::Column as C;
    tx.require(Role::Contributor, "updateAnalysis")?;
    if let Some(title) = &input.title {
        check::name("input.title", C::Title, title)?;
    }
    for (field, column, value) in [
        (
            "input.description",
            C::Description,
            input.description.value(),
        ),
        (
            "input.methodology",
            C::Methodology,
            input.methodology.value(),
        ),
        (
            "input.aiModelUsed",
            C::AiModelUsed,
            input.ai_model_used.value(),
        ),
        ("input.status", C::Status, input.status.as_ref()),
    ] {
        check::text(field, column, value.map(String::as_str))?;
    }
    check_score(
        "input.confidenceScore",
        input.confidence_score.value().copied(),
    )?;
    check_score(
        "input.completenessScore",
        input.completeness_score.value().copied(),
    )?;
    let old: analyses::Model = find(tx, id, "id", "analysis").await?;
    let mut row: analyses::ActiveModel = old.clone().into();
    set(&mut row.title, input.title);
    patch(&mut row.description, input.description);
    patch(&mut row.methodology, input.methodology);
    patch(&mut row.confidence_score, input.confidence_score);
    patch(&mut row.completeness_score, input.completeness_score);
    patch(&mut row.ai_model_used, input.ai_model_used);
    for (slot, value) in [
        (&mut row.findings, input.findings),
        (&mut row.recommendations, input.recommendations),
        (&mut row.risks, input.risks),
        (&mut row.opportunities, input.opportunities),
    ] {
        set(slot, value.map(|j| Some(j.0)));
    }
    set(&mut row.status, input.status.map(Some));
    update(tx, row).await
}

/// Deletes an analysis (contributors). Returns its id.
pub async fn delete_analysis(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Contributor, "deleteAnalysis")?;
    let old: analyses::Model = find(tx, id, "id", "analysis").await?;
    delete(tx, &old).await
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

bduf_core::node_input!(RequirementNodeInput, RequirementInput);
bduf_core::node_input!(ComponentNodeInput, ComponentInput);

/// The requirement tree, for the generic tree commands.
#[derive(Debug)]
pub struct Requirements;

impl TreeKind for Requirements {
    type Model = requirements::Model;
    type Active = requirements::ActiveModel;
    type Input = RequirementInput;
    const KIND: &'static str = "requirement";

    fn project(node: &requirements::Model) -> Uuid {
        node.project_id
    }

    fn check(p: &str, i: &RequirementInput, create: bool) -> Result<()> {
        use requirements::Column as C;
        if create {
            check::required(&format!("{p}title"), i.title.as_ref())?;
        }
        if let Some(t) = &i.title {
            check::name(&format!("{p}title"), C::Title, t)?;
        }
        for (field, column, value) in [
            ("description", C::Description, i.description.value()),
            ("category", C::Category, i.category.value()),
            (
                "validationNotes",
                C::ValidationNotes,
                i.validation_notes.value(),
            ),
        ] {
            check::text(&format!("{p}{field}"), column, value.map(String::as_str))?;
        }
        check::bounded(&format!("{p}priority"), C::Priority, i.priority)?;
        check::bounded(
            &format!("{p}complexityScore"),
            C::ComplexityScore,
            i.complexity_score.value().copied(),
        )?;
        check::non_negative(
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
    ) -> requirements::ActiveModel {
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

    fn apply(i: RequirementInput, row: &mut requirements::ActiveModel) {
        set(&mut row.title, i.title);
        patch(&mut row.description, i.description);
        set(
            &mut row.acceptance_criteria,
            i.acceptance_criteria.map(|j| Some(j.0)),
        );
        set(&mut row.priority, i.priority.map(Some));
        patch(&mut row.category, i.category);
        patch(&mut row.complexity_score, i.complexity_score);
        patch(&mut row.effort_estimate_hours, i.effort_estimate_hours);
        set(&mut row.is_validated, i.is_validated.map(Some));
        patch(&mut row.validation_notes, i.validation_notes);
    }
}

/// The component tree, for the generic tree commands.
#[derive(Debug)]
pub struct Components;

impl TreeKind for Components {
    type Model = components::Model;
    type Active = components::ActiveModel;
    type Input = ComponentInput;
    const KIND: &'static str = "component";

    fn project(node: &components::Model) -> Uuid {
        node.project_id
    }

    fn check(p: &str, i: &ComponentInput, create: bool) -> Result<()> {
        use components::Column as C;
        if create {
            check::required(&format!("{p}name"), i.name.as_ref())?;
        }
        if let Some(t) = &i.name {
            check::name(&format!("{p}name"), C::Name, t)?;
        }
        for (field, column, value) in [
            ("type", C::Type, i.r#type.value()),
            ("description", C::Description, i.description.value()),
            ("technology", C::Technology, i.technology.value()),
            (
                "implementationStatus",
                C::ImplementationStatus,
                i.implementation_status.as_ref(),
            ),
        ] {
            check::text(&format!("{p}{field}"), column, value.map(String::as_str))?;
        }
        Ok(())
    }

    fn new_row(
        i: ComponentInput,
        id: Uuid,
        project: Uuid,
        parent: Option<Uuid>,
        org: Uuid,
    ) -> components::ActiveModel {
        let now = now();
        let mut row = components::ActiveModel {
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

    fn apply(i: ComponentInput, row: &mut components::ActiveModel) {
        set(&mut row.name, i.name);
        patch(&mut row.r#type, i.r#type);
        patch(&mut row.description, i.description);
        patch(&mut row.technology, i.technology);
        set(&mut row.patterns, i.patterns.map(|j| Some(j.0)));
        set(&mut row.interfaces, i.interfaces.map(|j| Some(j.0)));
        set(
            &mut row.implementation_status,
            i.implementation_status.map(Some),
        );
    }
}

bduf_core::tree_commands!(Requirements, RequirementNodeInput, "requirement":
    create_requirement, update_requirement, delete_requirement, move_requirement, create_requirement_tree);
bduf_core::tree_commands!(Components, ComponentNodeInput, "component":
    create_component, update_component, delete_component, move_component, create_component_tree);

#[cfg(test)]
mod tests {
    use async_graphql::MaybeUndefined;
    use rust_decimal::Decimal;

    use super::{UpdateProjectInput, check_project, check_score};

    #[test]
    fn a_projects_numbers_keep_to_the_schema() {
        let with = |f: fn(&mut UpdateProjectInput)| {
            let mut input = UpdateProjectInput::default();
            f(&mut input);
            check_project(&input)
        };
        assert!(with(|p| p.complexity_score = MaybeUndefined::Value(10)).is_ok());
        let err =
            with(|p| p.complexity_score = MaybeUndefined::Value(11)).expect_err("above the CHECK");
        assert_eq!(err.field(), Some("input.complexityScore"));
        assert!(err.to_string().contains("between 1 and 10"), "{err}");
        assert!(
            with(|p| p.estimated_budget =
                MaybeUndefined::Value(Decimal::new(999_999_999_999_999, 2)))
            .is_ok()
        );
        let err = with(|p| {
            p.estimated_budget = MaybeUndefined::Value(Decimal::new(1_000_000_000_000_000, 2))
        })
        .expect_err("14 digits before the point");
        assert_eq!(err.field(), Some("input.estimatedBudget"));
        assert!(with(|p| p.estimated_budget = MaybeUndefined::Value(Decimal::new(-1, 2))).is_err());
        assert!(with(|p| p.name = Some("  ".to_owned())).is_err(), "blank");
        assert!(
            with(|p| p.currency = Some("EURO".to_owned())).is_err(),
            "VARCHAR(3)"
        );
    }

    #[test]
    fn scores_lie_between_0_and_1_with_two_decimals() {
        for ok in [
            Decimal::ZERO,
            Decimal::ONE,
            Decimal::new(95, 2),
            Decimal::new(950, 3),
        ] {
            assert!(check_score("s", Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            Decimal::new(101, 2),
            Decimal::new(-1, 2),
            Decimal::new(955, 3),
        ] {
            assert!(check_score("s", Some(bad)).is_err(), "{bad}");
        }
    }
}
