//! Addresses' domains in their ASCII form.
//!
//! `email_normalized` (of accounts and invitations) now writes the domain as IDNA's ASCII
//! form, so `ada@bücher.example` and `ada@xn--bcher-kva.example` are one address and route
//! to the same organization's domain. Rows written before keep the old form until this
//! rewrites them. Only rows with a character outside ASCII can change; a row whose new form
//! another row already holds (the same person twice) keeps its old form.
//!
//! On PostgreSQL the first migration's check `email_normalized = lower(email)` is still
//! there: PostgreSQL named it `users_check` (it names two columns), not the name the email
//! case migration dropped. An ASCII domain form breaks it, so it goes now; the email case
//! migration's check (`ck_users_email_normalized`) stays and allows it.
//!
//! Stepping down leaves the rows as they are: both forms were valid before.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{DatabaseBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Must equal the app's `accounts::rules::normalize_email` for an already lower-cased,
/// composed address (a test keeps them equal).
pub fn ascii_domain_form(email_normalized: &str) -> String {
    match email_normalized.rsplit_once('@') {
        Some((local, domain)) => match idna::domain_to_ascii(domain.trim_end_matches('.')) {
            Ok(ascii) if !ascii.is_empty() && ascii.len() <= 253 => format!("{local}@{ascii}"),
            _ => email_normalized.to_string(),
        },
        None => email_normalized.to_string(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            drop_first_email_check(manager).await?;
        }
        for table in ["users", "invitations"] {
            rewrite(manager, table).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// Drops the first migration's check, found by what it says (whatever it was named).
async fn drop_first_email_check(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let stale = db
        .query_all(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass \
             AND contype = 'c' AND conname <> 'ck_users_email_normalized' \
             AND pg_get_constraintdef(oid) LIKE '%email_normalized%lower%email%' \
             AND pg_get_constraintdef(oid) NOT LIKE '%~%'",
        ))
        .await?;
    for row in stale {
        let name: String = row.try_get("", "conname")?;
        db.execute_unprepared(&format!("ALTER TABLE users DROP CONSTRAINT \"{name}\""))
            .await?;
    }
    Ok(())
}

async fn rewrite(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let non_ascii = match backend {
        DatabaseBackend::Postgres => "email_normalized ~ '[^ -~]'",
        _ => "email_normalized GLOB '*[^ -~]*'",
    };
    let rows = db
        .query_all(Statement::from_string(
            backend,
            format!("SELECT id, email_normalized FROM {table} WHERE {non_ascii}"),
        ))
        .await?;
    for row in rows {
        let id: i32 = row.try_get("", "id")?;
        let old: String = row.try_get("", "email_normalized")?;
        let new = ascii_domain_form(&old);
        if new == old {
            continue;
        }
        // Accounts are unique by address; invitations by address within an organization.
        let same_scope = if table == "invitations" {
            " AND organization_id = (SELECT organization_id FROM invitations WHERE id = {id})"
        } else {
            ""
        };
        let taken = db
            .query_one(Statement::from_sql_and_values(
                backend,
                match backend {
                    DatabaseBackend::Postgres => {
                        format!("SELECT id FROM {table} WHERE email_normalized = $1{same_scope}")
                    }
                    _ => format!("SELECT id FROM {table} WHERE email_normalized = ?{same_scope}"),
                }
                .replace("{id}", &id.to_string()),
                [new.clone().into()],
            ))
            .await?;
        if taken.is_some() {
            continue;
        }
        db.execute(Statement::from_sql_and_values(
            backend,
            match backend {
                DatabaseBackend::Postgres => {
                    format!("UPDATE {table} SET email_normalized = $1 WHERE id = $2")
                }
                _ => format!("UPDATE {table} SET email_normalized = ? WHERE id = ?"),
            },
            [new.into(), id.into()],
        ))
        .await?;
    }
    Ok(())
}
