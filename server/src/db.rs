//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// Readers on SQLite: reads never wait for the writer in WAL mode, and two cores gain
/// nothing from more.
const SQLITE_READERS: u32 = 4;
/// Connections to PostgreSQL per server process.
const POSTGRES_CONNECTIONS: u32 = 16;
/// A statement slower than this is logged as a warning (its SQL, never its values).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
/// Limits PostgreSQL enforces on the serving connections, so that nothing waits longer than
/// a request may live (30 s) and a stuck transaction cannot hold its locks for ever: the
/// statement fails with an error that names the limit, the request ends, the locks go.
/// Migrations run without them (building an index on a large table may take longer).
const POSTGRES_LIMITS: [(&str, &str); 3] = [
    ("statement_timeout", "20s"),
    ("lock_timeout", "10s"),
    ("idle_in_transaction_session_timeout", "60s"),
];

/// The connections the server works with.
pub struct Connections {
    /// Every write and every transaction. On SQLite this is one connection: SQLite takes
    /// one writer at a time anyway, and writers queued here wait their turn in order
    /// instead of sleeping in SQLite's busy handler while holding pooled connections that
    /// pages need. Write transactions therefore never overlap on SQLite, which
    /// `app::server::locks::lock_organization` relies on.
    pub writer: DatabaseConnection,
    /// Reads outside transactions. On SQLite a pool of read-only connections (a write
    /// sent here fails loudly); on PostgreSQL the same pool as the writer.
    pub reader: DatabaseConnection,
}

/// Connects, creating the SQLite file's folder if needed, and runs pending migrations.
pub async fn connect_and_migrate(url: &str) -> Result<Connections, DbErr> {
    let file = sqlite_file(url);
    if let Some(path) = file {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    // Migrations run on a connection of their own: on SQLite each step must see the schema
    // the step before it left, which pooled connections holding an older snapshot may not.
    let migrating = Database::connect(options(url, 1, Purpose::Migrating)).await?;
    if migrating.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers proceed while one connection writes.
        migrating
            .execute_unprepared("PRAGMA journal_mode = WAL")
            .await?;
    }
    Migrator::up(&migrating, None).await?;
    migrating.close().await?;
    if file.is_none() {
        // PostgreSQL, or an in-memory SQLite database: that one lives in one connection,
        // which a second connection (or pool) would not see.
        let size = if url.starts_with("sqlite:") {
            1
        } else {
            POSTGRES_CONNECTIONS
        };
        let pool = Database::connect(options(url, size, Purpose::Serving)).await?;
        return Ok(Connections {
            writer: pool.clone(),
            reader: pool,
        });
    }
    let writer = Database::connect(options(url, 1, Purpose::Serving)).await?;
    let mut reading = options(url, SQLITE_READERS, Purpose::Serving);
    reading.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .read_only(true)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
    });
    let reader = Database::connect(reading).await?;
    Ok(Connections { writer, reader })
}

#[derive(Clone, Copy, PartialEq)]
enum Purpose {
    Migrating,
    Serving,
}

fn options(url: &str, max_connections: u32, purpose: Purpose) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        // Statements are not logged (their values may be secrets); slow ones are.
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Off)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Warn, SLOW_STATEMENT)
        // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last
        // commits, never half of one. FULL paid an fsync on every commit.
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite.synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        });
    if purpose == Purpose::Serving {
        options.map_sqlx_postgres_opts(|postgres| postgres.options(POSTGRES_LIMITS));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn on_sqlite_writes_go_through_one_connection_and_the_readers_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let Connections { writer, reader } = connect_and_migrate(&url).await.unwrap();
        writer
            .execute_unprepared("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        writer
            .execute_unprepared("INSERT INTO probe (id) VALUES (1)")
            .await
            .unwrap();
        // A write sent to the readers by mistake fails instead of competing for the lock.
        let refused = reader
            .execute_unprepared("INSERT INTO probe (id) VALUES (2)")
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("readonly"), "{refused}");
        // The readers see what the writer committed.
        let seen = reader
            .query_one(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) AS n FROM probe",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(seen, 1);
        assert_eq!(
            writer
                .get_sqlite_connection_pool()
                .options()
                .get_max_connections(),
            1
        );
    }
}
