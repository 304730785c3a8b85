//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// Connects, creating the SQLite file's folder if needed, and runs pending migrations.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_file(url) {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    // Migrations run on a connection of their own: on SQLite each step must see the schema
    // the step before it left, which pooled connections holding an older snapshot may not.
    let migrating = Database::connect(options(url, 1)).await?;
    if migrating.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers proceed while one connection writes.
        migrating
            .execute_unprepared("PRAGMA journal_mode = WAL")
            .await?;
    }
    Migrator::up(&migrating, None).await?;
    migrating.close().await?;
    Database::connect(options(url, 16)).await
}

fn options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last
        // commits, never half of one. FULL paid an fsync on every commit.
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite.synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        });
    if sqlite_file(url).is_some() || url.starts_with("sqlite:") {
        // A file on this machine does not drop connections: no ping before every query.
        // (PostgreSQL keeps it: a restarted database server drops them all.)
        options.test_before_acquire(false);
    }
    options
}

/// The file path of a `sqlite://` URL, if it names a file.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.starts_with(":memory:")).then_some(path)
}
