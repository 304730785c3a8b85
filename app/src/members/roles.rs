//! The three roles and what each may do: one table, used by every server function to
//! decide and by the pages only to decide what to show.

use serde::{Deserialize, Serialize};

pub use crate::kinds::Role;

/// What each role may do: the permission matrix.
impl Role {
    /// Whether someone with this role may invite a person as `invited`: owners and admins
    /// invite, and only owners make owners. Checked again when an invitation is accepted.
    pub fn may_invite_as(self, invited: Role) -> bool {
        self.allows(Action::ManageInvitations) && (invited != Role::Owner || self == Role::Owner)
    }

    /// Whether this role may take `action`.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Owner => true,
            Role::Admin => matches!(
                action,
                ViewOrganization | ViewRoles | ManageInvitations | RemoveUsers | ManageApiKeys
            ),
            Role::Member => matches!(action, ViewOrganization),
        }
    }
}

/// Everything a role may or may not do in an organization. An API key's scopes are these
/// actions too, by their snake_case names (`manage_invitations`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// See the organization, its profile and its members.
    ViewOrganization,
    /// Change the Organization Info and the logo.
    ManageProfile,
    DeleteOrganization,
    /// See the Roles tab.
    ViewRoles,
    /// Invite, resend and revoke invitations.
    ManageInvitations,
    RemoveUsers,
    /// Change anyone's role.
    ManageRoles,
    ReviewAuditEvents,
    ManageSso,
    /// Require two-factor authentication of every member.
    ManageSecurity,
    /// Create and revoke the organization's API keys (an admin's keys carry at most an
    /// admin's actions).
    ManageApiKeys,
    /// Add, rotate, test and remove webhook endpoints.
    ManageWebhooks,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::ViewOrganization,
        Action::ManageProfile,
        Action::DeleteOrganization,
        Action::ViewRoles,
        Action::ManageInvitations,
        Action::RemoveUsers,
        Action::ManageRoles,
        Action::ReviewAuditEvents,
        Action::ManageSso,
        Action::ManageSecurity,
        Action::ManageApiKeys,
        Action::ManageWebhooks,
    ];

    /// The scope's name (`manage_invitations`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(value: &str) -> Option<Action> {
        value.parse().ok()
    }

    /// How the Roles tab names the permission.
    pub fn description(self) -> &'static str {
        match self {
            Action::ViewOrganization => "View the organization, its profile and its members",
            Action::ManageProfile => "Manage the organization profile",
            Action::DeleteOrganization => "Delete the organization",
            Action::ViewRoles => "View organization roles",
            Action::ManageInvitations => "Manage user invitations",
            Action::RemoveUsers => "Remove users from the organization",
            Action::ManageRoles => "Manage organization roles",
            Action::ReviewAuditEvents => "Review audit events",
            Action::ManageSso => "Manage single sign-on (SSO)",
            Action::ManageSecurity => "Require two-factor authentication",
            Action::ManageApiKeys => "Manage API keys",
            Action::ManageWebhooks => "Manage webhooks",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Action::*, Role::*, *};

    /// The permission matrix of the reference dashboard, row by row.
    #[test]
    fn roles_allow_exactly_the_reference_matrix() {
        let matrix = [
            (ViewOrganization, [true, true, true]),
            (ManageProfile, [false, false, true]),
            (DeleteOrganization, [false, false, true]),
            (ViewRoles, [false, true, true]),
            (ManageInvitations, [false, true, true]),
            (RemoveUsers, [false, true, true]),
            (ManageRoles, [false, false, true]),
            (ReviewAuditEvents, [false, false, true]),
            (ManageSso, [false, false, true]),
            (ManageSecurity, [false, false, true]),
            (ManageApiKeys, [false, true, true]),
            (ManageWebhooks, [false, false, true]),
        ];
        assert_eq!(matrix.len(), Action::ALL.len());
        for (action, [member, admin, owner]) in matrix {
            assert_eq!(Member.allows(action), member, "member: {action:?}");
            assert_eq!(Admin.allows(action), admin, "admin: {action:?}");
            assert_eq!(Owner.allows(action), owner, "owner: {action:?}");
        }
    }

    #[test]
    fn only_owners_invite_owners_and_members_invite_nobody() {
        let table = [
            (Owner, [true, true, true]),
            (Admin, [false, true, true]),
            (Member, [false, false, false]),
        ];
        for (inviter, [owner, admin, member]) in table {
            assert_eq!(inviter.may_invite_as(Owner), owner, "{inviter:?} → owner");
            assert_eq!(inviter.may_invite_as(Admin), admin, "{inviter:?} → admin");
            assert_eq!(
                inviter.may_invite_as(Member),
                member,
                "{inviter:?} → member"
            );
        }
    }

    #[test]
    fn roles_round_trip_through_their_stored_form() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
    }
}
