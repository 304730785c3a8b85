//! The one way in. Every path that signs someone in (a password at login or confirming a
//! sign-up, a sign-up from an invitation to that address, a reset link, a passkey alone, the
//! organization's identity provider, and the second step after any of them) ends in
//! [`arrive`], which applies the rules in one order: the account's address is verified; an
//! address at an SSO organization's verified domain comes in only through its provider; an
//! account with a second factor gives it, unless the arrival already carries one; then this
//! browser's previous session ends and a new one starts. A new way in (SAML, provisioning)
//! calls it and so cannot skip a rule. Each path proves its own first step before.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Set,
};

use super::{factors::has_second_factor, routing::connection_for_email};
use crate::{
    error::AppError,
    server::{
        entities::{two_factor_challenge, user},
        session::{self, SignInMethod, SignInOrigin},
        tokens::{hash_token, new_token},
    },
};

/// Where an arrival leads.
#[derive(Debug)]
pub enum SignInStep {
    /// Signed in: the new session's token.
    Session(String),
    /// The account has a second factor: the token of the sign-in waiting for it.
    SecondFactor(String),
}

/// Someone whose first step (or second) was just proved, on its way in.
pub struct Arrival<'a> {
    pub user_id: i32,
    /// How they came in and, after the second step, with which factor.
    pub origin: &'a SignInOrigin,
    /// This browser's session, which the new one ends.
    pub previous_session: Option<i32>,
    /// Where to go once signed in, kept with the second step when one is asked.
    pub next: Option<String>,
}

/// The answer when the account's address has not been proven: no way in skips the link.
pub const UNVERIFIED: &str =
    "This account's email address is not verified yet: open the link we sent to it, then sign in.";

/// The door's rules that need no proof: whether `account` may come in by `method` at all.
/// [`arrive`] applies them; a path may also ask first, before costly work (a passkey's
/// signature), and gets the same answer.
pub async fn may_enter(
    db: &impl ConnectionTrait,
    account: &user::Model,
    method: SignInMethod,
) -> Result<(), AppError> {
    if account.email_verified_at.is_none() {
        return Err(AppError::Forbidden(UNVERIFIED.into()));
    }
    // The organization that proved the address's domain decides through its provider who
    // still belongs: no other way in goes around it.
    if method != SignInMethod::Sso {
        if let Some((connection, _)) = connection_for_email(db, &account.email).await? {
            return Err(AppError::Forbidden(format!(
                "Accounts at this address sign in through {}. Log in with your email to continue there.",
                connection.provider_name
            )));
        }
    }
    Ok(())
}

/// Lets `arrival` in, inside `txn` (which holds the proof it used up), or says which rule
/// stops it.
pub async fn arrive(
    txn: &impl ConnectionTrait,
    arrival: Arrival<'_>,
    now: DateTime<Utc>,
) -> Result<SignInStep, AppError> {
    let origin = arrival.origin;
    // Read inside the transaction: a reset link or SSO may have proven the address in it.
    let account = user::Entity::find_by_id(arrival.user_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Forbidden(UNVERIFIED.into()))?;
    may_enter(txn, &account, origin.method).await?;
    // A passkey alone is both factors (possession and the device's user verification).
    let carries_second_factor =
        origin.second_factor.is_some() || origin.method == SignInMethod::Passkey;
    if !carries_second_factor && has_second_factor(txn, account.id).await? {
        let token = start_challenge(txn, account.id, origin.method, arrival.next, now).await?;
        return Ok(SignInStep::SecondFactor(token));
    }
    if let Some(previous) = arrival.previous_session {
        session::end(txn, previous).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(account.id))
        .exec(txn)
        .await?;
    let token = session::start(txn, account.id, origin).await?;
    Ok(SignInStep::Session(token))
}

/// How long a sign-in waits for its second factor.
pub fn challenge_lifetime() -> Duration {
    Duration::minutes(10)
}

/// The cookie that ties a sign-in waiting for its second factor to its browser.
pub fn challenge_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-orgdesk_2fa"
    } else {
        "orgdesk_2fa"
    }
}

pub fn challenge_cookie(token: &str, secure: bool) -> axum::http::HeaderValue {
    session::set_cookie(
        challenge_cookie_name(secure),
        token,
        "/",
        cookie::time::Duration::minutes(challenge_lifetime().num_minutes()),
        secure,
    )
}

pub fn challenge_cookie_removal(secure: bool) -> axum::http::HeaderValue {
    session::set_cookie(
        challenge_cookie_name(secure),
        "",
        "/",
        cookie::time::Duration::ZERO,
        secure,
    )
}

/// Records a sign-in whose first step succeeded and returns the token for its cookie.
pub async fn start_challenge(
    txn: &impl ConnectionTrait,
    user_id: i32,
    method: SignInMethod,
    next_path: Option<String>,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let token = new_token();
    two_factor_challenge::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(user_id),
        sign_in_method: Set(method),
        next_path: Set(next_path),
        failed_attempts: Set(0),
        created_at: Set(now),
        expires_at: Set(now + challenge_lifetime()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(token)
}

/// The sign-in behind a challenge cookie, with its account, while it may still finish.
pub async fn challenge_of(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(two_factor_challenge::Model, user::Model)>, DbErr> {
    let found = two_factor_challenge::Entity::find()
        .filter(two_factor_challenge::Column::TokenHash.eq(hash_token(token.trim())))
        .filter(two_factor_challenge::Column::ExpiresAt.gt(now))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(challenge, account)| account.map(|a| (challenge, a))))
}
