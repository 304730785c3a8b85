//! `/sso`: the organization's single sign-on (needs `manage_sso`). The provider is set up
//! and tested in the dashboard (a test sign-in needs a person at a browser); a program
//! reads where it stands and turns it on (after a passed test) or off.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::{begin_write, Caller},
    extract::ApiJson,
    problem::{ApiError, Problem},
};
use crate::{
    members::roles::Action,
    server::{
        entities::sso_connection::{self, Protocol},
        AppState,
    },
    sso::settings::switch_sso,
};

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SsoProtocol {
    Oidc,
    Saml,
}

/// Where single sign-on stands. Secrets are never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sso {
    /// Whether a provider is set up.
    pub configured: bool,
    /// Members of the verified domains sign in through the provider.
    pub enabled: bool,
    pub protocol: Option<SsoProtocol>,
    pub provider_name: Option<String>,
    /// When the last test sign-in passed (needed before turning SSO on).
    pub tested_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoChange {
    /// On needs a verified domain and a passed test sign-in, and voids pending invitations.
    pub enabled: bool,
}

async fn read(db: &impl ConnectionTrait, organization_id: i32) -> Result<Sso, ApiError> {
    let connection = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?;
    Ok(match connection {
        None => Sso {
            configured: false,
            enabled: false,
            protocol: None,
            provider_name: None,
            tested_at: None,
        },
        Some(connection) => Sso {
            configured: true,
            enabled: connection.enabled,
            protocol: Some(match connection.protocol {
                Protocol::OpenIdConnect => SsoProtocol::Oidc,
                Protocol::Saml => SsoProtocol::Saml,
            }),
            provider_name: Some(connection.provider_name),
            tested_at: connection.tested_at,
        },
    })
}

/// Reads where single sign-on stands.
#[utoipa::path(
    get,
    path = "/sso",
    tag = "Organization",
    operation_id = "getSso",
    security(("api_key" = ["manage_sso"])),
    responses(
        (status = 200, description = "Single sign-on", body = Sso),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_sso(State(state): State<AppState>, caller: Caller) -> Result<Json<Sso>, ApiError> {
    let caller = caller.require(Action::ManageSso)?;
    Ok(Json(read(&state.reader, caller.organization.id).await?))
}

/// Turns single sign-on on or off. Asking for what already is changes nothing.
#[utoipa::path(
    patch,
    path = "/sso",
    tag = "Organization",
    operation_id = "updateSso",
    security(("api_key" = ["manage_sso"])),
    request_body = SsoChange,
    responses(
        (status = 200, description = "Single sign-on as saved", body = Sso),
        (status = 403, description = "The key lacks the scope, or SSO cannot be turned on yet (no verified domain, no passed test)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_sso(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<SsoChange>,
) -> Result<Json<Sso>, ApiError> {
    let caller = caller.require(Action::ManageSso)?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    switch_sso(
        &txn,
        &caller.organization,
        &caller.actor(),
        change.enabled,
        now,
    )
    .await?;
    let saved = read(&txn, caller.organization.id).await?;
    txn.commit().await?;
    Ok(Json(saved))
}
