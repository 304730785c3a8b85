//! SAML 2.0 beside OpenID Connect.
//!
//! - `sso_connections.protocol`: which protocol the organization's connection speaks. A
//!   SAML connection leaves the OpenID Connect columns empty; its provider is in
//!   `saml_providers`. Enabling still needs a passed test (the existing check).
//! - `saml_providers`: the identity provider's metadata (as given, and what Orgdesk read
//!   from it: entity ID, sign-in URL, signing certificates), the attribute mapping and the
//!   `AuthnContextClassRef` values that count as multi-factor.
//! - `saml_sp_keys`: each organization's service-provider keys (the private key sealed like
//!   the OpenID Connect client secret), several during a rotation.
//! - `saml_assertion_ids`: assertions already used, until they expire: the replay cache
//!   every server process shares.
//! - `sso_logins.saml_identity`: who the ACS verified, waiting for the browser to come back
//!   on this site (the provider's POST carries no same-site cookie).
//! - new audit event kinds: an SSO sign-in refused (an address outside the verified domains),
//!   and a provider's signing certificates about to expire.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DatabaseBackend, Statement},
};

use super::{
    m20261124_000002_organizations::Organizations, m20261203_000014_two_factor::AUDIT_KINDS_NOW,
};

pub(crate) const AUDIT_KINDS_SAML: &str =
    "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided', \
     'two_factor_required', 'two_factor_not_required', 'factor_added', 'factor_removed', \
     'recovery_code_used', 'blocked_by_two_factor', 'passkeys_required', \
     'passkeys_not_required', 'sso_refused', 'sso_certificate_expiring')";

