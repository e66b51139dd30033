//! Accounts, sessions, organizations and memberships.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions, InputObject, Object, Result, SimpleObject};
use bduf_core::{Db, Error, RequestContext};
use bduf_identity::CollaborationRole as Role;
use bduf_identity::auth::{self, Client, NewSession, Throttle};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::CollaborationRole;
use entity::{organization_members, organizations, users};
use futures_util::FutureExt as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, Statement,
};
use uuid::Uuid;

use super::{Tx, audit, check_name, check_text, db_error, now, run, viewer, write};
use crate::generated::{Organization, OrganizationMember, User};

/// A new session: the bearer token to send as `Authorization: Bearer <token>` (shown
/// this once), when it expires, and who it signs in.
#[derive(SimpleObject, Debug)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: DateTime<FixedOffset>,
    pub user: User,
}

impl From<NewSession> for SignedIn {
    fn from(s: NewSession) -> Self {
        SignedIn {
            token: s.token,
            expires_at: s.session.expires_at,
            user: User::from(s.user),
        }
    }
}

/// One of the viewer's sessions (its token is never shown again).
#[derive(SimpleObject, Debug)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: Option<DateTime<FixedOffset>>,
    pub expires_at: DateTime<FixedOffset>,
    pub last_used_at: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

impl SessionInfo {
    pub fn new(model: entity::user_sessions::Model, current: Uuid) -> Self {
        SessionInfo {
            current: model.id == current,
            id: model.id,
            created_at: model.created_at,
            expires_at: model.expires_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
            user_agent: model.user_agent,
            ip_address: model.ip_address.map(|ip| ip.0.ip().to_string()),
        }
    }
}

#[derive(InputObject, Debug)]
pub struct SignUpInput {
    pub email: String,
    pub username: String,
    /// 8 to 128 characters.
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct CreateOrganizationInput {
    pub name: String,
    /// Lower-case letters, digits and hyphens; unique.
    pub slug: String,
    pub description: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct UpdateOrganizationInput {
    pub name: Option<String>,
    pub description: Option<String>,
}

fn client(ctx: &Context<'_>) -> Result<Client> {
    let context = ctx.data::<RequestContext>()?;
    Ok(Client {
        user_agent: context.user_agent.clone(),
        ip: context.ip,
    })
}

fn db_role(role: Role) -> CollaborationRole {
    role.into()
}

fn check_slug(slug: &str) -> bduf_core::Result<()> {
    check_name("slug", organizations::Column::Slug, slug)?;
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || slug.starts_with('-')
    {
        return Err(Error::validation(
            "slug",
            "may hold only lower-case letters, digits and hyphens, and not start with one",
        ));
    }
    Ok(())
}

/// Sets the organization row-level security sees for the rest of the transaction (or
/// of the savepoint, when it is rolled back).
async fn act_in(tx: &Tx<'_>, organization: Uuid) -> bduf_core::Result<()> {
    if tx.txn.get_database_backend() == DbBackend::Postgres {
        tx.txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.organization_id', $1, true)",
                [organization.to_string().into()],
            ))
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// The active organization, which must be `id`: `NOT_FOUND` when the viewer is not a
/// member, `FORBIDDEN` when it is not the one the request acts in.
fn active(tx: &Tx<'_>, id: Uuid) -> bduf_core::Result<()> {
    if tx.viewer.role_in(id).is_none() {
        return Err(Error::not_found("organization", id));
    }
    if id != tx.organization {
        return Err(Error::Forbidden(format!(
            "organization {id} is not the one this request acts in: send X-Organization-Id: {id}"
        )));
    }
    Ok(())
}

async fn owners(tx: &Tx<'_>) -> bduf_core::Result<u64> {
    organization_members::Entity::find()
        .filter(organization_members::Column::OrganizationId.eq(tx.organization))
        .filter(organization_members::Column::Role.eq(CollaborationRole::Owner))
        .count(tx.txn)
        .await
        .map_err(db_error)
}

async fn membership(tx: &Tx<'_>, user: Uuid) -> bduf_core::Result<organization_members::Model> {
    organization_members::Entity::find()
        .filter(organization_members::Column::OrganizationId.eq(tx.organization))
        .filter(organization_members::Column::UserId.eq(user))
        .one(tx.txn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found("member", user))
}

/// Mutations of accounts, sessions, organizations and memberships.
#[derive(Default, Debug)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an account and signs it in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> Result<SignedIn> {
        let db = ctx.data::<Db>()?;
        let signup = auth::SignUp {
            email: input.email,
            username: input.username,
            password: input.password,
            first_name: input.first_name,
            last_name: input.last_name,
        };
        auth::sign_up(db, signup, &client(ctx)?)
            .await
            .map(SignedIn::from)
            .map_err(|e| e.extend())
    }

    /// Signs in. A wrong email and a wrong password get the same answer; after repeated
    /// failures the email (or the client's address) is refused for a while (`THROTTLED`).
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<SignedIn> {
        let db = ctx.data::<Db>()?;
        let throttle = ctx.data::<Arc<Throttle>>()?;
        auth::sign_in(db, throttle, &email, password, &client(ctx)?)
            .await
            .map(SignedIn::from)
            .map_err(|e| e.extend())
    }

