//! `/memberships`: the organization's members. Reads need `view_organization`; adding an
//! existing account `manage_invitations`, changing a role `manage_roles`, removing
//! `remove_users`. Each write is the dashboard's own service function, in its transaction
//! rules.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::{begin_write, Caller},
    extract::{given, ApiJson, ApiPath, ApiQuery},
    problem::{ApiError, Problem},
    roles::ApiRole,
};
use crate::{
    accounts::rules::EmailAddress,
    audit::{events::EventKind, service::NewEvent},
    members::{
        listing::{members_page, MemberQuery},
        roles::Action,
        service,
        views::{MemberRow, PageCursor},
    },
    server::{entities::membership, AppState},
};

/// A member of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Membership {
    #[schema(example = 42)]
    pub id: i32,
    pub name: String,
    pub email: String,
    pub role: ApiRole,
    pub joined_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Whether the account has a second factor (an authenticator app or a passkey).
    pub two_factor: bool,
}

/// One page of members, by name; `next` and `previous` are the links to the pages beside.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipList {
    pub data: Vec<Membership>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MembershipListQuery {
    /// Members per page, 1–100 (25 when left out).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub after: Option<String>,
    /// The `previous` cursor of the page after.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub before: Option<String>,
    /// Words that each start a member's name or address.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub q: Option<String>,
}

/// An existing Orgdesk account to add, with a role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMembership {
    #[schema(example = "ana@example.com", format = Email, max_length = 254)]
    pub email: String,
    pub role: ApiRole,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipChange {
    pub role: ApiRole,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl From<MemberRow> for Membership {
    fn from(row: MemberRow) -> Self {
        Membership {
            id: row.membership_id,
            name: row.name,
            email: row.email,
            role: row.role.into(),
            joined_at: parse_time(&row.joined_at).unwrap_or_default(),
            last_login_at: row.last_login_at.as_deref().and_then(parse_time),
            two_factor: row.two_factor.unwrap_or(false),
        }
    }
}

/// The API's cursors: the Users tab's keyset position, base64url so it reads as one token.
fn encode_cursor(cursor: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cursor)
}

fn decode_cursor(field: &str, text: &str) -> Result<PageCursor, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| PageCursor::parse(&text))
        .ok_or_else(|| {
            ApiError::field(
                field,
                "This is not a cursor this list gave: use its `next` or `previous` link.",
            )
        })
}

/// The organization's members by name, a page at a time.
#[utoipa::path(
    get,
    path = "/memberships",
    tag = "Memberships",
    operation_id = "listMemberships",
    params(MembershipListQuery),
    security(("api_key" = ["view_organization"])),
    responses(
        (status = 200, description = "A page of members", body = MembershipList),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_memberships(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MembershipListQuery>,
) -> Result<Json<MembershipList>, ApiError> {
    let caller = caller.require(Action::ViewOrganization)?;
    let query = MembershipListQuery {
        q: given(query.q),
        ..query
    };
    let limit = query.limit.unwrap_or(25);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "Use a limit from 1 to 100."));
    }
    if query.after.is_some() && query.before.is_some() {
        return Err(ApiError::field(
            "before",
            "Use either after or before, not both.",
        ));
    }
    let after = query
        .after
        .as_deref()
        .map(|c| decode_cursor("after", c))
        .transpose()?;
    let before = query
        .before
        .as_deref()
        .map(|c| decode_cursor("before", c))
        .transpose()?;
    let search = crate::ui::list::parse_search(query.q.as_deref().unwrap_or_default())
        .map_err(|message| ApiError::field("q", message))?;
    let org = caller.organization.clone();
    let page = members_page(
        &state.reader,
        org,
        0,
        caller.acting_role(),
        MemberQuery {
            query: search.clone(),
            two_factor: None,
            page: 1,
            after,
            before,
            size: u64::from(limit),
            with_total: false,
        },
    )
    .await?;
    let link = |direction: &str, cursor: Option<String>| {
        cursor.map(|cursor| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &limit.to_string());
            query.append_pair(direction, &encode_cursor(&cursor));
            if !search.is_empty() {
                query.append_pair("q", &search);
            }
            format!("/api/v1/memberships?{}", query.finish())
        })
    };
    Ok(Json(MembershipList {
        next: link("after", page.next_cursor),
        previous: link("before", page.previous_cursor),
        data: page.members.into_iter().map(Membership::from).collect(),
    }))
}

async fn membership(
    state: &AppState,
    organization_id: i32,
    membership_id: i32,
) -> Result<Membership, ApiError> {
    let (found, account) =
        service::membership_with_account(&state.db, organization_id, membership_id)
            .await?
            .ok_or_else(|| ApiError::not_found("That membership"))?;
    let two_factor =
        crate::server::second_factor::user_has_second_factor(&state.db, account.id).await?;
    Ok(Membership {
        id: found.id,
        name: account.name,
        email: account.email,
        role: found.role.into(),
        joined_at: found.created_at,
        last_login_at: account.last_login_at,
        two_factor,
    })
}

