//! Step 1: the PostgreSQL extensions and the five enum types of seed 000.
//!
//! SQLite has neither: its enum columns are text with a `CHECK` (see `columns::enumeration`).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::extension::postgres::Type;
use sea_orm_migration::prelude::*;

use crate::columns::ALL_ENUMS;

/// The seed's extensions, in creation order. All four are trusted extensions in
/// PostgreSQL 13+, so a database owner without superuser rights can create them.
const EXTENSIONS: [&str; 4] = ["uuid-ossp", "pgcrypto", "btree_gin", "pg_trgm"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for ext in EXTENSIONS {
            db.execute_unprepared(&format!("CREATE EXTENSION IF NOT EXISTS \"{ext}\""))
                .await?;
        }
        for ty in ALL_ENUMS {
            manager
                .create_type(
                    Type::create()
                        .as_enum(Alias::new(ty.name))
                        .values(ty.labels.iter().map(|l| Alias::new(*l)))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for ty in ALL_ENUMS.iter().rev() {
            manager
                .drop_type(Type::drop().name(Alias::new(ty.name)).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        for ext in EXTENSIONS.iter().rev() {
            db.execute_unprepared(&format!("DROP EXTENSION IF EXISTS \"{ext}\""))
                .await?;
        }
        Ok(())
    }
}
