//! Two-factor authentication.
//!
//! - `totp_authenticators`: a person's authenticator app (one at most): its secret, sealed
//!   with the server's key; unconfirmed until the first code matches; the last time step
//!   accepted, so a code works once.
//! - `passkeys`: a person's passkeys and security keys (WebAuthn): a name, the credential's
//!   ID and its public key with the signature counter (no secret), last use. `users` get
//!   the random handle WebAuthn knows them by.
//! - `webauthn_ceremonies`: the server's half of a passkey registration or sign-in between
//!   its two requests (any server process may answer the second), five minutes, once; a
//!   sign-in with a passkey alone does not know its account until the answer names it.
//! - `recovery_codes`: single-use codes, stored as their SHA-256 only.
//! - `recovery_code_reveals`: new codes, sealed, for the page that shows them once; gone
//!   when the person says they saved them, or after 15 minutes.
//! - `two_factor_challenges`: a sign-in between its password (or reset link) and its second
//!   factor: a cookie's token, stored as its SHA-256, for 10 minutes and a few wrong codes.
//! - `sessions` learn which second factor they were signed in with (an identity provider
//!   that reported multi-factor authentication counts as one), and when their holder last
//!   proved who they are (a sign-in, a password or a code: step-up); a session may be signed
//!   in with a passkey alone (`sign_in_method` 'passkey').
//! - `organizations` may require two-factor authentication: since when, and the end of the
//!   grace period after which members without it cannot open the organization; and may
//!   require owners and admins to sign in with a passkey (phishing-resistant).
//! - `sso_connections` may name the `acr` values their provider sends after multi-factor
//!   authentication (besides the `amr` values that always count).
//! - new audit event kinds for the policy, members' factors and members it blocked.

use sea_orm_migration::{prelude::*, schema::*};

use super::{
    m20261123_000001_accounts::Users, m20261124_000002_organizations::Organizations,
    m20261128_000006_sso::replace_audit_kind_check,
};

const AUDIT_KINDS_BEFORE: &str =
    "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided')";

