//! (ssr) The public REST API, `/api/v1`: everything an owner or admin does to an
//! organization, for programs holding one of its API keys. Its own router beside the pages
//! (no session, no cookies: `Authorization: Bearer odk_…` only). Each write calls the same
//! service function as the dashboard's server function. The OpenAPI 3.1 document is
//! generated from the handlers and their types (utoipa).

pub mod audit;
pub mod auth;
pub mod document;
pub mod domains;
pub mod extract;
pub mod gate;
pub mod invitations;
pub mod memberships;
pub mod organization;
pub mod problem;
pub mod roles;
pub mod security;
pub mod sso;
pub mod webhooks;

use axum::{http::StatusCode, routing::get};

pub use self::document::{openapi_json, operations, scope_of, OPENAPI};
use self::problem::{ApiError, ProblemKind};
use crate::server::AppState;

/// `/api/v1`'s routes (nest them there), with the document at `openapi.json`, behind the
/// gate: the key, the rate limits and idempotency.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    let (routes, _) = document::api_routes();
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
