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

/// Creates an account and signs it in. With `invitation` (the token of an invitation link
/// sent to this address) the address counts as verified; otherwise a verification email is
/// queued.
#[server(endpoint = "accounts/sign_up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    next: Option<String>,
    invitation: Option<String>,
) -> Result<(), AppError> {
    use super::{
        rules::{safe_next_path, EmailAddress, NewPassword, PersonName},
        service::{register, NewAccount},
    };
    use crate::{
        error::Validation,
        server::{
            app_state,
            session::{SignInMethod, SignInOrigin},
        },
    };

    let mut validation = Validation::new();
    let name = validation.check("name", PersonName::parse(&name));
    let email = validation.check("email", EmailAddress::parse(&email));
    let password = validation.check(
        "password",
        NewPassword::parse(
            &password,
            name.as_ref().map(PersonName::as_str),
            email.as_ref().map(EmailAddress::as_str),
        ),
    );
    validation.finish()?;
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(AppError::Internal);
    };

    let state = app_state()?;
    let token = register(
        &state,
        NewAccount {
            name,
            email,
            password,
            invitation: invitation.filter(|t| !t.trim().is_empty()),
        },
        &SignInOrigin::of_request(SignInMethod::Password),
        crate::server::viewer().map(|v| v.session_id),
        chrono::Utc::now(),
    )
    .await?;
    state.wake_mail_worker();

    set_session_cookie(&state, &token);
    leptos_axum::redirect(&safe_next_path(next.as_deref()));
    Ok(())
}

/// What a "verify your email" link is for: the address it would confirm. Reading it
/// changes nothing (mail scanners open links; only a button press confirms).
#[server(endpoint = "accounts/verification_link")]
pub async fn verification_link(token: String) -> Result<String, AppError> {
    use crate::server::app_state;

    let state = app_state()?;
    let (_, account) = verification_of(&state.reader, &token, chrono::Utc::now()).await?;
    Ok(account.email)
}

/// The link behind `token` and its account, or why it cannot be used.
#[cfg(feature = "ssr")]
async fn verification_of(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<
    (
        crate::server::entities::email_verification::Model,
        crate::server::entities::user::Model,
    ),
    AppError,
> {
    use crate::server::{
        entities::{email_verification, user},
        tokens::hash_token,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let found = email_verification::Entity::find()
        .filter(email_verification::Column::TokenHash.eq(hash_token(token.trim())))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((link, Some(account))) if link.expires_at > now => Ok((link, account)),
        Some(_) => Err(AppError::Forbidden(
            "This verification link has expired. Log in and send a new one from the banner at the top of the page.".into(),
        )),
        None => Err(AppError::Forbidden(
            "This verification link is not valid. It may have been used already or replaced by a newer email.".into(),
        )),
    }
}

/// Deletes the link, as a transaction's first statement; refuses when another request
/// used it first.
#[cfg(feature = "ssr")]
async fn take_link(
    txn: &impl sea_orm::ConnectionTrait,
    link: &crate::server::entities::email_verification::Model,
) -> Result<(), AppError> {
    use crate::server::entities::email_verification;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let taken = email_verification::Entity::delete_many()
        .filter(email_verification::Column::Id.eq(link.id))
        .exec(txn)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AppError::Forbidden(
            "This verification link was used already.".into(),
        ));
    }
    Ok(())
}

