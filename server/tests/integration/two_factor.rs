//! Two-factor authentication through the real router and database: an authenticator app set
//! up from the page's own secret, codes computed here from it, recovery codes, and step-up.
//! Written as the attacks it must withstand: a stolen password, a replayed or guessed code,
//! a reset link, parallel requests, a copied database.

use crate::common::{spawn_app, Call, Reply, TestApp, PASSWORD};
use app::server::entities::{mail_outbox, recovery_code, session, totp_authenticator};
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use totp_rs::{Algorithm, Secret, Totp};

const CHALLENGE_COOKIE: &str = "orgdesk_2fa";

/// The code an authenticator app with `secret` shows at `now + offset_seconds`.
pub(crate) fn code_at(secret: &str, offset_seconds: i64) -> String {
    let bytes = Secret::try_from_base32(secret.replace(' ', ""))
        .expect("the page shows base32")
        .as_bytes()
        .to_vec();
    let totp: Totp = totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(bytes)
        .build()
        .unwrap();
    totp.generate((Utc::now().timestamp() + offset_seconds) as u64)
        .to_string()
}

/// The text between `start` and the next `<` in `html`.
pub(crate) fn text_after<'a>(html: &'a str, start: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let rest = &html[from..];
    let value_start = rest.find('>')? + 1;
    let rest = &rest[value_start..];
    Some(&rest[..rest.find('<')?])
}

/// The value of the cookie `name` a reply sets.
pub(crate) fn cookie_set(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|line| line.starts_with(&format!("{name}=")))
        .map(|line| line.split(';').next().unwrap()[name.len() + 1..].to_string())
}

/// Starts setting up an authenticator app as `session`'s user; returns the secret the page
/// shows.
pub(crate) async fn begin_setup(app: &TestApp, session: &str) -> String {
    let started = app
        .send(Call::post("/api/accounts/start_authenticator_setup", &[]).session(session))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert_eq!(started.location(), Some("/settings/two-factor/app"));
    let page = app.get("/settings/two-factor/app", Some(session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Set up authenticator app"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<svg"),
        "the QR code is drawn on the page"
    );
    text_after(&page.body, "class=\"secret-key\"")
        .expect("the secret is shown as text")
        .to_string()
}

/// A verified user with an authenticator app on; returns (session, secret, recovery codes).
pub(crate) async fn user_with_app(
    app: &TestApp,
    name: &str,
    email: &str,
) -> (String, String, Vec<String>) {
    let session = app.sign_up(name, email).await;
    let secret = begin_setup(app, &session).await;
    let confirmed = confirm(app, &session, &code_at(&secret, 0)).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(
        confirmed.location(),
        Some("/settings/two-factor/recovery-codes")
    );
    let codes = shown_recovery_codes(app, &session).await;
    (session, secret, codes)
}

pub(crate) async fn confirm(app: &TestApp, session: &str, code: &str) -> Reply {
    app.send(Call::post("/api/accounts/confirm_authenticator", &[("code", code)]).session(session))
        .await
}

/// The codes the recovery-codes page shows.
pub(crate) async fn shown_recovery_codes(app: &TestApp, session: &str) -> Vec<String> {
    let page = app
        .get("/settings/two-factor/recovery-codes", Some(session))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_string())
        .collect()
}

/// Logs in with the password; returns the reply (the challenge cookie, not a session).
pub(crate) async fn password_step(app: &TestApp, email: &str) -> Reply {
    let reply = app.log_in(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
}

pub(crate) async fn challenge_of(app: &TestApp, email: &str) -> String {
    let reply = password_step(app, email).await;
    assert_eq!(reply.location(), Some("/login/two-factor"));
    assert!(
        reply.session_cookie().is_none(),
        "no session before the second factor"
    );
    cookie_set(&reply, CHALLENGE_COOKIE).expect("a challenge cookie")
}

async fn second_step(
    app: &TestApp,
    challenge: &str,
    endpoint: &str,
    field: &str,
    code: &str,
) -> Reply {
    app.send(
        Call::post(endpoint, &[(field, code)])
            .header("cookie", &format!("{CHALLENGE_COOKIE}={challenge}")),
    )
    .await
}

pub(crate) async fn with_code(app: &TestApp, challenge: &str, code: &str) -> Reply {
    second_step(
        app,
        challenge,
        "/api/accounts/verify_sign_in_code",
        "code",
        code,
    )
    .await
}

async fn with_recovery_code(app: &TestApp, challenge: &str, code: &str) -> Reply {
    second_step(
        app,
        challenge,
        "/api/accounts/use_recovery_code",
        "recovery_code",
        code,
    )
    .await
}

pub(crate) async fn subjects_to(app: &TestApp, email: &str) -> Vec<String> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(email))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect()
}

