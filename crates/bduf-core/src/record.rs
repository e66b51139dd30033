//! [`Record`]: what the generic loaders and paging need to know of an entity model.

use sea_orm::{EntityTrait, FromQueryResult};
use uuid::Uuid;

/// An entity model with a UUID primary key named `id`.
pub trait Record: FromQueryResult + Clone + Send + Sync + 'static {
    /// The entity this is the model of.
    type E: EntityTrait<Model = Self>;
    /// The table's name, for raw SQL (recursive CTEs).
    const TABLE: &'static str;
    /// The primary key.
    fn id(&self) -> Uuid;
    /// The primary-key column.
    fn id_column() -> Column<Self>;
}

/// The column type of a record's entity.
pub type Column<M> = <<M as Record>::E as EntityTrait>::Column;

macro_rules! records {
    ($($module:ident),* $(,)?) => {$(
        impl Record for entity::$module::Model {
            type E = entity::$module::Entity;
            const TABLE: &'static str = stringify!($module);
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
    notifications,
    organization_members,
    organizations,
    projects,
    requirements,
    session_participants,
    tasks,
    users,
);
