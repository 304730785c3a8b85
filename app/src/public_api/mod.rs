//! (ssr) The public REST API, `/api/v1`: everything an owner or admin does to an
//! organization, for programs holding one of its API keys. Its own router beside the pages
//! (no session, no cookies: `Authorization: Bearer odk_…` only). Each write calls the same
//! service function as the dashboard's server function. The OpenAPI 3.1 document is
//! generated from the handlers and their types (utoipa).

pub mod audit;
pub mod auth;
pub mod domains;
pub mod extract;
pub mod gate;
pub mod invitations;
pub mod memberships;
pub mod organization;
pub mod problem;
pub mod roles;

use std::sync::LazyLock;

use axum::{http::StatusCode, routing::get};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi, ToSchema,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::problem::{ApiError, ProblemKind};
use crate::{
    api_keys::service::ApiCaller,
    kinds::Role,
    server::{entities::membership, locks::lock_organization, AppState},
};

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    Owner,
    Admin,
    Member,
}

impl From<Role> for ApiRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => ApiRole::Owner,
            Role::Admin => ApiRole::Admin,
            Role::Member => ApiRole::Member,
        }
    }
}

impl From<ApiRole> for Role {
    fn from(role: ApiRole) -> Self {
        match role {
            ApiRole::Owner => Role::Owner,
            ApiRole::Admin => Role::Admin,
            ApiRole::Member => Role::Member,
        }
    }
}

/// A write's transaction: the organization locked (changes to one organization run one at
/// a time), then the key read again under the lock, so a key revoked by a request that
/// held the lock first writes nothing.
async fn begin_write(
    state: &AppState,
    caller: &ApiCaller,
    now: DateTime<Utc>,
) -> Result<DatabaseTransaction, ApiError> {
    let txn = state.db.begin().await?;
    lock_organization(&txn, caller.organization.id).await?;
    crate::api_keys::service::reauthorize_key_locked(&txn, caller.key.id, now).await?;
    Ok(txn)
}

/// 404 unless `membership_id` is one of the organization's memberships.
async fn exists(
    txn: &DatabaseTransaction,
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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Orgdesk API",
        version = "1.0.0",
        description = "Manage an organization from a program: its profile, members, invitations, domains and audit log. Authenticate with one of the organization's API keys (Organization Profile → API keys): `Authorization: Bearer odk_…`. Errors are `application/problem+json` (RFC 9457)."
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerKeys),
    tags(
        (name = "Organization", description = "The key's organization and its profile"),
        (name = "Memberships", description = "Members and their roles"),
        (name = "Invitations", description = "Invitations by email"),
        (name = "Domains", description = "Domains the organization proves it owns"),
        (name = "Audit log", description = "Who did what, when"),
    )
)]
struct ApiDoc;

/// The API key as an HTTP bearer scheme; each operation lists the scope it needs.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("odk_ followed by 38 letters and digits")
                    .description(Some(
                        "An organization API key. Each operation names the scope it needs.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The answers any operation may give besides its own: the gate's (401 without a valid
/// key, 429 beyond the rate limits, 503 while the database is away), a body's (400 not
/// JSON, 413 too large, 415 not `application/json`, 422 a broken rule), a POST's
/// Idempotency-Key (409 while the first request runs, 422 reused with other parameters), a
/// path's (404) and a query's (422). Each as a problem document.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{path::ParameterIn, ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| -> RefOr<utoipa::openapi::Response> {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (false, item.get.as_mut()),
                (false, item.delete.as_mut()),
                (false, item.patch.as_mut()),
                (true, item.post.as_mut()),
                (false, item.put.as_mut()),
            ];
            for (is_post, operation) in operations {
                let Some(operation) = operation else { continue };
                let has_body = operation.request_body.is_some();
                let params = operation.parameters.as_deref().unwrap_or_default();
                let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
                let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
                let mut common = vec![
                    ("401", "Missing or invalid key"),
                    ("429", "Over a rate limit: see Retry-After"),
                    ("503", "The database is away for a moment: see Retry-After"),
                ];
                if has_body {
                    common.extend([
                        ("400", "The body is not valid JSON"),
                        ("413", "The body is too large"),
                        ("415", "The body is not application/json"),
                        ("422", "A field broke its rule"),
                    ]);
                }
                if is_post {
                    common.extend([
                        ("409", "Conflicts with the current state, or a request with this Idempotency-Key is still running"),
                        ("422", "A field broke its rule, or the Idempotency-Key was used with other parameters"),
                    ]);
                }
                if has_path {
                    common.push(("404", "Not found in this organization"));
                }
                if has_query {
                    common.push(("422", "A parameter broke its rule"));
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem(description));
                }
            }
        }
    }
}

fn api_routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            organization::get_organization,
            organization::update_organization
        ))
        .routes(routes!(
            memberships::list_memberships,
            memberships::add_membership
        ))
        .routes(routes!(
            memberships::get_membership,
            memberships::change_membership_role,
            memberships::remove_membership
        ))
        .routes(routes!(
            invitations::list_invitations,
            invitations::create_invitation
        ))
        .routes(routes!(invitations::resend_invitation))
        .routes(routes!(invitations::revoke_invitation))
        .routes(routes!(domains::list_domains, domains::add_domain))
        .routes(routes!(domains::verify_domain))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(roles::list_roles))
        .split_for_parts();
    // After the routes joined the document (a modifier of ApiDoc runs before they do).
    CommonResponses.modify(&mut document);
    ParameterRules.modify(&mut document);
    (router, document)
}

/// What utoipa's attributes cannot say about parameters: the audit log's `kind` is one of
/// the event kinds (listed from the code, so a new kind is documented at once).
struct ParameterRules;

impl Modify for ParameterRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ObjectBuilder, RefOr, Type};
        let kinds: Vec<&str> = crate::audit::events::EventKind::all()
            .map(|kind| kind.as_str())
            .collect();
        let Some(list) = openapi
            .paths
            .paths
            .get_mut("/audit-events")
            .and_then(|item| item.get.as_mut())
        else {
            return;
        };
        for parameter in list.parameters.iter_mut().flatten() {
            if parameter.name == "kind" {
                parameter.schema = Some(RefOr::T(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(kinds.clone()))
                        .into(),
                ));
            }
        }
    }
}

/// The OpenAPI 3.1 document (built once).
pub static OPENAPI: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| api_routes().1);

/// The document as `/api/v1/openapi.json` serves it.
pub fn openapi_json() -> String {
    OPENAPI.to_pretty_json().unwrap_or_default()
}

/// `/api/v1`'s routes (nest them there), with the document at `openapi.json`, behind the
/// gate: the key, the rate limits and idempotency.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    let (routes, _) = api_routes();
    routes
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    openapi_json(),
                )
            }),
        )
        .fallback(|| async {
            ApiError::new(ProblemKind::NotFound, "There is no such API operation.")
        })
        .method_not_allowed_fallback(|| async {
            let mut error = ApiError::new(
                ProblemKind::NotFound,
                "This operation does not take that method.",
            );
            error.problem.status = StatusCode::METHOD_NOT_ALLOWED.as_u16();
            error
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::gate,
        ))
}
