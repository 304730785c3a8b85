//! Organizations, their logos and their memberships.
//!
//! `users.membership_count` carries the "at most 400 organizations per user" rule into the
//! database: every membership insert increments it in the same transaction, and the CHECK
//! refuses a 401st. The increment also locks the user's row, which serializes concurrent
//! joins of one user on PostgreSQL and SQLite alike.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_auto(Organizations::Id))
                    // Shown to users and used in URLs: random, never sequential.
                    .col(
                        string_len_uniq(Organizations::PublicId, 40)
                            .check(Expr::cust("length(public_id) BETWEEN 20 AND 40")),
                    )
                    .col(
                        string_len(Organizations::Name, 100)
                            .check(Expr::cust("length(name) BETWEEN 1 AND 100")),
                    )
                    .col(
                        string_len(Organizations::Stage, 20)
                            .default("free")
                            .check(Expr::cust(
                                "stage IN ('free', 'preproduction', 'production')",
                            )),
                    )
                    .col(string_len_null(Organizations::AlertEmail, 254))
                    .col(
                        text_null(Organizations::Overview)
                            .check(Expr::cust("overview IS NULL OR length(overview) <= 2000")),
                    )
                    .col(string_len_null(Organizations::SalesEmail, 254))
                    .col(string_len_null(Organizations::Phone, 20))
                    .col(string_len_null(Organizations::Website, 2048))
                    .col(
                        string_len_null(Organizations::XHandle, 15).check(Expr::cust(
                            "x_handle IS NULL OR length(x_handle) BETWEEN 1 AND 15",
                        )),
                    )
                    // SHA-256 of the stored logo: part of its URL, so caches never go stale.
                    .col(string_len_null(Organizations::LogoHash, 64))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organizations_name")
                    .table(Organizations::Table)
                    .col(Organizations::Name)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrganizationLogos::Table)
                    .col(integer(OrganizationLogos::OrganizationId).primary_key())
                    .col(string_len(OrganizationLogos::ContentHash, 64))
                    .col(blob(OrganizationLogos::Image))
                    .col(timestamp_with_time_zone(OrganizationLogos::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_logos_organization")
                            .from(OrganizationLogos::Table, OrganizationLogos::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_auto(Memberships::Id))
                    .col(integer(Memberships::OrganizationId))
                    .col(integer(Memberships::UserId))
                    .col(
                        string_len(Memberships::Role, 10)
                            .check(Expr::cust("role IN ('owner', 'admin', 'member')")),
                    )
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    // The user's current organization is the one they chose most recently.
                    .col(timestamp_with_time_zone(Memberships::SelectedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_organization")
                            .from(Memberships::Table, Memberships::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_user")
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_organization_user")
                    .table(Memberships::Table)
                    .col(Memberships::OrganizationId)
                    .col(Memberships::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_user_selected")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .col(Memberships::SelectedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        integer(UsersMembershipCount::MembershipCount)
                            .default(0)
                            .check(Expr::cust("membership_count BETWEEN 0 AND 400")),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(UsersMembershipCount::MembershipCount)
                    .to_owned(),
            )
            .await?;
        for table in [
            Memberships::Table.into_iden(),
            OrganizationLogos::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum UsersMembershipCount {
    MembershipCount,
}

#[derive(DeriveIden)]
pub enum Organizations {
    Table,
    Id,
    PublicId,
    Name,
    Stage,
    AlertEmail,
    Overview,
    SalesEmail,
    Phone,
    Website,
    XHandle,
    LogoHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganizationLogos {
    Table,
    OrganizationId,
    ContentHash,
    Image,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Memberships {
    Table,
    Id,
    OrganizationId,
    UserId,
    Role,
    CreatedAt,
    SelectedAt,
}
