//! The identity core's holes, each written as the attack it must withstand: a stolen
//! session adding its own factor, a squatter's factors outliving the owner's first proof,
//! SSO links outliving their domain, recovery codes read by another session.

use crate::common::{spawn_app, Call, Reply, TestApp, PASSWORD};
use crate::two_factor::{
    age_proof, begin_setup, code_at, confirm, shown_recovery_codes, subjects_to, user_with_app,
};
use app::server::entities::{
    factor_revocation, membership, organization, passkey, recovery_code, session, sso_identity,
    totp_authenticator, user,
};
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

async fn account(app: &TestApp, email: &str) -> user::Model {
    user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.to_lowercase()))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the account exists")
}

async fn sessions_of(app: &TestApp, user_id: i32) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap()
}

async fn proved_at(app: &TestApp, token: &str) -> chrono::DateTime<Utc> {
    session::Entity::find()
        .filter(session::Column::TokenHash.eq(app::server::tokens::hash_token(token)))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the session exists")
        .proved_at
        .expect("a proof time")
}

async fn start_setup(app: &TestApp, session: &str, proof: Option<&str>) -> Reply {
    let form: Vec<(&str, &str)> = proof.map(|p| vec![("proof", p)]).unwrap_or_default();
    app.send(Call::post("/api/accounts/start_authenticator_setup", &form).session(session))
        .await
}

async fn start_passkey(app: &TestApp, session: &str, proof: Option<&str>) -> Reply {
    let form: Vec<(&str, &str)> = proof.map(|p| vec![("proof", p)]).unwrap_or_default();
    app.send(Call::post("/api/accounts/start_passkey_registration", &form).session(session))
        .await
}