/// Moves the session's last proof of identity `minutes` into the past.
pub(crate) async fn age_proof(app: &TestApp, session_token: &str, minutes: i64) {
    use app::server::tokens::hash_token;
    let past = Utc::now() - Duration::minutes(minutes);
    session::Entity::update_many()
        .col_expr(session::Column::ProvedAt, Expr::value(past))
        .col_expr(session::Column::CreatedAt, Expr::value(past))
        .filter(session::Column::TokenHash.eq(hash_token(session_token)))
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_app_is_on_after_its_first_code_and_sign_in_then_asks_for_a_code() {
    let app = spawn_app().await;
    let session = app.sign_up("Ada", "ada@example.com").await;
    let secret = begin_setup(&app, &session).await;
    // A wrong first code changes nothing.
    let wrong = confirm(&app, &session, "000000").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.field_error("code").contains("not right"));
    let empty = confirm(&app, &session, " ").await;
    assert!(empty.field_error("code").contains("required"));
    let log_in = password_step(&app, "ada@example.com").await;
    assert!(
        log_in.session_cookie().is_some(),
        "an unconfirmed app does not count yet"
    );

    let right = confirm(&app, &session, &code_at(&secret, 0)).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    let codes = shown_recovery_codes(&app, &session).await;
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(subjects_to(&app, "ada@example.com")
        .await
        .contains(&"An authenticator app was added to your Orgdesk account".to_string()));
    // Turning it on signed out the session that logged in above; this one stays.
    assert_eq!(
        app.get("/settings", Some(&session)).await.status,
        StatusCode::OK
    );
    let other = log_in.session_cookie().unwrap();
    assert_ne!(
        app.get("/settings", Some(&other)).await.status,
        StatusCode::OK,
        "other sessions end when a factor is added"
    );

    // The password alone no longer signs in.
    let challenge = challenge_of(&app, "ada@example.com").await;
    let page = app
        .get_with_cookies(
            "/login/two-factor",
            &format!("{CHALLENGE_COOKIE}={challenge}"),
        )
        .await;
    assert!(page.body.contains("Signing in as"), "{}", page.body);
    assert!(page.body.contains("ada@example.com"));
    // The next step's code (the app's clock a little ahead) signs in.
    let signed_in = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(signed_in.location(), Some("/"));
    let new_session = signed_in.session_cookie().expect("a session");
    assert_eq!(
        cookie_set(&signed_in, CHALLENGE_COOKIE).as_deref(),
        Some("")
    );
    let row = session::Entity::find()
        .filter(session::Column::TokenHash.eq(app::server::tokens::hash_token(&new_session)))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.second_factor,
        Some(app::accounts::rules::SecondFactor::Totp)
    );
    let settings = app.get("/settings", Some(&new_session)).await;
    assert!(
        settings.body.contains("Password + authenticator app"),
        "the Sessions list says how the session signed in"
    );
    // The challenge was used up.
    let again = with_code(&app, &challenge, &code_at(&secret, 0)).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
}

#[tokio::test]
async fn a_code_works_once_and_only_one_step_either_side_of_now() {
    let app = spawn_app().await;
    let (_, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let challenge = challenge_of(&app, "ada@example.com").await;
    // The code that confirmed the app (this step's) was used: replaying it fails.
    let replayed = with_code(&app, &challenge, &code_at(&secret, 0)).await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Two steps away either side is too far.
    for offset in [-60, 60, 90] {
        let far = with_code(&app, &challenge, &code_at(&secret, offset)).await;
        assert_eq!(
            far.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "offset {offset}: {}",
            far.body
        );
    }
    let next = code_at(&secret, 30);
    assert_eq!(
        with_code(&app, &challenge, &next).await.status,
        StatusCode::OK
    );
    // Once accepted, the same code does not sign in a second time.
    let second = challenge_of(&app, "ada@example.com").await;
    let reused = with_code(&app, &second, &next).await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reused.body
    );
}