    /// Ends this session (with `everywhere`, every session of the viewer); returns how
    /// many sessions ended.
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] everywhere: bool,
    ) -> Result<u64> {
        let viewer = viewer(ctx)?;
        let organization = viewer.organization.unwrap_or_default();
        run(ctx, viewer, organization, move |tx| {
            async move { auth::sign_out(tx.txn, tx.viewer.user, tx.viewer.session, everywhere).await }
                .boxed()
        })
        .await
    }

    /// Creates an organization with the viewer as its owner. Later requests act in it
    /// with `X-Organization-Id`; the rest of this request already does.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<Organization> {
        let viewer = viewer(ctx)?;
        let id = Uuid::now_v7();
        run(ctx, viewer, id, move |tx| {
            async move {
                check_name("name", organizations::Column::Name, &input.name)?;
                check_slug(&input.slug)?;
                check_text(
                    "description",
                    organizations::Column::Description,
                    input.description.as_deref(),
                )?;
                let taken = organizations::Entity::find()
                    .filter(organizations::Column::Slug.eq(input.slug.as_str()))
                    .count(tx.txn)
                    .await
                    .map_err(db_error)?;
                if taken > 0 {
                    return Err(Error::conflict("slug", "is already taken"));
                }
                act_in(tx, id).await?;
                let now = now();
                let org = organizations::ActiveModel {
                    id: Set(id),
                    name: Set(input.name),
                    slug: Set(input.slug),
                    description: Set(input.description),
                    settings: Set(Some(serde_json::json!({}))),
                    is_active: Set(Some(true)),
                    created_at: Set(Some(now)),
                    updated_at: Set(Some(now)),
                }
                .insert(tx.txn)
                .await
                .map_err(db_error)?;
                organization_members::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(id),
                    user_id: Set(tx.viewer.user),
                    role: Set(CollaborationRole::Owner),
                    permissions: Set(Some(serde_json::json!([]))),
                    joined_at: Set(Some(now)),
                }
                .insert(tx.txn)
                .await
                .map_err(db_error)?;
                audit(tx, "organizations", id, "INSERT", None, Some(&org)).await?;
                Ok(Organization::from(org))
            }
            .boxed()
        })
        .await
    }

    /// Renames or redescribes the active organization (owners).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateOrganizationInput,
    ) -> Result<Organization> {
        write(
            ctx,
            CollaborationRole::Owner,
            "updateOrganization",
            move |tx| {
                async move {
                    active(tx, id)?;
                    if let Some(name) = &input.name {
                        check_name("input.name", organizations::Column::Name, name)?;
                    }
                    check_text(
                        "input.description",
                        organizations::Column::Description,
                        input.description.as_deref(),
                    )?;
                    let old = organizations::Entity::find_by_id(id)
                        .one(tx.txn)
                        .await
                        .map_err(db_error)?
                        .ok_or_else(|| Error::not_found("organization", id))?;
                    let mut row: organizations::ActiveModel = old.clone().into();
                    if let Some(name) = input.name {
                        row.name = Set(name);
                    }
                    if input.description.is_some() {
                        row.description = Set(input.description);
                    }
                    row.updated_at = Set(Some(now()));
                    let new = row.update(tx.txn).await.map_err(db_error)?;
                    audit(tx, "organizations", id, "UPDATE", Some(&old), Some(&new)).await?;
                    Ok(Organization::from(new))
                }
                .boxed()
            },
        )
        .await
    }

    /// Deletes the active organization and everything in it (owners). Returns its id.
    async fn delete_organization(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(
            ctx,
            CollaborationRole::Owner,
            "deleteOrganization",
            move |tx| {
                async move {
                    active(tx, id)?;
                    let deleted = organizations::Entity::delete_by_id(id)
                        .exec(tx.txn)
                        .await
                        .map_err(db_error)?;
                    if deleted.rows_affected == 0 {
                        return Err(Error::not_found("organization", id));
                    }
                    Ok(id)
                }
                .boxed()
            },
        )
        .await
    }

    /// Adds the user with `email` to the active organization (admins; only owners make
    /// owners). `NOT_FOUND` when no account has that email.
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        email: String,
        role: Role,
    ) -> Result<OrganizationMember> {
        let db = ctx.data::<Db>()?.clone();
        write(ctx, CollaborationRole::Admin, "addMember", move |tx| {
            async move {
                let role = db_role(role);
                check_grant(tx, role)?;
                // Users outside the organization are invisible to the request's role, so
                // the account is looked up as the server.
                let email = auth::normalize_email(&email);
                let user = users::Entity::find()
                    .filter(users::Column::Email.eq(email.as_str()))
                    .one(db.conn())
                    .await
                    .map_err(db_error)?
                    .ok_or_else(|| Error::not_found("user", &email))?;
                let exists = organization_members::Entity::find()
                    .filter(organization_members::Column::OrganizationId.eq(tx.organization))
                    .filter(organization_members::Column::UserId.eq(user.id))
                    .count(tx.txn)
                    .await
                    .map_err(db_error)?;
                if exists > 0 {
                    return Err(Error::conflict(
                        "email",
                        "is already a member of the organization",
                    ));
                }
                let member = organization_members::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(tx.organization),
                    user_id: Set(user.id),
                    role: Set(role),
                    permissions: Set(Some(serde_json::json!([]))),
                    joined_at: Set(Some(now())),
                }
                .insert(tx.txn)
                .await
                .map_err(db_error)?;
                audit(
                    tx,
                    "organization_members",
                    member.id,
                    "INSERT",
                    None,
                    Some(&member),
                )
                .await?;
                Ok(OrganizationMember::from(member))
            }
            .boxed()
        })
        .await
    }

    /// Changes a member's role (admins; only owners make or unmake owners; the last
    /// owner stays one).
    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        user_id: Uuid,
        role: Role,
    ) -> Result<OrganizationMember> {
        write(
            ctx,
            CollaborationRole::Admin,
            "updateMemberRole",
            move |tx| {
                async move {
                    let role = db_role(role);
                    let old = membership(tx, user_id).await?;
                    check_grant(tx, role)?;
                    check_grant(tx, old.role)?;
                    if old.role == CollaborationRole::Owner
                        && role != CollaborationRole::Owner
                        && owners(tx).await? <= 1
                    {
                        return Err(Error::validation(
                            "role",
                            "the organization's last owner must stay an owner",
                        ));
                    }
                    let mut row: organization_members::ActiveModel = old.clone().into();
                    row.role = Set(role);
                    let new = row.update(tx.txn).await.map_err(db_error)?;
                    audit(
                        tx,
                        "organization_members",
                        new.id,
                        "UPDATE",
                        Some(&old),
                        Some(&new),
                    )
                    .await?;
                    Ok(OrganizationMember::from(new))
                }
                .boxed()
            },
        )
        .await
    }

    /// Removes a member from the active organization (admins, or anyone leaving; the
    /// last owner cannot leave). Returns the user's id.
    async fn remove_member(&self, ctx: &Context<'_>, user_id: Uuid) -> Result<Uuid> {
        let viewer = viewer(ctx)?;
        let needed = if user_id == viewer.user {
            CollaborationRole::Viewer
        } else {
            CollaborationRole::Admin
        };
        write(ctx, needed, "removeMember", move |tx| {
            async move {
                let old = membership(tx, user_id).await?;
                if user_id != tx.viewer.user {
                    check_grant(tx, old.role)?;
                }
                if old.role == CollaborationRole::Owner && owners(tx).await? <= 1 {
                    return Err(Error::validation(
                        "userId",
                        "the organization's last owner cannot leave",
                    ));
                }
                organization_members::Entity::delete_by_id(old.id)
                    .exec(tx.txn)
                    .await
                    .map_err(db_error)?;
                audit(
                    tx,
                    "organization_members",
                    old.id,
                    "DELETE",
                    Some(&old),
                    None,
                )
                .await?;
                Ok(user_id)
            }
            .boxed()
        })
        .await
    }

    /// Updates the viewer's own profile.
    async fn update_me(
        &self,
        ctx: &Context<'_>,
        first_name: Option<String>,
        last_name: Option<String>,
        timezone: Option<String>,
    ) -> Result<User> {
        let viewer = viewer(ctx)?;
        let organization = viewer.organization.unwrap_or_default();
        run(ctx, viewer, organization, move |tx| {
            async move {
                check_text("firstName", users::Column::FirstName, first_name.as_deref())?;
                check_text("lastName", users::Column::LastName, last_name.as_deref())?;
                check_text("timezone", users::Column::Timezone, timezone.as_deref())?;
                let mut update = users::Entity::update_many()
                    .col_expr(users::Column::UpdatedAt, Expr::val(now()))
                    .filter(users::Column::Id.eq(tx.viewer.user));
                if let Some(v) = first_name {
                    update = update.col_expr(users::Column::FirstName, Expr::val(v));
                }
                if let Some(v) = last_name {
                    update = update.col_expr(users::Column::LastName, Expr::val(v));
                }
                if let Some(v) = timezone {
                    update = update.col_expr(users::Column::Timezone, Expr::val(v));
                }
                update.exec(tx.txn).await.map_err(db_error)?;
                let user = users::Entity::find_by_id(tx.viewer.user)
                    .one(tx.txn)
                    .await
                    .map_err(db_error)?
                    .ok_or_else(|| Error::not_found("user", tx.viewer.user))?;
                Ok(User::from(user))
            }
            .boxed()
        })
        .await
    }
}

/// Only owners give or take the owner role.
fn check_grant(tx: &Tx<'_>, role: CollaborationRole) -> bduf_core::Result<()> {
    if role == CollaborationRole::Owner {
        tx.viewer.require(
            CollaborationRole::Owner,
            "granting or changing the owner role",
        )?;
    }
    Ok(())
}
