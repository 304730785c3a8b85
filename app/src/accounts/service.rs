//! Server-only account work: registering, signing in with a password, verification links
//! and unproven accounts. Hashing and throttles are identity's (`crate::identity`).

pub use crate::identity::{
    passwords::{hash_password, verify_password},
    throttles::*,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::rules::NewPassword;
use crate::{error::AppError, server::entities::login_failure};

/// Issues a "verify your email" link for `account` and queues the email, inside `txn`.
pub async fn queue_verification_email(
    txn: &impl ConnectionTrait,
    state: &crate::server::AppState,
    account: &crate::server::entities::user::Model,
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
    let link = state.settings.link(&format!("/verify-email?token={token}"));
    mail::enqueue(
        txn,
        mail::verification_email(&account.email, &account.name, &link),
        now,
    )
    .await
}

/// Deletes an account that never proved its address (someone signed up with an address
/// that is not theirs), with what it created: organizations only it owns go; in others its
/// ownership is given up. Its sessions, memberships and links go with it (ON DELETE
/// CASCADE); audit events keep their text without it. Inside the caller's transaction, as
/// its first statement. False when the account was verified meanwhile (nothing changes).
pub async fn delete_unproven_account(
    txn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<bool, DbErr> {
    use crate::server::entities::user;

    // First a write (SQLite cannot turn a reading transaction into a writing one under
    // contention), which also makes sure the account is still unverified.
    let still_unproven = user::Entity::update_many()
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(txn)
        .await?;
    if still_unproven.rows_affected == 0 {
        return Ok(false);
    }
    release_owned_organizations(txn, user_id).await?;
    user::Entity::delete_by_id(user_id).exec(txn).await?;
    Ok(true)
}

/// The account's first proof of its address (a reset link, an SSO link) arrived: whoever
/// held it before may have been someone else with that address, so everything the
/// unproven holder made goes first (factors, passkeys, recovery codes, sessions, pending
/// sign-ins, the organizations only it owns; its ownership of others). The account itself
/// stays, now its proven owner's. Call inside the transaction that records the proof.
pub async fn release_unproven_holdings(
    txn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<(), DbErr> {
    use crate::identity::factors::{end_every_sign_in, wipe_factors};

    wipe_factors(txn, user_id).await?;
    end_every_sign_in(txn, user_id).await?;
    release_owned_organizations(txn, user_id).await
}

/// The account's ownerships end: an organization it alone owns goes, with its memberships;
/// others it leaves, and its pending invitations there are revoked.
async fn release_owned_organizations(
    txn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<(), DbErr> {
    use crate::{
        members::memberships::{release_memberships_of, void_invitations_beyond},
        members::roles::Role,
        server::entities::{membership, organization, user},
        server::locks::{change_owner_count, lock_organization},
    };

    let owned = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .all(txn)
        .await?;
    for owned in owned {
        lock_organization(txn, owned.organization_id).await?;
        if !change_owner_count(txn, owned.organization_id, -1).await? {
            // Its only owner: the organization goes too.
            release_memberships_of(txn, owned.organization_id).await?;
            organization::Entity::delete_by_id(owned.organization_id)
                .exec(txn)
                .await?;
        } else {
            membership::Entity::delete_by_id(owned.id).exec(txn).await?;
            user::Entity::update_many()
                .col_expr(
                    user::Column::MembershipCount,
                    sea_orm::sea_query::Expr::col(user::Column::MembershipCount).sub(1),
                )
                .filter(user::Column::Id.eq(user_id))
                .exec(txn)
                .await?;
            void_invitations_beyond(txn, owned.organization_id, user_id, None, Utc::now()).await?;
        }
    }
    Ok(())
}

/// New accounts on this server in 15 minutes, from everywhere.
pub const MAX_SIGNUPS_IN_ALL: u64 = 300;

/// A sign-up's validated fields, and the invitation link it came from, if any.
pub struct NewAccount {
    pub name: super::rules::PersonName,
    pub email: super::rules::EmailAddress,
    pub password: NewPassword,
    /// The token of an invitation link: proof of its address, when the account is for it.
    pub invitation: Option<String>,
}

/// Creates an account and its first session; returns the session's token. An address at
/// a verified SSO domain is refused (its users sign in at the provider); an account left
/// unverified for a week at the same address is replaced; an invitation link to this
/// address counts as proof of it, otherwise a verification email is queued (wake the mail
/// worker after).
pub async fn register(
    state: &crate::server::AppState,
    account: NewAccount,
    origin: &crate::server::session::SignInOrigin,
    previous_session: Option<i32>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    use crate::server::{
        entities::{invitation, user},
        session,
        tokens::hash_token,
    };
    use sea_orm::{ActiveModelTrait, SqlErr, TransactionTrait};

    let NewAccount {
        name,
        email,
        password,
        invitation: invitation_token,
    } = account;
    if let Some((connection, _)) =
        crate::sso::lookup::connection_for_email(&state.reader, email.as_str()).await?
    {
        return Err(AppError::field(
            "email",
            format!(
                "Accounts at this address sign in through {}. Log in with your email instead.",
                connection.provider_name
            ),
        ));
    }
    let invited = match invitation_token.as_deref().map(str::trim) {
        Some(token) => {
            invitation::Entity::find()
                .filter(invitation::Column::TokenHash.eq(hash_token(token)))
                .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
                .filter(invitation::Column::ExpiresAt.gt(now))
                .one(&state.reader)
                .await?
        }
        None => None,
    };
    if let Some(invite) = &invited {
        if invite.email_normalized != email.normalized() {
            return Err(AppError::field(
                "email",
                format!(
                    "This invitation was sent to {}. Create the account with that address.",
                    invite.email
                ),
            ));
        }
    }
    // New accounts are rate-limited per client address and in all (a flood of sign-ups is
    // a flood of hashes and of verification emails to strangers).
    let mut scopes = vec![("signup:all".to_string(), MAX_SIGNUPS_IN_ALL)];
    if let Some(client) = origin.throttle_address {
        scopes.push((
            format!("signup-from:{client}"),
            state.settings.signups_per_address,
        ));
    }
    count_request(
        &state.db,
        &scopes,
        now,
        "Too many new accounts were created recently. Please wait",
    )
    .await?;
    let password_hash = hash_password(password.as_str()).await?;
    // An account that never proved this address within a week does not keep it.
    let squatted = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.normalized()))
        .one(&state.reader)
        .await?
        .filter(|existing| existing.is_stale_unverified(now));
    let txn = state.db.begin().await?;
    if let Some(squatted) = squatted {
        if delete_unproven_account(&txn, squatted.id).await? {
            tracing::info!(
                user_id = squatted.id,
                "a new sign-up replaced an account left unverified"
            );
        }
    }
    let inserted = user::ActiveModel {
        name: Set(name.as_str().to_owned()),
        email: Set(email.as_str().to_owned()),
        email_normalized: Set(email.normalized()),
        password_hash: Set(Some(password_hash)),
        email_verified_at: Set(invited.is_some().then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let user = match inserted {
        Ok(user) => user,
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::field(
                "email",
                "An account with this email already exists. Log in instead.",
            ));
        }
        Err(err) => return Err(err.into()),
    };
    if invited.is_none() {
        // Past the address's daily limit the account still starts; Resend works tomorrow.
        let _queued = queue_verification_email(&txn, state, &user, now).await?;
    }
    // This browser's earlier session (another account) ends: one browser, one account.
    if let Some(previous) = previous_session {
        session::end(&txn, previous).await?;
    }
    let token = session::start(&txn, user.id, origin).await?;
    txn.commit().await?;
    Ok(token)
}

/// Where a right password leads.
pub enum SignInStep {
    /// Signed in: the new session's token.
    Session(String),
    /// The account has a second factor: the token of the sign-in waiting for it.
    SecondFactor(String),
}

/// A password sign-in as the login form sends it, with what the browser carries.
pub struct PasswordAttempt<'a> {
    /// Normalized.
    pub email: &'a str,
    pub password: String,
    /// This browser's device cookie, if any.
    pub device: Option<&'a str>,
    /// This browser's session, which a new one ends.
    pub previous_session: Option<i32>,
    /// Where to go after the second factor, if one is asked.
    pub next: Option<String>,
}

/// A right password's outcome, and the device cookie to set when the browser just became
/// one of the account's known devices.
pub struct PasswordSignIn {
    pub step: SignInStep,
    pub new_device: Option<String>,
}

/// Checks an address and password, throttled: per known device of the account when the
/// browser is one, else per account (with exponential back-off) and per client address;
/// one answer for an unknown address and a wrong password. Without a second factor it
/// starts a session, ending this browser's previous one; with one, the sign-in waits for it.
pub async fn authenticate(
    state: &crate::server::AppState,
    attempt: PasswordAttempt<'_>,
    origin: &crate::server::session::SignInOrigin,
    now: DateTime<Utc>,
) -> Result<PasswordSignIn, AppError> {
    use super::two_factor::service::start_challenge;
    use crate::identity::{devices, factors::has_second_factor};
    use crate::server::{entities::user, session};
    use sea_orm::{sea_query::Expr, TransactionTrait};

    let email = attempt.email;
    let client = origin.throttle_address;
    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email))
        .one(&state.reader)
        .await?;
    let known = match &found {
        Some(account) => {
            devices::known_device(&state.reader, attempt.device, account.id, now).await?
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
    let verified = verify_password(stored_hash, attempt.password).await?;
    let user = match found {
        Some(user) if verified => user,
        // One message for both cases: it must not reveal which accounts exist.
        _ => {
            return Err(AppError::field(
                "password",
                "The email or password is incorrect.",
            ))
        }
    };

    let txn = state.db.begin().await?;
    forgive_attempts(&txn, email, client, Some(now)).await?;
    if let Some(device) = &known {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Scope.eq(format!("device:{}", device.id)))
            .exec(&txn)
            .await?;
    }
    let new_device = devices::remember(&txn, user.id, known.as_ref(), now).await?;
    if has_second_factor(&txn, user.id).await? {
        let token = start_challenge(&txn, user.id, origin.method, attempt.next, now).await?;
        txn.commit().await?;
        return Ok(PasswordSignIn {
            step: SignInStep::SecondFactor(token),
            new_device,
        });
    }
    // A fresh session at every login; the one this browser had before (if any) ends.
    if let Some(previous) = attempt.previous_session {
        session::end(&txn, previous).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let token = session::start(&txn, user.id, origin).await?;
    txn.commit().await?;
    Ok(PasswordSignIn {
        step: SignInStep::Session(token),
        new_device,
    })
}
