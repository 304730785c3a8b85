//! Account server functions: sign up, log in, log out, and the User Settings changes.
//! Each one that changes state answers a plain form post with a redirect, so the forms
//! work as plain HTML forms (the pages are server-rendered; only islands run in the browser).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in user as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub email: String,
    /// False for accounts that sign in through an identity provider only.
    pub has_password: bool,
    /// False until the user follows a verification or invitation link.
    pub email_verified: bool,
    /// The current organization requires two-factor authentication, which this user lacks.
    pub two_factor_notice: Option<TwoFactorNotice>,
}

/// What the banner says to a member whose organization requires two-factor authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorNotice {
    pub organization: String,
    /// RFC 3339: from when members without it are kept out.
    pub deadline: String,
    /// The grace period is over: the organization's pages are closed to them.
    pub blocked: bool,
}

#[cfg(feature = "ssr")]
impl From<crate::server::SignedIn> for UserView {
    fn from(user: crate::server::SignedIn) -> Self {
        let two_factor_notice = user.current.as_deref().and_then(|current| {
            let deadline = current.organization.two_factor_deadline?;
            (!user.meets_two_factor_policy()).then(|| TwoFactorNotice {
                organization: current.organization.name.clone(),
                deadline: deadline.to_rfc3339(),
                blocked: chrono::Utc::now() >= deadline,
            })
        });
        UserView {
            two_factor_notice,
            email_verified: user.email_verified(),
            name: user.name,
            email: user.email,
            has_password: user.has_password,
        }
    }
}

/// The signed-in user, as the session middleware resolved it (no further query).
#[server(endpoint = "accounts/current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    Ok(crate::server::viewer().map(UserView::from))
}

#[server(endpoint = "accounts/log_in")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::{
        rules::safe_next_path,
        service::{authenticate, SignInRequest},
    };
    use crate::{
        identity::routing::connection_for_email,
        server::{
            app_state,
            session::{SignInMethod, SignInOrigin},
            viewer,
        },
        sso::flow::{send_to_provider, Purpose},
    };

    let email = crate::accounts::rules::normalize_email(&email);
    let state = app_state()?;
    let now = chrono::Utc::now();
    // Users of an SSO organization's domain sign in at its provider, whatever they typed
    // as a password (their account may have none).
    if let Some((connection, _)) = connection_for_email(&state.reader, &email).await? {
        return send_to_provider(
            &state,
            &connection,
            Purpose::Login,
            None,
            Some(&email),
            next.as_deref(),
            |failure| AppError::field("email", failure.notice().message()),
        )
        .await;
    }

    super::service::require_credentials(&email, &password)?;

    let next = safe_next_path(next.as_deref());
    let device = this_device(&state);
    let origin = SignInOrigin::of_request(SignInMethod::Password);
    let signed_in = authenticate(
        &state,
        &email,
        password,
        SignInRequest {
            device: device.as_deref(),
            previous_session: viewer().map(|v| v.session_id),
            next: Some(next.clone()),
            origin: &origin,
        },
        now,
    )
    .await?;
    answer_password_sign_in(&state, signed_in, &next);
    Ok(())
}

/// Sets the cookies a right password earned (device; session or waiting sign-in) and
/// redirects: to `next` when signed in, to the second step when a factor is asked.
#[cfg(feature = "ssr")]
pub(crate) fn answer_password_sign_in(
    state: &crate::server::AppState,
    signed_in: super::service::PasswordSignIn,
    next: &str,
) {
    use crate::identity::sign_in::{challenge_cookie, SignInStep};

    if let Some(token) = &signed_in.new_device {
        crate::server::append_response_header(
            http::header::SET_COOKIE,
            crate::identity::devices::cookie_header(token, state.settings.secure_cookies()),
        );
    }
    match signed_in.step {
        SignInStep::Session(token) => {
            set_session_cookie(state, &token);
            leptos_axum::redirect(next);
        }
        SignInStep::SecondFactor(token) => {
            crate::server::append_response_header(
                http::header::SET_COOKIE,
                challenge_cookie(&token, state.settings.secure_cookies()),
            );
            leptos_axum::redirect("/login/two-factor");
        }
    }
}

/// Logs out, then goes to `next` (the login page by default; the invitation page's
/// "switch account" passes the login page with the invited address and the way back).
#[server(endpoint = "accounts/log_out")]
pub async fn log_out(next: Option<String>) -> Result<(), AppError> {
    use super::rules::safe_next_path;
    use crate::server::{app_state, append_response_header, session, viewer};

    let state = app_state()?;
    if let Some(signed_in) = viewer() {
        session::end(&state.db, signed_in.session_id).await?;
    }
    append_response_header(
        http::header::SET_COOKIE,
        session::removal_cookie_header(state.settings.secure_cookies()),
    );
    let next = next.filter(|n| !n.trim().is_empty());
    leptos_axum::redirect(&match next {
        Some(next) => safe_next_path(Some(&next)),
        None => "/login".into(),
    });
    Ok(())
}

#[server(endpoint = "accounts/update_name")]
pub async fn update_name(name: String) -> Result<(), AppError> {
    use super::rules::PersonName;
    use crate::{
        members::service::refresh_member_keys,
        server::{app_state, entities::user, require_signed_in},
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let signed_in = require_signed_in()?;
    let name = PersonName::parse(&name).map_err(|message| AppError::field("name", message))?;
    let state = app_state()?;
    let txn = state.db.begin().await?;
    user::Entity::update_many()
        .col_expr(user::Column::Name, Expr::value(name.as_str()))
        .col_expr(user::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(user::Column::Id.eq(signed_in.user_id))
        .exec(&txn)
        .await?;
    refresh_member_keys(
        &txn,
        signed_in.user_id,
        name.as_str(),
        &crate::accounts::rules::normalize_email(&signed_in.email),
    )
    .await?;
    txn.commit().await?;
    leptos_axum::redirect("/settings?saved=name");
    Ok(())
}

#[server(endpoint = "accounts/change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in, throttle_address};

    let signed_in = require_signed_in()?;
    let state = app_state()?;
    let device = this_device(&state);
    super::service::change_password(
        &state,
        &signed_in,
        super::service::PasswordChange {
            current_password,
            new_password,
            client: throttle_address(),
            device: device.as_deref(),
        },
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect("/settings?saved=password");
    Ok(())
}

/// This browser's device cookie (see [`crate::identity::devices`]), if it sent one.
#[cfg(feature = "ssr")]
pub(crate) fn this_device(state: &crate::server::AppState) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    crate::identity::devices::token_from(&parts.headers, state.settings.secure_cookies())
}

#[cfg(feature = "ssr")]
pub(crate) fn set_session_cookie(state: &crate::server::AppState, token: &str) {
    crate::server::append_response_header(
        http::header::SET_COOKIE,
        crate::server::session::cookie_header(token, state.settings.secure_cookies()),
    );
}
