//! Directory sync (SCIM 2.0): the company's identity provider manages the members.
//!
//! - `scim_tokens`: bearer tokens for the provider, stored as a SHA-256 hash (the token is
//!   random: no slow hash needed). A new token is also kept sealed until it has been shown
//!   once to the session that made it (`reveal_session_id` until `reveal_until`).
//! - `scim_users`: a person the provider pushed, linked to an account. `active` false
//!   suspends their membership (it is deleted and comes back with `active` true), so the
//!   link outlives the membership.
//! - `scim_groups` and `scim_group_members`: the provider's groups; an owner maps a group
//!   to a role, and a provisioned member's role is the highest role of their groups.
//! - `scim_requests`: the last requests of each organization, for troubleshooting.
//! - audit events: the actor `directory_sync`, and kinds for tokens, suspensions and
//!   the last owner a sync could not remove.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use super::{
    m20261123_000001_accounts::Users,
    m20261124_000002_organizations::Organizations,
    m20261205_000018_saml::replace_kind_check,
    m20261205_000019_api_keys::{replace_actor_kind_check, ACTOR_KINDS_API},
    m20261206_000020_webhooks::AUDIT_KINDS_WEBHOOKS,
};

const ACTOR_KINDS_SYNC: &str =
    "actor_kind IN ('user', 'system', 'staff', 'api_key', 'directory_sync')";

