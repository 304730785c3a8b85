//! Passkeys and security keys (WebAuthn, through webauthn-rs) as a second factor: User
//! Settings lists them (name, added, last used), adds and removes them; the sign-in step
//! offers one. A ceremony takes two requests: the server's challenge (its state kept in the
//! database for five minutes, so any server process may answer the second), then the
//! browser's answer. The browser half (`passkey_islands.rs`) needs JavaScript; the pages
//! say so when it is off.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
mod ceremonies;
#[cfg(feature = "ssr")]
mod service;
mod views;

pub use views::{PasskeyCeremony, PasskeyRow, PASSKEY_NAME_MAX_CHARS};

#[server(endpoint = "accounts/my_passkeys")]
pub async fn my_passkeys() -> Result<Vec<PasskeyRow>, AppError> {
    use crate::server::{app_state, entities::passkey, require_signed_in};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let me = require_signed_in()?;
    let state = app_state()?;
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(me.user_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .all(&state.reader)
        .await?
        .into_iter()
        .map(|key| PasskeyRow {
            id: key.id,
            name: key.name,
            created_at: key.created_at.to_rfc3339(),
            last_used_at: key.last_used_at.map(|at| at.to_rfc3339()),
        })
        .collect())
}

/// The first half of adding a passkey: the options for `navigator.credentials.create`.
/// Adding a factor needs a verified address and a fresh proof.
#[server(endpoint = "accounts/start_passkey_registration")]
pub async fn start_passkey_registration(
    #[server(default)] proof: Option<String>,
) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, entities::passkey, require_signed_in};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let me = require_signed_in()?;
    crate::identity::proofs::may_add_factor(&me)?;
    let state = app_state()?;
    crate::identity::proofs::require_recent_proof(
        &state,
        &me,
        proof.as_deref(),
        crate::server::throttle_address(),
        chrono::Utc::now(),
    )
    .await?;
    let webauthn = ceremonies::webauthn(&state)?;
    let handle = ceremonies::user_handle(&state, me.user_id).await?;
    let existing: Vec<webauthn_rs::prelude::CredentialID> = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(me.user_id))
        .all(&state.reader)
        .await?
        .iter()
        .filter_map(|key| ceremonies::parse_passkey(key).ok())
        .map(|key| key.cred_id().clone())
        .collect();
    let (options, registration) = webauthn
        .start_passkey_registration(handle, &me.email, &me.name, Some(existing))
        .map_err(ceremonies::refused)?;
    // Ask for a discoverable credential where the authenticator can make one: the passkey
    // then also signs in on its own (webauthn-rs's checks do not depend on it).
    let mut options = serde_json::to_value(&options).map_err(|_| AppError::Internal)?;
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        selection.insert("residentKey".into(), "preferred".into());
    }
    ceremonies::begin(
        &state,
        Some(me.user_id),
        "register",
        &registration,
        &options,
    )
    .await
}

/// The second half: the browser's new credential, checked and kept under `name`. Other
/// sessions end and a notice with a **This wasn't me** link is mailed; the account's first
/// factor comes with recovery codes; the session's proof is not renewed. Returns where to
/// go next.
#[server(endpoint = "accounts/finish_passkey_registration")]
pub async fn finish_passkey_registration(
    ceremony: String,
    name: String,
    credential: String,
) -> Result<String, AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    let next = service::add_passkey(
        &state,
        &me,
        service::NewPasskey {
            ceremony: &ceremony,
            name: &name,
            credential: &credential,
        },
        chrono::Utc::now(),
    )
    .await?;
    state.wake_mail_worker();
    Ok(next)
}

/// **Remove** a passkey (after a fresh proof). Without any factor left, the recovery codes
/// go too. Other sessions end; a notice is mailed.
#[server(endpoint = "accounts/remove_passkey")]
pub async fn remove_passkey(passkey_id: i32, proof: Option<String>) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in, throttle_address};

    let me = require_signed_in()?;
    let state = app_state()?;
    service::remove_passkey(
        &state,
        &me,
        passkey_id,
        proof.as_deref(),
        throttle_address(),
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect("/settings?saved=passkey-removed");
    Ok(())
}

/// The sign-in step: the options for `navigator.credentials.get`, for the account whose
/// password (or reset link, or SSO sign-in) this browser's sign-in began with.
#[server(endpoint = "accounts/start_passkey_sign_in")]
pub async fn start_passkey_sign_in() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, entities::passkey};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let state = app_state()?;
    let (_, account) = super::sign_in::pending_challenge(&state).await?;
    if account.email_verified_at.is_none() {
        return Err(ceremonies::unverified_passkey());
    }
    let webauthn = ceremonies::webauthn(&state)?;
    let keys: Vec<webauthn_rs::prelude::Passkey> = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(account.id))
        .all(&state.reader)
        .await?
        .iter()
        .filter_map(|key| ceremonies::parse_passkey(key).ok())
        .collect();
    if keys.is_empty() {
        return Err(AppError::Forbidden(
            "This account has no passkey. Use your authenticator app or a recovery code.".into(),
        ));
    }
    let (options, authentication) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(ceremonies::refused)?;
    ceremonies::begin(
        &state,
        Some(account.id),
        "sign_in",
        &authentication,
        &options,
    )
    .await
}

