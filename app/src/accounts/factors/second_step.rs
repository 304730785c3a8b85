//! The sign-in step that asks for the second factor: what it offers, and the code and
//! recovery-code answers (passkeys answer in `passkeys/`). Of two right answers to one
//! sign-in, one signs in; wrong ones are counted per sign-in, per account and in a row.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The sign-in step waiting for a second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignInView {
    /// The account's address, so the person sees whose code is asked for.
    pub email: String,
    /// Which second factors the account has, so the page offers those.
    pub has_authenticator: bool,
    pub has_passkeys: bool,
}

/// The sign-in this browser started that waits for its second factor, if any.
#[server(endpoint = "accounts/pending_sign_in")]
pub async fn pending_sign_in() -> Result<Option<PendingSignInView>, AppError> {
    use crate::server::app_state;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let state = app_state()?;
    let Some(token) = super::sign_in::challenge_token(&state) else {
        return Ok(None);
    };
    let Some((_, account)) =
        crate::identity::sign_in::challenge_of(&state.reader, &token, chrono::Utc::now()).await?
    else {
        return Ok(None);
    };
    let has_authenticator =
        crate::identity::authenticator::authenticator_of(&state.reader, account.id)
            .await?
            .is_some_and(|app| app.confirmed_at.is_some());
    let has_passkeys = crate::server::entities::passkey::Entity::find()
        .filter(crate::server::entities::passkey::Column::UserId.eq(account.id))
        .count(&state.reader)
        .await?
        > 0;
    Ok(Some(PendingSignInView {
        email: account.email,
        has_authenticator,
        has_passkeys,
    }))
}

/// **Verify** at sign-in: a code from the authenticator app.
#[server(endpoint = "accounts/verify_sign_in_code")]
pub async fn verify_sign_in_code(code: String) -> Result<(), AppError> {
    finish_sign_in(code, crate::accounts::rules::SecondFactor::Totp).await
}

/// **Verify** at sign-in with one of the account's recovery codes (used up; a notice is
/// mailed).
#[server(endpoint = "accounts/use_recovery_code")]
pub async fn use_recovery_code(recovery_code: String) -> Result<(), AppError> {
    finish_sign_in(
        recovery_code,
        crate::accounts::rules::SecondFactor::RecoveryCode,
    )
    .await
}

/// The second step of a sign-in: the code must be right for the account whose password (or
/// reset link) started it. Wrong codes count against the account (10 in 15 minutes) and the
/// sign-in (5, then the password again); a right one starts the session.
#[cfg(feature = "ssr")]
async fn finish_sign_in(
    code: String,
    factor: crate::accounts::rules::SecondFactor,
) -> Result<(), AppError> {
    use crate::identity::{
        authenticator::{accept_code, authenticator_of},
        code_guesses::code_scopes,
        recovery_codes::use_recovery_code,
    };
    use crate::{
        accounts::{rules::SecondFactor, service::count_request},
        server::{app_state, mail},
    };
    use sea_orm::TransactionTrait;

    let field = match factor {
        SecondFactor::RecoveryCode => "recovery_code",
        _ => "code",
    };
    if code.trim().is_empty() {
        return Err(AppError::field(
            field,
            match factor {
                SecondFactor::RecoveryCode => "Recovery code is required.",
                _ => "Authentication code is required: enter the 6 digits your app shows.",
            },
        ));
    }
    let state = app_state()?;
    let now = chrono::Utc::now();
    let (challenge, account) = super::sign_in::pending_challenge(&state).await?;
    if crate::identity::code_guesses::second_step_locked(&account) {
        return Err(second_step_locked_error());
    }
    count_request(
        &state.db,
        &code_scopes(account.id),
        now,
        "Too many wrong codes. Please wait",
    )
    .await?;

    let txn = state.db.begin().await?;
    let right = match factor {
        SecondFactor::RecoveryCode => use_recovery_code(&txn, account.id, &code, now).await?,
        _ => match authenticator_of(&txn, account.id).await? {
            Some(app) if app.confirmed_at.is_some() => {
                accept_code(&txn, &state.secrets, &app, &account.email, &code, now).await?
            }
            _ => false,
        },
    };
    if !right {
        drop(txn);
        return Err(wrong_second_step(&state, &challenge, &account, field, factor, now).await?);
    }
    if factor == SecondFactor::RecoveryCode {
        crate::identity::factors::audit_factor_change(
            &txn,
            crate::identity::factors::Holder {
                user_id: account.id,
                name: &account.name,
                email: &account.email,
            },
            crate::audit::events::EventKind::RecoveryCodeUsed,
            None,
            now,
        )
        .await?;
        let left = crate::identity::recovery_codes::recovery_codes_left(&txn, account.id).await?;
        let _queued = mail::enqueue(
            &txn,
            mail::plain_notice(
                &account.email,
                "A recovery code was used to sign in to your Orgdesk account".into(),
                format!(
                    "Hello {},\n\nSomeone signed in to your Orgdesk account ({}) with one of its recovery codes. {} of your recovery codes are left; generate new ones in User Settings when you run low.\n\nIf this was not you, reset your password now at {} and generate new recovery codes.",
                    account.name,
                    account.email,
                    left,
                    state.settings.link("/forgot-password"),
                ),
            ),
            now,
        )
        .await?;
    }
    let next =
        super::sign_in::complete_sign_in(&state, txn, &challenge, &account, factor, now).await?;
    leptos_axum::redirect(&next);
    Ok(())
}

