//! Account recovery: "Forgot password?" mails a single-use link (256-bit, stored hashed, one
//! hour); its page sets a new password, ends every session of the account and signs in.
//! The answer to a request never says whether an account exists.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;

use crate::error::AppError;

/// **Send reset link**: mails a link if an account has this address; answers the same
/// either way. Users of a verified SSO domain are sent to their company's sign-in.
#[server(endpoint = "accounts/request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use crate::{
        accounts::rules::EmailAddress,
        server::{app_state, throttle_address},
    };

    let email = EmailAddress::parse(&email).map_err(|message| AppError::field("email", message))?;
    let state = app_state()?;
    service::send_reset_link(&state, &email, throttle_address(), chrono::Utc::now()).await?;
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

/// The address a reset link is for (reading it changes nothing), or why it cannot be used.
#[server(endpoint = "accounts/password_reset_link")]
pub async fn password_reset_link(token: String) -> Result<String, AppError> {
    let state = crate::server::app_state()?;
    let (_, account) = service::reset_of(&state.reader, &token, chrono::Utc::now()).await?;
    Ok(account.email)
}

/// **Set password**: the new password (same rules as sign-up), every session of the
/// account ended, this browser signed in (or sent to the second step), and a notice
/// mailed. The link proves the mailbox, so an unverified address counts as verified.
#[server(endpoint = "accounts/reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::{
        identity::sign_in::{challenge_cookie, SignInStep},
        server::{
            app_state, append_response_header,
            session::{self, SignInMethod, SignInOrigin},
        },
    };

    let state = app_state()?;
    let origin = SignInOrigin::of_request(SignInMethod::Reset);
    let step = service::reset_with_link(&state, &token, &new_password, &origin, chrono::Utc::now())
        .await?;
    let secure = state.settings.secure_cookies();
    match step {
        SignInStep::Session(token) => {
            append_response_header(
                http::header::SET_COOKIE,
                session::cookie_header(&token, secure),
            );
            leptos_axum::redirect(service::AFTER_RESET);
        }
        SignInStep::SecondFactor(token) => {
            append_response_header(http::header::SET_COOKIE, challenge_cookie(&token, secure));
            leptos_axum::redirect("/login/two-factor");
        }
    }
    Ok(())
}
