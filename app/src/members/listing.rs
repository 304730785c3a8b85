//! (ssr) The Users tab's query: one page of an organization's members, by name, searched
//! by name or email and filtered by two-factor status, paged by keyset.
//!
//! Sorting and paging use one index, (organization_id, member_key); each search word is a
//! prefix range on the terms' index (organization_id, term). Only the page's 25 rows are
//! joined to the accounts.

use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};

use super::{
    roles::Role,
    rules::{prefix_end, search_words},
    views::{MemberRow, MembersPage, PageCursor},
};
use crate::{
    error::AppError,
    server::entities::{member_search_term, membership, organization, user},
};

/// What the viewer asked for.
pub struct MemberQuery {
    /// The search, already parsed (see `ui::list::parse_search`).
    pub query: String,
    /// Members with a second factor (`Some(true)`), without one, or everyone.
    pub two_factor: Option<bool>,
    /// The page by number, when no cursor says where to start.
    pub page: u64,
    pub after: Option<PageCursor>,
    pub before: Option<PageCursor>,
    /// Rows per page: the Users tab's 25, or the API's `limit`.
    pub size: u64,
    /// Whether to count the matching members (the Users tab's "N members" and page
    /// numbers); the API pages by cursor only and skips the count.
    pub with_total: bool,
}

/// The two-factor filter as the form sends it: "on", "off", or empty for everyone.
pub fn two_factor_filter(raw: Option<&str>) -> Result<Option<bool>, AppError> {
    match raw.map(str::trim).unwrap_or_default() {
        "" => Ok(None),
        "on" => Ok(Some(true)),
        "off" => Ok(Some(false)),
        _ => Err(AppError::field(
            "two_factor",
            "Two-factor authentication filter must be on, off, or empty for everyone.",
        )),
    }
}

/// One page of `org`'s members as `viewer_id` (whose role is `your_role`) sees them.
pub async fn members_page(
    db: &impl ConnectionTrait,
    org: organization::Model,
    viewer_id: i32,
    your_role: Role,
    wanted: MemberQuery,
) -> Result<MembersPage, AppError> {
    let MemberQuery {
        query,
        two_factor,
        page,
        after,
        before,
        size,
        with_total,
    } = wanted;
    let size = size.clamp(1, 100);
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
    let sees_factors = your_role != Role::Member;
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
    } else if with_total {
        select.clone().count(db).await?
    } else {
        0
    };
    let pages = total.div_ceil(size).max(1);
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
    // One direction only: `after` wins.
    let before = after.is_none().then_some(before).flatten();
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
        .limit(size + 1);
    page_ids = match (&after, &before) {
        (Some(cursor), _) => page_ids.filter(position.gt(cursor_value(cursor))),
        (None, Some(cursor)) => page_ids.filter(position.lt(cursor_value(cursor))),
        (None, None) => page_ids.offset((page - 1) * size),
    };
    let page_ids = page_ids.into_query();
    let mut members = membership::Entity::find()
        .filter(membership::Column::Id.in_subquery(page_ids))
        .order_by_asc(membership::Column::MemberKey)
        .order_by_asc(membership::Column::Id)
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let more = members.len() as u64 > size;
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
        .all(db)
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
                is_you: u.id == viewer_id,
                two_factor: sees_factors.then(|| with_factor.contains(&u.id)),
            })
        })
        .collect();
    let sso_provider = crate::identity::routing::enabled_connection(db, org.id)
        .await?
        .map(|(connection, _)| connection.provider_name);
    Ok(MembersPage {
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
    })
}