/// A confirmed authenticator app and recovery codes written straight into the database:
/// what a squatter could add before no factor could be added to an unproven address.
async fn plant_factors(app: &TestApp, user_id: i32) {
    let now = Utc::now();
    totp_authenticator::ActiveModel {
        user_id: Set(user_id),
        secret_sealed: Set("planted".into()),
        confirmed_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    recovery_code::ActiveModel {
        user_id: Set(user_id),
        code_hash: Set(app::server::tokens::hash_token("planted")),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// The mailbox's owner uses Forgot password and follows the link: the reply of Set
/// password.
async fn reset_by_mail(app: &TestApp, email: &str, client: &str) -> Reply {
    let asked = app
        .send(
            Call::post("/api/accounts/request_password_reset", &[("email", email)])
                .client_at(client),
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let token = app.mailed_token(email, "/reset-password").await;
    app.send(Call::post(
        "/api/accounts/reset_password",
        &[
            ("token", &token),
            ("new_password", "a brand new passphrase"),
        ],
    ))
    .await
}

/// A WebAuthn assertion nobody signed, naming the credential `id` (and the account's
/// `user_handle`, as a discoverable passkey does).
fn unsigned_assertion(id: &str, user_handle: Option<&str>) -> String {
    let mut response = serde_json::json!({
        "authenticatorData": "AAAA",
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
        "signature": "AAAA"
    });
    if let Some(handle) = user_handle {
        response["userHandle"] = handle.into();
    }
    serde_json::json!({ "id": id, "rawId": id, "type": "public-key", "response": response })
        .to_string()
}

async fn factor_count(app: &TestApp, user_id: i32) -> (u64, u64, u64) {
    (
        totp_authenticator::Entity::find()
            .filter(totp_authenticator::Column::UserId.eq(user_id))
            .count(&app.db)
            .await
            .unwrap(),
        passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .count(&app.db)
            .await
            .unwrap(),
        recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user_id))
            .count(&app.db)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn a_stolen_session_cannot_add_a_factor_without_a_fresh_proof() {
    let app = spawn_app().await;
    let stolen = app.sign_up("Ada", "ada@example.com").await;
    // The thief's cookie was taken long after its sign-in.
    age_proof(&app, &stolen, 30).await;

    for refused in [
        start_setup(&app, &stolen, None).await,
        start_passkey(&app, &stolen, None).await,
        start_setup(&app, &stolen, Some("not the password")).await,
        start_passkey(&app, &stolen, Some("not the password")).await,
    ] {
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(
            refused.field_error("proof").contains("password"),
            "{}",
            refused.body
        );
    }
    assert_eq!(
        totp_authenticator::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "nothing was set up"
    );
    // The owner's password opens the way.
    let started = start_setup(&app, &stolen, Some(PASSWORD)).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let passkey = start_passkey(&app, &stolen, None).await;
    assert_eq!(
        passkey.status,
        StatusCode::OK,
        "the proof just given counts: {}",
        passkey.body
    );
}

#[tokio::test]
async fn adding_a_factor_never_renews_the_proof_and_another_session_cannot_finish_it() {
    let app = spawn_app().await;
    let owner = app.sign_up("Ada", "ada@example.com").await;
    let thief = app
        .log_in("ada@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    age_proof(&app, &thief, 30).await;
    let secret = begin_setup(&app, &owner).await;

    // The thief's session sees no secret and cannot confirm the owner's set-up.
    let page = app.get("/settings/two-factor/app", Some(&thief)).await;
    assert!(
        !page.body.contains(&secret),
        "another session does not see the secret"
    );
    let confirmed = confirm(&app, &thief, &code_at(&secret, 0)).await;
    assert_eq!(
        confirmed.status,
        StatusCode::FORBIDDEN,
        "{}",
        confirmed.body
    );

    let before = proved_at(&app, &owner).await;
    let confirmed = confirm(&app, &owner, &code_at(&secret, 0)).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(
        proved_at(&app, &owner).await,
        before,
        "turning a factor on is no proof of identity"
    );
}

#[tokio::test]
async fn the_not_me_link_removes_the_added_factor_and_signs_out_everywhere_once() {
    let app = spawn_app().await;
    let (session, _, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let other = app
        .log_in("ada@example.com", PASSWORD)
        .await
        .headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .count();
    assert!(other > 0);
    let ada = account(&app, "ada@example.com").await;
    let mail = subjects_to(&app, "ada@example.com").await;
    assert!(
        mail.contains(&"An authenticator app was added to your Orgdesk account".to_string()),
        "{mail:?}"
    );
    let link = app.mailed_link("ada@example.com", "/not-me").await;
    let token = app.mailed_token("ada@example.com", "/not-me").await;
    assert!(link.contains("/not-me?token="));
    assert_eq!(
        factor_revocation::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .token_hash,
        app::server::tokens::hash_token(&token),
        "only the token's hash is stored"
    );

    // Opening the link changes nothing.
    let page = app.get(&format!("/not-me?token={token}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Remove a factor you did not add"));
    assert!(page.body.contains("an authenticator app"));
    assert_eq!(factor_count(&app, ada.id).await.0, 1);

    let removed = app
        .send(Call::post(
            "/api/accounts/remove_unrecognized_factor",
            &[("token", &token)],
        ))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(removed.location(), Some("/not-me?removed=1"));
    assert!(removed.session_cookie().is_none(), "it signs no one in");
    assert_eq!(
        factor_count(&app, ada.id).await,
        (0, 0, 0),
        "the app and, with no factor left, the recovery codes are gone"
    );
    assert_eq!(sessions_of(&app, ada.id).await, 0, "every session ended");
    assert_ne!(
        app.get("/settings", Some(&session)).await.status,
        StatusCode::OK
    );
    assert!(subjects_to(&app, "ada@example.com")
        .await
        .contains(&"An authenticator app was removed from your Orgdesk account".to_string()));

    // Once only.
    let replayed = app
        .send(Call::post(
            "/api/accounts/remove_unrecognized_factor",
            &[("token", &token)],
        ))
        .await;
    assert_eq!(replayed.status, StatusCode::FORBIDDEN, "{}", replayed.body);
    let forged = app
        .send(Call::post(
            "/api/accounts/remove_unrecognized_factor",
            &[("token", "0000")],
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unverified_address_can_add_no_factor() {
    let app = spawn_app().await;
    let squatter = app
        .legacy_unverified_session("Mallory", "ada@example.com")
        .await;
    for refused in [
        start_setup(&app, &squatter, Some(PASSWORD)).await,
        start_passkey(&app, &squatter, Some(PASSWORD)).await,
    ] {
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("Verify your email address first"));
    }
}

#[tokio::test]
async fn a_squatters_factors_and_organizations_do_not_survive_the_owners_reset() {
    let app = spawn_app().await;
    let squatter = app
        .legacy_unverified_session("Mallory", "ada@example.com")
        .await;
    let squatted_org = app.create_organization(&squatter, "Squatted").await;
    let account_id = account(&app, "ada@example.com").await.id;
    plant_factors(&app, account_id).await;

    // The real owner of the mailbox uses Forgot password.
    let reset = reset_by_mail(&app, "ada@example.com", "198.51.100.7").await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        reset.location(),
        Some("/settings?saved=password-reset"),
        "no second factor is asked: the squatter's is gone"
    );
    assert!(reset.session_cookie().is_some());
    assert_eq!(factor_count(&app, account_id).await, (0, 0, 0));
    assert_ne!(
        app.get("/settings", Some(&squatter)).await.status,
        StatusCode::OK,
        "the squatter's session ended"
    );
    assert_eq!(
        organization::Entity::find()
            .filter(organization::Column::PublicId.eq(squatted_org.as_str()))
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "the organization only the squatter owned is gone"
    );
    assert_eq!(account(&app, "ada@example.com").await.membership_count, 0);
}

#[tokio::test]
async fn a_passkey_of_an_unverified_account_signs_nobody_in() {
    use app::accounts::factors::passkeys::PasskeyCeremony;
    use base64::Engine;

    let app = spawn_app().await;
    app.sign_up_pending("Mallory", "ada@example.com").await;
    let squatter = account(&app, "ada@example.com").await;
    // A passkey from before no factor could be added to an unproven address.
    let handle = uuid::Uuid::new_v4();
    let mut planted: user::ActiveModel = squatter.clone().into();
    planted.passkey_handle = Set(Some(handle.to_string()));
    planted.update(&app.db).await.unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let credential_id = b64.encode([7u8; 16]);
    passkey::ActiveModel {
        user_id: Set(squatter.id),
        name: Set("Mallory's key".into()),
        credential_id: Set(credential_id.clone()),
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
    let answer = unsigned_assertion(&credential_id, Some(&b64.encode(handle.as_bytes())));
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
    assert!(refused.body.contains("not verified"), "{}", refused.body);
    assert!(refused.session_cookie().is_none());
}

#[tokio::test]
async fn new_recovery_codes_show_only_to_their_session_and_end_the_others() {
    let app = spawn_app().await;
    let (owner, _, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    // Another session of the account (signed in with a recovery code, say).
    let ada = account(&app, "ada@example.com").await;
    let other_token = app::server::tokens::new_token();
    session::ActiveModel {
        token_hash: Set(app::server::tokens::hash_token(&other_token)),
        user_id: Set(ada.id),
        created_at: Set(Utc::now()),
        last_seen_at: Set(Utc::now()),
        proved_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    assert!(
        shown_recovery_codes(&app, &other_token).await.is_empty(),
        "the codes made for the first session are not shown to another"
    );
    let regenerated = app
        .send(
            Call::post(
                "/api/accounts/regenerate_recovery_codes",
                &[("proof", PASSWORD)],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(regenerated.status, StatusCode::OK, "{}", regenerated.body);
    assert_eq!(shown_recovery_codes(&app, &owner).await.len(), 10);
    assert_ne!(
        app.get("/settings", Some(&other_token)).await.status,
        StatusCode::OK,
        "regenerating ended the other session"
    );
}

#[tokio::test]
async fn an_sso_link_removes_the_factors_enrolled_before_it() {
    let app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    let email = format!("ada@{domain}");
    user_with_app(&app, "Ada", &email).await;
    let ada = account(&app, &email).await;
    app.sso_organization(&domain).await;

    let signed_in = app.sso_log_in(&email, &email).await;
    assert!(
        signed_in.session_cookie().is_some(),
        "the provider speaks for the address: {:?}",
        signed_in.location()
    );
    assert_eq!(factor_count(&app, ada.id).await, (0, 0, 0));
}

#[tokio::test]
async fn an_sso_link_to_an_unproven_account_releases_what_its_holder_made() {
    let app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    let email = format!("ada@{domain}");
    let squatter = app.legacy_unverified_session("Mallory", &email).await;
    let squatted_org = app.create_organization(&squatter, "Squatted").await;
    let account_id = account(&app, &email).await.id;
    plant_factors(&app, account_id).await;
    app.sso_organization(&domain).await;

    let signed_in = app.sso_log_in(&email, &email).await;
    assert!(signed_in.session_cookie().is_some());
    assert_eq!(factor_count(&app, account_id).await, (0, 0, 0));
    assert_eq!(
        organization::Entity::find()
            .filter(organization::Column::PublicId.eq(squatted_org.as_str()))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn sso_links_carry_their_issuer_and_go_with_the_domain() {
    let app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    let (owner, org) = app.sso_organization(&domain).await;
    let email = format!("ivy@{domain}");
    assert!(app
        .sso_log_in(&email, &email)
        .await
        .session_cookie()
        .is_some());
    let link = sso_identity::Entity::find()
        .order_by_desc(sso_identity::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        link.issuer.starts_with("http://"),
        "the link names its issuer: {:?}",
        link.issuer
    );

    // The linked account's own address moves outside the verified domains: the link no
    // longer speaks for it.
    let ivy = account(&app, &email).await;
    let mut moved: user::ActiveModel = ivy.clone().into();
    moved.email = Set("ivy@elsewhere.example".into());
    moved.email_normalized = Set("ivy@elsewhere.example".into());
    moved.update(&app.db).await.unwrap();
    let refused = app.sso_log_in(&email, &email).await;
    assert!(
        refused.session_cookie().is_none(),
        "{:?}",
        refused.location()
    );
    assert_eq!(
        sso_identity::Entity::find_by_id(link.id)
            .one(&app.db)
            .await
            .unwrap(),
        None,
        "the link is gone"
    );

    // A domain removed takes its links with it.
    let jo = format!("jo@{domain}");
    assert!(app.sso_log_in(&jo, &jo).await.session_cookie().is_some());
    let org_id = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(org.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let links = || async {
        sso_identity::Entity::find()
            .filter(sso_identity::Column::OrganizationId.eq(org_id))
            .count(&app.db)
            .await
            .unwrap()
    };
    assert!(links().await >= 1);
    let removed = app
        .send(
            Call::post(
                "/api/domains/remove",
                &[("organization_id", &org), ("domain", &domain)],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(links().await, 0);
    // Memberships stay: removing a domain does not remove people.
    assert!(
        membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org_id))
            .count(&app.db)
            .await
            .unwrap()
            >= 2
    );
}

#[tokio::test]
async fn staff_reset_factors_removes_every_factor_and_session_of_that_account_only() {
    let app = spawn_app().await;
    let (session, _, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let (bob_session, _, _) = user_with_app(&app, "Bob", "bob@example.com").await;
    let ada = account(&app, "ada@example.com").await;
    let settings = app::server::Settings {
        public_url: "http://localhost".into(),
        signups_per_address: 10,
        api_rate_limits: app::server::ApiRateLimits {
            per_key: 600,
            per_organization: 1200,
        },
        private_identity_providers: true,
        private_webhook_destinations: true,
    };
    let said = server::staff::reset_factors(&app.db, &settings, "ADA@example.com")
        .await
        .unwrap();
    assert!(said.contains("was removed"), "{said}");
    assert_eq!(factor_count(&app, ada.id).await, (0, 0, 0));
    assert_ne!(
        app.get("/settings", Some(&session)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/settings", Some(&bob_session)).await.status,
        StatusCode::OK,
        "nobody else is touched"
    );
    assert!(subjects_to(&app, "ada@example.com")
        .await
        .contains(&"The second factors of your Orgdesk account were removed".to_string()));
    // Signing in asks for the password only now.
    let log_in = app.log_in("ada@example.com", PASSWORD).await;
    assert!(log_in.session_cookie().is_some());
    assert!(
        server::staff::reset_factors(&app.db, &settings, "nobody@example.com")
            .await
            .is_err()
    );
}

/// Forgets the account's code guesses in the current 15-minute window, as time would.
async fn next_window(app: &TestApp, user_id: i32) {
    use app::server::entities::login_failure;
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Scope.eq(format!("2fa:{user_id}")))
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn twenty_wrong_codes_in_a_row_lock_the_second_step_until_a_reset() {
    use crate::two_factor::{challenge_of, with_code};

    let app = spawn_app().await;
    let (_, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let ada = account(&app, "ada@example.com").await;
    let password_used = "Your Orgdesk password was used with a wrong code".to_string();

    // A thief with the password guesses codes, a window at a time, forever: not any more.
    let mut last = None;
    for round in 0..4 {
        next_window(&app, ada.id).await;
        let challenge = challenge_of(&app, "ada@example.com").await;
        for _ in 0..5 {
            last = Some(with_code(&app, &challenge, "123456").await);
        }
        if round == 0 {
            let told = subjects_to(&app, "ada@example.com")
                .await
                .into_iter()
                .filter(|s| *s == password_used)
                .count();
            assert_eq!(
                told, 1,
                "the first wrong code after a right password is told, once"
            );
        }
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::FORBIDDEN, "{}", last.body);
    assert!(last.body.contains("locked"), "{}", last.body);
    assert!(subjects_to(&app, "ada@example.com")
        .await
        .contains(&"The second step of your Orgdesk sign-in is locked".to_string()));

    // Even the right code is refused now, in a new window.
    next_window(&app, ada.id).await;
    let challenge = challenge_of(&app, "ada@example.com").await;
    let refused = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.session_cookie().is_none());

    // A password reset unlocks it (the reset still asks for the factor).
    let reset = reset_by_mail(&app, "ada@example.com", "198.51.100.8").await;
    assert_eq!(
        reset.location(),
        Some("/login/two-factor"),
        "{}",
        reset.body
    );
    assert_eq!(account(&app, "ada@example.com").await.code_failures, 0);
    let challenge = crate::two_factor::cookie_set(&reset, "orgdesk_2fa").unwrap();
    let signed_in = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert!(signed_in.session_cookie().is_some());
}

#[tokio::test]
async fn organization_security_changes_need_a_fresh_proof() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    // The cookie was stolen long after its sign-in.
    age_proof(&app, &owner, 30).await;
    let org = org.as_str();
    let changes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/api/sso/save",
            vec![
                ("organization_id", org),
                ("provider_name", "Okta"),
                ("issuer_url", "https://idp.example.com"),
                ("client_id", "orgdesk"),
                ("client_secret", "s3cret"),
            ],
        ),
        ("/api/sso/test", vec![("organization_id", org)]),
        (
            "/api/sso/set_enabled",
            vec![("organization_id", org), ("enabled", "true")],
        ),
        (
            "/api/domains/add",
            vec![("organization_id", org), ("domain", "acme.example")],
        ),
        (
            "/api/domains/verify",
            vec![("organization_id", org), ("domain", "acme.example")],
        ),
        (
            "/api/domains/remove",
            vec![("organization_id", org), ("domain", "acme.example")],
        ),
        (
            "/api/organizations/stop_requiring_two_factor",
            vec![("organization_id", org)],
        ),
        (
            "/api/organizations/set_passkeys_for_admins",
            vec![("organization_id", org), ("required", "false")],
        ),
        (
            "/api/members/change_role",
            vec![
                ("organization_id", org),
                ("membership_id", "1"),
                ("role", "owner"),
            ],
        ),
        (
            "/api/invitations/invite",
            vec![
                ("organization_id", org),
                ("email", "new@example.com"),
                ("role", "owner"),
            ],
        ),
    ];
    for (path, form) in &changes {
        let refused = app.send(Call::post(path, form).session(&owner)).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
        assert!(
            refused.body.contains("confirm it's you first"),
            "{path}: {}",
            refused.body
        );
    }
    // Nothing changed.
    assert_eq!(
        app::server::entities::organization_domain::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app::server::entities::invitation::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );

    // The page's "Confirm it's you" box: a wrong password is refused, the right one
    // opens the way for 10 minutes.
    let page = app
        .get("/organization/profile?tab=settings", Some(&owner))
        .await;
    assert!(page.body.contains("Confirm it&#x27;s you") || page.body.contains("Confirm it's you"));
    let wrong = app
        .send(
            Call::post(
                "/api/accounts/confirm_its_you",
                &[
                    ("proof", "not it"),
                    ("next", "/organization/profile?tab=settings"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    let confirmed = app
        .send(
            Call::post(
                "/api/accounts/confirm_its_you",
                &[
                    ("proof", PASSWORD),
                    ("next", "/organization/profile?tab=settings"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(
        confirmed.location(),
        Some("/organization/profile?tab=settings")
    );
    let added = app
        .send(Call::post("/api/domains/add", &changes[3].1).session(&owner))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
}

#[tokio::test]
async fn a_new_issuer_needs_its_own_secret_and_trust_changes_void_the_test() {
    use app::audit::events::EventKind;
    use app::server::entities::{audit_event, sso_connection};

    let app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    let (owner, org) = app.sso_organization(&domain).await;
    let connection = || async {
        sso_connection::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    let before = connection().await;
    assert!(before.enabled && before.tested_at.is_some());

    // Another issuer with the old secret left in place: refused, nothing changes.
    let moved = app
        .send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", org.as_str()),
                    ("provider_name", "Test IdP"),
                    ("issuer_url", "https://other-idp.example.com"),
                    ("client_id", before.client_id.as_str()),
                    ("client_secret", ""),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(
        moved.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        moved.body
    );
    assert!(moved
        .field_error("client_secret")
        .contains("previous provider"));
    assert_eq!(connection().await, before);

    // Trusting the provider's unverified emails changes who may sign in: the test is void
    // and SSO is off until a new one passes; the log says what changed.
    let trusted = app
        .send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", org.as_str()),
                    ("provider_name", "Test IdP"),
                    ("issuer_url", before.issuer_url.as_str()),
                    ("client_id", before.client_id.as_str()),
                    ("client_secret", ""),
                    ("trust_emails", "on"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(trusted.status, StatusCode::OK, "{}", trusted.body);
    let after = connection().await;
    assert!(after.trust_emails);
    assert!(!after.enabled && after.tested_at.is_none());
    let logged = audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(EventKind::SsoChanged))
        .order_by_desc(audit_event::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        logged.subject.as_deref(),
        Some("Test IdP: trusted emails off → on")
    );
}

#[tokio::test]
async fn members_do_not_see_who_lacks_a_second_factor() {
    use app::members::{roles::Role, views::MembersPage};

    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let member = app.sign_up("Mia", "mia@example.com").await;
    app.join(&member, &org, Role::Member).await;
    let list = [("query", ""), ("page", "1")];

    let seen: Option<MembersPage> = app
        .call_json("/api/members/list", &list, Some(&member))
        .await;
    assert!(
        seen.unwrap()
            .members
            .iter()
            .all(|row| row.two_factor.is_none()),
        "a member sees no one's two-factor status"
    );
    let filtered = app
        .send(
            Call::post(
                "/api/members/list",
                &[("query", ""), ("page", "1"), ("two_factor", "off")],
            )
            .session(&member),
        )
        .await;
    assert_eq!(
        filtered.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        filtered.body
    );
    assert!(filtered
        .field_error("two_factor")
        .contains("owners and admins"));

    let seen: Option<MembersPage> = app
        .call_json("/api/members/list", &list, Some(&owner))
        .await;
    assert!(seen
        .unwrap()
        .members
        .iter()
        .all(|row| row.two_factor == Some(false)));
}

#[tokio::test]
async fn an_invitation_from_before_sso_adds_nobody_from_outside_the_provider() {
    use app::audit::events::EventKind;
    use app::server::entities::{audit_event, invitation};
    use sea_orm::sea_query::Expr;

    let app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    let owner_email = format!("olivia@{domain}");
    let owner = app.sign_up("Olivia", &owner_email).await;
    let org = app.create_organization(&owner, "Acme").await;
    let invited = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", org.as_str()),
                    ("email", "bob@example.com"),
                    ("role", "member"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let token = app.mailed_token("bob@example.com", "/invitation").await;

    // Turning SSO on revokes the pending invitation, audited.
    let saved = app.configure_sso(&owner, &org, &domain).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    app.test_sso(&owner, &org, &owner_email).await;
    assert_eq!(
        app.set_sso_enabled(&owner, &org, true).await.status,
        StatusCode::OK
    );
    let invite = invitation::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(invite.status, invitation::InvitationStatus::Revoked);
    assert_eq!(
        audit_event::Entity::find()
            .filter(audit_event::Column::Kind.eq(EventKind::InvitationVoided))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );

    // One left pending by an older version is checked again when it is accepted.
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(invitation::InvitationStatus::Pending),
        )
        .col_expr(
            invitation::Column::ClosedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let bob = app.sign_up("Bob", "bob@example.com").await;
    let accepted = app
        .send(Call::post("/api/invitations/accept", &[("token", &token)]).session(&bob))
        .await;
    assert_eq!(accepted.status, StatusCode::FORBIDDEN, "{}", accepted.body);
    assert!(
        accepted.body.contains("now signs in through"),
        "{}",
        accepted.body
    );
    assert_eq!(account(&app, "bob@example.com").await.membership_count, 0);
    let invite = invitation::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(invite.status, invitation::InvitationStatus::Revoked);
}

#[tokio::test]
async fn one_ipv6_network_is_one_client_for_the_throttles() {
    let app = spawn_app().await;
    let wrong_login = |n: u32, client: String| {
        let app = &app;
        async move {
            let email = format!("nobody{n}@example.com");
            app.send(
                Call::post(
                    "/api/accounts/log_in",
                    &[("email", email.as_str()), ("password", "not the password")],
                )
                .client_at(&client),
            )
            .await
            .status
        }
    };
    // A guesser with a /64 takes a fresh address for every guess: still one client.
    for n in 1..=20u32 {
        let status = wrong_login(n, format!("[2001:db8:1:2::{n:x}]")).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "guess {n}");
    }
    assert_eq!(
        wrong_login(21, "[2001:db8:1:2:ffff:ffff:ffff:1]".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another network is another client.
    assert_ne!(
        wrong_login(22, "[2001:db8:1:3::1]".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn stored_app_secret(app: &TestApp) -> String {
    totp_authenticator::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .secret_sealed
}

#[tokio::test]
async fn a_key_rotation_reseals_authenticator_secrets_and_a_missing_key_stops_the_start() {
    use crate::two_factor::{challenge_of, with_code};
    use app::server::secrets::SecretKey;

    let mut app = spawn_app().await;
    let (_, secret, _) = user_with_app(&app, "Ada", "ada@example.com").await;
    let before = stored_app_secret(&app).await;

    let old_key = app.state.config.secret_key.clone().unwrap();
    let new_key = SecretKey::generate_hex();
    app.restart_with(|config| {
        config.secret_key = Some(new_key.clone());
        config.previous_secret_keys = vec![old_key.clone()];
    })
    .await
    .expect("restart with the new key");
    let after = stored_app_secret(&app).await;
    assert_ne!(after, before, "sealed again at start");
    assert!(app.state.app.secrets.is_sealed_with_current(&after));
    app.restart_with(|config| config.previous_secret_keys.clear())
        .await
        .expect("the old key is no longer needed");
    // The app's codes still sign in.
    let challenge = challenge_of(&app, "ada@example.com").await;
    let signed_in = with_code(&app, &challenge, &code_at(&secret, 30)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);

    // A server without the key refuses to start, and says what it cannot open.
    let refused = app
        .restart_with(|config| config.secret_key = Some(SecretKey::generate_hex()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("an authenticator app's secret")
            && refused.contains("which this server does not have"),
        "{refused}"
    );
}

#[tokio::test]
async fn signing_up_ends_the_browsers_previous_session() {
    let app = spawn_app().await;
    let first = app.sign_up("Ada", "ada@example.com").await;
    let second = app
        .send(
            Call::post(
                "/api/accounts/sign_up",
                &[
                    ("name", "Bob"),
                    ("email", "bob@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .session(&first),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(second.session_cookie().is_some());
    assert_ne!(
        app.get("/settings", Some(&first)).await.status,
        StatusCode::OK,
        "the earlier session of this browser ended"
    );
}

#[tokio::test]
async fn a_passkey_name_reads_as_what_it_is() {
    use app::accounts::factors::passkeys::PasskeyCeremony;

    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let started = start_passkey(&app, &ada, None).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let ceremony: PasskeyCeremony = serde_json::from_str(&started.body).unwrap();
    for (name, rule) in [
        ("Laptop\u{202E}txt.exe", "text-direction"),
        ("https://evil.example", "web address"),
    ] {
        let refused = app
            .send(
                Call::post(
                    "/api/accounts/finish_passkey_registration",
                    &[
                        ("ceremony", ceremony.token.as_str()),
                        ("name", name),
                        ("credential", "{}"),
                    ],
                )
                .session(&ada),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(
            refused.field_error("passkey_name").contains(rule),
            "{}",
            refused.body
        );
    }
}

#[tokio::test]
async fn a_caller_demoted_before_the_lock_is_refused_under_it() {
    use app::members::roles::{Action, Role};
    use app::{members::access::reauthorize_locked, server::locks::lock_organization};
    use sea_orm::TransactionTrait;

    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let admin = app.sign_up("Adam", "adam@example.com").await;
    app.join(&admin, &org, Role::Admin).await;
    let admin_id = app.user_id(&admin).await;
    let org_id = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(org.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // The admin's request was authorized; then, before it takes the lock, an owner makes
    // them a member.
    let demoted = app
        .send(
            Call::post(
                "/api/members/change_role",
                &[
                    ("organization_id", org.as_str()),
                    (
                        "membership_id",
                        &app.membership_of(&admin, &org)
                            .await
                            .unwrap()
                            .id
                            .to_string(),
                    ),
                    ("role", "member"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.body);
    let owner_id = app.user_id(&owner).await;
    // (On SQLite the transaction holds the one writing connection: read everything first.)
    let txn = app.db.begin().await.unwrap();
    lock_organization(&txn, org_id).await.unwrap();
    let refused = reauthorize_locked(&txn, org_id, admin_id, Action::ManageInvitations).await;
    assert!(refused.is_err(), "the role under the lock decides");
    assert_eq!(
        reauthorize_locked(&txn, org_id, owner_id, Action::ManageRoles)
            .await
            .unwrap(),
        Role::Owner
    );
}

#[tokio::test]
async fn a_passkey_proof_needs_a_passkey_and_a_signed_answer() {
    use app::accounts::factors::passkeys::PasskeyCeremony;

    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    age_proof(&app, &ada, 30).await;
    let signed_out = app
        .send(Call::post("/api/accounts/start_passkey_proof", &[]))
        .await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    let none = app
        .send(Call::post("/api/accounts/start_passkey_proof", &[]).session(&ada))
        .await;
    assert_eq!(none.status, StatusCode::FORBIDDEN, "{}", none.body);
    assert!(none.body.contains("no passkey"), "{}", none.body);

    // A ceremony of the account (as the sign-in step starts them) answered by nobody's
    // signature renews nothing, and is used up.
    let before = proved_at(&app, &ada).await;
    let started = app
        .send(
            Call::post(
                "/api/accounts/start_passkey_registration",
                &[("proof", PASSWORD)],
            )
            .session(&ada),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let registration: PasskeyCeremony = serde_json::from_str(&started.body).unwrap();
    let forged = unsigned_assertion("AAAA", None);
    // A registration ceremony is not a proof ceremony.
    let wrong_kind = app
        .send(
            Call::post(
                "/api/accounts/finish_passkey_proof",
                &[
                    ("ceremony", registration.token.as_str()),
                    ("credential", forged.as_str()),
                ],
            )
            .session(&ada),
        )
        .await;
    assert_eq!(
        wrong_kind.status,
        StatusCode::FORBIDDEN,
        "{}",
        wrong_kind.body
    );
    assert!(wrong_kind.body.contains("expired or was already answered"));
    assert!(
        proved_at(&app, &ada).await > before,
        "the password given above renewed it"
    );
    let renewed = proved_at(&app, &ada).await;
    age_proof(&app, &ada, 30).await;
    let aged = proved_at(&app, &ada).await;
    assert!(aged < renewed);
    let forged_answer = app
        .send(
            Call::post(
                "/api/accounts/finish_passkey_proof",
                &[("ceremony", "0000"), ("credential", forged.as_str())],
            )
            .session(&ada),
        )
        .await;
    assert_eq!(forged_answer.status, StatusCode::FORBIDDEN);
    assert_eq!(proved_at(&app, &ada).await, aged, "nothing renewed");
}

#[tokio::test]
async fn a_client_secret_opens_only_for_its_issuer_and_old_seals_are_bound_at_start() {
    use app::server::entities::sso_connection;
    use app::server::secrets::SecretError;
    use app::sso::settings::client_secret_of;

    let mut app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    app.sso_organization(&domain).await;
    let stored = sso_connection::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        client_secret_of(&app.state.app.secrets, &stored).as_deref(),
        Ok(crate::common::idp::CLIENT_SECRET)
    );
    // Someone with write access to the database points the connection at their own
    // provider: the secret does not follow.
    let mut moved = stored.clone();
    moved.issuer_url = "https://attacker.example".into();
    assert_eq!(
        client_secret_of(&app.state.app.secrets, &moved),
        Err(SecretError::Damaged)
    );

    // A secret sealed before secrets were bound to their issuer is bound at the next start.
    let legacy = app.state.app.secrets.seal(
        crate::common::idp::CLIENT_SECRET,
        &format!("sso_connections.client_secret:{}", stored.organization_id),
    );
    let mut row: sso_connection::ActiveModel = stored.clone().into();
    row.client_secret = Set(legacy.clone());
    row.update(&app.db).await.unwrap();
    app.restart_with(|_| {}).await.expect("restart");
    let resealed = sso_connection::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(resealed.client_secret, legacy);
    assert_eq!(
        client_secret_of(&app.state.app.secrets, &resealed).as_deref(),
        Ok(crate::common::idp::CLIENT_SECRET)
    );
}

#[tokio::test]
async fn one_client_starts_a_bounded_number_of_sso_sign_ins() {
    let app = spawn_app().await;
    let domain = format!("acme-{:08x}.test", rand::random::<u32>());
    app.sso_organization(&domain).await;
    let email = format!("ivy@{domain}");
    let start = |client: &'static str| {
        let (app, email) = (&app, email.clone());
        async move {
            app.send(
                Call::post("/api/sso/continue_login", &[("email", email.as_str())])
                    .client_at(client),
            )
            .await
            .status
        }
    };
    for _ in 0..30 {
        assert_eq!(start("198.51.100.60").await, StatusCode::OK);
    }
    assert_eq!(
        start("198.51.100.60").await,
        StatusCode::TOO_MANY_REQUESTS,
        "each start keeps a row: one client cannot start them without end"
    );
    assert_eq!(
        start("198.51.100.61").await,
        StatusCode::OK,
        "another client is not held up"
    );
}
