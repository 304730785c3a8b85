//! (ssr) Account recovery's work: the throttled request that mails a link, the link's
//! lookup, and setting a new password through it, which proves the address and then lets
//! the account in through identity's one door.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use crate::{
    accounts::{
        rules::{EmailAddress, NewPassword},
        service::{count_request, forgive_attempts, hash_password, reset_scopes},
        sign_up::service::release_unproven_holdings,
    },
    error::AppError,
    identity::{
        routing::connection_for_email,
        sign_in::{arrive, Arrival, SignInStep},
    },
    server::{
        entities::{password_reset, user},
        mail,
        session::{self, SignInOrigin},
        tokens::{hash_token, new_token},
        AppState,
    },
};

/// Reset requests per address, and per client address, in the throttle window (15 minutes).
const MAX_REQUESTS_PER_ADDRESS: u64 = 3;
const MAX_REQUESTS_PER_CLIENT: u64 = 10;

/// How long a reset link works.
pub fn link_lifetime() -> Duration {
    Duration::hours(1)
}

/// Where a reset leads once the account is in.
pub const AFTER_RESET: &str = "/settings?saved=password-reset";

/// Mails a reset link if an account has `email` (throttled per address and per client);
/// answers the same either way. Users of a verified SSO domain are told to sign in there.
pub async fn send_reset_link(
    state: &AppState,
    email: &EmailAddress,
    client: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if let Some((connection, _)) = connection_for_email(&state.reader, email.as_str()).await? {
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
        client,
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
    let Some(account) = account else {
        return Ok(());
    };
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
    Ok(())
}

/// The link behind `token` with its account, or why it cannot be used.
pub async fn reset_of(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(password_reset::Model, user::Model), AppError> {
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

/// Sets a new password through the link behind `token`: the link is used up (with the
/// account's older ones), the address counts as proven, every session and known device of
/// the account ends, its throttles are forgiven and a notice is mailed; then the account
/// arrives (a second factor, if it has one, is asked). The link proves the mailbox only.
pub async fn reset_with_link(
    state: &AppState,
    token: &str,
    new_password: &str,
    origin: &SignInOrigin,
    now: DateTime<Utc>,
) -> Result<SignInStep, AppError> {
    let (link, account) = reset_of(&state.reader, token, now).await?;
    if let Some((connection, _)) = connection_for_email(&state.reader, &account.email).await? {
        return Err(AppError::Forbidden(format!(
            "Accounts at this address sign in through {}: its password is managed there.",
            connection.provider_name
        )));
    }
    let password = NewPassword::parse(new_password, Some(&account.name), Some(&account.email))
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
    let step = arrive(
        &txn,
        Arrival {
            user_id: account.id,
            origin,
            previous_session: None,
            next: Some(AFTER_RESET.to_string()),
        },
        now,
    )
    .await?;
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
    Ok(step)
}
