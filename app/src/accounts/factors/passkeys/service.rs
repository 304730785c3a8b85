//! Server-only passkey work: adding one to an account, and signing in with one alone.
//! Takes what it needs as arguments; never reads the request.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::{ceremonies, views::PASSKEY_NAME_MAX_CHARS};
use crate::{
    error::AppError,
    identity::sign_in::{arrive, may_enter, Arrival, SignInStep},
    server::{
        entities::{passkey, user},
        session::SignInOrigin,
        AppState, SignedIn,
    },
};

/// What the browser sends to finish adding a passkey.
pub struct NewPasskey<'a> {
    /// The ceremony's token.
    pub ceremony: &'a str,
    pub name: &'a str,
    /// The new credential, as WebAuthn's JSON.
    pub credential: &'a str,
}

/// The name a passkey is shown by (in the list, emails and the audit log), checked.
fn passkey_name(name: &str) -> Result<String, AppError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::field(
            "passkey_name",
            "Passkey name is required: say which device or key it is.",
        ));
    }
    if name.chars().count() > PASSKEY_NAME_MAX_CHARS {
        return Err(AppError::field(
            "passkey_name",
            format!("Passkey name must be at most {PASSKEY_NAME_MAX_CHARS} characters."),
        ));
    }
    // Shown in emails and the audit log: it must read as what it is.
    crate::accounts::rules::check_shown_name("Passkey name", &name)
        .map_err(|message| AppError::field("passkey_name", message))?;
    Ok(name)
}

/// Checks the browser's new credential and keeps it for `me`. Other sessions end and a
/// notice with a **This wasn't me** link is queued (wake the mail worker after); the
/// account's first factor comes with recovery codes; the session's proof is not renewed.
/// Returns where to go next.
pub async fn add_passkey(
    state: &AppState,
    me: &SignedIn,
    new: NewPasskey<'_>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    use crate::identity::factors::{factor_added, Factor, Holder};
    use crate::identity::{
        proofs::may_add_factor,
        recovery_codes::{recovery_codes_left, replace_recovery_codes},
    };

    may_add_factor(me)?;
    let name = passkey_name(new.name)?;
    let webauthn = ceremonies::webauthn(state)?;
    let answer: webauthn_rs::prelude::RegisterPublicKeyCredential =
        serde_json::from_str(new.credential).map_err(|_| ceremonies::unreadable())?;
    // Used up before it is checked (its own statement, committed): a refused answer does
    // not leave the challenge open for another try.
    let registration: webauthn_rs::prelude::PasskeyRegistration =
        ceremonies::take(&state.db, new.ceremony, Some(me.user_id), "register", now).await?;
    let key = webauthn
        .finish_passkey_registration(&answer, &registration)
        .map_err(ceremonies::refused)?;
    let txn = state.db.begin().await?;
    let inserted = passkey::ActiveModel {
        user_id: Set(me.user_id),
        name: Set(name.clone()),
        credential_id: Set(ceremonies::credential_id_text(key.cred_id())),
        credential: Set(serde_json::to_string(&key).map_err(|_| AppError::Internal)?),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Forbidden("This passkey is already registered.".into())
        }
        _ => err.into(),
    })?;
    let first_codes = recovery_codes_left(&txn, me.user_id).await? == 0;
    if first_codes {
        replace_recovery_codes(&txn, &state.secrets, me.user_id, me.session_id, now).await?;
    }
    factor_added(
        &txn,
        &state.settings,
        Holder {
            user_id: me.user_id,
            name: &me.name,
            email: &me.email,
        },
        &Factor::Passkey {
            id: inserted.id,
            name: name.clone(),
        },
        me.session_id,
        &format!("A passkey named \"{name}\" was added to your Orgdesk account: signing in now accepts it."),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(if first_codes {
        "/settings/two-factor/recovery-codes".into()
    } else {
        "/settings?saved=passkey-added".into()
    })
}

