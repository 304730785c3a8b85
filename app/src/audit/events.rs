//! The kinds of audit events and how each reads in the log.

use serde::{Deserialize, Serialize};

use crate::kinds::Role;

pub use crate::kinds::{ActorKind, EventKind};

/// How a deleted account's events name their actor.
pub const DELETED_ACCOUNT: &str = "(deleted account)";
/// How changes of the organization's identity provider through SCIM are signed.
pub const DIRECTORY_SYNC: &str = "Directory sync";

impl EventKind {
    /// Every kind, in the order the filter lists them.
    pub fn all() -> impl Iterator<Item = EventKind> {
        <EventKind as strum::IntoEnumIterator>::iter()
    }

    /// The stored form (the database CHECK lists the same names).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(value: &str) -> Option<EventKind> {
        value.parse().ok()
    }

    /// The filter's option label.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Invited => "Invitation sent",
            EventKind::Resent => "Invitation resent",
            EventKind::Revoked => "Invitation revoked",
            EventKind::Accepted => "Invitation accepted",
            EventKind::Declined => "Invitation declined",
            EventKind::RoleChanged => "Role changed",
            EventKind::Removed => "User removed",
            EventKind::Left => "User left",
            EventKind::Created => "Organization created",
            EventKind::ProfileChanged => "Profile changed",
            EventKind::LogoChanged => "Logo changed",
            EventKind::Joined => "Joined through SSO",
            EventKind::SsoChanged => "SSO settings changed",
            EventKind::SsoEnabled => "SSO turned on",
            EventKind::SsoDisabled => "SSO turned off",
            EventKind::DomainAdded => "Domain added",
            EventKind::DomainVerified => "Domain verified",
            EventKind::DomainUnverified => "Domain no longer verified",
            EventKind::DomainRemoved => "Domain removed",
            EventKind::AccountLinked => "Account linked through SSO",
            EventKind::InvitationVoided => "Invitation voided",
            EventKind::TwoFactorRequired => "Two-factor authentication required",
            EventKind::TwoFactorNotRequired => "Two-factor authentication no longer required",
            EventKind::FactorAdded => "Two-factor method added",
            EventKind::FactorRemoved => "Two-factor method removed",
            EventKind::RecoveryCodeUsed => "Recovery code used",
            EventKind::BlockedByTwoFactor => "Blocked without two-factor authentication",
            EventKind::PasskeysRequired => "Passkeys required of owners and admins",
            EventKind::PasskeysNotRequired => "Passkeys no longer required of owners and admins",
            EventKind::SsoRefused => "SSO sign-in refused",
            EventKind::SsoCertificateExpiring => "SAML certificate expiring",
            EventKind::MemberAdded => "Member added",
            EventKind::ApiKeyCreated => "API key created",
            EventKind::ApiKeyFirstUsed => "API key used for the first time",
            EventKind::ApiKeyRevoked => "API key revoked",
            EventKind::ApiKeyExpired => "API key expired",
            EventKind::WebhookAdded => "Webhook endpoint added",
            EventKind::WebhookRemoved => "Webhook endpoint removed",
            EventKind::WebhookDisabled => "Webhook endpoint disabled",
            EventKind::WebhookEnabled => "Webhook endpoint enabled",
            EventKind::WebhookSecretRotated => "Webhook signing secret rotated",
            EventKind::ScimTokenCreated => "Directory sync token generated",
            EventKind::ScimTokenRevoked => "Directory sync token revoked",
            EventKind::MemberSuspended => "Member suspended by directory sync",
            EventKind::MemberRestored => "Member restored by directory sync",
            EventKind::ScimGroupMapped => "Directory group mapped to a role",
            EventKind::LastOwnerKept => "Last owner kept",
        }
    }
}

