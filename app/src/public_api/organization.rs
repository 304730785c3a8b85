//! `/organization`: the key's organization, its profile.

use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::{begin_write, Caller},
    extract::{ApiImage, ApiJson, ApiQuery},
    problem::{ApiError, Problem},
};
use crate::{
    members::roles::Action,
    organizations::{
        logo,
        profile::{parse_profile, save_profile, ProfileForm},
        service::{check_deletable, delete_organization as delete},
    },
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

/// Replaces the logo (needs `manage_profile`): the image itself is the body.
#[utoipa::path(
    put,
    path = "/organization/logo",
    tag = "Organization",
    operation_id = "uploadLogo",
    security(("api_key" = ["manage_profile"])),
    request_body(
        description = "A PNG, JPEG, GIF or WebP image, at most 2 MiB and 4096 pixels a side. Stored re-encoded as a PNG.",
        content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))
    ),
    responses(
        (status = 200, description = "The organization with its new logo", body = Organization),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an image of an accepted type, or too large a picture", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload_logo(
    State(state): State<AppState>,
    caller: Caller,
    image: ApiImage,
) -> Result<Json<Organization>, ApiError> {
    let caller = caller.require(Action::ManageProfile)?;
    let ApiImage {
        bytes,
        content_type,
    } = image;
    // Decoding is CPU work on a blocking thread, a few at a time, as for the dashboard.
    let processed = crate::server::limits::LOGO_WORK
        .run(move || logo::process(&bytes, None, Some(&content_type)))
        .await?
        .map_err(|message| crate::error::AppError::field("logo", message))?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    logo::save(
        &txn,
        caller.organization.clone(),
        &caller.actor(),
        processed,
        now,
    )
    .await?;
    let saved = reread(&txn, caller.organization.id).await?;
    txn.commit().await?;
    Ok(Json(saved.into()))
}

async fn reread(
    txn: &sea_orm::DatabaseTransaction,
    organization_id: i32,
) -> Result<organization::Model, ApiError> {
    use sea_orm::EntityTrait;
    organization::Entity::find_by_id(organization_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("The organization"))
}

/// Deleting needs the organization's name typed out, as in the dashboard.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteConfirmation {
    /// The organization's name, exactly.
    pub confirm_name: String,
}

/// Deletes the organization with its memberships, invitations, keys (this one too) and
/// logo (needs `delete_organization`). Organizations in production cannot be deleted.
#[utoipa::path(
    delete,
    path = "/organization",
    tag = "Organization",
    operation_id = "deleteOrganization",
    security(("api_key" = ["delete_organization"])),
    params(DeleteConfirmation),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The key lacks the scope, or the organization is in production", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "confirm_name is not the organization's name", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_organization(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(confirmation): ApiQuery<DeleteConfirmation>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.require(Action::DeleteOrganization)?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    // Read under the lock: the stage or name may just have changed.
    let org = reread(&txn, caller.organization.id).await?;
    check_deletable(&org, &confirmation.confirm_name)?;
    delete(&txn, org.id).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
