//! Passkeys and security keys (WebAuthn, through webauthn-rs) as a second factor: User
//! Settings lists them (name, added, last used), adds and removes them; the sign-in step
//! offers one. A ceremony takes two requests: the server's challenge (its state kept in the
//! database for five minutes, so any server process may answer the second), then the
//! browser's answer. The browser half (`passkey_islands.rs`) needs JavaScript; the pages
//! say so when it is off.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The longest passkey name kept.
pub const PASSKEY_NAME_MAX_CHARS: usize = 100;

/// One of the signed-in person's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRow {
    pub id: i32,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A ceremony the browser is to answer: its token (sent back with the answer) and the
/// options for `navigator.credentials` as WebAuthn's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub token: String,
    pub options: String,
}

#[server(endpoint = "accounts/my_passkeys")]
pub async fn my_passkeys() -> Result<Vec<PasskeyRow>, AppError> {
    use crate::server::{app_state, entities::passkey, require_signed_in};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let me = require_signed_in()?;
    let state = app_state()?;
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(me.user_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .all(&state.reader)
        .await?
        .into_iter()
        .map(|key| PasskeyRow {
            id: key.id,
            name: key.name,
            created_at: key.created_at.to_rfc3339(),
            last_used_at: key.last_used_at.map(|at| at.to_rfc3339()),
        })
        .collect())
}

/// The first half of adding a passkey: the options for `navigator.credentials.create`.
/// Adding a factor needs a verified address and a fresh proof.
#[server(endpoint = "accounts/start_passkey_registration")]
pub async fn start_passkey_registration(
    #[server(default)] proof: Option<String>,
) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, entities::passkey, require_signed_in};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let me = require_signed_in()?;
    super::service::may_add_factor(&me)?;
    let state = app_state()?;
    super::service::require_recent_proof(&state, &me, proof.as_deref(), chrono::Utc::now()).await?;
    let webauthn = ceremonies::webauthn(&state)?;
    let handle = ceremonies::user_handle(&state, me.user_id).await?;
    let existing: Vec<webauthn_rs::prelude::CredentialID> = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(me.user_id))
        .all(&state.reader)
        .await?
        .iter()
        .filter_map(|key| ceremonies::parse_passkey(key).ok())
        .map(|key| key.cred_id().clone())
        .collect();
    let (options, registration) = webauthn
        .start_passkey_registration(handle, &me.email, &me.name, Some(existing))
        .map_err(ceremonies::refused)?;
    // Ask for a discoverable credential where the authenticator can make one: the passkey
    // then also signs in on its own (webauthn-rs's checks do not depend on it).
    let mut options = serde_json::to_value(&options).map_err(|_| AppError::Internal)?;
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        selection.insert("residentKey".into(), "preferred".into());
    }
    ceremonies::begin(
        &state,
        Some(me.user_id),
        "register",
        &registration,
        &options,
    )
    .await
}

/// The second half: the browser's new credential, checked and kept under `name`. Other
/// sessions end and a notice with a **This wasn't me** link is mailed; the account's first
/// factor comes with recovery codes; the session's proof is not renewed. Returns where to
/// go next.
#[server(endpoint = "accounts/finish_passkey_registration")]
pub async fn finish_passkey_registration(
    ceremony: String,
    name: String,
    credential: String,
) -> Result<String, AppError> {
    use super::service::{may_add_factor, recovery_codes_left, replace_recovery_codes};
    use crate::{
        identity::factors::{factor_added, Factor, Holder},
        server::{app_state, entities::passkey, require_signed_in},
    };
    use sea_orm::{ActiveModelTrait, Set, TransactionTrait};

    let me = require_signed_in()?;
    may_add_factor(&me)?;
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
    let state = app_state()?;
    let webauthn = ceremonies::webauthn(&state)?;
    let now = chrono::Utc::now();
    let answer: webauthn_rs::prelude::RegisterPublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremonies::unreadable())?;
    // Used up before it is checked (its own statement, committed): a refused answer does
    // not leave the challenge open for another try.
    let registration: webauthn_rs::prelude::PasskeyRegistration =
        ceremonies::take(&state.db, &ceremony, Some(me.user_id), "register", now).await?;
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
    .await;
    let inserted = match inserted {
        Ok(inserted) => inserted,
        Err(err) => {
            return Err(match err.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    AppError::Forbidden("This passkey is already registered.".into())
                }
                _ => err.into(),
            })
        }
    };
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
    state.wake_mail_worker();
    Ok(if first_codes {
        "/settings/two-factor/recovery-codes".into()
    } else {
        "/settings?saved=passkey-added".into()
    })
}

