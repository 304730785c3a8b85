//! The second step's limits: wrong codes per sign-in, per account in a window, and in a
//! row across sign-ins (which locks the step until a password reset).

use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::server::entities::{two_factor_challenge, user};

/// How many wrong codes a sign-in waiting for its second factor takes before the password
/// must be typed again.
pub const MAX_CHALLENGE_FAILURES: i32 = 5;

/// Consecutive wrong codes at the second step (across sign-ins, after right passwords) after
/// which the step locks until a password reset: the per-window throttle alone lets a
/// thief who has the password guess on forever.
pub const MAX_CONSECUTIVE_CODE_FAILURES: i32 = 20;

/// Second-factor guesses for one account in 15 minutes, from everywhere (a code has a
/// million values; the password was already right, so this is the last line).
pub const MAX_CODE_ATTEMPTS_PER_ACCOUNT: u64 = 10;

/// Whether the account's second step is locked (too many wrong codes in a row).
pub fn second_step_locked(account: &user::Model) -> bool {
    account.code_failures >= MAX_CONSECUTIVE_CODE_FAILURES
}

/// Counts a wrong second-step code against the account; returns the count now.
pub async fn count_consecutive_failure(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<i32, DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::CodeFailures,
            Expr::col(user::Column::CodeFailures).add(1),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map_or(0, |account| account.code_failures))
}

/// A right second factor, or a password reset, starts the count again.
pub async fn clear_consecutive_failures(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::CodeFailures, Expr::value(0))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::CodeFailures.ne(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts a wrong code against the sign-in; ends it at the limit. True when it ended.
pub async fn count_wrong_code(
    db: &impl ConnectionTrait,
    challenge: &two_factor_challenge::Model,
) -> Result<bool, DbErr> {
    if challenge.failed_attempts + 1 >= MAX_CHALLENGE_FAILURES {
        two_factor_challenge::Entity::delete_by_id(challenge.id)
            .exec(db)
            .await?;
        return Ok(true);
    }
    two_factor_challenge::Entity::update_many()
        .col_expr(
            two_factor_challenge::Column::FailedAttempts,
            Expr::col(two_factor_challenge::Column::FailedAttempts).add(1),
        )
        .filter(two_factor_challenge::Column::Id.eq(challenge.id))
        .exec(db)
        .await?;
    Ok(false)
}

/// The throttle scope of second-factor guesses on one account.
pub fn code_scopes(user_id: i32) -> Vec<(String, u64)> {
    vec![(format!("2fa:{user_id}"), MAX_CODE_ATTEMPTS_PER_ACCOUNT)]
}

/// A right code forgives the account's code guesses before it.
pub async fn forgive_code_guesses(db: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    use crate::server::entities::login_failure;
    let scopes: Vec<String> = code_scopes(user_id)
        .into_iter()
        .map(|(scope, _)| scope)
        .collect();
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Scope.is_in(scopes))
        .exec(db)
        .await?;
    Ok(())
}