#[cfg(feature = "ssr")]
fn second_step_locked_error() -> AppError {
    AppError::Forbidden(format!(
        "This account's second step is locked after {} wrong codes in a row. Choose a new password with \"Forgot password?\" on the login page to unlock it.",
        crate::identity::code_guesses::MAX_CONSECUTIVE_CODE_FAILURES
    ))
}

/// A wrong code at the second step: counted against the sign-in (5 end it) and the account
/// (20 in a row lock the step until a password reset). The first wrong code after a right
/// password tells the account's address that its password was used; the lock tells it too.
/// Returns the error to answer with.
#[cfg(feature = "ssr")]
async fn wrong_second_step(
    state: &crate::server::AppState,
    challenge: &crate::server::entities::two_factor_challenge::Model,
    account: &crate::server::entities::user::Model,
    field: &str,
    factor: crate::accounts::rules::SecondFactor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AppError, AppError> {
    use crate::identity::code_guesses::{
        count_consecutive_failure, count_wrong_code, MAX_CONSECUTIVE_CODE_FAILURES,
    };
    use crate::{
        accounts::rules::SecondFactor,
        identity::sign_in::challenge_cookie_removal,
        server::{append_response_header, mail},
    };

    let failures = count_consecutive_failure(&state.db, account.id).await?;
    let notice = if failures >= MAX_CONSECUTIVE_CODE_FAILURES {
        Some((
            "The second step of your Orgdesk sign-in is locked",
            format!(
                "Hello {},\n\nSomeone typed your Orgdesk password ({}) right and then {} wrong codes in a row, so signing in to the account is locked. Nobody was signed in.\n\nTo unlock it, choose a new password at {} (whoever typed the codes knows your current one).",
                account.name,
                account.email,
                MAX_CONSECUTIVE_CODE_FAILURES,
                state.settings.link("/forgot-password"),
            ),
        ))
    } else if challenge.failed_attempts == 0 {
        Some((
            "Your Orgdesk password was used with a wrong code",
            format!(
                "Hello {},\n\nSomeone signed in to your Orgdesk account ({}) with your password just now, then typed a wrong code at the second step. Nobody was signed in.\n\nIf this was you, there is nothing to do. If it was not, someone knows your password: choose a new one at {}.",
                account.name,
                account.email,
                state.settings.link("/forgot-password"),
            ),
        ))
    } else {
        None
    };
    if let Some((subject, text)) = notice {
        let _queued = mail::enqueue(
            &state.db,
            mail::plain_notice(&account.email, subject.into(), text),
            now,
        )
        .await?;
        state.wake_mail_worker();
    }
    if failures >= MAX_CONSECUTIVE_CODE_FAILURES {
        crate::identity::factors::end_every_sign_in(&state.db, account.id).await?;
        append_response_header(
            http::header::SET_COOKIE,
            challenge_cookie_removal(state.settings.secure_cookies()),
        );
        return Ok(second_step_locked_error());
    }
    if count_wrong_code(&state.db, challenge).await? {
        append_response_header(
            http::header::SET_COOKIE,
            challenge_cookie_removal(state.settings.secure_cookies()),
        );
        return Ok(AppError::Forbidden(
            "Too many wrong codes for this sign-in. Log in again.".into(),
        ));
    }
    Ok(AppError::field(
        field,
        match factor {
            SecondFactor::RecoveryCode => {
                "That recovery code is not right, or it was used already."
            }
            _ => "That code is not right. Enter the 6 digits your app shows now.",
        },
    ))
}