/// **Remove** a passkey (after a fresh proof). Without any factor left, the recovery codes
/// go too. Other sessions end; a notice is mailed.
#[server(endpoint = "accounts/remove_passkey")]
pub async fn remove_passkey(passkey_id: i32, proof: Option<String>) -> Result<(), AppError> {
    use super::service::require_recent_proof;
    use crate::{
        identity::factors::{audit_factor_change, has_second_factor, remove_all_factors, Holder},
        server::{app_state, entities::passkey, mail, require_signed_in, session},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let me = require_signed_in()?;
    let state = app_state()?;
    let now = chrono::Utc::now();
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
    require_recent_proof(&state, &me, proof.as_deref(), now).await?;
    let txn = state.db.begin().await?;
    passkey::Entity::delete_many()
        .filter(passkey::Column::Id.eq(key.id))
        .filter(passkey::Column::UserId.eq(me.user_id))
        .exec(&txn)
        .await?;
    if !has_second_factor(&txn, me.user_id).await? {
        remove_all_factors(&txn, me.user_id).await?;
    }
    session::end_others(&txn, me.user_id, me.session_id).await?;
    audit_factor_change(
        &txn,
        Holder {
            user_id: me.user_id,
            name: &me.name,
            email: &me.email,
        },
        crate::audit::events::EventKind::FactorRemoved,
        Some(&format!("a passkey ({})", key.name)),
        now,
    )
    .await?;
    let _queued = mail::enqueue(
        &txn,
        super::sign_in::factor_notice(
            &state,
            &me,
            "A passkey was removed from your Orgdesk account",
            &format!("The passkey named \"{}\" was removed from your Orgdesk account. Every other session of the account was signed out.", key.name),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect("/settings?saved=passkey-removed");
    Ok(())
}

/// The sign-in step: the options for `navigator.credentials.get`, for the account whose
/// password (or reset link, or SSO sign-in) this browser's sign-in began with.
#[server(endpoint = "accounts/start_passkey_sign_in")]
pub async fn start_passkey_sign_in() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, entities::passkey};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let state = app_state()?;
    let (_, account) = super::sign_in::pending_challenge(&state).await?;
    if account.email_verified_at.is_none() {
        return Err(unverified_passkey());
    }
    let webauthn = ceremonies::webauthn(&state)?;
    let keys: Vec<webauthn_rs::prelude::Passkey> = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(account.id))
        .all(&state.reader)
        .await?
        .iter()
        .filter_map(|key| ceremonies::parse_passkey(key).ok())
        .collect();
    if keys.is_empty() {
        return Err(AppError::Forbidden(
            "This account has no passkey. Use your authenticator app or a recovery code.".into(),
        ));
    }
    let (options, authentication) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(ceremonies::refused)?;
    ceremonies::begin(
        &state,
        Some(account.id),
        "sign_in",
        &authentication,
        &options,
    )
    .await
}

/// The sign-in step's answer: a passkey of the account signed the challenge. Starts the
/// session (as [`super::api::verify_sign_in_code`] does) and returns where to go.
#[server(endpoint = "accounts/finish_passkey_sign_in")]
pub async fn finish_passkey_sign_in(
    ceremony: String,
    credential: String,
) -> Result<String, AppError> {
    use crate::accounts::rules::SecondFactor;
    use sea_orm::TransactionTrait;

    let state = crate::server::app_state()?;
    let now = chrono::Utc::now();
    let (challenge, account) = super::sign_in::pending_challenge(&state).await?;
    let webauthn = ceremonies::webauthn(&state)?;
    let answer: webauthn_rs::prelude::PublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremonies::unreadable())?;
    let authentication: webauthn_rs::prelude::PasskeyAuthentication =
        ceremonies::take(&state.db, &ceremony, Some(account.id), "sign_in", now).await?;
    let result = webauthn
        .finish_passkey_authentication(&answer, &authentication)
        .map_err(ceremonies::refused)?;
    let txn = state.db.begin().await?;
    ceremonies::record_use(&txn, account.id, &result, now).await?;
    super::sign_in::complete_sign_in(
        &state,
        txn,
        &challenge,
        &account,
        SecondFactor::Passkey,
        now,
    )
    .await
}