pub(crate) const AUDIT_KINDS_NOW: &str =
    "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided', \
     'two_factor_required', 'two_factor_not_required', 'factor_added', 'factor_removed', \
     'recovery_code_used', 'blocked_by_two_factor', 'passkeys_required', \
     'passkeys_not_required')";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let user_fk = |name: &str, table: DynIden, column: DynIden| {
            ForeignKey::create()
                .name(name)
                .from(table, column)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(TotpAuthenticators::Table)
                    .col(pk_auto(TotpAuthenticators::Id))
                    .col(integer_uniq(TotpAuthenticators::UserId))
                    .col(string_len(TotpAuthenticators::SecretSealed, 300))
                    .col(timestamp_with_time_zone_null(
                        TotpAuthenticators::ConfirmedAt,
                    ))
                    .col(big_integer_null(TotpAuthenticators::LastUsedStep))
                    .col(timestamp_with_time_zone(TotpAuthenticators::CreatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_totp_authenticators_user",
                        TotpAuthenticators::Table.into_iden(),
                        TotpAuthenticators::UserId.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(pk_auto(Passkeys::Id))
                    .col(integer(Passkeys::UserId))
                    .col(string_len(Passkeys::Name, 100))
                    // base64url of up to 1,023 bytes.
                    .col(string_len_uniq(Passkeys::CredentialId, 1400))
                    .col(text(Passkeys::Credential))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .foreign_key(&mut user_fk(
                        "fk_passkeys_user",
                        Passkeys::Table.into_iden(),
                        Passkeys::UserId.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_passkeys_user")
                    .table(Passkeys::Table)
                    .col(Passkeys::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebauthnCeremonies::Table)
                    .col(pk_auto(WebauthnCeremonies::Id))
                    .col(string_len_uniq(WebauthnCeremonies::TokenHash, 64))
                    .col(integer_null(WebauthnCeremonies::UserId))
                    .col(
                        string_len(WebauthnCeremonies::Purpose, 16).check(Expr::cust(
                            "purpose IN ('register', 'sign_in', 'login') \
                         AND (user_id IS NULL) = (purpose = 'login')",
                        )),
                    )
                    .col(text(WebauthnCeremonies::State))
                    .col(timestamp_with_time_zone(WebauthnCeremonies::ExpiresAt))
                    .foreign_key(&mut user_fk(
                        "fk_webauthn_ceremonies_user",
                        WebauthnCeremonies::Table.into_iden(),
                        WebauthnCeremonies::UserId.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_len_null(PasskeyHandle::PasskeyHandle, 36))
                    .to_owned(),
            )
            .await?;
        // SQLite cannot add a UNIQUE column; a unique index says the same.
        manager
            .create_index(
                Index::create()
                    .name("idx_users_passkey_handle")
                    .table(Users::Table)
                    .col(PasskeyHandle::PasskeyHandle)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_auto(RecoveryCodes::Id))
                    .col(integer(RecoveryCodes::UserId))
                    .col(string_len(RecoveryCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_recovery_codes_user",
                        RecoveryCodes::Table.into_iden(),
                        RecoveryCodes::UserId.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_user_code")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .col(RecoveryCodes::CodeHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodeReveals::Table)
                    .col(integer(RecoveryCodeReveals::UserId).primary_key())
                    .col(string_len(RecoveryCodeReveals::CodesSealed, 1000))
                    .col(timestamp_with_time_zone(RecoveryCodeReveals::ExpiresAt))
                    .foreign_key(&mut user_fk(
                        "fk_recovery_code_reveals_user",
                        RecoveryCodeReveals::Table.into_iden(),
                        RecoveryCodeReveals::UserId.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TwoFactorChallenges::Table)
                    .col(pk_auto(TwoFactorChallenges::Id))
                    .col(string_len_uniq(TwoFactorChallenges::TokenHash, 64))
                    .col(integer(TwoFactorChallenges::UserId))
                    .col(
                        string_len(TwoFactorChallenges::SignInMethod, 16)
                            .check(Expr::cust("sign_in_method IN ('password', 'sso', 'reset')")),
                    )
                    .col(string_len_null(TwoFactorChallenges::NextPath, 400))
                    .col(
                        integer(TwoFactorChallenges::FailedAttempts)
                            .default(0)
                            .check(Expr::cust("failed_attempts >= 0")),
                    )
                    .col(timestamp_with_time_zone(TwoFactorChallenges::CreatedAt))
                    .col(timestamp_with_time_zone(TwoFactorChallenges::ExpiresAt))
                    .foreign_key(&mut user_fk(
                        "fk_two_factor_challenges_user",
                        TwoFactorChallenges::Table.into_iden(),
                        TwoFactorChallenges::UserId.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(
                        string_len_null(Sessions::SecondFactor, 16).check(Expr::cust(
                            "second_factor IN ('totp', 'recovery_code', 'passkey', 'provider_mfa')",
                        )),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(timestamp_with_time_zone_null(Sessions::ProvedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(timestamp_with_time_zone_null(
                        TwoFactorPolicy::TwoFactorRequiredAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(
                        timestamp_with_time_zone_null(TwoFactorPolicy::TwoFactorDeadline).check(
                            Expr::cust(
                                "(two_factor_deadline IS NULL) = (two_factor_required_at IS NULL) \
                                 AND (two_factor_deadline IS NULL \
                                 OR two_factor_deadline >= two_factor_required_at)",
                            ),
                        ),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(boolean(TwoFactorPolicy::PasskeysForAdmins).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoMfa::Table)
                    .add_column(string_len_null(SsoMfa::MfaAcrValues, 500))
                    .to_owned(),
            )
            .await?;
        replace_sign_in_method_check(manager, SIGN_IN_METHODS_NOW).await?;
        replace_audit_kind_check(manager, AUDIT_KINDS_NOW).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(SessionsRebuilt::Table)
                    .and_where(Expr::col(SessionsRebuilt::SignInMethod).eq("passkey"))
                    .to_owned(),
            )
            .await?;
        replace_sign_in_method_check(manager, SIGN_IN_METHODS_BEFORE).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoMfa::Table)
                    .drop_column(SsoMfa::MfaAcrValues)
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(AuditEvents::Table)
                    .and_where(Expr::col(AuditEvents::Kind).is_in([
                        "two_factor_required",
                        "two_factor_not_required",
                        "factor_added",
                        "factor_removed",
                        "recovery_code_used",
                        "blocked_by_two_factor",
                        "passkeys_required",
                        "passkeys_not_required",
                    ]))
                    .to_owned(),
            )
            .await?;
        replace_audit_kind_check(manager, AUDIT_KINDS_BEFORE).await?;
        for column in [
            TwoFactorPolicy::PasskeysForAdmins,
            TwoFactorPolicy::TwoFactorDeadline,
            TwoFactorPolicy::TwoFactorRequiredAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [Sessions::SecondFactor, Sessions::ProvedAt] {
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
            .drop_index(
                Index::drop()
                    .name("idx_users_passkey_handle")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(PasskeyHandle::PasskeyHandle)
                    .to_owned(),
            )
            .await?;
        for table in [
            WebauthnCeremonies::Table.into_iden(),
            Passkeys::Table.into_iden(),
            TwoFactorChallenges::Table.into_iden(),
            RecoveryCodeReveals::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            TotpAuthenticators::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum TotpAuthenticators {
    Table,
    Id,
    UserId,
    SecretSealed,
    ConfirmedAt,
    LastUsedStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodeReveals {
    Table,
    UserId,
    CodesSealed,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum TwoFactorChallenges {
    Table,
    Id,
    TokenHash,
    UserId,
    SignInMethod,
    NextPath,
    FailedAttempts,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SecondFactor,
    ProvedAt,
}

const SIGN_IN_METHODS_BEFORE: &str = "sign_in_method IN ('password', 'sso', 'reset')";
const SIGN_IN_METHODS_NOW: &str = "sign_in_method IN ('password', 'sso', 'reset', 'passkey')";

/// Swaps the check on `sessions.sign_in_method`. PostgreSQL alters the constraint; SQLite
/// cannot, so the table is rebuilt with the same columns, rows and index (nothing refers to
/// sessions).
async fn replace_sign_in_method_check(
    manager: &SchemaManager<'_>,
    check: &str,
) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::DatabaseBackend;
    let db = manager.get_connection();
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(
            "ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_sign_in_method_check",
        )
        .await?;
        db.execute_unprepared(
            "ALTER TABLE sessions DROP CONSTRAINT IF EXISTS ck_sessions_sign_in_method",
        )
        .await?;
        db.execute_unprepared(&format!(
            "ALTER TABLE sessions ADD CONSTRAINT ck_sessions_sign_in_method CHECK ({check})"
        ))
        .await?;
        return Ok(());
    }
    let next = SessionsRebuilt::Next;
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(pk_auto(SessionsRebuilt::Id))
                .col(
                    string_len_uniq(SessionsRebuilt::TokenHash, 64)
                        .check(Expr::cust("length(token_hash) = 64")),
                )
                .col(integer(SessionsRebuilt::UserId))
                .col(timestamp_with_time_zone(SessionsRebuilt::CreatedAt))
                .col(timestamp_with_time_zone(SessionsRebuilt::LastSeenAt))
                .col(
                    string_len(SessionsRebuilt::SignInMethod, 16)
                        .default("password")
                        .check(Expr::cust(check)),
                )
                .col(string_len_null(SessionsRebuilt::UserAgent, 200))
                .col(string_len_null(SessionsRebuilt::ClientAddress, 45))
                .col(
                    string_len_null(SessionsRebuilt::SecondFactor, 16).check(Expr::cust(
                        "second_factor IN ('totp', 'recovery_code', 'passkey', 'provider_mfa')",
                    )),
                )
                .col(timestamp_with_time_zone_null(SessionsRebuilt::ProvedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user")
                        .from(next, SessionsRebuilt::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    db.execute_unprepared(
        "INSERT INTO sessions_next (id, token_hash, user_id, created_at, last_seen_at, \
         sign_in_method, user_agent, client_address, second_factor, proved_at) \
         SELECT id, token_hash, user_id, created_at, last_seen_at, sign_in_method, user_agent, \
         client_address, second_factor, proved_at FROM sessions",
    )
    .await?;
    db.execute_unprepared("DROP TABLE sessions").await?;
    db.execute_unprepared("ALTER TABLE sessions_next RENAME TO sessions")
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_sessions_user")
                .table(SessionsRebuilt::Table)
                .col(SessionsRebuilt::UserId)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden, Clone)]
enum SessionsRebuilt {
    #[sea_orm(iden = "sessions")]
    Table,
    #[sea_orm(iden = "sessions_next")]
    Next,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    LastSeenAt,
    SignInMethod,
    UserAgent,
    ClientAddress,
    SecondFactor,
    ProvedAt,
}

#[derive(DeriveIden)]
enum TwoFactorPolicy {
    TwoFactorRequiredAt,
    TwoFactorDeadline,
    PasskeysForAdmins,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    Name,
    CredentialId,
    Credential,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum WebauthnCeremonies {
    Table,
    Id,
    TokenHash,
    UserId,
    Purpose,
    State,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum PasskeyHandle {
    PasskeyHandle,
}

#[derive(DeriveIden)]
enum SsoMfa {
    #[sea_orm(iden = "sso_connections")]
    Table,
    MfaAcrValues,
}
