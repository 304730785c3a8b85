//! Step-up: a fresh proof of who holds a session (its sign-in, or the password, an app
//! code or a passkey again) before a sensitive change.

use chrono::{DateTime, Duration, Utc};
use sea_orm::EntityTrait;

use super::{
    authenticator::{accept_code, authenticator_of, code_digits, setup_lifetime},
    code_guesses::{code_scopes, forgive_code_guesses},
};
use crate::server::entities::totp_authenticator;
use crate::{
    error::AppError,
    server::{entities::user, session, AppState, SignedIn},
};

/// A sensitive change needs a proof of identity this recent (the sign-in counts).
pub fn step_up_window() -> Duration {
    Duration::minutes(10)
}

/// Adding a factor needs a proven address: otherwise someone who signed up with another
/// person's address could add one that survives the owner's first password reset.
pub fn may_add_factor(me: &SignedIn) -> Result<(), AppError> {
    if me.email_verified() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Verify your email address first: open the link we sent you, then add a second factor."
                .into(),
        ))
    }
}

/// Whether `me`'s session may see and confirm the authenticator app being set up: its proof
/// was fresh when the set-up began (adding a factor asks for one), and the set-up is recent.
/// Another session of the account, a stolen one among them, may not finish it.
pub fn began_setup(me: &SignedIn, app: &totp_authenticator::Model, now: DateTime<Utc>) -> bool {
    app.created_at - me.proved_at <= step_up_window() && now - app.created_at <= setup_lifetime()
}

/// Whether the session proved who its holder is recently enough for a sensitive change.
pub fn recently_proved(me: &SignedIn, now: DateTime<Utc>) -> bool {
    now - me.proved_at <= step_up_window()
}

/// Before an organization's security change (single sign-on, domains, its two-factor
/// rules, making someone an owner): the session must have proved who its holder is in the
/// last 10 minutes, through the "Confirm it's you" box these pages show. A stolen session
/// alone changes none of them.
pub fn require_fresh_proof(me: &SignedIn, now: DateTime<Utc>) -> Result<(), AppError> {
    if recently_proved(me, now) {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "This is a security change: confirm it's you first (the \"Confirm it's you\" box at the top of the page), then try again within 10 minutes.".into(),
    ))
}

/// What a person can prove themselves with again (step-up).
pub struct ProofKinds {
    pub password: bool,
    pub authenticator: bool,
    /// One of the account's passkeys (a signed challenge, `finish_passkey_proof`).
    pub passkey: bool,
}

impl ProofKinds {
    /// From what the session lookup read about the account: no query of its own.
    pub fn of(me: &SignedIn) -> Self {
        ProofKinds {
            password: me.has_password,
            authenticator: me.authenticator_since.is_some(),
            passkey: me.has_passkey,
        }
    }

    /// What the proof field asks for.
    pub fn request(&self) -> &'static str {
        match (self.password, self.authenticator, self.passkey) {
            (true, true, true) => "Confirm it's you: enter your password or a code from your authenticator app, or use a passkey.",
            (true, true, false) => "Confirm it's you: enter your password or a code from your authenticator app.",
            (true, false, true) => "Confirm it's you: enter your password, or use a passkey.",
            (true, false, false) => "Confirm it's you: enter your password.",
            (false, true, true) => "Confirm it's you: enter a code from your authenticator app, or use a passkey.",
            (false, true, false) => "Confirm it's you: enter a code from your authenticator app.",
            (false, false, true) => "Confirm it's you: use a passkey.",
            (false, false, false) => "Confirm it's you: log out and sign in again through your identity provider, then try again within 10 minutes.",
        }
    }
}

/// Before a sensitive change: passes when the session proved who its holder is within the
/// last 10 minutes; otherwise `proof` (the password, or a code from the authenticator app)
/// must be right, which renews the session's proof. Password guesses here are throttled
/// like at login (per account and per `client`, the throttle address); codes are accepted
/// once.
pub async fn require_recent_proof(
    state: &AppState,
    me: &SignedIn,
    proof: Option<&str>,
    client: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if recently_proved(me, now) {
        return Ok(());
    }
    let kinds = ProofKinds::of(me);
    let proof = proof.map(str::trim).unwrap_or_default();
    if proof.is_empty() {
        return Err(AppError::field("proof", kinds.request()));
    }
    let mut proved = false;
    if kinds.authenticator {
        let digits = code_digits(proof);
        if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            crate::identity::throttles::count_request(
                &state.db,
                &code_scopes(me.user_id),
                now,
                "Too many wrong codes. Please wait",
            )
            .await?;
            if let Some(app) = authenticator_of(&state.reader, me.user_id).await? {
                proved =
                    accept_code(&state.db, &state.secrets, &app, &me.email, proof, now).await?;
            }
        }
    }
    if !proved && kinds.password {
        use crate::identity::{
            passwords::verify_password,
            throttles::{count_password_attempt, password_scopes},
        };
        let account = user::Entity::find_by_id(me.user_id)
            .one(&state.reader)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        count_password_attempt(
            &state.db,
            &password_scopes(&account.email_normalized, client),
            now,
        )
        .await?;
        proved = verify_password(account.password_hash, proof.to_string()).await?;
        if proved {
            // The right password forgives this attempt, as at login.
            crate::identity::throttles::forgive_attempts(
                &state.db,
                &account.email_normalized,
                client,
                Some(now),
            )
            .await?;
        }
    }
    if !proved {
        return Err(AppError::field(
            "proof",
            match (kinds.password, kinds.authenticator) {
                (true, true) => {
                    "That is not your password or a current code from your authenticator app."
                }
                (true, false) => "That is not your password.",
                _ => "That is not a current code from your authenticator app.",
            },
        ));
    }
    forgive_code_guesses(&state.db, me.user_id).await?;
    session::mark_proved(&state.db, me.session_id, now).await?;
    Ok(())
}
