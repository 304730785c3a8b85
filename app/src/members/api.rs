//! Member server functions: the member list, role changes, removals and leaving. Every
//! permission is decided here; an organization always keeps at least one owner.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::roles::Role;
use crate::error::AppError;

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

/// The current organization's members, by name, optionally filtered by name or email;
/// `after` / `before` (a [`PageCursor`]) open the page after or before a known row.
#[server(endpoint = "members/list")]
pub async fn list_members(
    query: String,
    page: u64,
    #[server(default)] after: Option<String>,
    #[server(default)] before: Option<String>,
    #[server(default)] two_factor: Option<String>,
) -> Result<Option<MembersPage>, AppError> {
    use super::listing::{members_page, two_factor_filter, MemberQuery};
    use crate::{
        organizations::service::current_membership_allowed,
        server::{app_state, require_signed_in},
    };

    let query =
        crate::ui::list::parse_search(&query).map_err(|message| AppError::field("q", message))?;
    let two_factor = two_factor_filter(two_factor.as_deref())?;
    let viewer = require_signed_in()?;
    let state = app_state()?;
    let Some((org, _, your_role)) = current_membership_allowed(&viewer).await? else {
        return Ok(None);
    };
    // Which accounts lack a second factor is an attacker's shortlist: members do not see it.
    if two_factor.is_some() && your_role == Role::Member {
        return Err(AppError::field(
            "two_factor",
            "Only owners and admins see members' two-factor status.",
        ));
    }
    let after = after.as_deref().and_then(PageCursor::parse);
    let before = before.as_deref().and_then(PageCursor::parse);
    let wanted = MemberQuery {
        query,
        two_factor,
        page,
        after,
        before,
    };
    Ok(Some(
        members_page(&state.reader, org, viewer.user_id, your_role, wanted).await?,
    ))
}

/// Gives a member another role. Owners only.
#[server(endpoint = "members/change_role")]
pub async fn change_role(
    organization_id: String,
    membership_id: i32,
    role: String,
) -> Result<(), AppError> {
    use super::{roles::Action, service};
    use crate::{
        audit::{events::EventKind, service::NewEvent},
        organizations::service::{
            authorize_request, lock_organization, reauthorize_locked, Authorized,
        },
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageRoles).await?;
    let new_role = Role::parse(&role)
        .ok_or_else(|| AppError::field("role", "Choose owner, admin or member."))?;
    if new_role == Role::Owner {
        crate::identity::proofs::require_fresh_proof(&user, chrono::Utc::now())?;
    }
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    reauthorize_locked(&txn, org.id, user.user_id, Action::ManageRoles).await?;
    if let Some(change) = service::change_role(&txn, org.id, membership_id, new_role).await? {
        NewEvent::new(org.id, &user, EventKind::RoleChanged)
            .about(&change.email)
            .role(new_role)
            .previous_role(change.from)
            .record(&txn, chrono::Utc::now())
            .await?;
    }
    txn.commit().await?;
    leptos_axum::redirect("/access-control?saved=role");
    Ok(())
}

/// Removes a member. Owners and admins; an admin cannot remove an owner.
#[server(endpoint = "members/remove")]
pub async fn remove_member(organization_id: String, membership_id: i32) -> Result<(), AppError> {
    use super::{roles::Action, service};
    use crate::{
        audit::{events::EventKind, service::NewEvent},
        organizations::service::{
            authorize_request, lock_organization, reauthorize_locked, Authorized,
        },
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::RemoveUsers).await?;
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    let your_role = reauthorize_locked(&txn, org.id, user.user_id, Action::RemoveUsers).await?;
    let removed = service::remove(&txn, org.id, membership_id, your_role).await?;
    NewEvent::new(org.id, &user, EventKind::Removed)
        .about(&removed)
        .record(&txn, chrono::Utc::now())
        .await?;
    txn.commit().await?;
    leptos_axum::redirect("/access-control?saved=removed");
    Ok(())
}

/// Leaves an organization (not as its last owner).
#[server(endpoint = "members/leave")]
pub async fn leave_organization(organization_id: String) -> Result<(), AppError> {
    use super::{roles::Action, service};
    use crate::{
        audit::{events::EventKind, service::NewEvent},
        organizations::service::{authorize_request_for_leaving, membership_in, Authorized},
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state, user, org, ..
    } = authorize_request_for_leaving(&organization_id, Action::ViewOrganization).await?;
    let own = membership_in(&state.reader, user.user_id, &organization_id)
        .await?
        .map(|(_, m, _)| m.id)
        .ok_or(AppError::Internal)?;
    let txn = state.db.begin().await?;
    let email = service::remove(&txn, org.id, own, Role::Owner).await?;
    NewEvent::new(org.id, &user, EventKind::Left)
        .about(&email)
        .record(&txn, chrono::Utc::now())
        .await?;
    txn.commit().await?;
    leptos_axum::redirect("/?left=1");
    Ok(())
}
