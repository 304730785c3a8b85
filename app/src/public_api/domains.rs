//! `/domains`: the domains the organization proves it owns (a DNS TXT record). Reading
//! needs `view_organization` (only verified domains) or `manage_sso` (all, with their
//! records); adding and verifying need `manage_sso`, as in the dashboard.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::Caller,
    extract::{ApiJson, ApiPath},
    problem::{ApiError, Problem, ProblemKind},
};
use crate::{
    domains::{
        rules::{challenge_name, challenge_value, DomainStatus},
        service::{add, domains_of, parse_domain, verify},
    },
    error::AppError,
    members::roles::Action,
    server::{entities::organization_domain, AppState},
};

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainState {
    Pending,
    Verified,
    Failed,
}

/// A domain and the TXT record that proves it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Domain {
    #[schema(example = "example.com")]
    pub domain: String,
    pub status: DomainState,
    /// Where the TXT record goes, and its value.
    pub record_name: String,
    pub record_value: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    pub data: Vec<Domain>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    #[schema(example = "example.com")]
    pub domain: String,
}

impl From<organization_domain::Model> for Domain {
    fn from(row: organization_domain::Model) -> Self {
        Domain {
            record_name: challenge_name(&row.domain),
            record_value: challenge_value(&row.challenge),
            status: match row.status {
                DomainStatus::Pending => DomainState::Pending,
                DomainStatus::Verified => DomainState::Verified,
                DomainStatus::Failed => DomainState::Failed,
            },
            verified_at: row.verified_at,
            checked_at: row.checked_at,
            domain: row.domain,
        }
    }
}

/// The organization's domains: all of them with `manage_sso`, the verified ones otherwise.
#[utoipa::path(
    get,
    path = "/domains",
    tag = "Domains",
    operation_id = "listDomains",
    security(("api_key" = ["view_organization"])),
    responses(
        (status = 200, description = "The domains", body = DomainList),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_domains(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DomainList>, ApiError> {
    let caller = caller.require(Action::ViewOrganization)?;
    let all = caller.may(Action::ManageSso);
    let data = domains_of(&state.reader, caller.organization.id)
        .await?
        .into_iter()
        .filter(|d| all || d.status == DomainStatus::Verified)
        .map(Domain::from)
        .collect();
    Ok(Json(DomainList { data }))
}

/// Adds a domain, pending until its TXT record is verified.
#[utoipa::path(
    post,
    path = "/domains",
    tag = "Domains",
    operation_id = "addDomain",
    request_body = NewDomain,
    security(("api_key" = ["manage_sso"])),
    responses(
        (status = 201, description = "Added: publish its TXT record, then verify", body = Domain,
            headers(("Location" = String, description = "The domain"))),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_domain(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewDomain>,
) -> Result<Response, ApiError> {
    let caller = caller.require(Action::ManageSso)?;
    let domain = parse_domain(&new.domain).map_err(|m| ApiError::field("domain", m))?;
    let added = add(
        &state.db,
        caller.organization.id,
        &caller.actor(),
        &domain,
        Utc::now(),
    )
    .await?;
    let mut response = (StatusCode::CREATED, Json(Domain::from(added))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/domains/{domain}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Looks the domain's TXT record up now; verified when it carries the challenge.
#[utoipa::path(
    post,
    path = "/domains/{domain}/verify",
    tag = "Domains",
    operation_id = "verifyDomain",
    params(("domain" = String, Path, description = "The domain, as listed")),
    security(("api_key" = ["manage_sso"])),
    responses(
        (status = 200, description = "Verified", body = Domain),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the organization's domains", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The record is not published (yet)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify_domain(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<Domain>, ApiError> {
    let caller = caller.require(Action::ManageSso)?;
    let domain = parse_domain(&domain).map_err(|_| ApiError::not_found("That domain"))?;
    match verify(
        &state,
        caller.organization.id,
        &caller.actor(),
        &domain,
        Utc::now(),
    )
    .await
    {
        Ok(()) => {}
        // The check ran and found no record: the state of the domain, not a permission.
        Err(AppError::Forbidden(why)) => return Err(ApiError::new(ProblemKind::Conflict, why)),
        Err(other) => return Err(other.into()),
    }
    let row = domains_of(&state.db, caller.organization.id)
        .await?
        .into_iter()
        .find(|d| d.domain == domain)
        .ok_or_else(|| ApiError::not_found("That domain"))?;
    Ok(Json(row.into()))
}
