//! SSO through the real router and database and a real OpenID Connect provider
//! (oidc-provider from npm): who may configure it, domain ownership, the test sign-in that
//! must pass before it can be turned on, the sign-in round trip and the membership sync,
//! the 400 limit, and sign-ins that must fail and create nothing: a tampered state, another
//! browser, a wrong nonce, an unverified email, an expired ID token, a foreign domain.

use crate::common::{idp, spawn_app, Call, Reply, TestApp};
use app::{
    audit::events::EventKind,
    error::AppError,
    members::{roles::Role, views::MembersPage},
    server::entities::{audit_event, membership, organization, sso_connection, user},
    sso::{
        api::SsoSettingsView,
        finish::{self, CallbackParams},
        flow::Finished,
        SsoNotice,
    },
};
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

/// A domain of its own per test, so no two tests claim the same one.
fn domain() -> String {
    format!("acme-{:08x}.test", rand::random::<u32>())
}

async fn user_by_email(app: &TestApp, email: &str) -> Option<user::Model> {
    user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.to_lowercase()))
        .one(&app.db)
        .await
        .unwrap()
}

async fn user_count(app: &TestApp) -> u64 {
    user::Entity::find().count(&app.db).await.unwrap()
}

async fn role_of(app: &TestApp, user_id: i32, public_id: &str) -> Option<Role> {
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(&app.db)
        .await
        .unwrap()
        .map(|m| m.role)
}

fn login_notice(reply: &Reply) -> Option<&str> {
    reply.location()?.strip_prefix("/login?sso=")
}

#[tokio::test]
async fn only_owners_configure_sso_and_nobody_else_sees_its_settings() {
    let app = spawn_app().await;
    let domain = domain();
    let owner = app
        .sign_up("Olivia Owner", &format!("olivia@{domain}"))
        .await;
    let org = app.create_organization(&owner, "Acme").await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    let member = app.sign_up("Mia Member", "mia@example.com").await;
    let outsider = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    app.create_organization(&outsider, "Elsewhere").await;
    app.join(&admin, &org, Role::Admin).await;
    app.join(&member, &org, Role::Member).await;

    for (who, session) in [
        ("admin", &admin),
        ("member", &member),
        ("outsider", &outsider),
    ] {
        let saved = app.save_sso_settings(session, &org).await;
        assert_eq!(
            saved.status,
            StatusCode::FORBIDDEN,
            "{who} saves: {}",
            saved.body
        );
        let added = app.add_domain(session, &org, &domain).await;
        assert_eq!(added.status, StatusCode::FORBIDDEN, "{who} adds a domain");
        let tested = app
            .send(Call::post("/api/sso/test", &[("organization_id", &org)]).session(session))
            .await;
        assert_eq!(tested.status, StatusCode::FORBIDDEN, "{who} tests");
        let toggled = app.set_sso_enabled(session, &org, true).await;
        assert_eq!(toggled.status, StatusCode::FORBIDDEN, "{who} toggles");
    }
    let signed_out = app
        .send(Call::post(
            "/api/sso/save",
            &[
                ("organization_id", &org),
                ("provider_name", "X"),
                ("issuer_url", "https://idp.example.com"),
                ("client_id", "x"),
                ("client_secret", "x"),
            ],
        ))
        .await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    let nothing_saved = app
        .call_json::<Option<SsoSettingsView>>("/api/sso/settings", &[], Some(&owner))
        .await
        .unwrap();
    assert!(!nothing_saved.owner.unwrap().configured);

    let saved = app.configure_sso(&owner, &org, &domain).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let owners_view = app
        .call_json::<Option<SsoSettingsView>>("/api/sso/settings", &[], Some(&owner))
        .await
        .unwrap();
    let config = owners_view.owner.expect("owners see the configuration");
    assert_eq!(config.client_id, idp::CLIENT_ID);
    assert_eq!(config.redirect_uri, "http://localhost/sso/callback");
    assert_eq!(
        config.login_url,
        format!("http://localhost/sso/login/{org}")
    );
    assert_eq!(owners_view.domains, vec![domain.clone()]);

    let admins_view = app
        .send(Call::post("/api/sso/settings", &[]).session(&admin))
        .await;
    assert_eq!(admins_view.status, StatusCode::OK);
    assert!(!admins_view.body.contains(idp::CLIENT_SECRET));
    let admins_view: Option<SsoSettingsView> = serde_json::from_str(&admins_view.body).unwrap();
    let admins_view = admins_view.unwrap();
    assert_eq!(
        admins_view.owner, None,
        "admins see that SSO exists, not its settings"
    );
    assert_eq!(admins_view.provider_name.as_deref(), Some("Test IdP"));
    let owners_raw = app
        .send(Call::post("/api/sso/settings", &[]).session(&owner))
        .await;
    assert!(
        !owners_raw.body.contains(idp::CLIENT_SECRET),
        "the secret is never sent back, not even to owners"
    );
}

