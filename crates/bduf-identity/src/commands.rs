//! The commands of identity: organizations (create, rename, delete), memberships (add
//! by email, change a role, remove) and the viewer's own profile. Who may do what:
//! - any signed-in user creates an organization, and owns it; the rest of the request
//!   acts in it;
//! - owners rename and delete the active organization;
//! - admins add, change and remove members; only owners give or take the owner role,
//!   and the last owner stays one (and cannot leave);
//! - anyone leaves an organization, and changes their own profile.

use async_graphql::InputObject;
use bduf_core::write::{delete, insert, update};
use bduf_core::{Error, Result, Tx, check, now};
use entity::sea_orm_active_enums::CollaborationRole as Role;
use entity::{organization_members as members, organizations, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::normalize_email;

// A new organization.
#[derive(InputObject, Debug)]
pub struct CreateOrganizationInput {
    pub name: String,
    /// Lower-case letters, digits and hyphens; unique.
    pub slug: String,
    pub description: Option<String>,
}

// Changes to an organization.
#[derive(InputObject, Debug)]
pub struct UpdateOrganizationInput {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Changes to the viewer's own profile.
#[derive(Debug, Default)]
pub struct ProfileInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub timezone: Option<String>,
}

fn check_slug(slug: &str) -> Result<()> {
    check::name("slug", organizations::Column::Slug, slug)?;
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || slug.starts_with('-')
    {
        return Err(Error::invalid(
            "slug",
            "may hold only lower-case letters, digits and hyphens, and not start with one",
        ));
    }
    Ok(())
}

/// The active organization, which must be `id`: `NOT_FOUND` when the viewer is not a
/// member, `FORBIDDEN` when it is not the one the request acts in.
fn active(tx: &Tx<'_>, id: Uuid) -> Result<()> {
    if tx.viewer().role_in(id).is_none() {
        return Err(Error::not_found("organization", id));
    }
    if id != tx.organization() {
        return Err(Error::forbidden(format!(
            "organization {id} is not the one this request acts in: send X-Organization-Id: {id}"
        )));
    }
    Ok(())
}

async fn owners(tx: &Tx<'_>) -> Result<u64> {
    Ok(members::Entity::find()
        .filter(members::Column::OrganizationId.eq(tx.organization()))
        .filter(members::Column::Role.eq(Role::Owner))
        .count(tx.txn)
        .await?)
}

async fn membership(tx: &Tx<'_>, user: Uuid) -> Result<members::Model> {
    bduf_core::write::membership(tx, user)
        .await?
        .ok_or_else(|| Error::not_found("member", user))
}

/// Only owners give or take the owner role.
fn check_grant(tx: &Tx<'_>, role: Role) -> Result<()> {
    if role == Role::Owner {
        tx.require(Role::Owner, "granting or changing the owner role")?;
    }
    Ok(())
}

fn new_membership(organization: Uuid, user: Uuid, role: Role) -> members::ActiveModel {
    members::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization),
        user_id: Set(user),
        role: Set(role),
        permissions: Set(Some(serde_json::json!([]))),
        joined_at: Set(Some(now())),
    }
}

/// Creates an organization with the viewer as its owner; the rest of the request acts in
/// it (later requests, with `X-Organization-Id`).
pub async fn create_organization(
    tx: &Tx<'_>,
    input: CreateOrganizationInput,
) -> Result<organizations::Model> {
    check::name("name", organizations::Column::Name, &input.name)?;
    check_slug(&input.slug)?;
    check::text(
        "description",
        organizations::Column::Description,
        input.description.as_deref(),
    )?;
    let taken = organizations::Entity::find()
        .filter(organizations::Column::Slug.eq(input.slug.as_str()))
        .count(tx.txn)
        .await?;
    if taken > 0 {
        return Err(Error::conflict("slug", "is already taken"));
    }
    let id = Uuid::now_v7();
    tx.act_in(id, Role::Owner).await?;
    let now = now();
    let org: organizations::Model = insert(
        tx,
        organizations::ActiveModel {
            id: Set(id),
            name: Set(input.name),
            slug: Set(input.slug),
            description: Set(input.description),
            settings: Set(Some(serde_json::json!({}))),
            is_active: Set(Some(true)),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
        },
    )
    .await?;
    let _: members::Model = insert(tx, new_membership(id, tx.user(), Role::Owner)).await?;
    Ok(org)
}

/// Renames or redescribes the active organization (owners).
pub async fn update_organization(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateOrganizationInput,
) -> Result<organizations::Model> {
    tx.require(Role::Owner, "updateOrganization")?;
    active(tx, id)?;
    if let Some(name) = &input.name {
        check::name("input.name", organizations::Column::Name, name)?;
    }
    check::text(
        "input.description",
        organizations::Column::Description,
        input.description.as_deref(),
    )?;
    let old: organizations::Model = bduf_core::write::find(tx, id, "id", "organization").await?;
    let mut row: organizations::ActiveModel = old.clone().into();
    if let Some(name) = input.name {
        row.name = Set(name);
    }
    if input.description.is_some() {
        row.description = Set(input.description);
    }
    update(tx, row).await
}

