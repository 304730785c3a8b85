//! The API's one way in: `Authorization: Bearer odk_…`. A session cookie alone is never
//! read here (no cross-site use of a browser's session); every refusal is the same 401,
//! whatever was wrong with the key.

use axum::{extract::FromRequestParts, http::request::Parts};

use super::problem::{ApiError, ProblemKind};
use crate::{
    api_keys::service::{authenticate, note_use, ApiCaller, KeyRefusal},
    members::roles::Action,
    server::{AppState, ClientAddress},
};

/// The request's key, checked: the organization it acts for and its scopes.
pub struct Caller(pub ApiCaller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "Send an organization API key: Authorization: Bearer odk_…",
                )
            })?;
        let now = chrono::Utc::now();
        let caller = authenticate(&state.reader, presented, now)
            .await
            .map_err(|refusal| match refusal {
                KeyRefusal::Lookup(err) => ApiError::from(err),
                refusal => {
                    tracing::info!(?refusal, "an API key was refused");
                    ApiError::unauthenticated(
                        "The API key is not valid: it may be mistyped, revoked or expired.",
                    )
                }
            })?;
        let address = parts
            .extensions
            .get::<ClientAddress>()
            .map(|ClientAddress(ip)| ip.to_string());
        if let Err(err) = note_use(&state.db, &caller, address.as_deref(), now).await {
            // Bookkeeping: the request itself goes on.
            tracing::warn!(error = %err, key_id = caller.key.id, "an API key's use was not noted");
        }
        Ok(Caller(caller))
    }
}

impl Caller {
    /// The key carries `action`'s scope, or the request is refused with the scope it lacks.
    pub fn require(&self, action: Action) -> Result<&ApiCaller, ApiError> {
        if self.0.may(action) {
            Ok(&self.0)
        } else {
            Err(ApiError::new(
                ProblemKind::InsufficientScope,
                format!(
                    "This key lacks the scope `{}` ({}).",
                    action.as_str(),
                    action.description()
                ),
            ))
        }
    }
}
