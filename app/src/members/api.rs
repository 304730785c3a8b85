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
    use super::rules::{prefix_end, search_words};
    use crate::{
        organizations::service::current_membership_allowed,
        server::{
            app_state,
            entities::{member_search_term, membership, user},
            require_signed_in,
        },
    };
    use sea_orm::{
        sea_query::Expr, ColumnTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
        QuerySelect, QueryTrait,
    };

    let viewer = require_signed_in()?;
    let state = app_state()?;
    let Some((org, _, your_role)) = current_membership_allowed(&viewer).await? else {
        return Ok(None);
    };
    // Sorting and paging use one index, (organization_id, member_key); each search word is
    // a prefix range on the terms' index (organization_id, term). Only the page's 25 rows
    // are joined to the accounts.
    let query =
        crate::ui::list::parse_search(&query).map_err(|message| AppError::field("q", message))?;
    let words = search_words(&query);
    let mut select = membership::Entity::find().filter(if words.is_empty() {
        membership::Column::OrganizationId.eq(org.id)
    } else {
        // `organization_id + 0` keeps SQLite from walking all the organization's memberships
        // by this column and testing each against the matches: the few matching ids drive
        // the query instead (primary key lookups, then the page is sorted).
        Expr::col((membership::Entity, membership::Column::OrganizationId))
            .add(0)
            .eq(org.id)
    });
    for word in words {
        select = select.filter(
            membership::Column::Id.in_subquery(
                member_search_term::Entity::find()
                    .select_only()
                    .column(member_search_term::Column::MembershipId)
                    .filter(member_search_term::Column::OrganizationId.eq(org.id))
                    .filter(member_search_term::Column::Term.gte(word.as_str()))
                    .filter(member_search_term::Column::Term.lt(prefix_end(&word)))
                    .into_query(),
            ),
        );
    }
    // Members with a second factor, or without one.
    let two_factor = match two_factor.as_deref().map(str::trim).unwrap_or_default() {
        "" => None,
        "on" => Some(true),
        "off" => Some(false),
        _ => {
            return Err(AppError::field(
                "two_factor",
                "Two-factor authentication filter must be on, off, or empty for everyone.",
            ))
        }
    };
    let sees_factors = your_role != Role::Member;
    if two_factor.is_some() && !sees_factors {
        return Err(AppError::field(
            "two_factor",
            "Only owners and admins see members' two-factor status.",
        ));
    }
    if let Some(on) = two_factor {
        let has = crate::server::second_factor::has_second_factor_of(
            Expr::col((membership::Entity, membership::Column::UserId)).into(),
        );
        select = select.filter(if on { has } else { has.not() });
    }
    // Without a search or filter the organization's own count answers (kept by the
    // database).
    let total = if query.is_empty() && two_factor.is_none() {
        org.member_count.max(0) as u64
    } else {
        select.clone().count(&state.reader).await?
    };
    let pages = total.div_ceil(MEMBERS_PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    // The page's 25 ids first, from the index alone; only they are joined to accounts.
    // (Joining first made a later page read every skipped member's account.)
    let position = Expr::tuple([
        Expr::col((membership::Entity, membership::Column::MemberKey)).into(),
        Expr::col((membership::Entity, membership::Column::Id)).into(),
    ]);
    let cursor_value = |cursor: &PageCursor| {
        Expr::tuple([
            Expr::val(cursor.member_key.clone()).into(),
            Expr::val(cursor.membership_id).into(),
        ])
    };
    let after = after.as_deref().and_then(PageCursor::parse);
    let before = after
        .is_none()
        .then(|| before.as_deref().and_then(PageCursor::parse))
        .flatten();
    let (key_order, id_order) = if before.is_some() {
        (Order::Desc, Order::Desc)
    } else {
        (Order::Asc, Order::Asc)
    };
    let mut page_ids = select
        .select_only()
        .column(membership::Column::Id)
        .order_by(membership::Column::MemberKey, key_order)
        .order_by(membership::Column::Id, id_order)
        // One row more than a page: whether there is more in the direction of travel.
        .limit(MEMBERS_PAGE_SIZE + 1);
    page_ids = match (&after, &before) {
        (Some(cursor), _) => page_ids.filter(position.gt(cursor_value(cursor))),
        (None, Some(cursor)) => page_ids.filter(position.lt(cursor_value(cursor))),
        (None, None) => page_ids.offset((page - 1) * MEMBERS_PAGE_SIZE),
    };
    let page_ids = page_ids.into_query();
    let mut members = membership::Entity::find()
        .filter(membership::Column::Id.in_subquery(page_ids))
        .order_by_asc(membership::Column::MemberKey)
        .order_by_asc(membership::Column::Id)
        .find_also_related(user::Entity)
        .all(&state.reader)
        .await?;
    let more = members.len() as u64 > MEMBERS_PAGE_SIZE;
    if more {
        // The extra row lies beyond the page: after it going forward, before it going back.
        if before.is_some() {
            members.remove(0);
        } else {
            members.pop();
        }
    }
    // What lies on either side comes from the rows, not from the page number in the URL.
    let (has_previous, has_next) = match (&after, &before) {
        (Some(_), _) => (true, more),
        (None, Some(_)) => (more, true),
        (None, None) => (page > 1, more),
    };
    let page = if !has_previous {
        1
    } else if !has_next {
        pages
    } else {
        page.clamp(2, pages.saturating_sub(1).max(2))
    };
    let cursor_of = |row: Option<&(membership::Model, Option<user::Model>)>| {
        row.map(|(m, _)| {
            PageCursor {
                membership_id: m.id,
                member_key: m.member_key.clone(),
            }
            .encode()
        })
    };
    // Which of the page's members have a second factor: one lookup for the page.
    let page_users: Vec<i32> = if sees_factors {
        members.iter().map(|(m, _)| m.user_id).collect()
    } else {
        Vec::new()
    };
    let with_factor: std::collections::HashSet<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Id.is_in(page_users))
        .filter(crate::server::second_factor::has_second_factor_of(
            Expr::col((user::Entity, user::Column::Id)).into(),
        ))
        .into_tuple::<i32>()
        .all(&state.reader)
        .await?
        .into_iter()
        .collect();
    let next_cursor = has_next.then(|| cursor_of(members.last())).flatten();
    let previous_cursor = has_previous.then(|| cursor_of(members.first())).flatten();
    let members = members
        .into_iter()
        .filter_map(|(m, u)| {
            let u = u?;
            Some(MemberRow {
                membership_id: m.id,
                name: u.name,
                email: u.email,
                role: m.role,
                joined_at: m.created_at.to_rfc3339(),
                last_login_at: u.last_login_at.map(|t| t.to_rfc3339()),
                is_you: u.id == viewer.user_id,
                two_factor: sees_factors.then(|| with_factor.contains(&u.id)),
            })
        })
        .collect();
    let sso_provider = crate::identity::routing::enabled_connection(&state.reader, org.id)
        .await?
        .map(|(connection, _)| connection.provider_name);
    Ok(Some(MembersPage {
        organization_id: org.public_id,
        organization_name: org.name,
        your_role,
        members,
        sso_provider,
        total,
        page,
        pages,
        next_cursor,
        previous_cursor,
        two_factor: match two_factor {
            Some(true) => "on".into(),
            Some(false) => "off".into(),
            None => String::new(),
        },
    }))
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
