//! Server-only two-factor work: authenticator-app codes, recovery codes, the sign-in that
//! waits for its second factor, and step-up (a fresh proof before a sensitive change).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use totp_rs::{Algorithm, Secret, Totp};

use crate::{
    error::AppError,
    server::{
        entities::{
            recovery_code, recovery_code_reveal, totp_authenticator, two_factor_challenge, user,
        },
        secrets::Secrets,
        session,
        tokens::hash_token,
        AppState, SignedIn,
    },
};

/// A sensitive change needs a proof of identity this recent (the sign-in counts).
pub fn step_up_window() -> Duration {
    Duration::minutes(10)
}

/// How many wrong codes a sign-in waiting for its second factor takes before the password
/// must be typed again.
pub const MAX_CHALLENGE_FAILURES: i32 = 5;

/// Consecutive wrong codes at the second step (across sign-ins, after right passwords) after
/// which the step locks until a password reset: the per-window throttle alone lets a
/// thief who has the password guess on forever.
pub const MAX_CONSECUTIVE_CODE_FAILURES: i32 = 20;

/// Second-factor guesses for one account in 15 minutes, from everywhere (a code has a
/// million values; the password was already right, so this is the last line).
pub const MAX_CODE_ATTEMPTS_PER_ACCOUNT: u64 = 10;

/// How many recovery codes a set has.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// New recovery codes can be seen this long after they were made.
fn reveal_lifetime() -> Duration {
    Duration::minutes(15)
}

/// The name authenticator apps show above the code.
const ISSUER: &str = "Orgdesk";

/// The TOTP of `secret` for `account` (RFC 6238: SHA-1, 6 digits, 30 s, one step of drift
/// either way).
fn totp(secret: Vec<u8>, account: &str) -> Result<Totp, AppError> {
    // The otpauth label may not hold a colon.
    let label: String = account.chars().filter(|c| *c != ':').collect();
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(label)
        .build()
        .map_err(|err| {
            tracing::error!(error = %err, "could not build a TOTP");
            AppError::Internal
        })
}

/// Where a user's sealed secret may be opened (a sealed value copied to another row does
/// not open).
fn secret_context(user_id: i32) -> String {
    crate::server::sealed::authenticator_secret_context(user_id)
}

fn reveal_context(user_id: i32) -> String {
    crate::server::sealed::recovery_reveal_context(user_id)
}

