//! Who a request acts for and where: [`Viewer`] (the signed-in user, their session and
//! memberships) and [`Scope`] (the user and the one organization the request acts in),
//! and the conditions every read of a table adds for a scope ([`tenancy`], used by each
//! [`crate::Record`]'s `visible`).
//!
//! Tenancy is enforced twice. On PostgreSQL every request's transaction runs as the
//! role `bduf_app` under row-level security (migration step 12), so a statement that
//! forgot its scope still sees only the active organization. On both backends every
//! read key adds its table's condition for the scope ([`crate::Record::visible`]), and
//! every command checks the viewer's role ([`Viewer::require`]) and finds rows only in
//! the active organization — the only protection on SQLite.

use entity::sea_orm_active_enums::CollaborationRole;
use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Condition, Expr};
use uuid::Uuid;

use crate::error::{Error, Result};

/// How the rows of a table belong to organizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenancy {
    /// By an `organization_id` column: the row belongs to that organization.
    Column,
    /// `notifications`: by `organization_id`, and only to its recipient (`user_id`).
    Recipient,
    /// `organizations`: a viewer sees the organizations they are a member of.
    Organization,
    /// `organization_members`: the active organization's members, and the viewer's own
    /// memberships (which name the viewer's other organizations).
    Membership,
    /// `users`: the viewer, and the members of the active organization.
    User,
}

/// The user and organization a request acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    pub user: Uuid,
    /// The active organization; none when the user belongs to none.
    pub organization: Option<Uuid>,
}

/// A signed-in user, as authentication found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user: Uuid,
    /// The session the request came with.
    pub session: Uuid,
    /// Every organization the user belongs to, with the role there, earliest first.
    pub memberships: Vec<(Uuid, CollaborationRole)>,
    /// The organization the request acts in.
    pub organization: Option<Uuid>,
}

/// How much a role may do, from viewer (0) to owner (3).
pub fn rank(role: CollaborationRole) -> u8 {
    match role {
        CollaborationRole::Viewer => 0,
        CollaborationRole::Contributor => 1,
        CollaborationRole::Admin => 2,
        CollaborationRole::Owner => 3,
    }
}

/// The label of a role, as clients spell it.
pub fn role_name(role: CollaborationRole) -> &'static str {
    match role {
        CollaborationRole::Viewer => "VIEWER",
        CollaborationRole::Contributor => "CONTRIBUTOR",
        CollaborationRole::Admin => "ADMIN",
        CollaborationRole::Owner => "OWNER",
    }
}

impl Viewer {
    /// The scope of this viewer's requests.
    pub fn scope(&self) -> Scope {
        Scope {
            user: self.user,
            organization: self.organization,
        }
    }

    /// The viewer's role in `organization`, if a member.
    pub fn role_in(&self, organization: Uuid) -> Option<CollaborationRole> {
        self.memberships
            .iter()
            .find(|(id, _)| *id == organization)
            .map(|(_, role)| *role)
    }

    /// The active organization and the viewer's role there, if the role is at least
    /// `needed`; otherwise `FORBIDDEN`, naming what `action` needs.
    pub fn require(&self, needed: CollaborationRole, action: &str) -> Result<Uuid> {
        let Some(organization) = self.organization else {
            return Err(Error::Forbidden(format!(
                "{action}: you belong to no organization; create one first"
            )));
        };
        match self.role_in(organization) {
            Some(role) if rank(role) >= rank(needed) => Ok(organization),
            Some(role) => Err(Error::Forbidden(format!(
                "{action} needs the role {} or higher in the organization; yours is {}",
                role_name(needed),
                role_name(role)
            ))),
            None => Err(Error::Forbidden(format!(
                "{action}: you are not a member of the organization"
            ))),
        }
    }
}

/// No row at all (a scope without an organization sees no tenant rows).
fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// A column qualified by its table (reads join tables: the tree walks).
fn qualified<C: ColumnTrait>(column: C) -> Expr {
    Expr::col((column.entity_name(), column))
}

/// The conditions of each [`Tenancy`], over typed columns: what a scope may see of a
/// table ([`crate::Record::visible`]) and the rows of one organization
/// ([`crate::Record::in_organization`]).
pub mod tenancy {
    use entity::organization_members as members;
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::{Condition, ExprTrait, Query};
    use uuid::Uuid;

    use super::{Scope, nothing, qualified};

    /// [`super::Tenancy::Column`]: the active organization's rows.
    pub fn column<C: ColumnTrait>(organization: C, scope: &Scope) -> Condition {
        match scope.organization {
            Some(org) => Condition::all().add(qualified(organization).eq(org)),
            None => nothing(),
        }
    }

    /// [`super::Tenancy::Recipient`]: the active organization's rows addressed to the
    /// user.
    pub fn recipient<C: ColumnTrait>(organization: C, user: C, scope: &Scope) -> Condition {
        column(organization, scope).add(qualified(user).eq(scope.user))
    }

    /// [`super::Tenancy::Organization`]: the organizations the user belongs to.
    pub fn organization<C: ColumnTrait>(id: C, scope: &Scope) -> Condition {
        Condition::all().add(
            qualified(id).in_subquery(
                Query::select()
                    .column(members::Column::OrganizationId)
                    .from(members::Entity)
                    .and_where(members::Column::UserId.eq(scope.user))
                    .to_owned(),
            ),
        )
    }

    /// [`super::Tenancy::Membership`]: the active organization's memberships and the
    /// user's own.
    pub fn membership<C: ColumnTrait>(organization: C, user: C, scope: &Scope) -> Condition {
        let mut any = Condition::any().add(qualified(user).eq(scope.user));
        if let Some(org) = scope.organization {
            any = any.add(qualified(organization).eq(org));
        }
        any
    }

    /// [`super::Tenancy::User`]: the user and the active organization's members.
    pub fn user<C: ColumnTrait>(id: C, scope: &Scope) -> Condition {
        let mut any = Condition::any().add(qualified(id).eq(scope.user));
        if let Some(org) = scope.organization {
            any = any.add(qualified(id).in_subquery(members_of(org)));
        }
        any
    }

    /// The rows of `organization` of a table whose tenant key is `column`.
    pub fn of<C: ColumnTrait>(column: C, organization: Uuid) -> Condition {
        Condition::all().add(qualified(column).eq(organization))
    }

    /// Users that are members of `organization`.
    pub fn members_of(organization: Uuid) -> sea_orm::sea_query::SelectStatement {
        Query::select()
            .column(members::Column::UserId)
            .from(members::Entity)
            .and_where(members::Column::OrganizationId.eq(organization))
            .to_owned()
    }

    /// The users of `organization`, by their id column.
    pub fn users_of<C: ColumnTrait>(id: C, organization: Uuid) -> Condition {
        Condition::all().add(qualified(id).in_subquery(members_of(organization)))
    }
}
