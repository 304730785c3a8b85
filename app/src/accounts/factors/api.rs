//! Two-factor server functions of User Settings: set up and turn off the authenticator app,
//! recovery codes, and "Confirm it's you". (The sign-in step is `second_step.rs`.) Every
//! change answers a plain form post with a redirect, so the pages work without JavaScript.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// User Settings → Two-factor authentication, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorOverview {
    /// RFC 3339: when the authenticator app was turned on, if it is.
    pub authenticator_since: Option<String>,
    pub recovery_codes_left: u64,
    /// The account's passkeys and security keys.
    pub passkeys: Vec<super::passkeys::PasskeyRow>,
    /// Whether a sensitive change needs the proof field (no proof in the last 10 minutes).
    pub needs_proof: bool,
    /// What the proof field asks for.
    pub proof_request: String,
}

/// What a sensitive change asks for while the session has no recent proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRequest {
    /// What the proof field asks for.
    pub text: String,
    /// Whether the account may use a passkey instead.
    pub passkey: bool,
}

/// An authenticator app being set up: what the set-up page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorSetupView {
    /// The secret in base32, in groups of four, for typing into an app.
    pub secret: String,
    /// The otpauth:// link as an `<svg>` QR code, drawn on the server.
    pub qr_svg: String,
    /// The account name the app will show.
    pub account: String,
}

#[server(endpoint = "accounts/two_factor_status")]
pub async fn two_factor_status() -> Result<TwoFactorOverview, AppError> {
    use crate::identity::{
        proofs::{recently_proved, ProofKinds},
        recovery_codes::recovery_codes_left,
    };
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    // The session lookup said which factors the account has: an account without any
    // (most) costs this section no query.
    let passkeys = if me.has_passkey {
        super::passkeys::my_passkeys().await?
    } else {
        Vec::new()
    };
    let kinds = ProofKinds::of(&me);
    let recovery_codes_left = if me.has_second_factor() {
        recovery_codes_left(&state.reader, me.user_id).await?
    } else {
        0
    };
    Ok(TwoFactorOverview {
        authenticator_since: me.authenticator_since.map(|at| at.to_rfc3339()),
        recovery_codes_left,
        passkeys,
        needs_proof: !recently_proved(&me, chrono::Utc::now()),
        proof_request: kinds.request().to_string(),
    })
}

/// What a sensitive change must ask for before it goes ahead: None when the session proved
/// who its holder is in the last 10 minutes, otherwise the request for the proof field.
#[server(endpoint = "accounts/proof_needed")]
pub async fn proof_needed() -> Result<Option<ProofRequest>, AppError> {
    use crate::identity::proofs::{recently_proved, ProofKinds};
    use crate::server::require_signed_in;

    let me = require_signed_in()?;
    if recently_proved(&me, chrono::Utc::now()) {
        return Ok(None);
    }
    let kinds = ProofKinds::of(&me);
    Ok(Some(ProofRequest {
        text: kinds.request().to_string(),
        passkey: kinds.passkey,
    }))
}

/// **Confirm it's you** (the box on pages with security changes): the password or a code
/// renews the session's proof for 10 minutes; then back to `next`.
#[server(endpoint = "accounts/confirm_its_you")]
pub async fn confirm_its_you(
    proof: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    let proof = Some(proof).filter(|p| !p.trim().is_empty());
    crate::identity::proofs::require_recent_proof(
        &state,
        &me,
        proof.as_deref(),
        crate::server::throttle_address(),
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&crate::accounts::rules::safe_next_path(next.as_deref()));
    Ok(())
}

/// **Set up authenticator app**: a new secret waiting for its first code. Adding a factor
/// needs a verified address and a fresh proof (a stolen session alone cannot add one).
#[server(endpoint = "accounts/start_authenticator_setup")]
pub async fn start_authenticator_setup(
    #[server(default)] proof: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    crate::identity::proofs::may_add_factor(&me)?;
    crate::identity::proofs::require_recent_proof(
        &state,
        &me,
        proof.as_deref(),
        crate::server::throttle_address(),
        now,
    )
    .await?;
    // The pending secret is replaced in one transaction: never two, never none.
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    crate::identity::authenticator::begin_setup(&txn, &state.secrets, me.user_id, now).await?;
    txn.commit().await?;
    leptos_axum::redirect("/settings/two-factor/app");
    Ok(())
}