#[tokio::test]
async fn of_parallel_second_steps_one_signs_in() {
    let app = spawn_app().await;
    let (_, secret, codes) = user_with_app(&app, "Ada", "ada@example.com").await;
    let challenge = challenge_of(&app, "ada@example.com").await;
    let next = code_at(&secret, 30);
    let (a, b) = tokio::join!(
        with_code(&app, &challenge, &next),
        with_recovery_code(&app, &challenge, &codes[0]),
    );
    let signed_in = [&a, &b]
        .iter()
        .filter(|r| r.session_cookie().is_some_and(|c| !c.is_empty()))
        .count();
    assert_eq!(signed_in, 1, "{} / {}", a.body, b.body);
}

#[tokio::test]
async fn five_wrong_codes_end_the_sign_in_and_ten_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    let (_, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let challenge = challenge_of(&app, "ada@example.com").await;
    for _ in 0..4 {
        let wrong = with_code(&app, &challenge, "123456").await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            wrong.body
        );
    }
    let fifth = with_code(&app, &challenge, "123456").await;
    assert_eq!(fifth.status, StatusCode::FORBIDDEN, "{}", fifth.body);
    assert!(fifth.body.contains("Log in again"));
    // The sign-in is over: even the right code does not finish it.
    let late = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(late.status, StatusCode::FORBIDDEN);

    // A new sign-in (the password again) gets five more: ten guesses, the account's limit in
    // 15 minutes, after which even the right code is refused.
    let challenge = challenge_of(&app, "ada@example.com").await;
    for _ in 0..5 {
        with_code(&app, &challenge, "654321").await;
    }
    let challenge = challenge_of(&app, "ada@example.com").await;
    let locked = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_mails_a_notice() {
    let app = spawn_app().await;
    let (_, _, codes) = user_with_app(&app, "Ada", "ada@example.com").await;
    let challenge = challenge_of(&app, "ada@example.com").await;
    let wrong = with_recovery_code(&app, &challenge, "aaaa-bbbb-cccc-dddd").await;
    assert!(wrong.field_error("recovery_code").contains("not right"));
    // Typed loosely: upper case, spaces instead of dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let signed_in = with_recovery_code(&app, &challenge, &typed).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert!(signed_in.session_cookie().is_some());
    assert!(subjects_to(&app, "ada@example.com")
        .await
        .contains(&"A recovery code was used to sign in to your Orgdesk account".to_string()));
    let challenge = challenge_of(&app, "ada@example.com").await;
    let reused = with_recovery_code(&app, &challenge, &codes[3]).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        with_recovery_code(&app, &challenge, &codes[4]).await.status,
        StatusCode::OK
    );
    let left = recovery_code::Entity::find()
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 8);
}

#[tokio::test]
async fn recovery_codes_are_shown_once_and_stored_only_hashed_and_the_secret_sealed() {
    let app = spawn_app().await;
    let (session, secret, codes) = user_with_app(&app, "Ada", "ada@example.com").await;
    let file = app
        .get(
            "/settings/two-factor/recovery-codes/download",
            Some(&session),
        )
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers[header::CACHE_CONTROL], "no-store");
    assert!(codes.iter().all(|code| file.body.contains(code.as_str())));
    let saved = app
        .send(Call::post("/api/accounts/saved_recovery_codes", &[]).session(&session))
        .await;
    assert_eq!(saved.location(), Some("/settings?saved=recovery-codes"));
    assert!(shown_recovery_codes(&app, &session).await.is_empty());
    assert_eq!(
        app.get(
            "/settings/two-factor/recovery-codes/download",
            Some(&session)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // A copy of the database holds neither the codes nor the secret.
    let stored = recovery_code::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 10);
    for row in &stored {
        assert!(codes
            .iter()
            .all(|code| !row.code_hash.contains(&code.replace('-', ""))));
    }
    let authenticator = totp_authenticator::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(authenticator.secret_sealed.starts_with("sealed:v1:"));
    assert!(!authenticator
        .secret_sealed
        .contains(&secret.replace(' ', "")));
    // Someone else's session sees no codes and cannot download them.
    let mallory = app.sign_up("Mallory", "mallory@example.com").await;
    assert!(shown_recovery_codes(&app, &mallory).await.is_empty());
}