/// Deletes the active organization and everything in it (owners). Returns its id.
pub async fn delete_organization(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Owner, "deleteOrganization")?;
    active(tx, id)?;
    let deleted = organizations::Entity::delete_by_id(id).exec(tx.txn).await?;
    if deleted.rows_affected == 0 {
        return Err(Error::not_found("organization", id));
    }
    Ok(id)
}

/// Adds the user with `email` to the active organization (admins; only owners make
/// owners). `NOT_FOUND` when no account has that email.
pub async fn add_member(tx: &Tx<'_>, email: &str, role: Role) -> Result<members::Model> {
    tx.require(Role::Admin, "addMember")?;
    check_grant(tx, role)?;
    let email = normalize_email(email);
    // Users outside the organization are invisible to the request, so the account is
    // looked up as the owner.
    let user = tx
        .as_owner(|| async {
            users::Entity::find()
                .filter(users::Column::Email.eq(email.as_str()))
                .one(tx.txn)
                .await
                .map_err(Error::from)
        })
        .await?
        .ok_or_else(|| Error::not_found("user", &email))?;
    if bduf_core::write::membership(tx, user.id).await?.is_some() {
        return Err(Error::conflict(
            "email",
            "is already a member of the organization",
        ));
    }
    insert(tx, new_membership(tx.organization(), user.id, role)).await
}

/// Changes a member's role (admins; only owners make or unmake owners; the last owner
/// stays one).
pub async fn update_member_role(tx: &Tx<'_>, user: Uuid, role: Role) -> Result<members::Model> {
    tx.require(Role::Admin, "updateMemberRole")?;
    let old = membership(tx, user).await?;
    check_grant(tx, role)?;
    check_grant(tx, old.role)?;
    if old.role == Role::Owner && role != Role::Owner && owners(tx).await? <= 1 {
        return Err(Error::invalid(
            "role",
            "the organization's last owner must stay an owner",
        ));
    }
    let mut row: members::ActiveModel = old.clone().into();
    row.role = Set(role);
    update(tx, row).await
}

/// Removes a member from the active organization (admins, or anyone leaving; the last
/// owner cannot leave). Returns the user's id.
pub async fn remove_member(tx: &Tx<'_>, user: Uuid) -> Result<Uuid> {
    let leaving = user == tx.user();
    let needed = if leaving { Role::Viewer } else { Role::Admin };
    tx.require(needed, "removeMember")?;
    let old = membership(tx, user).await?;
    if !leaving {
        check_grant(tx, old.role)?;
    }
    if old.role == Role::Owner && owners(tx).await? <= 1 {
        return Err(Error::invalid(
            "userId",
            "the organization's last owner cannot leave",
        ));
    }
    delete(tx, &old).await?;
    Ok(user)
}

/// Updates the viewer's own profile.
pub async fn update_me(tx: &Tx<'_>, input: ProfileInput) -> Result<users::Model> {
    crate::auth::check_names(input.first_name.as_deref(), input.last_name.as_deref())?;
    check::text(
        "timezone",
        users::Column::Timezone,
        input.timezone.as_deref(),
    )?;
    let mut change = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::val(now()))
        .filter(users::Column::Id.eq(tx.user()));
    for (column, value) in [
        (users::Column::FirstName, input.first_name),
        (users::Column::LastName, input.last_name),
        (users::Column::Timezone, input.timezone),
    ] {
        if let Some(v) = value {
            change = change.col_expr(column, Expr::val(v));
        }
    }
    change.exec(tx.txn).await?;
    users::Entity::find_by_id(tx.user())
        .one(tx.txn)
        .await?
        .ok_or_else(|| Error::not_found("user", tx.user()))
}

/// Whether the viewer sees `user`'s email: their own, and every member's for admins and
/// owners of the organization the request acts in (which `user` belongs to, or they
/// would not be visible).
pub fn email_visible(viewer: &bduf_core::Viewer, user: Uuid) -> bool {
    let admin = viewer
        .organization
        .and_then(|org| viewer.role_in(org))
        .is_some_and(|role| bduf_core::rank(role) >= bduf_core::rank(Role::Admin));
    viewer.user == user || admin
}

#[cfg(test)]
mod tests {
    use bduf_core::Viewer;
    use entity::sea_orm_active_enums::CollaborationRole as Role;
    use uuid::Uuid;

    use super::{check_slug, email_visible};

    #[test]
    fn slugs_are_lower_case_words_joined_by_hyphens() {
        assert!(check_slug("north-wind-2").is_ok());
        for (slug, rule) in [
            ("North", "lower-case"),
            ("-north", "lower-case"),
            ("", "blank"),
            ("a b", "lower-case"),
        ] {
            let err = check_slug(slug).expect_err(slug);
            assert_eq!(err.field(), Some("slug"));
            assert!(err.to_string().contains(rule), "{slug}: {err}");
        }
        let long = "a".repeat(101);
        assert!(check_slug(&long).is_err(), "slug is VARCHAR(100)");
    }

    #[test]
    fn emails_show_to_their_owner_and_to_admins() {
        let (me, other, org) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let viewer = |role| Viewer {
            user: me,
            session: Uuid::now_v7(),
            memberships: vec![(org, role)],
            organization: Some(org),
        };
        assert!(email_visible(&viewer(Role::Viewer), me));
        assert!(!email_visible(&viewer(Role::Contributor), other));
        assert!(email_visible(&viewer(Role::Admin), other));
        assert!(email_visible(&viewer(Role::Owner), other));
    }
}
