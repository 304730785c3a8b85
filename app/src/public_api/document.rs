//! The OpenAPI 3.1 document, generated from the handlers and their types (utoipa), and
//! what it says each operation needs: the gate enforces each operation's scope from it.

use std::{collections::HashMap, sync::LazyLock};

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    audit, domains, invitations, memberships, organization, roles, security, sso, webhooks,
};
use crate::{members::roles::Action, server::AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Orgdesk API",
        version = "1.0.0",
        description = "Manage an organization from a program: its profile and logo, members, invitations, domains, sign-in policy, single sign-on, webhooks and audit log. Authenticate with one of the organization's API keys (Organization Profile → API keys): `Authorization: Bearer odk_…`. Errors are `application/problem+json` (RFC 9457)."
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerKeys),
    tags(
        (name = "Organization", description = "The key's organization and its profile"),
        (name = "Memberships", description = "Members and their roles"),
        (name = "Invitations", description = "Invitations by email"),
        (name = "Domains", description = "Domains the organization proves it owns"),
        (name = "Audit log", description = "Who did what, when"),
        (name = "Webhooks", description = "Endpoints the organization's events are posted to, signed (Standard Webhooks)"),
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

pub(super) fn api_routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            organization::get_organization,
            organization::update_organization,
            organization::delete_organization
        ))
        .routes(routes!(organization::upload_logo))
        .routes(routes!(security::get_security, security::update_security))
        .routes(routes!(sso::get_sso, sso::update_sso))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::delete_webhook))
        .routes(routes!(webhooks::test_webhook))
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

/// Each operation's scope as its `security` names it, by method and path (`/memberships/{membership_id}`).
/// The gate refuses a key without it before the handler reads anything, so the document and
/// the enforcement cannot disagree; the handlers check again.
static OPERATION_SCOPES: LazyLock<HashMap<(String, String), Action>> = LazyLock::new(|| {
    let document = serde_json::to_value(&*OPENAPI).unwrap_or_default();
    let mut scopes = HashMap::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let scope = operation["security"][0]["api_key"][0]
                .as_str()
                .and_then(Action::parse);
            if let Some(scope) = scope {
                scopes.insert((method.to_ascii_uppercase(), path.clone()), scope);
            }
        }
    }
    scopes
});

/// The scope the operation at `method` and the router's matched `path` (under `/api/v1`
/// or not) needs; `None` for what is not a documented operation.
pub fn scope_of(method: &str, path: &str) -> Option<Action> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    OPERATION_SCOPES
        .get(&(method.to_string(), path.to_string()))
        .copied()
}

/// Every documented operation: method, path and scope.
pub fn operations() -> Vec<(String, String, Action)> {
    let mut all: Vec<_> = OPERATION_SCOPES
        .iter()
        .map(|((method, path), scope)| (method.clone(), path.clone(), *scope))
        .collect();
    all.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    all
}

/// The document as `/api/v1/openapi.json` serves it.
pub fn openapi_json() -> String {
    OPENAPI.to_pretty_json().unwrap_or_default()
}