#[tokio::test]
async fn a_reset_link_does_not_skip_the_second_factor() {
    let app = spawn_app().await;
    let (_, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    app.send(
        Call::post(
            "/api/accounts/request_password_reset",
            &[("email", "ada@example.com")],
        )
        .client_at("198.51.100.7"),
    )
    .await;
    let token = app.mailed_token("ada@example.com", "/reset-password").await;
    let reset = app
        .send(Call::post(
            "/api/accounts/reset_password",
            &[("token", &token), ("new_password", "another horse battery")],
        ))
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.location(), Some("/login/two-factor"));
    assert!(
        reset.session_cookie().is_none(),
        "no session from the link alone"
    );
    let challenge = cookie_set(&reset, CHALLENGE_COOKIE).unwrap();
    let signed_in = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(signed_in.location(), Some("/settings?saved=password-reset"));
    let row = session::Entity::find()
        .filter(
            session::Column::TokenHash.eq(app::server::tokens::hash_token(
                &signed_in.session_cookie().unwrap(),
            )),
        )
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.sign_in_method,
        app::accounts::rules::SignInMethod::Reset
    );
}

#[tokio::test]
async fn turning_the_app_off_and_new_codes_need_a_fresh_proof() {
    let app = spawn_app().await;
    let (session, secret, old_codes) = user_with_app(&app, "Ada", "ada@example.com").await;
    // Within 10 minutes of the last proof (here: turning the app on), no proof is asked.
    let regenerated = app
        .send(Call::post("/api/accounts/regenerate_recovery_codes", &[]).session(&session))
        .await;
    assert_eq!(regenerated.status, StatusCode::OK, "{}", regenerated.body);
    let new_codes = shown_recovery_codes(&app, &session).await;
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));

    age_proof(&app, &session, 11).await;
    let settings = app.get("/settings", Some(&session)).await;
    assert!(settings.body.contains("Password or authentication code"));
    let unproved = app
        .send(Call::post("/api/accounts/turn_off_authenticator", &[]).session(&session))
        .await;
    assert!(unproved.field_error("proof").contains("Confirm it's you"));
    let wrong = app
        .send(
            Call::post(
                "/api/accounts/turn_off_authenticator",
                &[("proof", "not my password")],
            )
            .session(&session),
        )
        .await;
    assert!(wrong.field_error("proof").contains("not your password"));
    assert_eq!(
        totp_authenticator::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    // A current code proves it as well as the password.
    let off = app
        .send(
            Call::post(
                "/api/accounts/turn_off_authenticator",
                &[("proof", &code_at(&secret, 30))],
            )
            .session(&session),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.location(), Some("/settings?saved=authenticator-off"));
    assert_eq!(
        totp_authenticator::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        recovery_code::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert!(subjects_to(&app, "ada@example.com")
        .await
        .contains(&"Two-factor authentication is off for your Orgdesk account".to_string()));
    let log_in = password_step(&app, "ada@example.com").await;
    assert!(
        log_in.session_cookie().is_some(),
        "the password alone signs in again"
    );
}

#[tokio::test]
async fn deleting_an_organization_needs_a_fresh_proof() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olive", "olive@example.com").await;
    let public_id = app.create_organization(&owner, "Acme").await;
    age_proof(&app, &owner, 11).await;
    let delete = |proof: &'static str| {
        let public_id = public_id.clone();
        let owner = owner.clone();
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/organizations/delete",
                    &[
                        ("organization_id", public_id.as_str()),
                        ("confirm_name", "Acme"),
                        ("proof", proof),
                    ],
                )
                .session(&owner),
            )
            .await
        }
    };
    let unproved = delete("").await;
    assert!(unproved
        .field_error("proof")
        .contains("enter your password"));
    let wrong = delete("wrong password").await;
    assert!(wrong.field_error("proof").contains("not your password"));
    let deleted = delete(PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.location(), Some("/?deleted=1"));
}