/// One member.
#[utoipa::path(
    get,
    path = "/memberships/{membership_id}",
    tag = "Memberships",
    operation_id = "getMembership",
    params(("membership_id" = i32, Path, description = "The membership's ID")),
    security(("api_key" = ["view_organization"])),
    responses(
        (status = 200, description = "The member", body = Membership),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member in this organization", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_membership(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(membership_id): ApiPath<i32>,
) -> Result<Json<Membership>, ApiError> {
    let caller = caller.require(Action::ViewOrganization)?;
    Ok(Json(
        membership(&state, caller.organization.id, membership_id).await?,
    ))
}

/// Adds an existing Orgdesk account (its address confirmed) with a role, without an
/// invitation; allowed in SSO organizations too. Only a key with `manage_roles` adds owners.
#[utoipa::path(
    post,
    path = "/memberships",
    tag = "Memberships",
    operation_id = "addMembership",
    request_body = NewMembership,
    security(("api_key" = ["manage_invitations"])),
    responses(
        (status = 201, description = "Added", body = Membership,
            headers(("Location" = String, description = "The new membership"))),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No account with a confirmed address has this email", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_membership(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewMembership>,
) -> Result<Response, ApiError> {
    let caller = caller.require(Action::ManageInvitations)?;
    let email = EmailAddress::parse(&new.email).map_err(|m| ApiError::field("email", m))?;
    let role = new.role.into();
    if !caller.acting_role().may_invite_as(role) {
        return Err(ApiError::field(
            "role",
            "Only a key with the manage_roles scope adds owners.",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    let (joined, account) =
        service::add_existing_account(&txn, caller.organization.id, email.as_str(), role, now)
            .await?;
    NewEvent::of(
        caller.organization.id,
        &caller.actor(),
        EventKind::MemberAdded,
    )
    .about(&account.email)
    .role(role)
    .record(&txn, now)
    .await?;
    txn.commit().await?;
    let created = membership(&state, caller.organization.id, joined.id).await?;
    let location = format!("/api/v1/memberships/{}", joined.id);
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Changes a member's role (needs `manage_roles`); the organization keeps an owner.
#[utoipa::path(
    patch,
    path = "/memberships/{membership_id}",
    tag = "Memberships",
    operation_id = "changeMembershipRole",
    params(("membership_id" = i32, Path, description = "The membership's ID")),
    request_body = MembershipChange,
    security(("api_key" = ["manage_roles"])),
    responses(
        (status = 200, description = "The member with the new role", body = Membership),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope, or the change would leave no owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member in this organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_membership_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(membership_id): ApiPath<i32>,
    ApiJson(change): ApiJson<MembershipChange>,
) -> Result<Json<Membership>, ApiError> {
    let caller = caller.require(Action::ManageRoles)?;
    let new_role = change.role.into();
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    exists(&txn, caller.organization.id, membership_id).await?;
    service::refuse_if_directory_managed(&txn, caller.organization.id, membership_id).await?;
    if let Some(changed) =
        service::change_role(&txn, caller.organization.id, membership_id, new_role).await?
    {
        NewEvent::of(
            caller.organization.id,
            &caller.actor(),
            EventKind::RoleChanged,
        )
        .about(&changed.email)
        .role(new_role)
        .previous_role(changed.from)
        .record(&txn, now)
        .await?;
    }
    txn.commit().await?;
    Ok(Json(
        membership(&state, caller.organization.id, membership_id).await?,
    ))
}

/// Removes a member (needs `remove_users`; an owner only with `manage_roles` too).
#[utoipa::path(
    delete,
    path = "/memberships/{membership_id}",
    tag = "Memberships",
    operation_id = "removeMembership",
    params(("membership_id" = i32, Path, description = "The membership's ID")),
    security(("api_key" = ["remove_users"])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope, or the member is the last owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member in this organization", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_membership(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(membership_id): ApiPath<i32>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.require(Action::RemoveUsers)?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    exists(&txn, caller.organization.id, membership_id).await?;
    service::refuse_if_directory_managed(&txn, caller.organization.id, membership_id).await?;
    let removed = service::remove(
        &txn,
        caller.organization.id,
        membership_id,
        caller.acting_role(),
    )
    .await?;
    NewEvent::of(caller.organization.id, &caller.actor(), EventKind::Removed)
        .about(&removed)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 404 unless `membership_id` is one of the organization's memberships.
async fn exists(
    txn: &sea_orm::DatabaseTransaction,
    organization_id: i32,
    membership_id: i32,
) -> Result<(), ApiError> {
    membership::Entity::find_by_id(membership_id)
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .one(txn)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("That membership"))
}
