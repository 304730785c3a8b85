//! Server-side pieces of the passkey ceremonies: the WebAuthn relying party, a ceremony
//! kept in the database between its two requests, and the stored credentials.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{de::DeserializeOwned, Serialize};
use webauthn_rs::prelude::{CredentialID, Passkey, Uuid, Webauthn, WebauthnBuilder};

use super::views::PasskeyCeremony;
use crate::{
    error::AppError,
    server::{
        entities::{passkey, user, webauthn_ceremony},
        tokens::{hash_token, new_token},
        AppState,
    },
};

/// How long the browser has to answer.
fn ceremony_lifetime() -> Duration {
    Duration::minutes(5)
}

/// The relying party: the public URL's host is its ID, the public URL its origin.
pub fn webauthn(state: &AppState) -> Result<Webauthn, AppError> {
    let unavailable = || {
        AppError::Forbidden(
            "Passkeys need Orgdesk to be reached at a domain name (its public URL is an IP address).".into(),
        )
    };
    let origin = url::Url::parse(&state.settings.public_url).map_err(|_| unavailable())?;
    let host = origin.host_str().ok_or_else(unavailable)?.to_string();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return Err(unavailable());
    }
    WebauthnBuilder::new(&host, &origin)
        .and_then(|builder| builder.rp_name("Orgdesk").build())
        .map_err(|err| {
            tracing::warn!(error = %err, "no WebAuthn relying party for the public URL");
            unavailable()
        })
}

/// The account's WebAuthn handle, made at its first passkey.
pub async fn user_handle(state: &AppState, user_id: i32) -> Result<Uuid, AppError> {
    use sea_orm::sea_query::Expr;
    let account = user::Entity::find_by_id(user_id)
        .one(&state.reader)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if let Some(handle) = account
        .passkey_handle
        .as_deref()
        .and_then(|h| Uuid::parse_str(h).ok())
    {
        return Ok(handle);
    }
    let handle = Uuid::new_v4();
    // Only if still empty: of two first registrations at once, one handle stays.
    user::Entity::update_many()
        .col_expr(user::Column::PasskeyHandle, Expr::value(handle.to_string()))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::PasskeyHandle.is_null())
        .exec(&state.db)
        .await?;
    let stored = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .and_then(|u| u.passkey_handle)
        .and_then(|h| Uuid::parse_str(&h).ok())
        .ok_or(AppError::Internal)?;
    Ok(stored)
}

