//! Member server functions: the member list, role changes, removals and leaving. Every
//! permission is decided here; an organization always keeps at least one owner.

#[cfg(feature = "ssr")]
use super::roles::Role;
use super::views::MembersPage;
use crate::error::AppError;
use leptos::prelude::*;

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
    use super::{
        listing::{members_page, two_factor_filter, MemberQuery},
        views::PageCursor,
    };
    use crate::{
        members::access::current_membership_allowed,
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
        size: super::views::MEMBERS_PAGE_SIZE,
        with_total: true,
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
        members::access::{authorize_request, reauthorize_locked, Authorized},
        server::locks::lock_organization,
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
    service::refuse_if_directory_managed(&txn, org.id, membership_id).await?;
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
        members::access::{authorize_request, reauthorize_locked, Authorized},
        server::locks::lock_organization,
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::RemoveUsers).await?;
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    let your_role = reauthorize_locked(&txn, org.id, user.user_id, Action::RemoveUsers).await?;
    service::refuse_if_directory_managed(&txn, org.id, membership_id).await?;
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
        members::access::{authorize_request_for_leaving, membership_in, Authorized},
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
