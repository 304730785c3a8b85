//! (ssr) Turning the authenticator app on (its first code confirms it) and off (after a
//! fresh proof). Each change ends the other sessions, is audited and mailed.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::{
    error::AppError,
    identity::{
        authenticator::{authenticator_of, confirm_setup},
        factors::{factor_added, factor_removed, Factor, Holder, Removal},
        proofs::{began_setup, may_add_factor, require_recent_proof},
        recovery_codes::replace_recovery_codes,
    },
    server::{AppState, SignedIn},
};

/// Confirms the app `me`'s session began setting up with its first `code`; the first
/// factor comes with recovery codes. Returns whether the account had codes already.
pub async fn turn_on(
    state: &AppState,
    me: &SignedIn,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    may_add_factor(me)?;
    if code.trim().is_empty() {
        return Err(AppError::field(
            "code",
            "Authentication code is required: enter the 6 digits your app shows.",
        ));
    }
    crate::identity::throttles::count_request(
        &state.db,
        &crate::identity::code_guesses::code_scopes(me.user_id),
        now,
        "Too many wrong codes. Please wait",
    )
    .await?;
    let Some(app) = authenticator_of(&state.reader, me.user_id)
        .await?
        .filter(|app| app.confirmed_at.is_none())
    else {
        return Err(AppError::Forbidden(
            "There is no authenticator app being set up. Start again from User Settings.".into(),
        ));
    };
    if !began_setup(me, &app, now) {
        return Err(AppError::Forbidden(
            "This set-up has expired, or this session did not start it. Start again from User Settings.".into(),
        ));
    }
    let txn = state.db.begin().await?;
    if !confirm_setup(&txn, &state.secrets, &app, &me.email, code, now).await? {
        return Err(AppError::field(
            "code",
            "That code is not right. Enter the 6 digits your app shows now (check that your phone's clock is set automatically).",
        ));
    }
    // The first factor comes with recovery codes; with codes left from before, they stay.
    let had_codes =
        crate::identity::recovery_codes::recovery_codes_left(&txn, me.user_id).await? > 0;
    if !had_codes {
        replace_recovery_codes(&txn, &state.secrets, me.user_id, me.session_id, now).await?;
    }
    crate::identity::code_guesses::forgive_code_guesses(&txn, me.user_id).await?;
    factor_added(
        &txn,
        &state.settings,
        Holder {
            user_id: me.user_id,
            name: &me.name,
            email: &me.email,
        },
        &Factor::Authenticator { id: app.id },
        me.session_id,
        "An authenticator app was added to your Orgdesk account: signing in now asks for a code from it after your password.",
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(had_codes)
}

/// Turns `me`'s authenticator app off, after a fresh proof. Without a passkey left, the
/// recovery codes go too and the account signs in with its password alone again.
pub async fn turn_off(
    state: &AppState,
    me: &SignedIn,
    proof: Option<&str>,
    client: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let confirmed = authenticator_of(&state.reader, me.user_id)
        .await?
        .is_some_and(|app| app.confirmed_at.is_some());
    if !confirmed {
        return Err(AppError::Forbidden(
            "Your account has no authenticator app to turn off.".into(),
        ));
    }
    require_recent_proof(state, me, proof, client, now).await?;
    let txn = state.db.begin().await?;
    crate::server::entities::totp_authenticator::Entity::delete_many()
        .filter(crate::server::entities::totp_authenticator::Column::UserId.eq(me.user_id))
        .exec(&txn)
        .await?;
    // With no factor left, the recovery codes go too; with passkeys they stay.
    factor_removed(
        &txn,
        &state.settings,
        holder_of(me),
        Removal {
            described: "an authenticator app",
            subject: "Two-factor authentication is off for your Orgdesk account",
            what_happened: "The authenticator app of your Orgdesk account was removed. Every other session of the account was signed out.",
        },
        me.session_id,
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(())
}

/// `me` as the holder whose factors change.
pub fn holder_of(me: &SignedIn) -> Holder<'_> {
    Holder {
        user_id: me.user_id,
        name: &me.name,
        email: &me.email,
    }
}