#[tokio::test]
async fn bad_settings_are_refused_field_by_field_and_change_nothing() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let reply = app
        .send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", &org),
                    ("provider_name", " "),
                    ("issuer_url", "ftp://idp.example.com"),
                    ("client_id", ""),
                    ("client_secret", ""),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.field_error("provider_name"),
        "Provider name is required."
    );
    assert_eq!(
        reply.field_error("issuer_url"),
        "Issuer URL must start with https://."
    );
    assert_eq!(reply.field_error("client_id"), "Client ID is required.");
    assert_eq!(
        reply.field_error("client_secret"),
        "Client secret is required."
    );
    assert_eq!(
        sso_connection::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn sso_turns_on_only_after_a_passed_test_and_a_new_provider_needs_a_new_test() {
    let app = spawn_app().await;
    let domain = domain();
    let owner_email = format!("olivia@{domain}");
    let owner = app.sign_up("Olivia Owner", &owner_email).await;
    let org = app.create_organization(&owner, "Acme").await;
    let refused = app.set_sso_enabled(&owner, &org, true).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "nothing configured yet"
    );

    app.configure_sso(&owner, &org, &domain).await;
    let untested = app.set_sso_enabled(&owner, &org, true).await;
    assert!(
        matches!(untested.error(), AppError::Forbidden(m) if m.contains("Test the connection")),
        "{}",
        untested.body
    );
    // The test signs in as someone outside the domains: it does not pass.
    let wrong = app.test_sso(&owner, &org, "someone@elsewhere.test").await;
    assert_eq!(
        wrong.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=wrong-domain")
    );
    assert_eq!(
        app.set_sso_enabled(&owner, &org, true).await.status,
        StatusCode::FORBIDDEN
    );

    let passed = app.test_sso(&owner, &org, &owner_email).await;
    assert_eq!(
        passed.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested")
    );
    assert_eq!(
        passed.session_cookie(),
        None,
        "a test signs nobody in or out"
    );
    let enabled = app.set_sso_enabled(&owner, &org, true).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    let view = app
        .call_json::<Option<SsoSettingsView>>("/api/sso/settings", &[], Some(&owner))
        .await
        .unwrap();
    assert!(view.enabled);
    assert_eq!(view.owner.unwrap().tested_email, Some(owner_email.clone()));

    // Another client ID is another provider setup: off until tested again.
    let changed = app
        .send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", &org),
                    ("provider_name", "Test IdP"),
                    ("issuer_url", &idp::identity_provider().issuer),
                    ("client_id", "another-client"),
                    // A new client comes with its own secret (the saved one was the old
                    // client's).
                    ("client_secret", "another-secret"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(
        changed.location(),
        Some("/organization/profile?tab=settings&area=sso&saved=sso-retest")
    );
    let view = app
        .call_json::<Option<SsoSettingsView>>("/api/sso/settings", &[], Some(&owner))
        .await
        .unwrap();
    assert!(!view.enabled);
    assert_eq!(view.owner.unwrap().tested_at, None);

    let kinds: Vec<EventKind> = audit_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for kind in [
        EventKind::SsoChanged,
        EventKind::SsoEnabled,
        EventKind::SsoDisabled,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} recorded");
    }
}

