//! Server-only sign-up work: registering, verification links, confirming an address, and
//! accounts that never proved theirs.
//!
//! A sign-up answers a taken address exactly as a new one ("check your email"): nobody
//! learns from the form, or from logging in afterwards, whether an address has an account.
//! The address's holder hears of the attempt by email instead.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::{
    accounts::rules::NewPassword,
    accounts::service::{complete_password_sign_in, PasswordSignIn, SignInRequest},
    error::AppError,
    identity::{
        address_proofs::{queue_verification_email, refuse_verification_resend},
        passwords::hash_password,
        throttles::count_request,
    },
    server::{entities::user, AppState},
};

/// New accounts on this server in 15 minutes, from everywhere.
pub const MAX_SIGNUPS_IN_ALL: u64 = 300;

/// "Someone tried to sign up with your address" emails one address gets in 15 minutes.
const MAX_TAKEN_ADDRESS_NOTICES: u64 = 1;

/// Deletes an account that never proved its address (someone signed up with an address
/// that is not theirs), with what it created: organizations only it owns go; in others its
/// ownership is given up. Its sessions, memberships and links go with it (ON DELETE
/// CASCADE); audit events keep their text without it. Inside the caller's transaction, as
/// its first statement. False when the account was verified meanwhile (nothing changes).
pub async fn delete_unproven_account(
    txn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<bool, DbErr> {
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
        server::entities::{membership, organization},
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

/// A sign-up's validated fields, and the invitation link it came from, if any.
pub struct NewAccount {
    pub name: crate::accounts::rules::PersonName,
    pub email: crate::accounts::rules::EmailAddress,
    pub password: NewPassword,
    /// The token of an invitation link: proof of its address, when the account is for it.
    pub invitation: Option<String>,
    /// A safe local path: where the verification link leads after confirming.
    pub next: String,
}

impl NewAccount {
    /// The sign-up form checked, every field's rule at once (each error names its field).
    pub fn parse(
        name: &str,
        email: &str,
        password: &str,
        invitation: Option<String>,
        next: String,
    ) -> Result<Self, AppError> {
        use crate::{
            accounts::rules::{EmailAddress, PersonName},
            error::Validation,
        };

        let mut validation = Validation::new();
        let name = validation.check("name", PersonName::parse(name));
        let email = validation.check("email", EmailAddress::parse(email));
        let password = validation.check(
            "password",
            NewPassword::parse(
                password,
                name.as_ref().map(PersonName::as_str),
                email.as_ref().map(EmailAddress::as_str),
            ),
        );
        validation.finish()?;
        let (Some(name), Some(email), Some(password)) = (name, email, password) else {
            return Err(AppError::Internal);
        };
        Ok(NewAccount {
            name,
            email,
            password,
            invitation,
            next,
        })
    }
}

/// What a sign-up leads to.
#[derive(Debug)]
pub enum Registered {
    /// An invitation link proved the address: signed in (the new session's token).
    SignedIn(String),
    /// The address gets an email: a verification link for a new account, a notice for
    /// the holder of a taken one. The answer is the same for both.
    CheckEmail,
}

/// Creates an account; the browser's previous session (any account) ends either way. An
/// address at a verified SSO domain is refused (its users sign in at the provider); an
/// account left unverified for a week at the same address is replaced. An invitation link
/// to this address proves it, and the account is signed in. Otherwise the account waits,
/// unverified and signed out, for its verification link; a taken address is answered the
/// same way while its holder is told by email. Wake the mail worker after.
pub async fn register(
    state: &AppState,
    account: NewAccount,
    origin: &crate::server::session::SignInOrigin,
    previous_session: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Registered, AppError> {
    use crate::server::session;
    use sea_orm::{ActiveModelTrait, SqlErr, TransactionTrait};

    let NewAccount {
        name,
        email,
        password,
        invitation,
        next,
    } = account;
    if let Some((connection, _)) =
        crate::identity::routing::connection_for_email(&state.reader, email.as_str()).await?
    {
        return Err(AppError::field(
            "email",
            format!(
                "Accounts at this address sign in through {}. Log in with your email instead.",
                connection.provider_name
            ),
        ));
    }
    let invited = invitation_for(state, invitation.as_deref(), &email, now).await?;
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
    // Hashed whether or not the address is taken: both answers take as long.
    let password_hash = hash_password(password.as_str()).await?;
    let holder = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.normalized()))
        .one(&state.reader)
        .await?;
    // An account that never proved this address within a week does not keep it.
    let (squatted, holder) = match holder {
        Some(stale) if stale.is_stale_unverified(now) => (Some(stale), None),
        holder => (None, holder),
    };

    let txn = state.db.begin().await?;
    // One browser, one account: whatever this browser was signed in as ends here.
    if let Some(previous) = previous_session {
        session::end(&txn, previous).await?;
    }
    if let Some(holder) = holder {
        if invited.is_some() {
            // The invitation link proves this mailbox: its holder may know the account.
            return Err(AppError::field(
                "email",
                "An account with this email already exists. Log in instead.",
            ));
        }
        tell_holder(&txn, state, &holder, now).await?;
        txn.commit().await?;
        return Ok(Registered::CheckEmail);
    }
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
        last_login_at: Set(invited.is_some().then_some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let user = match inserted {
        Ok(user) => user,
        // A parallel sign-up took the address first; it sent the email.
        Err(err)
            if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
                && invited.is_none() =>
        {
            return Ok(Registered::CheckEmail);
        }
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::field(
                "email",
                "An account with this email already exists. Log in instead.",
            ));
        }
        Err(err) => return Err(err.into()),
    };
    if invited.is_none() {
        // Past the address's daily limit nothing is queued; the login form sends another.
        let _queued = queue_verification_email(&txn, state, &user, Some(&next), now).await?;
        txn.commit().await?;
        return Ok(Registered::CheckEmail);
    }
    // The invitation link to this address proved it: the new account arrives at once.
    let arrival = crate::identity::sign_in::Arrival {
        user_id: user.id,
        origin,
        previous_session: None,
        next: None,
    };
    let crate::identity::sign_in::SignInStep::Session(token) =
        crate::identity::sign_in::arrive(&txn, arrival, now).await?
    else {
        return Err(AppError::Forbidden(
            "A new account has no second factor yet.".into(),
        ));
    };
    txn.commit().await?;
    Ok(Registered::SignedIn(token))
}

