//! Identity: users, organizations and memberships. Filters and orderings for their
//! connections, the GraphQL enum of roles, and the membership aggregate.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Enum, InputObject};
use bduf_core::{EntityLoader, Result, check_len, ordering};
use entity::{organization_members, organizations, users};
use sea_orm::{ColumnTrait, Condition, DbErr};
use uuid::Uuid;

/// A member's role in an organization or session.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::sea_orm_active_enums::CollaborationRole")]
pub enum CollaborationRole {
    Owner,
    Admin,
    Contributor,
    Viewer,
}

/// Which users to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UserFilter {
    /// Exact email address.
    pub email: Option<String>,
    /// Exact username.
    pub username: Option<String>,
    pub is_active: Option<bool>,
}

impl UserFilter {
    /// The filter as a condition, after checking its inputs.
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.email", self.email.as_ref(), 255)?;
        check_len("filter.username", self.username.as_ref(), 100)?;
        let mut c = Condition::all();
        if let Some(v) = &self.email {
            c = c.add(users::Column::Email.eq(v.clone()));
        }
        if let Some(v) = &self.username {
            c = c.add(users::Column::Username.eq(v.clone()));
        }
        if let Some(v) = self.is_active {
            c = c.add(users::Column::IsActive.eq(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order users.
    UserOrder, UserOrderField, users::Model { LastLoginAt => users::Column::LastLoginAt }
);

/// Which organizations to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct OrganizationFilter {
    pub slug: Option<String>,
    pub is_active: Option<bool>,
}

impl OrganizationFilter {
    pub fn condition(&self) -> Result<Condition> {
        check_len("filter.slug", self.slug.as_ref(), 100)?;
        let mut c = Condition::all();
        if let Some(v) = &self.slug {
            c = c.add(organizations::Column::Slug.eq(v.clone()));
        }
        if let Some(v) = self.is_active {
            c = c.add(organizations::Column::IsActive.eq(v));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order organizations.
    OrganizationOrder, OrganizationOrderField, organizations::Model { Slug => organizations::Column::Slug }
);

/// Which memberships to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct MemberFilter {
    pub organization_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub role: Option<CollaborationRole>,
}

impl MemberFilter {
    pub fn condition(&self) -> Result<Condition> {
        let mut c = Condition::all();
        if let Some(v) = self.organization_id {
            c = c.add(organization_members::Column::OrganizationId.eq(v));
        }
        if let Some(v) = self.user_id {
            c = c.add(organization_members::Column::UserId.eq(v));
        }
        if let Some(v) = self.role {
            c = c.add(
                organization_members::Column::Role
                    .eq(entity::sea_orm_active_enums::CollaborationRole::from(v)),
            );
        }
        Ok(c)
    }
}

/// Key: how many members an organization has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberCount(pub Uuid);

impl Loader<MemberCount> for EntityLoader {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[MemberCount]) -> Result<HashMap<MemberCount, i64>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .db()
            .query_with_ids(
                "SELECT organization_id, COUNT(*) AS n FROM organization_members \
                 WHERE organization_id IN ({ids}) GROUP BY organization_id",
                &ids,
            )
            .await?;
        let mut out: HashMap<MemberCount, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for row in rows {
            out.insert(
                MemberCount(row.try_get("", "organization_id")?),
                row.try_get("", "n")?,
            );
        }
        Ok(out)
    }
}
