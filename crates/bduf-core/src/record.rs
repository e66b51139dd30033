//! [`Record`]: what the generic readers need to know of an entity model; [`Tree`] for the
//! tables whose rows form trees over `parent_id`; [`Columns`], the set of columns a read
//! fetches.

use sea_orm::{EntityTrait, FromQueryResult, IdenStatic, Iterable};
use uuid::Uuid;

use crate::scope::Tenancy;

/// An entity model with a UUID primary key named `id`.
pub trait Record: FromQueryResult + Clone + Send + Sync + 'static {
    /// The entity this is the model of.
    type E: EntityTrait<Model = Self> + Default;
    /// The table's name: the name of its connections in cursors, and of its SQL.
    const TABLE: &'static str;
    /// The primary key.
    fn id(&self) -> Uuid;
    /// The primary-key column.
    fn id_column() -> Column<Self>;
    /// How the table's rows belong to organizations.
    const TENANCY: Tenancy = Tenancy::Column;
}

/// A record whose rows form a tree over a nullable `parent_id`.
pub trait Tree: Record {
    /// The `parent_id` column.
    fn parent_column() -> Column<Self>;
    /// This row's parent.
    fn parent(&self) -> Option<Uuid>;
}

/// The column type of a record's entity.
pub type Column<M> = <<M as Record>::E as EntityTrait>::Column;

/// A set of the columns of one table, by position in the entity's `Column` enum: what a
/// read fetches. The others come back as NULL (or `''` where the column is NOT NULL), so
/// a dashboard that does not select a large JSON or text column never transfers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Columns(pub u64);

impl Columns {
    /// Every column.
    pub const ALL: Columns = Columns(u64::MAX);

    /// Whether the column at `position` is in the set.
    pub fn has(self, position: usize) -> bool {
        position < 64 && self.0 & (1 << position) != 0
    }

    /// The set with the column at `position` added.
    #[must_use]
    pub fn with(self, position: usize) -> Columns {
        Columns(self.0 | (1 << position))
    }

    /// Both sets together.
    #[must_use]
    pub fn union(self, other: Columns) -> Columns {
        Columns(self.0 | other.0)
    }

    /// The position of `column` in its entity's `Column` enum.
    pub fn position<M: Record>(column: Column<M>) -> usize {
        Column::<M>::iter()
            .position(|c| c.as_str() == column.as_str())
            .unwrap_or(usize::MAX)
    }
}

macro_rules! records {
    ($($module:ident $(= $tenancy:ident)?),* $(,)?) => {$(
        impl Record for entity::$module::Model {
            type E = entity::$module::Entity;
            const TABLE: &'static str = stringify!($module);
            $(const TENANCY: Tenancy = Tenancy::$tenancy;)?
            fn id(&self) -> Uuid {
                self.id
            }
            fn id_column() -> Column<Self> {
                entity::$module::Column::Id
            }
        }
    )*};
}

records!(
    analyses,
    approval_participants,
    approvals,
    architectural_components,
    audit_log,
    collaboration_sessions,
    comments,
    notifications = Recipient,
    organization_members = Membership,
    organizations = Organization,
    projects,
    requirements,
    session_participants,
    tasks,
    users = User,
);

macro_rules! trees {
    ($($module:ident),* $(,)?) => {$(
        impl Tree for entity::$module::Model {
            fn parent_column() -> Column<Self> {
                entity::$module::Column::ParentId
            }
            fn parent(&self) -> Option<Uuid> {
                self.parent_id
            }
        }
    )*};
}

trees!(requirements, architectural_components, tasks, comments);
