//! The periodic sweep: rows that no longer serve and may hold secrets or personal data go.
//! Each server process runs it; the deletes are idempotent, so several may.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
};

use super::{
    entities::{
        api_key_reveal, email_verification, login_failure, mail_outbox, mail_recipient,
        password_reset, recovery_code_reveal, session, sso_login, two_factor_challenge,
        webauthn_ceremony,
    },
    session::{absolute_lifetime, idle_lifetime},
};

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    /// SSO sign-ins that never came back from the provider.
    pub sign_ins: u64,
    /// Sign-ins that never gave their second factor, and passkey requests never answered.
    pub two_factor_challenges: u64,
    /// New recovery codes and API keys nobody came to see.
    pub code_reveals: u64,
    pub links: u64,
    /// Login and request throttle rows, and the per-recipient mail counts.
    pub throttle_rows: u64,
    pub failed_mail_bodies: u64,
}

/// Throttle rows older than this count for nothing (the longest window is 15 minutes).
fn throttle_retention() -> Duration {
    Duration::hours(1)
}

/// A message that could not be delivered keeps its row (for the log's sake) a day, and then
/// its bodies, which hold links, are emptied.
fn failed_mail_retention() -> Duration {
    Duration::days(1)
}

pub async fn sweep(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Swept, DbErr> {
    let sessions = session::Entity::delete_many()
        .filter(
            Condition::any()
                .add(session::Column::LastSeenAt.lte(now - idle_lifetime()))
                .add(session::Column::CreatedAt.lte(now - absolute_lifetime())),
        )
        .exec(db)
        .await?
        .rows_affected;
    let sign_ins = sso_login::Entity::delete_many()
        .filter(sso_login::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    let two_factor_challenges = two_factor_challenge::Entity::delete_many()
        .filter(two_factor_challenge::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected
        + webauthn_ceremony::Entity::delete_many()
            .filter(webauthn_ceremony::Column::ExpiresAt.lte(now))
            .exec(db)
            .await?
            .rows_affected;
    let code_reveals = recovery_code_reveal::Entity::delete_many()
        .filter(recovery_code_reveal::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected
        + api_key_reveal::Entity::delete_many()
            .filter(api_key_reveal::Column::ExpiresAt.lte(now))
            .exec(db)
            .await?
            .rows_affected;
    let links = password_reset::Entity::delete_many()
        .filter(password_reset::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected
        + email_verification::Entity::delete_many()
            .filter(email_verification::Column::ExpiresAt.lte(now))
            .exec(db)
            .await?
            .rows_affected;
    let throttle_rows = login_failure::Entity::delete_many()
        .filter(login_failure::Column::FailedAt.lte(now - throttle_retention()))
        .exec(db)
        .await?
        .rows_affected
        + mail_recipient::Entity::delete_many()
            .filter(mail_recipient::Column::QueuedAt.lte(now - Duration::days(1)))
            .exec(db)
            .await?
            .rows_affected;
    let failed_mail_bodies = mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::TextBody, Expr::value(""))
        .col_expr(mail_outbox::Column::HtmlBody, Expr::value(""))
        .filter(mail_outbox::Column::FailedAt.lte(now - failed_mail_retention()))
        .filter(mail_outbox::Column::TextBody.ne(""))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Swept {
        sessions,
        sign_ins,
        two_factor_challenges,
        code_reveals,
        links,
        throttle_rows,
        failed_mail_bodies,
    })
}
