//! The identity core's holes closed.
//!
//! - `factor_revocations`: the single-use **This wasn't me — remove it** link mailed when a
//!   factor is added: its token (SHA-256 only), the account, and exactly one factor (an
//!   authenticator app or a passkey; the link dies with its factor), for 7 days.
//! - `recovery_code_reveals.session_id`: new recovery codes are shown only to the session
//!   that made them.
//! - `sso_identities.issuer`: a provider's subject means something only with its issuer, so
//!   links are keyed by (organization, issuer, subject); existing links take their
//!   connection's current issuer URL.
//! - `users.code_failures`: consecutive wrong second-step codes after a right password; at
//!   the limit the second step locks until a reset.

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
                    .table(FactorRevocations::Table)
                    .col(pk_auto(FactorRevocations::Id))
                    .col(
                        string_len_uniq(FactorRevocations::TokenHash, 64)
                            .check(Expr::cust("length(token_hash) = 64")),
                    )
                    .col(integer(FactorRevocations::UserId))
                    .col(integer_null(FactorRevocations::AuthenticatorId))
                    .col(integer_null(FactorRevocations::PasskeyId))
                    .col(timestamp_with_time_zone(FactorRevocations::CreatedAt))
                    .col(timestamp_with_time_zone(FactorRevocations::ExpiresAt))
                    .check(Expr::cust(
                        "(authenticator_id IS NULL) <> (passkey_id IS NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_factor_revocations_user")
                            .from(FactorRevocations::Table, FactorRevocations::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_factor_revocations_authenticator")
                            .from(FactorRevocations::Table, FactorRevocations::AuthenticatorId)
                            .to(TotpAuthenticators::Table, TotpAuthenticators::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_factor_revocations_passkey")
                            .from(FactorRevocations::Table, FactorRevocations::PasskeyId)
                            .to(Passkeys::Table, Passkeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_factor_revocations_user", FactorRevocations::UserId),
            (
                "idx_factor_revocations_authenticator",
                FactorRevocations::AuthenticatorId,
            ),
            (
                "idx_factor_revocations_passkey",
                FactorRevocations::PasskeyId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(FactorRevocations::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RecoveryCodeReveals::Table)
                    .add_column(integer_null(RecoveryCodeReveals::SessionId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(integer(CodeFailures::CodeFailures).default(0))
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(SsoIdentities::Table)
                    .add_column(string_len(SsoIdentities::Issuer, 500).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE sso_identities SET issuer = (SELECT c.issuer_url FROM sso_connections c \
                 WHERE c.organization_id = sso_identities.organization_id) \
                 WHERE EXISTS (SELECT 1 FROM sso_connections c \
                 WHERE c.organization_id = sso_identities.organization_id)",
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_sso_identities_subject")
                    .table(SsoIdentities::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_identities_issuer_subject")
                    .table(SsoIdentities::Table)
                    .col(SsoIdentities::OrganizationId)
                    .col(SsoIdentities::Issuer)
                    .col(SsoIdentities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_sso_identities_issuer_subject")
                    .table(SsoIdentities::Table)
                    .to_owned(),
            )
            .await?;
        // Two issuers may have given one subject; the older link stays.
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM sso_identities WHERE id NOT IN (SELECT MIN(id) FROM sso_identities \
                 GROUP BY organization_id, subject)",
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
            .alter_table(
                Table::alter()
                    .table(SsoIdentities::Table)
                    .drop_column(SsoIdentities::Issuer)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(CodeFailures::CodeFailures)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RecoveryCodeReveals::Table)
                    .drop_column(RecoveryCodeReveals::SessionId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(FactorRevocations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum FactorRevocations {
    Table,
    Id,
    TokenHash,
    UserId,
    AuthenticatorId,
    PasskeyId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum TotpAuthenticators {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RecoveryCodeReveals {
    Table,
    SessionId,
}

#[derive(DeriveIden)]
enum CodeFailures {
    CodeFailures,
}

#[derive(DeriveIden)]
enum SsoIdentities {
    Table,
    OrganizationId,
    Issuer,
    Subject,
}