/// The pending invitation behind `token`, refused when it was sent to another address.
async fn invitation_for(
    state: &AppState,
    token: Option<&str>,
    email: &crate::accounts::rules::EmailAddress,
    now: DateTime<Utc>,
) -> Result<Option<crate::server::entities::invitation::Model>, AppError> {
    use crate::server::{entities::invitation, tokens::hash_token};

    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let invited = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token)))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(&state.reader)
        .await?;
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
    Ok(invited)
}

/// Someone signed up with a taken address. A verified holder is told (at most once in 15
/// minutes), with the ways back in; an unverified one gets a new verification link, within
/// the usual limits. Nothing is said to the person at the form.
async fn tell_holder(
    txn: &impl ConnectionTrait,
    state: &AppState,
    holder: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::server::mail;

    if holder.email_verified_at.is_none() {
        if refuse_verification_resend(txn, holder.id, now)
            .await
            .is_ok()
        {
            let _queued = queue_verification_email(txn, state, holder, None, now).await?;
        }
        return Ok(());
    }
    let scope = format!("signup-taken:{}", holder.email_normalized);
    if count_request(txn, &[(scope, MAX_TAKEN_ADDRESS_NOTICES)], now, "")
        .await
        .is_err()
    {
        return Ok(());
    }
    let _queued = mail::enqueue(
        txn,
        mail::account_exists_email(
            &holder.email,
            &holder.name,
            &state.settings.link("/login"),
            &state.settings.link("/forgot-password"),
        ),
        now,
    )
    .await?;
    Ok(())
}

/// A "confirm my email" press: the link's token, the account's password, and what the
/// browser carries.
pub struct Confirmation<'a> {
    pub token: &'a str,
    pub password: String,
    pub request: SignInRequest<'a>,
}

/// Confirms the address behind a verification link and signs its account in. The password
/// is asked too (throttled as at login): the link alone proves the mailbox, not that its
/// owner made the account, and a confirmed address is what lets the account act.
pub async fn confirm_address(
    state: &AppState,
    confirmation: Confirmation<'_>,
    now: DateTime<Utc>,
) -> Result<PasswordSignIn, AppError> {
    use crate::{accounts::service::check_password, server::entities::email_verification};
    use sea_orm::{sea_query::Expr, TransactionTrait};

    let (link, account) = verification_of(&state.reader, confirmation.token, now).await?;
    let Some((account, known)) = check_password(
        state,
        &account.email_normalized,
        confirmation.password,
        &confirmation.request,
        now,
    )
    .await?
    else {
        return Err(AppError::field("password", "The password is incorrect."));
    };
    let txn = state.db.begin().await?;
    // The link is used up first: of two presses, one goes on.
    take_link(&txn, &link).await?;
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
        .filter(user::Column::Id.eq(account.id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(&txn)
        .await?;
    // One use: this link and any older ones stop working.
    email_verification::Entity::delete_many()
        .filter(email_verification::Column::UserId.eq(account.id))
        .exec(&txn)
        .await?;
    let signed_in =
        complete_password_sign_in(&txn, &account, known.as_ref(), confirmation.request, now)
            .await?;
    txn.commit().await?;
    Ok(signed_in)
}

/// The link behind `token` and its account, or why it cannot be used.
pub async fn verification_of(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<
    (
        crate::server::entities::email_verification::Model,
        user::Model,
    ),
    AppError,
> {
    use crate::server::{entities::email_verification, tokens::hash_token};

    let found = email_verification::Entity::find()
        .filter(email_verification::Column::TokenHash.eq(hash_token(token.trim())))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((link, Some(account))) if link.expires_at > now => Ok((link, account)),
        Some(_) => Err(AppError::Forbidden(
            "This verification link has expired. Log in with your email and password: we send a new link.".into(),
        )),
        None => Err(AppError::Forbidden(
            "This verification link is not valid. It may have been used already or replaced by a newer email.".into(),
        )),
    }
}

/// Deletes the link, as a transaction's first statement; refuses when another request
/// used it first.
pub async fn take_link(
    txn: &impl ConnectionTrait,
    link: &crate::server::entities::email_verification::Model,
) -> Result<(), AppError> {
    use crate::server::entities::email_verification;

    let taken = email_verification::Entity::delete_many()
        .filter(email_verification::Column::Id.eq(link.id))
        .exec(txn)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AppError::Forbidden(
            "This verification link was used already.".into(),
        ));
    }
    Ok(())
}
