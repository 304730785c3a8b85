//! Single sign-on through OpenID Connect:
//! - `sso_connections`: one identity provider per organization; it can be enabled only after
//!   a test sign-in passed (a check constraint holds that).
//! - `sso_domains`: the email domains whose users sign in through it; a domain belongs to one
//!   organization only.
//! - `sso_identities`: which provider subject is which user, so a changed email at the
//!   provider still finds the same account.
//! - `sso_logins`: sign-ins in flight between the redirect to the provider and its callback
//!   (state, nonce and PKCE verifier), used once.
//! - new audit event kinds: joined through SSO, SSO settings changed, enabled, disabled.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use super::{m20261123_000001_accounts::Users, m20261124_000002_organizations::Organizations};

#[derive(DeriveMigrationName)]
pub struct Migration;

const AUDIT_KINDS_BEFORE: &str = "kind IN ('invited', 'resent', 'revoked', 'accepted', \
     'declined', 'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed')";
pub(crate) const AUDIT_KINDS: &str =
    "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SsoConnections::Table)
                    .col(pk_auto(SsoConnections::Id))
                    .col(integer_uniq(SsoConnections::OrganizationId))
                    .col(string_len(SsoConnections::ProviderName, 100))
                    .col(string_len(SsoConnections::IssuerUrl, 500))
                    .col(string_len(SsoConnections::ClientId, 255))
                    .col(string_len(SsoConnections::ClientSecret, 1000))
                    .col(boolean(SsoConnections::TrustEmails).default(false))
                    .col(boolean(SsoConnections::Enabled).default(false))
                    .col(timestamp_with_time_zone_null(SsoConnections::TestedAt))
                    .col(string_len_null(SsoConnections::TestedEmail, 254))
                    .col(timestamp_with_time_zone(SsoConnections::CreatedAt))
                    .col(timestamp_with_time_zone(SsoConnections::UpdatedAt))
                    .check(Expr::cust("NOT enabled OR tested_at IS NOT NULL"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_connections_organization")
                            .from(SsoConnections::Table, SsoConnections::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SsoDomains::Table)
                    .col(pk_auto(SsoDomains::Id))
                    .col(integer(SsoDomains::OrganizationId))
                    // Stored lower-case, without a trailing dot.
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

        manager
            .create_table(
                Table::create()
                    .table(SsoIdentities::Table)
                    .col(pk_auto(SsoIdentities::Id))
                    .col(integer(SsoIdentities::OrganizationId))
                    .col(integer(SsoIdentities::UserId))
                    .col(string_len(SsoIdentities::Subject, 255))
                    .col(timestamp_with_time_zone(SsoIdentities::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_identities_organization")
                            .from(SsoIdentities::Table, SsoIdentities::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_identities_user")
                            .from(SsoIdentities::Table, SsoIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_identities_subject")
                    .table(SsoIdentities::Table)
                    .col(SsoIdentities::OrganizationId)
                    .col(SsoIdentities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_identities_user")
                    .table(SsoIdentities::Table)
                    .col(SsoIdentities::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SsoLogins::Table)
                    .col(pk_auto(SsoLogins::Id))
                    .col(string_len_uniq(SsoLogins::StateHash, 64))
                    // SHA-256 of a cookie set on the browser that started the sign-in: the
                    // callback must come back to that browser (no login CSRF).
                    .col(string_len(SsoLogins::BrowserHash, 64))
                    .col(integer(SsoLogins::OrganizationId))
                    .col(
                        string_len(SsoLogins::Purpose, 10)
                            .check(Expr::cust("purpose IN ('login', 'test')")),
                    )
                    // The owner running a test sign-in.
                    .col(integer_null(SsoLogins::StartedBy))
                    .col(string_len(SsoLogins::Nonce, 100))
                    .col(string_len(SsoLogins::PkceVerifier, 200))
                    .col(string_len_null(SsoLogins::NextPath, 500))
                    .col(timestamp_with_time_zone(SsoLogins::CreatedAt))
                    .col(timestamp_with_time_zone(SsoLogins::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_logins_organization")
                            .from(SsoLogins::Table, SsoLogins::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_logins_started_by")
                            .from(SsoLogins::Table, SsoLogins::StartedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_logins_expires_at")
                    .table(SsoLogins::Table)
                    .col(SsoLogins::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        replace_audit_kind_check(manager, AUDIT_KINDS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "DELETE FROM audit_events WHERE kind IN \
             ('joined', 'sso_changed', 'sso_enabled', 'sso_disabled')",
        )
        .await?;
        replace_audit_kind_check(manager, AUDIT_KINDS_BEFORE).await?;
        for table in [
            SsoLogins::Table.into_iden(),
            SsoIdentities::Table.into_iden(),
            SsoDomains::Table.into_iden(),
            SsoConnections::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Swaps the check on `audit_events.kind`. PostgreSQL alters the constraint in place;
/// SQLite cannot alter a check, so the table is rebuilt with the same columns and rows.
pub(crate) async fn replace_audit_kind_check(
    manager: &SchemaManager<'_>,
    check: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            // The first migration declared the check inline, so PostgreSQL named it.
            db.execute_unprepared(
                "ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_kind_check",
            )
            .await?;
            db.execute_unprepared(
                "ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS ck_audit_events_kind",
            )
            .await?;
            db.execute_unprepared(&format!(
                "ALTER TABLE audit_events ADD CONSTRAINT ck_audit_events_kind CHECK ({check})"
            ))
            .await?;
        }
        _ => {
            manager
                .create_table(audit_events_table(
                    AuditEventsNext::Table.into_iden(),
                    check,
                ))
                .await?;
            db.execute_unprepared(
                "INSERT INTO audit_events_next (id, organization_id, actor_id, actor_name, kind, \
                 subject, role, previous_role, created_at) SELECT id, organization_id, actor_id, \
                 actor_name, kind, subject, role, previous_role, created_at FROM audit_events",
            )
            .await?;
            db.execute_unprepared("DROP TABLE audit_events").await?;
            db.execute_unprepared("ALTER TABLE audit_events_next RENAME TO audit_events")
                .await?;
            for (name, with_kind) in [
                ("idx_audit_events_organization", true),
                ("idx_audit_events_organization_time", false),
            ] {
                let mut index = Index::create();
                index
                    .name(name)
                    .table(AuditEvents::Table)
                    .col(AuditEvents::OrganizationId);
                if with_kind {
                    index.col(AuditEvents::Kind);
                }
                manager
                    .create_index(index.col(AuditEvents::CreatedAt).to_owned())
                    .await?;
            }
        }
    }
    Ok(())
}

/// `audit_events` as the invitations migration made it, under `name`, with `check` on kind.
fn audit_events_table(name: DynIden, check: &str) -> TableCreateStatement {
    Table::create()
        .table(name.clone())
        .col(pk_auto(AuditEvents::Id))
        .col(integer(AuditEvents::OrganizationId))
        .col(integer_null(AuditEvents::ActorId))
        .col(string_len(AuditEvents::ActorName, 100))
        .col(string_len(AuditEvents::Kind, 30).check(Expr::cust(check)))
        .col(string_len_null(AuditEvents::Subject, 254))
        .col(string_len_null(AuditEvents::Role, 10))
        .col(string_len_null(AuditEvents::PreviousRole, 10))
        .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_audit_events_organization")
                .from(name.clone(), AuditEvents::OrganizationId)
                .to(Organizations::Table, Organizations::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_audit_events_actor")
                .from(name, AuditEvents::ActorId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::SetNull),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    Id,
    OrganizationId,
    ProviderName,
    IssuerUrl,
    ClientId,
    ClientSecret,
    TrustEmails,
    Enabled,
    TestedAt,
    TestedEmail,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SsoDomains {
    Table,
    Id,
    OrganizationId,
    Domain,
}

#[derive(DeriveIden)]
enum SsoIdentities {
    Table,
    Id,
    OrganizationId,
    UserId,
    Subject,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SsoLogins {
    Table,
    Id,
    StateHash,
    BrowserHash,
    OrganizationId,
    Purpose,
    StartedBy,
    Nonce,
    PkceVerifier,
    NextPath,
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

#[derive(DeriveIden)]
enum AuditEventsNext {
    Table,
}