#[tokio::test]
async fn a_first_sign_in_creates_the_user_and_adds_them_as_member() {
    let app = spawn_app().await;
    let domain = domain();
    let (owner, org) = app.sso_organization(&domain).await;
    let email = format!("ivy.ito@{domain}");

    let signed_in = app.sso_log_in(&email, &email).await;
    assert_eq!(
        signed_in.location(),
        Some(format!("/?sso={}", SsoNotice::Joined.as_str()).as_str())
    );
    let session = signed_in.session_cookie().expect("signed in");
    let ivy = user_by_email(&app, &email)
        .await
        .expect("the user was created");
    assert_eq!(ivy.name, "Ivy Ito", "the name comes from the provider");
    assert_eq!(ivy.password_hash, None, "SSO users have no password");
    assert!(ivy.email_verified_at.is_some());
    assert_eq!(role_of(&app, ivy.id, &org).await, Some(Role::Member));
    assert_eq!(app.user_id(&session).await, ivy.id);
    let joined = audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(EventKind::Joined))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the join is in the audit log");
    assert_eq!(joined.subject.as_deref(), Some(email.as_str()));

    // The next sign-in finds the same user (no second account or membership) and takes
    // the name from the provider again.
    let mut renamed: user::ActiveModel = ivy.clone().into();
    renamed.name = Set("Ivy (old name)".into());
    renamed.update(&app.db).await.unwrap();
    let again = app.sso_log_in(&email, &email).await;
    assert_eq!(user_by_email(&app, &email).await.unwrap().name, "Ivy Ito");
    assert_eq!(again.location(), Some("/"));
    assert_eq!(app.user_id(&again.session_cookie().unwrap()).await, ivy.id);
    assert_eq!(
        membership::Entity::find()
            .filter(membership::Column::UserId.eq(ivy.id))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );

    // An owner gives the role; SSO users cannot set a password.
    let members: Option<MembersPage> = app
        .call_json(
            "/api/members/list",
            &[("query", "ivy"), ("page", "1")],
            Some(&owner),
        )
        .await;
    let members = members.unwrap();
    assert_eq!(members.sso_provider.as_deref(), Some("Test IdP"));
    let row = &members.members[0];
    let promoted = app
        .send(
            Call::post(
                "/api/members/change_role",
                &[
                    ("organization_id", &org),
                    ("membership_id", &row.membership_id.to_string()),
                    ("role", "admin"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
    assert_eq!(role_of(&app, ivy.id, &org).await, Some(Role::Admin));
    let password = app
        .send(
            Call::post(
                "/api/accounts/change_password",
                &[
                    ("current_password", ""),
                    ("new_password", "a brand new password"),
                ],
            )
            .session(&session),
        )
        .await;
    assert_eq!(password.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn users_of_an_sso_domain_are_sent_to_the_provider_instead_of_a_password() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, _) = app.sso_organization(&domain).await;
    let email = format!("pat@{domain}");

    // The email step sends them to the provider, with the address as a hint.
    let (authorization_url, _) = app.provider_redirect(&app.sso_start(&email).await).await;
    assert!(authorization_url.starts_with(&idp::identity_provider().issuer));
    assert!(authorization_url.contains("code_challenge_method=S256"));
    assert!(authorization_url.contains("nonce="));

    // A password is no way around it.
    let with_password = app.log_in(&email, "whatever they type").await;
    let (authorization_url, _) = app.provider_redirect(&with_password).await;
    assert!(authorization_url.starts_with(&idp::identity_provider().issuer));

    // Everyone else gets the password step.
    let other = app
        .send(Call::post(
            "/api/sso/continue_login",
            &[("email", "someone@example.com")],
        ))
        .await;
    assert_eq!(other.location(), Some("/login?email=someone%40example.com"));

    // Nobody signs up with a password at an SSO domain.
    let sign_up = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Pat"),
                ("email", &email),
                ("password", crate::common::PASSWORD),
            ],
        ))
        .await;
    assert!(sign_up
        .field_error("email")
        .contains("sign in through Test IdP"));
}

