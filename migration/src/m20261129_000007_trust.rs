//! Trust: domains proven by DNS, account recovery, and sessions a person can see.
//!
//! - `organization_domains`: each domain an organization added, its challenge (the value of
//!   the TXT record to publish at `_orgdesk-challenge.<domain>`), and its status: pending
//!   (not checked yet), verified, or failed (the last check did not find the record). A
//!   domain is *verified* by one organization at most: a partial unique index.
//! - `sso_domains` goes: domains typed into the SSO settings were never proven. They move
//!   over as pending, and SSO is switched off wherever it was on, since it now needs a
//!   verified domain.
//! - new audit event kinds for domains, linked accounts and invitations voided when their
//!   inviter lost the authority to send them.
//! - `password_resets`: "Forgot password?" links, stored only as their SHA-256, one hour.
//! - `sessions` learn how they signed in (password, sso, reset), from which browser and
//!   client address, for the Sessions list in User Settings.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use super::{
    m20261123_000001_accounts::Users,
    m20261124_000002_organizations::Organizations,
    m20261128_000006_sso::{replace_audit_kind_check, AUDIT_KINDS},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

const AUDIT_KINDS_NOW: &str = "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrganizationDomains::Table)
                    .col(pk_auto(OrganizationDomains::Id))
                    .col(integer(OrganizationDomains::OrganizationId))
                    // Lower-case, punycode, no trailing dot.
                    .col(string_len(OrganizationDomains::Domain, 253))
                    .col(
                        string_len(OrganizationDomains::Status, 16)
                            .check(Expr::cust("status IN ('pending', 'verified', 'failed')")),
                    )
                    .col(string_len(OrganizationDomains::Challenge, 64))
                    .col(timestamp_with_time_zone_null(
                        OrganizationDomains::VerifiedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        OrganizationDomains::CheckedAt,
                    ))
                    .col(timestamp_with_time_zone(OrganizationDomains::CreatedAt))
                    .check(Expr::cust(
                        "(status = 'verified') = (verified_at IS NOT NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_domains_organization")
                            .from(
                                OrganizationDomains::Table,
                                OrganizationDomains::OrganizationId,
                            )
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organization_domains_once")
                    .table(OrganizationDomains::Table)
                    .col(OrganizationDomains::OrganizationId)
                    .col(OrganizationDomains::Domain)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Same syntax on SQLite and PostgreSQL; sea-query has no partial indexes.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX idx_organization_domains_verified_once \
             ON organization_domains (domain) WHERE status = 'verified'",
        )
        .await?;
        // The daily re-check finds verified domains by when they were last checked.
        manager
            .create_index(
                Index::create()
                    .name("idx_organization_domains_status_checked")
                    .table(OrganizationDomains::Table)
                    .col(OrganizationDomains::Status)
                    .col(OrganizationDomains::CheckedAt)
                    .to_owned(),
            )
            .await?;

        // Unproven domains move over as pending, each with a challenge of its own.
        let random_hex = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "replace(gen_random_uuid()::text, '-', '')",
            _ => "lower(hex(randomblob(16)))",
        };
        let now = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "now()",
            _ => "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')",
        };
        db.execute_unprepared(&format!(
            "INSERT INTO organization_domains (organization_id, domain, status, challenge, created_at) \
             SELECT organization_id, domain, 'pending', {random_hex}, {now} FROM sso_domains"
        ))
        .await?;
        db.execute_unprepared("UPDATE sso_connections SET enabled = false WHERE enabled")
            .await?;
        manager
            .drop_table(Table::drop().table(SsoDomains::Table).to_owned())
            .await?;
        replace_audit_kind_check(manager, AUDIT_KINDS_NOW).await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordResets::Table)
                    .col(pk_auto(PasswordResets::Id))
                    .col(integer(PasswordResets::UserId))
                    .col(string_len_uniq(PasswordResets::TokenHash, 64))
                    .col(timestamp_with_time_zone(PasswordResets::CreatedAt))
                    .col(timestamp_with_time_zone(PasswordResets::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_resets_user")
                            .from(PasswordResets::Table, PasswordResets::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_password_resets_user")
                    .table(PasswordResets::Table)
                    .col(PasswordResets::UserId)
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite adds one at a time.
        for column in [
            ColumnDef::new(Sessions::SignInMethod)
                .string_len(16)
                .not_null()
                .default("password")
                .check(Expr::cust("sign_in_method IN ('password', 'sso', 'reset')"))
                .to_owned(),
            ColumnDef::new(Sessions::UserAgent)
                .string_len(200)
                .null()
                .to_owned(),
            ColumnDef::new(Sessions::ClientAddress)
                .string_len(45)
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Sessions::SignInMethod,
            Sessions::UserAgent,
            Sessions::ClientAddress,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(PasswordResets::Table).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoDomains::Table)
                    .col(pk_auto(SsoDomains::Id))
                    .col(integer(SsoDomains::OrganizationId))
                    .col(string_len_uniq(SsoDomains::Domain, 253))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_domains_organization")
                            .from(SsoDomains::Table, SsoDomains::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_domains_organization")
                    .table(SsoDomains::Table)
                    .col(SsoDomains::OrganizationId)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO sso_domains (organization_id, domain) \
             SELECT organization_id, domain FROM organization_domains WHERE status = 'verified'",
        )
        .await?;
        db.execute_unprepared(
            "DELETE FROM audit_events WHERE kind IN ('domain_added', 'domain_verified', \
             'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided')",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(OrganizationDomains::Table).to_owned())
            .await?;
        replace_audit_kind_check(manager, AUDIT_KINDS).await
    }
}

#[derive(DeriveIden)]
enum OrganizationDomains {
    Table,
    Id,
    OrganizationId,
    Domain,
    Status,
    Challenge,
    VerifiedAt,
    CheckedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SsoDomains {
    Table,
    Id,
    OrganizationId,
    Domain,
}

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SignInMethod,
    UserAgent,
    ClientAddress,
}
