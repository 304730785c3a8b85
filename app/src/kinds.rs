//! The closed sets of values the database stores and both builds share: roles, organization
//! stages, domain statuses, sign-in methods, second factors and audit events' kinds. Below
//! the database layer and every feature, importing nothing of the app; the rules about them
//! (what a role may do, how an event reads) stay with their feature.

#[cfg(feature = "ssr")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};

/// One role per member. Stored, sent and posted as its lower-case name (`as_str`); the
/// database's CHECK lists the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "owner"))]
    Owner,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "admin"))]
    Admin,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "member"))]
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    /// The name stored in the database and sent in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }
}

/// An organization's account stage. Only platform staff move it forward. Stored and sent
/// as its lower-case name (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "free"))]
    Free,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "preproduction"))]
    Preproduction,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "production"))]
    Production,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Free, Stage::Preproduction, Stage::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Free => "free",
            Stage::Preproduction => "preproduction",
            Stage::Production => "production",
        }
    }

    pub fn parse(value: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Free => "Free",
            Stage::Preproduction => "Preproduction",
            Stage::Production => "Production",
        }
    }
}

/// Where a domain stands. Stored as its lower-case name (a CHECK in the database lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Added; not checked yet.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "pending"))]
    Pending,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "verified"))]
    Verified,
    /// The last check did not find the record (or another organization verified it).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "failed"))]
    Failed,
}

impl DomainStatus {
    pub fn label(self) -> &'static str {
        match self {
            DomainStatus::Pending => "Pending",
            DomainStatus::Verified => "Verified",
            DomainStatus::Failed => "Failed",
        }
    }
}

/// How a session signed in (shown in the Sessions list). Stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A password (at login or sign-up).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "password"))]
    Password,
    /// The organization's identity provider.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "sso"))]
    Sso,
    /// A "Forgot password?" link.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "reset"))]
    Reset,
    /// A passkey alone (it proves possession and the device's user verification).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "passkey"))]
    Passkey,
}

impl SignInMethod {
    pub fn label(self) -> &'static str {
        match self {
            SignInMethod::Password => "Password",
            SignInMethod::Sso => "Single sign-on",
            SignInMethod::Reset => "Password reset link",
            SignInMethod::Passkey => "Passkey",
        }
    }
}

/// The second proof a session signed in with, after its password, reset link or SSO (shown
/// in the Sessions list). Stored as its snake-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    /// A code from an authenticator app.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "totp"))]
    Totp,
    /// One of the account's single-use recovery codes.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "recovery_code"))]
    RecoveryCode,
    /// A passkey or security key.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "passkey"))]
    Passkey,
    /// The organization's identity provider reported multi-factor authentication (SSO).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "provider_mfa"))]
    ProviderMfa,
}

impl SecondFactor {
    pub fn label(self) -> &'static str {
        match self {
            SecondFactor::Totp => "authenticator app",
            SecondFactor::RecoveryCode => "recovery code",
            SecondFactor::Passkey => "passkey",
            SecondFactor::ProviderMfa => "identity provider's MFA",
        }
    }
}

/// Who did something: a member (their account may since have been deleted), Orgdesk
/// itself (a daily check, a policy taking effect) or platform staff (a staff command).
/// System rows never show a stored name, so nobody can pose as Orgdesk by choosing its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(StringLen::N(10))",
        rename_all = "snake_case"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    System,
    Staff,
    /// A program with one of the organization's API keys (the key's name is the actor's).
    ApiKey,
    /// The organization's identity provider, through directory sync (SCIM).
    DirectorySync,
}

/// Stored as its snake_case name (`as_str`, spelled once by the derives below: serde,
/// strum and SeaORM all take the variant's name in snake_case); the database's CHECK lists
/// the same names.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(StringLen::N(30))",
        rename_all = "snake_case"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Invited,
    Resent,
    Revoked,
    Accepted,
    Declined,
    RoleChanged,
    Removed,
    Left,
    Created,
    ProfileChanged,
    LogoChanged,
    /// Joined through the organization's identity provider (SSO membership sync).
    Joined,
    SsoChanged,
    SsoEnabled,
    SsoDisabled,
    DomainAdded,
    DomainVerified,
    /// The daily check no longer found a verified domain's record.
    DomainUnverified,
    DomainRemoved,
    /// An SSO sign-in at a verified domain took over the existing account of that address.
    AccountLinked,
    /// A pending invitation revoked because its inviter can no longer grant its role.
    InvitationVoided,
    /// Owners started requiring two-factor authentication.
    TwoFactorRequired,
    TwoFactorNotRequired,
    /// A member added a second factor to their account (which one, never its secret).
    FactorAdded,
    FactorRemoved,
    RecoveryCodeUsed,
    /// A member without two-factor authentication was kept out after the grace period.
    BlockedByTwoFactor,
    /// Owners and admins must sign in with a passkey.
    PasskeysRequired,
    PasskeysNotRequired,
    /// An SSO sign-in the organization's rules refused (an address outside its verified
    /// domains).
    SsoRefused,
    /// The SAML provider's signing certificates expire soon (30 and 7 days before).
    SsoCertificateExpiring,
    /// An existing account added to the organization directly (through the API).
    MemberAdded,
    ApiKeyCreated,
    /// A key's first request (a key made and never used is worth noticing too).
    ApiKeyFirstUsed,
    ApiKeyRevoked,
    ApiKeyExpired,
    /// A webhook endpoint added (its URL is the subject).
    WebhookAdded,
    WebhookRemoved,
    /// Switched off by an owner, by a 410 answer, or after three days of failures.
    WebhookDisabled,
    WebhookEnabled,
    WebhookSecretRotated,
    /// A directory-sync (SCIM) token generated or revoked.
    ScimTokenCreated,
    ScimTokenRevoked,
    /// The identity provider deactivated a member: their membership is suspended.
    MemberSuspended,
    MemberRestored,
    /// An owner mapped one of the provider's groups to a role (or to none).
    ScimGroupMapped,
    /// A sync would have removed or demoted the last owner; it was refused.
    LastOwnerKept,
}