/// One line of the audit log as the browser gets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i32,
    pub kind: EventKind,
    pub actor_kind: ActorKind,
    /// The member's name at the time, "(deleted account)" once their account is gone, or
    /// Orgdesk's or staff's fixed name: see [`AuditRow::actor_label`].
    pub actor_name: String,
    /// The actor's address now (unique and proven, unlike the name); `None` for Orgdesk
    /// itself, staff, and deleted accounts.
    pub actor_email: Option<String>,
    pub subject: Option<String>,
    pub role: Option<Role>,
    pub previous_role: Option<Role>,
    /// RFC 3339.
    pub at: String,
}

impl AuditRow {
    /// The name an actor of `kind` shows under: a stored name only for a live member.
    pub fn actor_label(kind: ActorKind, stored_name: String, account_exists: bool) -> String {
        match kind {
            ActorKind::User if account_exists => stored_name,
            ActorKind::User => DELETED_ACCOUNT.to_string(),
            ActorKind::System => "Orgdesk".to_string(),
            ActorKind::Staff => "Platform staff".to_string(),
            ActorKind::ApiKey => format!("API key “{stored_name}”"),
            ActorKind::DirectorySync => DIRECTORY_SYNC.to_string(),
        }
    }

    /// The "By" column: the member's address (unique and proven, unlike a name), or the
    /// actor marked as Orgdesk's own.
    pub fn by(&self) -> String {
        match (self.actor_kind, &self.actor_email) {
            (ActorKind::User, Some(email)) => email.clone(),
            (ActorKind::User, None) => DELETED_ACCOUNT.to_string(),
            (ActorKind::System | ActorKind::Staff | ActorKind::DirectorySync, _) => {
                format!("{} (system)", self.actor_name)
            }
            (ActorKind::ApiKey, _) => self.actor_name.clone(),
        }
    }

