//! Second factors as an account holds them: what happens when one is added or removed
//! (the one step with its audit, notice and session ending), the mailed **This wasn't me —
//! remove it** link, and wiping every factor when the holder of an account changes.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType,
    QueryFilter, QuerySelect, RelationTrait, Set,
};

use crate::{
    audit::{events::EventKind, service::NewEvent},
    server::{
        entities::{
            factor_revocation, membership, organization, passkey, recovery_code,
            recovery_code_reveal, totp_authenticator, two_factor_challenge, user,
        },
        mail,
        second_factor::has_second_factor_of,
        session,
        tokens::{hash_token, new_token},
        Settings,
    },
};

/// A second factor of an account, as notices and audit events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Factor {
    Authenticator { id: i32 },
    Passkey { id: i32, name: String },
}

impl Factor {
    /// "an authenticator app", "a passkey": what mail subjects say.
    pub fn kind(&self) -> &'static str {
        match self {
            Factor::Authenticator { .. } => "an authenticator app",
            Factor::Passkey { .. } => "a passkey",
        }
    }

    /// "an authenticator app", "a passkey (Work laptop)".
    pub fn described(&self) -> String {
        match self {
            Factor::Authenticator { .. } => "an authenticator app".into(),
            Factor::Passkey { name, .. } => format!("a passkey ({name})"),
        }
    }
}

/// The account whose factors change.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub user_id: i32,
    pub name: &'a str,
    pub email: &'a str,
}

/// How long a **This wasn't me** link works.
pub fn not_me_lifetime() -> Duration {
    Duration::days(7)
}

/// A notice to the holder's address that their second factors changed, saying what to do
/// if it was not them.
pub fn factor_notice(
    settings: &Settings,
    holder: Holder<'_>,
    subject: &str,
    what_happened: &str,
) -> mail::Email {
    mail::plain_notice(
        holder.email,
        subject.to_string(),
        format!(
            "Hello {},\n\n{what_happened}\n\nIf you did this, there is nothing to do. If you did not, reset your password now at {}, which signs out whoever did it.",
            holder.name,
            settings.link("/forgot-password"),
        ),
    )
}

/// What a removal took away, for the audit log and the owner's notice.
pub struct Removal<'a> {
    /// "an authenticator app", "a passkey (Laptop)".
    pub described: &'a str,
    pub subject: &'a str,
    pub what_happened: &'a str,
}

/// The one step after a factor is removed, inside the transaction that removed it: with no
/// factor left the recovery codes go too, every other session of the account ends, the
/// removal is audited and the owner is mailed.
pub async fn factor_removed(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    holder: Holder<'_>,
    removal: Removal<'_>,
    keep_session: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if !has_second_factor(txn, holder.user_id).await? {
        remove_all_factors(txn, holder.user_id).await?;
    }
    session::end_others(txn, holder.user_id, keep_session).await?;
    audit_factor_change(
        txn,
        holder,
        EventKind::FactorRemoved,
        Some(removal.described),
        now,
    )
    .await?;
    let _queued = mail::enqueue(
        txn,
        factor_notice(settings, holder, removal.subject, removal.what_happened),
        now,
    )
    .await?;
    Ok(())
}

