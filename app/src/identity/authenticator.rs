//! The authenticator app (TOTP, RFC 6238): its sealed secret, setting it up, and checking
//! its codes (each accepted once).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Set,
};
use totp_rs::{Algorithm, Secret, Totp};

use crate::{
    error::AppError,
    server::{entities::totp_authenticator, secrets::Secrets},
};

/// The name authenticator apps show above the code.
const ISSUER: &str = "Orgdesk";

/// The TOTP of `secret` for `account` (RFC 6238: SHA-1, 6 digits, 30 s, one step of drift
/// either way).
fn totp(secret: Vec<u8>, account: &str) -> Result<Totp, AppError> {
    // The otpauth label may not hold a colon.
    let label: String = account.chars().filter(|c| *c != ':').collect();
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(label)
        .build()
        .map_err(|err| {
            tracing::error!(error = %err, "could not build a TOTP");
            AppError::Internal
        })
}

/// Where a user's sealed secret may be opened (a sealed value copied to another row does
/// not open).
fn secret_context(user_id: i32) -> String {
    crate::server::sealed::authenticator_secret_context(user_id)
}

/// The user's authenticator app, confirmed or not.
pub async fn authenticator_of(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Option<totp_authenticator::Model>, DbErr> {
    totp_authenticator::Entity::find()
        .filter(totp_authenticator::Column::UserId.eq(user_id))
        .one(db)
        .await
}

/// How long an authenticator app being set up waits for its first code.
pub fn setup_lifetime() -> Duration {
    Duration::minutes(15)
}

/// What the set-up page shows: the secret as text and the otpauth:// link.
pub struct SetupSecret {
    pub secret_base32: String,
    pub link: String,
}

/// Starts (or restarts) setting up an authenticator app: a new secret, sealed, waiting for
/// its first code. Refused while one is confirmed (turn it off first).
pub async fn begin_setup(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if authenticator_of(db, user_id)
        .await?
        .is_some_and(|app| app.confirmed_at.is_some())
    {
        return Err(AppError::Forbidden(
            "Your authenticator app is already on. Turn it off first to set up another one.".into(),
        ));
    }
    // 160 bits, as RFC 4226 recommends.
    let mut secret = vec![0u8; 20];
    rand::rng().fill(&mut secret[..]);
    let sealed = secrets.seal(&Secret::from(secret).to_base32(), &secret_context(user_id));
    totp_authenticator::Entity::delete_many()
        .filter(totp_authenticator::Column::UserId.eq(user_id))
        .filter(totp_authenticator::Column::ConfirmedAt.is_null())
        .exec(db)
        .await?;
    totp_authenticator::ActiveModel {
        user_id: Set(user_id),
        secret_sealed: Set(sealed),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The TOTP behind a stored authenticator.
fn totp_of(
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
) -> Result<Totp, AppError> {
    let encoded = secrets
        .open(&app.secret_sealed, &secret_context(app.user_id))
        .map_err(|err| {
            tracing::error!(user_id = app.user_id, error = %err, "an authenticator secret does not open");
            AppError::Internal
        })?;
    let secret = Secret::try_from_base32(&encoded).map_err(|_| {
        tracing::error!(
            user_id = app.user_id,
            "an authenticator secret is not base32"
        );
        AppError::Internal
    })?;
    totp(secret.as_bytes().to_vec(), account)
}

/// The set-up page's secret and link for an authenticator still being set up.
pub fn setup_secret(
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
) -> Result<SetupSecret, AppError> {
    let totp = totp_of(secrets, app, account)?;
    Ok(SetupSecret {
        secret_base32: totp.secret().to_base32(),
        link: totp.to_url().map_err(|err| {
            tracing::error!(error = %err, "could not write an otpauth link");
            AppError::Internal
        })?,
    })
}

/// The otpauth:// link as a QR code: an `<svg>` element.
pub fn qr_svg(link: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(link.as_bytes()).map_err(|err| {
        tracing::error!(error = %err, "could not draw a QR code");
        AppError::Internal
    })?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in the page: the XML declaration belongs to standalone files only.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// The digits of a typed code ("123 456" and "123-456" are "123456").
pub(crate) fn code_digits(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Whether `typed` is the app's code for now (one step of drift either way), and it was not
/// accepted before: the step it matched is recorded in the same statement that checks it
/// is newer than the last one accepted, so of two requests with one code one goes on.
pub async fn accept_code(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let digits = code_digits(typed);
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Ok(false);
    }
    let totp = totp_of(secrets, app, account)?;
    let Some(step) = totp.check(&digits, now.timestamp().max(0) as u64) else {
        return Ok(false);
    };
    let step = step as i64;
    let accepted = totp_authenticator::Entity::update_many()
        .col_expr(totp_authenticator::Column::LastUsedStep, Expr::value(step))
        .filter(totp_authenticator::Column::Id.eq(app.id))
        .filter(
            Condition::any()
                .add(totp_authenticator::Column::LastUsedStep.is_null())
                .add(totp_authenticator::Column::LastUsedStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(accepted.rows_affected == 1)
}

/// Confirms an authenticator being set up with its first code. False when the code is not
/// right (or the set-up was replaced meanwhile).
pub async fn confirm_setup(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if !accept_code(txn, secrets, app, account, typed, now).await? {
        return Ok(false);
    }
    let confirmed = totp_authenticator::Entity::update_many()
        .col_expr(totp_authenticator::Column::ConfirmedAt, Expr::value(now))
        .filter(totp_authenticator::Column::Id.eq(app.id))
        .filter(totp_authenticator::Column::ConfirmedAt.is_null())
        .exec(txn)
        .await?;
    Ok(confirmed.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_one_either_side_only() {
        let totp = totp(vec![7u8; 20], "ann@example.com").unwrap();
        let now = 1_800_000_000u64;
        let step = now / 30;
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let code = totp.generate((now as i64 + offset) as u64).to_string();
            let matched = totp.check(&code, now);
            assert_eq!(matched.is_some(), accepted, "offset {offset}");
            if let Some(matched) = matched {
                assert_eq!(matched as i64, step as i64 + offset / 30);
            }
        }
    }
}