/// The authenticator app being set up (None when none is, or it is already on).
#[server(endpoint = "accounts/authenticator_setup")]
pub async fn authenticator_setup() -> Result<Option<AuthenticatorSetupView>, AppError> {
    use crate::identity::authenticator::{authenticator_of, qr_svg, setup_secret};
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    // Shown only to a session whose proof was fresh when the set-up began.
    let Some(app) = authenticator_of(&state.reader, me.user_id)
        .await?
        .filter(|app| app.confirmed_at.is_none())
        .filter(|app| crate::identity::proofs::began_setup(&me, app, chrono::Utc::now()))
    else {
        return Ok(None);
    };
    let setup = setup_secret(&state.secrets, &app, &me.email)?;
    let secret = setup
        .secret_base32
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Some(AuthenticatorSetupView {
        secret,
        qr_svg: qr_svg(&setup.link)?,
        account: me.email,
    }))
}

/// **Turn on**: the first code from the app confirms it. Other sessions end, a notice with
/// a **This wasn't me** link is mailed, and a first set of recovery codes is made (shown
/// once, next). The session's proof is not renewed by it.
#[server(endpoint = "accounts/confirm_authenticator")]
pub async fn confirm_authenticator(code: String) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    let had_codes = super::authenticator::turn_on(&state, &me, &code, chrono::Utc::now()).await?;
    leptos_axum::redirect(if had_codes {
        "/settings?saved=authenticator-on"
    } else {
        "/settings/two-factor/recovery-codes"
    });
    Ok(())
}

/// **Turn off** the authenticator app (after a fresh proof). Without a passkey left, the
/// recovery codes go too and the account signs in with its password alone again. Other
/// sessions end; a notice is mailed.
#[server(endpoint = "accounts/turn_off_authenticator")]
pub async fn turn_off_authenticator(proof: Option<String>) -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in, throttle_address};

    let me = require_signed_in()?;
    let state = app_state()?;
    super::authenticator::turn_off(
        &state,
        &me,
        proof.as_deref(),
        throttle_address(),
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect("/settings?saved=authenticator-off");
    Ok(())
}

/// **Generate new recovery codes** (after a fresh proof): the old ones stop working, every
/// other session ends, and only this session is shown the new ones.
#[server(endpoint = "accounts/regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(proof: Option<String>) -> Result<(), AppError> {
    use crate::identity::{proofs::require_recent_proof, recovery_codes::replace_recovery_codes};
    use crate::{
        identity::factors::has_second_factor,
        server::{app_state, mail, require_signed_in, session},
    };
    use sea_orm::TransactionTrait;

    let me = require_signed_in()?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    if !has_second_factor(&state.reader, me.user_id).await? {
        return Err(AppError::Forbidden(
            "Recovery codes come with two-factor authentication: set up an authenticator app first.".into(),
        ));
    }
    require_recent_proof(
        &state,
        &me,
        proof.as_deref(),
        crate::server::throttle_address(),
        now,
    )
    .await?;
    let txn = state.db.begin().await?;
    replace_recovery_codes(&txn, &state.secrets, me.user_id, me.session_id, now).await?;
    session::end_others(&txn, me.user_id, me.session_id).await?;
    let _queued = mail::enqueue(
        &txn,
        super::sign_in::factor_notice(
            &state,
            &me,
            "New recovery codes for your Orgdesk account",
            "New recovery codes were made for your Orgdesk account; the earlier ones no longer work. Every other session of the account was signed out.",
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect("/settings/two-factor/recovery-codes");
    Ok(())
}

/// The new recovery codes, while they may be shown (15 minutes, until saved), to the
/// session that made them only.
#[server(endpoint = "accounts/new_recovery_codes")]
pub async fn new_recovery_codes() -> Result<Option<Vec<String>>, AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    crate::identity::recovery_codes::revealed_codes(
        &state.reader,
        &state.secrets,
        me.user_id,
        me.session_id,
        chrono::Utc::now(),
    )
    .await
}

/// **I have saved my recovery codes**: they are not shown again.
#[server(endpoint = "accounts/saved_recovery_codes")]
pub async fn saved_recovery_codes() -> Result<(), AppError> {
    use crate::server::{app_state, entities::recovery_code_reveal, require_signed_in};
    use sea_orm::EntityTrait;

    let me = require_signed_in()?;
    let state = app_state()?;
    recovery_code_reveal::Entity::delete_by_id(me.user_id)
        .exec(&state.db)
        .await?;
    leptos_axum::redirect("/settings?saved=recovery-codes");
    Ok(())
}