/// **Confirm my email**: the address is the account holder's.
#[server(endpoint = "accounts/verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use crate::server::{
        app_state,
        entities::{email_verification, user},
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let state = app_state()?;
    let now = chrono::Utc::now();
    let (link, _) = verification_of(&state.reader, &token, now).await?;
    let txn = state.db.begin().await?;
    // The link is used up first: of two presses, one goes on.
    take_link(&txn, &link).await?;
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
        .filter(user::Column::Id.eq(link.user_id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(&txn)
        .await?;
    // One use: this link and any older ones stop working.
    email_verification::Entity::delete_many()
        .filter(email_verification::Column::UserId.eq(link.user_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    leptos_axum::redirect("/verify-email?result=verified");
    Ok(())
}

/// **This wasn't me**: someone signed up with this address. The unverified account goes,
/// with what it created, and the address is free again.
#[server(endpoint = "accounts/reject_email")]
pub async fn reject_email(token: String) -> Result<(), AppError> {
    use super::service::delete_unproven_account;
    use crate::server::app_state;
    use sea_orm::TransactionTrait;

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

/// Verification emails one account may ask for in 24 hours.
pub const MAX_VERIFICATION_EMAILS_A_DAY: u64 = 5;

/// Sends a new verification link (at most one a minute, five a day).
#[server(endpoint = "accounts/resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::service::queue_verification_email;
    use crate::server::{
        app_state,
        entities::{email_verification, user},
        require_signed_in,
    };
    use sea_orm::{
        ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
    };

    let me = require_signed_in()?;
    if me.email_verified() {
        return Err(AppError::Forbidden(
            "Your email address is already verified.".into(),
        ));
    }
    let state = app_state()?;
    let now = chrono::Utc::now();
    let latest = email_verification::Entity::find()
        .filter(email_verification::Column::UserId.eq(me.user_id))
        .order_by_desc(email_verification::Column::CreatedAt)
        .one(&state.reader)
        .await?;
    if latest.is_some_and(|l| now - l.created_at < chrono::Duration::minutes(1)) {
        return Err(AppError::TooManyAttempts(
            "We sent a link less than a minute ago. Check your inbox (and spam folder), or try again in a minute.".into(),
        ));
    }
    // Each link is an email to an address nobody has proven yet: a few a day at most.
    let today = email_verification::Entity::find()
        .filter(email_verification::Column::UserId.eq(me.user_id))
        .filter(email_verification::Column::CreatedAt.gt(now - chrono::Duration::days(1)))
        .count(&state.reader)
        .await?;
    if today >= MAX_VERIFICATION_EMAILS_A_DAY {
        return Err(AppError::TooManyAttempts(format!(
            "We sent {MAX_VERIFICATION_EMAILS_A_DAY} links in the last 24 hours, the most we send. Check your inbox (and spam folder), or try again tomorrow."
        )));
    }
    let account = user::Entity::find_by_id(me.user_id)
        .one(&state.reader)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let txn = state.db.begin().await?;
    queue_verification_email(&txn, &state, &account, now)
        .await?
        .or_refuse()?;
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect("/settings?saved=verification");
    Ok(())
}

#[server(endpoint = "accounts/log_in")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::{
        rules::safe_next_path,
        service::{authenticate, PasswordAttempt, SignInStep},
        two_factor::service::challenge_cookie,
    };
    use crate::{
        error::Validation,
        server::{
            app_state,
            session::{SignInMethod, SignInOrigin},
            viewer,
        },
        sso::{
            flow::{send_to_provider, Purpose},
            lookup::connection_for_email,
        },
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

    let mut validation = Validation::new();
    if email.is_empty() {
        validation.add("email", "Email is required.");
    }
    if password.is_empty() {
        validation.add("password", "Password is required.");
    }
    validation.finish()?;

    let next = safe_next_path(next.as_deref());
    let device = this_device(&state);
    let signed_in = authenticate(
        &state,
        PasswordAttempt {
            email: &email,
            password,
            device: device.as_deref(),
            previous_session: viewer().map(|v| v.session_id),
            next: Some(next.clone()),
        },
        &SignInOrigin::of_request(SignInMethod::Password),
        now,
    )
    .await?;
    if let Some(token) = &signed_in.new_device {
        crate::server::append_response_header(
            http::header::SET_COOKIE,
            crate::identity::devices::cookie_header(token, state.settings.secure_cookies()),
        );
    }
    match signed_in.step {
        SignInStep::Session(token) => {
            set_session_cookie(&state, &token);
            leptos_axum::redirect(&next);
        }
        SignInStep::SecondFactor(token) => {
            crate::server::append_response_header(
                http::header::SET_COOKIE,
                challenge_cookie(&token, state.settings.secure_cookies()),
            );
            leptos_axum::redirect("/login/two-factor");
        }
    }
    Ok(())
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
    use super::{
        rules::NewPassword,
        service::{count_password_attempt, hash_password, password_scopes, verify_password},
    };
    use crate::{
        error::Validation,
        server::{app_state, entities::user, require_signed_in, session},
    };
    use sea_orm::{ActiveModelTrait, EntityTrait, Set, TransactionTrait};

    let signed_in = require_signed_in()?;
    let state = app_state()?;
    let user = user::Entity::find_by_id(signed_in.user_id)
        .one(&state.reader)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.password_hash.is_none() {
        return Err(AppError::Forbidden(
            "Your account signs in through your organization's identity provider, so it has no password here.".into(),
        ));
    }

    let mut validation = Validation::new();
    if current_password.is_empty() {
        validation.add("current_password", "Current password is required.");
    }
    let new_password = validation.check(
        "new_password",
        NewPassword::parse(&new_password, Some(&user.name), Some(&user.email)),
    );
    validation.finish()?;
    let Some(new_password) = new_password else {
        return Err(AppError::Internal);
    };

    // Guessing the current password here is throttled like guessing it at login.
    let now = chrono::Utc::now();
    count_password_attempt(
        &state.db,
        &password_scopes(&user.email_normalized, crate::server::throttle_address()),
        now,
    )
    .await?;
    if !verify_password(user.password_hash.clone(), current_password).await? {
        return Err(AppError::field(
            "current_password",
            "Current password is incorrect.",
        ));
    }

    let new_hash = hash_password(new_password.as_str()).await?;
    let txn = state.db.begin().await?;
    // The right current password forgives this attempt, as at login.
    super::service::forgive_attempts(
        &txn,
        &user.email_normalized,
        crate::server::throttle_address(),
        Some(now),
    )
    .await?;
    let (email, name) = (user.email.clone(), user.name.clone());
    let mut user: user::ActiveModel = user.into();
    user.password_hash = Set(Some(new_hash));
    user.updated_at = Set(now);
    user.update(&txn).await?;
    // Whoever else held a session (perhaps with the old password) is signed out.
    session::end_others(&txn, signed_in.user_id, signed_in.session_id).await?;
    // Browsers that knew the old password are strangers again, but this one.
    crate::identity::devices::forget_all_but(
        &txn,
        signed_in.user_id,
        this_device(&state).as_deref(),
    )
    .await?;
    // The current password was just proved: a fresh proof for the next sensitive change.
    session::mark_proved(&txn, signed_in.session_id, now).await?;
    // If it was not them, the account's owner hears of it (unless the address had its
    // day's messages).
    let _queued = crate::server::mail::enqueue(
        &txn,
        crate::server::mail::password_changed_email(
            &email,
            &name,
            &state.settings.link("/forgot-password"),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();

    leptos_axum::redirect("/settings?saved=password");
    Ok(())
}

/// This browser's device cookie (see [`crate::identity::devices`]), if it sent one.
#[cfg(feature = "ssr")]
fn this_device(state: &crate::server::AppState) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    crate::identity::devices::token_from(&parts.headers, state.settings.secure_cookies())
}

#[cfg(feature = "ssr")]
fn set_session_cookie(state: &crate::server::AppState, token: &str) {
    crate::server::append_response_header(
        http::header::SET_COOKIE,
        crate::server::session::cookie_header(token, state.settings.secure_cookies()),
    );
}
