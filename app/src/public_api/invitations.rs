//! `/invitations`: invitations by email (needs `manage_invitations`), as the Invited Users
//! tab sends them; an SSO organization takes its members from its identity provider and
//! sends none. Only a key with `manage_roles` invites owners.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    extract::{given, id_cursor, next_link, page_limit, ApiJson, ApiPath, ApiQuery},
    problem::{ApiError, Problem},
    roles::ApiRole,
};
use crate::{
    accounts::rules::EmailAddress,
    error::Validation,
    invitations::{
        service::{invite, pending_invitations, resend, revoke, Inviter},
        views::InvitationRow,
    },
    members::roles::Action,
    server::{entities::invitation, AppState},
};

/// A pending invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: i32,
    pub email: String,
    pub role: ApiRole,
    /// The member who sent it; none when a program did.
    pub invited_by: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Past its expiry: resend it for a new link.
    pub expired: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub data: Vec<Invitation>,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvitationQuery {
    /// Invitations per page, 1–100 (25 when left out).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[param(pattern = "^[1-9][0-9]{0,8}$")]
    pub after: Option<String>,
    /// Text in the invited address.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    #[schema(example = "ana@example.com", format = Email, max_length = 254)]
    pub email: String,
    pub role: ApiRole,
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl From<InvitationRow> for Invitation {
    fn from(row: InvitationRow) -> Self {
        Invitation {
            id: row.id,
            email: row.email,
            role: row.role.into(),
            invited_by: row.invited_by,
            sent_at: time(&row.sent_at),
            expires_at: time(&row.expires_at),
            expired: row.expired,
        }
    }
}

impl From<invitation::Model> for Invitation {
    fn from(row: invitation::Model) -> Self {
        Invitation {
            id: row.id,
            email: row.email,
            role: row.role.into(),
            invited_by: None,
            sent_at: row.sent_at,
            expires_at: row.expires_at,
            expired: row.expires_at <= Utc::now(),
        }
    }
}

/// Pending invitations, newest first.
#[utoipa::path(
    get,
    path = "/invitations",
    tag = "Invitations",
    operation_id = "listInvitations",
    params(InvitationQuery),
    security(("api_key" = ["manage_invitations"])),
    responses(
        (status = 200, description = "A page of invitations", body = InvitationList),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_invitations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InvitationQuery>,
) -> Result<Json<InvitationList>, ApiError> {
    let caller = caller.require(Action::ManageInvitations)?;
    let query = InvitationQuery {
        limit: query.limit,
        after: query.after,
        q: given(query.q),
    };
    let mut checks = Validation::new();
    let limit = page_limit(&mut checks, query.limit, 25);
    let after = id_cursor(&mut checks, query.after.as_deref());
    let search = checks
        .check(
            "q",
            crate::ui::list::parse_search(query.q.as_deref().unwrap_or_default()),
        )
        .unwrap_or_default()
        .to_lowercase();
    checks.finish()?;
    let rows = pending_invitations(
        &state.reader,
        caller.organization.id,
        &search,
        after,
        u64::from(limit) + 1,
        Utc::now(),
    )
    .await?;
    let more = rows.len() > limit as usize;
    let data: Vec<Invitation> = rows
        .into_iter()
        .take(limit as usize)
        .map(Invitation::from)
        .collect();
    let q = (!search.is_empty()).then_some(search.as_str());
    let next = more
        .then(|| data.last().map(|last| last.id))
        .flatten()
        .map(|last| next_link("/api/v1/invitations", limit, last, &[("q", q)]));
    Ok(Json(InvitationList { data, next }))
}

/// Invites an address with a role; the invitation email goes out at once.
#[utoipa::path(
    post,
    path = "/invitations",
    tag = "Invitations",
    operation_id = "createInvitation",
    request_body = NewInvitation,
    security(("api_key" = ["manage_invitations"])),
    responses(
        (status = 201, description = "Invited", body = Invitation,
            headers(("Location" = String, description = "The invitations list"))),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope, or the organization uses SSO", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke its rule", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The organization's daily invitations are used up", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewInvitation>,
) -> Result<Response, ApiError> {
    let caller = caller.require(Action::ManageInvitations)?;
    crate::sso::lookup::refuse_invitations_if_sso(&state.reader, caller.organization.id).await?;
    let mut checks = Validation::new();
    let email = checks.check("email", EmailAddress::parse(&new.email));
    let role = new.role.into();
    if !caller.acting_role().may_invite_as(role) {
        checks.add(
            "role",
            "Only a key with the manage_roles scope invites owners.",
        );
    }
    checks.finish()?;
    let Some(email) = email else {
        return Err(ApiError::field("email", "Enter an email address."));
    };
    let made = invite(
        &state,
        &caller.organization,
        Inviter::Key(caller),
        &email,
        role,
        Utc::now(),
    )
    .await?;
    let mut response = (StatusCode::CREATED, Json(Invitation::from(made))).into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_static("/api/v1/invitations"),
    );
    Ok(response)
}

/// Sends the invitation again: a new link (the old one stops working) and a new expiry.
#[utoipa::path(
    post,
    path = "/invitations/{invitation_id}/resend",
    tag = "Invitations",
    operation_id = "resendInvitation",
    params(("invitation_id" = i32, Path, description = "The invitation's ID")),
    security(("api_key" = ["manage_invitations"])),
    responses(
        (status = 200, description = "Sent again", body = Invitation),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pending invitation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The organization's daily invitations are used up", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(invitation_id): ApiPath<i32>,
) -> Result<Json<Invitation>, ApiError> {
    let caller = caller.require(Action::ManageInvitations)?;
    crate::sso::lookup::refuse_invitations_if_sso(&state.reader, caller.organization.id).await?;
    let sent = resend(
        &state,
        &caller.organization,
        Inviter::Key(caller),
        invitation_id,
        Utc::now(),
    )
    .await?;
    Ok(Json(sent.into()))
}

/// Revokes a pending invitation; its link then says so.
#[utoipa::path(
    delete,
    path = "/invitations/{invitation_id}",
    tag = "Invitations",
    operation_id = "revokeInvitation",
    params(("invitation_id" = i32, Path, description = "The invitation's ID")),
    security(("api_key" = ["manage_invitations"])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pending invitation", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(invitation_id): ApiPath<i32>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.require(Action::ManageInvitations)?;
    revoke(
        &state,
        &caller.organization,
        Inviter::Key(caller),
        invitation_id,
        Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