/// **Sign in with a passkey**: the passkey names its account; its signature and the
/// device's user verification stand for both factors. The account arrives through
/// [`arrive`], which ends `previous_session`; returns the new session's token.
pub async fn sign_in_alone(
    state: &AppState,
    ceremony: &str,
    credential: &str,
    origin: &SignInOrigin,
    previous_session: Option<i32>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    use webauthn_rs::prelude::DiscoverableAuthentication;

    let webauthn = ceremonies::webauthn(state)?;
    let answer: webauthn_rs::prelude::PublicKeyCredential =
        serde_json::from_str(credential).map_err(|_| ceremonies::unreadable())?;
    let authentication: DiscoverableAuthentication =
        ceremonies::take(&state.db, ceremony, None, "login", now).await?;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(&answer)
        .map_err(ceremonies::refused)?;
    let not_known = || {
        AppError::Forbidden(
            "This passkey is not registered with Orgdesk. Log in with your email, then add it in User Settings.".into(),
        )
    };
    // The passkey names its account (the handle) and itself; both must be on record.
    let (used, account) = passkey::Entity::find()
        .filter(
            passkey::Column::CredentialId.eq(ceremonies::credential_id_bytes_text(credential_id)),
        )
        .find_also_related(user::Entity)
        .one(&state.reader)
        .await?
        .and_then(|(key, account)| account.map(|account| (key, account)))
        .filter(|(_, account)| {
            account.passkey_handle.as_deref() == Some(handle.to_string().as_str())
        })
        .ok_or_else(not_known)?;
    // Asked before the signature is checked, and again at the door.
    may_enter(&state.reader, &account, origin.method).await?;
    let mut key = ceremonies::parse_passkey(&used)?;
    let result = webauthn
        .finish_discoverable_authentication_v2(&answer, authentication, &key)
        .map_err(ceremonies::refused)?;
    key.update_credential(&result);
    let txn = state.db.begin().await?;
    ceremonies::save_use(&txn, used.id, &key, now).await?;
    // A passkey added before the address was proven may be a squatter's, and an address at
    // an SSO organization's domain comes in through its provider: the door says so.
    let arrival = Arrival {
        user_id: account.id,
        origin,
        previous_session,
        next: None,
    };
    let SignInStep::Session(token) = arrive(&txn, arrival, now).await? else {
        return Err(AppError::Forbidden(
            "A passkey alone signs in with both factors.".into(),
        ));
    };
    txn.commit().await?;
    Ok(token)
}

/// Removes one of `me`'s passkeys after a fresh proof (another account's is "not found",
/// like a made-up one). With no factor left the recovery codes go too; other sessions end,
/// the change is audited and mailed.
pub async fn remove_passkey(
    state: &AppState,
    me: &SignedIn,
    passkey_id: i32,
    proof: Option<&str>,
    client: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::identity::{
        factors::{factor_removed, Removal},
        proofs::require_recent_proof,
    };

    // Only the caller's own: another account's passkey is "not found", like a made-up one.
    let Some(key) = passkey::Entity::find_by_id(passkey_id)
        .filter(passkey::Column::UserId.eq(me.user_id))
        .one(&state.reader)
        .await?
    else {
        return Err(AppError::NotFound(
            "That passkey is not one of yours.".into(),
        ));
    };
    require_recent_proof(state, me, proof, client, now).await?;
    let txn = state.db.begin().await?;
    passkey::Entity::delete_many()
        .filter(passkey::Column::Id.eq(key.id))
        .filter(passkey::Column::UserId.eq(me.user_id))
        .exec(&txn)
        .await?;
    let described = format!("a passkey ({})", key.name);
    let what_happened = format!("The passkey named \"{}\" was removed from your Orgdesk account. Every other session of the account was signed out.", key.name);
    factor_removed(
        &txn,
        &state.settings,
        crate::accounts::factors::authenticator::holder_of(me),
        Removal {
            described: &described,
            subject: "A passkey was removed from your Orgdesk account",
            what_happened: &what_happened,
        },
        me.session_id,
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(())
}