/// The sign-in step's answer: a passkey of the account signed the challenge. Starts the
/// session (as [`super::api::verify_sign_in_code`] does) and returns where to go.
#[server(endpoint = "accounts/finish_passkey_sign_in")]
pub async fn finish_passkey_sign_in(
    ceremony: String,
    credential: String,
) -> Result<String, AppError> {
    use crate::accounts::rules::SecondFactor;
    use sea_orm::TransactionTrait;

    let state = crate::server::app_state()?;
    let now = chrono::Utc::now();
    let (challenge, account) = super::sign_in::pending_challenge(&state).await?;
    let webauthn = ceremonies::webauthn(&state)?;
    let answer: webauthn_rs::prelude::PublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremonies::unreadable())?;
    let authentication: webauthn_rs::prelude::PasskeyAuthentication =
        ceremonies::take(&state.db, &ceremony, Some(account.id), "sign_in", now).await?;
    let result = webauthn
        .finish_passkey_authentication(&answer, &authentication)
        .map_err(ceremonies::refused)?;
    let txn = state.db.begin().await?;
    ceremonies::record_use(&txn, account.id, &result, now).await?;
    super::sign_in::complete_sign_in(
        &state,
        txn,
        &challenge,
        &account,
        SecondFactor::Passkey,
        now,
    )
    .await
}

/// Passkey sign-ins started from one client address in 15 minutes (each keeps a row).
#[cfg(feature = "ssr")]
const PASSKEY_LOGINS_PER_ADDRESS: u64 = 60;

/// **Sign in with a passkey** on the login page: no address or password first; the
/// authenticator offers the passkeys it holds for this site.
#[server(endpoint = "accounts/start_passkey_login")]
pub async fn start_passkey_login() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, throttle_address};

    let state = app_state()?;
    let webauthn = ceremonies::webauthn(&state)?;
    if let Some(address) = throttle_address() {
        crate::identity::throttles::count_request(
            &state.db,
            &[(
                format!("passkey-login-from:{address}"),
                PASSKEY_LOGINS_PER_ADDRESS,
            )],
            chrono::Utc::now(),
            "Too many passkey sign-ins from here. Please wait",
        )
        .await?;
    }
    let (options, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(ceremonies::refused)?;
    ceremonies::begin(&state, None, "login", &authentication, &options).await
}

/// The answer to **Sign in with a passkey**: the passkey names its account; its signature
/// and the device's user verification stand for both factors. Ends this browser's previous
/// session, starts one, and returns where to go (`next`, if safe).
#[server(endpoint = "accounts/finish_passkey_login")]
pub async fn finish_passkey_login(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::{
        accounts::rules::{safe_next_path, SecondFactor, SignInMethod},
        server::{app_state, append_response_header, session, session::SignInOrigin, viewer},
    };

    let state = app_state()?;
    let origin =
        SignInOrigin::of_request(SignInMethod::Passkey).with_second_factor(SecondFactor::Passkey);
    let token = service::sign_in_alone(
        &state,
        &ceremony,
        &credential,
        &origin,
        viewer().map(|v| v.session_id),
        chrono::Utc::now(),
    )
    .await?;
    append_response_header(
        http::header::SET_COOKIE,
        session::cookie_header(&token, state.settings.secure_cookies()),
    );
    Ok(safe_next_path(next.as_deref()))
}

/// **Use a passkey** to confirm it's you (step-up): the options for
/// `navigator.credentials.get`, for the signed-in account's passkeys.
#[server(endpoint = "accounts/start_passkey_proof")]
pub async fn start_passkey_proof() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    let keys = ceremonies::passkeys_of(&state.reader, me.user_id).await?;
    if keys.is_empty() {
        return Err(AppError::Forbidden(
            "Your account has no passkey: confirm with your password or an authenticator code."
                .into(),
        ));
    }
    let (options, authentication) = ceremonies::webauthn(&state)?
        .start_passkey_authentication(&keys)
        .map_err(ceremonies::refused)?;
    // The sign-in step's kind of ceremony (the account's passkey signs a challenge), bound
    // to this account and answered once.
    ceremonies::begin(
        &state,
        Some(me.user_id),
        "sign_in",
        &authentication,
        &options,
    )
    .await
}

/// The answer: one of the account's passkeys signed, with user verification; the
/// session's proof is renewed (as a right password or code renews it).
#[server(endpoint = "accounts/finish_passkey_proof")]
pub async fn finish_passkey_proof(ceremony: String, credential: String) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in, session};
    use sea_orm::TransactionTrait;

    let me = require_signed_in()?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    let answer: webauthn_rs::prelude::PublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremonies::unreadable())?;
    let authentication: webauthn_rs::prelude::PasskeyAuthentication =
        ceremonies::take(&state.db, &ceremony, Some(me.user_id), "sign_in", now).await?;
    let result = ceremonies::webauthn(&state)?
        .finish_passkey_authentication(&answer, &authentication)
        .map_err(ceremonies::refused)?;
    let txn = state.db.begin().await?;
    ceremonies::record_use(&txn, me.user_id, &result, now).await?;
    session::mark_proved(&txn, me.session_id, now).await?;
    txn.commit().await?;
    Ok(())
}