/// Keeps the server's half of a ceremony and hands the browser its half.
pub async fn begin(
    state: &AppState,
    user_id: Option<i32>,
    purpose: &str,
    server_half: &impl Serialize,
    options: &impl Serialize,
) -> Result<PasskeyCeremony, AppError> {
    let token = new_token();
    let now = Utc::now();
    // Stale ceremonies go as new ones start.
    webauthn_ceremony::Entity::delete_many()
        .filter(webauthn_ceremony::Column::ExpiresAt.lte(now))
        .exec(&state.db)
        .await?;
    webauthn_ceremony::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(user_id),
        purpose: Set(purpose.to_string()),
        state: Set(serde_json::to_string(server_half).map_err(|_| AppError::Internal)?),
        expires_at: Set(now + ceremony_lifetime()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(PasskeyCeremony {
        token,
        options: serde_json::to_string(options).map_err(|_| AppError::Internal)?,
    })
}

/// Takes (deletes) the user's ceremony behind `token` for `purpose`: of two answers, one
/// gets it.
pub async fn take<T: DeserializeOwned>(
    txn: &impl ConnectionTrait,
    token: &str,
    user_id: Option<i32>,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<T, AppError> {
    let expired = || {
        AppError::Forbidden(
            "This passkey request has expired or was already answered. Try again.".into(),
        )
    };
    let found = webauthn_ceremony::Entity::find()
        .filter(webauthn_ceremony::Column::TokenHash.eq(hash_token(token.trim())))
        .filter(match user_id {
            Some(id) => webauthn_ceremony::Column::UserId.eq(id),
            None => webauthn_ceremony::Column::UserId.is_null(),
        })
        .filter(webauthn_ceremony::Column::Purpose.eq(purpose))
        .filter(webauthn_ceremony::Column::ExpiresAt.gt(now))
        .one(txn)
        .await?
        .ok_or_else(expired)?;
    let taken = webauthn_ceremony::Entity::delete_by_id(found.id)
        .exec(txn)
        .await?;
    if taken.rows_affected == 0 {
        return Err(expired());
    }
    serde_json::from_str(&found.state).map_err(|_| AppError::Internal)
}

/// The account's passkeys, as webauthn-rs reads them.
pub async fn passkeys_of(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<Passkey>, AppError> {
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .iter()
        .filter_map(|key| parse_passkey(key).ok())
        .collect())
}

/// Keeps a signature's counter and the time of use with the account's key that made it.
pub async fn record_use(
    txn: &impl ConnectionTrait,
    user_id: i32,
    result: &webauthn_rs::prelude::AuthenticationResult,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let used = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .filter(passkey::Column::CredentialId.eq(credential_id_text(result.cred_id())))
        .one(txn)
        .await?
        .ok_or_else(unreadable)?;
    let mut key = parse_passkey(&used)?;
    key.update_credential(result);
    save_use(txn, used.id, &key, now).await
}

/// Stores a passkey's credential as its last use updated it (the signature counter) and
/// when it was used.
pub async fn save_use(
    txn: &impl ConnectionTrait,
    passkey_id: i32,
    key: &Passkey,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use sea_orm::sea_query::Expr;
    passkey::Entity::update_many()
        .col_expr(
            passkey::Column::Credential,
            Expr::value(serde_json::to_string(key).map_err(|_| AppError::Internal)?),
        )
        .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
        .filter(passkey::Column::Id.eq(passkey_id))
        .exec(txn)
        .await?;
    Ok(())
}

pub fn parse_passkey(row: &passkey::Model) -> Result<Passkey, AppError> {
    serde_json::from_str(&row.credential).map_err(|_| {
        tracing::error!(passkey_id = row.id, "a stored passkey does not parse");
        AppError::Internal
    })
}

/// Raw credential ID bytes as stored (see [`credential_id_text`]).
pub fn credential_id_bytes_text(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// A credential ID as stored: base64url without padding (an assertion names its key
/// by it; the column is unique).
pub fn credential_id_text(id: &CredentialID) -> String {
    credential_id_bytes_text(id.as_ref())
}

/// What the browser sent is not a WebAuthn answer.
pub fn unreadable() -> AppError {
    AppError::Forbidden("The browser's passkey answer could not be read. Try again.".into())
}

/// webauthn-rs refused the answer (wrong origin, challenge, signature, or key).
pub fn refused(err: webauthn_rs::prelude::WebauthnError) -> AppError {
    tracing::info!(error = %err, "a passkey answer was refused");
    AppError::Forbidden("The passkey could not be verified. Try again, or use another way.".into())
}

/// Passkeys sign in only accounts whose address is proven: one added before the proof may be
/// a squatter's (and no passkey can be added before it any more).
pub fn unverified_passkey() -> AppError {
    AppError::Forbidden(
        "This account's email address is not verified, so its passkeys cannot sign in. Log in with your email and password.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_ids_are_stored_as_base64url_without_padding() {
        // Every passkey once got the same empty ID (a JSON array is no string), so the
        // unique column let one passkey exist in all of Orgdesk.
        assert_eq!(credential_id_bytes_text(&[0, 0, 0]), "AAAA");
        assert_eq!(
            credential_id_text(&CredentialID::from(vec![0xfb, 0xff])),
            "-_8"
        );
        assert_ne!(
            credential_id_bytes_text(&[1]),
            credential_id_bytes_text(&[2])
        );
    }
}
