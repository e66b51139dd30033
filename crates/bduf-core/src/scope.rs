//! Who a request acts for and where: [`Viewer`] (the signed-in user, their session and
//! memberships) and [`Scope`] (the user and the one organization the request acts in),
//! and the condition every generic read of a table adds for a scope ([`visible`]).
//!
//! Tenancy is enforced twice. On PostgreSQL every request's transaction runs as the
//! role `bduf_app` under row-level security (migration step 12), so a statement that
//! forgot its scope still sees only the active organization. On both backends every
//! read key adds [`visible`]'s condition for its table, and every write checks the
//! viewer's role ([`Viewer::require`]) — the only protection on SQLite.

use entity::sea_orm_active_enums::CollaborationRole;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query};
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

/// The condition that keeps the rows of `table` (with tenancy `tenancy`) that `scope`
/// may see; everything when unscoped (tools and tests reading directly).
pub fn visible(table: &'static str, tenancy: Tenancy, scope: Option<&Scope>) -> Condition {
    let Some(scope) = scope else {
        return Condition::all();
    };
    let t = Alias::new(table);
    let members = Alias::new("organization_members");
    let m = Alias::new("_m");
    let in_org = |column: &str, org: Uuid| Expr::col((t.clone(), Alias::new(column))).eq(org);
    match tenancy {
        Tenancy::Column => match scope.organization {
            Some(org) => Condition::all().add(in_org("organization_id", org)),
            None => nothing(),
        },
        Tenancy::Recipient => match scope.organization {
            Some(org) => Condition::all()
                .add(in_org("organization_id", org))
                .add(Expr::col((t.clone(), Alias::new("user_id"))).eq(scope.user)),
            None => nothing(),
        },
        Tenancy::Organization => Condition::all().add(
            Expr::col((t.clone(), Alias::new("id"))).in_subquery(
                Query::select()
                    .column((m.clone(), Alias::new("organization_id")))
                    .from_as(members, m.clone())
                    .and_where(Expr::col((m, Alias::new("user_id"))).eq(scope.user))
                    .to_owned(),
            ),
        ),
        Tenancy::Membership => {
            let own = Expr::col((t.clone(), Alias::new("user_id"))).eq(scope.user);
            let mut any = Condition::any().add(own);
            if let Some(org) = scope.organization {
                any = any.add(in_org("organization_id", org));
            }
            any
        }
        Tenancy::User => {
            let me = Expr::col((t.clone(), Alias::new("id"))).eq(scope.user);
            let mut any = Condition::any().add(me);
            if let Some(org) = scope.organization {
                any = any.add(
                    Expr::col((t, Alias::new("id"))).in_subquery(
                        Query::select()
                            .column((m.clone(), Alias::new("user_id")))
                            .from_as(members, m.clone())
                            .and_where(Expr::col((m, Alias::new("organization_id"))).eq(org))
                            .to_owned(),
                    ),
                );
            }
            any
        }
    }
}