#[tokio::test]
async fn a_challenge_cookie_is_no_session_and_a_forged_one_is_nothing() {
    let app = spawn_app().await;
    let (_, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let challenge = challenge_of(&app, "ada@example.com").await;
    // The challenge token does not open pages as a session would.
    let as_session = app.get("/settings", Some(&challenge)).await;
    assert_ne!(as_session.status, StatusCode::OK);
    // A made-up challenge signs nobody in, whatever the code.
    let forged = with_code(&app, &"ab".repeat(32), &code_at(&secret, 30)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = app
        .send(Call::post(
            "/api/accounts/verify_sign_in_code",
            &[("code", &code_at(&secret, 30))],
        ))
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    // The page says the sign-in is gone rather than asking for a code.
    let page = app.get("/login/two-factor", None).await;
    assert!(page.body.contains("Log in again"), "{}", page.body);
}

#[tokio::test]
async fn every_settings_function_refuses_a_signed_out_caller_and_takes_no_account_id() {
    let app = spawn_app().await;
    // None of them names an account: each acts on the caller's own, so there is no other
    // account's ID to try.
    for path in [
        "/api/accounts/two_factor_status",
        "/api/accounts/proof_needed",
        "/api/accounts/start_authenticator_setup",
        "/api/accounts/authenticator_setup",
        "/api/accounts/confirm_authenticator",
        "/api/accounts/turn_off_authenticator",
        "/api/accounts/regenerate_recovery_codes",
        "/api/accounts/new_recovery_codes",
        "/api/accounts/saved_recovery_codes",
    ] {
        let reply = app
            .send(Call::post(path, &[("code", "123456"), ("proof", PASSWORD)]))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            reply.body
        );
    }
    assert_eq!(
        totp_authenticator::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    let download = app
        .get("/settings/two-factor/recovery-codes/download", None)
        .await;
    assert_ne!(download.status, StatusCode::OK);
}

#[tokio::test]
async fn a_passkey_ceremony_answers_once_for_its_own_account_and_refuses_forgeries() {
    use app::accounts::factors::passkeys::PasskeyCeremony;
    use app::server::entities::{passkey, webauthn_ceremony};

    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let mallory = app.sign_up("Mallory", "mallory@example.com").await;
    let started = app
        .send(Call::post("/api/accounts/start_passkey_registration", &[]).session(&ada))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let ceremony: PasskeyCeremony = serde_json::from_str(&started.body).unwrap();
    // The relying party is the public URL's host; the user is Ada.
    let options: serde_json::Value = serde_json::from_str(&ceremony.options).unwrap();
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(options["publicKey"]["user"]["name"], "ada@example.com");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let finish = |session: &str, token: &str, credential: &str| {
        let (session, token, credential) = (
            session.to_string(),
            token.to_string(),
            credential.to_string(),
        );
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/accounts/finish_passkey_registration",
                    &[
                        ("ceremony", token.as_str()),
                        ("name", "Laptop"),
                        ("credential", credential.as_str()),
                    ],
                )
                .session(&session),
            )
            .await
        }
    };
    // Not a WebAuthn answer at all.
    let garbage = finish(&ada, &ceremony.token, "{\"id\":1}").await;
    assert_eq!(garbage.status, StatusCode::FORBIDDEN, "{}", garbage.body);
    // A well-formed answer that no authenticator signed: the checks refuse it, and the
    // ceremony is used up either way.
    let forged = serde_json::json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVhE",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0"
        }
    })
    .to_string();
    let refused = finish(&ada, &ceremony.token, &forged).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(passkey::Entity::find().count(&app.db).await.unwrap(), 0);

    // Another account cannot answer Ada's ceremony.
    let second = app
        .send(Call::post("/api/accounts/start_passkey_registration", &[]).session(&ada))
        .await;
    let second: PasskeyCeremony = serde_json::from_str(&second.body).unwrap();
    let stolen = finish(&mallory, &second.token, &forged).await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);
    assert!(
        stolen.body.contains("expired or was already answered"),
        "{}",
        stolen.body
    );
    // Ada's is still there for Ada (Mallory's try did not use it up).
    assert_eq!(
        webauthn_ceremony::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    // A name is required and bounded.
    let unnamed = app
        .send(
            Call::post(
                "/api/accounts/finish_passkey_registration",
                &[
                    ("ceremony", second.token.as_str()),
                    ("name", " "),
                    ("credential", forged.as_str()),
                ],
            )
            .session(&ada),
        )
        .await;
    assert!(unnamed.field_error("passkey_name").contains("required"));

    // Removing: only your own, and never signed out.
    let removed = app
        .send(
            Call::post(
                "/api/accounts/remove_passkey",
                &[("passkey_id", "1"), ("proof", PASSWORD)],
            )
            .session(&mallory),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NOT_FOUND, "{}", removed.body);
    let signed_out = app
        .send(Call::post("/api/accounts/start_passkey_registration", &[]))
        .await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    // Without a pending sign-in, there is no passkey sign-in to start.
    let no_sign_in = app
        .send(Call::post("/api/accounts/start_passkey_sign_in", &[]))
        .await;
    assert_eq!(no_sign_in.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_passkey_alone_signs_in_only_with_a_signed_answer_and_is_throttled_per_address() {
    use app::accounts::factors::passkeys::PasskeyCeremony;
    use app::server::entities::webauthn_ceremony;

    let app = spawn_app().await;
    let started = app
        .send(Call::post("/api/accounts/start_passkey_login", &[]).client_at("198.51.100.20"))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let ceremony: PasskeyCeremony = serde_json::from_str(&started.body).unwrap();
    let options: serde_json::Value = serde_json::from_str(&ceremony.options).unwrap();
    // Discoverable: the browser offers whatever passkeys it holds for this site.
    assert_eq!(options["publicKey"]["rpId"], "localhost");
    assert!(options["publicKey"]["allowCredentials"]
        .as_array()
        .is_none_or(|list| list.is_empty()));
    let row = webauthn_ceremony::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.user_id, row.purpose.as_str()), (None, "login"));

    // An answer nobody signed starts no session, and the ceremony is gone after it.
    let forged = serde_json::json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
            "signature": "AAAA",
            "userHandle": "AAAA"
        }
    })
    .to_string();
    let refused = app
        .send(Call::post(
            "/api/accounts/finish_passkey_login",
            &[
                ("ceremony", ceremony.token.as_str()),
                ("credential", forged.as_str()),
            ],
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.session_cookie().is_none());
    let again = app
        .send(Call::post(
            "/api/accounts/finish_passkey_login",
            &[
                ("ceremony", ceremony.token.as_str()),
                ("credential", forged.as_str()),
            ],
        ))
        .await;
    assert!(
        again.body.contains("expired or was already answered"),
        "{}",
        again.body
    );

    // Each start keeps a row: one address cannot start them without end.
    let mut last = StatusCode::OK;
    for _ in 0..60 {
        last = app
            .send(Call::post("/api/accounts/start_passkey_login", &[]).client_at("198.51.100.21"))
            .await
            .status;
    }
    assert_eq!(last, StatusCode::OK);
    let over = app
        .send(Call::post("/api/accounts/start_passkey_login", &[]).client_at("198.51.100.21"))
        .await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
}

