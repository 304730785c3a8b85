//! Server-only password sign-in: checking an address and password (throttled, device
//! aware) and what a right password leads to. Hashing and throttles are identity's
//! (`crate::identity`); registering and verification links are `sign_up`'s.

pub use crate::identity::{
    passwords::{hash_password, verify_password},
    sign_in::SignInStep,
    throttles::*,
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    error::AppError,
    server::{
        entities::{known_device, login_failure, user},
        session::SignInOrigin,
        AppState,
    },
};

/// One answer for an unknown address, a wrong password and an account whose address is
/// not confirmed yet: it must not reveal which accounts exist.
pub const WRONG_EMAIL_OR_PASSWORD: &str =
    "The email or password is incorrect. New account? Confirm your address with the link we emailed first.";

/// The login form's two fields are both required (each error names its field).
pub fn require_credentials(email: &str, password: &str) -> Result<(), AppError> {
    let mut validation = crate::error::Validation::new();
    if email.is_empty() {
        validation.add("email", "Email is required.");
    }
    if password.is_empty() {
        validation.add("password", "Password is required.");
    }
    validation.finish()
}

/// What the browser carries into a password sign-in.
pub struct SignInRequest<'a> {
    /// This browser's device cookie, if any.
    pub device: Option<&'a str>,
    /// This browser's session, which a new one ends.
    pub previous_session: Option<i32>,
    /// Where to go after the second factor, if one is asked.
    pub next: Option<String>,
    pub origin: &'a SignInOrigin,
}

/// A right password's outcome, and the device cookie to set when the browser just became
/// one of the account's known devices.
pub struct PasswordSignIn {
    pub step: SignInStep,
    pub new_device: Option<String>,
}

/// Checks an address (normalized) and password, throttled: per known device of the account
/// when the browser is one, else per account (with exponential back-off) and per client
/// address. The account and the browser's device when the password is right; `None` for an
/// unknown address or a wrong password alike.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: String,
    request: &SignInRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(user::Model, Option<known_device::Model>)>, AppError> {
    use crate::identity::devices;

    let client = request.origin.throttle_address;
    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email))
        .one(&state.reader)
        .await?;
    let known = match &found {
        Some(account) => {
            devices::known_device(&state.reader, request.device, account.id, now).await?
        }
        None => None,
    };
    match &known {
        Some(device) => {
            count_password_attempt(&state.db, &known_device_scopes(device.id, client), now).await?
        }
        None => {
            refuse_during_backoff(&state.reader, email, now).await?;
            count_password_attempt(&state.db, &password_scopes(email, client), now).await?
        }
    }
    let stored_hash = found.as_ref().and_then(|u| u.password_hash.clone());
    let verified = verify_password(stored_hash, password).await?;
    Ok(found.filter(|_| verified).map(|account| (account, known)))
}

/// A right password was given for `account` (its address confirmed): failed attempts are
/// forgiven, the browser is remembered as a device, and the account arrives (see
/// [`crate::identity::sign_in::arrive`]). Inside `txn`.
pub async fn complete_password_sign_in(
    txn: &impl ConnectionTrait,
    account: &user::Model,
    known: Option<&known_device::Model>,
    request: SignInRequest<'_>,
    now: DateTime<Utc>,
) -> Result<PasswordSignIn, AppError> {
    use crate::identity::{
        devices,
        sign_in::{arrive, Arrival},
    };

    let client = request.origin.throttle_address;
    forgive_attempts(txn, &account.email_normalized, client, Some(now)).await?;
    if let Some(device) = known {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Scope.eq(format!("device:{}", device.id)))
            .exec(txn)
            .await?;
    }
    let new_device = devices::remember(txn, account.id, known, now).await?;
    let arrival = Arrival {
        user_id: account.id,
        origin: request.origin,
        previous_session: request.previous_session,
        next: request.next,
    };
    Ok(PasswordSignIn {
        step: arrive(txn, arrival, now).await?,
        new_device,
    })
}