const AUDIT_KINDS_SYNC: &str = "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided', \
     'two_factor_required', 'two_factor_not_required', 'factor_added', 'factor_removed', \
     'recovery_code_used', 'blocked_by_two_factor', 'passkeys_required', \
     'passkeys_not_required', 'sso_refused', 'sso_certificate_expiring', 'member_added', \
     'api_key_created', 'api_key_first_used', 'api_key_revoked', 'api_key_expired', \
     'webhook_added', 'webhook_removed', 'webhook_disabled', 'webhook_enabled', \
     'webhook_secret_rotated', 'scim_token_created', 'scim_token_revoked', \
     'member_suspended', 'member_restored', 'scim_group_mapped', 'last_owner_kept')";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScimTokens::Table)
                    .col(pk_auto(ScimTokens::Id))
                    .col(integer(ScimTokens::OrganizationId))
                    .col(string_len_uniq(ScimTokens::SecretHash, 64))
                    .col(integer_null(ScimTokens::CreatedById))
                    .col(string_len(ScimTokens::CreatedByName, 200))
                    .col(timestamp_with_time_zone(ScimTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ScimTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ScimTokens::RevokedAt))
                    .col(text_null(ScimTokens::TokenSealed))
                    .col(integer_null(ScimTokens::RevealSessionId))
                    .col(timestamp_with_time_zone_null(ScimTokens::RevealUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_tokens_organization")
                            .from(ScimTokens::Table, ScimTokens::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_tokens_created_by")
                            .from(ScimTokens::Table, ScimTokens::CreatedById)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_scim_tokens_organization")
                    .table(ScimTokens::Table)
                    .col(ScimTokens::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimUsers::Table)
                    .col(pk_auto(ScimUsers::Id))
                    // The SCIM `id`: random, so one organization's ids say nothing of another's.
                    .col(string_len_uniq(ScimUsers::PublicId, 36))
                    .col(integer(ScimUsers::OrganizationId))
                    .col(integer(ScimUsers::UserId))
                    .col(
                        string_len(ScimUsers::UserName, 320)
                            .check(Expr::cust("length(user_name) > 0")),
                    )
                    .col(string_len(ScimUsers::UserNameNormalized, 320))
                    .col(string_len_null(ScimUsers::ExternalId, 256))
                    .col(string_len_null(ScimUsers::DisplayName, 200))
                    .col(string_len_null(ScimUsers::GivenName, 200))
                    .col(string_len_null(ScimUsers::FamilyName, 200))
                    // The primary address (`emails` or `userName`), for filters; the account
                    // linked at creation keeps its own address.
                    .col(string_len(ScimUsers::Email, 320))
                    // `emails` as the provider sent them (checked), returned as sent.
                    .col(text(ScimUsers::Emails))
                    .col(string_len_null(ScimUsers::NameFormatted, 400))
                    .col(boolean(ScimUsers::Active))
                    .col(timestamp_with_time_zone(ScimUsers::CreatedAt))
                    .col(timestamp_with_time_zone(ScimUsers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_users_organization")
                            .from(ScimUsers::Table, ScimUsers::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_users_user")
                            .from(ScimUsers::Table, ScimUsers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "uq_scim_users_user_name",
                [ScimUsers::OrganizationId, ScimUsers::UserNameNormalized],
            ),
            (
                "uq_scim_users_account",
                [ScimUsers::OrganizationId, ScimUsers::UserId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(ScimUsers::Table).unique();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ScimGroups::Table)
                    .col(pk_auto(ScimGroups::Id))
                    .col(string_len_uniq(ScimGroups::PublicId, 36))
                    .col(integer(ScimGroups::OrganizationId))
                    .col(
                        string_len(ScimGroups::DisplayName, 200)
                            .check(Expr::cust("length(display_name) > 0")),
                    )
                    .col(string_len(ScimGroups::DisplayNameNormalized, 200))
                    .col(string_len_null(ScimGroups::ExternalId, 256))
                    // The role the group gives its members; none until an owner maps it.
                    .col(
                        string_len_null(ScimGroups::Role, 16)
                            .check(Expr::cust("role IN ('owner', 'admin', 'member')")),
                    )
                    .col(timestamp_with_time_zone(ScimGroups::CreatedAt))
                    .col(timestamp_with_time_zone(ScimGroups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_groups_organization")
                            .from(ScimGroups::Table, ScimGroups::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_scim_groups_display_name")
                    .table(ScimGroups::Table)
                    .col(ScimGroups::OrganizationId)
                    .col(ScimGroups::DisplayNameNormalized)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimGroupMembers::Table)
                    .col(integer(ScimGroupMembers::GroupId))
                    .col(integer(ScimGroupMembers::ScimUserId))
                    .primary_key(
                        Index::create()
                            .col(ScimGroupMembers::GroupId)
                            .col(ScimGroupMembers::ScimUserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_group_members_group")
                            .from(ScimGroupMembers::Table, ScimGroupMembers::GroupId)
                            .to(ScimGroups::Table, ScimGroups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_group_members_user")
                            .from(ScimGroupMembers::Table, ScimGroupMembers::ScimUserId)
                            .to(ScimUsers::Table, ScimUsers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_scim_group_members_user")
                    .table(ScimGroupMembers::Table)
                    .col(ScimGroupMembers::ScimUserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimRequests::Table)
                    .col(pk_auto(ScimRequests::Id))
                    .col(integer(ScimRequests::OrganizationId))
                    .col(timestamp_with_time_zone(ScimRequests::At))
                    .col(string_len(ScimRequests::Method, 8))
                    .col(string_len(ScimRequests::Path, 300))
                    .col(integer(ScimRequests::Status))
                    .col(string_len_null(ScimRequests::Detail, 500))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_requests_organization")
                            .from(ScimRequests::Table, ScimRequests::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_scim_requests_organization")
                    .table(ScimRequests::Table)
                    .col(ScimRequests::OrganizationId)
                    .col(ScimRequests::Id)
                    .to_owned(),
            )
            .await?;

        // `directory_sync` is longer than the column's 10 characters (SQLite does not
        // enforce lengths; PostgreSQL does).
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE audit_events ALTER COLUMN actor_kind TYPE varchar(20)",
                )
                .await?;
        }
        replace_actor_kind_check(manager, ACTOR_KINDS_API, ACTOR_KINDS_SYNC).await?;
        replace_kind_check(manager, AUDIT_KINDS_WEBHOOKS, AUDIT_KINDS_SYNC).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "DELETE FROM audit_events WHERE actor_kind = 'directory_sync' OR kind IN \
             ('scim_token_created', 'scim_token_revoked', 'member_suspended', \
             'member_restored', 'scim_group_mapped', 'last_owner_kept')",
        )
        .await?;
        replace_kind_check(manager, AUDIT_KINDS_SYNC, AUDIT_KINDS_WEBHOOKS).await?;
        replace_actor_kind_check(manager, ACTOR_KINDS_SYNC, ACTOR_KINDS_API).await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE audit_events ALTER COLUMN actor_kind TYPE varchar(10)",
            )
            .await?;
        }
        for table in [
            ScimRequests::Table.into_iden(),
            ScimGroupMembers::Table.into_iden(),
            ScimGroups::Table.into_iden(),
            ScimUsers::Table.into_iden(),
            ScimTokens::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ScimTokens {
    Table,
    Id,
    OrganizationId,
    SecretHash,
    CreatedById,
    CreatedByName,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
    TokenSealed,
    RevealSessionId,
    RevealUntil,
}

#[derive(DeriveIden)]
enum ScimUsers {
    Table,
    Id,
    PublicId,
    OrganizationId,
    UserId,
    UserName,
    UserNameNormalized,
    ExternalId,
    DisplayName,
    GivenName,
    FamilyName,
    Email,
    Emails,
    NameFormatted,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScimGroups {
    Table,
    Id,
    PublicId,
    OrganizationId,
    DisplayName,
    DisplayNameNormalized,
    ExternalId,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScimGroupMembers {
    Table,
    GroupId,
    ScimUserId,
}

#[derive(DeriveIden)]
enum ScimRequests {
    Table,
    Id,
    OrganizationId,
    At,
    Method,
    Path,
    Status,
    Detail,
}
