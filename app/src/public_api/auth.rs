//! The request's caller, as the gate (`gate.rs`) checked its key: handlers take [`Caller`]
//! and require the scope of their operation.

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::problem::{ApiError, ProblemKind};
use crate::{
    api_keys::service::ApiCaller,
    members::roles::Action,
    server::{locks::lock_organization, AppState},
};

/// The request's key, checked: the organization it acts for and its scopes.
pub struct Caller(pub ApiCaller);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Only the gate puts a caller here, after checking the key.
        parts
            .extensions
            .get::<ApiCaller>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "Send an organization API key: Authorization: Bearer odk_…",
                )
            })
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

/// A write's transaction: the organization locked (changes to one organization run one at
/// a time), then the key read again under the lock, so a key revoked by a request that
/// held the lock first writes nothing.
pub async fn begin_write(
    state: &AppState,
    caller: &ApiCaller,
    now: DateTime<Utc>,
) -> Result<DatabaseTransaction, ApiError> {
    let txn = state.db.begin().await?;
    lock_organization(&txn, caller.organization.id).await?;
    crate::api_keys::service::reauthorize_key_locked(&txn, caller.key.id, now).await?;
    Ok(txn)
}
