//! The public API's keys and the state its requests share across server processes.
//!
//! - `api_keys`: an organization's keys. Only the SHA-256 of a key is kept (unique: the
//!   lookup), with its display prefix, scopes (the permission matrix's actions, comma
//!   separated), who made it (the name kept for when their account is gone), expiry, last
//!   use and revocation. Keys belong to the organization: a creator's account deleted sets
//!   `created_by_id` to NULL and the key keeps working.
//! - `api_key_reveals`: a new key, sealed, until the session that made it has seen it
//!   (15 minutes at most).
//! - `api_idempotency_keys`: a POST's `Idempotency-Key`, the hash of its request and the
//!   answer it got, for 24 hours (unique per key: a parallel retry waits for, or reads,
//!   the first one's answer instead of writing twice).
//! - `api_rate_windows`: requests counted per key and per organization in fixed windows,
//!   one row per bucket and window, so every server process counts against the same limit.
//! - audit events: `actor_kind` gains `api_key`; new kinds for keys and for a member added
//!   directly (through the API).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DatabaseBackend, Statement},
};

use super::{
    m20261123_000001_accounts::Users,
    m20261124_000002_organizations::Organizations,
    m20261205_000018_saml::{replace_kind_check, AUDIT_KINDS_SAML},
};

pub(crate) const AUDIT_KINDS_API: &str =
    "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided', \
     'two_factor_required', 'two_factor_not_required', 'factor_added', 'factor_removed', \
     'recovery_code_used', 'blocked_by_two_factor', 'passkeys_required', \
     'passkeys_not_required', 'sso_refused', 'sso_certificate_expiring', 'member_added', \
     'api_key_created', 'api_key_first_used', 'api_key_revoked', 'api_key_expired')";

const ACTOR_KINDS_BEFORE: &str = "actor_kind IN ('user', 'system', 'staff')";
pub(crate) const ACTOR_KINDS_API: &str = "actor_kind IN ('user', 'system', 'staff', 'api_key')";