#[tokio::test]
async fn right_proofs_do_not_use_up_the_password_or_code_allowance() {
    let app = spawn_app().await;
    let (session, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    // More step-ups with the right password than the five wrong guesses allowed per
    // account and address in 15 minutes.
    for round in 0..7 {
        age_proof(&app, &session, 11).await;
        let proof = if round == 6 {
            code_at(&secret, 30)
        } else {
            PASSWORD.to_string()
        };
        let renewed = app
            .send(
                Call::post(
                    "/api/accounts/regenerate_recovery_codes",
                    &[("proof", proof.as_str())],
                )
                .session(&session)
                .client_at("198.51.100.30"),
            )
            .await;
        assert_eq!(
            renewed.status,
            StatusCode::OK,
            "round {round}: {}",
            renewed.body
        );
    }
}

#[tokio::test]
async fn a_passkey_alone_does_not_go_around_an_sso_organizations_identity_provider() {
    use app::accounts::factors::passkeys::PasskeyCeremony;
    use app::server::entities::{passkey, user};
    use sea_orm::{ActiveModelTrait, Set};

    let app = spawn_app().await;
    app.sso_organization("pk-acme.test").await;
    let signed_in = app.sso_log_in("ann@pk-acme.test", "ann@pk-acme.test").await;
    assert!(signed_in.session_cookie().is_some(), "{}", signed_in.body);
    // Ann added a passkey while signed in through the provider (its handle: sixteen zero
    // bytes; its ID: three zero bytes).
    let ann = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq("ann@pk-acme.test"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    user::Entity::update_many()
        .col_expr(
            user::Column::PasskeyHandle,
            Expr::value("00000000-0000-0000-0000-000000000000"),
        )
        .filter(user::Column::Id.eq(ann.id))
        .exec(&app.db)
        .await
        .unwrap();
    passkey::ActiveModel {
        user_id: Set(ann.id),
        name: Set("Laptop".into()),
        credential_id: Set("AAAA".into()),
        credential: Set("{}".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let started = app
        .send(Call::post("/api/accounts/start_passkey_login", &[]).client_at("198.51.100.40"))
        .await;
    let ceremony: PasskeyCeremony = serde_json::from_str(&started.body).unwrap();
    let answer = serde_json::json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
            "signature": "AAAA",
            "userHandle": "AAAAAAAAAAAAAAAAAAAAAA"
        }
    })
    .to_string();
    let refused = app
        .send(Call::post(
            "/api/accounts/finish_passkey_login",
            &[
                ("ceremony", ceremony.token.as_str()),
                ("credential", answer.as_str()),
            ],
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("sign in through Test IdP"),
        "{}",
        refused.body
    );
    assert!(refused.session_cookie().is_none());
}
