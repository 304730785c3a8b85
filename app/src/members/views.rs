//! What the Users tab receives: a page of members and where the next one starts. Both
//! builds; the server function (`api.rs`) and its query (`listing.rs`) fill it in.

use serde::{Deserialize, Serialize};

use super::roles::Role;

/// Members per page of the Users tab.
pub const MEMBERS_PAGE_SIZE: u64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub membership_id: i32,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// RFC 3339.
    pub joined_at: String,
    pub last_login_at: Option<String>,
    pub is_you: bool,
    /// Whether the member's account has a second factor; shown to owners and admins only
    /// (None for members: which accounts lack one is an attacker's shortlist).
    pub two_factor: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub organization_id: String,
    pub organization_name: String,
    pub your_role: Role,
    pub members: Vec<MemberRow>,
    /// The identity provider's name when SSO is on: members come from it, not invitations.
    pub sso_provider: Option<String>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    /// Where the next and the previous page start, for their links (see [`PageCursor`]).
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
    /// The two-factor filter applied: "on", "off", or empty for everyone.
    pub two_factor: String,
}

/// A place in the member list, `<membership id>.<member key>`: a page opened from a
/// Previous or Next link starts there and reads only its own rows from the index (keyset
/// paging), where `?page=` alone skips every row before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    pub membership_id: i32,
    pub member_key: String,
}

impl PageCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.membership_id, self.member_key)
    }

    /// None for anything that is not a cursor (the page then opens by its number).
    pub fn parse(text: &str) -> Option<Self> {
        // A member key is a name (100 characters at most) and an address (254).
        if text.len() > 4 * 400 {
            return None;
        }
        let (id, key) = text.split_once('.')?;
        Some(PageCursor {
            membership_id: id.parse().ok()?,
            member_key: key.to_string(),
        })
    }
}
