//! Account recovery: "Forgot password?" mails a single-use link (256-bit, stored hashed, one
//! hour); its page sets a new password, ends every session of the account and signs in.
//! The answer to a request never says whether an account exists.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    pages::AuthCard,
    rules::{EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS},
};
use crate::{
    error::AppError,
    ui::form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
};

/// Reset requests per address, and per client address, in the throttle window (15 minutes).
#[cfg(feature = "ssr")]
const MAX_REQUESTS_PER_ADDRESS: u64 = 3;
#[cfg(feature = "ssr")]
const MAX_REQUESTS_PER_CLIENT: u64 = 10;

/// How long a reset link works.
#[cfg(feature = "ssr")]
pub fn link_lifetime() -> chrono::Duration {
    chrono::Duration::hours(1)
}

/// **Send reset link**: mails a link if an account has this address; answers the same
/// either way. Users of a verified SSO domain are sent to their company's sign-in.
#[server(endpoint = "accounts/request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::{
        rules::EmailAddress,
        service::{count_request, reset_scopes},
    };
    use crate::server::{
        app_state,
        entities::{password_reset, user},
        mail, throttle_address,
        tokens::{hash_token, new_token},
    };
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

    let email = EmailAddress::parse(&email).map_err(|message| AppError::field("email", message))?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    if let Some((connection, _)) =
        crate::sso::lookup::connection_for_email(&state.reader, email.as_str()).await?
    {
        return Err(AppError::field(
            "email",
            format!(
                "Accounts at this address sign in through {}, your company's sign-in: its password is managed there. Log in with your email to continue there.",
                connection.provider_name
            ),
        ));
    }
    let scopes = reset_scopes(
        &email.normalized(),
        throttle_address(),
        MAX_REQUESTS_PER_ADDRESS,
        MAX_REQUESTS_PER_CLIENT,
    );
    count_request(
        &state.db,
        &scopes,
        now,
        "Too many reset requests. Check your inbox (and spam folder) for the link we sent, or wait",
    )
    .await?;

    let account = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.normalized()))
        .one(&state.reader)
        .await?;
    if let Some(account) = account {
        let token = new_token();
        let txn = state.db.begin().await?;
        password_reset::ActiveModel {
            user_id: Set(account.id),
            token_hash: Set(hash_token(&token)),
            created_at: Set(now),
            expires_at: Set(now + link_lifetime()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let link = state
            .settings
            .link(&format!("/reset-password?token={token}"));
        // Not queued past the address's daily limit: the page says the same either way.
        let _queued = mail::enqueue(
            &txn,
            mail::password_reset_email(&account.email, &account.name, &link),
            now,
        )
        .await?;
        txn.commit().await?;
        state.wake_mail_worker();
    }
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

/// The address a reset link is for (reading it changes nothing), or why it cannot be used.
#[server(endpoint = "accounts/password_reset_link")]
pub async fn password_reset_link(token: String) -> Result<String, AppError> {
    let state = crate::server::app_state()?;
    let (_, account) = reset_of(&state.reader, &token, chrono::Utc::now()).await?;
    Ok(account.email)
}

#[cfg(feature = "ssr")]
async fn reset_of(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<
    (
        crate::server::entities::password_reset::Model,
        crate::server::entities::user::Model,
    ),
    AppError,
> {
    use crate::server::{
        entities::{password_reset, user},
        tokens::hash_token,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let found = password_reset::Entity::find()
        .filter(password_reset::Column::TokenHash.eq(hash_token(token.trim())))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((link, Some(account))) if link.expires_at > now => Ok((link, account)),
        Some(_) => Err(AppError::Forbidden(
            "This reset link has expired (links work for 1 hour). Ask for a new one.".into(),
        )),
        None => Err(AppError::Forbidden(
            "This reset link is not valid: it was used already, or a newer one replaced it. Ask for a new one.".into(),
        )),
    }
}

/// **Set password**: the new password (same rules as sign-up), every session of the
/// account ended, this browser signed in, and a notice mailed. The link proves the
/// mailbox, so an unverified address counts as verified from now on.
#[server(endpoint = "accounts/reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use super::{
        rules::NewPassword,
        service::{forgive_attempts, hash_password, SignInStep},
        sign_up::service::release_unproven_holdings,
        two_factor::service::{challenge_cookie, start_challenge},
    };
    use crate::identity::factors::has_second_factor;
    use crate::server::{
        app_state,
        entities::{password_reset, user},
        mail, session,
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let state = app_state()?;
    let now = chrono::Utc::now();
    let (link, account) = reset_of(&state.reader, &token, now).await?;
    if let Some((connection, _)) =
        crate::sso::lookup::connection_for_email(&state.reader, &account.email).await?
    {
        return Err(AppError::Forbidden(format!(
            "Accounts at this address sign in through {}: its password is managed there.",
            connection.provider_name
        )));
    }
    let password = NewPassword::parse(&new_password, Some(&account.name), Some(&account.email))
        .map_err(|message| AppError::field("new_password", message))?;
    let new_hash = hash_password(password.as_str()).await?;

    let txn = state.db.begin().await?;
    // Single use: of two submissions of one link, one deletes the row and goes on.
    let used = password_reset::Entity::delete_many()
        .filter(password_reset::Column::Id.eq(link.id))
        .exec(&txn)
        .await?;
    if used.rows_affected == 0 {
        return Err(AppError::Forbidden(
            "This reset link was used already. Ask for a new one.".into(),
        ));
    }
    // Older links of the account die with it.
    password_reset::Entity::delete_many()
        .filter(password_reset::Column::UserId.eq(account.id))
        .exec(&txn)
        .await?;
    // The link is the address's first proof: whoever held the account before may have
    // signed up with someone else's address, so nothing they made (a passkey, an app)
    // survives into the owner's account.
    if account.email_verified_at.is_none() {
        release_unproven_holdings(&txn, account.id).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(new_hash))
        .col_expr(
            user::Column::EmailVerifiedAt,
            Expr::value(account.email_verified_at.unwrap_or(now)),
        )
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        // A reset unlocks a second step locked by wrong codes.
        .col_expr(user::Column::CodeFailures, Expr::value(0))
        .filter(user::Column::Id.eq(account.id))
        .exec(&txn)
        .await?;
    // Whoever held a session (perhaps with the old password) is out; so is a throttle
    // an attacker ran up against the account.
    session::end_all(&txn, account.id).await?;
    crate::identity::devices::forget_all(&txn, account.id).await?;
    forgive_attempts(&txn, &account.email_normalized, None, None).await?;
    // A reset link proves the mailbox, not the second factor: an account that has one is
    // asked for it before the session starts.
    let next = Some("/settings?saved=password-reset".to_string());
    let step = if has_second_factor(&txn, account.id).await? {
        SignInStep::SecondFactor(
            start_challenge(&txn, account.id, session::SignInMethod::Reset, next, now).await?,
        )
    } else {
        SignInStep::Session(
            session::start(
                &txn,
                account.id,
                &session::SignInOrigin::of_request(session::SignInMethod::Reset),
            )
            .await?,
        )
    };
    let _queued = mail::enqueue(
        &txn,
        mail::password_changed_email(
            &account.email,
            &account.name,
            &state.settings.link("/forgot-password"),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();
    let secure = state.settings.secure_cookies();
    match step {
        SignInStep::Session(token) => {
            crate::server::append_response_header(
                http::header::SET_COOKIE,
                session::cookie_header(&token, secure),
            );
            leptos_axum::redirect("/settings?saved=password-reset");
        }
        SignInStep::SecondFactor(token) => {
            crate::server::append_response_header(
                http::header::SET_COOKIE,
                challenge_cookie(&token, secure),
            );
            leptos_axum::redirect("/login/two-factor");
        }
    }
    Ok(())
}

/// `/forgot-password`: the address to send a reset link to.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let result = request.value();
    let query = use_query_map();
    let sent =
        move || query.with(|q| q.get("sent").is_some()) || matches!(result.get(), Some(Ok(())));
    let email = query.with_untracked(|q| q.get("email").unwrap_or_default());
    view! {
        <Title text="Forgot password · Orgdesk" />
        <AuthCard title="Forgot password">
            {move || if sent() {
                view! {
                    <p role="status" class="notice">
                        "If an Orgdesk account uses that address, we sent it a link to choose a new password. The link works once, for 1 hour."
                    </p>
                    <p>"Nothing arrived? Check the spam folder, or ask again in a few minutes."</p>
                }.into_any()
            } else {
                let email = email.clone();
                view! {
                    <p>"Enter the email address of your account; we send it a link to choose a new password."</p>
                    <KeepTypedValues><ActionForm action=request>
                        <FormAlert message=form_error(result) />
                        <TextField
                            label="Email"
                            name="email"
                            input_type="email"
                            autocomplete="email"
                            value=email
                            maxlength=EMAIL_MAX_CHARS
                            required=true
                            error=field_error(result, "email")
                        />
                        <SubmitButton label="Send reset link" busy_label="Sending…" />
                    </ActionForm></KeepTypedValues>
                }.into_any()
            }}
            <p class="auth-switch"><a href="/login">"Back to log in"</a></p>
        </AuthCard>
    }
}

/// `/reset-password?token=…`: the emailed link's page. Opening it changes nothing; the form
/// sets the new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token").unwrap_or_default());
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        password_reset_link,
    );
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let reset = ServerAction::<ResetPassword>::new();
    let result = reset.value();
    view! {
        <Title text="Choose a new password · Orgdesk" />
        <Suspense fallback=|| view! { <AuthCard title="Choose a new password"><p>"Loading…"</p></AuthCard> }>
            {move || {
                let token = token.clone();
                Suspend::new(async move {
                    match link.await {
                        Ok(email) => view! {
                            <AuthCard title="Choose a new password">
                                <p>"For " <strong>{email}</strong> ". Every session of the account is signed out, and this browser signed in."</p>
                                <ActionForm action=reset>
                                    <FormAlert message=form_error(result) />
                                    <input type="hidden" name="token" value=token />
                                    <TextField
                                        label="New password"
                                        name="new_password"
                                        input_type="password"
                                        autocomplete="new-password"
                                        maxlength=PASSWORD_MAX_CHARS
                                        required=true
                                        hint="8 to 72 characters, not containing your name or email, and not one of the most common passwords."
                                        error=field_error(result, "new_password")
                                    />
                                    <SubmitButton label="Set password" busy_label="Saving…" />
                                </ActionForm>
                            </AuthCard>
                        }
                            .into_any(),
                        Err(err) => view! {
                            <AuthCard title="This link cannot be used">
                                <p role="alert">{err.to_string()}</p>
                                <a href="/forgot-password">"Ask for a new link"</a>
                            </AuthCard>
                        }
                            .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
