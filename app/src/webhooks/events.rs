//! The event types an endpoint subscribes to. The named ones follow a change a company's
//! systems act on; `audit.event` is every audit event as the log records it (the stream to
//! a SIEM).

use serde::{Deserialize, Serialize};

use crate::kinds::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebhookEvent {
    MemberAdded,
    MemberRoleChanged,
    MemberRemoved,
    InvitationCreated,
    InvitationAccepted,
    InvitationRevoked,
    OrganizationUpdated,
    DomainVerified,
    DomainFailed,
    SsoEnabled,
    SsoDisabled,
    AuditEvent,
}

/// The type of the event **Send test event** sends (never subscribed to).
pub const TEST_EVENT: &str = "webhook.test";

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 12] = [
        WebhookEvent::MemberAdded,
        WebhookEvent::MemberRoleChanged,
        WebhookEvent::MemberRemoved,
        WebhookEvent::InvitationCreated,
        WebhookEvent::InvitationAccepted,
        WebhookEvent::InvitationRevoked,
        WebhookEvent::OrganizationUpdated,
        WebhookEvent::DomainVerified,
        WebhookEvent::DomainFailed,
        WebhookEvent::SsoEnabled,
        WebhookEvent::SsoDisabled,
        WebhookEvent::AuditEvent,
    ];

    /// The `type` in the payload and the name in an endpoint's list.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::MemberAdded => "member.added",
            WebhookEvent::MemberRoleChanged => "member.role_changed",
            WebhookEvent::MemberRemoved => "member.removed",
            WebhookEvent::InvitationCreated => "invitation.created",
            WebhookEvent::InvitationAccepted => "invitation.accepted",
            WebhookEvent::InvitationRevoked => "invitation.revoked",
            WebhookEvent::OrganizationUpdated => "organization.updated",
            WebhookEvent::DomainVerified => "domain.verified",
            WebhookEvent::DomainFailed => "domain.failed",
            WebhookEvent::SsoEnabled => "sso.enabled",
            WebhookEvent::SsoDisabled => "sso.disabled",
            WebhookEvent::AuditEvent => "audit.event",
        }
    }

    pub fn parse(value: &str) -> Option<WebhookEvent> {
        Self::ALL.into_iter().find(|event| event.as_str() == value)
    }

    /// How the endpoint form names it.
    pub fn label(self) -> &'static str {
        match self {
            WebhookEvent::MemberAdded => "Member added",
            WebhookEvent::MemberRoleChanged => "Role changed",
            WebhookEvent::MemberRemoved => "Member removed",
            WebhookEvent::InvitationCreated => "Invitation created",
            WebhookEvent::InvitationAccepted => "Invitation accepted",
            WebhookEvent::InvitationRevoked => "Invitation revoked",
            WebhookEvent::OrganizationUpdated => "Organization updated",
            WebhookEvent::DomainVerified => "Domain verified",
            WebhookEvent::DomainFailed => "Domain verification failed",
            WebhookEvent::SsoEnabled => "SSO enabled",
            WebhookEvent::SsoDisabled => "SSO disabled",
            WebhookEvent::AuditEvent => "Every audit event (for a SIEM)",
        }
    }

    /// The named events an audit event of `kind` is (besides `audit.event`, which every
    /// audit event is).
    pub fn named_for(kind: EventKind) -> &'static [WebhookEvent] {
        use WebhookEvent::*;
        match kind {
            EventKind::Accepted => &[MemberAdded, InvitationAccepted],
            EventKind::Joined | EventKind::MemberAdded | EventKind::MemberRestored => {
                &[MemberAdded]
            }
            EventKind::RoleChanged => &[MemberRoleChanged],
            EventKind::Removed | EventKind::Left | EventKind::MemberSuspended => &[MemberRemoved],
            EventKind::Invited => &[InvitationCreated],
            EventKind::Revoked | EventKind::InvitationVoided => &[InvitationRevoked],
            EventKind::ProfileChanged | EventKind::LogoChanged => &[OrganizationUpdated],
            EventKind::DomainVerified => &[DomainVerified],
            EventKind::DomainUnverified => &[DomainFailed],
            EventKind::SsoEnabled => &[SsoEnabled],
            EventKind::SsoDisabled => &[SsoDisabled],
            _ => &[],
        }
    }
}

/// An endpoint's stored list (`member.added,audit.event`), read back; unknown names are
/// skipped (a type retired later).
pub fn parse_list(stored: &str) -> Vec<WebhookEvent> {
    stored.split(',').filter_map(WebhookEvent::parse).collect()
}

/// The stored form of `events`, in the order of [`WebhookEvent::ALL`].
pub fn list_text(events: &[WebhookEvent]) -> String {
    WebhookEvent::ALL
        .into_iter()
        .filter(|event| events.contains(event))
        .map(WebhookEvent::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_lists_keep_a_fixed_order() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
        let text = list_text(&[WebhookEvent::AuditEvent, WebhookEvent::MemberAdded]);
        assert_eq!(text, "member.added,audit.event");
        assert_eq!(
            parse_list("member.added,retired.kind,audit.event"),
            [WebhookEvent::MemberAdded, WebhookEvent::AuditEvent]
        );
    }

    #[test]
    fn an_accepted_invitation_is_a_new_member_too() {
        assert_eq!(
            WebhookEvent::named_for(EventKind::Accepted),
            [WebhookEvent::MemberAdded, WebhookEvent::InvitationAccepted]
        );
        assert!(WebhookEvent::named_for(EventKind::FactorAdded).is_empty());
    }
}
