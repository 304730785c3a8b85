//! Throttles of passwords and other requests an attacker repeats: attempts written before
//! they are counted, per scope (account, client, pair, known device), with exponential
//! back-off for unknown browsers.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::{error::AppError, server::entities::login_failure};

/// Password attempts are counted over this window...
fn throttle_window() -> Duration {
    Duration::minutes(15)
}
/// ...and refused beyond this many for one account from one client address (the guesser's
/// usual case)...
pub const MAX_ATTEMPTS_PER_PAIR: u64 = 5;
/// ...or for one account from everywhere (higher: someone who knows an address should not
/// lock its owner out as easily)...
pub const MAX_ATTEMPTS_PER_ACCOUNT: u64 = 50;
/// ...or from one client address (many accounts from one place).
pub const MAX_ATTEMPTS_PER_ADDRESS: u64 = 20;
/// ...or from one known device of the account (a stolen device cookie guesses no faster
/// than a stranger's browser would at first).
pub const MAX_ATTEMPTS_PER_DEVICE: u64 = 5;
/// Unknown browsers' first failures at an account go unhindered; after them each attempt
/// waits twice as long as the one before (1 s, 2 s, 4 s, ... up to the window).
pub const ATTEMPTS_BEFORE_BACKOFF: u64 = 5;

pub fn account_scope(normalized_email: &str) -> String {
    format!("account:{normalized_email}")
}

fn pair_scope(normalized_email: &str, client: Option<std::net::IpAddr>) -> String {
    match client {
        Some(address) => format!("pair:{normalized_email}|{address}"),
        None => format!("pair:{normalized_email}|unknown"),
    }
}

/// The scopes a password attempt from a known device of the account counts against: the
/// device, and the client address; never the account, which strangers can run up.
pub fn known_device_scopes(device_id: i32, client: Option<std::net::IpAddr>) -> Vec<(String, u64)> {
    let mut scopes = vec![(format!("device:{device_id}"), MAX_ATTEMPTS_PER_DEVICE)];
    if let Some(address) = client {
        scopes.push((format!("address:{address}"), MAX_ATTEMPTS_PER_ADDRESS));
    }
    scopes
}

/// How long an unknown browser waits after the account's `failures` recent failures.
pub fn backoff_after(failures: u64) -> Duration {
    match failures.checked_sub(ATTEMPTS_BEFORE_BACKOFF) {
        None => Duration::zero(),
        Some(beyond) => Duration::seconds(1i64 << beyond.min(20)).min(throttle_window()),
    }
}

/// Unknown browsers back off exponentially at an account strangers are failing at: refuses
/// the attempt (without counting it) while the account's last failure is too recent.
pub async fn refuse_during_backoff(
    db: &impl ConnectionTrait,
    normalized_email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use sea_orm::QuerySelect;

    let recent = login_failure::Entity::find()
        .filter(login_failure::Column::Scope.eq(account_scope(normalized_email)))
        .filter(login_failure::Column::FailedAt.gt(now - throttle_window()));
    let failures = recent.clone().count(db).await?;
    let wait = backoff_after(failures);
    if wait.is_zero() {
        return Ok(());
    }
    let last: Option<DateTime<Utc>> = recent
        .select_only()
        .column_as(login_failure::Column::FailedAt.max(), "last")
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let Some(last) = last else {
        return Ok(());
    };
    let left = last + wait - now;
    if left > Duration::zero() {
        // Whole seconds, rounded up: "wait 0 seconds" would be a lie.
        let left = (left.num_milliseconds() + 999) / 1000;
        return Err(AppError::TooManyAttempts(format!(
            "Too many failed login attempts. Please wait {left} second{} and try again.",
            if left > 1 { "s" } else { "" }
        )));
    }
    Ok(())
}

/// The scopes a password attempt for `normalized_email` from `client` counts against.
pub fn password_scopes(
    normalized_email: &str,
    client: Option<std::net::IpAddr>,
) -> Vec<(String, u64)> {
    let mut scopes = vec![
        (pair_scope(normalized_email, client), MAX_ATTEMPTS_PER_PAIR),
        (account_scope(normalized_email), MAX_ATTEMPTS_PER_ACCOUNT),
    ];
    if let Some(address) = client {
        scopes.push((format!("address:{address}"), MAX_ATTEMPTS_PER_ADDRESS));
    }
    scopes
}

