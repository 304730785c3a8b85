//! Creating an account and confirming its address. A new account is signed out until its
//! address is confirmed (the mailed link, then the account's password), unless it came
//! from an invitation link to that address, which proves it.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;

use crate::error::AppError;

/// **Create account**. With `invitation` (the token of an invitation link sent to this
/// address) the account is signed in at once; otherwise the page says "check your email",
/// whether the address was free or taken.
#[server(endpoint = "accounts/sign_up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    next: Option<String>,
    invitation: Option<String>,
) -> Result<(), AppError> {
    use super::rules::safe_next_path;
    use crate::server::{
        app_state, append_response_header, session,
        session::{SignInMethod, SignInOrigin},
    };
    use service::{register, NewAccount, Registered};

    let next = safe_next_path(next.as_deref());
    let account = NewAccount::parse(&name, &email, &password, invitation, next.clone())?;
    let state = app_state()?;
    let registered = register(
        &state,
        account,
        &SignInOrigin::of_request(SignInMethod::Password),
        crate::server::viewer().map(|v| v.session_id),
        chrono::Utc::now(),
    )
    .await?;
    state.wake_mail_worker();
    match registered {
        Registered::SignedIn(token) => {
            super::api::set_session_cookie(&state, &token);
            leptos_axum::redirect(&next);
        }
        Registered::CheckEmail => {
            append_response_header(
                http::header::SET_COOKIE,
                session::removal_cookie_header(state.settings.secure_cookies()),
            );
            leptos_axum::redirect("/verify-email?result=sent");
        }
    }
    Ok(())
}

/// What a "confirm your email" link is for: the address it would confirm. Reading it
/// changes nothing (mail scanners open links; only a button press confirms).
#[server(endpoint = "accounts/verification_link")]
pub async fn verification_link(token: String) -> Result<String, AppError> {
    use crate::server::app_state;

    let state = app_state()?;
    let (_, account) = service::verification_of(&state.reader, &token, chrono::Utc::now()).await?;
    Ok(account.email)
}

/// **Confirm my email**: the link's token and the account's password confirm the address
/// and sign in (or go on to the second step), then on to `next`.
#[server(endpoint = "accounts/verify_email")]
pub async fn verify_email(
    token: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::{
        api::{answer_password_sign_in, this_device},
        rules::safe_next_path,
        service::SignInRequest,
    };
    use crate::server::{
        app_state,
        session::{SignInMethod, SignInOrigin},
        viewer,
    };
    use service::{confirm_address, Confirmation};

    if password.is_empty() {
        return Err(AppError::field("password", "Password is required."));
    }
    let state = app_state()?;
    let next = safe_next_path(next.as_deref());
    let device = this_device(&state);
    let origin = SignInOrigin::of_request(SignInMethod::Password);
    let signed_in = confirm_address(
        &state,
        Confirmation {
            token: &token,
            password,
            request: SignInRequest {
                device: device.as_deref(),
                previous_session: viewer().map(|v| v.session_id),
                next: Some(next.clone()),
                origin: &origin,
            },
        },
        chrono::Utc::now(),
    )
    .await?;
    answer_password_sign_in(&state, signed_in, &next);
    Ok(())
}

/// **This wasn't me**: someone signed up with this address. The unconfirmed account goes,
/// with what it created, and the address is free again.
#[server(endpoint = "accounts/reject_email")]
pub async fn reject_email(token: String) -> Result<(), AppError> {
    use crate::server::app_state;
    use sea_orm::TransactionTrait;
    use service::{delete_unproven_account, take_link, verification_of};

    let state = app_state()?;
    let now = chrono::Utc::now();
    let (link, _) = verification_of(&state.reader, &token, now).await?;
    let txn = state.db.begin().await?;
    take_link(&txn, &link).await?;
    if !delete_unproven_account(&txn, link.user_id).await? {
        return Err(AppError::Forbidden(
            "This address was already confirmed, so the account stays. If that was not you, use Forgot password? on the login page: the reset link comes to this mailbox.".into(),
        ));
    }
    txn.commit().await?;
    tracing::info!(
        user_id = link.user_id,
        "an unverified account was deleted by its address's owner"
    );
    leptos_axum::redirect("/verify-email?result=rejected");
    Ok(())
}

/// Sends a new verification link (at most one a minute, five a day) to a signed-in account
/// whose address is not confirmed: one signed in before confirmation came first.
#[server(endpoint = "accounts/resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::identity::address_proofs::{queue_verification_email, refuse_verification_resend};
    use crate::server::{app_state, entities::user, require_signed_in};
    use sea_orm::{EntityTrait, TransactionTrait};

    let me = require_signed_in()?;
    if me.email_verified() {
        return Err(AppError::Forbidden(
            "Your email address is already verified.".into(),
        ));
    }
    let state = app_state()?;
    let now = chrono::Utc::now();
    refuse_verification_resend(&state.reader, me.user_id, now).await?;
    let account = user::Entity::find_by_id(me.user_id)
        .one(&state.reader)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let txn = state.db.begin().await?;
    queue_verification_email(&txn, &state, &account, None, now)
        .await?
        .or_refuse()?;
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect("/settings?saved=verification");
    Ok(())
}