#[tokio::test]
async fn sso_organizations_take_no_invitations_and_removed_users_come_back_through_the_provider() {
    let app = spawn_app().await;
    let domain = domain();
    let (owner, org) = app.sso_organization(&domain).await;
    let invite = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", &org),
                    ("email", "new@example.com"),
                    ("role", "member"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert!(
        matches!(invite.error(), AppError::Forbidden(m) if m.contains("invitations are off")),
        "{}",
        invite.body
    );

    let email = format!("rex@{domain}");
    app.sso_log_in(&email, &email).await;
    let rex = user_by_email(&app, &email).await.unwrap();
    let membership = membership::Entity::find()
        .filter(membership::Column::UserId.eq(rex.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let removed = app
        .send(
            Call::post(
                "/api/members/remove",
                &[
                    ("organization_id", &org),
                    ("membership_id", &membership.id.to_string()),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(role_of(&app, rex.id, &org).await, None);
    // The provider is the source of truth: signing in there adds them again.
    let back = app.sso_log_in(&email, &email).await;
    assert_eq!(back.location(), Some("/?sso=joined"));
    assert_eq!(role_of(&app, rex.id, &org).await, Some(Role::Member));
}

#[tokio::test]
async fn a_user_in_400_organizations_is_signed_in_but_not_added() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, org) = app.sso_organization(&domain).await;
    let email = format!("busy@{domain}");
    let now = chrono::Utc::now();
    let busy = user::ActiveModel {
        name: Set("Busy".into()),
        email: Set(email.clone()),
        email_normalized: Set(email.clone()),
        password_hash: Set(None),
        email_verified_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        membership_count: Set(400),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let reply = app.sso_log_in(&email, &email).await;
    assert_eq!(reply.location(), Some("/?sso=limit"));
    assert!(reply.session_cookie().is_some(), "signed in all the same");
    assert_eq!(role_of(&app, busy.id, &org).await, None);
    assert!(SsoNotice::Limit.message().contains("400 organizations"));
}

#[tokio::test]
async fn a_tampered_state_a_replayed_callback_or_another_browser_signs_nobody_in() {
    let app = spawn_app().await;
    let domain = domain();
    app.sso_organization(&domain).await;
    let email = format!("tess@{domain}");
    let users_before = user_count(&app).await;

    let (callback, browser) = app.sso_until_callback(&email, &email).await;

    let tampered = callback.replace("state=", "state=x");
    let reply = app.sso_callback(&tampered, &browser, None).await;
    assert_eq!(login_notice(&reply), Some(SsoNotice::InvalidState.as_str()));
    let other_browser = app
        .sso_callback(&callback, "someone-elses-cookie", None)
        .await;
    assert_eq!(
        login_notice(&other_browser),
        Some(SsoNotice::InvalidState.as_str())
    );
    assert_eq!(other_browser.session_cookie(), None);
    // The state was spent by the wrong browser: the right one cannot use it either.
    let replayed = app.sso_callback(&callback, &browser, None).await;
    assert_eq!(
        login_notice(&replayed),
        Some(SsoNotice::InvalidState.as_str())
    );
    assert_eq!(user_count(&app).await, users_before, "nobody was created");

    // A callback works once.
    let (callback, browser) = app.sso_until_callback(&email, &email).await;
    let first = app.sso_callback(&callback, &browser, None).await;
    assert!(first.session_cookie().is_some());
    let second = app.sso_callback(&callback, &browser, None).await;
    assert_eq!(
        login_notice(&second),
        Some(SsoNotice::InvalidState.as_str())
    );
    assert_eq!(second.session_cookie(), None);
}

/// Forms post only to Orgdesk (`form-action 'self'`): a start answers with the hand-off
/// page, which must send nobody anywhere but the browser that started it, to its provider.
#[tokio::test]
async fn the_hand_off_page_sends_only_the_starting_browser_and_only_to_its_provider() {
    let app = spawn_app().await;
    let domain = domain();
    app.sso_organization(&domain).await;
    let email = format!("hana@{domain}");
    let started = app.sso_start(&email).await;
    let (authorization_url, browser) = app.provider_redirect(&started).await;
    let provider = idp::identity_provider();
    assert!(
        authorization_url.starts_with(&provider.issuer),
        "{authorization_url} is at the provider {}",
        provider.issuer
    );

    let expired = format!("/login?sso={}", SsoNotice::Expired.as_str());
    for cookies in [
        String::new(),
        "orgdesk_sso=someone-elses-cookie".to_string(),
    ] {
        let page = app.get_with_cookies("/sso/continue", &cookies).await;
        assert_eq!(page.location(), Some(expired.as_str()), "{cookies:?}");
        assert!(!page.body.contains(&provider.issuer));
    }
    // A state change never happens on the GET: the page can be read again until the
    // sign-in ends, and then it sends nowhere.
    let again = app
        .get_with_cookies("/sso/continue", &format!("orgdesk_sso={browser}"))
        .await;
    assert_eq!(crate::common::hand_off_target(&again), authorization_url);
    // A page of its own, readable without scripts: a language, a title, a heading, a link.
    for part in ["<html lang=\"en\">", "<title>", "<main><h1>", "<a href=\""] {
        assert!(again.body.contains(part), "{part} missing: {}", again.body);
    }
    let callback = provider.sign_in(&authorization_url, &email).await;
    let signed_in = app.sso_callback(&callback, &browser, None).await;
    assert!(signed_in.session_cookie().is_some());
    let after = app
        .get_with_cookies("/sso/continue", &format!("orgdesk_sso={browser}"))
        .await;
    assert_eq!(after.location(), Some(expired.as_str()));
}

/// A provider that answers every request with 503, counting them.
async fn broken_provider() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::{atomic::AtomicUsize, atomic::Ordering, Arc};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let _ = stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    (format!("http://{address}"), hits)
}

/// Strangers can start sign-ins at an organization whose provider is down; each must not
/// make Orgdesk call (and wait on) the provider again. The owner's test still tries.
#[tokio::test]
async fn a_failed_discovery_is_remembered_for_strangers_but_not_for_the_owners_test() {
    use std::sync::atomic::Ordering;

    let app = spawn_app().await;
    let domain = domain();
    let (owner, org) = app.sso_organization(&domain).await;
    let (issuer, hits) = broken_provider().await;
    let mut connection: sso_connection::ActiveModel = stored_connection(&app).await.into();
    connection.issuer_url = Set(issuer);
    connection.update(&app.db).await.unwrap();

    for visitor in ["vera", "victor", "vlad"] {
        let started = app
            .send(Call::post(
                "/api/sso/continue_login",
                &[("email", &format!("{visitor}@{domain}"))],
            ))
            .await;
        assert_eq!(
            started.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            started.body
        );
        assert_eq!(
            started.field_error("email"),
            SsoNotice::Unreachable.message()
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the provider was asked once"
    );

    let test = app
        .send(Call::post("/api/sso/test", &[("organization_id", &org)]).session(&owner))
        .await;
    assert_ne!(test.status, StatusCode::OK, "the test fails: {}", test.body);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "the owner's test asked again"
    );
}

#[tokio::test]
async fn a_wrong_nonce_fails_the_id_token_check() {
    let app = spawn_app().await;
    let domain = domain();
    app.sso_organization(&domain).await;
    let email = format!("nina@{domain}");
    let users_before = user_count(&app).await;
    let (authorization_url, browser) = app.provider_redirect(&app.sso_start(&email).await).await;
    // The provider is asked for a token bound to another nonce than Orgdesk's.
    let mut url = reqwest::Url::parse(&authorization_url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "a-nonce-of-the-attackers".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = idp::identity_provider().sign_in(url.as_str(), &email).await;
    let reply = app.sso_callback(&callback, &browser, None).await;
    assert_eq!(login_notice(&reply), Some(SsoNotice::InvalidToken.as_str()));
    assert_eq!(user_count(&app).await, users_before);
}

#[tokio::test]
async fn an_unverified_email_counts_only_when_the_configuration_trusts_the_provider() {
    let app = spawn_app().await;
    let domain = domain();
    let (owner, org) = app.sso_organization(&domain).await;
    let email = format!("unverified.uma@{domain}");
    let users_before = user_count(&app).await;
    let reply = app.sso_log_in(&email, &email).await;
    assert_eq!(
        login_notice(&reply),
        Some(SsoNotice::UnverifiedEmail.as_str())
    );
    assert_eq!(user_count(&app).await, users_before);

    let trusted = app
        .send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", &org),
                    ("provider_name", "Test IdP"),
                    ("issuer_url", &idp::identity_provider().issuer),
                    ("client_id", idp::CLIENT_ID),
                    ("client_secret", ""),
                    ("trust_emails", "true"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(
        trusted.location(),
        Some("/organization/profile?tab=settings&area=sso&saved=sso-retest"),
        "trusting unverified emails changes who may sign in: off until tested again"
    );
    let tested = app
        .test_sso(&owner, &org, &format!("tester@{domain}"))
        .await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested")
    );
    assert_eq!(
        app.set_sso_enabled(&owner, &org, true).await.status,
        StatusCode::OK
    );
    let reply = app.sso_log_in(&email, &email).await;
    assert_eq!(reply.location(), Some("/?sso=joined"));
}

#[tokio::test]
async fn an_expired_id_token_and_a_foreign_domain_are_refused() {
    let app = spawn_app().await;
    let domain = domain();
    app.sso_organization(&domain).await;
    let email = format!("eve@{domain}");
    let users_before = user_count(&app).await;

    // The provider's ID tokens live 2 minutes; the callback arrives, by Orgdesk's clock,
    // 5 minutes later (the sign-in itself is still within its 10).
    let (callback, browser) = app.sso_until_callback(&email, &email).await;
    let query = callback.split_once('?').unwrap().1;
    let params: CallbackParams = serde_urlencoded_params(query);
    let finished = finish::finish(
        &app.state.app,
        params,
        Some(&browser),
        None,
        app::server::session::SignInOrigin::new(
            app::server::session::SignInMethod::Sso,
            &Default::default(),
            None,
        ),
        chrono::Utc::now() + chrono::Duration::minutes(5),
    )
    .await;
    match finished {
        Err(failed) => assert_eq!(failed.failure.notice(), SsoNotice::InvalidToken),
        Ok(Finished::SignedIn { .. } | Finished::Tested { .. } | Finished::SecondFactor { .. }) => {
            panic!("an expired ID token signed someone in")
        }
    }

    // Signed in at the provider as someone of another domain.
    let reply = app.sso_log_in(&email, "mallory@elsewhere.test").await;
    assert_eq!(login_notice(&reply), Some(SsoNotice::WrongDomain.as_str()));
    assert_eq!(user_count(&app).await, users_before);
}

#[tokio::test]
async fn the_organization_login_pages_button_starts_its_sign_in() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, org) = app.sso_organization(&domain).await;
    let page = app.get(&format!("/sso/login/{org}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Continue"));
    let started = app
        .send(Call::post(
            "/api/sso/start_organization_login",
            &[("organization_id", &org)],
        ))
        .await;
    let (authorization_url, browser) = app.provider_redirect(&started).await;
    let email = format!("lou@{domain}");
    let callback = idp::identity_provider()
        .sign_in(&authorization_url, &email)
        .await;
    let signed_in = app.sso_callback(&callback, &browser, None).await;
    assert!(signed_in.session_cookie().is_some());

    // Someone signed in is told, and signed out by the button before going on.
    let session = signed_in.session_cookie().unwrap();
    let page = app.get(&format!("/sso/login/{org}"), Some(&session)).await;
    assert!(page.body.contains("Log out and continue"), "{}", page.body);
    let restarted = app
        .send(
            Call::post(
                "/api/sso/start_organization_login",
                &[("organization_id", &org)],
            )
            .session(&session),
        )
        .await;
    assert!(restarted.location().is_some());
    let after = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&session))
        .await;
    assert_eq!(after.body, "null", "the old session ended");

    let unknown = app
        .send(Call::post(
            "/api/sso/start_organization_login",
            &[("organization_id", "org_unknown")],
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    assert_eq!(unknown.location(), None);
}

fn serde_urlencoded_params(query: &str) -> CallbackParams {
    let mut params = CallbackParams::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Some(value.into_owned());
        match key.as_ref() {
            "state" => params.state = value,
            "code" => params.code = value,
            "error" => params.error = value,
            "error_description" => params.error_description = value,
            _ => {}
        }
    }
    params
}

async fn stored_connection(app: &TestApp) -> sso_connection::Model {
    use sea_orm::QueryOrder;
    sso_connection::Entity::find()
        .order_by_asc(sso_connection::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the connection")
}

#[tokio::test]
async fn client_secrets_are_sealed_at_rest_and_survive_a_key_rotation() {
    use app::server::secrets::{SecretError, SecretKey};
    use app::sso::settings::client_secret_of;

    let mut app = spawn_app().await;
    let domain = domain();
    let (owner, public_id) = app.sso_organization(&domain).await;
    let row = stored_connection(&app).await;
    assert!(
        !row.client_secret.contains(idp::CLIENT_SECRET),
        "the database does not hold the secret in the clear"
    );
    assert!(row.client_secret.starts_with("sealed:v1:"));

    // Another organization's row cannot borrow this seal: it is bound to its own row.
    let other_owner = app.sign_up("Oscar", "oscar@example.com").await;
    let other = app.create_organization(&other_owner, "Other").await;
    // The longest secret allowed still fits once sealed.
    let longest = "s".repeat(1000);
    let saved = app
        .send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", other.as_str()),
                    ("provider_name", "Long"),
                    ("issuer_url", idp::identity_provider().issuer.as_str()),
                    ("client_id", "other"),
                    ("client_secret", longest.as_str()),
                ],
            )
            .session(&other_owner),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let mut others: sso_connection::ActiveModel = sso_connection::Entity::find()
        .filter(sso_connection::Column::Id.ne(row.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    others.client_secret = Set(row.client_secret.clone());
    let moved = others.update(&app.db).await.unwrap();
    assert_eq!(
        client_secret_of(&app.state.app.secrets, &moved),
        Err(SecretError::Damaged)
    );
    sso_connection::Entity::delete_by_id(moved.id)
        .exec(&app.db)
        .await
        .unwrap();

    // Rotation: the new key seals at start, the old one still opens until then.
    let old_key = app.state.config.secret_key.clone().unwrap();
    let new_key = SecretKey::generate_hex();
    app.restart_with(|config| {
        config.secret_key = Some(new_key.clone());
        config.previous_secret_keys = vec![old_key.clone()];
    })
    .await
    .expect("restart with the new key");
    let resealed = stored_connection(&app).await;
    assert_ne!(resealed.client_secret, row.client_secret);
    assert!(app
        .state
        .app
        .secrets
        .is_sealed_with_current(&resealed.client_secret));
    app.restart_with(|config| config.previous_secret_keys.clear())
        .await
        .expect("the old key is no longer needed");
    let tester = format!("tester@{domain}");
    let tested = app.test_sso(&owner, &public_id, &tester).await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested"),
        "{}",
        tested.body
    );

    // A server given the wrong key refuses to start rather than lose the secret.
    let refused = app
        .restart_with(|config| config.secret_key = Some(SecretKey::generate_hex()))
        .await;
    assert!(refused
        .unwrap_err()
        .to_string()
        .contains("which this server does not have"),);

    // A secret stored in the clear (before sealing existed) is sealed at the next start.
    let mut legacy: sso_connection::ActiveModel = stored_connection(&app).await.into();
    legacy.client_secret = Set(idp::CLIENT_SECRET.to_string());
    legacy.update(&app.db).await.unwrap();
    app.restart_with(|_| {}).await.expect("restart");
    let sealed = stored_connection(&app).await;
    assert!(sealed.client_secret.starts_with("sealed:v1:"));
    assert_eq!(
        client_secret_of(&app.state.app.secrets, &sealed).unwrap(),
        idp::CLIENT_SECRET
    );
}