/// Counts a password attempt before its (slow) check: the attempt is written first, in one
/// statement, then each scope's count, this attempt included, is compared with its limit.
/// Writes are ordered, so of many parallel attempts at most the limit see a count within
/// it; the rest are refused without hashing anything.
pub async fn count_password_attempt(
    db: &impl ConnectionTrait,
    scopes: &[(String, u64)],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    record_attempt(db, scopes, now).await?;
    let including_this: Vec<(String, u64)> = scopes
        .iter()
        .map(|(scope, limit)| (scope.clone(), limit + 1))
        .collect();
    refuse_over_limit(
        db,
        &including_this,
        now,
        "Too many failed login attempts. Please wait",
    )
    .await
}

/// The right password forgives the earlier attempts on the account, and this attempt (made
/// at `attempt_at`) on the client address: an office behind one address signs in all day,
/// while a guesser's failures there still count.
pub async fn forgive_attempts(
    db: &impl ConnectionTrait,
    normalized_email: &str,
    client: Option<std::net::IpAddr>,
    attempt_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Scope.is_in([
            pair_scope(normalized_email, client),
            account_scope(normalized_email),
        ]))
        .exec(db)
        .await?;
    if let (Some(address), Some(at)) = (client, attempt_at) {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Scope.eq(format!("address:{address}")))
            .filter(login_failure::Column::FailedAt.eq(at))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Refuses when a scope reached its limit within the throttle window: "`refusal` N
/// minutes and try again."
async fn refuse_over_limit(
    db: &impl ConnectionTrait,
    scopes: &[(String, u64)],
    now: DateTime<Utc>,
    refusal: &str,
) -> Result<(), AppError> {
    let since = now - throttle_window();
    for (scope, limit) in scopes {
        let recent = login_failure::Entity::find()
            .filter(login_failure::Column::Scope.eq(scope.as_str()))
            .filter(login_failure::Column::FailedAt.gt(since));
        if recent.clone().count(db).await? >= *limit {
            let oldest = recent
                .order_by_asc(login_failure::Column::FailedAt)
                .one(db)
                .await?
                .map(|f| f.failed_at)
                .unwrap_or(now);
            let minutes = ((oldest + throttle_window() - now).num_seconds().max(0) + 59) / 60;
            return Err(AppError::TooManyAttempts(format!(
                "{refusal} {} minute{} and try again.",
                minutes.max(1),
                if minutes > 1 { "s" } else { "" }
            )));
        }
    }
    Ok(())
}

/// Writes one attempt per scope (one statement), dropping rows too old to count.
async fn record_attempt(
    db: &impl ConnectionTrait,
    scopes: &[(String, u64)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // Old rows no longer count: drop them as new ones come in, so the table stays small.
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::FailedAt.lte(now - throttle_window()))
        .exec(db)
        .await?;
    login_failure::Entity::insert_many(scopes.iter().map(|(scope, _)| {
        login_failure::ActiveModel {
            scope: Set(scope.clone()),
            failed_at: Set(now),
            ..Default::default()
        }
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// The throttle scopes of password-reset requests: the address asked for, and the client.
pub fn reset_scopes(
    normalized_email: &str,
    client: Option<std::net::IpAddr>,
    per_address: u64,
    per_client: u64,
) -> Vec<(String, u64)> {
    let mut scopes = vec![(format!("reset:{normalized_email}"), per_address)];
    if let Some(client) = client {
        scopes.push((format!("reset-from:{client}"), per_client));
    }
    scopes
}

/// Counts a request against each scope's limit over the throttle window (written first, as
/// for passwords), refusing it, and saying when to retry after `refusal`, beyond a limit.
pub async fn count_request(
    db: &impl ConnectionTrait,
    scopes: &[(String, u64)],
    now: DateTime<Utc>,
    refusal: &str,
) -> Result<(), AppError> {
    record_attempt(db, scopes, now).await?;
    let including_this: Vec<(String, u64)> = scopes
        .iter()
        .map(|(scope, limit)| (scope.clone(), limit + 1))
        .collect();
    refuse_over_limit(db, &including_this, now, refusal).await
}
