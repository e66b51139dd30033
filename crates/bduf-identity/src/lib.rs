//! Identity: users, organizations and memberships. The read keys of their tables —
//! filters, orderings, the links memberships hang off — the GraphQL enum of roles, the
//! membership aggregate and the viewer's sessions; accounts and sessions ([`auth`]);
//! the commands of organizations, members and profiles ([`commands`]); idempotent
//! retries of a user's mutations ([`idempotency`]).

pub mod auth;
pub mod commands;
pub mod idempotency;

use async_graphql::{Enum, InputObject};
use bduf_core::Map;
use bduf_core::aggregate::{Grouped, Tally, TallyRow, by_owner, counts};
use bduf_core::read::{Filter, Link};
use bduf_core::{Fetch, RequestTxn, Result, check, flag, ordering};
use entity::{organization_members, organizations, users};
use sea_orm::{ColumnTrait, Condition, DbBackend};
use uuid::Uuid;

/// A member's role in an organization or session.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::sea_orm_active_enums::CollaborationRole")]
pub enum CollaborationRole {
    Owner,
    Admin,
    Contributor,
    Viewer,
}

/// Which users to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    /// Exact email address.
    pub email: Option<String>,
    /// Exact username.
    pub username: Option<String>,
    pub is_active: Option<bool>,
}

impl Filter for UserFilter {
    type Model = users::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text("filter.email", users::Column::Email, self.email.as_deref())?;
        check::text(
            "filter.username",
            users::Column::Username,
            self.username.as_deref(),
        )?;
        let mut c = Condition::all();
        if let Some(v) = &self.email {
            c = c.add(users::Column::Email.eq(v.clone()));
        }
        if let Some(v) = &self.username {
            c = c.add(users::Column::Username.eq(v.clone()));
        }
        if let Some(v) = self.is_active {
            c = c.add(flag(users::Column::IsActive, v, true));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order users.
    UserOrder, UserOrderField, users::Model { LastLoginAt => users::Column::LastLoginAt }
);

/// Users hang off nothing: they are listed at the root or reached by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsersOf {}

impl Link for UsersOf {
    type Model = users::Model;
    fn column(self) -> users::Column {
        match self {}
    }
}

/// Which organizations to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OrganizationFilter {
    pub slug: Option<String>,
    pub is_active: Option<bool>,
}

impl Filter for OrganizationFilter {
    type Model = organizations::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
        check::text(
            "filter.slug",
            organizations::Column::Slug,
            self.slug.as_deref(),
        )?;
        let mut c = Condition::all();
        if let Some(v) = &self.slug {
            c = c.add(organizations::Column::Slug.eq(v.clone()));
        }
        if let Some(v) = self.is_active {
            c = c.add(flag(organizations::Column::IsActive, v, true));
        }
        Ok(c)
    }
}

ordering!(
    /// How to order organizations.
    OrganizationOrder, OrganizationOrderField, organizations::Model { Slug => organizations::Column::Slug }
);

/// Organizations hang off nothing: they are listed at the root or reached by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganizationsOf {}

impl Link for OrganizationsOf {
    type Model = organizations::Model;
    fn column(self) -> organizations::Column {
        match self {}
    }
}

/// Which memberships to list.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MemberFilter {
    pub organization_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub role: Option<CollaborationRole>,
}

impl Filter for MemberFilter {
    type Model = organization_members::Model;

    fn condition(&self, _backend: DbBackend) -> Result<Condition> {
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

ordering!(
    /// How to order memberships.
    MemberOrder, MemberOrderField, organization_members::Model {
        JoinedAt => organization_members::Column::JoinedAt,
    }
);

/// What memberships hang off: an organization's members, a user's memberships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MembersOf {
    Organization,
    User,
}

impl Link for MembersOf {
    type Model = organization_members::Model;
    fn column(self) -> organization_members::Column {
        match self {
            MembersOf::Organization => organization_members::Column::OrganizationId,
            MembersOf::User => organization_members::Column::UserId,
        }
    }
}

/// Key: how many members an organization has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberCount(pub Uuid);

impl Tally<MemberCount> for RequestTxn {
    type Value = i64;

    fn grouped(&self, keys: &[MemberCount]) -> Result<Grouped> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(by_owner::<organization_members::Model>(
            self,
            organization_members::Column::OrganizationId,
            &ids,
            Condition::all(),
        ))
    }

    fn answer(&self, keys: &[MemberCount], rows: &[TallyRow]) -> Result<Map<MemberCount, i64>> {
        Ok(counts(keys, |k| k.0, rows))
    }
}

/// Key: the sessions of a user, newest first (a user reads only their own: row-level
/// security on PostgreSQL, and the viewer's id in the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserSessionsOf(pub Uuid);

impl Fetch<UserSessionsOf> for RequestTxn {
    type Value = Vec<entity::user_sessions::Model>;

    async fn fetch(
        &self,
        keys: &[UserSessionsOf],
    ) -> Result<Map<UserSessionsOf, Vec<entity::user_sessions::Model>>> {
        use entity::user_sessions as sessions;
        use sea_orm::{EntityTrait, QueryFilter, QueryOrder};
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sessions::Entity::find()
            .filter(sessions::Column::UserId.is_in(users))
            .order_by_desc(sessions::Column::CreatedAt)
            .order_by_desc(sessions::Column::Id)
            .all(self.conn())
            .await?;
        let mut out: Map<UserSessionsOf, Vec<sessions::Model>> = Map::default();
        for row in rows {
            out.entry(UserSessionsOf(row.user_id))
                .or_default()
                .push(row);
        }
        Ok(out)
    }
}