/// Replaces the CHECK on `audit_events.kind`. PostgreSQL changes the constraint; SQLite
/// cannot, so the table is made again from its own schema text (whatever columns later
/// migrations added: `actor_kind`), with only the check's text changed.
pub(crate) async fn replace_kind_check(
    manager: &SchemaManager<'_>,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(
            "ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS ck_audit_events_kind",
        )
        .await?;
        return db
            .execute_unprepared(&format!(
                "ALTER TABLE audit_events ADD CONSTRAINT ck_audit_events_kind CHECK ({to})"
            ))
            .await
            .map(|_| ());
    }
    let read = |sql: &str| Statement::from_string(DatabaseBackend::Sqlite, sql.to_string());
    let table = db
        .query_one(read(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("audit_events is missing".into()))?
        .try_get::<String>("", "sql")?;
    if !table.contains(from) {
        return Err(DbErr::Migration(
            "audit_events' kind check is not the expected one".into(),
        ));
    }
    let indexes = db
        .query_all(read("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL"))
        .await?
        .into_iter()
        .map(|row| row.try_get::<String>("", "sql"))
        .collect::<Result<Vec<_>, _>>()?;
    let next = table
        .replace(from, to)
        .replacen("audit_events", "audit_events_next", 1);
    db.execute_unprepared(&next).await?;
    db.execute_unprepared("INSERT INTO audit_events_next SELECT * FROM audit_events")
        .await?;
    db.execute_unprepared("DROP TABLE audit_events").await?;
    db.execute_unprepared("ALTER TABLE audit_events_next RENAME TO audit_events")
        .await?;
    for index in indexes {
        db.execute_unprepared(&index).await?;
    }
    Ok(())
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SsoConnections::Table)
                    .add_column(
                        string_len(SsoConnections::Protocol, 8)
                            .default("oidc")
                            .check(Expr::cust("protocol IN ('oidc', 'saml')")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoLogins::Table)
                    .add_column(text_null(SsoLogins::SamlIdentity))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SamlProviders::Table)
                    .col(pk_auto(SamlProviders::Id))
                    .col(integer_uniq(SamlProviders::OrganizationId))
                    .col(string_len(SamlProviders::EntityId, 1024))
                    .col(string_len(SamlProviders::SsoUrl, 2048))
                    // The metadata as the owner gave it (at most 512 KiB, checked before).
                    .col(text(SamlProviders::MetadataXml))
                    .col(string_len_null(SamlProviders::MetadataUrl, 2048))
                    .col(timestamp_with_time_zone_null(
                        SamlProviders::MetadataFetchedAt,
                    ))
                    // JSON: each signing certificate (base64 DER), its SHA-256 and expiry.
                    .col(text(SamlProviders::SigningCertificates))
                    .col(timestamp_with_time_zone(
                        SamlProviders::CertificatesExpireAt,
                    ))
                    .col(string_len_null(SamlProviders::EmailAttribute, 255))
                    .col(string_len_null(SamlProviders::FirstNameAttribute, 255))
                    .col(string_len_null(SamlProviders::LastNameAttribute, 255))
                    .col(string_len_null(SamlProviders::UserIdAttribute, 255))
                    .col(string_len_null(SamlProviders::MfaClassRefs, 2000))
                    .col(boolean(SamlProviders::SignRequests).default(true))
                    // The last warnings sent about the certificates' expiry (30 and 7 days).
                    .col(integer_null(SamlProviders::ExpiryWarnedDays))
                    // JSON: the last Test connection's inspector (what arrived, or why not).
                    .col(text_null(SamlProviders::LastTest))
                    .col(timestamp_with_time_zone(SamlProviders::CreatedAt))
                    .col(timestamp_with_time_zone(SamlProviders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_saml_providers_organization")
                            .from(SamlProviders::Table, SamlProviders::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SamlSpKeys::Table)
                    .col(pk_auto(SamlSpKeys::Id))
                    .col(integer(SamlSpKeys::OrganizationId))
                    .col(text(SamlSpKeys::PrivateKey))
                    // Base64 DER, as the metadata's KeyDescriptor carries it.
                    .col(text(SamlSpKeys::Certificate))
                    .col(timestamp_with_time_zone(SamlSpKeys::NotAfter))
                    .col(timestamp_with_time_zone(SamlSpKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(SamlSpKeys::RetiredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_saml_sp_keys_organization")
                            .from(SamlSpKeys::Table, SamlSpKeys::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_saml_sp_keys_organization")
                    .table(SamlSpKeys::Table)
                    .col(SamlSpKeys::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SamlAssertionIds::Table)
                    .col(pk_auto(SamlAssertionIds::Id))
                    // SHA-256 of the issuer and the assertion's ID: one use, whoever asks.
                    .col(string_len_uniq(SamlAssertionIds::AssertionHash, 64))
                    .col(integer(SamlAssertionIds::OrganizationId))
                    .col(timestamp_with_time_zone(SamlAssertionIds::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_saml_assertion_ids_organization")
                            .from(SamlAssertionIds::Table, SamlAssertionIds::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_saml_assertion_ids_expiry")
                    .table(SamlAssertionIds::Table)
                    .col(SamlAssertionIds::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        replace_kind_check(manager, AUDIT_KINDS_NOW, AUDIT_KINDS_SAML).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM audit_events WHERE kind IN ('sso_refused', 'sso_certificate_expiring')",
            )
            .await?;
        replace_kind_check(manager, AUDIT_KINDS_SAML, AUDIT_KINDS_NOW).await?;
        for table in [
            SamlAssertionIds::Table.into_iden(),
            SamlSpKeys::Table.into_iden(),
            SamlProviders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(SsoLogins::Table)
                    .drop_column(SsoLogins::SamlIdentity)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoConnections::Table)
                    .drop_column(SsoConnections::Protocol)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    Protocol,
}

#[derive(DeriveIden)]
enum SsoLogins {
    Table,
    SamlIdentity,
}

#[derive(DeriveIden)]
enum SamlProviders {
    Table,
    Id,
    OrganizationId,
    EntityId,
    SsoUrl,
    MetadataXml,
    MetadataUrl,
    MetadataFetchedAt,
    SigningCertificates,
    CertificatesExpireAt,
    EmailAttribute,
    FirstNameAttribute,
    LastNameAttribute,
    UserIdAttribute,
    MfaClassRefs,
    SignRequests,
    ExpiryWarnedDays,
    LastTest,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SamlSpKeys {
    Table,
    Id,
    OrganizationId,
    PrivateKey,
    Certificate,
    NotAfter,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum SamlAssertionIds {
    Table,
    Id,
    AssertionHash,
    OrganizationId,
    ExpiresAt,
}