/// Replaces the CHECK on `audit_events.actor_kind` (added with the column, so PostgreSQL
/// named it `audit_events_actor_kind_check`; it is named explicitly from now on). SQLite's
/// table is rebuilt from its schema text by [`replace_kind_check`], which swaps any text.
pub(crate) async fn replace_actor_kind_check(
    manager: &SchemaManager<'_>,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(
            "ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_actor_kind_check",
        )
        .await?;
        db.execute_unprepared(
            "ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS ck_audit_events_actor_kind",
        )
        .await?;
        db.execute(Statement::from_string(
            DatabaseBackend::Postgres,
            format!(
                "ALTER TABLE audit_events ADD CONSTRAINT ck_audit_events_actor_kind CHECK ({to})"
            ),
        ))
        .await?;
        return Ok(());
    }
    replace_kind_check(manager, from, to).await
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_auto(ApiKeys::Id))
                    .col(integer(ApiKeys::OrganizationId))
                    .col(string_len(ApiKeys::Name, 100).check(Expr::cust("length(name) > 0")))
                    // `odk_` and the first characters of the random part: enough to tell
                    // keys apart in the list, far too few to guess the rest.
                    .col(string_len(ApiKeys::Prefix, 16))
                    .col(string_len_uniq(ApiKeys::SecretHash, 64))
                    .col(string_len(ApiKeys::Scopes, 400).check(Expr::cust("length(scopes) > 0")))
                    .col(integer_null(ApiKeys::CreatedById))
                    .col(string_len(ApiKeys::CreatedByName, 200))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(string_len_null(ApiKeys::LastUsedAddress, 64))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    // The owners' warning 7 days before expiry, and the audit event at it.
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiryWarnedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiryRecordedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_organization")
                            .from(ApiKeys::Table, ApiKeys::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_created_by")
                            .from(ApiKeys::Table, ApiKeys::CreatedById)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_organization")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeyReveals::Table)
                    .col(integer(ApiKeyReveals::ApiKeyId).primary_key())
                    // The new key, sealed with the server's key, for the page that shows it
                    // once (with or without JavaScript), to the session that made it only.
                    .col(text(ApiKeyReveals::KeySealed))
                    .col(integer(ApiKeyReveals::SessionId))
                    .col(timestamp_with_time_zone(ApiKeyReveals::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_key_reveals_api_key")
                            .from(ApiKeyReveals::Table, ApiKeyReveals::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_key_reveals_session")
                            .from(ApiKeyReveals::Table, ApiKeyReveals::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiIdempotencyKeys::Table)
                    .col(pk_auto(ApiIdempotencyKeys::Id))
                    .col(integer(ApiIdempotencyKeys::ApiKeyId))
                    .col(string_len(ApiIdempotencyKeys::IdempotencyKey, 255))
                    .col(string_len(ApiIdempotencyKeys::RequestHash, 64))
                    // NULL while the first request is still being answered.
                    .col(integer_null(ApiIdempotencyKeys::ResponseStatus))
                    .col(text_null(ApiIdempotencyKeys::ResponseBody))
                    .col(string_len_null(ApiIdempotencyKeys::ResponseLocation, 2048))
                    .col(timestamp_with_time_zone(ApiIdempotencyKeys::CreatedAt))
                    .col(timestamp_with_time_zone(ApiIdempotencyKeys::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_idempotency_keys_api_key")
                            .from(ApiIdempotencyKeys::Table, ApiIdempotencyKeys::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_api_idempotency_keys_key")
                    .table(ApiIdempotencyKeys::Table)
                    .col(ApiIdempotencyKeys::ApiKeyId)
                    .col(ApiIdempotencyKeys::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_idempotency_keys_expiry")
                    .table(ApiIdempotencyKeys::Table)
                    .col(ApiIdempotencyKeys::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiRateWindows::Table)
                    .col(pk_auto(ApiRateWindows::Id))
                    // `key:<id>` or `organization:<id>`.
                    .col(string_len(ApiRateWindows::Bucket, 64))
                    .col(timestamp_with_time_zone(ApiRateWindows::WindowStart))
                    .col(integer(ApiRateWindows::Requests).check(Expr::cust("requests >= 0")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_api_rate_windows_bucket")
                    .table(ApiRateWindows::Table)
                    .col(ApiRateWindows::Bucket)
                    .col(ApiRateWindows::WindowStart)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_rate_windows_start")
                    .table(ApiRateWindows::Table)
                    .col(ApiRateWindows::WindowStart)
                    .to_owned(),
            )
            .await?;

        replace_kind_check(manager, AUDIT_KINDS_SAML, AUDIT_KINDS_API).await?;
        replace_actor_kind_check(manager, ACTOR_KINDS_BEFORE, ACTOR_KINDS_API).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "DELETE FROM audit_events WHERE kind IN ('member_added', 'api_key_created', \
             'api_key_first_used', 'api_key_revoked', 'api_key_expired') \
             OR actor_kind = 'api_key'",
        )
        .await?;
        replace_actor_kind_check(manager, ACTOR_KINDS_API, ACTOR_KINDS_BEFORE).await?;
        replace_kind_check(manager, AUDIT_KINDS_API, AUDIT_KINDS_SAML).await?;
        for table in [
            ApiRateWindows::Table.into_iden(),
            ApiIdempotencyKeys::Table.into_iden(),
            ApiKeyReveals::Table.into_iden(),
            ApiKeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedById,
    CreatedByName,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    LastUsedAddress,
    RevokedAt,
    ExpiryWarnedAt,
    ExpiryRecordedAt,
}

#[derive(DeriveIden)]
enum ApiKeyReveals {
    Table,
    ApiKeyId,
    KeySealed,
    SessionId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ApiIdempotencyKeys {
    Table,
    Id,
    ApiKeyId,
    IdempotencyKey,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    ResponseLocation,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiRateWindows {
    Table,
    Id,
    Bucket,
    WindowStart,
    Requests,
}