    /// The event as a sentence, e.g. "Ann invited bob@example.com as Admin."
    pub fn describe(&self) -> String {
        let actor = &self.actor_name;
        let subject = self.subject.as_deref().unwrap_or("someone");
        let role = self.role.map(Role::label).unwrap_or("?");
        match self.kind {
            EventKind::Invited => format!("{actor} invited {subject} as {role}."),
            EventKind::Resent => format!("{actor} resent the invitation to {subject}."),
            EventKind::Revoked => format!("{actor} revoked the invitation to {subject}."),
            EventKind::Accepted => {
                format!("{actor} ({subject}) accepted an invitation and joined as {role}.")
            }
            EventKind::Declined => format!("{actor} ({subject}) declined an invitation."),
            EventKind::RoleChanged => format!(
                "{actor} changed the role of {subject} from {} to {role}.",
                self.previous_role.map(Role::label).unwrap_or("?")
            ),
            EventKind::Removed => format!("{actor} removed {subject} from the organization."),
            EventKind::Left => format!("{actor} ({subject}) left the organization."),
            EventKind::Created => format!("{actor} created the organization."),
            EventKind::ProfileChanged => format!("{actor} changed the organization profile."),
            EventKind::LogoChanged => format!("{actor} changed the logo."),
            EventKind::Joined => format!(
                "{actor} ({subject}) signed in through the identity provider and joined as {role}."
            ),
            EventKind::SsoChanged => format!("{actor} changed the single sign-on settings."),
            EventKind::SsoEnabled => format!("{actor} turned single sign-on on."),
            EventKind::SsoDisabled => format!("{actor} turned single sign-on off."),
            EventKind::DomainAdded => format!("{actor} added the domain {subject}."),
            EventKind::DomainVerified => format!("{actor} verified the domain {subject}."),
            EventKind::DomainUnverified => format!(
                "{actor} found the DNS record of {subject} gone: the domain is no longer verified."
            ),
            EventKind::DomainRemoved => format!("{actor} removed the domain {subject}."),
            EventKind::AccountLinked => format!(
                "{actor} signed in through the identity provider; the existing account {subject} was linked to it and its other sessions ended."
            ),
            EventKind::InvitationVoided => format!(
                "{actor} revoked the invitation to {subject} as {role}: its inviter can no longer grant that role."
            ),
            EventKind::TwoFactorRequired => format!(
                "{actor} required two-factor authentication for every member{}.",
                self.subject
                    .as_deref()
                    .map(|deadline| format!(" (members without it are kept out from {deadline})"))
                    .unwrap_or_default()
            ),
            EventKind::TwoFactorNotRequired => {
                format!("{actor} stopped requiring two-factor authentication.")
            }
            EventKind::FactorAdded => format!("{actor} added {subject} to their account."),
            EventKind::FactorRemoved => format!("{actor} removed {subject} from their account."),
            EventKind::RecoveryCodeUsed => {
                format!("{actor} signed in with a recovery code.")
            }
            EventKind::BlockedByTwoFactor => format!(
                "{actor} ({subject}) was kept out: the organization requires two-factor authentication and their account has none."
            ),
            EventKind::PasskeysRequired => {
                format!("{actor} required owners and admins to sign in with a passkey.")
            }
            EventKind::PasskeysNotRequired => {
                format!("{actor} stopped requiring passkeys of owners and admins.")
            }
            EventKind::SsoRefused => format!(
                "The identity provider signed in {subject}, an address outside the organization's verified domains: refused."
            ),
            EventKind::SsoCertificateExpiring => format!(
                "The SAML provider's signing certificates expire {subject}: upload its new metadata before then."
            ),
            EventKind::MemberAdded => format!("{actor} added {subject} as {role}."),
            EventKind::ApiKeyCreated => format!("{actor} created the API key {subject}."),
            EventKind::ApiKeyFirstUsed => format!("The API key {subject} was used for the first time."),
            EventKind::ApiKeyRevoked => format!("{actor} revoked the API key {subject}."),
            EventKind::ApiKeyExpired => format!("The API key {subject} expired."),
            EventKind::WebhookAdded => format!("{actor} added the webhook endpoint {subject}."),
            EventKind::WebhookRemoved => format!("{actor} removed the webhook endpoint {subject}."),
            EventKind::WebhookDisabled => format!("{actor} disabled the webhook endpoint {subject}."),
            EventKind::WebhookEnabled => format!("{actor} enabled the webhook endpoint {subject}."),
            EventKind::WebhookSecretRotated => {
                format!("{actor} rotated the signing secret of the webhook endpoint {subject}.")
            }
            EventKind::ScimTokenCreated => format!("{actor} generated a directory sync token."),
            EventKind::ScimTokenRevoked => format!("{actor} revoked a directory sync token."),
            EventKind::MemberSuspended => format!(
                "{actor} deactivated {subject}: their membership is suspended."
            ),
            EventKind::MemberRestored => {
                format!("{actor} activated {subject} again as {role}.")
            }
            EventKind::ScimGroupMapped => match self.role {
                Some(role) => format!(
                    "{actor} mapped the directory group {subject} to {}.",
                    role.label()
                ),
                None => format!("{actor} unmapped the directory group {subject}."),
            },
            EventKind::LastOwnerKept => format!(
                "{actor} would have removed or demoted {subject}, the last owner: refused."
            ),
        }
    }
}

/// Events per page of the Audit Log tab.
pub const AUDIT_PAGE_SIZE: u64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_name() {
        for kind in EventKind::all() {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("dropped_tables"), None);
    }

    #[test]
    fn role_changes_read_as_a_sentence() {
        let row = AuditRow {
            id: 1,
            kind: EventKind::RoleChanged,
            actor_kind: ActorKind::User,
            actor_name: "Ann".into(),
            actor_email: Some("ann@example.com".into()),
            subject: Some("bob@example.com".into()),
            role: Some(Role::Admin),
            previous_role: Some(Role::Member),
            at: "2026-11-23T10:00:00Z".into(),
        };
        assert_eq!(
            row.describe(),
            "Ann changed the role of bob@example.com from Member to Admin."
        );
    }
}