/// The one step after a factor is added, inside the transaction that added it: every other
/// session of the account ends, organizations that require two-factor authentication
/// record it, and the owner is mailed what happened with a single-use **This wasn't me**
/// link. It never renews the session's proof: a stolen session that adds a factor gains no
/// step-up window from it.
pub async fn factor_added(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    holder: Holder<'_>,
    factor: &Factor,
    keep_session: i32,
    what_happened: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::end_others(txn, holder.user_id, keep_session).await?;
    audit_factor_change(
        txn,
        holder,
        EventKind::FactorAdded,
        Some(&factor.described()),
        now,
    )
    .await?;
    let token = new_token();
    let (authenticator_id, passkey_id) = match factor {
        Factor::Authenticator { id } => (Some(*id), None),
        Factor::Passkey { id, .. } => (None, Some(*id)),
    };
    factor_revocation::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(holder.user_id),
        authenticator_id: Set(authenticator_id),
        passkey_id: Set(passkey_id),
        created_at: Set(now),
        expires_at: Set(now + not_me_lifetime()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let _queued = mail::enqueue(
        txn,
        mail::factor_added_email(
            holder.email,
            holder.name,
            what_happened,
            factor.kind(),
            &factor.described(),
            &settings.link(&format!("/not-me?token={token}")),
            &settings.link("/forgot-password"),
        ),
        now,
    )
    .await?;
    Ok(())
}

/// The factor a **This wasn't me** link names, with its account, while the link works.
pub async fn revocation_of(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(factor_revocation::Model, user::Model, Factor)>, DbErr> {
    let Some((link, Some(account))) = factor_revocation::Entity::find()
        .filter(factor_revocation::Column::TokenHash.eq(hash_token(token.trim())))
        .filter(factor_revocation::Column::ExpiresAt.gt(now))
        .find_also_related(user::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let factor = match (link.authenticator_id, link.passkey_id) {
        (Some(id), _) => Factor::Authenticator { id },
        (None, Some(id)) => match passkey::Entity::find_by_id(id).one(db).await? {
            Some(key) => Factor::Passkey { id, name: key.name },
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    Ok(Some((link, account, factor)))
}

/// **This wasn't me — remove it**: the link is used up, its factor goes (with the recovery
/// codes when no factor is left), every session and pending sign-in of the account ends,
/// and nobody is signed in. False when the link was used or its factor removed meanwhile.
pub async fn remove_unrecognized_factor(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    link: &factor_revocation::Model,
    account: &user::Model,
    factor: &Factor,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let used = factor_revocation::Entity::delete_many()
        .filter(factor_revocation::Column::Id.eq(link.id))
        .exec(txn)
        .await?;
    if used.rows_affected == 0 {
        return Ok(false);
    }
    let removed = match factor {
        Factor::Authenticator { id } => {
            totp_authenticator::Entity::delete_many()
                .filter(totp_authenticator::Column::Id.eq(*id))
                .filter(totp_authenticator::Column::UserId.eq(account.id))
                .exec(txn)
                .await?
        }
        Factor::Passkey { id, .. } => {
            passkey::Entity::delete_many()
                .filter(passkey::Column::Id.eq(*id))
                .filter(passkey::Column::UserId.eq(account.id))
                .exec(txn)
                .await?
        }
    };
    if removed.rows_affected == 0 {
        return Ok(false);
    }
    if !has_second_factor(txn, account.id).await? {
        remove_all_factors(txn, account.id).await?;
    }
    end_every_sign_in(txn, account.id).await?;
    let holder = Holder {
        user_id: account.id,
        name: &account.name,
        email: &account.email,
    };
    audit_factor_change(
        txn,
        holder,
        EventKind::FactorRemoved,
        Some(&format!(
            "{} (by the owner's \"This wasn't me\" link)",
            factor.described()
        )),
        now,
    )
    .await?;
    let _queued = mail::enqueue(
        txn,
        mail::plain_notice(
            &account.email,
            format!("{} was removed from your Orgdesk account", mail::capitalized(factor.kind())),
            format!(
                "Hello {},\n\nAs you asked, {} was removed from your Orgdesk account ({}) and every session of the account was signed out.\n\nChoose a new password now at {}: whoever added it may know your current one.",
                account.name,
                factor.described(),
                account.email,
                settings.link("/forgot-password"),
            ),
        ),
        now,
    )
    .await?;
    Ok(true)
}

/// Ends every session of the account and every sign-in waiting for its second factor.
pub async fn end_every_sign_in(txn: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    session::end_all(txn, user_id).await?;
    super::devices::forget_all(txn, user_id).await?;
    two_factor_challenge::Entity::delete_many()
        .filter(two_factor_challenge::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Whether the account has a second factor: a confirmed authenticator app or a passkey.
pub async fn has_second_factor(db: &impl ConnectionTrait, user_id: i32) -> Result<bool, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.eq(user_id))
        .filter(has_second_factor_of(
            Expr::col((user::Entity, user::Column::Id)).into(),
        ))
        .one(db)
        .await?
        .is_some())
}

/// Removes the account's authenticator app, its recovery codes and their reveal, and the
/// links that would remove them (passkeys stay: see [`wipe_factors`]).
pub async fn remove_all_factors(txn: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    totp_authenticator::Entity::delete_many()
        .filter(totp_authenticator::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    recovery_code_reveal::Entity::delete_by_id(user_id)
        .exec(txn)
        .await?;
    Ok(())
}

/// Every factor of the account goes: authenticator app, passkeys, recovery codes. For when
/// the account's holder changes or is in doubt (a first proof of the address, an SSO link,
/// staff after an out-of-band check). True when there was one.
pub async fn wipe_factors(txn: &impl ConnectionTrait, user_id: i32) -> Result<bool, DbErr> {
    let had = has_second_factor(txn, user_id).await?;
    passkey::Entity::delete_many()
        .filter(passkey::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    remove_all_factors(txn, user_id).await?;
    factor_revocation::Entity::delete_many()
        .filter(factor_revocation::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    user::Entity::update_many()
        .col_expr(user::Column::CodeFailures, Expr::value(0))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(had)
}

/// Platform staff, after checking who is asking some other way (the person lost every
/// factor, or a stolen session added one and the link expired): every factor of the
/// account goes, every session ends, organizations that require two-factor authentication
/// record it, and the account's address is told. False when the account had no factor.
pub async fn reset_by_staff(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    account: &user::Model,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let had = wipe_factors(txn, account.id).await?;
    end_every_sign_in(txn, account.id).await?;
    for organization_id in organizations_requiring_two_factor(txn, account.id).await? {
        NewEvent::staff(organization_id, EventKind::FactorRemoved)
            .about(&format!("every factor of {}", account.email))
            .record(txn, now)
            .await?;
    }
    let _queued = mail::enqueue(
        txn,
        mail::plain_notice(
            &account.email,
            "The second factors of your Orgdesk account were removed".into(),
            format!(
                "Hello {},\n\nAt a request checked by Orgdesk's platform staff, every second factor of your Orgdesk account ({}) was removed (authenticator app, passkeys and recovery codes) and every session was signed out. Signing in now asks for your password only; add a second factor again in User Settings.\n\nIf you did not ask for this, choose a new password now at {} and contact your platform's support.",
                account.name,
                account.email,
                settings.link("/forgot-password"),
            ),
        ),
        now,
    )
    .await?;
    Ok(had)
}

/// The account's organizations that require two-factor authentication.
async fn organizations_requiring_two_factor(
    txn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<i32>, DbErr> {
    membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .join(
            JoinType::InnerJoin,
            membership::Relation::Organization.def(),
        )
        .filter(membership::Column::UserId.eq(user_id))
        .filter(organization::Column::TwoFactorRequiredAt.is_not_null())
        .into_tuple()
        .all(txn)
        .await
}

/// Records `kind` (a factor added or removed, a recovery code used) in the audit log of each
/// organization of the account that requires two-factor authentication: where it matters.
pub async fn audit_factor_change(
    txn: &impl ConnectionTrait,
    holder: Holder<'_>,
    kind: EventKind,
    subject: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for organization_id in organizations_requiring_two_factor(txn, holder.user_id).await? {
        let mut event = NewEvent::by(organization_id, holder.user_id, holder.name, kind);
        if let Some(subject) = subject {
            event = event.about(subject);
        }
        event.record(txn, now).await?;
    }
    Ok(())
}
