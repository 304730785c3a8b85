//! API key server functions: Organization Profile → API keys (owners, and admins for keys
//! that carry no more than an admin may do).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{error::AppError, members::roles::Action};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
}

impl KeyStatus {
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Expired => "Expired",
            KeyStatus::Revoked => "Revoked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: i32,
    pub name: String,
    /// `odk_` and the first 8 characters: enough to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Action>,
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub last_used_address: Option<String>,
    pub status: KeyStatus,
    pub can_revoke: bool,
}

/// A key just made, shown once to the session that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKeyShown {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysView {
    pub organization_id: String,
    pub organization_name: String,
    /// Owners and admins make and revoke keys; members see that keys exist only.
    pub can_manage: bool,
    /// The scopes this user may give a key.
    pub grantable: Vec<Action>,
    pub keys: Vec<ApiKeyRow>,
    pub new_key: Option<NewKeyShown>,
}

/// The current organization's keys, and the key this session just made (once).
#[server(endpoint = "api_keys/list")]
pub async fn current_api_keys() -> Result<Option<ApiKeysView>, AppError> {
    use super::{
        rules::{grantable_by, scopes_from_text},
        service::{keys_of, may_revoke, revealed_key},
    };
    use crate::members::access::authorize_current;

    let Some(authorized) = authorize_current(Action::ViewOrganization).await? else {
        return Ok(None);
    };
    let now = chrono::Utc::now();
    let can_manage = authorized.role.allows(Action::ManageApiKeys);
    let mut view = ApiKeysView {
        organization_id: authorized.org.public_id.clone(),
        organization_name: authorized.org.name.clone(),
        can_manage,
        grantable: grantable_by(authorized.role),
        keys: Vec::new(),
        new_key: None,
    };
    if !can_manage {
        view.grantable.clear();
        return Ok(Some(view));
    }
    let db = &authorized.state.reader;
    view.keys = keys_of(db, authorized.org.id)
        .await?
        .into_iter()
        .map(|key| ApiKeyRow {
            id: key.id,
            status: if key.revoked_at.is_some() {
                KeyStatus::Revoked
            } else if key.expires_at.is_some_and(|at| at <= now) {
                KeyStatus::Expired
            } else {
                KeyStatus::Active
            },
            can_revoke: key.revoked_at.is_none() && may_revoke(authorized.role, &key),
            scopes: scopes_from_text(&key.scopes),
            created_by: key.created_by_name.clone(),
            created_at: key.created_at.to_rfc3339(),
            expires_at: key.expires_at.map(|t| t.to_rfc3339()),
            last_used_at: key.last_used_at.map(|t| t.to_rfc3339()),
            last_used_address: key.last_used_address.clone(),
            prefix: key.prefix,
            name: key.name,
        })
        .collect();
    // The reveal reads the primary: it was written a moment ago.
    view.new_key = revealed_key(
        &authorized.state.db,
        &authorized.state.secrets,
        authorized.org.id,
        authorized.user.session_id,
        now,
    )
    .await?
    .map(|(key, plain)| NewKeyShown {
        name: key.name,
        key: plain,
    });
    Ok(Some(view))
}

/// Makes a key with a name, scopes and an expiry; the page then shows it once.
#[server(endpoint = "api_keys/create")]
pub async fn create_api_key(
    organization_id: String,
    name: String,
    #[server(default)] scopes: Vec<String>,
    #[server(default)] expires: String,
) -> Result<(), AppError> {
    use super::{
        rules::{parse_expiry, parse_name, parse_scopes},
        service::{create, NewApiKey},
    };
    use crate::{
        error::Validation,
        members::access::{authorize_request, reauthorize_locked, Authorized},
        server::locks::lock_organization,
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageApiKeys).await?;
    // A key is a credential: making one is a security change.
    crate::identity::proofs::require_fresh_proof(&user, chrono::Utc::now())?;
    let mut form = Validation::new();
    let name = form.check("name", parse_name(&name));
    let scopes = form.check("scopes", parse_scopes(&scopes));
    let expiry = form.check("expires", parse_expiry(&expires));
    form.finish()?;
    let (Some(name), Some(scopes), Some(expiry)) = (name, scopes, expiry) else {
        return Err(AppError::Internal);
    };
    let now = chrono::Utc::now();
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    let role = reauthorize_locked(&txn, org.id, user.user_id, Action::ManageApiKeys).await?;
    create(
        &txn,
        &state.secrets,
        org.id,
        &user,
        role,
        NewApiKey {
            name,
            scopes,
            expiry,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("{}&saved=created", super::KEYS_PAGE));
    Ok(())
}

/// **I have copied the key**: this session's new keys are not shown again.
#[server(endpoint = "api_keys/dismiss")]
pub async fn dismiss_new_api_key() -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    super::service::dismiss_reveals(&state.db, me.session_id).await?;
    leptos_axum::redirect(super::KEYS_PAGE);
    Ok(())
}

/// Revokes a key at once: programs using it get 401 from their next request.
#[server(endpoint = "api_keys/revoke")]
pub async fn revoke_api_key(organization_id: String, key_id: i32) -> Result<(), AppError> {
    use crate::{
        members::access::{authorize_request, reauthorize_locked, Authorized},
        server::locks::lock_organization,
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageApiKeys).await?;
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    let role = reauthorize_locked(&txn, org.id, user.user_id, Action::ManageApiKeys).await?;
    super::service::revoke(&txn, org.id, key_id, &user, role, chrono::Utc::now()).await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("{}&saved=revoked", super::KEYS_PAGE));
    Ok(())
}
