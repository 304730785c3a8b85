//! `memberships.member_key`: the member's name and email, lowercased, copied onto the
//! membership so the Users tab sorts and searches one table through one index
//! (organization_id, member_key) instead of joining and sorting every member's account:
//! with 100,000 members the first page no longer sorts 100,000 rows. The app rewrites the
//! key whenever a name changes.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, Statement},
};

use super::m20261124_000002_organizations::Memberships;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MemberKey {
    MemberKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(string_len(MemberKey::MemberKey, 400).default(""))
                    .to_owned(),
            )
            .await?;
        // Filled in Rust, with the same Unicode lowercasing the app uses (SQLite's lower()
        // only knows ASCII).
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let users = db
            .query_all(Statement::from_string(
                backend,
                "SELECT DISTINCT users.id, users.name, users.email_normalized FROM users \
                 JOIN memberships ON memberships.user_id = users.id",
            ))
            .await?;
        for user in users {
            let id: i32 = user.try_get("", "id")?;
            let name: String = user.try_get("", "name")?;
            let email: String = user.try_get("", "email_normalized")?;
            db.execute(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "UPDATE memberships SET member_key = $1 WHERE user_id = $2"
                    }
                    _ => "UPDATE memberships SET member_key = ? WHERE user_id = ?",
                },
                [member_key(&name, &email).into(), id.into()],
            ))
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_organization_member_key")
                    .table(Memberships::Table)
                    .col(Memberships::OrganizationId)
                    .col(MemberKey::MemberKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_memberships_organization_member_key")
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(MemberKey::MemberKey)
                    .to_owned(),
            )
            .await
    }
}

/// Must equal `app::members::service::member_key` (a test keeps them equal).
pub fn member_key(name: &str, email_normalized: &str) -> String {
    format!("{} {}", name.to_lowercase(), email_normalized)
}
