//! [`Record`]: what the generic readers need to know of an entity model; [`Tree`] for the
//! tables whose rows form trees over `parent_id`; [`Columns`], the set of columns a read
//! fetches; [`Layout`], where a statement's columns are, so its rows are read by position.

use entity::position::ByPosition;
use sea_orm::sea_query::Condition;
use sea_orm::{DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, ModelTrait, QueryResult};
use uuid::Uuid;

use crate::scope::{Scope, Tenancy, tenancy};

/// An entity model with a UUID primary key named `id`.
pub trait Record: FromQueryResult + ByPosition + Clone + Send + Sync + 'static {
    /// The entity this is the model of.
    type E: EntityTrait<Model = Self> + Default;
    /// The table's name: the name of its connections in cursors, and of its SQL.
    const TABLE: &'static str;
    /// The primary key.
    fn id(&self) -> Uuid;
    /// The primary-key column.
    fn id_column() -> Column<Self>;
    /// How the table's rows belong to organizations.
    const TENANCY: Tenancy;
    /// The rows `scope` may see (see [`Tenancy`]).
    fn visible(scope: &Scope) -> Condition;
    /// The rows of `organization`.
    fn in_organization(organization: Uuid) -> Condition;
}

/// A [`Record`] read through the generic read keys: its model is its entity's, as
/// SeaORM's [`ModelTrait`] tells the compiler (a supertrait of `Record` cannot say it).
pub trait Row: Record + ModelTrait<Entity = <Self as Record>::E> {}

impl<M: Record + ModelTrait<Entity = <M as Record>::E>> Row for M {}

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

/// Where the columns of a statement's rows are: looked up by name once, on its first row,
/// then read by index from every row (sqlx hashes a column's name at every lookup by
/// name, and SeaORM's derived `FromQueryResult` looks up every column of every row so).
#[derive(Debug, Default)]
pub struct Layout {
    names: Vec<String>,
}

impl Layout {
    /// The layout of `rows` (all rows of a statement share their first's).
    pub fn of(rows: &[QueryResult]) -> Layout {
        Layout {
            names: rows
                .first()
                .map(QueryResult::column_names)
                .unwrap_or_default(),
        }
    }

    /// The index of the column named `name`.
    pub fn index(&self, name: &str) -> Result<usize, DbErr> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| DbErr::Custom(format!("the statement has no column {name}")))
    }

    /// The reader of the model `M` whose columns are named with `prefix`: they must
    /// follow one another in the order of `M`'s `Column` enum, as [`select_columns_as`]
    /// selects them; any other order is an error, never a wrong field.
    ///
    /// [`select_columns_as`]: crate::window::select_columns_as
    pub fn model<M: Record>(&self, prefix: &str) -> Result<At<M>, DbErr> {
        let disorder = || {
            DbErr::Custom(format!(
                "the columns of {} are not together in their entity's order",
                M::TABLE
            ))
        };
        let mut columns = Column::<M>::iter();
        let first = columns.next().ok_or_else(disorder)?;
        let base = self.index(&format!("{prefix}{}", first.as_str()))?;
        for (i, column) in columns.enumerate() {
            let name = self.names.get(base + 1 + i).ok_or_else(disorder)?;
            if name.strip_prefix(prefix) != Some(column.as_str()) {
                return Err(disorder());
            }
        }
        if M::COLUMNS != Column::<M>::iter().count() {
            return Err(disorder());
        }
        Ok(At {
            base,
            model: std::marker::PhantomData,
        })
    }
}

/// Reads `M` from rows by position ([`Layout::model`]).
#[derive(Debug, Clone, Copy)]
pub struct At<M> {
    base: usize,
    model: std::marker::PhantomData<fn() -> M>,
}

impl<M: Record> At<M> {
    /// The model in `row`.
    pub fn read(&self, row: &QueryResult) -> Result<M, DbErr> {
        M::at(row, self.base)
    }

    /// The index of the model's primary key.
    pub fn id_index(&self) -> usize {
        self.base
            + Column::<M>::iter()
                .position(|c| c.as_str() == M::id_column().as_str())
                .unwrap_or(0)
    }
}

macro_rules! records {
    ($($module:ident: $tenancy:ident),* $(,)?) => {$(
        impl Record for entity::$module::Model {
            type E = entity::$module::Entity;
            const TABLE: &'static str = stringify!($module);
            const TENANCY: Tenancy = Tenancy::$tenancy;
            fn id(&self) -> Uuid {
                self.id
            }
            fn id_column() -> Column<Self> {
                entity::$module::Column::Id
            }
            fn visible(scope: &Scope) -> Condition {
                records!(@visible $tenancy, $module, scope)
            }
            fn in_organization(organization: Uuid) -> Condition {
                records!(@of $tenancy, $module, organization)
            }
        }
    )*};
    (@visible Column, $m:ident, $scope:ident) => {
        tenancy::column(entity::$m::Column::OrganizationId, $scope)
    };
    (@visible Recipient, $m:ident, $scope:ident) => {
        tenancy::recipient(entity::$m::Column::OrganizationId, entity::$m::Column::UserId, $scope)
    };
    (@visible Organization, $m:ident, $scope:ident) => {
        tenancy::organization(entity::$m::Column::Id, $scope)
    };
    (@visible Membership, $m:ident, $scope:ident) => {
        tenancy::membership(entity::$m::Column::OrganizationId, entity::$m::Column::UserId, $scope)
    };
    (@visible User, $m:ident, $scope:ident) => {
        tenancy::user(entity::$m::Column::Id, $scope)
    };
    (@of Organization, $m:ident, $org:ident) => {
        tenancy::of(entity::$m::Column::Id, $org)
    };
    (@of User, $m:ident, $org:ident) => {
        tenancy::users_of(entity::$m::Column::Id, $org)
    };
    (@of $tenancy:ident, $m:ident, $org:ident) => {
        tenancy::of(entity::$m::Column::OrganizationId, $org)
    };
}

records!(
    analyses: Column,
    approval_participants: Column,
    approvals: Column,
    architectural_components: Column,
    audit_log: Column,
    collaboration_sessions: Column,
    comments: Column,
    notifications: Recipient,
    organization_members: Membership,
    organizations: Organization,
    projects: Column,
    requirements: Column,
    session_participants: Column,
    task_dependencies: Column,
    tasks: Column,
    users: User,
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
