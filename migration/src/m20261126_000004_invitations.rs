//! Invitations, the mail outbox, email verification tokens and the audit log.
//!
//! - `invitations`: one row per invited address and organization; the link's token is stored
//!   only as its SHA-256. A partial unique index allows one *pending* invitation per address
//!   and organization, so a duplicate cannot slip in between two concurrent requests.
//! - `mail_outbox`: every email is written here in the transaction that causes it and sent
//!   later by a background worker, so a slow or absent SMTP server never fails a request and
//!   a restart loses nothing.
//! - `email_verifications`: the tokens of the "verify your email" links.
//! - `audit_events`: who did what in an organization.

use sea_orm_migration::{prelude::*, schema::*};

use super::{m20261123_000001_accounts::Users, m20261124_000002_organizations::Organizations};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(pk_auto(Invitations::Id))
                    .col(integer(Invitations::OrganizationId))
                    .col(string_len(Invitations::Email, 254))
                    .col(string_len(Invitations::EmailNormalized, 254))
                    .col(
                        string_len(Invitations::Role, 10)
                            .check(Expr::cust("role IN ('owner', 'admin', 'member')")),
                    )
                    .col(
                        string_len(Invitations::Status, 10)
                            .default("pending")
                            .check(Expr::cust(
                                "status IN ('pending', 'accepted', 'declined', 'revoked')",
                            )),
                    )
                    .col(string_len_uniq(Invitations::TokenHash, 64))
                    .col(integer_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .col(timestamp_with_time_zone(Invitations::SentAt))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_organization")
                            .from(Invitations::Table, Invitations::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_invited_by")
                            .from(Invitations::Table, Invitations::InvitedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Same syntax on SQLite and PostgreSQL; sea-query has no partial indexes.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX idx_invitations_one_pending ON invitations \
             (organization_id, email_normalized) WHERE status = 'pending'",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_organization_status")
                    .table(Invitations::Table)
                    .col(Invitations::OrganizationId)
                    .col(Invitations::Status)
                    .col(Invitations::SentAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_email")
                    .table(Invitations::Table)
                    .col(Invitations::EmailNormalized)
                    .col(Invitations::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(pk_auto(MailOutbox::Id))
                    .col(string_len(MailOutbox::Recipient, 254))
                    .col(string_len(MailOutbox::Subject, 300))
                    .col(text(MailOutbox::TextBody))
                    .col(text(MailOutbox::HtmlBody))
                    .col(timestamp_with_time_zone(MailOutbox::CreatedAt))
                    .col(integer(MailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(MailOutbox::NextAttemptAt))
                    // A worker owns the message until then; after a crash another takes it.
                    .col(timestamp_with_time_zone_null(MailOutbox::ClaimedUntil))
                    .col(text_null(MailOutbox::LastError))
                    .col(timestamp_with_time_zone_null(MailOutbox::SentAt))
                    .col(timestamp_with_time_zone_null(MailOutbox::FailedAt))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_mail_outbox_due ON mail_outbox (next_attempt_at) \
             WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailVerifications::Table)
                    .col(pk_auto(EmailVerifications::Id))
                    .col(integer(EmailVerifications::UserId))
                    .col(string_len_uniq(EmailVerifications::TokenHash, 64))
                    .col(timestamp_with_time_zone(EmailVerifications::CreatedAt))
                    .col(timestamp_with_time_zone(EmailVerifications::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_verifications_user")
                            .from(EmailVerifications::Table, EmailVerifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_auto(AuditEvents::Id))
                    .col(integer(AuditEvents::OrganizationId))
                    .col(integer_null(AuditEvents::ActorId))
                    // Names and addresses as they were, so the log reads the same later.
                    .col(string_len(AuditEvents::ActorName, 100))
                    .col(string_len(AuditEvents::Kind, 30).check(Expr::cust(
                        "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
                         'role_changed', 'removed', 'left', 'created', 'profile_changed', \
                         'logo_changed')",
                    )))
                    .col(string_len_null(AuditEvents::Subject, 254))
                    .col(string_len_null(AuditEvents::Role, 10))
                    .col(string_len_null(AuditEvents::PreviousRole, 10))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_events_organization")
                            .from(AuditEvents::Table, AuditEvents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_events_actor")
                            .from(AuditEvents::Table, AuditEvents::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_organization")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::OrganizationId)
                    .col(AuditEvents::Kind)
                    .col(AuditEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_organization_time")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::OrganizationId)
                    .col(AuditEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // Accounts from before email verification existed keep working as they did.
        db.execute_unprepared(
            "UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            EmailVerifications::Table.into_iden(),
            MailOutbox::Table.into_iden(),
            Invitations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    Email,
    EmailNormalized,
    Role,
    Status,
    TokenHash,
    InvitedBy,
    CreatedAt,
    SentAt,
    ExpiresAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastError,
    SentAt,
    FailedAt,
}

#[derive(DeriveIden)]
enum EmailVerifications {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OrganizationId,
    ActorId,
    ActorName,
    Kind,
    Subject,
    Role,
    PreviousRole,
    CreatedAt,
}
