//! `/organization`: the key's organization, its profile.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::Caller,
    extract::ApiJson,
    problem::{ApiError, Problem},
};
use crate::{
    members::roles::Action,
    organizations::profile::{parse_profile, save_profile, ProfileForm},
    server::{entities::organization, AppState},
};

/// The organization and its profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organization {
    /// The immutable organization ID.
    #[schema(example = "org_3f9a1c2b7d")]
    pub id: String,
    pub name: String,
    /// Where Orgdesk sends the organization's alerts.
    pub alert_email: Option<String>,
    pub overview: Option<String>,
    pub sales_email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub website: Option<String>,
    pub x_handle: Option<String>,
    /// The logo's address, when there is one.
    pub logo_url: Option<String>,
    pub member_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<organization::Model> for Organization {
    fn from(org: organization::Model) -> Self {
        Organization {
            logo_url: crate::organizations::api::logo_url(&org.public_id, org.logo_hash.as_deref()),
            id: org.public_id,
            name: org.name,
            alert_email: org.alert_email,
            overview: org.overview,
            sales_email: org.sales_email,
            phone: org.phone,
            website: org.website,
            x_handle: org.x_handle,
            member_count: org.member_count,
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// A change to the profile: fields left out stay as they are; an empty string clears an
/// optional field. Every field has the dashboard's rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationChange {
    #[schema(example = "Acme Health")]
    pub name: Option<String>,
    pub alert_email: Option<String>,
    pub overview: Option<String>,
    pub sales_email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub x_handle: Option<String>,
}

/// Reads the key's organization.
#[utoipa::path(
    get,
    path = "/organization",
    tag = "Organization",
    operation_id = "getOrganization",
    security(("api_key" = ["view_organization"])),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_organization(caller: Caller) -> Result<Json<Organization>, ApiError> {
    let caller = caller.require(Action::ViewOrganization)?;
    Ok(Json(caller.organization.clone().into()))
}

/// Changes the profile (needs `manage_profile`).
#[utoipa::path(
    patch,
    path = "/organization",
    tag = "Organization",
    operation_id = "updateOrganization",
    security(("api_key" = ["manage_profile"])),
    request_body = OrganizationChange,
    responses(
        (status = 200, description = "The organization as saved", body = Organization),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<OrganizationChange>,
) -> Result<Json<Organization>, ApiError> {
    let caller = caller.require(Action::ManageProfile)?;
    let org = caller.organization.clone();
    let keep = |new: Option<String>, old: &Option<String>| {
        new.unwrap_or_else(|| old.clone().unwrap_or_default())
    };
    let profile = parse_profile(ProfileForm {
        name: change.name.unwrap_or_else(|| org.name.clone()),
        alert_email: keep(change.alert_email, &org.alert_email),
        overview: keep(change.overview, &org.overview),
        sales_email: keep(change.sales_email, &org.sales_email),
        phone: keep(change.phone, &org.phone),
        website: keep(change.website, &org.website),
        x_handle: keep(change.x_handle, &org.x_handle),
    })?;
    let saved = save_profile(&state.db, org, &caller.actor(), profile, Utc::now()).await?;
    Ok(Json(saved.into()))
}