/// The login form: an address and password. An account whose address is not confirmed
/// gets the same answer as a wrong password (and, when the password was right, a new
/// verification link): logging in never tells whether an address has an account.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
    request: SignInRequest<'_>,
    now: DateTime<Utc>,
) -> Result<PasswordSignIn, AppError> {
    use sea_orm::TransactionTrait;

    let checked = check_password(state, email, password, &request, now).await?;
    let Some((account, known)) = checked else {
        return Err(AppError::field("password", WRONG_EMAIL_OR_PASSWORD));
    };
    if account.email_verified_at.is_none() {
        crate::identity::address_proofs::resend_quietly(state, &account, now).await?;
        return Err(AppError::field("password", WRONG_EMAIL_OR_PASSWORD));
    }
    let txn = state.db.begin().await?;
    let signed_in = complete_password_sign_in(&txn, &account, known.as_ref(), request, now).await?;
    txn.commit().await?;
    Ok(signed_in)
}

/// A signed-in person's password change, as posted, with where it comes from.
pub struct PasswordChange<'a> {
    pub current_password: String,
    pub new_password: String,
    /// The client as throttles count it.
    pub client: Option<std::net::IpAddr>,
    /// This browser's device cookie: the one known device kept.
    pub device: Option<&'a str>,
}

/// Changes `signed_in`'s password: the current one must be right (throttled as at login);
/// every other session ends, every other known device is forgotten, this session's proof
/// is renewed and the owner is told by email. Wake the mail worker after (done here).
pub async fn change_password(
    state: &AppState,
    signed_in: &crate::server::SignedIn,
    change: PasswordChange<'_>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use super::rules::NewPassword;
    use crate::{error::Validation, server::session};
    use sea_orm::{ActiveModelTrait, Set, TransactionTrait};

    let user = user::Entity::find_by_id(signed_in.user_id)
        .one(&state.reader)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.password_hash.is_none() {
        return Err(AppError::Forbidden(
            "Your account signs in through your organization's identity provider, so it has no password here.".into(),
        ));
    }

    let mut validation = Validation::new();
    if change.current_password.is_empty() {
        validation.add("current_password", "Current password is required.");
    }
    let new_password = validation.check(
        "new_password",
        NewPassword::parse(&change.new_password, Some(&user.name), Some(&user.email)),
    );
    validation.finish()?;
    let Some(new_password) = new_password else {
        return Err(AppError::Internal);
    };

    // Guessing the current password here is throttled like guessing it at login.
    count_password_attempt(
        &state.db,
        &password_scopes(&user.email_normalized, change.client),
        now,
    )
    .await?;
    if !verify_password(user.password_hash.clone(), change.current_password).await? {
        return Err(AppError::field(
            "current_password",
            "Current password is incorrect.",
        ));
    }

    let new_hash = hash_password(new_password.as_str()).await?;
    let txn = state.db.begin().await?;
    // The right current password forgives this attempt, as at login.
    forgive_attempts(&txn, &user.email_normalized, change.client, Some(now)).await?;
    let (email, name) = (user.email.clone(), user.name.clone());
    let mut user: user::ActiveModel = user.into();
    user.password_hash = Set(Some(new_hash));
    user.updated_at = Set(now);
    user.update(&txn).await?;
    // Whoever else held a session (perhaps with the old password) is signed out.
    session::end_others(&txn, signed_in.user_id, signed_in.session_id).await?;
    // Browsers that knew the old password are strangers again, but this one.
    crate::identity::devices::forget_all_but(&txn, signed_in.user_id, change.device).await?;
    // The current password was just proved: a fresh proof for the next sensitive change.
    session::mark_proved(&txn, signed_in.session_id, now).await?;
    // If it was not them, the account's owner hears of it (unless the address had its
    // day's messages).
    let _queued = crate::server::mail::enqueue(
        &txn,
        crate::server::mail::password_changed_email(
            &email,
            &name,
            &state.settings.link("/forgot-password"),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();

    Ok(())
}