/// Passkeys sign in only accounts whose address is proven: one added before the proof may be
/// a squatter's (and no passkey can be added before it any more).
#[cfg(feature = "ssr")]
fn unverified_passkey() -> AppError {
    AppError::Forbidden(
        "This account's email address is not verified, so its passkeys cannot sign in. Log in with your email and password.".into(),
    )
}

/// Passkey sign-ins started from one client address in 15 minutes (each keeps a row).
#[cfg(feature = "ssr")]
const PASSKEY_LOGINS_PER_ADDRESS: u64 = 60;

/// **Sign in with a passkey** on the login page: no address or password first; the
/// authenticator offers the passkeys it holds for this site.
#[server(endpoint = "accounts/start_passkey_login")]
pub async fn start_passkey_login() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, throttle_address};

    let state = app_state()?;
    let webauthn = ceremonies::webauthn(&state)?;
    if let Some(address) = throttle_address() {
        crate::identity::throttles::count_request(
            &state.db,
            &[(
                format!("passkey-login-from:{address}"),
                PASSKEY_LOGINS_PER_ADDRESS,
            )],
            chrono::Utc::now(),
            "Too many passkey sign-ins from here. Please wait",
        )
        .await?;
    }
    let (options, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(ceremonies::refused)?;
    ceremonies::begin(&state, None, "login", &authentication, &options).await
}

/// The answer to **Sign in with a passkey**: the passkey names its account; its signature
/// and the device's user verification stand for both factors. Ends this browser's previous
/// session, starts one, and returns where to go (`next`, if safe).
#[server(endpoint = "accounts/finish_passkey_login")]
pub async fn finish_passkey_login(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::{
        accounts::rules::{safe_next_path, SecondFactor, SignInMethod},
        server::{
            app_state, append_response_header,
            entities::{passkey, user},
            session::{self, SignInOrigin},
            viewer,
        },
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
    use webauthn_rs::prelude::DiscoverableAuthentication;

    let state = app_state()?;
    let now = chrono::Utc::now();
    let webauthn = ceremonies::webauthn(&state)?;
    let answer: webauthn_rs::prelude::PublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremonies::unreadable())?;
    let authentication: DiscoverableAuthentication =
        ceremonies::take(&state.db, &ceremony, None, "login", now).await?;
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
    // A passkey added before the address was proven may be a squatter's.
    if account.email_verified_at.is_none() {
        return Err(unverified_passkey());
    }
    // Addresses at an SSO organization's verified domain sign in at its identity provider,
    // which decides who still belongs: a passkey must not go around it.
    if let Some((connection, _)) =
        crate::sso::lookup::connection_for_email(&state.reader, &account.email).await?
    {
        return Err(AppError::Forbidden(format!(
            "Accounts at this address sign in through {}. Log in with your email instead.",
            connection.provider_name
        )));
    }
    let mut key = ceremonies::parse_passkey(&used)?;
    let result = webauthn
        .finish_discoverable_authentication_v2(&answer, authentication, &key)
        .map_err(ceremonies::refused)?;
    key.update_credential(&result);
    let txn = state.db.begin().await?;
    passkey::Entity::update_many()
        .col_expr(
            passkey::Column::Credential,
            Expr::value(serde_json::to_string(&key).map_err(|_| AppError::Internal)?),
        )
        .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
        .filter(passkey::Column::Id.eq(used.id))
        .exec(&txn)
        .await?;
    if let Some(previous) = viewer() {
        session::end(&txn, previous.session_id).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(account.id))
        .exec(&txn)
        .await?;
    let origin =
        SignInOrigin::of_request(SignInMethod::Passkey).with_second_factor(SecondFactor::Passkey);
    let token = session::start(&txn, account.id, &origin).await?;
    txn.commit().await?;
    append_response_header(
        http::header::SET_COOKIE,
        session::cookie_header(&token, state.settings.secure_cookies()),
    );
    Ok(safe_next_path(next.as_deref()))
}

/// **Use a passkey** to confirm it's you (step-up): the options for
/// `navigator.credentials.get`, for the signed-in account's passkeys.
#[server(endpoint = "accounts/start_passkey_proof")]
pub async fn start_passkey_proof() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    let keys = ceremonies::passkeys_of(&state.reader, me.user_id).await?;
    if keys.is_empty() {
        return Err(AppError::Forbidden(
            "Your account has no passkey: confirm with your password or an authenticator code."
                .into(),
        ));
    }
    let (options, authentication) = ceremonies::webauthn(&state)?
        .start_passkey_authentication(&keys)
        .map_err(ceremonies::refused)?;
    // The sign-in step's kind of ceremony (the account's passkey signs a challenge), bound
    // to this account and answered once.
    ceremonies::begin(
        &state,
        Some(me.user_id),
        "sign_in",
        &authentication,
        &options,
    )
    .await
}

