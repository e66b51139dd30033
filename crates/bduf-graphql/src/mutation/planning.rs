//! Projects, comments and notifications.

use async_graphql::{Context, InputObject, Json, MaybeUndefined, Object, Result};
use bduf_core::{Error, TargetType};
use bduf_planning::{AnalysisType, ProjectStatus};
use entity::sea_orm_active_enums::CollaborationRole;
use entity::{analyses, comments, notifications, projects};
use futures_util::FutureExt as _;
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{check_name, check_range, check_text, db_error, delete, find, insert, now, write};
use super::{patch, target_project, update};
use crate::generated::{Analysis, Comment, Notification, Project};

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

#[derive(InputObject, Debug, Default)]
/// Changes to a project: a field left out stays, `null` clears it.
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
}

fn check_project(prefix: &str, p: &UpdateProjectInput) -> bduf_core::Result<()> {
    let f = |name: &str| format!("{prefix}{name}");
    if let Some(name) = &p.name {
        check_name(&f("name"), projects::Column::Name, name)?;
    }
    check_text(
        &f("description"),
        projects::Column::Description,
        p.description.value().map(String::as_str),
    )?;
    check_text(
        &f("projectType"),
        projects::Column::ProjectType,
        p.project_type.value().map(String::as_str),
    )?;
    check_text(
        &f("industry"),
        projects::Column::Industry,
        p.industry.value().map(String::as_str),
    )?;
    check_text(
        &f("currency"),
        projects::Column::Currency,
        p.currency.as_deref(),
    )?;
    check_range(
        &f("complexityScore"),
        p.complexity_score.value().copied(),
        1,
        10,
    )?;
    check_range(
        &f("estimatedDurationWeeks"),
        p.estimated_duration_weeks.value().copied(),
        0,
        i32::MAX,
    )?;
    if let Some(budget) = p.estimated_budget.value().copied() {
        // DECIMAL(15, 2): 13 digits before the point.
        if budget.is_sign_negative()
            || budget.trunc().abs() >= Decimal::from(10_000_000_000_000_i64)
        {
            return Err(Error::validation(
                f("estimatedBudget"),
                "must be between 0 and 9999999999999.99",
            ));
        }
    }
    Ok(())
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

/// A `DECIMAL(3,2)` score in `0..=1`.
fn check_score(field: &str, value: Option<Decimal>) -> bduf_core::Result<()> {
    match value {
        Some(v) if v < Decimal::ZERO || v > Decimal::ONE || v.scale() > 2 && v.round_dp(2) != v => {
            Err(Error::validation(
                field,
                format!("must be between 0 and 1 with at most two decimals, got {v}"),
            ))
        }
        _ => Ok(()),
    }
}

/// Mutations of projects, comments and notifications.
#[derive(Default, Debug)]
pub struct PlanningMutation;

#[Object]
impl PlanningMutation {
    /// Creates a project in the active organization (contributors), created by the
    /// viewer.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> Result<Project> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "createProject",
            move |tx| {
                async move {
                    let patch = UpdateProjectInput {
                        name: Some(input.name.clone()),
                        description: Some(input.description.clone()).into(),
                        project_type: Some(input.project_type.clone()).into(),
                        industry: Some(input.industry.clone()).into(),
                        currency: input.currency.clone(),
                        complexity_score: Some(input.complexity_score).into(),
                        estimated_duration_weeks: Some(input.estimated_duration_weeks).into(),
                        estimated_budget: Some(input.estimated_budget).into(),
                        ..Default::default()
                    };
                    check_project("input.", &patch)?;
                    let now = now();
                    let row: projects::Model = insert(
                        tx,
                        projects::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            organization_id: Set(tx.organization),
                            created_by: Set(tx.viewer.user),
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
                    .await?;
                    Ok(Project::from(row))
                }
                .boxed()
            },
        )
        .await
    }

    /// Changes a project (contributors); its `version` goes up by one.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateProjectInput,
    ) -> Result<Project> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "updateProject",
            move |tx| {
                async move {
                    check_project("input.", &input)?;
                    let old = find::<projects::Model>(tx, id, "id", "project").await?;
                    let mut row: projects::ActiveModel = old.clone().into();
                    if let Some(v) = input.name {
                        row.name = Set(v);
                    }
                    patch(&mut row.description, input.description);
                    if let Some(v) = input.status {
                        row.status = Set(Some(v.into()));
                    }
                    patch(&mut row.project_type, input.project_type);
                    patch(&mut row.industry, input.industry);
                    patch(&mut row.complexity_score, input.complexity_score);
                    patch(
                        &mut row.estimated_duration_weeks,
                        input.estimated_duration_weeks,
                    );
                    patch(&mut row.estimated_budget, input.estimated_budget);
                    if input.currency.is_some() {
                        row.currency = Set(input.currency);
                    }
                    if let Some(j) = input.technology_stack {
                        row.technology_stack = Set(Some(j.0));
                    }
                    row.version = Set(Some(old.version.unwrap_or(1) + 1));
                    row.updated_at = Set(Some(now()));
                    let new = update(tx, &old, row).await?;
                    Ok(Project::from(new))
                }
                .boxed()
            },
        )
        .await
    }

    /// Archives (or, with `archived: false`, restores) a project (contributors).
    async fn archive_project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] archived: bool,
    ) -> Result<Project> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "archiveProject",
            move |tx| {
                async move {
                    let old = find::<projects::Model>(tx, id, "id", "project").await?;
                    let mut row: projects::ActiveModel = old.clone().into();
                    row.is_archived = Set(Some(archived));
                    row.archived_at = Set(archived.then(now));
                    row.updated_at = Set(Some(now()));
                    let new = update(tx, &old, row).await?;
                    Ok(Project::from(new))
                }
                .boxed()
            },
        )
        .await
    }

    /// Deletes a project and its whole plan (admins). Returns its id.
    async fn delete_project(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(ctx, CollaborationRole::Admin, "deleteProject", move |tx| {
            async move {
                let old = find::<projects::Model>(tx, id, "id", "project").await?;
                delete(tx, &old).await
            }
            .boxed()
        })
        .await
    }

    /// Records an analysis of a project (contributors).
    async fn create_analysis(
        &self,
        ctx: &Context<'_>,
        project_id: Uuid,
        input: CreateAnalysisInput,
    ) -> Result<Analysis> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "createAnalysis",
            move |tx| {
                async move {
                    check_name("input.title", analyses::Column::Title, &input.title)?;
                    check_text(
                        "input.description",
                        analyses::Column::Description,
                        input.description.as_deref(),
                    )?;
                    check_text(
                        "input.methodology",
                        analyses::Column::Methodology,
                        input.methodology.as_deref(),
                    )?;
                    check_text(
                        "input.aiModelUsed",
                        analyses::Column::AiModelUsed,
                        input.ai_model_used.as_deref(),
                    )?;
                    check_score("input.confidenceScore", input.confidence_score)?;
                    check_score("input.completenessScore", input.completeness_score)?;
                    find::<projects::Model>(tx, project_id, "projectId", "project").await?;
                    let now = now();
                    let row: analyses::Model = insert(
                        tx,
                        analyses::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            project_id: Set(project_id),
                            r#type: Set(input.r#type.into()),
                            title: Set(input.title),
                            description: Set(input.description),
                            methodology: Set(input.methodology),
                            findings: Set(Some(
                                input.findings.map_or(serde_json::json!({}), |j| j.0),
                            )),
                            recommendations: Set(Some(
                                input.recommendations.map_or(serde_json::json!([]), |j| j.0),
                            )),
                            risks: Set(Some(input.risks.map_or(serde_json::json!([]), |j| j.0))),
                            opportunities: Set(Some(serde_json::json!([]))),
                            confidence_score: Set(input.confidence_score),
                            completeness_score: Set(input.completeness_score),
                            processing_time_seconds: Set(None),
                            ai_model_used: Set(input.ai_model_used),
                            context_sources: Set(Some(serde_json::json!([]))),
                            status: Set(Some("completed".to_owned())),
                            created_at: Set(Some(now)),
                            updated_at: Set(Some(now)),
                            organization_id: Set(tx.organization),
                        },
                    )
                    .await?;
                    Ok(Analysis::from(row))
                }
                .boxed()
            },
        )
        .await
    }

    /// Changes an analysis (contributors).
    async fn update_analysis(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateAnalysisInput,
    ) -> Result<Analysis> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "updateAnalysis",
            move |tx| {
                async move {
                    if let Some(title) = &input.title {
                        check_name("input.title", analyses::Column::Title, title)?;
                    }
                    for (field, column, value) in [
                        (
                            "input.description",
                            analyses::Column::Description,
                            input.description.value(),
                        ),
                        (
                            "input.methodology",
                            analyses::Column::Methodology,
                            input.methodology.value(),
                        ),
                        (
                            "input.aiModelUsed",
                            analyses::Column::AiModelUsed,
                            input.ai_model_used.value(),
                        ),
                        (
                            "input.status",
                            analyses::Column::Status,
                            input.status.as_ref(),
                        ),
                    ] {
                        check_text(field, column, value.map(String::as_str))?;
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
                    if let Some(v) = input.title {
                        row.title = Set(v);
                    }
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
                        if let Some(j) = value {
                            *slot = Set(Some(j.0));
                        }
                    }
                    if input.status.is_some() {
                        row.status = Set(input.status);
                    }
                    row.updated_at = Set(Some(now()));
                    Ok(Analysis::from(update(tx, &old, row).await?))
                }
                .boxed()
            },
        )
        .await
    }

    /// Deletes an analysis (contributors). Returns its id.
    async fn delete_analysis(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "deleteAnalysis",
            move |tx| {
                async move {
                    let old: analyses::Model = find(tx, id, "id", "analysis").await?;
                    delete(tx, &old).await
                }
                .boxed()
            },
        )
        .await
    }

    /// Comments on a record of the active organization (contributors), as the viewer;
    /// with `parentId`, a reply in that comment's thread.
    async fn create_comment(
        &self,
        ctx: &Context<'_>,
        target_type: TargetType,
        target_id: Uuid,
        content: String,
        parent_id: Option<Uuid>,
    ) -> Result<Comment> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "createComment",
            move |tx| {
                async move {
                    check_name("content", comments::Column::Content, &content)?;
                    if target_project(tx, target_type, target_id).await?.is_none() {
                        return Err(Error::validation(
                            "targetId",
                            format!("no {} with id {target_id}", target_type.as_str()),
                        ));
                    }
                    let thread = match parent_id {
                        Some(parent) => {
                            let parent: comments::Model =
                                find(tx, parent, "parentId", "comment").await?;
                            if parent.target_id != target_id
                                || parent.target_type != target_type.as_str()
                            {
                                return Err(Error::validation(
                                    "parentId",
                                    "must be a comment on the same target",
                                ));
                            }
                            Some(parent.thread_id.unwrap_or(parent.id))
                        }
                        None => None,
                    };
                    let now = now();
                    let row: comments::Model = insert(
                        tx,
                        comments::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            target_type: Set(target_type.as_str().to_owned()),
                            target_id: Set(target_id),
                            author_id: Set(tx.viewer.user),
                            content: Set(content),
                            content_type: Set(Some("text".to_owned())),
                            parent_id: Set(parent_id),
                            thread_id: Set(thread),
                            is_resolved: Set(Some(false)),
                            resolved_by: Set(None),
                            resolved_at: Set(None),
                            created_at: Set(Some(now)),
                            updated_at: Set(Some(now)),
                            organization_id: Set(tx.organization),
                        },
                    )
                    .await?;
                    Ok(Comment::from(row))
                }
                .boxed()
            },
        )
        .await
    }

    /// Edits a comment (its author only).
    async fn update_comment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        content: String,
    ) -> Result<Comment> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "updateComment",
            move |tx| {
                async move {
                    check_name("content", comments::Column::Content, &content)?;
                    let old = find::<comments::Model>(tx, id, "id", "comment").await?;
                    if old.author_id != tx.viewer.user {
                        return Err(Error::Forbidden("only its author edits a comment".into()));
                    }
                    let mut row: comments::ActiveModel = old.clone().into();
                    row.content = Set(content);
                    row.updated_at = Set(Some(now()));
                    let new = update(tx, &old, row).await?;
                    Ok(Comment::from(new))
                }
                .boxed()
            },
        )
        .await
    }

    /// Resolves (or reopens) a comment thread (contributors).
    async fn resolve_comment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] resolved: bool,
    ) -> Result<Comment> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "resolveComment",
            move |tx| {
                async move {
                    let old = find::<comments::Model>(tx, id, "id", "comment").await?;
                    let mut row: comments::ActiveModel = old.clone().into();
                    row.is_resolved = Set(Some(resolved));
                    row.resolved_by = Set(resolved.then_some(tx.viewer.user));
                    row.resolved_at = Set(resolved.then(now));
                    row.updated_at = Set(Some(now()));
                    let new = update(tx, &old, row).await?;
                    Ok(Comment::from(new))
                }
                .boxed()
            },
        )
        .await
    }

    /// Deletes a comment and its replies (its author, or admins). Returns its id.
    async fn delete_comment(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "deleteComment",
            move |tx| {
                async move {
                    let old = find::<comments::Model>(tx, id, "id", "comment").await?;
                    if old.author_id != tx.viewer.user {
                        tx.viewer
                            .require(CollaborationRole::Admin, "deleting another's comment")?;
                    }
                    delete(tx, &old).await
                }
                .boxed()
            },
        )
        .await
    }

    /// Marks one of the viewer's notifications read (or unread).
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = true)] read: bool,
    ) -> Result<Notification> {
        write(
            ctx,
            CollaborationRole::Viewer,
            "markNotificationRead",
            move |tx| {
                async move {
                    let old = notifications::Entity::find_by_id(id)
                        .filter(notifications::Column::OrganizationId.eq(tx.organization))
                        .filter(notifications::Column::UserId.eq(tx.viewer.user))
                        .one(tx.txn)
                        .await
                        .map_err(db_error)?
                        .ok_or_else(|| Error::not_found("notification", id))?;
                    let mut row: notifications::ActiveModel = old.into();
                    row.is_read = Set(Some(read));
                    row.read_at = Set(read.then(now));
                    Ok(Notification::from(
                        row.update(tx.txn).await.map_err(db_error)?,
                    ))
                }
                .boxed()
            },
        )
        .await
    }
}
