//! Proofs of an address: the mailed "confirm your email" links, how many an unproven
//! address may be sent, and a quiet new link for an account that knows its password.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::{
    error::AppError,
    server::{entities::user, AppState},
};

/// Verification emails one account may ask for in 24 hours.
pub const MAX_VERIFICATION_EMAILS_A_DAY: u64 = 5;

/// Issues a "verify your email" link for `account` and queues the email, inside `txn`.
/// `next` (a safe local path) is where the link leads after confirming.
pub async fn queue_verification_email(
    txn: &impl ConnectionTrait,
    state: &AppState,
    account: &user::Model,
    next: Option<&str>,
    now: DateTime<Utc>,
) -> Result<crate::server::mail::Queued, DbErr> {
    use crate::server::{entities::email_verification, mail, tokens};
    use sea_orm::ActiveModelTrait;

    let token = tokens::new_token();
    email_verification::ActiveModel {
        user_id: Set(account.id),
        token_hash: Set(tokens::hash_token(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(7)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let mut path = format!("/verify-email?token={token}");
    if let Some(next) = next.filter(|n| *n != "/") {
        path.push_str("&next=");
        path.extend(form_urlencoded::byte_serialize(next.as_bytes()));
    }
    mail::enqueue(
        txn,
        mail::verification_email(&account.email, &account.name, &state.settings.link(&path)),
        now,
    )
    .await
}

/// Refuses a new verification link while the last one is under a minute old, or after
/// [`MAX_VERIFICATION_EMAILS_A_DAY`] in 24 hours: each is an email to an address nobody
/// has proven yet.
pub async fn refuse_verification_resend(
    db: &impl ConnectionTrait,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::server::entities::email_verification;
    use sea_orm::{PaginatorTrait, QueryOrder};

    let latest = email_verification::Entity::find()
        .filter(email_verification::Column::UserId.eq(user_id))
        .order_by_desc(email_verification::Column::CreatedAt)
        .one(db)
        .await?;
    if latest.is_some_and(|l| now - l.created_at < Duration::minutes(1)) {
        return Err(AppError::TooManyAttempts(
            "We sent a link less than a minute ago. Check your inbox (and spam folder), or try again in a minute.".into(),
        ));
    }
    let today = email_verification::Entity::find()
        .filter(email_verification::Column::UserId.eq(user_id))
        .filter(email_verification::Column::CreatedAt.gt(now - Duration::days(1)))
        .count(db)
        .await?;
    if today >= MAX_VERIFICATION_EMAILS_A_DAY {
        return Err(AppError::TooManyAttempts(format!(
            "We sent {MAX_VERIFICATION_EMAILS_A_DAY} links in the last 24 hours, the most we send. Check your inbox (and spam folder), or try again tomorrow."
        )));
    }
    Ok(())
}

/// A new link for an unverified account whose holder just proved its password (at login),
/// unless one went out too recently: they are told to confirm, never that the address has
/// an account.
pub async fn resend_quietly(
    state: &AppState,
    account: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;

    if refuse_verification_resend(&state.reader, account.id, now)
        .await
        .is_err()
    {
        return Ok(());
    }
    let txn = state.db.begin().await?;
    let _queued = queue_verification_email(&txn, state, account, None, now).await?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(())
}