/// The answer: one of the account's passkeys signed, with user verification; the
/// session's proof is renewed (as a right password or code renews it).
#[server(endpoint = "accounts/finish_passkey_proof")]
pub async fn finish_passkey_proof(ceremony: String, credential: String) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in, session};
    use sea_orm::TransactionTrait;

    let me = require_signed_in()?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    let answer: webauthn_rs::prelude::PublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremonies::unreadable())?;
    let authentication: webauthn_rs::prelude::PasskeyAuthentication =
        ceremonies::take(&state.db, &ceremony, Some(me.user_id), "sign_in", now).await?;
    let result = ceremonies::webauthn(&state)?
        .finish_passkey_authentication(&answer, &authentication)
        .map_err(ceremonies::refused)?;
    let txn = state.db.begin().await?;
    ceremonies::record_use(&txn, me.user_id, &result, now).await?;
    session::mark_proved(&txn, me.session_id, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Server-side pieces of the ceremonies.
#[cfg(feature = "ssr")]
mod ceremonies {
    use chrono::{DateTime, Duration, Utc};
    use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
    use serde::{de::DeserializeOwned, Serialize};
    use webauthn_rs::prelude::{CredentialID, Passkey, Uuid, Webauthn, WebauthnBuilder};

    use super::PasskeyCeremony;
    use crate::{
        error::AppError,
        server::{
            entities::{passkey, user, webauthn_ceremony},
            tokens::{hash_token, new_token},
            AppState,
        },
    };

    /// How long the browser has to answer.
    fn ceremony_lifetime() -> Duration {
        Duration::minutes(5)
    }

    /// The relying party: the public URL's host is its ID, the public URL its origin.
    pub fn webauthn(state: &AppState) -> Result<Webauthn, AppError> {
        let unavailable = || {
            AppError::Forbidden(
                "Passkeys need Orgdesk to be reached at a domain name (its public URL is an IP address).".into(),
            )
        };
        let origin = url::Url::parse(&state.settings.public_url).map_err(|_| unavailable())?;
        let host = origin.host_str().ok_or_else(unavailable)?.to_string();
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return Err(unavailable());
        }
        WebauthnBuilder::new(&host, &origin)
            .and_then(|builder| builder.rp_name("Orgdesk").build())
            .map_err(|err| {
                tracing::warn!(error = %err, "no WebAuthn relying party for the public URL");
                unavailable()
            })
    }

    /// The account's WebAuthn handle, made at its first passkey.
    pub async fn user_handle(state: &AppState, user_id: i32) -> Result<Uuid, AppError> {
        use sea_orm::sea_query::Expr;
        let account = user::Entity::find_by_id(user_id)
            .one(&state.reader)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if let Some(handle) = account
            .passkey_handle
            .as_deref()
            .and_then(|h| Uuid::parse_str(h).ok())
        {
            return Ok(handle);
        }
        let handle = Uuid::new_v4();
        // Only if still empty: of two first registrations at once, one handle stays.
        user::Entity::update_many()
            .col_expr(user::Column::PasskeyHandle, Expr::value(handle.to_string()))
            .filter(user::Column::Id.eq(user_id))
            .filter(user::Column::PasskeyHandle.is_null())
            .exec(&state.db)
            .await?;
        let stored = user::Entity::find_by_id(user_id)
            .one(&state.db)
            .await?
            .and_then(|u| u.passkey_handle)
            .and_then(|h| Uuid::parse_str(&h).ok())
            .ok_or(AppError::Internal)?;
        Ok(stored)
    }

    /// Keeps the server's half of a ceremony and hands the browser its half.
    pub async fn begin(
        state: &AppState,
        user_id: Option<i32>,
        purpose: &str,
        server_half: &impl Serialize,
        options: &impl Serialize,
    ) -> Result<PasskeyCeremony, AppError> {
        let token = new_token();
        let now = Utc::now();
        // Stale ceremonies go as new ones start.
        webauthn_ceremony::Entity::delete_many()
            .filter(webauthn_ceremony::Column::ExpiresAt.lte(now))
            .exec(&state.db)
            .await?;
        webauthn_ceremony::ActiveModel {
            token_hash: Set(hash_token(&token)),
            user_id: Set(user_id),
            purpose: Set(purpose.to_string()),
            state: Set(serde_json::to_string(server_half).map_err(|_| AppError::Internal)?),
            expires_at: Set(now + ceremony_lifetime()),
            ..Default::default()
        }
        .insert(&state.db)
        .await?;
        Ok(PasskeyCeremony {
            token,
            options: serde_json::to_string(options).map_err(|_| AppError::Internal)?,
        })
    }

    /// Takes (deletes) the user's ceremony behind `token` for `purpose`: of two answers, one
    /// gets it.
    pub async fn take<T: DeserializeOwned>(
        txn: &impl ConnectionTrait,
        token: &str,
        user_id: Option<i32>,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<T, AppError> {
        let expired = || {
            AppError::Forbidden(
                "This passkey request has expired or was already answered. Try again.".into(),
            )
        };
        let found = webauthn_ceremony::Entity::find()
            .filter(webauthn_ceremony::Column::TokenHash.eq(hash_token(token.trim())))
            .filter(match user_id {
                Some(id) => webauthn_ceremony::Column::UserId.eq(id),
                None => webauthn_ceremony::Column::UserId.is_null(),
            })
            .filter(webauthn_ceremony::Column::Purpose.eq(purpose))
            .filter(webauthn_ceremony::Column::ExpiresAt.gt(now))
            .one(txn)
            .await?
            .ok_or_else(expired)?;
        let taken = webauthn_ceremony::Entity::delete_by_id(found.id)
            .exec(txn)
            .await?;
        if taken.rows_affected == 0 {
            return Err(expired());
        }
        serde_json::from_str(&found.state).map_err(|_| AppError::Internal)
    }

    /// The account's passkeys, as webauthn-rs reads them.
    pub async fn passkeys_of(
        db: &impl ConnectionTrait,
        user_id: i32,
    ) -> Result<Vec<Passkey>, AppError> {
        Ok(passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .all(db)
            .await?
            .iter()
            .filter_map(|key| parse_passkey(key).ok())
            .collect())
    }

    /// Keeps a signature's counter and the time of use with the account's key that made it.
    pub async fn record_use(
        txn: &impl ConnectionTrait,
        user_id: i32,
        result: &webauthn_rs::prelude::AuthenticationResult,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        use sea_orm::sea_query::Expr;
        let used = passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .filter(passkey::Column::CredentialId.eq(credential_id_text(result.cred_id())))
            .one(txn)
            .await?
            .ok_or_else(unreadable)?;
        let mut key = parse_passkey(&used)?;
        key.update_credential(result);
        passkey::Entity::update_many()
            .col_expr(
                passkey::Column::Credential,
                Expr::value(serde_json::to_string(&key).map_err(|_| AppError::Internal)?),
            )
            .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
            .filter(passkey::Column::Id.eq(used.id))
            .exec(txn)
            .await?;
        Ok(())
    }

    pub fn parse_passkey(row: &passkey::Model) -> Result<Passkey, AppError> {
        serde_json::from_str(&row.credential).map_err(|_| {
            tracing::error!(passkey_id = row.id, "a stored passkey does not parse");
            AppError::Internal
        })
    }

    /// Raw credential ID bytes as stored (see [`credential_id_text`]).
    pub fn credential_id_bytes_text(id: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
    }

    /// A credential ID as stored: base64url without padding (an assertion names its key
    /// by it; the column is unique).
    pub fn credential_id_text(id: &CredentialID) -> String {
        credential_id_bytes_text(id.as_ref())
    }

    /// What the browser sent is not a WebAuthn answer.
    pub fn unreadable() -> AppError {
        AppError::Forbidden("The browser's passkey answer could not be read. Try again.".into())
    }

    /// webauthn-rs refused the answer (wrong origin, challenge, signature, or key).
    pub fn refused(err: webauthn_rs::prelude::WebauthnError) -> AppError {
        tracing::info!(error = %err, "a passkey answer was refused");
        AppError::Forbidden(
            "The passkey could not be verified. Try again, or use another way.".into(),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn credential_ids_are_stored_as_base64url_without_padding() {
            // Every passkey once got the same empty ID (a JSON array is no string), so the
            // unique column let one passkey exist in all of Orgdesk.
            assert_eq!(credential_id_bytes_text(&[0, 0, 0]), "AAAA");
            assert_eq!(
                credential_id_text(&CredentialID::from(vec![0xfb, 0xff])),
                "-_8"
            );
            assert_ne!(
                credential_id_bytes_text(&[1]),
                credential_id_bytes_text(&[2])
            );
        }
    }
}
