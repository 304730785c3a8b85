//! What the Security section receives. Both builds.

use serde::{Deserialize, Serialize};

use crate::members::roles::Role;

/// The longest grace period an owner may give.
pub const MAX_GRACE_DAYS: u32 = 14;

/// A member who has no second factor yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberWithoutTwoFactor {
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// The Security section as the current organization's members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub public_id: String,
    /// RFC 3339: since when two-factor authentication is required, if it is.
    pub required_since: Option<String>,
    /// RFC 3339: from when members without it are kept out.
    pub deadline: Option<String>,
    /// Owners and admins must sign in with a passkey.
    pub passkeys_for_admins: bool,
    /// Owners only: who is not compliant yet (the first 100) and how many in all.
    pub owner: Option<OwnerSecurityView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSecurityView {
    pub without_two_factor: Vec<MemberWithoutTwoFactor>,
    pub without_two_factor_count: u64,
}