/// The user's authenticator app, confirmed or not.
pub async fn authenticator_of(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Option<totp_authenticator::Model>, DbErr> {
    totp_authenticator::Entity::find()
        .filter(totp_authenticator::Column::UserId.eq(user_id))
        .one(db)
        .await
}

/// How long an authenticator app being set up waits for its first code.
fn setup_lifetime() -> Duration {
    Duration::minutes(15)
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

/// What the set-up page shows: the secret as text and the otpauth:// link.
pub struct SetupSecret {
    pub secret_base32: String,
    pub link: String,
}

/// Starts (or restarts) setting up an authenticator app: a new secret, sealed, waiting for
/// its first code. Refused while one is confirmed (turn it off first).
pub async fn begin_setup(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if authenticator_of(db, user_id)
        .await?
        .is_some_and(|app| app.confirmed_at.is_some())
    {
        return Err(AppError::Forbidden(
            "Your authenticator app is already on. Turn it off first to set up another one.".into(),
        ));
    }
    // 160 bits, as RFC 4226 recommends.
    let mut secret = vec![0u8; 20];
    rand::rng().fill(&mut secret[..]);
    let sealed = secrets.seal(&Secret::from(secret).to_base32(), &secret_context(user_id));
    totp_authenticator::Entity::delete_many()
        .filter(totp_authenticator::Column::UserId.eq(user_id))
        .filter(totp_authenticator::Column::ConfirmedAt.is_null())
        .exec(db)
        .await?;
    totp_authenticator::ActiveModel {
        user_id: Set(user_id),
        secret_sealed: Set(sealed),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The TOTP behind a stored authenticator.
fn totp_of(
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
) -> Result<Totp, AppError> {
    let encoded = secrets
        .open(&app.secret_sealed, &secret_context(app.user_id))
        .map_err(|err| {
            tracing::error!(user_id = app.user_id, error = %err, "an authenticator secret does not open");
            AppError::Internal
        })?;
    let secret = Secret::try_from_base32(&encoded).map_err(|_| {
        tracing::error!(
            user_id = app.user_id,
            "an authenticator secret is not base32"
        );
        AppError::Internal
    })?;
    totp(secret.as_bytes().to_vec(), account)
}

/// The set-up page's secret and link for an authenticator still being set up.
pub fn setup_secret(
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
) -> Result<SetupSecret, AppError> {
    let totp = totp_of(secrets, app, account)?;
    Ok(SetupSecret {
        secret_base32: totp.secret().to_base32(),
        link: totp.to_url().map_err(|err| {
            tracing::error!(error = %err, "could not write an otpauth link");
            AppError::Internal
        })?,
    })
}

/// The otpauth:// link as a QR code: an `<svg>` element.
pub fn qr_svg(link: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(link.as_bytes()).map_err(|err| {
        tracing::error!(error = %err, "could not draw a QR code");
        AppError::Internal
    })?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in the page: the XML declaration belongs to standalone files only.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// The digits of a typed code ("123 456" and "123-456" are "123456").
fn code_digits(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Whether `typed` is the app's code for now (one step of drift either way), and it was not
/// accepted before: the step it matched is recorded in the same statement that checks it
/// is newer than the last one accepted, so of two requests with one code one goes on.
pub async fn accept_code(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let digits = code_digits(typed);
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Ok(false);
    }
    let totp = totp_of(secrets, app, account)?;
    let Some(step) = totp.check(&digits, now.timestamp().max(0) as u64) else {
        return Ok(false);
    };
    let step = step as i64;
    let accepted = totp_authenticator::Entity::update_many()
        .col_expr(totp_authenticator::Column::LastUsedStep, Expr::value(step))
        .filter(totp_authenticator::Column::Id.eq(app.id))
        .filter(
            Condition::any()
                .add(totp_authenticator::Column::LastUsedStep.is_null())
                .add(totp_authenticator::Column::LastUsedStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(accepted.rows_affected == 1)
}

/// Confirms an authenticator being set up with its first code. False when the code is not
/// right (or the set-up was replaced meanwhile).
pub async fn confirm_setup(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    app: &totp_authenticator::Model,
    account: &str,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if !accept_code(txn, secrets, app, account, typed, now).await? {
        return Ok(false);
    }
    let confirmed = totp_authenticator::Entity::update_many()
        .col_expr(totp_authenticator::Column::ConfirmedAt, Expr::value(now))
        .filter(totp_authenticator::Column::Id.eq(app.id))
        .filter(totp_authenticator::Column::ConfirmedAt.is_null())
        .exec(txn)
        .await?;
    Ok(confirmed.rows_affected == 1)
}

/// Recovery codes are 16 characters of Crockford's base-32 alphabet (80 bits), written in
/// groups of four: easy to read aloud, no I, L, O or U to mistake.
const RECOVERY_ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn new_recovery_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..16)
        .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed recovery code as it is hashed: lower case, without dashes or spaces, with the
/// letters people mistake for digits read as those digits.
fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect()
}

/// Replaces the user's recovery codes with a new set; returns the codes, which are also kept
/// sealed for the page that shows them once, to `session_id` only.
pub async fn replace_recovery_codes(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    user_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
        .map(|_| new_recovery_code())
        .collect();
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    recovery_code::Entity::insert_many(codes.iter().map(|code| recovery_code::ActiveModel {
        user_id: Set(user_id),
        code_hash: Set(hash_token(&normalize_recovery_code(code))),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec(txn)
    .await?;
    recovery_code_reveal::Entity::delete_by_id(user_id)
        .exec(txn)
        .await?;
    recovery_code_reveal::ActiveModel {
        user_id: Set(user_id),
        codes_sealed: Set(secrets.seal(&codes.join("\n"), &reveal_context(user_id))),
        expires_at: Set(now + reveal_lifetime()),
        session_id: Set(Some(session_id)),
    }
    .insert(txn)
    .await?;
    Ok(codes)
}

/// The user's new recovery codes, while they may still be shown, to the session that made
/// them.
pub async fn revealed_codes(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    user_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, AppError> {
    let Some(reveal) = recovery_code_reveal::Entity::find_by_id(user_id)
        .filter(recovery_code_reveal::Column::ExpiresAt.gt(now))
        .filter(recovery_code_reveal::Column::SessionId.eq(session_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let codes = secrets
        .open(&reveal.codes_sealed, &reveal_context(user_id))
        .map_err(|err| {
            tracing::error!(user_id, error = %err, "revealed recovery codes do not open");
            AppError::Internal
        })?;
    Ok(Some(codes.lines().map(str::to_string).collect()))
}

/// Uses up one of the user's recovery codes; false when it is not one of theirs or was used.
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    user_id: i32,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let normalized = normalize_recovery_code(typed);
    if normalized.len() != 16 {
        return Ok(false);
    }
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash_token(&normalized)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// How many of the user's recovery codes are still unused.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

/// Whether the account's second step is locked (too many wrong codes in a row).
pub fn second_step_locked(account: &user::Model) -> bool {
    account.code_failures >= MAX_CONSECUTIVE_CODE_FAILURES
}

/// Counts a wrong second-step code against the account; returns the count now.
pub async fn count_consecutive_failure(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<i32, DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::CodeFailures,
            Expr::col(user::Column::CodeFailures).add(1),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map_or(0, |account| account.code_failures))
}

/// A right second factor, or a password reset, starts the count again.
pub async fn clear_consecutive_failures(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::CodeFailures, Expr::value(0))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::CodeFailures.ne(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts a wrong code against the sign-in; ends it at the limit. True when it ended.
pub async fn count_wrong_code(
    db: &impl ConnectionTrait,
    challenge: &two_factor_challenge::Model,
) -> Result<bool, DbErr> {
    if challenge.failed_attempts + 1 >= MAX_CHALLENGE_FAILURES {
        two_factor_challenge::Entity::delete_by_id(challenge.id)
            .exec(db)
            .await?;
        return Ok(true);
    }
    two_factor_challenge::Entity::update_many()
        .col_expr(
            two_factor_challenge::Column::FailedAttempts,
            Expr::col(two_factor_challenge::Column::FailedAttempts).add(1),
        )
        .filter(two_factor_challenge::Column::Id.eq(challenge.id))
        .exec(db)
        .await?;
    Ok(false)
}

/// The throttle scope of second-factor guesses on one account.
pub fn code_scopes(user_id: i32) -> Vec<(String, u64)> {
    vec![(format!("2fa:{user_id}"), MAX_CODE_ATTEMPTS_PER_ACCOUNT)]
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
    pub async fn of(db: &impl ConnectionTrait, me: &SignedIn) -> Result<Self, DbErr> {
        use crate::server::entities::passkey;
        Ok(ProofKinds {
            password: me.has_password,
            authenticator: authenticator_of(db, me.user_id)
                .await?
                .is_some_and(|app| app.confirmed_at.is_some()),
            passkey: passkey::Entity::find()
                .filter(passkey::Column::UserId.eq(me.user_id))
                .count(db)
                .await?
                > 0,
        })
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
/// like at login; codes are accepted once.
pub async fn require_recent_proof(
    state: &AppState,
    me: &SignedIn,
    proof: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if recently_proved(me, now) {
        return Ok(());
    }
    let kinds = ProofKinds::of(&state.reader, me).await?;
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
            &password_scopes(&account.email_normalized, crate::server::throttle_address()),
            now,
        )
        .await?;
        proved = verify_password(account.password_hash, proof.to_string()).await?;
        if proved {
            // The right password forgives this attempt, as at login.
            crate::identity::throttles::forgive_attempts(
                &state.db,
                &account.email_normalized,
                crate::server::throttle_address(),
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

/// A right code forgives the account's code guesses before it.
pub async fn forgive_code_guesses(db: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    use crate::server::entities::login_failure;
    let scopes: Vec<String> = code_scopes(user_id)
        .into_iter()
        .map(|(scope, _)| scope)
        .collect();
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Scope.is_in(scopes))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_four_groups_of_four_from_the_alphabet() {
        let code = new_recovery_code();
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(groups.iter().all(|g| g.len() == 4), "{code}");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| RECOVERY_ALPHABET.contains(&b)),
            "{code}"
        );
        assert_ne!(new_recovery_code(), code);
    }

    #[test]
    fn a_recovery_code_reads_the_same_typed_loosely() {
        assert_eq!(
            normalize_recovery_code(" ABCD-efgh 0000-1111 "),
            "abcdefgh00001111"
        );
        assert_eq!(normalize_recovery_code("oOiL"), "0011");
    }

    #[test]
    fn codes_match_their_step_and_one_either_side_only() {
        let totp = totp(vec![7u8; 20], "ann@example.com").unwrap();
        let now = 1_800_000_000u64;
        let step = now / 30;
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let code = totp.generate((now as i64 + offset) as u64).to_string();
            let matched = totp.check(&code, now);
            assert_eq!(matched.is_some(), accepted, "offset {offset}");
            if let Some(matched) = matched {
                assert_eq!(matched as i64, step as i64 + offset / 30);
            }
        }
    }
}
