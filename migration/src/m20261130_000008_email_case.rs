//! Email addresses with non-ASCII capitals (`Élodie@example.com`).
//!
//! The app lowercases addresses by Unicode's rules (`accounts::rules::normalize_email`),
//! but the first migration's CHECK `email_normalized = lower(email)` used the database's
//! lower(), which folds only ASCII on SQLite and depends on the locale on PostgreSQL: such a
//! sign-up failed with a server error. The check now holds wherever every database agrees:
//! the normalized address has no ASCII capitals, and for an all-ASCII address it is exactly
//! lower(email). The app alone normalizes the rest.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{DatabaseBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FIRST_CHECK: &str = "email_normalized = lower(email)";

fn check_now(backend: DatabaseBackend) -> String {
    // Any character outside printable ASCII (space to tilde).
    let non_ascii = match backend {
        DatabaseBackend::Postgres => "email ~ '[^ -~]'",
        _ => "email GLOB '*[^ -~]*'",
    };
    format!(
        "email_normalized = lower(email_normalized) AND \
         (email_normalized = lower(email) OR {non_ascii})"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        replace_email_check(manager, FIRST_CHECK, &check_now(backend)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        replace_email_check(manager, &check_now(backend), FIRST_CHECK).await
    }
}

async fn replace_email_check(
    manager: &SchemaManager<'_>,
    old: &str,
    new: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            // Declared inline by the first migration, so PostgreSQL named it.
            for name in ["users_email_normalized_check", "ck_users_email_normalized"] {
                db.execute_unprepared(&format!(
                    "ALTER TABLE users DROP CONSTRAINT IF EXISTS {name}"
                ))
                .await?;
            }
            db.execute_unprepared(&format!(
                "ALTER TABLE users ADD CONSTRAINT ck_users_email_normalized CHECK ({new})"
            ))
            .await?;
        }
        _ => rebuild_sqlite_users(manager, old, new).await?,
    }
    Ok(())
}

/// SQLite cannot alter a CHECK: the table is rebuilt from its own definition with the
/// check replaced, the way SQLite's documentation describes. Foreign keys are off while it
/// happens (with them on, dropping `users` would delete every row that references it),
/// and everything runs as one script, so on one connection and in one transaction.
async fn rebuild_sqlite_users(
    manager: &SchemaManager<'_>,
    old: &str,
    new: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let definitions = db
        .query_all(Statement::from_string(
            backend,
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'users' AND sql IS NOT NULL",
        ))
        .await?;
    let mut table = None;
    let mut indexes = Vec::new();
    for row in definitions {
        let kind: String = row.try_get("", "type")?;
        let sql: String = row.try_get("", "sql")?;
        match kind.as_str() {
            "table" => table = Some(sql),
            "index" => indexes.push(sql),
            // No triggers or views are defined on users; one would be lost below.
            other => {
                return Err(DbErr::Migration(format!(
                    "users has a {other} this migration does not rebuild"
                )))
            }
        }
    }
    let table = table.ok_or_else(|| DbErr::Migration("no users table".into()))?;
    if table.matches(old).count() != 1 {
        return Err(DbErr::Migration(format!(
            "the users table does not have the check {old:?} once: {table}"
        )));
    }
    let rebuilt = table.replace(old, new).replacen(
        table
            .split('(')
            .next()
            .ok_or_else(|| DbErr::Migration("unexpected users definition".into()))?,
        "CREATE TABLE \"users_rebuilt\" ",
        1,
    );
    let mut script = vec![
        "PRAGMA foreign_keys = OFF".to_string(),
        "BEGIN".to_string(),
        rebuilt,
        "INSERT INTO users_rebuilt SELECT * FROM users".to_string(),
        "DROP TABLE users".to_string(),
        "ALTER TABLE users_rebuilt RENAME TO users".to_string(),
    ];
    script.extend(indexes);
    script.extend(["COMMIT".to_string(), "PRAGMA foreign_keys = ON".to_string()]);
    db.execute_unprepared(&script.join(";\n")).await?;
    Ok(())
}
