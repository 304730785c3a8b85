//! Identity providers' client secrets are stored sealed (`app::server::secrets`): hex of
//! the AES-GCM ciphertext with its key id and nonce, about twice as long as the 1,000
//! characters a secret may have. PostgreSQL enforces the column's length, so it becomes
//! text; SQLite does not. The server seals the secrets stored in the clear at its next
//! start (it holds the key; a migration does not).

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE sso_connections ALTER COLUMN client_secret TYPE text",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Sealed values do not fit the old width; the column stays text.
        Ok(())
    }
}
