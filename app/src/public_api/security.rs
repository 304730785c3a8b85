//! `/security`: the organization's sign-in policy. Reading needs `view_organization`;
//! requiring two-factor authentication (or stopping) needs `manage_security`. Requiring
//! passkeys of owners and admins stays in the dashboard: the owner switching it on must be
//! signed in with a passkey, so nobody is locked out, and a key is nobody.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::{begin_write, Caller},
    extract::ApiJson,
    problem::{ApiError, Problem},
};
use crate::{
    error::AppError,
    members::roles::Action,
    organizations::policy::{
        service::{require_two_factor, stop_requiring_two_factor},
        views::MAX_GRACE_DAYS,
    },
    server::{entities::organization, AppState},
};

/// The organization's sign-in policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecuritySettings {
    /// Every member must have a second factor (after the grace period).
    pub two_factor_required: bool,
    pub two_factor_required_since: Option<DateTime<Utc>>,
    /// When the grace period ends: members without a second factor cannot open the
    /// organization after it.
    pub two_factor_deadline: Option<DateTime<Utc>>,
    /// Owners and admins must sign in with a passkey (set in the dashboard).
    pub passkeys_for_admins: bool,
}

impl From<&organization::Model> for SecuritySettings {
    fn from(org: &organization::Model) -> Self {
        SecuritySettings {
            two_factor_required: org.two_factor_required_at.is_some(),
            two_factor_required_since: org.two_factor_required_at,
            two_factor_deadline: org.two_factor_deadline,
            passkeys_for_admins: org.passkeys_for_admins,
        }
    }
}

/// A change to the policy. Asking for what already is changes nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityChange {
    pub two_factor_required: bool,
    /// Days members without a second factor have to set one up (0–14; 7 when left out).
    /// Only when `two_factor_required` turns true; members without one are emailed.
    #[schema(minimum = 0, maximum = 14, example = 7)]
    pub grace_days: Option<u32>,
}

/// Reads the sign-in policy.
#[utoipa::path(
    get,
    path = "/security",
    tag = "Organization",
    operation_id = "getSecurity",
    security(("api_key" = ["view_organization"])),
    responses(
        (status = 200, description = "The sign-in policy", body = SecuritySettings),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_security(caller: Caller) -> Result<Json<SecuritySettings>, ApiError> {
    let caller = caller.require(Action::ViewOrganization)?;
    Ok(Json((&caller.organization).into()))
}

/// Requires two-factor authentication of every member, or stops (needs `manage_security`).
#[utoipa::path(
    patch,
    path = "/security",
    tag = "Organization",
    operation_id = "updateSecurity",
    security(("api_key" = ["manage_security"])),
    request_body = SecurityChange,
    responses(
        (status = 200, description = "The policy as saved", body = SecuritySettings),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "grace_days is out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_security(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<SecurityChange>,
) -> Result<Json<SecuritySettings>, ApiError> {
    use sea_orm::EntityTrait;

    let caller = caller.require(Action::ManageSecurity)?;
    let days = change.grace_days.unwrap_or(7);
    if days > MAX_GRACE_DAYS {
        return Err(AppError::field(
            "grace_days",
            format!("Grace period must be a whole number of days from 0 to {MAX_GRACE_DAYS}."),
        )
        .into());
    }
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    let org = organization::Entity::find_by_id(caller.organization.id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("The organization"))?;
    let actor = caller.actor();
    match (
        org.two_factor_required_at.is_some(),
        change.two_factor_required,
    ) {
        (false, true) => require_two_factor(&state, &txn, &org, &actor, days, now).await?,
        (true, false) => stop_requiring_two_factor(&txn, &org, &actor, now).await?,
        _ => {}
    }
    let saved = organization::Entity::find_by_id(org.id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("The organization"))?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(Json((&saved).into()))
}
